"""`cnnc import SPEC`: find the callable that SPEC names, call it, and check that it made a model.

SPEC is `package.module:name` (importable, e.g. `torchvision.models:resnet50`)
or `path/to/file.py:name`; `name` may be dotted (`Models.small`). It is
called without arguments and must return an `nn.Module`.

Two kinds of failure, as `cnnc` exits for them (INTERFACE.md):

- the text of SPEC does not name anything (malformed, no such file, module
  or name): a usage error, exit 2, like a file that cannot be read;
- SPEC names something that does not give a model (importing or calling it
  raises, it is not callable, needs arguments, or returns something else):
  an error of the program SPEC names, exit 1.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import itertools
import os
import sys
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

_file_numbers = itertools.count(1)


class SpecError(Exception):
    """SPEC does not give a model. `usage`: the text names nothing (exit 2), else the code failed (exit 1)."""

    def __init__(self, message: str, *, usage: bool) -> None:
        super().__init__(message)
        self.usage = usage


@dataclass(frozen=True)
class Spec:
    """SPEC, read: where the callable lives and its (possibly dotted) name."""

    text: str
    module: str  # an importable module name, or '' for a file
    file: Path | None
    name: str

    @property
    def short(self) -> str:
        """The last part of the name: `resnet50`."""
        return self.name.rpartition(".")[2]


def parse_spec(text: str) -> Spec:
    """`package.module:name` or `path/file.py:name`; SpecError (usage) when it is neither."""
    where, colon, name = text.rpartition(":")
    if not colon or not where or not name:
        raise SpecError(
            f"SPEC '{text}' should be 'package.module:name' or 'path/to/file.py:name' "
            "(the callable after the colon is called without arguments and returns an nn.Module)",
            usage=True,
        )
    if not all(part.isidentifier() for part in name.split(".")):
        raise SpecError(f"'{name}' in SPEC '{text}' is not a Python name (expected something like resnet50)", usage=True)
    if where.endswith(".py") or os.sep in where or (os.altsep and os.altsep in where) or "/" in where:
        return Spec(text, "", Path(where), name)
    if not all(part.isidentifier() for part in where.split(".")):
        raise SpecError(
            f"'{where}' in SPEC '{text}' is neither a module name (package.module) nor a .py file", usage=True
        )
    return Spec(text, where, None, name)


def load_model(text: str) -> tuple[nn.Module, Spec]:
    """The model SPEC makes, and SPEC read; raises SpecError."""
    spec = parse_spec(text)
    namespace = _load_file(spec) if spec.file is not None else _import(spec)
    target = _attribute(namespace, spec)
    return _call(target, spec), spec


@contextmanager
def _on_path(directory: str):
    """Let the code find modules next to it (as `python file.py` and `python -m` do)."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        try:
            sys.path.remove(directory)
        except ValueError:
            pass


def _import(spec: Spec):
    try:
        with _on_path(os.getcwd()):
            return importlib.import_module(spec.module)
    except ModuleNotFoundError as error:
        # Only a missing SPEC module (or one of its packages) is SPEC's mistake;
        # a module that the code imports and that is missing is the code's.
        if error.name and (spec.module == error.name or spec.module.startswith(error.name + ".")):
            raise SpecError(
                f"no module named '{error.name}' (SPEC '{spec.text}'; is it installed, or did you mean a file, path/to/{spec.module.replace('.', '/')}.py:{spec.name}?)",
                usage=True,
            ) from None
        raise SpecError(_raised(f"importing {spec.module}", error), usage=False) from None
    except BaseException as error:  # noqa: BLE001 - the user's code may raise anything, SystemExit included
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(_raised(f"importing {spec.module}", error), usage=False) from None


def _load_file(spec: Spec):
    path = spec.file
    if not path.exists():
        raise SpecError(f"cannot read '{path}': no such file (SPEC '{spec.text}')", usage=True)
    if path.is_dir():
        raise SpecError(f"cannot read '{path}': it is a directory (SPEC '{spec.text}')", usage=True)
    # Registered while the file runs (dataclasses and pickling look the module up): under its own
    # name (messages and comments say `custom.Stage`) unless a module of that name is loaded already.
    name = path.stem if path.stem.isidentifier() and path.stem not in sys.modules else f"cnnc_import_{next(_file_numbers)}"
    loader_spec = importlib.util.spec_from_file_location(name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise SpecError(f"cannot load '{path}' as Python (SPEC '{spec.text}'; it should end in .py)", usage=True)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[name] = module
    try:
        with _on_path(str(path.resolve().parent)):
            loader_spec.loader.exec_module(module)
    except OSError as error:
        sys.modules.pop(name, None)
        raise SpecError(f"cannot read '{path}': {error.strerror or error}", usage=True) from None
    except BaseException as error:  # noqa: BLE001
        sys.modules.pop(name, None)
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(_raised(f"running {path}", error), usage=False) from None
    return module


def _attribute(namespace, spec: Spec):
    value = namespace
    walked = []
    for part in spec.name.split("."):
        if not hasattr(value, part):
            where = ".".join(walked) or (str(spec.file) if spec.file is not None else spec.module)
            names = [n for n in dir(value) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise SpecError(f"'{where}' has no attribute '{part}' (SPEC '{spec.text}'){hint}", usage=True)
        value = getattr(value, part)
        walked.append(part)
    return value


def _call(target, spec: Spec) -> nn.Module:
    if isinstance(target, nn.Module):
        raise SpecError(
            f"'{spec.name}' is already a model ({type(target).__name__}), not a callable that makes one: "
            f"SPEC names a function or class that is called without arguments (for example def make(): return {spec.short})",
            usage=False,
        )
    if not callable(target):
        raise SpecError(
            f"'{spec.name}' is a {type(target).__name__}, not something that can be called "
            "(SPEC names a function or class that returns an nn.Module)",
            usage=False,
        )
    required = _required_parameters(target)
    if required:
        raise SpecError(
            f"'{spec.name}' needs arguments ({', '.join(required)}), but SPEC is called without any: "
            f"write a function that calls it with them and name that one",
            usage=False,
        )
    try:
        with torch.no_grad():
            model = target()
    except BaseException as error:  # noqa: BLE001
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(_raised(f"calling {spec.name}()", error), usage=False) from None
    if not isinstance(model, nn.Module):
        raise SpecError(
            f"{spec.name}() returned a {type(model).__module__}.{type(model).__qualname__}, not an nn.Module",
            usage=False,
        )
    return model


def _required_parameters(target) -> list[str]:
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return []
    return [
        name
        for name, parameter in signature.parameters.items()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]


def _raised(doing: str, error: BaseException) -> str:
    """`calling resnet50() raised RuntimeError: ... (models.py:12)`: one line, the innermost frame of the user's code."""
    first = str(error).splitlines()[0] if str(error) else ""
    where = user_frame(error.__traceback__)
    at = f" ({where[0]}:{where[1]})" if where else ""
    return f"{doing} raised {type(error).__name__}" + (f": {first}" if first else "") + at


def user_frame(tb) -> tuple[str, int] | None:
    """The innermost frame of a traceback outside torch and cnndsl: (file, line)."""
    ignored = tuple(str(Path(module.__file__).resolve().parent) for module in (torch, sys.modules["cnndsl"]))
    found = None
    for frame, line in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename.startswith("<frozen") or str(Path(filename).resolve()).startswith(ignored):
            continue
        found = (filename, line)
    return found
