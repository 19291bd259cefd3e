"""The `cnnc` command."""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys

from .. import __version__
from . import commands
from .files import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["COMMANDS", "EXIT_ERRORS", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main", "split_size_lists"]


ANYWHERE = "Options go before or after the file arguments."
SIZES = (
    "--size takes one or more sizes: '--size 224x224 97x131', '--size 224x224 --size 97x131' and "
    "'--size 224x224,97x131' are the same; the list after one --size ends at the first word that is "
    "not a size (digits, x and commas), so 'cnnc summary --size 224x224 net.cnn' works too."
)


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, given the terminal width.

    Without a width, argparse imports shutil (and with it bz2, lzma, fnmatch:
    about 4 ms) for every command, to read the width it only needs for help.
    The width is what shutil.get_terminal_size would give.
    """

    def __init__(self, prog: str, **kwargs) -> None:
        if kwargs.get("width") is None:
            kwargs["width"] = _terminal_columns() - 2  # as argparse does
        super().__init__(prog, **kwargs)


def _terminal_columns() -> int:
    """`shutil.get_terminal_size().columns`: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Unused:
    """A subcommand this run does not need: its arguments are not built."""

    def add_argument(self, *args, **kwargs) -> None:
        pass


# The optimizers of `summary --train` (cnndsl/check/training.py's OPTIMIZERS; not imported here: a fresh
# `cnnc check` reads this module).
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw")
COMMANDS = ("check", "summary", "build", "verify", "draw", "explain", "lsp", "serve", "fmt", "import")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line; with `only`, the other subcommands' arguments are left out.

    Once the first word names the subcommand, argparse reads the rest with
    that subcommand's parser alone; building the other seven costs a fresh
    `cnnc check` about 2 ms.
    """
    parser = argparse.ArgumentParser(
        formatter_class=_Formatter,
        prog="cnnc",
        description="Check, summarise and compile .cnn network descriptions to PyTorch.",
        epilog=ANYWHERE + " " + SIZES,
    )
    parser.add_argument("--version", action="version", version=f"cnnc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, **kwargs) -> argparse.ArgumentParser:
        if only is not None and name != only:
            return _Unused()
        return commands.add_parser(name, formatter_class=_Formatter, **kwargs)

    check = command("check", help="parse and type-check; print diagnostics", epilog=ANYWHERE)
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--format", choices=("text", "json", "github"), default="text")

    summary = command(
        "summary",
        help="per-layer table of output shapes, receptive fields, parameters and MACs",
        epilog=ANYWHERE + " " + SIZES,
    )
    summary.add_argument("file", metavar="FILE")
    summary.add_argument("--format", choices=("text", "json"), default="text")
    summary.add_argument(
        "--explain", action="store_true", help="show the size, receptive-field, parameter and MAC formulas with your numbers"
    )
    summary.add_argument(
        "--batch", type=int, default=1, metavar="N", help="batch size of the memory and training figures (default 1)"
    )
    summary.add_argument(
        "--dtype",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="element type of the memory and training figures (default float32)",
    )
    summary.add_argument(
        "--train",
        action="store_true",
        help="add one training step's memory: what each layer saves for backward, gradients, optimizer state, the peak",
    )
    summary.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="sgd",
        help="the optimizer of --train: sgd (default), momentum (SGD with momentum), adam or adamw",
    )
    summary.add_argument(
        "--size",
        nargs="+",
        action="extend",
        metavar="HxW",
        help="a symbolic input's size(s): numbers for each (before or after FILE; repeat --size or list several)",
    )

    for name, text in (
        ("build", "generate FILE.py, then build and verify it on a device"),
        ("verify", "build and verify the module on a device without writing a file"),
    ):
        sub = command(name, help=text, epilog=ANYWHERE + " " + SIZES)
        sub.add_argument("file", metavar="FILE")
        if name == "build":
            sub.add_argument("-o", "--output", metavar="OUT.py", help="where to write (default: FILE with .py)")
            sub.add_argument("--no-verify", action="store_true", help="write without building the module")
        sub.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
        sub.add_argument("--batch", type=int, default=2, help="batch size of the verification run (default 2)")
        sub.add_argument(
            "--max-memory",
            default="4G",
            metavar="SIZE",
            help="refuse to build when parameters plus activations exceed SIZE (default 4G; 'none' for no limit)",
        )
        sub.add_argument(
            "--size",
            nargs="+",
            action="extend",
            metavar="HxW",
            help=(
                "a symbolic input: verify at these sizes (default: the smallest admissible and larger odd and even ones; "
                "before or after FILE; repeat --size or list several)"
            ),
        )

    draw = command("draw", help="draw the architecture as an SVG diagram (or an HTML page)", epilog=ANYWHERE)
    draw.add_argument("file", metavar="FILE")
    draw.add_argument("-o", "--output", metavar="OUT", help="where to write (default: FILE with .svg or .html; '-' for stdout)")
    draw.add_argument("--format", choices=("svg", "html"), help="svg (default) or html: the diagram and the summary table")
    draw.add_argument("--width", type=int, default=1500, metavar="PX", help="wrap into rows about PX wide (default 1500)")
    draw.add_argument("--size", metavar="HxW", help="a symbolic input: the size to draw it at (default: the smallest admissible)")

    explain = command("explain", help="the long explanation of a diagnostic code")
    explain.add_argument("code", metavar="CODE")

    command("lsp", help="run the language server on stdio")

    serve = command(
        "serve",
        help="the playground: a local page that types, draws and explains the network as you write it (docs/playground.md)",
        epilog=ANYWHERE,
    )
    serve.add_argument("file", nargs="?", metavar="FILE", help="a .cnn file to open in the editor (read, never written)")
    serve.add_argument("--port", type=int, default=8765, metavar="N", help="the port (default 8765; 0 picks a free one)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default 127.0.0.1, this machine only; another one is reachable by others: a warning)",
    )
    serve.add_argument("--open", action="store_true", help="open the page in the default browser")

    imports = command(
        "import",
        help="write an existing PyTorch model as a .cnn program, with its weights, verified (docs/import.md)",
        epilog=ANYWHERE,
    )
    imports.add_argument(
        "spec",
        metavar="SPEC",
        help="package.module:name or path/to/file.py:name, a callable that returns an nn.Module (called without arguments)",
    )
    imports.add_argument("-o", "--output", metavar="OUT.cnn", help="where to write the program (default: standard output)")
    imports.add_argument("--weights", metavar="OUT.pt", help="also write the converted state_dict of the compiled program")
    imports.add_argument(
        "--input",
        metavar="HxWxC",
        help="the input size: 224x224x3 (fixed) or HxWx3 (any size); default: any size when the model takes it, else 224x224",
    )
    imports.add_argument("--device", default="auto", help="where to verify: auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps")
    imports.add_argument("--batch", type=int, default=2, help="batch size of the verification run (default 2)")
    imports.add_argument("--no-verify", action="store_true", help="write without running the round trip")

    fmt = command("fmt", help="rewrite .cnn files in the canonical layout (docs/editors.md)", epilog=ANYWHERE)
    fmt.add_argument("files", nargs="+", metavar="FILE", help="files to format in place; '-' filters stdin to stdout")
    fmt.add_argument("--check", action="store_true", help="write nothing; exit 1 if a file is not formatted")
    return parser


# Subcommands whose --size takes several sizes (draw's takes one).
SIZE_LISTS = ("summary", "build", "verify")
_SIZE_WORD = re.compile(r"[0-9][0-9xX, ]*\Z")


def split_size_lists(argv: list[str]) -> list[str]:
    """`--size 224x224 97x131 net.cnn` -> `--size=224x224 --size=97x131 net.cnn`.

    argparse's nargs='+' takes every word after --size up to the next option,
    the file included, so an option list that ended in --size left no FILE.
    The first word after --size is always its value (as before: a bad one is
    reported as a bad size); each following word is another size while it
    looks like one (digits, x, commas). `--size=A` takes exactly one value, so
    the parser sees one value per occurrence and `--size A --size B` extends.
    """
    command = next((word for word in argv if not word.startswith("-")), None)
    if command not in SIZE_LISTS:
        return argv
    words, index = [], 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            words.extend(argv[index - 1 :])
            break
        name, equals, value = word.partition("=")
        if not (len(name) >= 3 and "--size".startswith(name)):  # argparse takes --si for --size
            words.append(word)
            continue
        if not equals:
            if index == len(argv) or argv[index].startswith("-"):
                words.append(word)  # argparse says --size needs a value
                continue
            value = argv[index]
            index += 1
        words.append(f"--size={value}")
        while index < len(argv) and _SIZE_WORD.match(argv[index]):
            words.append(f"--size={argv[index]}")
            index += 1
    return words


def main(argv: list[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words[0] if words and words[0] in COMMANDS else None)
    args, extra = parser.parse_known_args(split_size_lists(words))
    if extra and getattr(args, "files", None) is not None and not any(word.startswith("-") and word != "-" for word in extra):
        # `cnnc check a.cnn --format json b.cnn`: argparse leaves files after an option over.
        args.files.extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = getattr(commands, f"{args.command}_command")
    if argv is None and args.command in ("check", "summary"):
        _short_lived_command()
    for stream in (sys.stdout, sys.stderr):
        # A source's own characters must not crash a terminal that cannot show them.
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        return handler(args)
    except UsageError as error:
        print(f"cnnc: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as error:  # a bug in cnnc, never the input's fault: no traceback
        if os.environ.get("CNNDSL_TRACEBACK"):
            raise
        first = str(error).splitlines()[0] if str(error) else ""
        print(f"cnnc: internal error: {type(error).__name__}: {first}", file=sys.stderr)
        print("cnnc: this is a bug in cnnc; please report it with the input (CNNDSL_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return EXIT_ERRORS


def _short_lived_command() -> None:
    """Set up a `cnnc check` or `cnnc summary` process to answer at once.

    Only the command's own process does this, never a caller of main(argv).
    Python's cyclic GC would walk every object of the modules the command
    imports, for a process that ends in a moment: it is switched off
    (measured: a few per cent of the command, benchmarks/cold_start.py).
    Lark's `regex` import, which once had to be kept out here, is edited out
    of the generated parser (cnndsl/syntax/standalone.py).
    """
    gc.disable()


if __name__ == "__main__":
    sys.exit(main())
