"""Typed program -> PyTorch source, through templates/module.py.jinja and black."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePath

from ..types.shapes import class_shape
from ..types.symbolic import bounds_text
from ..check.typed import NODES, Node, TypedBranch, TypedConcat, TypedGate, TypedLayer, TypedProgram, TypedResidual, TypedSkip
from ..syntax.visitor import Visitor


@dataclass(frozen=True)
class _View:
    """What the template sees of one node."""

    residual: bool
    comment: str
    skip: str = ""  # `join="cat", crop=True` for a TypedSkip
    module: str = ""
    body: tuple = ()
    shortcut: tuple | None = None
    helper: str = ""  # a join or gate: the generated class (Concat, Split, Gate)
    branches: tuple = ()  # a join's: (comment, views) per branch; empty views: the input itself


def _shape(shape) -> str:
    return "(" + ", ".join(str(d) for d in shape.torch_shape) + ("," if len(shape.torch_shape) == 1 else "") + ")"


def _macs_text(program: TypedProgram) -> str:
    macs = program.total_macs
    if isinstance(macs, int):
        return f"{macs:,} multiply-accumulates per sample"
    symbols = " and ".join(program.symbols)
    return f"multiply-accumulates that depend on {symbols} (cnnc summary --size)"


def _comment(node: Node, what: str) -> str:
    where = f"line {node.line}"
    if node.calls:
        where += " (" + ", ".join(f"{call.text} at line {call.line}" for call in node.calls) + ")"
    return f"{where}: {what}"


class _Views(Visitor):
    """What the template sees of each typed node."""

    walks = NODES

    def views(self, nodes: list[Node]) -> tuple[_View, ...]:
        return tuple([self.visit(node) for node in nodes])

    def visit_TypedLayer(self, node: TypedLayer) -> _View:
        return _View(False, _comment(node, f"-> {_shape(node.output)}, {node.params:,} params"), module=node.module)

    def visit_TypedResidual(self, node: TypedResidual) -> _View:
        return _View(
            True,
            _comment(node, f"residual -> {_shape(node.output)}"),
            body=self.views(node.body),
            shortcut=self.views(node.shortcut) if node.shortcut is not None else None,
        )


    def visit_TypedSkip(self, node: TypedSkip) -> _View:
        arguments = f'join="{node.join}"' + (", crop=True" if node.crop else "")
        return _View(False, _comment(node, f"keep {node.name} ... {node.statement} -> {_shape(node.output)}"),
                     body=self.views(node.body), skip=arguments)

    def visit_TypedConcat(self, node: TypedConcat) -> _View:
        helper = "Split" if node.split else "Concat"
        channels = " + ".join(map(str, node.channels))
        return _View(
            False,
            _comment(node, f"{node.keyword} -> {_shape(node.output)}, channels {channels}"),
            helper=helper,
            branches=tuple([self.visit(branch) for branch in node.branches]),
        )

    def visit_TypedBranch(self, node: TypedBranch) -> _View:
        what = f"-> {_shape(node.output)}" if node.body else "the input itself"
        return _View(False, f"branch at line {node.line}: {what}", body=self.views(node.body))

    def visit_TypedGate(self, node: TypedGate) -> _View:
        return _View(False, _comment(node, f"gate: x * {_shape(node.gate)} -> {_shape(node.output)}"), helper="Gate", body=self.views(node.body))


def _views(nodes: list[Node]) -> tuple[_View, ...]:
    return _Views().views(nodes)


class _Helpers(Visitor):
    """The helper classes (Residual, Concat, Split, Gate) a program's module needs."""

    walks = NODES

    def __init__(self, nodes: list[Node]) -> None:
        self.used: set[str] = set()
        self.visit_all(nodes)

    def visit_TypedLayer(self, node: TypedLayer) -> None:
        pass

    def visit_TypedResidual(self, node: TypedResidual) -> None:
        self.used.add("Residual")
        self.visit_children(node)

    def visit_TypedConcat(self, node: TypedConcat) -> None:
        self.used.add("Split" if node.split else "Concat")
        self.visit_children(node)

    def visit_TypedBranch(self, node: TypedBranch) -> None:
        self.visit_children(node)

    def visit_TypedGate(self, node: TypedGate) -> None:
        self.used.add("Gate")
        self.visit_children(node)

    def visit_TypedSkip(self, node: TypedSkip) -> None:
        self.used.add("Skip")
        self.visit_children(node)


def _helper_classes(program: TypedProgram) -> list[str]:
    """The source of every class the layers' modules need (`LayerNorm2d`), once each, in order of first use."""
    sources: dict[str, str] = {}
    for layer in program.layers:
        for helper in layer.kind.helpers(layer.config, layer.input):
            sources.setdefault(helper.name, helper.source)
    return list(sources.values())


@lru_cache(maxsize=1)
def _template():
    import jinja2

    from ..resources import resource_dir

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resource_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return environment.get_template("module.py.jinja")


def _safe_text(text: str) -> str:
    """Text for a docstring: letters, digits and plain punctuation only.

    The file name is the one thing in the generated module that is not a
    validated identifier or a number; a quote, a backslash or a line break in
    it must not end the docstring (`a\"\"\"+__import__('os')...cnn`).
    """
    return "".join(ch if ch.isalnum() or ch in " ._-+()[],@" else "_" for ch in text)


class GeneratedCodeError(RuntimeError):
    """black rejected the template's output: a compiler bug, never a user error."""


def generate(program: TypedProgram) -> str:
    """The black-formatted module for an error-free typed program."""
    import black

    source_name = _safe_text(PurePath(program.source.filename).name)
    text = _template().render(
        name=program.name,
        source_name=source_name,
        helpers=_Helpers(program.nodes).used,
        helper_classes=_helper_classes(program),
        input_shape=class_shape(program.input),
        smallest_input_shape=repr((program.input.channels, *program.smallest_size())) if program.symbolic else None,
        output_shape=class_shape(program.output),
        input_desc=f"(N, {', '.join(map(str, program.input.torch_shape))})",
        output_desc=f"(N, {', '.join(map(str, program.output.torch_shape))})",
        sizes=bounds_text(program.symbols.values(), " (the smallest every layer accepts)"),
        total_params=f"{program.total_params:,}",
        total_macs=_macs_text(program),
        features=_views(program.features),
        classifier=_views(program.classifier) if program.classifier is not None else None,
    )
    try:
        return black.format_str(text, mode=black.Mode(line_length=88))
    except Exception as error:  # black's InvalidInput and friends
        raise GeneratedCodeError(f"cnnc generated invalid Python (a compiler bug): {error}\n{text}") from error
