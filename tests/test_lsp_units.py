"""The language server's pieces without a client: positions, analyses, fast paths.

The end-to-end behaviour is in test_lsp.py; these pin down the position
conversion (the one place where code points become UTF-16 units) and that no
text, however malformed, makes a feature raise.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from cnndsl.lsp_features import Analysis
from cnndsl.lsp_positions import UTF8, UTF16, UTF32, LineIndex

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.cnn"))


def P(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


@pytest.mark.parametrize(
    "encoding, emoji_units, accent_units",
    [(UTF16, 2, 1), (UTF8, 4, 2), (UTF32, 1, 1)],
)
def test_positions_count_the_negotiated_units(encoding, emoji_units, accent_units):
    text = "ab😀c\né x\n"
    index = LineIndex(text, encoding)
    c = text.index("c")
    assert index.position(c) == P(0, 2 + emoji_units)
    assert index.offset(P(0, 2 + emoji_units)) == c
    x = text.index("x")
    assert index.position(x) == P(1, accent_units + 1)
    assert index.offset(P(1, accent_units + 1)) == x
    for offset in range(len(text) + 1):  # every offset survives a round trip
        assert index.offset(index.position(offset)) == offset


def test_line_breaks_are_the_protocols():
    # LSP breaks lines at \n, \r\n and a lone \r, and nowhere else (not at U+2028).
    text = "a\r\nb\rc\u2028d\ne"
    index = LineIndex(text)
    assert [index.line_text(i) for i in range(index.line_count)] == ["a", "b", "c\u2028d", "e"]
    assert index.position(text.index("d")) == P(2, 2)
    assert index.position(1) == P(0, 1)  # the \r of \r\n is the end of line 0
    assert index.position(2) == P(0, 1)  # never inside "\r\n"


def test_out_of_range_positions_are_clamped():
    index = LineIndex("ab\ncd")
    assert index.offset(P(0, 99)) == 2
    assert index.offset(P(99, 0)) == 5
    assert index.position(999) == P(1, 2)


def test_diagnostic_columns_become_utf16_units():
    text = "input 8x8x3 # 😀\nconv 4 😀😀 é k3\n"
    analysis = Analysis(text, "u.cnn")
    lsp = analysis.diagnostics("file:///u.cnn")
    for cli, got in zip(analysis.program.diagnostics, lsp):
        line = text.splitlines()[cli.line - 1]
        before = line[: cli.column - 1]
        assert got.range.start.character == len(before.encode("utf-16-le")) // 2


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_feature_answers_on_every_example(path):
    text = path.read_text()
    analysis = Analysis(text, path.name)
    assert analysis.program.ok
    assert not analysis.diagnostics("file:///x")
    hints = analysis.inlay_hints()
    assert hints and all(h.label.startswith("-> ") for h in hints)
    assert analysis.symbols()
    for offset in range(0, len(text), 7):
        analysis.hover(offset)
        analysis.completion(offset)
        analysis.definition(offset, "file:///x")
    assert analysis.formatting() == []  # the examples are canonical


def test_malformed_texts_never_raise():
    rng = random.Random(7)
    alphabet = list("{}();,=#+-.xX0123456789 \n\r\t") + ["conv", "block", "repeat", "residual", "shortcut", "input",
                                                          "😀", "\u2028", "\x00", "\ufeff", "where", ">=", "to"]
    texts = ["", "\ufeff", "{" * 2000, "repeat 1 {\n" * 300 + "relu\n" + "}\n" * 300, "block a(a,a) { a }\na 1\n"]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 200))) for _ in range(150)]
    for text in texts:
        analysis = Analysis(text, "junk.cnn")
        analysis.diagnostics("file:///junk.cnn", "file:///docs/diagnostics.md")
        analysis.inlay_hints()
        analysis.symbols()
        analysis.formatting()
        analysis.code_actions(0, len(text), "file:///junk.cnn")
        for offset in sorted({0, len(text) // 2, len(text)}):
            analysis.hover(offset)
            analysis.completion(offset)
            analysis.definition(offset, "file:///junk.cnn")


def test_the_language_server_modules_do_not_import_torch():
    code = (
        "import sys\n"
        "from cnndsl.lsp import create_server\n"
        "from cnndsl.lsp_features import Analysis\n"
        "create_server()\n"
        "a = Analysis(open(sys.argv[1]).read(), 'resnet34.cnn')\n"
        "a.diagnostics('file:///x'); a.symbols(); a.inlay_hints(); a.formatting(); a.hover(500)\n"
        "heavy = [m for m in ('torch', 'black', 'jinja2') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    example = next(p for p in EXAMPLES if p.name == "resnet34.cnn")
    result = subprocess.run([sys.executable, "-c", code, str(example)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_hover_explains_the_option_under_the_cursor():
    text = "input 32x32x3\nconv 8 k3 s2 p1 nobias relu\n"
    analysis = Analysis(text)
    first_line = lambda word: analysis.hover(text.index(word) + 1).contents.value.splitlines()[0]  # noqa: E731
    assert first_line("k3") == "`k3`: kernel, kernel size, F or FhxFw"
    assert first_line("nobias") == "`nobias`: no bias term"
    assert "nn.ReLU" in first_line("relu")
    assert "16x16x8" in analysis.hover(text.index("s2")).contents.value  # the layer's types follow


def test_code_links_point_at_headings_of_the_diagnostics_page():
    """codeDescription is `<diagnostics.md>#e0030`: every code needs its `## E0030` heading."""
    from cnndsl.codes import CODES

    page = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"
    if not page.is_file():
        pytest.skip("docs/diagnostics.md is not generated in this tree")
    headings = {line[3:].split()[0].lower() for line in page.read_text().splitlines() if line.startswith("## ")}
    assert {code.lower() for code in CODES} <= headings


def test_quick_fix_data_is_outside_the_json_form():
    import cnndsl

    (e0030,) = cnndsl.check_source("input 3x3x3\nconv 20 k5\n")
    assert e0030.fixes and e0030.fixes[0].option == "padding" and e0030.fixes[0].value == "2"
    assert list(e0030.to_dict()) == [
        "file", "line", "column", "end_line", "end_column", "severity", "code", "message", "notes", "help",
    ]


def test_the_server_reports_exactly_what_check_reports():
    """The server runs check_program's pipeline itself (to keep the syntax tree): same diagnostics."""
    import cnndsl

    rng = random.Random(3)
    texts = [p.read_text() for p in EXAMPLES]
    for text in list(texts):
        for _ in range(8):
            at = rng.randrange(len(text))
            texts.append(text[:at] + rng.choice(["", "x", "{", "}", ";", "9", " k", "@", "\n"]) + text[at + rng.randint(0, 9):])
    for text in texts:
        want = [d.to_dict() for d in cnndsl.check_source(text, "same.cnn")]
        got = [d.to_dict() for d in Analysis(text, "same.cnn").program.diagnostics]
        assert got == want, text
