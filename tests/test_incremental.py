"""The language server's parse cache gives exactly what a full parse gives.

`cnndsl.syntax.incremental.ParseCache` re-parses only the top-level statements whose
text changed and reuses the others with shifted spans. Over random edit
sequences of the example programs and of random broken text, after every
edit, the cached parse must equal a full parse: the same syntax tree (every
span) and the same diagnostics (every field, notes, related locations and
fixes included), and `check_program` with the cache the same typed program.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.diagnostics.model import Reporter
from cnndsl.syntax.nodes import Command, Repeat
from cnndsl.syntax.source import SourceText
from cnndsl.syntax.incremental import ParseCache, split_statements
from cnndsl.syntax.parser import parse
from cnndsl.syntax.recovery import MAX_SYNTAX_ERRORS
from cnndsl.compiler import instantiate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(path.read_text(encoding="utf-8") for path in ROOT.glob("examples/*.cnn"))

# Pieces an edit inserts: code, structure, separators, comments and junk.
PIECES = st.sampled_from(
    [
        "conv 16 k3 p1", "relu", "bn", "pool 2", "flatten", "linear 10", "x", "16", "k5", "p2", "s2",
        "repeat 2 {", "residual {", "shortcut {", "block b(c) {", "b 8", "{", "}", "(", ")", ",", "=",
        ";", "\n", "\n", "\r\n", " ", "\t", "# note", "#", "where H >= 32", ">=", "@", "-", "+", "é",
        "\u2028", "kernel=3", "input 32x32x3", "network N", "1e-6", "2.5E+3", "e-", "bn eps=1e-3",
    ]
)


@st.composite
def edit(draw):
    """(where, how many characters to delete, what to insert); where is a fraction of the length."""
    where = draw(st.floats(0, 1))
    delete = draw(st.sampled_from([0, 0, 1, 2, 5, 20]))
    insert = "".join(draw(st.lists(PIECES, max_size=3)))
    return where, delete, insert


def apply(text: str, change) -> str:
    where, delete, insert = change
    at = int(where * len(text))
    return text[:at] + insert + text[at + delete :]


def full_parse(text: str):
    reporter = Reporter(SourceText(text, "doc.cnn"))
    return parse(reporter), reporter.diagnostics


def cached_parse(cache: ParseCache, text: str):
    reporter = Reporter(SourceText(text, "doc.cnn"))
    return cache.parse(reporter), reporter.diagnostics


def everything(diagnostics) -> list:
    """Every field of each diagnostic (equality alone skips span, label, related and fixes)."""
    return [(d, d.span, d.label, d.related, d.fixes) for d in diagnostics]


def assert_same(cache: ParseCache, text: str) -> None:
    module, diagnostics = full_parse(text)
    cached_module, cached_diagnostics = cached_parse(cache, text)
    assert cached_module == module
    assert everything(cached_diagnostics) == everything(diagnostics)


@given(st.sampled_from(EXAMPLES), st.lists(edit(), min_size=1, max_size=8))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_edits_of_the_examples(text, edits):
    cache = ParseCache()
    assert_same(cache, text)
    for change in edits:
        text = apply(text, change)
        assert_same(cache, text)


@given(st.lists(PIECES, max_size=60).map(" ".join), st.lists(edit(), min_size=1, max_size=6))
@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
def test_edits_of_random_broken_text(text, edits):
    cache = ParseCache()
    assert_same(cache, text)
    for change in edits:
        text = apply(text, change)
        assert_same(cache, text)


@given(st.sampled_from(EXAMPLES), st.lists(edit(), min_size=1, max_size=4))
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
def test_check_program_with_the_cache(text, edits):
    """The whole pipeline: the same typed program and diagnostics with and without the cache."""
    cache = ParseCache()
    for change in [(0.0, 0, "")] + edits:
        text = apply(text, change)
        cached = cnndsl.check_program(text, "doc.cnn", parse_cache=cache)
        plain = cnndsl.check_program(text, "doc.cnn")
        assert everything(cached.diagnostics) == everything(plain.diagnostics)
        assert cached.syntax == plain.syntax
        assert [(layer.span, layer.output, layer.arithmetic, layer.line) for layer in cached.layers] == [
            (layer.span, layer.output, layer.arithmetic, layer.line) for layer in plain.layers
        ]


# -- what the cache does ----------------------------------------------------------


def test_one_line_edit_reparses_one_statement():
    text = "network Long\ninput 32x32x3\n" + "conv 8 k3 p1 relu  # a layer\n\nbn\n" * 30
    cache = ParseCache()
    cache.parse(Reporter(SourceText(text)))
    assert cache.reused == 0
    lines = text.split("\n")
    index = 40
    lines[index] += " # edited, longer"
    edited = "\n".join(lines)
    assert_same(cache, edited)
    assert cache.parsed == 1 and cache.reused == len(split_statements(edited)) - 1


def test_unchanged_and_swapped_statements_are_not_parsed_again():
    text = "network N\ninput 8x8x3\nconv 4 k3\nrelu\nflatten\n"
    cache = ParseCache()
    cached_parse(cache, text)
    assert_same(cache, text)
    assert cache.parsed == 0 and cache.reused == 5
    swapped = text.replace("conv 4 k3\nrelu\n", "relu\nconv 4 k3\n")
    assert_same(cache, swapped)
    assert cache.parsed == 0
    assert_same(cache, "")
    assert_same(cache, swapped + "linear 3")
    assert_same(cache, "# new first line\n" + swapped + "linear 3")


def test_statements_after_an_edit_are_shifted():
    cache = ParseCache()
    cached_parse(cache, "input 8x8x3\nconv 4 k3\nrelu\n")
    module, _ = cached_parse(cache, "input 8x8x3\nconv 4 k3 p1\nrelu\n")
    relu = module.statements[-1]
    assert isinstance(relu, Command) and relu.span.start == len("input 8x8x3\nconv 4 k3 p1\n")


def test_split_covers_the_text():
    text = "# head\n\ninput 8x8x3; relu\nrepeat 2\n\n# brace below\n{\n relu\n}\nconv 3 k3 # {\nresidual {\n"
    chunks = split_statements(text)
    assert chunks[0][0] == 0 and chunks[-1][1] == len(text)
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:]))
    starts = [text[start:end].split("\n")[0] for start, end, _ in chunks]
    # `repeat 2` and its `{` on a later line are one chunk (recovery reads them together);
    # the '{' in a comment opens nothing; an unclosed '{' takes the rest of the file.
    assert starts == ["# head", "input 8x8x3; ", "relu", "repeat 2", "conv 3 k3 # {", "residual {"]


def test_brace_on_the_next_line_matches_a_full_parse():
    cache = ParseCache()
    for text in ["network A\nrepeat 2\nrelu\n", "network A\nrepeat 2\n{\nrelu\n}\n", "network A\nrepeat 2 {\nrelu\n}\n"]:
        assert_same(cache, text)


def test_broken_statements_are_parsed_again():
    """Their messages name lines: a chunk with a syntax error is never reused."""
    cache = ParseCache()
    text = "input 8x8x3\nconv 3 k3 (\nrepeat 2 {\n relu\n"
    assert_same(cache, text)
    assert_same(cache, "# a new first line\n" + text)
    assert cache.parsed >= 2


def test_too_many_syntax_errors_as_a_full_parse():
    """Near the limit the whole file is parsed at once: the same cut-off message."""
    cache = ParseCache()
    broken = "input 8x8x3\n" + "conv 3 = =\n" * (MAX_SYNTAX_ERRORS + 20)
    assert_same(cache, broken)
    _, diagnostics = cached_parse(cache, broken)
    assert any("too many syntax errors" in d.message for d in diagnostics)
    assert_same(cache, broken.replace("conv 3 = =\n", "relu\n", MAX_SYNTAX_ERRORS))


def test_deep_nesting_is_not_cached_but_parsed():
    deep = "input 8x8x3\n" + "repeat 1 {\n" * 120 + "relu\n" + "}\n" * 120
    cache = ParseCache()
    assert_same(cache, deep)
    assert_same(cache, "network N\n" + deep)
    module, _ = cached_parse(cache, deep)
    assert isinstance(module.statements[-1], Repeat)


def test_the_server_keeps_one_cache_per_document():
    from cnndsl.lsp.analysis import Analysis

    cache = ParseCache()
    text = EXAMPLES[0]
    first = Analysis(text, "a.cnn", parse_cache=cache)
    second = Analysis(text.replace("\n", "\n\n", 1), "a.cnn", parse_cache=cache)
    assert cache.reused > 0
    assert [d.message for d in second.program.diagnostics] == [d.message for d in first.program.diagnostics]


# -- the checker's memos ------------------------------------------------------------
#
# The checker reads a layer statement once per text and block-parameter values,
# and infers a layer's type once per kind, configuration and concrete input,
# reusing only steps that reported nothing. Without the memos it must give the
# same program: every diagnostic once, with the same call-chain notes.


class _Forgetful(dict):
    """A memo that never remembers."""

    def __setitem__(self, key, value) -> None:
        pass


def _without_memos(monkeypatch) -> None:
    from cnndsl.check import checker

    original = checker.Memos.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.configs = _Forgetful()
        self.inferences = _Forgetful()
        self.expansions = _Forgetful()

    monkeypatch.setattr(checker.Memos, "__init__", init)


def typed_summary(program) -> list:
    """Every typed node's fields; CallSite objects by their order of first appearance
    (one object is one expansion: the drawing frames by identity)."""
    from cnndsl.check.typed import TypedLayer, TypedResidual

    numbers: dict[int, int] = {}

    def calls(node) -> list:
        return [(c.block, c.text, c.span, c.line, c.values, numbers.setdefault(id(c), len(numbers))) for c in node.calls]

    def nodes(items) -> list:
        result = []
        for node in items:
            if isinstance(node, TypedResidual):
                result.append(("residual", node.input, node.output, node.span, node.line, calls(node),
                               nodes(node.body), None if node.shortcut is None else nodes(node.shortcut)))
            elif isinstance(node, TypedLayer):
                result.append((node.kind.name, node.config, node.input, node.output, node.params, node.macs,
                               node.arithmetic, node.span, node.statement, node.line, calls(node), node.inplace))
            else:  # a skip, concat, branch or gate: every field, its children as nodes
                result.append((type(node).__name__, *(
                    calls(node) if name == "calls"
                    else (None if getattr(node, name) is None else nodes(getattr(node, name))) if name in node.children
                    else getattr(node, name)
                    for name in node._fields
                )))
        return result

    return nodes(program.nodes)


BLOCKY = [text for text in EXAMPLES if "block " in text or "repeat " in text]


@given(st.sampled_from(BLOCKY), st.lists(edit(), max_size=4))
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
def test_memos_change_nothing(monkeypatch, text, edits):
    for change in edits:
        text = apply(text, change)
    remembered = cnndsl.check_program(text, "doc.cnn")
    with monkeypatch.context() as patch:
        _without_memos(patch)
        forgotten = cnndsl.check_program(text, "doc.cnn")
    assert everything(remembered.diagnostics) == everything(forgotten.diagnostics)
    assert typed_summary(remembered) == typed_summary(forgotten)


def test_a_mistake_in_a_block_is_reported_once_with_its_first_call(monkeypatch):
    text = (
        "block b(c) {\n  conv c k3 p1 s2\n  dropout 2\n}\n"
        "input 33x33x3\nb 8\nb 8\nb 16\nb 8\n"
    )
    program = cnndsl.check_program(text, "doc.cnn")
    with monkeypatch.context() as patch:
        _without_memos(patch)
        plain = cnndsl.check_program(text, "doc.cnn")
    assert everything(program.diagnostics) == everything(plain.diagnostics)
    dropout = [d for d in program.diagnostics if "dropout" in d.message]
    assert len(dropout) == 1 and "called at line 6" in dropout[0].notes[-1]


def test_a_warning_is_not_memoised_away():
    """Two statements written alike, on the same input: each gets its own W0001."""
    text = "input 33x33x3\nresidual { pool 2 } shortcut { pool 2 }\nflatten\n"
    warnings = [d for d in cnndsl.check_program(text, "doc.cnn").diagnostics if d.code == "W0001"]
    assert [(d.line, d.column) for d in warnings] == [(2, 12), (2, 32)]


def test_the_latency_benchmark_runs():
    """benchmarks/lsp_latency.py end to end, tiny: the real server, a few edits."""
    import json
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "lsp_latency.py"), "--edits", "3", "--lines", "60", "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["lines"] == 60 and data["edits"] == 3
    assert 0 < data["min_ms"] <= data["median_ms"] <= data["max_ms"]
    assert data["analysis_median_ms"] > 0 and data["full_analysis_median_ms"] > 0


# -- the block-call memo ------------------------------------------------------------
#
# A block called again with the same argument values, concrete input and nesting
# copies its first expansion when that reported nothing: new CallSite objects for
# the call and for every call nested in it, the caller's chain before them.


def _benchmark_program() -> str:
    import importlib.util

    spec = importlib.util.spec_from_file_location("lsp_latency", ROOT / "benchmarks" / "lsp_latency.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.program(500)


def _copies(monkeypatch) -> list:
    """Records each block expansion the checker copies (True) or declines to copy (False)."""
    from cnndsl.check import blocks

    seen: list = []
    original = blocks.Blocks.copy_expansion

    def spy(self, *args):
        copied = original(self, *args)
        seen.append(copied)
        return copied

    monkeypatch.setattr(blocks.Blocks, "copy_expansion", spy)
    return seen


def _drawn(path: Path, capsys) -> str:
    from cnndsl.cli.main import main

    assert main(["draw", str(path), "-o", "-"]) == 0
    return capsys.readouterr().out


def _both_ways(monkeypatch, text: str):
    """(with memos, without memos, expansions copied with memos)."""
    with monkeypatch.context() as patch:
        copied = _copies(patch)
        remembered = cnndsl.check_program(text, "doc.cnn")
        instance = instantiate(remembered, *remembered.smallest_size()) if remembered.symbolic else None
    with monkeypatch.context() as patch:
        _without_memos(patch)
        forgotten = cnndsl.check_program(text, "doc.cnn")
        plain_instance = instantiate(forgotten, *forgotten.smallest_size()) if forgotten.symbolic else None
    assert everything(remembered.diagnostics) == everything(forgotten.diagnostics)
    assert typed_summary(remembered) == typed_summary(forgotten)
    if instance is not None:
        assert everything(instance.diagnostics) == everything(plain_instance.diagnostics)
        assert typed_summary(instance) == typed_summary(plain_instance)
    return remembered, forgotten, sum(copied)


@pytest.mark.parametrize("name", ["resnet18.cnn", "resnet34.cnn", "mobilenet.cnn", "benchmark"])
def test_copied_expansions_are_the_expansions(monkeypatch, capsys, tmp_path, name):
    """The same diagnostics, typed nodes (call chains included) and drawing with and without memos."""
    if name == "benchmark":
        path = tmp_path / "big.cnn"
        path.write_text(_benchmark_program(), encoding="utf-8")
    else:
        path = ROOT / "examples" / name
    text = path.read_text(encoding="utf-8")
    _, _, copied = _both_ways(monkeypatch, text)
    with monkeypatch.context() as patch:
        drawings = _copies(patch)
        svg = _drawn(path, capsys)
    assert sum(drawings) >= 1  # the memo is used where the drawing comes from
    assert copied >= 1 or name == "resnet18.cnn"  # resnet18 is symbolic: only its instance copies
    with monkeypatch.context() as patch:
        _without_memos(patch)
        assert _drawn(path, capsys) == svg


def test_a_copied_expansion_has_its_own_call_sites(monkeypatch):
    text = (
        "block inner(c) {\n  conv c k3 p1\n  relu\n}\n"
        "block outer(c) {\n  inner c\n  inner c\n  bn\n}\n"
        "input 8x8x3\nconv 4 k1\nouter 4\nouter  4\nrepeat 2 {\n  outer 4\n}\n"
    )
    program, _, copied = _both_ways(monkeypatch, text)
    assert copied >= 3
    convs = [layer for layer in program.layers if layer.kind.name == "conv"][1:]
    assert [[(c.text, c.line, c.values) for c in layer.calls] for layer in convs[:4]] == [
        [("outer 4", 12, (4,)), ("inner c", 6, (4,))],
        [("outer 4", 12, (4,)), ("inner c", 7, (4,))],
        [("outer 4", 13, (4,)), ("inner c", 6, (4,))],  # written `outer  4`: shown with one space
        [("outer 4", 13, (4,)), ("inner c", 7, (4,))],
    ]
    outers = [id(layer.calls[0]) for layer in convs]
    inners = [id(layer.calls[1]) for layer in convs]
    assert len(set(outers)) == 4 and outers[::2] == outers[1::2]  # 4 expansions of outer, each with 2 convs
    assert len(set(inners)) == 8  # and 8 of inner
    assert [layer.line for layer in convs] == [2] * 8


def test_a_copy_after_the_same_activation_still_warns(monkeypatch):
    """W0003 looks at the node before the call: a copy after `relu` is expanded again and warns."""
    text = "block act(c) {\n  relu\n  conv c k3 p1\n}\ninput 8x8x3\nconv 4 k1\nact 4\nact 4\nrelu\nact 4\n"
    with monkeypatch.context() as patch:
        decisions = _copies(patch)
        program = cnndsl.check_program(text, "doc.cnn")
    assert decisions == [True, False]  # after the conv: copied; after the relu: expanded in full
    warnings = [d for d in program.diagnostics if d.code == "W0003"]
    assert [(d.line, d.notes[-1]) for d in warnings] == [(2, "in act 4, called at line 10")]
    _both_ways(monkeypatch, text)


def test_a_copy_runs_in_place_after_its_own_previous_layer(monkeypatch):
    """`inplace` of the copied first layer depends on what precedes the new call."""
    text = "block act(c) {\n  relu\n  conv c k3 p1\n}\ninput 8x8x3\nconv 4 k1\nact 4\npool 1\nact 4\nbn\nact 4\n"
    program, _, copied = _both_ways(monkeypatch, text)
    assert copied == 2
    assert [layer.inplace for layer in program.layers if layer.kind.name == "relu"] == [True, False, True]


def test_symbolic_inputs_copy_expansions_under_the_same_bounds(monkeypatch):
    """A symbolic input's expansion is copied only while the symbols' bounds are those it was made under."""
    text = "block b(c) {\n  conv c k3 p1\n  relu\n}\ninput HxWx3 where H >= 8, W >= 8\nb 4\nb 4\nb 4\n"
    with monkeypatch.context() as patch:
        decisions = _copies(patch)
        program = cnndsl.check_program(text, "doc.cnn")
    assert decisions == [True] and program.symbolic  # the third call (the second's input is HxWx4)
    _both_ways(monkeypatch, text)
    # Finding the bounds, the body's `b 3` raises them (k5 p1 needs H >= 3): not remembered, the
    # shortcut's is expanded again; checking from the bounds found, the shortcut copies the body's.
    text = "block b(c) {\n  conv c k5 p1\n  relu\n}\ninput HxWx3\nresidual { b 3 } shortcut { b 3 }\n"
    with monkeypatch.context() as patch:
        decisions = _copies(patch)
        program = cnndsl.check_program(text, "doc.cnn")
    assert decisions == [True] and program.symbols["H"].bound == 3 and program.ok
    _both_ways(monkeypatch, text)


@pytest.mark.parametrize("name", ["densenet121", "googlenet", "inception_v3", "resnet50", "shufflenet_v2_x1_0"])
def test_the_zoo_is_typed_the_same_with_and_without_memos(monkeypatch, name):
    """The zoo's symbolic programs use every memo under the symbols' bounds (benchmarks/scaling.py --examples)."""
    text = (ROOT / "examples" / "zoo" / f"{name}.cnn").read_text(encoding="utf-8")
    program, _, _ = _both_ways(monkeypatch, text)
    assert program.symbolic


def test_a_copy_inside_another_call_takes_that_calls_chain(monkeypatch):
    """`inner 2` expanded inside `outer 4` is copied inside `outer 8`: its chain starts with `outer 8`."""
    text = (
        "block inner(c) {\n  conv c k1\n}\n"
        "block outer(c) {\n  inner 2\n  conv c k1\n}\n"
        "input 8x8x2\nouter 2\nouter 8\nconv 2 k1\nouter 2\n"
    )
    program, _, copied = _both_ways(monkeypatch, text)
    assert copied == 2  # `inner 2` in `outer 8`, and the last `outer 2`
    chains = [[(c.text, c.line) for c in layer.calls] for layer in program.layers]
    assert chains[2] == [("outer 8", 10), ("inner 2", 5)]
    assert chains[5] == [("outer 2", 12), ("inner 2", 5)]


def test_copied_layers_count_towards_the_limit(monkeypatch):
    from cnndsl.check import budgets

    monkeypatch.setattr(budgets, "MAX_LAYERS", 12)
    text = "block b(c) {\n  conv c k1\n  relu\n  bn\n}\ninput 8x8x2\nb 2\nb 2\nb 2\nb 2\nb 2\n"
    program, _, copied = _both_ways(monkeypatch, text)
    assert copied == 3
    assert [(d.code, d.line) for d in program.diagnostics] == [("E0060", 11)]


def test_a_copy_deeper_down_is_checked_for_depth(monkeypatch):
    """The same call nested deeper is a different expansion: there it is too deep (E0062)."""
    from cnndsl.check import budgets

    levels = budgets.MAX_DEPTH - 3
    text = (
        "block deep(c) {\n" + "repeat 1 {\n" * levels + "conv c k1\n" + "}\n" * levels + "}\n"
        "input 8x8x2\ndeep 2\ndeep 2\n" + "repeat 1 {\n" * 5 + "deep 2\n" + "}\n" * 5
    )
    program, _, copied = _both_ways(monkeypatch, text)
    assert copied == 1
    assert {d.code for d in program.diagnostics} == {"E0062"}


LONG = " ".join(["k3"] * 1_500)


@pytest.mark.parametrize(
    "text",
    [
        "input 8x8x3\nconv 4 " + LONG + "\nrelu\n",
        "input 8x8x3\nblock b(c) { conv c " + LONG + " }\nb 3\n",
        "input 8x8x3\nblock b(" + ", ".join(f"p{i}" for i in range(1_200)) + ") {\n relu\n conv 3 " + LONG + "\n}\nb 3\nrelu\n",
        "input 8x8x3\nrepeat 2 " + LONG + " {\n relu\n",
        "input 8x8x3\n# " + LONG + "\nrelu\n",
        "input 8x8x3\nrelu # a; " + LONG + "\nrelu\n",
        "input 8x8x3\r\nconv 4 " + LONG + "\r\nrelu\r\n",
    ],
    ids=["layer", "in-a-body", "block-header", "unclosed-header", "comment", "comment-after-semicolon", "crlf"],
)
def test_over_long_statements_match_a_full_parse(text):
    # E0063 cuts statements before lexing; the cache cuts the same ones.
    cache = ParseCache()
    cached_parse(cache, "input 8x8x3\n")
    assert_same(cache, text)
    _, diagnostics = full_parse(text)
    codes = [d.code for d in diagnostics]
    assert codes == ([] if "#" in text else ["E0063"])


def test_a_file_past_the_statement_limit_matches_a_full_parse():
    # E0064 stops reading at a top-level statement; the cache leaves such a
    # file to the full parse, and takes over again once it is back within.
    body = "conv 3 k3 p1\n" * 19_995 + "repeat 2 {\n" + "relu\n" * 10 + "}\nrelu\n"
    cache = ParseCache()
    cached_parse(cache, "input 8x8x3\n" + body)
    assert_same(cache, "input 8x8x3\n" + body + "bn\n")
    _, diagnostics = full_parse("input 8x8x3\n" + body)
    assert [(d.code, d.line) for d in diagnostics] == [("E0064", 1 + 19_995 + 1 + 4)]
    assert_same(cache, "input 8x8x3\n" + "conv 3 k3 p1\n" * 10 + "relu\n")


def test_the_arithmetic_is_written_when_first_asked_for():
    """A check leaves a window layer's arithmetic unwritten; reading it writes it once, as it was written before."""
    import copy
    import pickle

    from cnndsl.layers import Lines

    program = cnndsl.check_program("input 9x9x3\nconv 4 k3 s2\npool 2\nflatten\n")
    conv, pool = program.layers[:2]
    assert isinstance(conv.explanation, Lines) and conv.explanation.lines is None
    assert conv.arithmetic == (
        "height: (9 + 2*0 - 3)/2 + 1 = 4", "width: (9 + 2*0 - 3)/2 + 1 = 4", "params: 4*3*3*3 + 4 = 112", "MACs: 4*4*4*3*3*3 = 1,728",
    )
    assert conv.arithmetic is conv.arithmetic  # written once
    assert pool.arithmetic == ("height: (4 + 2*0 - 2)/2 + 1 = 2", "width: (4 + 2*0 - 2)/2 + 1 = 2")
    assert pool.explanation == pool.arithmetic and pool.arithmetic == pool.explanation
    again = pickle.loads(pickle.dumps(pool.explanation))
    assert again == pool.arithmetic and type(again) is tuple
    assert copy.copy(conv) == conv
