"""cnndsl: a small language for convolutional networks, compiled to PyTorch.

Importing this package is cheap: Lark, Jinja2, black and torch are imported
only by the functions that need them.
"""

from .compiler import Program, check_program, check_source, compile_file, compile_source, load
from .diagnostics import CompileError, Diagnostic
from .importhook import install_import_hook, uninstall_import_hook

__version__ = "0.1.0"

__all__ = [
    "CompileError",
    "Diagnostic",
    "Program",
    "__version__",
    "check_program",
    "check_source",
    "compile_file",
    "compile_source",
    "install_import_hook",
    "load",
    "uninstall_import_hook",
]
