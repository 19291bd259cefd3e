"""Rendered diagnostics: golden files for every code, and the renderers' rules.

tests/golden/diagnostics/CODE.cnn is a program that shows CODE; CODE.txt is
what `cnnc check CODE.cnn` prints for it (no colour). Update on purpose with
`python -m pytest --update-goldens` (or CNNDSL_UPDATE_GOLDENS=1).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cnndsl
from cnndsl.diagnostics.codes import CODES
from cnndsl.diagnostics.render import render_all, render_github, render_json, render_text, use_colour, visible

GOLDEN = Path(__file__).resolve().parent / "golden" / "diagnostics"
CASES = sorted(GOLDEN.glob("*.cnn"))


def rendered(path: Path) -> tuple[str, list]:
    """What `cnnc check` prints for a golden input, with the file named as in the golden."""
    program = cnndsl.check_program(path.read_bytes(), path.name)
    return render_all(program.diagnostics, {path.name: program.source}, colour=False), program.diagnostics


def test_there_is_a_golden_for_every_code_and_no_stray_golden():
    names = {path.stem for path in CASES}
    assert names == set(CODES)
    assert {path.stem for path in GOLDEN.glob("*.txt")} == set(CODES)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_rendering(path: Path):
    text, diagnostics = rendered(path)
    assert path.stem in {d.code for d in diagnostics}, f"{path.name} does not produce {path.stem}"
    expected = path.with_suffix(".txt")
    if os.environ.get("CNNDSL_UPDATE_GOLDENS") == "1":
        expected.write_text(text, encoding="utf-8")
    assert expected.exists(), f"missing {expected.name}; run python -m pytest --update-goldens"
    assert text == expected.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_layout(path: Path):
    """Every diagnostic: GCC-style first line, the source line, a caret under the span."""
    text, diagnostics = rendered(path)
    blocks = text.rstrip("\n").split("\n\n")
    summary = blocks.pop()
    counts = [(sum(d.severity == severity for d in diagnostics), severity) for severity in ("error", "warning", "note")]
    assert summary == ", ".join(f"{n} {severity}{'s' if n != 1 else ''}" for n, severity in counts if n)
    assert len(blocks) == len(diagnostics)
    for block, d in zip(blocks, diagnostics):
        lines = block.splitlines()
        assert lines[0] == f"{path.name}:{d.line}:{d.column}: {d.severity}[{d.code}]: {d.message}"
        assert "\033[" not in block  # no colour unless asked
        if d.code == "E0002":
            continue
        source_line = next(line for line in lines if line.lstrip().startswith(f"{d.line} |"))
        caret_line = lines[lines.index(source_line) + 1]
        gutter = source_line.index("|")
        if "| ..." not in source_line:  # a long line is cut around the span
            assert caret_line.index("^") - gutter - 2 == d.column - 1
        for extra in lines[lines.index(caret_line) + 1 :]:
            assert extra.strip().startswith(("|", "= note:", "= help:", ":::")) or extra.split("|")[0].strip().isdigit()


def test_quiz_without_flatten_says_insert_flatten_with_the_arithmetic():
    text, _ = rendered(GOLDEN / "E0032.cnn")
    assert "error[E0032]: linear needs a vector, but its input is the 16x16x20 feature map" in text
    assert "= note: flatten would turn the 16x16x20 map into 16*16*20 = 5,120 features" in text
    assert "= help: insert `flatten` on the line before this one" in text


def test_window_error_names_the_padding_that_keeps_the_size():
    program = cnndsl.check_program("input 32x32x10\npool 4\npool 4\nconv 20 k5\n", "quiz.cnn")
    text = render_all(program.diagnostics, {"quiz.cnn": program.source})
    assert "quiz.cnn:4:1: error[E0030]: convolution window 5x5 does not fit the 2x2x10 feature map (padding 0)" in text
    assert "output height would be (2 + 2*0 - 5)/1 + 1 = -2" in text
    assert "p2 keeps 2x2" in text


def test_groups_help_names_the_nearest_valid_count():
    (d,) = cnndsl.check_source("input 8x8x24\nconv 32 k3 g5\n")
    assert d.code == "E0033"
    assert d.help == "use g4, the nearest group count that divides both 24 and 32"


def test_notes_show_the_input_type_and_arithmetic():
    (d,) = cnndsl.check_source("input 130x130x3\nconv 16 k3 s2\n")
    assert d.code == "W0001"
    assert d.notes[0].startswith("height: (130 + 2*0 - 3) mod 2 = 1")


# -- syntax errors ---------------------------------------------------------


def test_independent_syntax_errors_are_all_reported_without_cascade():
    lines = ["input 32x32x3"] + ["relu"] * 11
    lines[2] = "conv 16 k3 ,"
    lines[6] = "pool 2 )"
    lines[11] = "linear = 10"
    diagnostics = cnndsl.check_source("\n".join(lines) + "\n")
    assert [(d.line, d.code) for d in diagnostics if d.is_error] == [(3, "E0001"), (7, "E0001"), (12, "E0001")]


def test_a_broken_statement_does_not_cause_errors_later():
    # Without the broken flatten, linear would see a map: no E0032 must follow.
    diagnostics = cnndsl.check_source("input 32x32x3\nflatten ,\nlinear 10\n")
    assert [d.code for d in diagnostics] == ["E0001"]


def test_a_broken_block_definition_does_not_make_its_calls_unknown():
    diagnostics = cnndsl.check_source("input 32x32x3\nblock stem(c { conv c k3 }\nstem 16\n")
    assert [d.code for d in diagnostics] == ["E0001"]


def test_an_invalid_block_definition_does_not_make_its_calls_unknown():
    diagnostics = cnndsl.check_source("input 32x32x3\nblock pair(c, c) { conv c k3 }\npair 16 16\n")
    assert [d.code for d in diagnostics] == ["E0043"]


def test_a_misspelt_input_is_one_error():
    diagnostics = cnndsl.check_source("inptu 32x32x3\nconv 16 k3\n")
    assert [(d.code, d.help) for d in diagnostics] == [("E0010", "did you mean 'input'?")]


def test_end_of_input_points_after_the_last_token():
    text = "input 32x32x3\nrepeat 2 { conv 16 k3   # unfinished\n\n\n"
    (d,) = cnndsl.check_source(text)
    assert (d.code, d.line, d.column) == ("E0001", 2, len("repeat 2 { conv 16 k3") + 1)
    assert (d.end_line, d.end_column) == (d.line, d.column)
    assert "the '{' on line 2 is never closed" in d.message
    assert d.help == "add the missing '}'"


def test_end_of_input_inside_an_option():
    (d,) = cnndsl.check_source("input 32x32x3\nconv 16 kernel=")
    assert (d.line, d.column) == (2, 16)
    assert d.message == "unexpected end of input: expected a value after '=', like 'kernel=3'"


def test_unexpected_tokens_are_described_in_words():
    cases = {
        "input 32x32x3\nconv 16 k3 ,\n": "expected a layer option like k3 or s2, a new line or ';', found ','",
        "input 32x32x3\nrelu )\n": "expected a new line or ';', found ')'",
        "input 32x32x3\nrepeat { relu }\n": "expected a repeat count after 'repeat', like 'repeat 3 { ... }', found '{'",
        "input 32x32x3\nblock (c) { relu }\n": "expected a block name after 'block', like 'block stem(c) { ... }', found '('",
        "input 32x32x3\nblock a(c d) { relu }\n": "expected ',' or ')' in the parameter list, found 'd'",
        "input 32x32x3\nresidual relu\n": "expected '{' to open the residual body, found 'relu'",
        "input 32x32x3\nrepeat 2 { relu } relu\n": "expected a new line or ';' after '}', found 'relu'",
        "input 32x32x3\nstem(16)\n": "unexpected '(': a block call takes its arguments without parentheses",
        "input 32x32x3\nconv 16 k3 \x1b[2J\n": "unexpected character 'U+001B['",
    }
    for text, message in cases.items():
        messages = [d.message for d in cnndsl.check_source(text) if d.code == "E0001"]
        assert messages and messages[0] == message, (text, messages)


def test_checker_words_expected_options():
    cases = {
        "conv 10 k3 130x": ("E0011", "expected a layer option like k3 or s2, found '130x'"),
        "conv 10 3": ("E0011", "unexpected value '3': conv takes 1 number before its options"),
        "relu relu": ("E0011", "relu takes no arguments, found 'relu'"),
        "fc 10 reul": ("E0011", "fc has no option or activation 'reul'"),
        "maxpool 2 q": ("E0011", "maxpool has no option 'q'"),
        "dropout half": ("E0013", "the dropout probability must be a decimal number, found 'half'"),
    }
    for line, (code, message) in cases.items():
        diagnostics = cnndsl.check_source(f"input 32x32x3\n{line}\n")
        assert [(d.code, d.message) for d in diagnostics][:1] == [(code, message)], line


def test_did_you_mean_is_drawn_from_names_valid_there():
    def help_for(text):
        return [d.help for d in cnndsl.check_source("input 32x32x3\n" + text) if d.is_error][0]

    assert help_for("conv 16 k3 reul\n") == "did you mean 'relu'?"  # an activation after conv
    assert help_for("conv 16 k3 kernal=3\n") == "did you mean 'kernel'?"  # a long option
    assert help_for("conv 16 k3 nobais\n") == "did you mean 'nobias'?"  # a flag
    assert help_for("pool 2 cel\n") == "did you mean 'ceil'?"
    assert help_for("relu6x\n") == "did you mean 'relu6'?"  # a layer name
    assert help_for("block stem(c) { conv c k3 }\nstme 16\n") == "did you mean 'stem'?"  # a block name
    assert help_for("block stem(chan) { conv chn k3 }\nstem 16\n") == "did you mean 'chan'?"  # a parameter
    assert help_for("conv 16 x3\n") == "did you mean 'k3'?"
    assert help_for("conv 16 3\n") == "did you mean 'k3'?"


# -- warnings --------------------------------------------------------------


def test_w0001_counts_only_real_rows():
    quiet = ["conv 16 k3 s2 p1", "conv 16 k1 s2", "pool 2", "pool 3 s2 ceil"]
    for line in quiet:
        assert not cnndsl.check_source(f"input 32x32x3\n{line}\n"), line
    (d,) = cnndsl.check_source("input 32x32x3\nconv 16 k3 s2\n")
    assert d.code == "W0001" and "the last 1 row and the last 1 column" in d.message


def test_w0002_and_w0003_and_w0004():
    codes = [d.code for d in cnndsl.check_source("input 8x8x3\nflatten\nflatten\ndropout 0\nrelu\nrelu\n")]
    assert codes == ["W0002", "W0002", "W0003"]
    assert [d.code for d in cnndsl.check_source("input 8x8x3\nrepeat 0 { relu }\n")] == ["W0002"]
    block = "block twice(n) { repeat n { relu } }\n"
    assert [d.code for d in cnndsl.check_source("input 8x8x3\n" + block + "twice 0\n")] == []  # 0 from a parameter
    assert [d.code for d in cnndsl.check_source("input 8x8x3\n" + block)] == ["W0004"]


def test_an_unused_block_is_checked_lightly():
    text = (
        "block spare(c, f) {\n"
        "  conv c kernel=f reul\n"  # unknown activation: reported
        "  convv c k3\n"  # unknown layer: reported
        "  conv c k3 p-1\n"  # a literal out of range: reported
        "  dropout c\n"  # depends on c: not reported
        "  conv n k3\n"  # not a parameter: reported
        "  spare c f\n"  # recursion: reported
        "}\n"
        "input 8x8x3\nrelu\n"
    )
    diagnostics = cnndsl.check_source(text)
    assert sorted(d.code for d in diagnostics) == ["E0010", "E0011", "E0035", "E0041", "E0042", "W0004"]
    assert all(d.line != 5 for d in diagnostics)


def test_a_block_used_only_by_an_unused_block_is_not_reported_unused():
    text = "block a(c) { conv c k3 }\nblock b(c) { a c }\ninput 8x8x3\nrelu\n"
    diagnostics = cnndsl.check_source(text)
    assert [(d.code, d.line) for d in diagnostics] == [("W0004", 2)]


# -- renderers -------------------------------------------------------------


def sample():
    text = "input 8x8x3\nconv 16 k9\n"
    program = cnndsl.check_program(text, "net.cnn")
    return program, program.diagnostics


def test_colour_only_when_asked():
    program, diagnostics = sample()
    plain = render_all(diagnostics, {"net.cnn": program.source}, colour=False)
    coloured = render_all(diagnostics, {"net.cnn": program.source}, colour=True)
    assert "\033[" not in plain and "\033[1;31merror[E0030]" in coloured
    assert _strip_ansi(coloured) == plain


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\033\[[0-9;]*m", "", text)


class _Tty:
    def isatty(self):
        return True


class _Pipe:
    def isatty(self):
        return False


def test_use_colour_follows_no_color_force_color_and_the_stream(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(_Tty()) is True
    assert use_colour(_Pipe()) is False
    monkeypatch.setenv("TERM", "dumb")
    assert use_colour(_Tty()) is False
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_Tty()) is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_colour(_Pipe()) is True


def test_cnnc_check_piped_has_no_colour_and_force_color_adds_it(tmp_path):
    path = tmp_path / "net.cnn"
    path.write_text("input 8x8x3\nconv 16 k9\n")
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    piped = subprocess.run([sys.executable, "-m", "cnndsl", "check", str(path)], capture_output=True, text=True, env=env)
    assert piped.returncode == 1 and "error[E0030]" in piped.stderr and "\033[" not in piped.stderr
    forced = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", str(path)], capture_output=True, text=True, env={**env, "FORCE_COLOR": "1"}
    )
    assert "\033[1;31m" in forced.stderr
    both = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", str(path)],
        capture_output=True, text=True, env={**env, "FORCE_COLOR": "1", "NO_COLOR": "1"},
    )
    assert "\033[" not in both.stderr


def test_source_control_characters_cannot_reach_the_terminal():
    text = "input 8x8x3  # \x1b]0;pwned\x07 title\nconv 16 k3 \x1b[2J\n"
    program = cnndsl.check_program(text, "evil.cnn")
    out = render_all(program.diagnostics, {"evil.cnn": program.source})
    assert "\x1b" not in out and "\x07" not in out
    assert "\u241b[2J" in out  # drawn as the ESC picture, one column wide


def test_wide_characters_keep_the_caret_aligned():
    text = "input 8x8x3\n日本 conv 16 k3\n"
    program = cnndsl.check_program(text, "w.cnn")
    out = render_text(program.diagnostics[0], program.source)
    lines = out.splitlines()
    assert lines[2] == "2 | 日本 conv 16 k3"
    assert lines[3] == "  | ^^^^ " + program.diagnostics[0].label


def test_long_lines_are_cut_around_the_span():
    text = "input 8x8x3\nconv 16 k3 " + "nobias " * 200 + "zz\n"
    program = cnndsl.check_program(text, "long.cnn")
    d = next(d for d in program.diagnostics if "zz" in d.message)
    out = render_text(d, program.source)
    assert all(len(line) < 200 for line in out.splitlines())
    source_line, caret_line = out.splitlines()[2:4]
    assert source_line[caret_line.index("^") : caret_line.index("^") + 2] == "zz"


def test_visible_keeps_one_character_per_character():
    text = "a\tb\x00c\x7fd\u200be"
    assert len(visible(text)) == len(text)
    assert visible(text).isprintable()


def test_json_carries_the_same_fields():
    _, diagnostics = sample()
    (entry,) = json.loads(render_json(diagnostics))
    d = diagnostics[0]
    assert list(entry) == ["file", "line", "column", "end_line", "end_column", "severity", "code", "message", "notes", "help"]
    assert entry == d.to_dict()
    assert (entry["line"], entry["column"], entry["code"], entry["severity"]) == (2, 1, "E0030", "error")
    assert entry["notes"] == list(d.notes) and entry["help"] == d.help


def test_cnnc_check_json_and_github_formats(tmp_path):
    path = tmp_path / "a,b:c%.cnn"
    path.write_text("input 8x8x3\nconv 16 k9\nrelu\nrelu\n")
    result = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", "--format", "json", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stderr == ""
    entries = json.loads(result.stdout)
    assert [e["code"] for e in entries] == ["E0030"]
    github = subprocess.run(
        [sys.executable, "-m", "cnndsl", "check", "--format", "github", str(path)], capture_output=True, text=True
    )
    (line,) = github.stdout.splitlines()
    assert line.startswith("::error file=")
    assert "a%2Cb%3Ac%25.cnn,line=2,col=1,endLine=2,endColumn=11,title=error[E0030]::" in line


def test_github_annotations_escape_everything_that_could_end_a_command():
    from cnndsl.diagnostics.model import Diagnostic

    d = Diagnostic("x,y:z.cnn", 3, 1, 3, 2, "warning", "W0001", "100% of\nrows\r::error::fake", ("a note",), "a:help, here")
    (line,) = render_github([d]).splitlines()
    assert line.startswith("::warning file=x%2Cy%3Az.cnn,line=3,col=1,endLine=3,endColumn=2,title=warning[W0001]::")
    message = line.split("::", 2)[2]
    # Control characters in a message are drawn (one line per annotation); notes
    # and help go on lines of their own, escaped as the toolkit does.
    assert message == "100%25 of\u240arows\u240d::error::fake%0Anote: a note%0Ahelp: a:help, here"
    assert "\n" not in line and "\r" not in line


def test_an_option_on_its_own_line_says_where_it_belongs():
    (d,) = cnndsl.check_source("input 8x8x3\nconv 16 k3\ns2\n")
    assert (d.code, d.message) == ("E0010", "'s2' is an option of conv, not a statement")
    assert d.help == "put it on the same line as its layer, like: conv ... s2"


def test_quotes_in_unexpected_characters_are_quoted_readably():
    messages = [d.message for d in cnndsl.check_source("input 8x8x3\n' relu\n")]
    assert messages == ["unexpected character \"'\": expected a statement, like 'conv 16 k3' or 'repeat 2 { ... }'"]


def test_no_unused_block_warning_when_a_syntax_error_may_have_dropped_the_call():
    text = "block stem(c) { conv c k3 }\ninput 8x8x3\nstem 16 ,\n"
    assert [d.code for d in cnndsl.check_source(text)] == ["E0001"]
