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

from cnndsl.lsp.analysis import Analysis
from cnndsl.lsp.hover import macs_text
from cnndsl.lsp.positions import UTF8, UTF16, UTF32, LineIndex
from cnndsl.compiler import instantiate

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
    # Layer lines get their types; a symbolic input without bounds gets the computed ones.
    assert hints and all(h.label.startswith("-> ") or h.label.endswith(" (computed)") for h in hints)
    assert sum(h.label.endswith(" (computed)") for h in hints) == any(not s.given for s in analysis.program.symbols.values())
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
        "from cnndsl.lsp.server import create_server\n"
        "from cnndsl.lsp.analysis import Analysis\n"
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
    from cnndsl.diagnostics.codes import CODES

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


# -- symbolic input sizes ------------------------------------------------------

SYMBOLIC = """\
network Seg
input HxWx3 where H >= 32
conv 64 k3 s2 p1 relu
pool 2
block head(c) {
  conv c k1
}
head 10
"""


def _hover(analysis: Analysis, text: str, word: str) -> str:
    result = analysis.hover(text.index(word) + 1)
    assert result is not None, word
    return result.contents.value


def test_symbolic_input_hover_names_each_bound_and_where_it_comes_from():
    analysis = Analysis(SYMBOLIC, "seg.cnn")
    w = analysis.program.symbols["W"]
    assert not w.given and w.bound == 3  # (W+1)//4 >= 1
    value = _hover(analysis, SYMBOLIC, "input HxW")
    assert "**input** `HxWx3`" in value
    assert "`H >= 32` (written): the height" in value
    assert "`W >= 3` (computed: the smallest size every layer accepts): the width" in value
    assert "input_shape = (3, None, None)" in value and "`(N, 3, H, W)`" in value
    # The same symbol for both axes, and a fixed height: said as such.
    square = Analysis("input HxHx3\nconv 4 k3\n")
    assert "`H >= 3` (computed: the smallest size every layer accepts): the height and width" in _hover(
        square, square.text, "input")
    mixed = Analysis("input 224xWx3 where W >= 8\nconv 4 k3\n")
    assert "height 224, width W" in _hover(mixed, mixed.text, "input") and "input_shape = (3, 224, None)" in _hover(
        mixed, mixed.text, "input")


def test_symbolic_layer_and_network_hovers_give_mac_expressions_and_their_value_at_the_smallest_size():
    analysis = Analysis(SYMBOLIC, "seg.cnn")
    program = analysis.program
    smallest = instantiate(program, 32, 3)  # the checker's numbers at the smallest admissible size
    conv = program.layers[0]
    value = _hover(analysis, SYMBOLIC, "conv 64")
    assert "`HxWx3` → `(H+1)//2 x (W+1)//2 x 64`" in value and "1,792 params" in value
    assert f"`{conv.macs:,}` MACs ({smallest.layers[0].macs:,} at 32x3, the smallest size)" in value
    assert "1,728*((H+1)//2)*((W+1)//2)" in value  # never an int-formatted count
    call = _hover(analysis, SYMBOLIC, "head 10")
    macs = program.layers[-1].macs
    assert f"`{macs:,}` MACs ({smallest.layers[-1].macs:,} at 32x3" in call
    network = _hover(analysis, SYMBOLIC, "network")
    assert f"({smallest.total_macs:,} at 32x3, the smallest size)" in network
    assert "sizes: H >= 32, W >= 3" in network
    # More than two terms: the total is said to depend on H and W.
    deep = Analysis("network D\ninput HxWx3\nconv 8 k3 s2\nconv 8 k3 s2\nconv 8 k3 s2\n")
    text = _hover(deep, deep.text, "network")
    assert "MACs depend on H and W (" in text
    assert f"{instantiate(deep.program, *deep.program.smallest_size()).total_macs:,} at " in text
    # A count with no terms is zero, never an empty string.
    from cnndsl.types.symbolic import Count

    assert macs_text(analysis, Count({})) == "0 MACs" and macs_text(analysis, 0) == "0 MACs"
    # A fixed-size program keeps its plain numbers.
    assert "4,423,680 MACs" in _hover(Analysis("input 130x130x3\nconv 10 k3\n"), "input 130x130x3\nconv 10 k3\n", "conv")


def test_symbolic_hover_with_e0071_shows_expressions_but_no_numbers():
    text = "network Bad\ninput HxWx3 where H >= 4, W >= 4\nconv 64 k7 relu\n"
    analysis = Analysis(text)
    assert {d.code for d in analysis.program.diagnostics} == {"E0071"}
    assert analysis.smallest is None  # sizes reach 0 at the bound: no numbers
    value = _hover(analysis, text, "conv")
    assert "`9,408*(H-6)*(W-6)` MACs" in value and "smallest size" not in value
    # The program keeps the written bound; the hover adds what the layers need.
    assert analysis.program.symbols["H"].bound == 4
    assert "`H >= 4` (written)" in _hover(analysis, text, "input")
    network = next(s for s in analysis.symbols() if s.name == "Bad")
    assert network.children[0].detail == "H >= 4, W >= 4"


def test_symbolic_inlay_hints_show_symbolic_types_and_computed_bounds():
    analysis = Analysis(SYMBOLIC, "seg.cnn")
    lines = SYMBOLIC.splitlines()
    hints = {lines[h.position.line].strip(): h for h in analysis.inlay_hints()}
    assert hints["conv 64 k3 s2 p1 relu"].label == "-> (H+1)//2 x (W+1)//2 x 64, 1,792 params"
    assert hints["pool 2"].label == "-> (H+1)//4 x (W+1)//4 x 64"
    assert hints["head 10"].label == "-> (H+1)//4 x (W+1)//4 x 10, 650 params"
    assert hints["conv c k1"].label == "-> (H+1)//4 x (W+1)//4 x 10, 650 params"
    bound = hints["input HxWx3 where H >= 32"]
    assert bound.label == "W >= 3 (computed)"  # H's bound is written
    assert bound.position == analysis.index.position(SYMBOLIC.index(" where H") + len(" where H >= 32"))
    # Every bound written: no bound hint; a range that leaves the input line out: none either.
    written = SYMBOLIC.replace("where H >= 32", "where H >= 32, W >= 32")
    assert all(h.label.startswith("-> ") for h in Analysis(written).inlay_hints())
    assert all(h.label.startswith("-> ") for h in analysis.inlay_hints(SYMBOLIC.index("conv"), len(SYMBOLIC)))


def test_symbolic_completion_offers_where_and_the_missing_bounds():
    def labels(text: str, at: str) -> list[tuple[str, str | None]]:
        analysis = Analysis(text)
        return [(i.label, i.insert_text) for i in analysis.completion(text.index(at) + len(at)).items]

    assert labels("input HxWx3 \nconv 8 k3\n", "HxWx3 ") == [("where", "where H >= 3, W >= 3")]
    assert labels("input HxHx3 \nconv 8 k3\n", "HxHx3 ") == [("where", "where H >= 3")]
    assert labels("input 32x32x3 \nconv 8 k3\n", "32x3 ") == []  # nothing to bound
    # While the clause is being written (a syntax error): the bounds still missing, typical values.
    assert [label for label, _ in labels("input HxWx3 where H >= 8, \n", "8, ")] == ["W >= 32"]
    assert [label for label, _ in labels("input HxWx3 where \n", "where ")] == ["H >= 32", "W >= 32"]
    sizes = [i.label for i in Analysis("input \n").completion(len("input ")).items]
    assert "HxWx3" in sizes and "224x224x3" in sizes


def test_symbolic_document_symbols_carry_types_and_bounds():
    analysis = Analysis(SYMBOLIC, "seg.cnn")
    network = next(s for s in analysis.symbols() if s.name == "Seg")
    assert network.detail == "HxWx3 -> (H+1)//4 x (W+1)//4 x 10, 2,442 params"
    children = {c.name: c.detail for c in network.children}
    assert children["input HxWx3 where H >= 32"] == "H >= 32, W >= 3"
    assert children["pool 2"] == "-> (H+1)//4 x (W+1)//4 x 64"


def test_symbolic_texts_never_make_a_feature_raise():
    rng = random.Random(8)
    base = [SYMBOLIC, "input HxWx3\nconv 4 k3 s2\nresidual { conv 4 k3 p1 }\npool 2 ceil\navgpool to 1\nflatten\nlinear 2\n",
            "input 224xWx3 where W >= 9\nconv 4 k3\nflatten\n", "input HxWx3 where H >= 4, W >= 4\nconv 4 k7\n"]
    junk = ["where", "H", "W", ">=", ",", "0", "-1", "x", "HxHx3", "hxwx3", "Hx", "99999999999", "{", "}", "\n", " "]
    texts = list(base)
    for _ in range(120):
        text = rng.choice(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(junk) + text[at + rng.randint(0, 3):]
        texts.append(text)
    for text in texts:
        analysis = Analysis(text, "sym.cnn")
        analysis.diagnostics("file:///sym.cnn")
        analysis.inlay_hints()
        analysis.symbols()
        for offset in range(0, len(text) + 1, 3):
            analysis.hover(offset)
            analysis.completion(offset)
