"""No input breaks the compiler: property tests over generated and mutated programs.

For every input (mutations of valid programs, random bytes and text, invalid
UTF-8, very long lines, deeply nested braces):

- `check_program` raises nothing, and every renderer accepts its diagnostics;
- every diagnostic (and every related location) lies inside the file:
  1 <= line <= line count, 1 <= column <= length of that line + 1, and the
  end is not before the start;
- `cnnc check` exits 0 without errors, 1 with errors, and 2 only for a file
  it cannot read.

The default ("ci") Hypothesis profile keeps this module near 30 seconds on
two cores. A long local campaign:

    HYPOTHESIS_PROFILE=campaign python -m pytest tests/test_fuzz.py -p no:randomly

runs every property 30 times longer (CNNDSL_FUZZ_FACTOR=N to change that);
the run ends with a line `fuzz: N generated inputs checked`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

import pytest
from conftest import FUZZ_COUNTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.cli import main as cli
from cnndsl.diagnostics.render import render_all, render_github, render_json
from cnndsl.compiler import instantiate

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted(
    path.read_text(encoding="utf-8")
    for path in [*ROOT.glob("examples/**/*.cnn"), *(ROOT / "tests" / "golden" / "diagnostics").glob("*.cnn")]
    if path.name != "E0002.cnn"
)
CAMPAIGN = os.environ.get("HYPOTHESIS_PROFILE") == "campaign"
# A campaign runs each property this many times longer (CNNDSL_FUZZ_FACTOR).
FACTOR = int(os.environ.get("CNNDSL_FUZZ_FACTOR", "30")) if CAMPAIGN else 1


def budget(ci: int) -> int:
    """Examples for one property: `ci` in CI, FACTOR times more in a campaign."""
    return ci * FACTOR


# -- the properties -----------------------------------------------------------


def check_sound(data: str | bytes, kind: str):
    """Check one input and assert everything the module docstring promises."""
    FUZZ_COUNTS[kind] += 1
    program = cnndsl.check_program(data, "fuzz.cnn")
    source = program.source
    assert_positions(program.diagnostics, source)
    # Every renderer accepts every diagnostic.
    text = render_all(program.diagnostics, {"fuzz.cnn": source}, colour=False)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", text), "a control character reached the terminal text"
    render_json(program.diagnostics)
    for line in render_github(program.diagnostics).splitlines():
        assert line.startswith(("::error ", "::warning ", "::notice "))
    if program.ok:
        assert program.output is not None and all(layer.output is not None for layer in program.layers)
    return program


def assert_positions(diagnostics, source) -> None:
    count = source.line_count

    def inside(line, column, end_line, end_column, what):
        assert 1 <= line <= count, f"{what}: line {line} of {count}"
        assert 1 <= end_line <= count, f"{what}: end line {end_line} of {count}"
        assert 1 <= column <= len(source.line_text(line)) + 1, f"{what}: column {column} on line {line}"
        assert 1 <= end_column <= len(source.line_text(end_line)) + 1, f"{what}: end column {end_column}"
        assert (end_line, end_column) >= (line, column), f"{what}: the end is before the start"

    for d in diagnostics:
        inside(d.line, d.column, d.end_line, d.end_column, f"{d.code} {d.message!r}")
        for related in d.related:
            inside(related.line, related.column, related.end_line, related.end_column, f"{d.code} related")


def run_check(*paths: str) -> tuple[int, str, str]:
    """`cnnc check PATHS` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["check", *paths])
    return code, out.getvalue(), err.getvalue()


# -- strategies ---------------------------------------------------------------

TOKEN = re.compile(r"\s+|[A-Za-z0-9_.+-]+|.", re.S)
NUMBERS = st.one_of(
    st.sampled_from(["0", "-1", "1", "2", "3", "-0", "+5", "0.0", "1.0", "0.5", "-0.5", "2147483647", "2147483648",
                     "1" + "0" * 30, "9" * 13, "0x0", "3x", "x3", "3x5", "0x0x0", "99999x99999x99999", ".", "1.2.3"]),
    st.integers(-(10**6), 10**6).map(str),
    st.integers(0, 10**40).map(str),
)
WORDS = st.sampled_from(
    ["conv", "pool", "maxpool", "avgpool", "bn", "batchnorm", "dropout", "flatten", "linear", "fc", "relu", "leakyrelu",
     "softmax", "sigmoid", "input", "network", "block", "repeat", "residual", "shortcut", "where", "to", "same", "ceil",
     "nobias", "k3", "s2", "p1", "d2", "g4", "kernel=3", "stride=", "=", "{", "}", "(", ")", ",", ";", "\n", "\r\n", ">=",
     "#", "# }", "H", "HxWx3", "c", "n", "__init__", "class", "nn", "é", "ｃｏｎｖ", "\u2028", "\x00", "\x1b[2J", "\t", '"""']
)


@st.composite
def mutated(draw) -> str:
    """A seed program with a few tokens deleted, duplicated, swapped, replaced or inserted."""
    tokens = TOKEN.findall(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not tokens:
            tokens = [""]
        i = draw(st.integers(0, len(tokens) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "number", "word", "insert"]))
        if op == "delete":
            del tokens[i]
        elif op == "duplicate":
            tokens.insert(i, tokens[i])
        elif op == "swap":
            j = draw(st.integers(0, len(tokens) - 1))
            tokens[i], tokens[j] = tokens[j], tokens[i]
        elif op == "number":
            tokens[i] = draw(NUMBERS)
        elif op == "word":
            tokens[i] = draw(WORDS)
        else:
            tokens.insert(i, draw(st.one_of(NUMBERS, WORDS)) + draw(st.sampled_from(["", " ", "\n"])))
    return "".join(tokens)


@given(mutated())
@settings(max_examples=budget(700), suppress_health_check=[HealthCheck.too_slow])
def test_mutated_programs(text):
    check_sound(text, "mutated")


@given(st.binary(max_size=3000))
@settings(max_examples=budget(150))
def test_random_bytes(data):
    program = check_sound(data, "bytes")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        assert [(d.code, d.line, d.column) for d in program.diagnostics] == [("E0002", 1, 1)]


@given(st.text(max_size=2000))
@settings(max_examples=budget(150))
def test_random_text(text):
    check_sound(text, "text")


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


@given(st.sampled_from(SEEDS), st.integers(0, 10**6), st.binary(min_size=1, max_size=4).filter(_not_utf8))
@settings(max_examples=budget(60))
def test_invalid_utf8_is_one_diagnostic_at_1_1(seed, where, junk):
    data = seed.encode("utf-8")
    cut = where % (len(data) + 1)
    data = data[:cut] + junk + data[cut:]
    program = check_sound(data, "invalid-utf8")
    assert [(d.code, d.line, d.column, d.severity) for d in program.diagnostics] == [("E0002", 1, 1, "error")]


@given(st.sampled_from(["relu ", "conv 3 k3 p1 ", "x", "# comment ", "{", "}", "1x", ", ", "é"]), st.integers(1, 20_000),
       st.booleans())
@settings(max_examples=budget(25))
def test_very_long_lines(piece, times, in_a_layer):
    head = "input 8x8x3\nconv 3 k3 p1 " if in_a_layer else "input 8x8x3\n"
    check_sound(head + piece * times + "\nrelu\n", "long-line")


def test_a_two_megabyte_statement_is_one_diagnostic_without_being_read():
    # One line of 700,000 repeated options (2 MB): E0063 at its first word,
    # found before Lark tokenizes it (it took 15 s and 470 MB when it was
    # read; benchmarks/huge_inputs.py times it).
    text = "input 32x32x3\nconv 10 " + "k3 " * 700_000 + "\nrelu\n"
    assert len(text) > 2_000_000
    program = check_sound(text, "huge")
    assert [(d.code, d.line, d.column) for d in program.diagnostics] == [("E0063", 2, 1)]
    assert "700,002 words" in program.diagnostics[0].message


@pytest.mark.parametrize(
    "line, code",
    [("conv {}", "E0061"), ("conv {}x k3", "E0013"), ("conv 8 k{}", "E0061"), ("bn eps={}e", "E0013"),
     ("dropout {}.5e", "E0013"), ("pool {}.", "E0013"), ("conv 8 k3 s2x{}", "E0061")],
)
def test_a_number_of_two_million_digits_is_one_diagnostic_without_a_long_wait(line, code):
    # A run of digits followed by something that is not an exponent made the
    # scientific-number pattern backtrack quadratically (`[0-9]+\.?[0-9]*`: a
    # 2,000,000-digit number ran for hours); the pattern now has one way to
    # match digits, and the lexer, the word counter and the value reader scan
    # such a number once.
    import time

    text = "input 32x32x3\nconv 8 k3\n" + line.format("9" * 2_000_000) + "\nflatten\nlinear 10\n"
    start = time.perf_counter()
    program = check_sound(text, "huge")
    assert time.perf_counter() - start < 10.0  # generous for a busy machine: quadratic took hours
    assert [d.code for d in program.diagnostics if d.is_error] == [code], program.diagnostics


@pytest.mark.parametrize(
    "filler, inside_a_block",
    [("\n", False), (";", False), (";", True), ("#\n", False), ("  # a comment ;\r\n", False), ("\n\t\n;", True)],
)
def test_two_megabytes_of_blank_lines_are_read_as_one_separator(filler, inside_a_block):
    # A run of separators, blanks and comments is one `_SEP` to the grammar;
    # lexed one by one, two million blank lines took 12 s.
    from cnndsl.syntax.recovery import read_tokens
    from cnndsl.diagnostics.model import Reporter
    from cnndsl.syntax.source import SourceText

    head = "input 8x8x3\nblock b(c) {\n  conv c k3" if inside_a_block else "input 8x8x3\nconv 4 k3"
    tail = "\n  relu\n}\nb 4\nflatten\nlinear 2\n" if inside_a_block else "\nrelu\nflatten\nlinear 2\n"
    text = head + filler * (2_000_000 // len(filler)) + tail
    read = read_tokens(text, Reporter(SourceText(text, "x.cnn")))
    comments = filler.count("#") * (2_000_000 // len(filler))
    assert len(read) < 40 + comments // 1000  # one token a run, and a run has at most 1,000 comments
    program = check_sound(text, "huge")
    assert program.ok and program.diagnostics == [] and program.output.features == 2
    small = check_sound(head + filler * 3 + tail, "huge")  # a short run, lexed as it is: the same program
    assert [layer.kind.name for layer in small.layers] == [layer.kind.name for layer in program.layers]


@pytest.mark.parametrize("junk", ["}", "{}", "{;}", "k3 " * 999 + "\n"])
def test_two_megabytes_of_signs_or_braces_stop_at_the_file_word_limit(junk):
    # Braces, and statements within the word cap, fill a file with tokens that no
    # statement limit counts; past 100,000 words and signs reading stops (E0064).
    from cnndsl.syntax.recovery import MAX_FILE_WORDS

    text = "input 8x8x3\nconv 4 " + junk * (2_000_000 // len(junk)) + "\nrelu\n"
    program = check_sound(text, "huge")
    limit = [d for d in program.diagnostics if d.code == "E0064"]
    assert len(limit) == 1 and f"more than {MAX_FILE_WORDS:,} words and signs" in limit[0].message
    assert len(program.diagnostics) <= 500


PIECE_PARTS = st.sampled_from(
    list("0123456789.eE+-xk=,;{}#()%_ \t\n") + ["conv", "repeat", "block", "input", "where", ">=", "H", "residual", "1e", "x9", "\r\n"]
)
REPEAT_PREFIXES = st.sampled_from(
    ["", "input 32x32x3\n", "input 32x32x3\nconv ", "input HxWx3 where H >= ", "input 32x32x3\nbn eps=", "block b(c) {\n"]
)


@given(REPEAT_PREFIXES, st.lists(PIECE_PARTS, min_size=1, max_size=6).map("".join))
@settings(max_examples=budget(12), deadline=None)
def test_a_short_piece_repeated_to_200_kilobytes_is_answered_without_a_long_wait(prefix, piece):
    # How the quadratic number pattern, blank runs and stray braces were found
    # (seconds to hours each): junk that one rule could make slow per token.
    import time

    text = prefix + piece * (200_000 // len(piece))
    start = time.perf_counter()
    check_sound(text, "repeated")
    assert time.perf_counter() - start < 10.0, (prefix, piece)  # all are under 1 s on a quiet machine


def test_unknown_names_past_the_diagnostic_cap_are_counted_not_worded(monkeypatch):
    # 19,000 statements of unknown names (a file of junk): each of the first
    # MAX_DIAGNOSTICS gets a did-you-mean search (about 0.3 ms each); the rest
    # are only counted (the search ran for every one: 3.4 s for 20,000).
    from cnndsl.check import checker

    searches = []
    real = checker.closest
    monkeypatch.setattr(checker, "closest", lambda word, pool: searches.append(word) or real(word, pool))
    text = "input 32x32x3\n" + "".join(f"kx{i}\n" for i in range(19_000))
    program = check_sound(text, "huge")
    assert len(program.diagnostics) == checker.MAX_DIAGNOSTICS and len(searches) == checker.MAX_DIAGNOSTICS
    assert program.diagnostics[-1].notes[-1] == f"{19_000 - checker.MAX_DIAGNOSTICS:,} more diagnostics are not shown"


@pytest.mark.parametrize("word", ["1,", "(", "k=3", "@ "])
def test_two_megabytes_of_signs_in_one_statement_are_one_diagnostic(word):
    # Words are counted as the lexer cuts them: `1,1,1` is five, with no blank.
    text = "input 32x32x3\nblock b(c) { relu }\nconv " + word * (2_000_000 // len(word)) + "\nb 3\n"
    program = check_sound(text, "huge")
    assert [(d.code, d.line, d.column, d.end_column) for d in program.diagnostics] == [("E0063", 3, 1, 5)]


def test_two_megabytes_of_long_statements_are_one_diagnostic_each():
    # Many statements, each over the limit: each is reported, none is read.
    line = "relu " + "k3 " * 1_100 + "\n"
    text = "input 32x32x3\n" + line * (2_000_000 // len(line) + 1)
    assert len(text) > 2_000_000
    program = check_sound(text, "huge")
    assert program.diagnostics and {d.code for d in program.diagnostics} == {"E0063"}
    assert [d.line for d in program.diagnostics[:3]] == [2, 3, 4]


def test_two_megabytes_of_many_statements_stop_at_the_file_limit():
    # 200,000 ordinary layers (2 MB): reading stops at the 20,001st statement
    # (E0064; benchmarks/huge_inputs.py times it), nothing after it is typed.
    text = "input 32x32x3\n" + "conv 10 k3 p1\nrelu\n" * 100_000
    assert len(text) > 1_900_000
    program = check_sound(text, "huge")
    assert [(d.code, d.line, d.column, d.end_column) for d in program.diagnostics] == [("E0064", 20_001, 1, 5)]
    assert len(program.layers) == 19_999  # the statements before it (the input line is one)


def test_a_legal_program_at_the_file_limit_is_checked_in_full():
    text = "input 32x32x3\n" + "conv 10 k3 p1\nrelu\n" * 9_999 + "bn\n"
    program = check_sound(text, "limit")
    # The 16th convolution's field (33 pixels) is wider than the 32x32 input: a note, not a problem.
    assert [(d.code, d.line) for d in program.diagnostics] == [("N0001", 32)] and len(program.layers) == 19_999


def test_a_header_at_the_file_limit_is_skipped_with_its_body():
    # The limit is passed inside a block definition: reading stops before the
    # block, which is not defined; its calls after it are not typed either.
    text = "input 32x32x3\n" + "conv 3 k3 p1\n" * 19_990 + "block b(c) {\n" + "conv c k3 p1\n" * 20 + "}\nb 8\n"
    program = check_sound(text, "limit")
    assert [(d.code, d.line) for d in program.diagnostics] == [("E0064", 2 + 19_990 + 9)]
    assert len(program.layers) == 19_990


@pytest.mark.parametrize("opener", ["repeat 1 {", "residual {", "block b(c) {"])
def test_two_megabytes_of_open_braces_stop_at_the_reading_depth(opener):
    text = "input 32x32x3\nrelu\n" + (opener + "\n") * (2_000_000 // (len(opener) + 1)) + "relu\n"
    program = check_sound(text, "deep")
    assert program.diagnostics[0].code == "E0062" and program.diagnostics[0].line == 3 + 1_000
    assert len(program.layers) == 1  # the relu before the deep statement


OPENERS = ["repeat 1 {", "residual {", "block b(c) {", "repeat 2 {\n", "{", "shortcut {", "(", "residual { relu } shortcut {"]


@given(st.sampled_from(OPENERS), st.integers(0, 400), st.booleans(), st.booleans())
@settings(max_examples=budget(40))
def test_nested_braces(opener, depth, closed, body):
    inner = "relu\n" if body else ""
    closing = ("}" * depth) if closed else ""
    check_sound("input 8x8x3\n" + opener * depth + inner + closing + "\n", "nested")


@pytest.mark.parametrize("opener", ["repeat 1 {\n", "residual {", "block b(c) { repeat c {"])
@pytest.mark.parametrize("closed", [True, False])
def test_ten_thousand_nested_braces(opener, closed):
    text = "input 8x8x3\n" + opener * 10_000 + "relu\n" + ("}\n" * 10_001 if closed else "")
    program = check_sound(text, "deeply-nested")
    assert not program.ok and len(program.diagnostics) <= 3


# -- huge numbers in every position -------------------------------------------

BIG = st.one_of(
    st.integers(1, 9),
    st.integers(1, 2**31 - 1),
    st.sampled_from([2**31 - 1, 2**31 - 2, 2**30, 10**9 + 7, 500_000_000, 65_536, 46_341]),
)


@st.composite
def huge_programs(draw) -> str:
    """Legal-looking programs whose numbers reach the 2**31 limit (and cross it)."""
    height, width = draw(BIG), draw(BIG)
    channels = max(1, min(draw(BIG), (2**31 - 1) // (height * width) + draw(st.integers(0, 1))))
    lines = [f"input {height}x{width}x{channels}"]
    for _ in range(draw(st.integers(1, 4))):
        template = draw(st.sampled_from([
            "conv {} k{}x{} s{}x{} p{} d{} g{}", "conv {} k{} s{}", "pool {} s{}", "avgpool {} p{} ceil",
            "conv {} k1 g{}", "maxpool to {}x{}", "repeat {} {{ relu }}", "flatten", "linear {}", "dropout 0.{}",
        ]))
        lines.append(template.format(*(draw(BIG) for _ in range(template.count("{}")))))
    return "\n".join(lines) + "\n"


@given(huge_programs())
@settings(max_examples=budget(150))
def test_huge_numbers_are_checked_quickly(text):
    import time

    start = time.perf_counter()
    check_sound(text, "huge-numbers")
    assert time.perf_counter() - start < 5.0, text  # generous: a slow, busy machine


# -- broken symbolic inputs (`input HxWx3 where H >= 32`) ---------------------

SIZE_PARTS = st.sampled_from(
    ["H", "W", "H", "W", "h", "w", "C", "3", "0", "224", "IMG_H", "X", "_H", "H1", "HH", "", "é", "Ｈ", "1" + "0" * 40, "-1", "3.5"]
)
BOUND_WORDS = st.one_of(
    NUMBERS,
    st.sampled_from(["H", "W", "C", "Q", "h", ">=", ">", "=", "<=", ">==", ",", ",,", "where", "x", "H>=", ">=3", "0", "-0",
                     "99999999999", "2147483647", "2147483648", "10**40", "1e3", "(", ")", "#", ";", "{", "}"]),
)
SYMBOLIC_LAYERS = st.sampled_from(
    ["conv 8 k3 s2 p1", "conv 8 k3", "pool 2", "pool 3 s2 p1 ceil", "avgpool 2", "avgpool to 1", "pool to 7", "flatten",
     "linear 10", "conv H k3", "conv 8 kH", "pool H", "linear W", "dropout H", "repeat H { relu }", "conv 8 k3 d2000000000",
     "residual { conv 8 k3 s2 p1 } shortcut { pool 2 }", "residual { conv 8 k3 } ", "residual { conv 8 k3 s2 p1 } shortcut { conv 8 k1 s2 }",
     "repeat 40 { conv 8 k3 s2 p1 }", "repeat 40 { pool 2 ceil }", "repeat 20 { pool 1 s2 ceil }", "block b(c) { conv c k3 s2 }",
     "b 8", "b H", "input HxWx3", "conv 8 k3 same s2", "maxpool to HxW", "relu"]
)


@st.composite
def broken_symbolic(draw) -> str:
    """`input` lines with symbols in odd places and garbage or huge `where` bounds, then symbolic-minded layers."""
    parts = draw(st.lists(SIZE_PARTS, min_size=1, max_size=4))
    line = "input " + "x".join(parts)
    if draw(st.integers(0, 3)):
        line += " where " + " ".join(draw(st.lists(BOUND_WORDS, max_size=8)))
    layers = draw(st.lists(SYMBOLIC_LAYERS, max_size=5))
    return "\n".join([line, *layers]) + "\n"


@st.composite
def symbolic_bounds(draw) -> str:
    """Well-formed symbolic inputs with extreme bounds (0, 1, 2**31 - 1, 10**40) and deep strided chains."""
    bound = draw(st.sampled_from(["0", "1", "3", "32", "2147483647", "2147483648", "99999999999", "1" + "0" * 40]))
    other = draw(st.sampled_from(["", ", W >= 1", ", W >= 2147483647", ", H >= 2", ", C >= 3"]))
    layers = draw(st.lists(SYMBOLIC_LAYERS, max_size=4))
    return "\n".join([f"input HxWx3 where H >= {bound}{other}", *layers]) + "\n"


def check_symbolic(text: str, kind: str) -> None:
    """Sound diagnostics, quickly; a clean program instantiates at its smallest size without raising."""
    import time

    start = time.perf_counter()
    program = check_sound(text, kind)
    if program.ok and program.symbolic:
        height, width = program.smallest_size()
        instance = instantiate(program, height, width)
        assert_positions(instance.diagnostics, instance.source)
        render_all(instance.diagnostics, {"fuzz.cnn": instance.source}, colour=False)
    assert time.perf_counter() - start < 5.0, text  # generous: a hang is what this catches


@given(broken_symbolic())
@settings(max_examples=budget(150))
def test_broken_symbolic_inputs_are_diagnostics(text):
    check_symbolic(text, "symbolic")


@given(symbolic_bounds())
@settings(max_examples=budget(80))
def test_extreme_symbolic_bounds_are_diagnostics(text):
    check_symbolic(text, "symbolic-bounds")


@given(st.one_of(broken_symbolic(), symbolic_bounds()), st.sampled_from([[], ["--size", "32x32"], ["--size", "1x1", "2147483647"]]))
@settings(max_examples=budget(40), suppress_health_check=[HealthCheck.too_slow])
def test_cnnc_check_and_summary_on_broken_symbolic_inputs(text, size):
    FUZZ_COUNTS["symbolic-cli"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.cnn"
        path.write_text(text, encoding="utf-8")
        code, _, err = run_check(str(path))
        assert code == (0 if cnndsl.check_program(text, str(path)).ok else 1) and "Traceback" not in err
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["summary", str(path), *size])
        assert code in (0, 1, 2) and "Traceback" not in err.getvalue()
        if code == 2:  # a usage error is one line
            assert err.getvalue().count("cnnc: error:") == 1


# -- the command's exit codes -------------------------------------------------


@given(st.one_of(mutated(), st.binary(max_size=300)))
@settings(max_examples=budget(80), suppress_health_check=[HealthCheck.too_slow])
def test_cnnc_check_exit_codes(data):
    FUZZ_COUNTS["cnnc-check"] += 1
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.cnn"
        path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
        expected = 1 if not cnndsl.check_program(path.read_bytes(), str(path)).ok else 0
        code, _, err = run_check(str(path))
        assert code == expected
        assert "Traceback" not in err
        # An unreadable file next to it makes the run exit 2, and is named.
        code, _, err = run_check(str(path), str(Path(folder) / "missing.cnn"))
        assert code == 2 and "cnnc: error: cannot read" in err and "missing.cnn" in err


def test_unreadable_files_exit_2_with_one_line(tmp_path):
    for path, reason in [(tmp_path, "it is a directory"), (tmp_path / "nope.cnn", "No such file or directory")]:
        code, out, err = run_check(str(path))
        assert code == 2 and out == ""
        assert err == f"cnnc: error: cannot read '{path}': {reason}\n"


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_an_endless_file_is_refused_not_read_forever():
    code, out, err = run_check("/dev/zero")
    assert code == 2 and err == "cnnc: error: cannot read '/dev/zero': it is larger than 16 MB\n"


def test_a_file_with_only_warnings_exits_0(tmp_path):
    path = tmp_path / "w.cnn"
    path.write_text("input 8x8x3\ndropout 0\n")
    code, _, err = run_check(str(path))
    assert code == 0 and "warning[W0002]" in err


# -- regressions found by fuzzing (each was a crash, a hang or a bad position) --


def test_regression_crlf_line_end_position():
    # A syntax error at a '\r\n' pointed past the end of the line.
    (d,) = cnndsl.check_source("input 8x8x3\r\nrepeat\r\n { relu }\r\n")
    assert (d.line, d.column) == (2, 7) and d.code == "E0001"


def test_regression_statement_after_closing_brace_does_not_loop():
    # `} pool 2` inserted a placeholder that failed again: 100 identical errors.
    diagnostics = cnndsl.check_source("input 8x8x3\nblock v(c) { repeat 2 { conv c k3 p1 } pool 2 }\nv 4\n")
    assert [d.code for d in diagnostics] == ["E0001"]


def test_regression_huge_decimal_is_too_large_not_infinite():
    # float('9' * 400) is inf: it reached the generated code as `nn.LeakyReLU(inf)`.
    (d,) = cnndsl.check_source("input 8x8x3\nleakyrelu " + "9" * 400 + "\n")
    assert d.code == "E0061" and len(d.message) < 120


def test_regression_repeat_after_an_error_stops_early():
    # With an unknown type, each of the 34096 passes re-read the body (1.7 s).
    import time

    start = time.perf_counter()
    diagnostics = cnndsl.check_source("input 8x8\nrepeat 34096 { conv 512 k3 p1 relu }\n")
    assert time.perf_counter() - start < 1.0
    assert [d.code for d in diagnostics] == ["E0013"]


def test_regression_sign_glued_to_an_option():
    # `p-1` lexes as `p` and `-1`: it gave two unrelated errors.
    (d,) = cnndsl.check_source("input 8x8x3\nconv 3 k3 p-1\n")
    assert d.code == "E0035" and d.message == "the padding must be at least 0, but is -1"


def test_regression_diagnostics_are_capped():
    # 1,996 mistakes (each statement's first relu is its activation), in four
    # statements: one statement of more than 1,000 words is E0063, not read.
    program = cnndsl.check_program("input 8x8x3\n" + ("conv 3 k3 p1 " + "relu " * 500 + "\n") * 4)
    assert len(program.diagnostics) == 500
    assert program.diagnostics[-1].notes[-1] == "1,496 more diagnostics are not shown"


def test_repeat_replication_equals_unrolling():
    """The repeat fast path (copying a pass that keeps the type) changes nothing."""
    body = "relu; conv 8 k3 p1; bn; relu; residual { conv 8 k3 p1; relu } shortcut { conv 8 k1 }"
    rolled = cnndsl.check_program(f"input 8x8x3\nconv 8 k1\nrepeat 6 {{ {body} }}\nrelu\n")
    unrolled = cnndsl.check_program("input 8x8x3\nconv 8 k1\n" + f"{body}\n" * 6 + "relu\n")

    def facts(program):
        return [(layer.kind.name, layer.config, layer.input, layer.output, layer.params, layer.inplace) for layer in program.layers]

    assert facts(rolled) == facts(unrolled)
    assert len(rolled.layers) == 2 + 6 * 7
    assert {d.code for d in rolled.diagnostics} == {d.code for d in unrolled.diagnostics}


@pytest.mark.parametrize("count", ["2", "1000000"])
def test_regression_nested_empty_repeats_are_not_iterated(count):
    # `repeat 2 {` nested 30 deep around nothing ran 2**30 empty passes (a hang).
    import time

    for body in ("", "relu\n"):
        start = time.perf_counter()
        check_sound("input 8x8x3\n" + f"repeat {count} {{\n" * 30 + body + "}\n" * 30, "regression")
        assert time.perf_counter() - start < 2.0


def test_regression_group_help_with_huge_channels():
    # The nearest valid group count was searched up to the gcd: 2**31 steps (a hang).
    (d,) = cnndsl.check_source("input 1x1x2147483646\nconv 2147483646 k1 g5\n")
    assert d.code == "E0033" and d.help.startswith("use g6,")


def test_regression_padding_help_with_a_huge_stride():
    # W0001's padding search ran up to the stride (5e8 steps).
    (d,) = cnndsl.check_source("input 1x1000000007x1\nconv 1 k1x500000000 s1x500000000\n")
    assert d.code == "W0001" and "1x1000000000" in d.help


def test_regression_unflatten_with_a_whole_number_is_a_diagnostic():
    # Found by test_mutated_programs: `unflatten 1` unpacked an int as HxWxC (internal error).
    program = check_sound("network G\ninput 100\nlinear 1000\nunflatten 1\n", "regression")
    assert [(d.code, d.line, d.message) for d in program.diagnostics] == [
        ("E0013", 4, "the map size must be a size HxWxC, found '1'")
    ]
