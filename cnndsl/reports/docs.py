"""The generated parts of the documentation, from the code that they describe.

    python -m cnndsl.reports.docs           # rewrite every generated part
    python -m cnndsl.reports.docs --check   # exit 1 (and name the files) when one is stale

- `docs/diagnostics.md`, whole, from the code registry `cnndsl/codes.py`.
- `docs/language.md`, between `<!-- generated: NAME -->` and
  `<!-- end generated: NAME -->` markers: the layer table (from
  `cnndsl.layers.LAYERS`), the activations and the checker's limits.
- `docs/tutorial.md`: every fenced block that follows a
  `<!-- $ cnnc ARGS -->` marker is what that command prints now (run from
  the repository root, without colour); `<!-- $ python FILE.cnn -->` is the
  module `cnnc build` would write for FILE.
- `docs/images/*.svg`: the diagrams the docs and the README show.
- `editors/vscode/syntaxes/cnn.tmLanguage.json`: the word lists of the VS
  Code grammar (layers, activations, options, flags, form keywords) and its
  decimal number pattern (scientific notation included).
- `cnndsl/layers/index.py`: which family module defines each layer name, so
  that a check imports only the families it uses (`cnndsl/layers/registry.py`).

tests/test_docs.py fails when any of these differ from what this module
generates, so the documentation cannot drift from the compiler.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

from ..layers import registry

ROOT = Path(__file__).resolve().parents[2]  # the checkout: cnndsl/reports/docs.py
DOCS = ROOT / "docs"
VSCODE_GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "cnn.tmLanguage.json"
LAYER_INDEX = Path(registry.__file__).with_name("index.py")
IMAGES = {"docs/images/quiz.svg": "examples/quiz.cnn", "docs/images/resnet18.svg": "examples/resnet18.cnn"}
# A symbolic example is drawn at this size (`cnnc draw --size 224x224`): ImageNet's.
IMAGE_SIZE = (224, 224)


# ---------------------------------------------------------------------------
# docs/diagnostics.md


def diagnostics_markdown() -> str:
    from ..diagnostics.codes import CODES

    out = [
        "# Diagnostics",
        "",
        "<!-- Generated from cnndsl/codes.py by `python -m cnndsl.reports.docs`; edit the registry, not this file. -->",
        "",
        "Every problem `cnnc` reports carries a stable code: `E` for errors (nothing",
        "is generated until they are fixed), `W` for warnings (the program still",
        "compiles). `cnnc explain CODE` prints the same explanation as this page, and",
        "the language server links each diagnostic to its section here.",
        "",
        "| code | severity | name | meaning |",
        "| --- | --- | --- | --- |",
    ]
    for code in CODES.values():
        out.append(f"| [{code.code}](#{code.code.lower()}) | {code.severity} | `{code.name}` | {_cell(code.summary)} |")
    for code in CODES.values():
        out += ["", f"## {code.code}", "", f"**`{code.name}`** ({code.severity}): {code.summary}.", "", code.explanation.rstrip()]
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------
# docs/language.md: generated sections


# The kinds' examples (`LayerKind.examples`) are checked on this input; the PyTorch column is what the compiler emits.
EXAMPLE_INPUT = "32x32x3"


def example_rows(examples: list[str]) -> list[str]:
    """`| .cnn | PyTorch | output |` rows, by running each example through the checker."""
    from ..compiler import check_program

    rows = []
    for example in examples:
        program = check_program(f"input {EXAMPLE_INPUT}\n{example}\n", "example.cnn")
        if not program.ok:
            raise ValueError(f"the docs example '{example}' does not check: {program.diagnostics}")
        *before, shown = example.split("; ")
        statement = program.layers[-1].statement
        layers = [layer for layer in program.layers if layer.statement == statement]
        modules = ", ".join(f"`{layer.module}`" for layer in layers)
        context = f" after `{'; '.join(before)}`" if before else ""
        rows.append(f"| `{shown}`{context} | {modules} | {layers[0].input} → {layers[-1].output} |")
    return rows


def layers_markdown() -> str:
    from ..layers import LAYERS

    kinds = [kind for kind in LAYERS if not kind.is_activation]
    out = [
        "| statement | also written | PyTorch | what it does |",
        "| --- | --- | --- | --- |",
    ]
    for kind in kinds:
        aliases = ", ".join(f"`{a}`" for a in kind.aliases)
        out.append(f"| `{_cell(kind.syntax)}` | {aliases} | `{kind.torch}` | {_cell(kind.summary)} |")
    for kind in kinds:
        out += ["", f"#### `{kind.name}`" + (f" (also `{'`, `'.join(kind.aliases)}`)" if kind.aliases else ""), ""]
        out.append(f"{kind.summary[:1].upper()}{kind.summary[1:]}. Written `{kind.syntax}`.")
        if kind.positionals:
            out += ["", "First " + ", then ".join(f"{p.role} ({p.expect.noun})" for p in kind.positionals) + "."]
        if kind.options:
            out += ["", "| option | spelled out | meaning |", "| --- | --- | --- |"]
            for option in kind.options:
                short = f"`{option.sample}`" if option.short else "—"  # a long-only option: `eps=0.001`
                out.append(f"| {short} | `{option.long_sample}` | {_cell(option.doc or option.role)} |")
        if kind.flags:
            out += ["", "| flag | meaning |", "| --- | --- |"]
            for flag, meaning in kind.flags.items():
                out.append(f"| `{flag}` | {_cell(meaning)} |")
        if kind.takes_activation:
            out += ["", "An activation may follow on the same line: see [Activations](#5-activations)."]
        out += ["", f"| on a {EXAMPLE_INPUT} input | PyTorch | type |", "| --- | --- | --- |"]
        out += example_rows(list(kind.examples or (kind.example,)))
        if kind.formulas:
            out += ["", "Rules (`cnnc summary --explain` shows them with your numbers):", ""]
            out += [f"- `{formula}`" for formula in kind.formulas]
    return "\n".join(out)


def activations_markdown() -> str:
    from ..layers import ACTIVATIONS

    out = ["| activation | PyTorch | computes | may run in place |", "| --- | --- | --- | --- |"]
    for kind in ACTIVATIONS.values():
        out.append(f"| `{kind.syntax}` | `{kind.torch}` | {_cell(kind.summary)} | {kind.inplace_doc} |")
    return "\n".join(out)


def limits_markdown() -> str:
    from ..check import budgets
    from ..syntax.recovery import MAX_READ_DEPTH, MAX_STATEMENT_WORDS, MAX_STATEMENTS

    return (
        f"- A program expands to at most {budgets.MAX_LAYERS:,} leaf layers (error E0060, computed\n"
        "  before anything is expanded, so `repeat 1000000000` is refused at once).\n"
        f"- Blocks, repeats and residuals nest at most {budgets.MAX_DEPTH} levels deep (error E0062).\n"
        f"- A statement has at most {MAX_STATEMENT_WORDS:,} words (error E0063: a longer one is skipped\n"
        "  without being read).\n"
        f"- A file has at most {MAX_STATEMENTS:,} statements, counted inside braces too (error E0064), and\n"
        f"  braces nested at most {MAX_READ_DEPTH:,} deep are read (E0062): past either, cnnc stops\n"
        "  reading the file at the top-level statement where the limit is passed."
    )


SECTIONS = {"layers": layers_markdown, "activations": activations_markdown, "limits": limits_markdown}


def splice(text: str, name: str, content: str) -> str:
    begin, end = f"<!-- generated: {name} -->", f"<!-- end generated: {name} -->"
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"docs/language.md has no '{begin}' ... '{end}' section")
    return pattern.sub(lambda _: f"{begin}\n{content}\n{end}", text, count=1)


def language_markdown(current: str) -> str:
    for name, make in SECTIONS.items():
        current = splice(current, name, make())
    return current


# ---------------------------------------------------------------------------
# editors/vscode: the TextMate grammar's word lists


def _alternation(words) -> str:
    """`(a|b)` for a regex, each word before any earlier word that is its prefix (`relu6|relu`)."""
    ordered: list[str] = []
    for word in dict.fromkeys(words):
        prefix = next((i for i, earlier in enumerate(ordered) if word.startswith(earlier)), len(ordered))
        ordered.insert(prefix, word)
    return "(" + "|".join(ordered) + ")"


FORMS_COMMENT = "The keywords of the layers' special forms (pool to 7x7)."


def vscode_grammar(current: str) -> str:
    """The grammar with every layer, activation, option, flag and form keyword from the layer table.

    The patterns around the lists (captures, scopes) are the grammar file's own.
    """
    import json

    from ..check.declarations import STRUCTURE_WORDS
    from ..layers import ACTIVATIONS, LAYERS
    from ..layers.values import DECIMAL_PATTERN

    grammar = json.loads(current)
    repository = grammar["repository"]
    kinds = [kind for kind in LAYERS if not kind.is_activation]
    layers = [name for kind in kinds for name in kind.names]
    activations = [name for kind in ACTIVATIONS.values() for name in kind.names]
    options = [option for kind in LAYERS for option in kind.options]
    shorts = "".join(dict.fromkeys(option.short for option in options if option.short))
    forms = [form.keyword for kind in LAYERS for form in kind.forms]
    repository["block-call"]["match"] = (
        "(?:^|(?<=[;{]))\\s*(?!(?:" + _alternation(layers + activations + list(STRUCTURE_WORDS))[1:-1]
        + ")\\b)([A-Za-z_][A-Za-z0-9_]*)\\b"
    )
    repository["layers"]["match"] = "\\b" + _alternation(layers) + "\\b"
    repository["activations"]["match"] = "\\b" + _alternation(activations) + "\\b"
    repository["flags"]["match"] = "\\b" + _alternation(flag for kind in LAYERS for flag in kind.flags) + "\\b"
    short_pattern, long_pattern = repository["options"]["patterns"]
    short_pattern["match"] = f"\\b([{shorts}])([0-9]+(?:x[0-9]+)?)\\b"
    long_pattern["match"] = "\\b" + _alternation(option.name for option in options) + "\\s*(=)"
    # The keywords that open a body (repeat, residual, concat, gate, ...): the grammar's own.
    repository["keywords"]["patterns"][0]["match"] = "\\b" + _alternation(w for w in STRUCTURE_WORDS if w not in ("network", "input")) + "\\b"
    form_pattern = next(p for p in repository["keywords"]["patterns"] if p.get("comment") == FORMS_COMMENT)
    form_pattern["match"] = "\\b" + _alternation(forms) + "\\b"
    decimal = next(p for p in repository["numbers"]["patterns"] if p["name"] == "constant.numeric.cnn")
    decimal["match"] = "(?<![A-Za-z0-9_.])" + DECIMAL_PATTERN + "\\b"
    return json.dumps(grammar, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------
# docs/tutorial.md: command output blocks

MARKER = re.compile(r"(<!-- \$ (?P<command>[^\n]*?) -->\n```(?P<lang>[\w-]*)\n)(?P<body>.*?)(```)", re.S)


def run_command(command: str) -> str:
    """What `cnnc ARGS` prints (stdout and stderr together; stdout alone after `2>/dev/null`), from the repository root."""
    words = shlex.split(command)
    quiet = words[-1] == "2>/dev/null"  # as in a shell: the diagnostics are not shown
    if quiet:
        words.pop()
    if words[0] == "python":
        from ..compiler import compile_source

        path = words[1]
        return compile_source((ROOT / path).read_text(encoding="utf-8"), path).python_source
    if words[0] != "cnnc":
        raise ValueError(f"unknown command in a docs marker: {command}")
    from ..cli.main import main

    out = io.StringIO()  # one stream, so diagnostics and tables keep their order
    previous = os.getcwd(), os.environ.get("NO_COLOR")
    os.environ["NO_COLOR"] = "1"
    try:
        os.chdir(ROOT)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO() if quiet else out):
            main(words[1:])
    finally:
        os.chdir(previous[0])
        if previous[1] is None:
            os.environ.pop("NO_COLOR", None)
        else:
            os.environ["NO_COLOR"] = previous[1]
    return out.getvalue()


def command_blocks(text: str) -> list[tuple[str, str]]:
    """Each marker's command and the block quoted after it."""
    return [(m["command"], m["body"]) for m in MARKER.finditer(text)]


def tutorial_markdown(current: str) -> str:
    def fill(match: re.Match) -> str:
        output = run_command(match["command"])
        return match[1] + output.rstrip("\n") + "\n" + match[5]

    return MARKER.sub(fill, current)


# ---------------------------------------------------------------------------


def image_svg(source: str) -> str:
    from ..compiler import check_program, instantiate
    from .draw import render_svg

    program = check_program((ROOT / source).read_bytes(), source)
    return render_svg(program, at=instantiate(program, *IMAGE_SIZE) if program.symbolic else None)


def generated() -> dict[Path, str]:
    """Every generated file's expected text."""
    files = {DOCS / "diagnostics.md": diagnostics_markdown()}
    for name, make in (("language.md", language_markdown), ("tutorial.md", tutorial_markdown)):
        path = DOCS / name
        if path.exists():
            files[path] = make(path.read_text(encoding="utf-8"))
    for image, source in IMAGES.items():
        files[ROOT / image] = image_svg(source)
    if VSCODE_GRAMMAR.exists():
        files[VSCODE_GRAMMAR] = vscode_grammar(VSCODE_GRAMMAR.read_text(encoding="utf-8"))
    files[LAYER_INDEX] = registry.index_source()
    return files


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    stale = []
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale:
        print(f"{'stale' if check else 'wrote'} {path}", file=sys.stderr)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
