"""cnndsl: a small language for convolutional networks, compiled to PyTorch.

Importing this package is cheap: Lark, Jinja2, black and torch are imported
only by the functions that need them.
"""

from .compiler import Program, check_program, check_source, compile_file, compile_source, instantiate, load
from .diagnostics.model import CompileError, Diagnostic

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "Diagnostic",
    "Program",
    "TransferReport",
    "WeightTransferError",
    "__version__",
    "ModelImportError",
    "check_program",
    "check_source",
    "compile_file",
    "compile_source",
    "install_import_hook",
    "import_module",
    "instantiate",
    "load",
    "match_parameters",
    "transfer_weights",
    "uninstall_import_hook",
]

# Weights by structure (backend/weights.py) and `cnnc import` (importer/) need torch: loaded when first asked for.
_WEIGHTS_NAMES = frozenset({"TransferReport", "WeightTransferError", "match_parameters", "transfer_weights"})
_IMPORT_NAMES = frozenset({"ModelImportError", "import_module"})


def __getattr__(name: str):
    # The import hook needs importlib.abc (about 10 ms, several percent of a
    # fresh `cnnc check`): it is loaded when first asked for, not by every
    # `import cnndsl` (benchmarks/cold_start.py).
    if name in ("install_import_hook", "uninstall_import_hook"):
        from . import importhook

        return getattr(importhook, name)
    if name in _WEIGHTS_NAMES:
        from .backend import weights

        return getattr(weights, name)
    if name in _IMPORT_NAMES:
        from . import importer

        return getattr(importer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
