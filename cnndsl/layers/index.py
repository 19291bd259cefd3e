"""Which family module of cnndsl.layers defines each layer name (registry.py reads it).

Generated from the family modules by `python -m cnndsl.reports.docs`: do not edit.
"""

# (module, its kinds' names and aliases, the activations among them), in the table's order.
FAMILIES = (
    ('conv', ('conv',), ()),
    ('upconv', ('upconv', 'deconv'), ()),
    ('upsample', ('upsample',), ()),
    ('pad', ('pad',), ()),
    ('pooling', ('pool', 'maxpool', 'avgpool'), ()),
    ('shuffle', ('shuffle',), ()),
    ('normalization', ('batchnorm', 'bn'), ()),
    ('groupnorm', ('groupnorm', 'gn'), ()),
    ('layernorm', ('layernorm',), ()),
    ('instancenorm', ('instancenorm',), ()),
    ('layerscale', ('layerscale',), ()),
    ('dropout', ('dropout',), ()),
    ('dropout2d', ('dropout2d',), ()),
    ('stochdepth', ('stochdepth', 'droppath'), ()),
    ('flatten', ('flatten',), ()),
    ('unflatten', ('unflatten',), ()),
    ('linear', ('linear', 'fc', 'dense'), ()),
    ('activations', ('relu', 'relu6', 'leakyrelu', 'elu', 'gelu', 'silu', 'sigmoid', 'hardswish', 'hardsigmoid', 'tanh', 'softmax', 'logsoftmax'), ('relu', 'relu6', 'leakyrelu', 'elu', 'gelu', 'silu', 'sigmoid', 'hardswish', 'hardsigmoid', 'tanh', 'softmax', 'logsoftmax')),
    ('prelu', ('prelu',), ('prelu',)),
)
# The classes generated modules may define for the families' layers (their `HELPERS`).
HELPERS = ('LayerNorm2d', 'LayerScale', 'PixelwiseLinear', 'StochasticDepth')
# The package's modules that define no kinds.
SHARED = ('arguments', 'base', 'growth', 'index', 'registry', 'values', 'windows', 'words')
