"""Tracing a model with torch.fx: its graph, each node's module stack and output shape.

The tracer keeps every `torch.nn` module whole (fx's default: a leaf, one
`call_module` node whose class and attributes say which layer it is) and
traces through every other module, so a node's `nn_module_stack` gives the
module path and class of each model-defined module it was called in
(`layer1.0`, a `Bottleneck`): that is what blocks are recovered from.

Shapes come from running the traced graph once on the meta device (a copy of
the model whose tensors are meta tensors: no memory, no arithmetic); a
model that does not run at the requested input size says so here, with the
error PyTorch gave and where.
"""

from __future__ import annotations

import copy
import inspect
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import fx, nn

from .ir import Scope
from .ops import known_module, unknown_module
from .problems import ImportProblem, Location, ModelImportError
from .spec import user_frame


@dataclass
class Traced:
    """A traced model: the graph, and for each node its scopes and output shape."""

    module: nn.Module
    graph: fx.Graph
    shapes: dict[str, tuple[int, ...]]  # node name -> output shape (tensors only)
    input_shape: tuple[int, ...]  # (1, C, H, W)
    locations: dict[str, tuple[str, int]] = field(default_factory=dict)  # node name -> user (file, line), filled on demand
    layouts: dict[str, str] = field(default_factory=dict)  # node name -> "channels_last" (graph.py finds them)

    def scopes(self, node: fx.Node) -> tuple[Scope, ...]:
        """The model-defined modules enclosing `node`, outermost first (a leaf module itself excluded)."""
        stack = node.meta.get("nn_module_stack") or {}
        scopes = tuple(_scope(key, path, kind) for key, (path, kind) in stack.items())
        if node.op == "call_module" and scopes and scopes[-1].path == node.target:
            scopes = scopes[:-1]
        return scopes

    def location(self, node: fx.Node) -> Location:
        """Where `node` comes from: its module (or the innermost enclosing one), class, file and line."""
        if node.op == "call_module":
            path = str(node.target)
            class_name = type(self.module.get_submodule(path)).__name__
        else:
            scopes = self.scopes(node)
            path = scopes[-1].path if scopes else ""
            class_name = scopes[-1].class_name if scopes else type(self.module).__name__
        file, line = self.locations.get(node.name, ("", 0))
        return Location(path, class_name, file, line)

    def record_locations(self) -> None:
        """Trace again, recording stack traces, to know each node's file and line (only when a problem needs them)."""
        if self.locations:
            return
        tracer = ImportTracer()
        tracer.record_stack_traces = True
        try:
            graph = _trace(self.module, tracer)
        except ModelImportError:
            return
        for node in graph.nodes:
            frame = _user_line(node.stack_trace or "")
            if frame is not None:
                self.locations[node.name] = frame


def _scope(key: str, path: str, kind) -> Scope:
    if isinstance(kind, str):  # some torch versions store the class as its name
        name = kind.rpartition(".")[2]
        return Scope(key, path, name, kind)
    return Scope(key, path, kind.__name__, f"{kind.__module__}.{kind.__qualname__}")


class ImportTracer(fx.Tracer):
    """fx's tracer, remembering the modules it was inside when the trace failed."""

    def __init__(self) -> None:
        super().__init__()
        self.failed_in: list[tuple[str, str]] | None = None  # (path, class) outermost first

    def call_module(self, m, forward, args, kwargs):
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_in is None:  # the innermost module sees the error first
                self.failed_in = [(path, getattr(kind, "__name__", str(kind))) for path, kind in self.module_stack.values()]
                self.failed_in.append((self.path_of_module(m), type(m).__name__))
            raise


class _CustomFunction(Exception):
    def __init__(self, function: type) -> None:
        super().__init__(function.__qualname__)
        self.function = function


@contextmanager
def _refuse_custom_functions():
    """A custom autograd Function is a problem to report, not code for fx to trace through.

    fx traces into `Function.apply` and records the forward's operations,
    which loses the Function's own backward: the import would compute the
    same values and different gradients. So a call of `apply` on traced
    values stops the trace, naming the Function.
    """
    original = torch.autograd.Function.__dict__["apply"]

    def apply(cls, *args, **kwargs):
        if any(isinstance(arg, fx.Proxy) for arg in (*args, *kwargs.values())):
            raise _CustomFunction(cls)
        return original.__func__(cls, *args, **kwargs)

    torch.autograd.Function.apply = classmethod(apply)
    try:
        yield
    finally:
        torch.autograd.Function.apply = original


def trace(module: nn.Module, input_shape: tuple[int, ...]) -> Traced:
    """Trace `module` in eval mode (its modes restored after) and find every node's output shape."""
    graph = _trace(module, ImportTracer())
    traced = Traced(module, graph, {}, input_shape)
    unknown = [node for node in graph.nodes if node.op == "call_module" and not known_module(module.get_submodule(node.target))]
    if unknown:
        # Reported before anything runs: a module without a layer (an LSTM over 50,000 steps) can take minutes.
        traced.record_locations()
        raise ModelImportError([unknown_module(module.get_submodule(node.target), traced.location(node)) for node in unknown])
    extra = [node for node in graph.nodes if node.op == "placeholder"][1:]
    if any(node.users for node in extra):
        name = next(node.target for node in extra if node.users)
        traced.record_locations()
        raise ModelImportError(
            [
                ImportProblem(
                    f"input `{name}`",
                    f"the forward pass takes a second input, `{name}`: a .cnn network has one input image",
                    Location("", type(module).__name__, *_forward_line(module)),
                    "import a wrapper module whose forward takes only the image and supplies the rest",
                )
            ]
        )
    traced.shapes = _shapes(module, graph, input_shape, traced)
    return traced


def _trace(module: nn.Module, tracer: ImportTracer) -> fx.Graph:
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    module.eval()
    try:
        with _refuse_custom_functions():
            return tracer.trace(module)
    except _CustomFunction as error:
        raise ModelImportError([_failure(error, tracer, module, custom=error.function)]) from None
    except Exception as error:  # fx raises TraceError, TypeError, NotImplementedError, ...
        raise ModelImportError([_failure(error, tracer, module)]) from None
    finally:
        for submodule, training in modes:
            submodule.training = training


def _failure(error: Exception, tracer: ImportTracer, module: nn.Module, custom: type | None = None) -> ImportProblem:
    frame = user_frame(error.__traceback__)
    path, class_name = (tracer.failed_in[-1] if tracer.failed_in else ("", type(module).__name__))
    location = Location(path, class_name, *(frame or ("", 0)))
    if custom is not None:
        return ImportProblem(
            f"autograd.Function {custom.__qualname__}",
            f"the custom autograd Function `{custom.__qualname__}` has no counterpart in the .cnn language",
            location,
            "the language writes layers PyTorch provides; a Function with its own backward cannot be described",
        )
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "control flow" in text or "iteration over a" in text.lower() or "symbolically traced variables" in text:
        return ImportProblem(
            "data-dependent control flow",
            f"the forward pass depends on tensor values ({text}), which torch.fx cannot trace and the .cnn language cannot say",
            location,
            "a .cnn network runs the same layers for every input: decide with Python values (a constructor "
            "argument, self.training), not with tensors",
        )
    return ImportProblem(
        "tracing",
        f"torch.fx cannot trace the forward pass: {type(error).__name__}: {text}",
        location,
        "cnnc import follows the forward pass with torch.fx; code that fx cannot follow cannot be imported",
    )


def _meta_copy(module: nn.Module) -> nn.Module:
    """A deep copy whose parameters and buffers are meta tensors (nothing allocated)."""
    memo: dict[int, object] = {}
    for tensor in (*module.parameters(), *module.buffers()):
        meta = torch.empty_like(tensor, device="meta")
        memo[id(tensor)] = nn.Parameter(meta, requires_grad=tensor.requires_grad) if isinstance(tensor, nn.Parameter) else meta
    return copy.deepcopy(module, memo)


def _shapes(module: nn.Module, graph: fx.Graph, input_shape: tuple[int, ...], traced: Traced) -> dict[str, tuple[int, ...]]:
    """Each node's output shape at `input_shape`: on the meta device, else (an op without a meta kernel) for real."""
    graph_module = fx.GraphModule(module, graph)
    attempts = []
    try:
        attempts.append((_meta_copy(graph_module), torch.empty(input_shape, device="meta")))
    except Exception:  # noqa: BLE001 - a model whose attributes cannot be deep-copied runs for real
        pass
    device = next((t.device for t in (*module.parameters(), *module.buffers())), torch.device("cpu"))
    attempts.append((graph_module, torch.zeros(input_shape, device=device)))
    modes = [(submodule, submodule.training) for submodule in module.modules()]
    try:
        for model, example in attempts:
            model.eval()  # as traced (the real attempt's modules are the model's own: restored below)
            recorder = _ShapeRecorder(model)
            try:
                with torch.no_grad():
                    recorder.run(example)
            except Exception as failure:  # noqa: BLE001 - the model's own error, reported below if the last attempt fails too
                error, failed = failure, recorder.current
                continue
            return recorder.shapes
    finally:
        for submodule, training in modes:
            submodule.training = training
    traced.record_locations()
    location = traced.location(failed) if failed is not None else Location("", type(module).__name__)
    size = "x".join(map(str, input_shape[2:])) + f"x{input_shape[1]}"
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise ModelImportError(
        [
            ImportProblem(
                "running",
                f"the model does not run on a {size} input: {type(error).__name__}: {text}",
                location,
                "give the input size it takes with --input HxWxC (for example --input 28x28x1)",
            )
        ]
    )


class _ShapeRecorder(fx.Interpreter):
    """Runs the graph, keeping each tensor's shape (and the node it was running, if something fails)."""

    def __init__(self, module) -> None:
        super().__init__(module)
        self.shapes: dict[str, tuple[int, ...]] = {}
        self.current: fx.Node | None = None

    def run_node(self, n):
        self.current = n
        value = super().run_node(n)
        if isinstance(value, torch.Tensor):
            self.shapes[n.name] = tuple(value.shape)
        return value


def _forward_line(module: nn.Module) -> tuple[str, int]:
    """The file and line of the module's forward, when Python knows them."""
    try:
        forward = type(module).forward
        return inspect.getsourcefile(forward) or "", inspect.getsourcelines(forward)[1]
    except (OSError, TypeError):
        return "", 0


def _user_line(stack_trace: str) -> tuple[str, int] | None:
    """The innermost `File "...", line N` of a recorded stack trace outside torch and cnndsl."""
    ignored = tuple(str(Path(module.__file__).resolve().parent) for module in (torch, sys.modules["cnndsl"]))
    found = None
    for line in stack_trace.splitlines():
        line = line.strip()
        if not line.startswith('File "'):
            continue
        filename, _, rest = line[len('File "') :].partition('", line ')
        number = rest.split(",")[0]
        if not number.isdigit() or filename.startswith("<") or str(Path(filename).resolve()).startswith(ignored):
            continue
        found = (filename, int(number))
    return found
