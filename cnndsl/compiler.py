"""The pipeline, end to end: source -> syntax tree -> typed program -> code -> module."""

from __future__ import annotations

import gc
import itertools
import os
import sys
import types

from .diagnostics.model import CompileError, Diagnostic, Reporter
from .syntax.source import SourceText, Span
from .check.typed import TypedProgram


def decode(data: bytes | str, filename: str) -> tuple[str | None, Diagnostic | None]:
    """UTF-8 text, or the E0002 diagnostic at 1:1 when it is not UTF-8."""
    if isinstance(data, str):
        return data, None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        reporter = Reporter(SourceText("", filename))
        diagnostic = reporter.report(
            "E0002",
            Span(0, 0),
            f"the file is not valid UTF-8 (byte {error.start} is 0x{data[error.start]:02x})",
            help="save the file as UTF-8",
        )
        return None, diagnostic
    return text.removeprefix("\ufeff"), None


def _default_name(filename: str) -> str:
    return _stem(filename) if filename and not filename.startswith("<") else "network"


def _stem(path: str) -> str:
    """`pathlib.PurePath(path).stem`, without importing pathlib (a fresh `cnnc check` does not need it)."""
    for separator in (os.sep, os.altsep):
        if separator and separator != "/":
            path = path.replace(separator, "/")
    parts = [part for part in path.split("/") if part and part != "."]
    name = parts[-1] if parts else ""
    dot = name.rfind(".")
    return name[:dot] if 0 < dot < len(name) - 1 else name


def check_program(
    data: bytes | str, filename: str = "<string>", sizes: dict[str, int] | None = None, parse_cache=None
) -> TypedProgram:
    """Parse and type-check; the typed program carries every diagnostic.

    `sizes` gives a symbolic program's symbols values (an instance, `--size`).
    `parse_cache` (a `cnndsl.syntax.ParseCache`, one per document) re-parses
    only the statements that changed since its last parse; the result is the same.
    """
    from .check.checker import check_module
    from .syntax.parser import parse

    text, bad_encoding = decode(data, filename)
    if text is None:
        return TypedProgram(SourceText("", filename), "Network", None, [], [bad_encoding])
    reporter = Reporter(SourceText(text, filename))
    # Python's cyclic GC walks every object of the growing syntax tree and
    # typed program again and again, which makes big checks superlinear. Paused
    # here (cnndsl.syntax pauses it for the parse alone), the check stays linear
    # up to the 100,000-layer limit (benchmarks/scaling.py); any cycle made
    # meanwhile is collected once it runs again.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if parse_cache is None:
            module = parse(reporter, layer_arguments)
        else:
            module = parse_cache.parse(reporter, layer_arguments)
        return check_module(module, reporter, _default_name(filename), sizes)
    finally:
        if gc_was_enabled:
            gc.enable()


def layer_arguments(name: str) -> str | None:
    """What may follow a layer's name, in words, for syntax errors; None: not a layer.

    The parser does not know the layers (cnndsl.syntax never imports
    cnndsl.layers): the driver hands it the layer table's words.
    """
    from .layers import expected_words, lookup

    kind = lookup(name)
    return None if kind is None else expected_words(kind)


def instantiate(program: TypedProgram, height: int, width: int) -> TypedProgram:
    """A symbolic program checked again at one input size: every number concrete.

    ValueError for a size the program does not admit (`program.sizes_for`).
    """
    sizes = program.sizes_for(height, width)
    return check_program(program.source.text, program.source.filename, sizes=sizes)


def check_source(text: bytes | str, filename: str = "<string>") -> list[Diagnostic]:
    """All diagnostics (errors and warnings) for a program, in source order."""
    return check_program(text, filename).diagnostics


_module_numbers = itertools.count(1)


class Program:
    """A compiled program: its typed form, summary, generated source and class."""

    def __init__(self, typed: TypedProgram) -> None:
        self.typed = typed
        self._python_source: str | None = None
        self._module: types.ModuleType | None = None

    @property
    def name(self) -> str:
        return self.typed.name

    @property
    def filename(self) -> str:
        return self.typed.source.filename

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """Warnings (a compiled program has no errors)."""
        return self.typed.diagnostics

    @property
    def summary(self):
        from .reports.summary import summarize

        return summarize(self.typed)

    @property
    def python_source(self) -> str:
        if self._python_source is None:
            from .backend.codegen import generate

            self._python_source = generate(self.typed)
        return self._python_source

    def module(self, module_name: str | None = None) -> types.ModuleType:
        """The generated module, executed (imports torch)."""
        if self._module is None:
            # A unique top-level name, registered in sys.modules, so that
            # pickle can find the class again in this process.
            name = module_name or f"cnndsl_generated_{self.name}_{next(_module_numbers)}"
            module = types.ModuleType(name)
            module.__file__ = self.filename
            code = compile(self.python_source, f"<cnnc {self.filename}>", "exec")
            sys.modules[name] = module  # so that pickling the class works in this process
            try:
                exec(code, module.__dict__)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            self._module = module
        return self._module

    def module_class(self):
        """The generated `nn.Module` subclass."""
        return getattr(self.module(), self.name)


def compile_source(text: bytes | str, filename: str = "<string>") -> Program:
    """Check a program; raise CompileError (with `.diagnostics`) if it has errors."""
    typed = check_program(text, filename)
    if not typed.ok:
        raise CompileError(typed.diagnostics)
    return Program(typed)


def compile_file(path: str | os.PathLike) -> Program:
    from pathlib import Path

    path = Path(path)
    return compile_source(path.read_bytes(), str(path))


def load(path: str | os.PathLike):
    """The generated `nn.Module` subclass for a .cnn file."""
    return compile_file(path).module_class()
