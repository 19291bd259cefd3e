"""`import quiz` finds quiz.cnn on sys.path and compiles it (opt-in)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path


class CnnFinder(importlib.abc.MetaPathFinder):
    """Finds `NAME.cnn` in the directories of sys.path (or a package's path)."""

    def find_spec(self, fullname, path=None, target=None):
        leaf = fullname.rpartition(".")[2]
        for entry in path if path is not None else sys.path:
            candidate = Path(entry or ".") / f"{leaf}.cnn"
            if candidate.is_file():
                return importlib.util.spec_from_file_location(fullname, candidate, loader=CnnLoader(candidate))
        return None


class CnnLoader(importlib.abc.Loader):
    def __init__(self, path: Path) -> None:
        self.path = path

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        from .compiler import compile_file

        program = compile_file(self.path)  # raises CompileError with the diagnostics
        module.__dict__["__cnn_source__"] = str(self.path)
        exec(compile(program.python_source, str(self.path), "exec"), module.__dict__)


_FINDER = CnnFinder()


def install_import_hook() -> None:
    """Let `import NAME` compile `NAME.cnn` found on sys.path. Idempotent."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)


def uninstall_import_hook() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)
