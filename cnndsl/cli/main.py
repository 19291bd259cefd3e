"""The `cnnc` command."""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib, json and tempfile are imported by the commands that use them
    from pathlib import Path

from .. import __version__

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or the files it names (exit 2)."""


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


COMMANDS = ("check", "summary", "build", "verify", "draw", "explain", "lsp", "serve", "fmt", "import")


def _parser(only: str | None = None) -> argparse.ArgumentParser:
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
        "summary", help="per-layer table of output shapes, parameters and MACs", epilog=ANYWHERE + " " + SIZES
    )
    summary.add_argument("file", metavar="FILE")
    summary.add_argument("--format", choices=("text", "json"), default="text")
    summary.add_argument("--explain", action="store_true", help="show the size, parameter and MAC formulas with your numbers")
    summary.add_argument("--batch", type=int, default=1, metavar="N", help="batch size of the memory figures (default 1)")
    summary.add_argument(
        "--dtype",
        choices=("float32", "float16", "bfloat16"),
        default="float32",
        help="element type of the memory figures (default float32)",
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


def _split_size_lists(argv: list[str]) -> list[str]:
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
    parser = _parser(words[0] if words and words[0] in COMMANDS else None)
    args, extra = parser.parse_known_args(_split_size_lists(words))
    if extra and getattr(args, "files", None) is not None and not any(word.startswith("-") and word != "-" for word in extra):
        # `cnnc check a.cnn --format json b.cnn`: argparse leaves files after an option over.
        args.files.extend(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    handler = globals()[f"_cmd_{args.command}"]
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


# No .cnn file needs more; the cap also stops reads of endless files (/dev/zero).
MAX_SOURCE_BYTES = 16 * 1024 * 1024


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
        if len(data) > MAX_SOURCE_BYTES:
            raise UsageError(f"cannot read '{path}': it is larger than {MAX_SOURCE_BYTES // 2**20} MB")
        return data
    except IsADirectoryError:
        raise UsageError(f"cannot read '{path}': it is a directory") from None
    except OSError as error:
        raise UsageError(f"cannot read '{path}': {error.strerror or error}") from None


def _check(path: str):
    from ..compiler import check_program

    return check_program(_read(path), path)


def _print_diagnostics(programs, stream=None) -> None:
    from ..diagnostics.render import render_all, use_colour

    stream = stream or sys.stderr
    diagnostics = [d for p in programs for d in p.diagnostics]
    if diagnostics:
        sources = {p.source.filename: p.source for p in programs}
        stream.write(render_all(diagnostics, sources, colour=use_colour(stream)))


def _cmd_check(args) -> int:
    programs = []
    unreadable = False
    for path in args.files:
        try:
            programs.append(_check(path))
        except UsageError as error:
            print(f"cnnc: error: {error}", file=sys.stderr)
            unreadable = True
    diagnostics = [d for p in programs for d in p.diagnostics]
    if args.format == "json":
        from ..diagnostics.render import render_json

        sys.stdout.write(render_json(diagnostics))
    elif args.format == "github":
        from ..diagnostics.render import render_github

        sys.stdout.write(render_github(diagnostics))
    else:
        _print_diagnostics(programs)
    if unreadable:
        return EXIT_USAGE
    return EXIT_ERRORS if any(d.is_error for d in diagnostics) else EXIT_OK


def _sizes(texts: list[str] | None) -> list[tuple[int, int]]:
    """`--size 224x224 97x131` -> [(224, 224), (97, 131)]; `224` means 224x224."""
    sizes = []
    for text in texts or ():
        for part in text.split(","):
            numbers = part.strip().lower().split("x")
            if not (1 <= len(numbers) <= 2 and all(n.isdigit() for n in numbers) and all(int(n) >= 1 for n in numbers if len(n) <= 12)):
                raise UsageError(f"--size takes HxW like 224x224, not '{part}'")
            if any(len(n) > 10 or int(n) > 2**31 - 1 for n in numbers):
                raise UsageError(f"--size {part}: a size is at most 2**31 - 1 = 2,147,483,647")
            height, width = int(numbers[0]), int(numbers[-1])
            sizes.append((height, width))
    return sizes


def _instances(program, sizes: list[tuple[int, int]]) -> list:
    """The program at each --size; a size the program does not admit is a usage error."""
    from ..compiler import instantiate

    if sizes and not program.symbolic:
        raise UsageError(f"--size is for a symbolic input (like input HxWx3); this input is fixed at {program.input}")
    instances = []
    for height, width in sizes:
        try:
            instances.append(instantiate(program, height, width))
        except ValueError as error:
            raise UsageError(f"--size {height}x{width}: {error}") from None
    return instances


def _cmd_summary(args) -> int:
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    sizes = _sizes(args.size)
    program = _check(args.file)
    if args.format == "json":
        from ..diagnostics.render import render_json

        if not program.ok:
            sys.stderr.write(render_json(program.diagnostics))
            return EXIT_ERRORS
        from ..reports.summary import summarize

        entry = summarize(program, args.batch, args.dtype).to_dict()
        instances = _instances(program, sizes)
        if instances:
            entry["instances"] = [summarize(instance, args.batch, args.dtype).to_dict() for instance in instances]
        import json

        json.dump(entry, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    # A bad --size is a one-line usage error, before the program's warnings.
    instances = _instances(program, sizes) if program.ok else []
    _print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    from ..reports.memory import estimate
    from ..reports.summary import render_table

    if not program.symbolic:
        sys.stdout.write(render_table(program, explain=args.explain, memory=estimate(program, args.batch, args.dtype)))
        return EXIT_OK
    if not instances:
        sys.stdout.write(render_table(program, explain=args.explain))
        return EXIT_OK
    tables = []
    for instance in instances:
        # An admissible size can still be one a layer cannot take (a computed bound is per layer).
        if not instance.ok:
            _print_diagnostics([instance])
        else:
            tables.append(render_table(instance, explain=args.explain, memory=estimate(instance, args.batch, args.dtype)))
    sys.stdout.write("\n".join(tables))
    return EXIT_OK if all(instance.ok for instance in instances) else EXIT_ERRORS


def _budget(text: str) -> int | None:
    if text.strip().lower() in ("none", "unlimited", "0"):
        return None
    from ..backend.verify import parse_size

    try:
        return parse_size(text)
    except (ValueError, IndexError):
        raise UsageError(f"--max-memory takes a size like 4G or 512M, not '{text}'") from None


def _compile_and_verify(args, write_to: Path | None) -> int:
    from ..compiler import Program

    program = _check(args.file)
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    budget = _budget(args.max_memory)
    sizes = _sizes(args.size)
    # A size the program does not admit is a usage error (before the program's
    # warnings); one it admits but a layer cannot build at (E0061) is the
    # program's error, before any work.
    instances = _instances(program, sizes) if program.ok else []
    _print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    broken = [instance for instance in instances if not instance.ok]
    if broken:
        _print_diagnostics(broken)
        print("cnnc: error: the network cannot be built at that size; nothing was written", file=sys.stderr)
        return EXIT_ERRORS
    compiled = Program(program)
    source = compiled.python_source
    if not getattr(args, "no_verify", False):
        from ..backend.verify import DeviceError, MemoryBudgetError, render_verification, verify

        try:
            result = verify(
                program, compiled.module_class(), device=args.device, batch=args.batch, budget=budget, sizes=sizes or None
            )
        except DeviceError as error:
            raise UsageError(str(error)) from None
        except MemoryBudgetError as error:
            print(f"cnnc: error: {error}", file=sys.stderr)
            return EXIT_ERRORS
        sys.stdout.write(render_verification(program, result))
        if not result.ok:
            print("cnnc: error: verification failed; nothing was written", file=sys.stderr)
            return EXIT_ERRORS
    if write_to is not None:
        _write_atomically(write_to, source)
        print(f"wrote {write_to}", file=sys.stderr)
    return EXIT_OK


def _write_atomically(path: Path, text: str) -> None:
    """Write next to the target, then rename: readers never see half a file."""
    directory = _output_directory(path)
    try:
        import tempfile

        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as error:
        raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())  # the new file is complete on disk before it replaces the old
        mode = 0o666 & ~_umask()
        if path.exists():
            mode = path.stat().st_mode & 0o777
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def _output_directory(path: Path) -> Path:
    """The directory an output goes to; a usage error when it cannot hold files."""
    from pathlib import Path

    directory = path.parent if str(path.parent) else Path(".")
    if directory.is_dir():
        if path.is_dir():
            raise UsageError(f"cannot write '{path}': it is a directory")
        return directory
    blocker = next((p for p in (directory, *directory.parents) if p.exists()), None)
    if blocker is not None and not blocker.is_dir():
        raise UsageError(f"cannot write '{path}': '{blocker}' is a file, not a directory")
    raise UsageError(f"cannot write '{path}': the directory '{directory}' does not exist")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cmd_build(args) -> int:
    from pathlib import Path

    output = Path(args.output) if args.output else Path(args.file).with_suffix(".py")
    if output.resolve() == Path(args.file).resolve():
        raise UsageError(f"the output '{output}' would overwrite the source")
    _output_directory(output)  # before the slow part: fail fast on a bad -o
    return _compile_and_verify(args, output)


def _cmd_verify(args) -> int:
    return _compile_and_verify(args, None)


def _cmd_draw(args) -> int:
    from pathlib import Path

    if args.width < 300:
        raise UsageError("--width must be at least 300 pixels")
    output = args.output
    form = args.format or ("html" if output and output.lower().endswith((".html", ".htm")) else "svg")
    target = None
    if output != "-":
        target = Path(output) if output else Path(args.file).with_suffix(f".{form}")
        if target.resolve() == Path(args.file).resolve():
            raise UsageError(f"the output '{target}' would overwrite the source")
    sizes = _sizes([args.size] if args.size else None)
    if len(sizes) > 1:
        raise UsageError("draw takes one --size, like --size 224x224")
    program = _check(args.file)
    _print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    at = None
    if sizes or program.symbolic:  # drawn at one size: the boxes' proportions and the MACs
        (at,) = _instances(program, sizes or [program.smallest_size()])
        if not at.ok:
            _print_diagnostics([at])
            return EXIT_ERRORS
    from ..reports.draw import render_html, render_svg

    text = (render_html if form == "html" else render_svg)(program, max_width=args.width, at=at)
    if target is None:
        sys.stdout.write(text)
        return EXIT_OK
    _write_atomically(target, text)
    print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK


def _cmd_explain(args) -> int:
    from ..diagnostics.codes import lookup

    entry = lookup(args.code)
    if entry is None:
        raise UsageError(f"unknown diagnostic code '{args.code}' (codes look like E0030 or W0001)")
    print(f"{entry.code} ({entry.severity}, {entry.name}): {entry.summary}\n")
    print(entry.explanation)
    return EXIT_OK


def _cmd_fmt(args) -> int:
    from ..compiler import decode
    from ..formatter import FormatError, format_source
    from ..diagnostics.render import render_all, use_colour
    from ..syntax.source import SourceText

    status = EXIT_OK
    for path in args.files:
        name = "<stdin>" if path == "-" else path
        try:
            data = sys.stdin.buffer.read() if path == "-" else _read(path)
        except UsageError as error:
            print(f"cnnc: error: {error}", file=sys.stderr)
            status = EXIT_USAGE
            continue
        text, bad_encoding = decode(data, name)
        try:
            if text is None:
                raise FormatError([bad_encoding])
            text = ("\ufeff" if data.startswith(b"\xef\xbb\xbf") else "") + text
            formatted = format_source(text, name)
        except FormatError as error:
            sources = {name: SourceText(text.lstrip("\ufeff"), name)} if text is not None else {}
            sys.stderr.write(render_all(error.diagnostics, sources, colour=use_colour(sys.stderr)))
            print(f"cnnc: error: {name} was not formatted: fix the errors above first", file=sys.stderr)
            status = max(status, EXIT_ERRORS)
            continue
        if path == "-" and not args.check:
            sys.stdout.write(formatted)
        elif formatted != text:
            if args.check:
                print(f"would reformat {name}", file=sys.stderr)
                status = max(status, EXIT_ERRORS)
            else:
                from pathlib import Path

                _write_atomically(Path(path), formatted)
                print(f"reformatted {name}", file=sys.stderr)
    return status


def _cmd_import(args) -> int:
    """`cnnc import SPEC`: nothing is written unless the model imports and the round trip verifies."""
    from pathlib import Path

    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    targets = [Path(p) for p in (args.output, args.weights) if p]
    if args.output and args.weights and Path(args.output).resolve() == Path(args.weights).resolve():
        raise UsageError("-o and --weights name the same file")
    for target in targets:
        _output_directory(target)  # before the slow part: fail fast on a bad path
    from ..importer import InputSpec, ModelImportError, SpecError, import_model, load_model, round_trip_table
    from ..backend.verify import DeviceError

    try:
        spec = InputSpec.parse(args.input)
    except ValueError as error:
        raise UsageError(str(error)) from None
    try:
        model, _ = load_model(args.spec)
    except SpecError as error:
        if error.usage:
            raise UsageError(str(error)) from None
        print(f"cnnc: error: {error}", file=sys.stderr)
        return EXIT_ERRORS
    try:
        imported = import_model(model, spec, origin=args.spec, check=not args.no_verify, device=args.device, batch=args.batch)
    except ModelImportError as error:
        for problem in error.problems:
            print(problem.render(), file=sys.stderr)
        print(f"cnnc: error: {error.summary}; nothing was written", file=sys.stderr)
        return EXIT_ERRORS
    except DeviceError as error:
        raise UsageError(str(error)) from None
    report = sys.stdout if args.output else sys.stderr
    if imported.verification is not None:
        report.write(round_trip_table(imported.verification))
        if not imported.verification.ok:
            print("cnnc: error: the imported program does not compute what the model does; nothing was written", file=sys.stderr)
            return EXIT_ERRORS
    files: dict[Path, bytes] = {}
    if args.weights:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(imported.state_dict, buffer)
        files[Path(args.weights)] = buffer.getvalue()
    if args.output:
        files[Path(args.output)] = imported.text.encode("utf-8")
    _write_all_atomically(files)
    for path in files:
        print(f"wrote {path}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(imported.text)
    return EXIT_OK


def _write_all_atomically(files: dict) -> None:
    """Write every file next to its target, then rename them all: none is replaced unless all could be written."""
    import tempfile

    temporaries = []
    try:
        for path, data in files.items():
            try:
                fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=_output_directory(path))
            except OSError as error:
                raise UsageError(f"cannot write '{path}': {error.strerror or error}") from None
            temporaries.append(temporary)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, (path.stat().st_mode & 0o777) if path.exists() else 0o666 & ~_umask())
        for (path, _), temporary in zip(files.items(), list(temporaries)):
            os.replace(temporary, path)
            temporaries.remove(temporary)
    except OSError as error:
        raise UsageError(f"cannot write: {error.strerror or error}") from None
    finally:
        for temporary in temporaries:
            try:
                os.unlink(temporary)
            except OSError:
                pass


def _cmd_serve(args) -> int:
    import errno
    from pathlib import Path

    if not 0 <= args.port <= 65535:
        raise UsageError("--port takes a number from 0 to 65535 (0: any free port)")
    file = None
    if args.file is not None:
        _read(args.file)  # unreadable, a directory, too large: a usage error now, not on the page
        file = Path(args.file)
    from ..playground.server import serve

    try:
        return serve(file, host=args.host, port=args.port, open_browser=args.open)
    except OSError as error:
        hint = " (another program uses it: pick another with --port N, or --port 0)" if error.errno == errno.EADDRINUSE else ""
        raise UsageError(f"cannot listen on {args.host} port {args.port}: {error.strerror or error}{hint}") from None


def _cmd_lsp(args) -> int:
    try:
        from ..lsp.server import serve
    except ImportError as error:
        raise UsageError(f"the language server is not available: {error}") from None
    serve()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
