"""What each `cnnc` subcommand does once its command line is read (`main.py` reads it).

`<name>_command(args)` runs subcommand <name> and returns its exit code; a
UsageError it raises becomes a one-line message and exit code 2.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .files import EXIT_ERRORS, EXIT_OK, EXIT_USAGE, UsageError, output_directory, read_source, write_all_atomically, write_atomically

if TYPE_CHECKING:  # pathlib and json are imported by the commands that use them
    from pathlib import Path


def check_file(path: str):
    from ..compiler import check_program

    return check_program(read_source(path), path)


def print_diagnostics(programs, stream=None, severities=("error", "warning", "note")) -> None:
    from ..diagnostics.render import render_all, use_colour

    stream = stream or sys.stderr
    diagnostics = [d for p in programs for d in p.diagnostics if d.severity in severities]
    if diagnostics:
        sources = {p.source.filename: p.source for p in programs}
        stream.write(render_all(diagnostics, sources, colour=use_colour(stream)))


def check_command(args) -> int:
    programs = []
    unreadable = False
    for path in args.files:
        try:
            programs.append(check_file(path))
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
        print_diagnostics(programs)
    if unreadable:
        return EXIT_USAGE
    return EXIT_ERRORS if any(d.is_error for d in diagnostics) else EXIT_OK


def parse_sizes(texts: list[str] | None) -> list[tuple[int, int]]:
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


def instances_at(program, sizes: list[tuple[int, int]]) -> list:
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


def summary_command(args) -> int:
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    sizes = parse_sizes(args.size)
    program = check_file(args.file)
    optimizer = args.optimizer if args.train else None
    if args.format == "json":
        from ..diagnostics.render import render_json

        if not program.ok:
            sys.stderr.write(render_json(program.diagnostics))
            return EXIT_ERRORS
        from ..reports.summary import summarize

        entry = summarize(program, args.batch, args.dtype, optimizer).to_dict()
        instances = instances_at(program, sizes)
        if instances:
            entry["instances"] = [summarize(instance, args.batch, args.dtype, optimizer).to_dict() for instance in instances]
        import json

        json.dump(entry, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return EXIT_OK
    # A bad --size is a one-line usage error, before the program's warnings.
    instances = instances_at(program, sizes) if program.ok else []
    print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    from ..reports.summary import render_table

    if not program.symbolic:
        sys.stdout.write(_summary_table(program, args, optimizer))
        return EXIT_OK
    if not instances:
        sys.stdout.write(render_table(program, explain=args.explain))
        if args.train:
            sys.stdout.write("--train: the training step's memory depends on the input size; add --size 224x224\n")
        return EXIT_OK
    tables = []
    for instance in instances:
        # An admissible size can still be one a layer cannot take (a computed bound is per layer).
        if not instance.ok:
            print_diagnostics([instance])
        else:
            print_diagnostics([instance], severities=("note",))  # a field larger than the input at this size
            tables.append(_summary_table(instance, args, optimizer))
    sys.stdout.write("\n".join(tables))
    return EXIT_OK if all(instance.ok for instance in instances) else EXIT_ERRORS


def _summary_table(program, args, optimizer: str | None) -> str:
    """The table of a program with a fixed input size: its memory figures and, with --train, the training step."""
    from ..check.training import training_step
    from ..reports.memory import estimate
    from ..reports.summary import render_table

    training = training_step(program, args.batch, optimizer, args.dtype) if optimizer else None
    return render_table(program, explain=args.explain, memory=estimate(program, args.batch, args.dtype), training=training)


def memory_budget(text: str) -> int | None:
    if text.strip().lower() in ("none", "unlimited", "0"):
        return None
    from ..backend.verify import parse_size

    try:
        return parse_size(text)
    except (ValueError, IndexError):
        raise UsageError(f"--max-memory takes a size like 4G or 512M, not '{text}'") from None


def compile_and_verify(args, write_to: Path | None) -> int:
    from ..compiler import Program

    program = check_file(args.file)
    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    budget = memory_budget(args.max_memory)
    sizes = parse_sizes(args.size)
    # A size the program does not admit is a usage error (before the program's
    # warnings); one it admits but a layer cannot build at (E0061) is the
    # program's error, before any work.
    instances = instances_at(program, sizes) if program.ok else []
    print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    broken = [instance for instance in instances if not instance.ok]
    if broken:
        print_diagnostics(broken)
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
        write_atomically(write_to, source)
        print(f"wrote {write_to}", file=sys.stderr)
    return EXIT_OK


def build_command(args) -> int:
    from pathlib import Path

    output = Path(args.output) if args.output else Path(args.file).with_suffix(".py")
    if output.resolve() == Path(args.file).resolve():
        raise UsageError(f"the output '{output}' would overwrite the source")
    output_directory(output)  # before the slow part: fail fast on a bad -o
    return compile_and_verify(args, output)


def verify_command(args) -> int:
    return compile_and_verify(args, None)


def draw_command(args) -> int:
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
    sizes = parse_sizes([args.size] if args.size else None)
    if len(sizes) > 1:
        raise UsageError("draw takes one --size, like --size 224x224")
    program = check_file(args.file)
    print_diagnostics([program])
    if not program.ok:
        return EXIT_ERRORS
    at = None
    if sizes or program.symbolic:  # drawn at one size: the boxes' proportions and the MACs
        (at,) = instances_at(program, sizes or [program.smallest_size()])
        if not at.ok:
            print_diagnostics([at])
            return EXIT_ERRORS
    from ..reports.draw import render_html, render_svg

    text = (render_html if form == "html" else render_svg)(program, max_width=args.width, at=at)
    if target is None:
        sys.stdout.write(text)
        return EXIT_OK
    write_atomically(target, text)
    print(f"wrote {target}", file=sys.stderr)
    return EXIT_OK


def explain_command(args) -> int:
    from ..diagnostics.codes import lookup

    entry = lookup(args.code)
    if entry is None:
        raise UsageError(f"unknown diagnostic code '{args.code}' (codes look like E0030 or W0001)")
    print(f"{entry.code} ({entry.severity}, {entry.name}): {entry.summary}\n")
    print(entry.explanation)
    return EXIT_OK


def fmt_command(args) -> int:
    from ..compiler import decode
    from ..formatter import FormatError, format_source
    from ..diagnostics.render import render_all, use_colour
    from ..syntax.source import SourceText

    status = EXIT_OK
    for path in args.files:
        name = "<stdin>" if path == "-" else path
        try:
            data = sys.stdin.buffer.read() if path == "-" else read_source(path)
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

                write_atomically(Path(path), formatted)
                print(f"reformatted {name}", file=sys.stderr)
    return status


def serve_command(args) -> int:
    import errno
    from pathlib import Path

    if not 0 <= args.port <= 65535:
        raise UsageError("--port takes a number from 0 to 65535 (0: any free port)")
    file = None
    if args.file is not None:
        read_source(args.file)  # unreadable, a directory, too large: a usage error now, not on the page
        file = Path(args.file)
    from ..playground.server import serve

    try:
        return serve(file, host=args.host, port=args.port, open_browser=args.open)
    except OSError as error:
        hint = " (another program uses it: pick another with --port N, or --port 0)" if error.errno == errno.EADDRINUSE else ""
        raise UsageError(f"cannot listen on {args.host} port {args.port}: {error.strerror or error}{hint}") from None


def import_command(args) -> int:
    """`cnnc import SPEC`: nothing is written unless the model imports and the round trip verifies."""
    from pathlib import Path

    if args.batch < 1:
        raise UsageError("--batch must be at least 1")
    targets = [Path(p) for p in (args.output, args.weights) if p]
    if len(targets) == 2 and targets[0].resolve() == targets[1].resolve():
        raise UsageError("-o and --weights name the same file")
    for target in targets:
        output_directory(target)  # before the slow part: fail fast on a bad path
    from ..backend.verify import DeviceError
    from ..importer import InputSpec, ModelImportError, SpecError, import_model, load_model, round_trip_table

    try:
        size = InputSpec.parse(args.input)
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
        imported = import_model(model, size, origin=args.spec, check=not args.no_verify, device=args.device, batch=args.batch)
    except ModelImportError as error:
        for problem in error.problems:
            print(problem.render(), file=sys.stderr)
        print(f"cnnc: error: {error.summary}; nothing was written", file=sys.stderr)
        return EXIT_ERRORS
    except DeviceError as error:
        raise UsageError(str(error)) from None
    if imported.verification is not None:
        # The table is the command's result when the program goes to a file; else the program is.
        (sys.stdout if args.output else sys.stderr).write(round_trip_table(imported.verification))
        if not imported.verification.ok:
            print("cnnc: error: the imported program does not compute what the model does; nothing was written", file=sys.stderr)
            return EXIT_ERRORS
    files: dict = {}
    if args.weights:
        import io

        import torch

        buffer = io.BytesIO()
        torch.save(imported.state_dict, buffer)
        files[Path(args.weights)] = buffer.getvalue()
    if args.output:
        files[Path(args.output)] = imported.text.encode("utf-8")
    write_all_atomically(files)
    for path in files:
        print(f"wrote {path}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(imported.text)
    return EXIT_OK


def lsp_command(args) -> int:
    try:
        from ..lsp.server import serve
    except ImportError as error:
        raise UsageError(f"the language server is not available: {error}") from None
    serve()
    return EXIT_OK
