"""`cnnc summary --explain`: the arithmetic under each layer, from the typed program."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.reports.summary import render_table
from cnndsl.check.typed import TypedResidual
from cnndsl.compiler import instantiate

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.cnn"))


def explain(text: str, filename: str = "net.cnn") -> str:
    program = cnndsl.check_program(text, filename)
    assert program.ok, program.diagnostics
    return render_table(program, explain=True)


def formula_lines(output: str) -> list[str]:
    """The explanation lines, with their label and spacing squeezed to `label: rest`."""
    lines = []
    for line in output.splitlines():
        match = re.match(r"^ {4,}(height|width|params|MACs|features|unused|rounded|adds|adaptive) {2,}(.*)$", line)
        if match:
            lines.append(f"{match[1]}: {match[2]}")
    return lines


QUIZ = (ROOT / "examples" / "quiz.cnn").read_text()


def test_quiz_shows_the_lessons_arithmetic():
    out = explain(QUIZ, "quiz.cnn")
    lines = formula_lines(out)
    for expected in [
        "height: (130 + 2*0 - 3)/1 + 1 = 128",
        "width: (130 + 2*0 - 3)/1 + 1 = 128",
        "params: 10*3*3*3 + 10 = 280",
        "MACs: 128*128*10*3*3*3 = 4,423,680",
        "height: (128 + 2*0 - 4)/4 + 1 = 32",
        "height: (32 + 2*2 - 5)/1 + 1 = 32",
        "params: 20*5*5*10 + 20 = 5,020",
        "features: 16*16*20 = 5,120",
        "params: 5120*10 + 10 = 51,210",
        "params: 280 + 5,020 + 51,210 = 56,510",
    ]:
        assert expected in lines, expected
    # The explanation sits under its layer: the conv's lines follow its row.
    rows = out.splitlines()
    conv = next(i for i, row in enumerate(rows) if "Conv2d(3, 10, 3)" in row)
    assert "(130 + 2*0 - 3)/1 + 1 = 128" in rows[conv + 1]
    # The general formulas of the kinds used, once, in the lesson's letters.
    assert "(W_in - F + 2P)/S + 1" in out
    assert "K*F_h*F_w*D_in/G + K" in out
    assert "batchnorm" not in out  # only kinds the network uses


def test_without_explain_there_is_no_arithmetic():
    program = cnndsl.check_program(QUIZ, "quiz.cnn")
    plain = render_table(program)
    assert "2*0" not in plain and "formulas" not in plain
    assert formula_lines(plain) == []


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_formula_agrees_with_the_typed_layer(path):
    """Each result printed after `=` is the number the checker typed the layer with."""
    program = cnndsl.check_program(path.read_text(), str(path))
    assert program.ok
    if program.symbolic:  # every formula holds symbolically, and with numbers at a size
        out = render_table(program, explain=True)
        for layer in program.layers:
            for line in layer.arithmetic:
                label, _, rest = line.partition(": ")
                assert rest in out
                if label == "MACs":
                    assert rest.endswith(f"= {layer.macs:,}")
                elif label in ("height", "width"):
                    assert rest.endswith(f"= {getattr(layer.output, label)}")
        # an odd size, or the next admissible one (`where H % 16 == 0`)
        sizes = [2 * size + 1 + (symbol.residue - 2 * size - 1) % symbol.modulus
                 for size, symbol in zip(program.smallest_size(), program.symbols.values())]
        program = instantiate(program, *sizes)
        assert program.ok and not program.symbolic
    out = render_table(program, explain=True)
    for layer in program.layers:
        for line in layer.arithmetic:
            label, _, rest = line.partition(": ")
            assert f"{label}" in out and rest in out
            result = re.search(r"= ([\d,]+)(?: \(.*\))?$", rest)
            if label == "params":
                assert int(result[1].replace(",", "")) == layer.params
            elif label == "MACs":
                assert int(result[1].replace(",", "")) == layer.macs
            elif label in ("height", "width") and result:
                assert int(result[1]) == getattr(layer.output, label)
            elif label == "features":
                assert int(result[1].replace(",", "")) == layer.output.features
    # Every layer with parameters says how they are counted.
    assert all(any(a.startswith("params:") for a in layer.arithmetic) for layer in program.layers if layer.params)


def test_dropped_rows_are_said_with_the_warning():
    text = "input 7x8x1\npool 2\n"
    program = cnndsl.check_program(text, "drop.cnn")
    assert [d.code for d in program.diagnostics] == ["W0001"]
    lines = formula_lines(render_table(program, explain=True))
    assert "height: floor((7 + 2*0 - 2)/2) + 1 = 3" in lines
    assert "width: (8 + 2*0 - 2)/2 + 1 = 4" in lines
    assert "unused: height: the bottom 1 row is never read, (7 + 2*0 - 2) mod 2 = 1 (W0001)" in lines
    assert not any("width: the right" in line for line in lines)


def test_rounding_into_the_padding_drops_nothing():
    # ResNet's stem: (224 + 6 - 7) is odd, but the leftover position is padding.
    program = cnndsl.check_program("input 224x224x3\nconv 64 k7 s2 p3\n", "stem.cnn")
    assert program.diagnostics == []
    lines = formula_lines(render_table(program, explain=True))
    assert "height: floor((224 + 2*3 - 7)/2) + 1 = 112" in lines
    assert "rounded: height: (224 + 2*3 - 7) mod 2 = 1 left over, within the padding 3; every input row is read" in lines
    assert not any(line.startswith("unused:") for line in lines)


def test_windows_narrower_than_their_stride_skip_by_design():
    program = cnndsl.check_program("input 7x7x8\nconv 16 k1 s2\n", "narrow.cnn")
    assert program.diagnostics == []
    lines = formula_lines(render_table(program, explain=True))
    assert "height: (7 + 2*0 - 1)/2 + 1 = 4" in lines  # divides: no note
    program = cnndsl.check_program("input 8x8x8\nconv 16 k1 s3\n", "narrow.cnn")
    assert program.diagnostics == []
    lines = formula_lines(render_table(program, explain=True))
    assert "rounded: height: windows 1 wide step by 3, so rows between them are skipped by design" in lines


@settings(max_examples=300, deadline=None)
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    padding=st.integers(0, 3),
    pool=st.booleans(),
)
def test_unused_lines_match_w0001_exactly(size, kernel, stride, padding, pool):
    """The explanation and the warning share one rule: a line iff a warning, same count."""
    if pool:
        padding = min(padding, kernel // 2)
        layer = f"pool {kernel} s{stride}" + (f" p{padding}" if padding else "")
    else:
        layer = f"conv 4 k{kernel} s{stride} p{padding}"
    program = cnndsl.check_program(f"input {size}x{size + 1}x2\n{layer}\n", "h.cnn")
    if not program.ok:
        return
    warned = {m[1]: int(m[0]) for d in program.diagnostics if d.code == "W0001"
              for m in re.findall(r"last (\d+) (row|column)", d.message)}
    said = {}
    for line in program.layers[0].arithmetic:
        match = re.match(r"unused: \w+: the (?:bottom|right) (\d+) (row|column)", line)
        if match:
            said[match[2]] = int(match[1])
    assert said == warned
    # Each axis whose division is rounded down gets exactly one note.
    notes = [line for line in program.layers[0].arithmetic if line.startswith(("unused:", "rounded:"))]
    floors = [line for line in program.layers[0].arithmetic if "floor(" in line]
    assert len(notes) == len(floors)


def test_residual_rows_explain_the_addition_and_name_the_call():
    text = (
        "block basic(c) {\n"
        "  residual {\n"
        "    conv c k3 p1\n"
        "  }\n"
        "}\n"
        "input 8x8x4\n"
        "basic 4\n"
    )
    program = cnndsl.check_program(text, "res.cnn")
    assert isinstance(program.nodes[0], TypedResidual)
    out = render_table(program, explain=True)
    row = next(line for line in out.splitlines() if "residual" in line)
    assert row.split()[:2] == ["2", "(7)"]
    assert "adds: body 8x8x4 + input (identity) 8x8x4 = 8x8x4" in formula_lines(out)


def test_cli_explain_does_not_import_torch(tmp_path):
    script = (
        "import sys\n"
        "from cnndsl.cli.main import main\n"
        f"code = main(['summary', '--explain', {str(ROOT / 'examples' / 'resnet18.cnn')!r}])\n"
        "assert code == 0\n"
        f"code = main(['summary', '--explain', {str(ROOT / 'examples' / 'resnet18.cnn')!r}, '--size', '224x224'])\n"
        "assert code == 0\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    # ResNet-18 takes any size: symbolic first, then the numbers at 224x224.
    assert "floor((H + 2*3 - 7)/2) + 1 = (H+1)//2" in result.stdout
    assert "adds" in result.stdout and "floor((224 + 2*3 - 7)/2) + 1 = 112" in result.stdout


def test_same_padding_shows_the_padding_it_chooses():
    program = cnndsl.check_program("input 32x32x3\nconv 8 k3 same\nconv 8 k2x4 same\n", "same.cnn")
    assert program.ok
    lines = formula_lines(render_table(program, explain=True))
    assert "height: 'same' pads 1 above and 1 below: (32 + 1 + 1 - 3)/1 + 1 = 32" in lines
    # An even kernel: PyTorch puts the extra row at the bottom, the extra column at the right.
    assert "height: 'same' pads 0 above and 1 below: (32 + 0 + 1 - 2)/1 + 1 = 32" in lines
    assert "width: 'same' pads 1 left and 2 right: (32 + 1 + 2 - 4)/1 + 1 = 32" in lines
