"""Which family module of cnndsl.layers defines each layer name (registry.py reads it).

Generated from the family modules by `python -m cnndsl.reports.docs`: do not edit.
"""

# (module, its kinds' names and aliases, the activations among them), in the table's order.
FAMILIES = (
    ('conv', ('conv',), ()),
    ('pooling', ('pool', 'maxpool', 'avgpool'), ()),
    ('normalization', ('batchnorm', 'bn'), ()),
    ('dropout', ('dropout',), ()),
    ('flatten', ('flatten',), ()),
    ('linear', ('linear', 'fc', 'dense'), ()),
    ('activations', ('relu', 'relu6', 'leakyrelu', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh', 'softmax', 'logsoftmax'), ('relu', 'relu6', 'leakyrelu', 'elu', 'gelu', 'silu', 'sigmoid', 'tanh', 'softmax', 'logsoftmax')),
)
# The package's modules that define no kinds.
SHARED = ('arguments', 'base', 'index', 'registry', 'values', 'windows', 'words')
