"""One fx node -> what it is in the .cnn language: layers, a join, a view, or something it cannot say.

Every PyTorch operation the importer understands is in a table: a
`torch.nn` module class (`modules.MODULES`), a function (`F.relu`,
`torch.flatten`: `functions.FUNCTIONS`) or a tensor method (`x.relu()`,
`x.view(...)`: `functions.METHODS`), each with a small function that reads
its settings and returns what it means (`meanings.py`). An operation that is
not in a table, or whose settings the language cannot write
(`nn.Conv2d(..., padding_mode="reflect")`), is `Unsupported`, with the
reason and a help line.

Reshapes (`view`, `reshape`, `flatten`, `squeeze`, `transpose`, ...) are
decided by the shapes they map between, over a whole chain of them
(`graph.py` resolves chains): `(N, C, H, W) -> (N, C*H*W)` is `flatten`
however it is written (`torch.flatten(x, 1)`, `x.view(x.size(0), -1)`,
`x.reshape(-1, 9216)`).
"""

from __future__ import annotations

from torch import fx, nn

from .functions import FOREIGN, FUNCTIONS, METADATA_METHODS, METHODS
from .meanings import Context, Meaning, NoData, Unsupported, function_name, supported_help, tensor_operands
from .modules import MODULES
from .problems import ImportProblem


def meaning(node: fx.Node, context: Context) -> Meaning:
    """What `node` (a call_module, call_function or call_method) is in the language."""
    if node.op == "call_module":
        module = context.module.get_submodule(node.target)
        mapper = MODULES.get(type(module))
        if mapper is None:
            return _unsupported_module(module)
        return mapper(module, node, context)
    if node.op == "call_function":
        mapper = FUNCTIONS.get(node.target) or FOREIGN.get((getattr(node.target, "__module__", ""), getattr(node.target, "__name__", "")))
        if mapper is None:
            if context.shape(node) is None and not tensor_operands(node, context):
                return NoData()  # arithmetic on sizes: `x.size(0) * 2`
            name = function_name(node.target)
            return Unsupported(name, f"`{name}` has no counterpart in the .cnn language", supported_help())
        return mapper(node, context)
    if node.op == "call_method":
        if node.target in METADATA_METHODS:
            return NoData()
        mapper = METHODS.get(node.target)
        if mapper is None:
            return Unsupported(f"Tensor.{node.target}", f"`Tensor.{node.target}` has no counterpart in the .cnn language", supported_help())
        return mapper(node, context)
    raise ValueError(f"not an operation: {node.op}")


def source_name(node: fx.Node) -> str:
    """What made a node, for comments: a module path, `torch.flatten`, `Tensor.view`."""
    if node.op == "call_module":
        return str(node.target)
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    return function_name(node.target)


def known_module(module: nn.Module) -> bool:
    """Whether a module kept whole by the tracer is one the language has a layer (or a meaning) for."""
    return type(module) in MODULES


def unknown_module(module: nn.Module, location) -> ImportProblem:
    unsupported = _unsupported_module(module)
    return ImportProblem(unsupported.operation, unsupported.reason, location, unsupported.help)


def _unsupported_module(module: nn.Module) -> Unsupported:
    name = type(module).__name__
    where = "nn." + name if type(module).__module__.startswith("torch.nn") else f"{type(module).__module__}.{name}"
    return Unsupported(where, f"`{where}` has no counterpart in the .cnn language", supported_help())
