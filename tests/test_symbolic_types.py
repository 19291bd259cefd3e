"""Symbolic input sizes, case by case: the types printed, the diagnostics, the command line.

`input HxWx3 where H >= 32` makes every size an expression in the symbols.
This file fixes the readable forms (`HxWx64`, `H//2 x W//2 x 64`,
`(H+1)//2 x ...`), the decisions on examples (residuals accepted and
rejected, bounds computed), the wording of E0050/E0070/E0071/E0072, what
`cnnc summary --size` and `cnnc verify --size` print, and the generated
class. tests/test_symbolic_property.py holds the random programs.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

import cnndsl
from cnndsl.cli import main as cli
from cnndsl.compiler import instantiate

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def check(text):
    return cnndsl.check_program(text, "sym.cnn")


def errors(text):
    return [d for d in check(text).diagnostics if d.is_error]


def run(*args):
    """`cnnc ARGS` in this process: exit code, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


# -- the types, printed --------------------------------------------------------

TYPES = [
    # (program after the input line, the input, each leaf layer's output type)
    ("conv 64 k3 p1", "HxWx3", ["HxWx64"]),
    ("conv 64 k3 p1; pool 2", "HxWx3", ["HxWx64", "H//2 x W//2 x 64"]),
    ("conv 64 k3 s2 p1", "HxWx3", ["(H+1)//2 x (W+1)//2 x 64"]),
    ("conv 64 k3", "HxWx3", ["H-2 x W-2 x 64"]),
    ("conv 8 k3 p1 relu; conv 8 k3 same d2; bn", "HxWx3", ["HxWx8", "HxWx8", "HxWx8", "HxWx8"]),
    ("conv 8 k3 s2 p1; conv 8 k3 s2 p1", "HxWx3", ["(H+1)//2 x (W+1)//2 x 8", "(H+3)//4 x (W+3)//4 x 8"]),
    ("conv 8 k5; pool 2", "HxWx3", ["H-4 x W-4 x 8", "(H-4)//2 x (W-4)//2 x 8"]),
    ("pool 2 ceil", "HxWx3", ["(H+1)//2 x (W+1)//2 x 3"]),  # ceil(H/2), simplified
    ("pool 3 s2 p1 ceil", "HxWx3", ["(H+2)//2 x (W+2)//2 x 3"]),
    ("conv 8 k3 s1x2 p0x1", "HxWx3", ["H-2 x (W+1)//2 x 8"]),
    ("conv 8 k7 s2 p3", "224xWx3", ["112 x (W+1)//2 x 8"]),
    ("conv 8 k3 s2", "HxHx3", ["(H-1)//2 x (H-1)//2 x 8"]),
    ("conv 8 k3 s2 p1", "IMG_HxIMG_Wx3", ["(IMG_H+1)//2 x (IMG_W+1)//2 x 8"]),
    ("conv 8 k3 s2 p1; pool to 7; flatten; linear 10", "HxWx3", ["(H+1)//2 x (W+1)//2 x 8", "7x7x8", "392", "10"]),
    ("conv 16 k3 p1; avgpool to 1; flatten; linear 10", "HxWx3", ["HxWx16", "1x1x16", "16", "10"]),
]


@pytest.mark.parametrize("body, given, expected", TYPES)
def test_symbolic_types_print_readably(body, given, expected):
    program = check(f"input {given}\n" + body.replace("; ", "\n") + "\n")
    assert program.ok, [d.message for d in program.diagnostics]
    assert program.symbolic and str(program.input) == given
    assert [str(layer.output) for layer in program.layers] == expected
    assert str(program.output) == expected[-1]


def test_macs_are_expressions_and_parameters_numbers():
    program = check("input HxWx3\nconv 64 k3 p1\nconv 8 k3 s2 p1\navgpool to 1\nflatten\nlinear 10\n")
    assert [format(layer.macs, ",") for layer in program.layers[:2]] == ["1,728*H*W", "4,608*((H+1)//2)*((W+1)//2)"]
    assert program.total_params == 64 * 28 + 8 * (64 * 9 + 1) + 8 * 10 + 10  # no symbol in a parameter count
    at = instantiate(program, 97, 131)
    assert at.total_macs == 1728 * 97 * 131 + 4608 * 49 * 66 + 80 == program.total_macs.at({"H": 97, "W": 131})


# -- bounds: written, computed, and what is admissible -------------------------


def test_a_bound_not_written_is_the_smallest_size_every_layer_takes():
    program = check("input HxWx3\nconv 8 k5\npool 2\n")
    h, w = program.symbols["H"], program.symbols["W"]
    assert (h.bound, h.given, w.bound, w.given) == (6, False, 6, False)  # k5 leaves 2, pool 2 needs 2
    assert h.describe() == "H >= 6 (computed: the smallest size every layer accepts)"
    assert program.smallest_size() == (6, 6)
    assert check("input HxWx3\nconv 8 k3 s2 p1\n").symbols["H"].bound == 1
    assert check("input HxWx3\nconv 8 k3 d4; conv 8 k3\n".replace("; ", "\n")).symbols["W"].bound == 11


def test_written_bounds_and_what_they_admit():
    program = check("input HxWx3 where H >= 32, W >= 40\nconv 16 k3\n")
    assert program.ok and [(s.name, s.bound, s.given) for s in program.symbols.values()] == [("H", 32, True), ("W", 40, True)]
    assert program.sizes_for(32, 40) == {"H": 32, "W": 40}
    with pytest.raises(ValueError, match="height 31 is below the bound H >= 32"):
        program.sizes_for(31, 40)
    square = check("input HxHx3\nconv 8 k3\n")
    assert list(square.symbols) == ["H"] and square.symbols["H"].axes == ("height", "width")
    with pytest.raises(ValueError, match="H is both the height and the width"):
        square.sizes_for(8, 9)
    mixed = check("input 224xWx3\nconv 8 k3\n")
    with pytest.raises(ValueError, match="fixed at 224"):
        mixed.sizes_for(225, 9)
    assert mixed.smallest_size() == (224, 3) and instantiate(mixed, 224, 5).layers[0].output.torch_shape == (8, 222, 3)


def test_a_fixed_size_program_has_no_symbols():
    program = check("input 32x32x3\nconv 8 k3\n")
    assert program.symbols == {} and not program.symbolic and program.total_macs == 8 * 27 * 30 * 30


# -- residuals: equal for every size, or a size where not ----------------------


def test_residual_equal_for_every_size_is_accepted():
    # A stride-2 3x3 with padding 1 and a stride-2 1x1 shortcut: (H+1)//2 both, for every H.
    program = check("input HxWx3\nconv 8 k1\nresidual { conv 8 k3 s2 p1; bn } shortcut { conv 8 k1 s2 }\n")
    assert program.ok and program.diagnostics == []
    assert str(program.output) == "(H+1)//2 x (W+1)//2 x 8"
    for shortcut in ("pool 2 ceil", "avgpool 3 s2 p1", "conv 8 k5 s2 p2"):  # the same size, written otherwise
        assert errors(f"input HxWx3\nconv 8 k1\nresidual {{ conv 8 k3 s2 p1 }} shortcut {{ {shortcut} }}\n") == [], shortcut


def test_residual_that_differs_for_some_size_names_one():
    (d,) = errors("input HxWx3\nconv 8 k1\nresidual { conv 8 k3 s2 p1; bn } shortcut { pool 2 }\n")
    assert d.code == "E0050" and d.line == 3
    assert d.message == "residual adds the body's (H+1)//2 x (W+1)//2 x 8 feature map to the shortcut's H//2 x W//2 x 8 feature map"
    # (H+1)//2 and H//2 agree for even H: the first size where they differ is H = 3 (the bound is 2).
    assert any(note.startswith("for H = 3 the body's height is 2 and the other path's 1") for note in d.notes), d.notes
    assert any(note.startswith("for W = 3 the body's width is 2 and the other path's 1") for note in d.notes), d.notes
    assert d.help == "replace the shortcut with a 1x1 projection: shortcut { conv 8 k1 s2 nobias; bn }"


def test_residual_difference_is_named_from_the_written_bound():
    # Equal below 20 would not matter: the named size is admissible.
    (d,) = errors("input HxWx3 where H >= 20, W >= 21\nconv 8 k1\nresidual { conv 8 k3 s2 p1 } shortcut { pool 2 }\n")
    named = [re.match(r"for ([HW]) = (\d+) ", note) for note in d.notes]
    assert [(m[1], int(m[2])) for m in named if m] == [("H", 21), ("W", 21)]


def test_residual_against_a_fixed_size_and_an_identity():
    (d,) = errors("input HxWx3\nconv 8 k1\nresidual { conv 8 k3 s2 p1 }\n")
    assert d.code == "E0050" and "identity shortcut's HxWx8" in d.message
    assert d.help == "add a 1x1 projection shortcut: shortcut { conv 8 k1 s2 nobias; bn }"
    (d,) = errors("input HxWx3\nconv 8 k1\nresidual { conv 8 k3 s2 p1 } shortcut { pool to 4 }\n")
    assert d.code == "E0050" and "shortcut's 4x4x8" in d.message


def test_residual_never_equal_does_not_claim_some_sizes_agree():
    (d,) = errors("input HxWx3\nconv 4 k1\nresidual { conv 4 k3 }\n")
    assert d.code == "E0050"
    assert not any("equal for some sizes" in note for note in d.notes), d.notes


# -- E0070: the symbolic input written wrongly ---------------------------------

E0070 = [
    # (input line, the message, where it points: (column, end column))
    ("input hxwx3", "the height 'h' is neither a number nor a size symbol", (7, 12)),
    ("input Hxwx3", "the width 'w' is neither a number nor a size symbol", (7, 12)),
    ("input _HxWx3", "the height '_H' is neither a number nor a size symbol", (7, 13)),
    ("input HxWxC", "the channels must be a number, but are the symbol 'C'", (7, 12)),
    ("input HxWx3 where Q >= 3", "'Q' is not a size symbol of this input", (19, 20)),
    ("input HxWx3 where h >= 3", "'h' is not a size symbol of this input", (19, 20)),
    ("input HxWx3 where C >= 3", "'C' is not a size symbol of this input", (19, 20)),
    ("input HxHx3 where H >= 4, W >= 4", "'W' is not a size symbol of this input", (27, 28)),
    ("input HxWx3 where H >= 3, H >= 4", "the symbol H is bounded twice", (27, 33)),
    ("input 32x32x3 where H >= 3", "'where' bounds size symbols, but this input has none", (21, 27)),
]


@pytest.mark.parametrize("line, message, columns", E0070)
def test_e0070_symbolic_input_written_wrongly(line, message, columns):
    (d,) = errors(line + "\nconv 4 k3\n")
    assert (d.code, d.message, d.line, (d.column, d.end_column)) == ("E0070", message, 1, columns)


def test_e0070_help_and_notes():
    (d,) = errors("input hxwx3\n")
    assert d.help == "write it like: input HxWx3"
    assert d.notes == ("a size symbol is upper case: letters A-Z, digits and _, starting with a letter (H, W, IMG_H)",)
    (d,) = errors("input HxWxC\n")
    assert d.help == "write it like: input HxWx3"
    assert d.notes == ("the first layer's weights depend on the channel count, so it cannot vary",)
    (d,) = errors("input HxWx3 where h >= 3\n")
    assert d.help == "did you mean 'H'?" and d.notes == ("the input's symbols are H, W",)
    (d,) = errors("input HxWx3 where H >= 3, H >= 4\n")
    assert d.help == "keep one bound per symbol"
    assert [(r.column, r.message) for r in d.related] == [(19, "first bound here")]


@pytest.mark.parametrize(
    "bound, code, message",
    [
        ("0", "E0035", "the bound of H must be a whole number of at least 1, but is '0'"),
        ("-1", "E0035", "the bound of H must be a whole number of at least 1, but is '-1'"),
        ("3.5", "E0035", "the bound of H must be a whole number of at least 1, but is '3.5'"),
        ("W", "E0035", "the bound of H must be a whole number of at least 1, but is 'W'"),
        ("99999999999", "E0061", "the bound H >= 99999999999 is beyond any size PyTorch can build (2**31 - 1)"),
        ("2147483648", "E0061", "the bound H >= 2147483648 is beyond any size PyTorch can build (2**31 - 1)"),
    ],
)
def test_bounds_that_are_not_sizes(bound, code, message):
    (d,) = errors(f"input HxWx3 where H >= {bound}\nconv 4 k3\n")
    assert (d.code, d.message, d.column) == (code, message, 24)
    # The program is still checked, with the bound computed as if none were written.
    program = check(f"input HxWx3 where H >= {bound}\nconv 4 k3\n")
    assert program.symbols["H"].bound == 3 and not program.symbols["H"].given


@pytest.mark.parametrize(
    "line",
    ["input HxWx3 where H > 3", "input HxWx3 where H = 3", "input HxWx3 where 3 <= H", "input HxWx3 where",
     "input HxWx3 where H >= 32 W >= 32", "input HxWx3 where H >= 3 where W >= 3", "input HxWx3 where H >= 10**40"],
)
def test_where_clauses_that_do_not_parse_are_syntax_errors(line):
    (d,) = errors(line + "\nconv 4 k3\n")
    assert d.code == "E0001" and d.line == 1


def test_a_trailing_comma_in_where_asks_for_a_bound():
    (d,) = errors("input HxWx3 where H >= 3,\nconv 4 k3\n")
    assert d.code == "E0001" and "bound" in d.message and "name" not in d.message, d.message


# -- E0071: a size that can vanish ---------------------------------------------


def test_e0071_names_the_largest_failing_size_and_the_bound_that_fixes_it():
    program = check("network Shrinks\ninput HxWx3 where H >= 6, W >= 8\nconv 16 k3\nconv 32 k3\nconv 64 k5\n")
    first, second = [d for d in program.diagnostics if d.is_error]
    assert (first.code, first.line, first.message) == ("E0071", 5, "for H = 8, the output height after line 5 is 0")
    assert first.label == "this convolution window's output height H-8 is 0 for H = 8"
    assert first.notes == (
        "height: (H-4 + 2*0 - 5)/1 + 1 = H-8",
        "it is below 1 for every H from 6 to 8, and at least 1 from H = 9 on",
    )
    assert first.help == "require H >= 9 on the input line (where H >= 9), or pad this layer"
    assert [(r.line, r.column, r.message) for r in first.related] == [(2, 19, "H >= 6 admits H = 8")]
    assert (second.code, second.message) == ("E0071", "for W = 8, the output width after line 5 is 0")
    assert second.help == "require W >= 9 on the input line (where W >= 9), or pad this layer"
    # The bound the help gives fixes it; one less still fails.
    assert check("input HxWx3 where H >= 9, W >= 9\nconv 16 k3\nconv 32 k3\nconv 64 k5\n").ok
    assert not check("input HxWx3 where H >= 8, W >= 9\nconv 16 k3\nconv 32 k3\nconv 64 k5\n").ok


def test_e0071_keeps_the_written_bound_as_the_programs():
    program = check("input HxWx3 where H >= 6, W >= 8\nconv 16 k3\nconv 32 k3\nconv 64 k5\n")
    assert [(s.name, s.bound, s.given) for s in program.symbols.values()] == [("H", 6, True), ("W", 8, True)]


def test_e0071_related_label_quotes_the_written_bound():
    program = check("input HxWx3 where H >= 1\nconv 4 k3\npool 2\n")
    reports = [d for d in program.diagnostics if d.code == "E0071"]
    assert [d.message for d in reports] == [
        "for H = 2, the output height after line 2 is 0",
        "for H = 3, the output height after line 3 is 0",
    ]
    for d in reports:
        (related,) = d.related
        assert related.message.startswith("H >= 1 admits"), related.message


def test_e0071_help_fixes_its_own_layer():
    text = "input HxHx3 where H >= 5\nconv 3 k7x9\n"
    for d in errors(text):
        bound = re.search(r"require H >= (\d+)", d.help)[1]
        fixed = check(text.replace("H >= 5", f"H >= {bound}"))
        assert not [e for e in fixed.diagnostics if e.code == "E0071" and e.line == d.line], (d.help, fixed.diagnostics)


def test_e0071_a_window_that_never_fits():
    (d, e) = errors("input HxWx3\nconv 3 k3 d2000000000\n")
    assert d.code == e.code == "E0071"
    assert d.message == "the convolution window's output height H-4000000000 stays below 1 for every H up to 2**31"
    assert d.help == "use a smaller kernel or dilation"


def test_a_computed_bound_beyond_any_buildable_size_is_an_error():
    program = check("input HxWx3\nrepeat 31 { pool 2 }\n")  # H//2**31 >= 1 needs H >= 2**31
    assert not program.ok, [(s.name, s.bound) for s in program.symbols.values()]
    assert check("input HxWx3\nrepeat 30 { pool 2 }\n").ok  # 2**30 is a size PyTorch can take


def test_no_e0071_without_a_written_bound():
    program = check("input HxWx3\nconv 16 k3\nconv 32 k3\nconv 64 k5\n")
    assert program.ok and program.symbols["H"].bound == 9


# -- E0072 and a vector layer on a symbolic map --------------------------------


def test_e0072_flatten_needs_a_fixed_size():
    (d,) = errors("network AnySize\ninput HxWx3 where H >= 32, W >= 32\nconv 16 k3 p1; relu\nflatten\nlinear 10\n")
    assert (d.code, d.line) == ("E0072", 4)
    assert d.message == "flatten of the HxWx16 feature map gives H*W*16 features, which depends on the input size"
    assert d.help == "add avgpool to 1x1 before flatten, or fix the input size"
    assert d.notes == ("a linear layer after it would need a different weight matrix for every H and W",)
    # One symbol is enough to need it; adaptive pooling or a fixed size makes it go away.
    (d,) = errors("input 224xWx3\nconv 16 k3 p1\nflatten\n")
    assert d.code == "E0072" and "224*W*16" in d.message and d.notes[0].endswith("for every W")
    assert errors("input HxWx3\nconv 16 k3 p1\navgpool to 1x1\nflatten\nlinear 10\n") == []
    assert errors("input HxWx3\nconv 16 k3 p1\npool to 2x3\nflatten\nlinear 10\n") == []


def test_a_linear_layer_on_a_symbolic_map_asks_for_adaptive_pooling():
    (d,) = errors("input HxWx3\nlinear 3\n")
    assert d.code == "E0032" and d.help == (
        "insert `avgpool to 1` and `flatten` before this layer;"
        " or write `linear 3 pixelwise` to apply it to the channels at every position"
    )


# -- W0001 as a condition -------------------------------------------------------


@pytest.mark.parametrize(
    "body, message",
    [
        ("conv 8 k3 p1; pool 2", "for odd H, pool leaves the last row of its input unused, and for odd W the last column"),
        ("conv 8 k3 s2", "for even H, conv leaves the last row of its input unused, and for even W the last column"),
        ("conv 8 k3; pool 2", "for odd H, pool leaves the last row of its input unused, and for odd W the last column"),
        ("pool 4", "for H not a multiple of 4, pool leaves up to the last 3 rows of its input unused, and for W not a multiple of 4 up to the last 3 columns"),
        ("conv 4 k3 s2 p1; avgpool 2", "when H % 4 is 1 or 2, avgpool leaves the last row of its input unused, and when W % 4 is 1 or 2 the last column"),
    ],
)
def test_w0001_is_a_condition_on_the_symbols(body, message):
    (d,) = [d for d in check("input HxWx3\n" + body.replace("; ", "\n") + "\n").diagnostics if d.code == "W0001"]
    assert d.message == message


def test_no_w0001_when_every_size_is_read():
    for body in ("conv 8 k3 s2 p1", "pool 2 ceil", "conv 8 k1 s2", "conv 8 k3 p1"):
        assert check(f"input HxWx3\n{body}\n").diagnostics == [], body


# -- the command line: summary --size, verify --size ---------------------------

NETWORK = """network Tiny
input {input}
conv 8 k3 p1 relu
conv 8 k3 s2 p1; bn; relu
residual {{ conv 8 k3 p1; bn; relu; conv 8 k3 p1 }}
residual {{ conv 16 k3 s2 p1; bn }} shortcut {{ conv 16 k1 s2 }}
avgpool to 1
flatten
linear 10
"""


class Tiny(type(Path())):
    """The network's file, with its symbolic input (warning-free); `.fixed(h, w)` writes a fixed-size copy."""

    def fixed(self, height, width):
        concrete = self.parent / f"tiny_{height}x{width}.cnn"
        concrete.write_text(NETWORK.format(input=f"{height}x{width}x3"))
        return concrete


@pytest.fixture
def tiny(tmp_path):
    path = Tiny(tmp_path / "tiny.cnn")
    path.write_text(NETWORK.format(input="HxWx3 where H >= 16, W >= 16"))
    return path


def test_summary_without_size_shows_symbolic_types(tiny):
    code, out, err = run("summary", tiny)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[1] == "sizes: H >= 16, W >= 16 (given); `//` is floor division"
    assert any("(H+3)//4 x (W+3)//4 x 16" in line for line in lines)
    assert lines[-1] == "MACs and memory depend on the input size: `cnnc summary FILE --size 224x224` gives numbers"


@pytest.mark.parametrize("height, width", [(97, 131), (16, 16), (224, 224)])
def test_summary_at_a_size_equals_the_fixed_size_program(tiny, height, width):
    code, out, err = run("summary", tiny, "--size", f"{height}x{width}")
    # Nothing on stderr but, at 16x16, the note that a field is wider than the input (as for the fixed size).
    expected_code, expected, expected_err = run("summary", tiny.fixed(height, width))
    assert code == 0 and ("note[N0001]" in err) == ("note[N0001]" in expected_err) == (height == 16)
    assert "error" not in err and "warning" not in err
    assert expected_code == 0
    title, *table = out.splitlines()
    assert title == f"Tiny ({tiny}) at H = {height}, W = {width}"
    assert table == expected.splitlines()[1:]  # the same rows, totals and memory figures


def test_summary_json_at_sizes_equals_the_fixed_size_programs(tiny):
    code, out, _ = run("summary", tiny, "--size", "97x131", "33", "--format", "json")
    assert code == 0
    entry = json.loads(out)
    assert entry["symbols"] == {"H": {"bound": 16, "given": True}, "W": {"bound": 16, "given": True}}
    assert entry["total_macs"] is None and entry["input"] == [3, "H", "W"]
    for instance, (height, width) in zip(entry["instances"], [(97, 131), (33, 33)]):
        _, concrete, _ = run("summary", tiny.fixed(height, width), "--format", "json")
        concrete = json.loads(concrete)
        assert instance["sizes"] == {"H": height, "W": width}
        for key in ("input", "output", "layers", "total_params", "total_macs", "memory"):
            assert instance[key] == concrete[key], key


def test_summary_prints_one_table_per_size(tiny):
    code, out, _ = run("summary", tiny, "--size", "16x16,97x131")
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("Tiny (")] == [
        f"Tiny ({tiny}) at H = 16, W = 16",
        f"Tiny ({tiny}) at H = 97, W = 131",
    ]


@pytest.mark.parametrize(
    "size, fixed, message",
    [
        ("15x16", False, "--size 15x16: height 15 is below the bound H >= 16 (given)"),
        ("16x3", False, "--size 16x3: width 3 is below the bound W >= 16 (given)"),
        ("16x", False, "--size takes HxW like 224x224, not '16x'"),
        ("0x16", False, "--size takes HxW like 224x224, not '0x16'"),
        ("abc", False, "--size takes HxW like 224x224, not 'abc'"),
        ("16x16x3", False, "--size takes HxW like 224x224, not '16x16x3'"),
        ("32x32", True, "--size is for a symbolic input (like input HxWx3); this input is fixed at 32x32x3"),
    ],
)
@pytest.mark.parametrize("command", ["summary", "verify"])
def test_size_usage_errors_exit_2_with_one_line(tiny, command, size, fixed, message):
    path = tiny.fixed(32, 32) if fixed else tiny
    code, out, err = run(command, path, "--size", size)
    assert (code, out, err) == (2, "", f"cnnc: error: {message}\n")


def test_verify_at_given_sizes_passes(tiny):
    pytest.importorskip("torch")
    code, out, err = run("verify", tiny, "--size", "32x32", "97x131", "--device", "cpu", "--batch", "1")
    assert code == 0, err
    assert "verified on cpu, batch 1, at 2 input sizes (32x32, 97x131): 15 layers" in out
    assert "(16, (H+3)//4, (W+3)//4)" in out and "(16, 8, 8)" in out and "(16, 25, 33)" in out


def test_verify_at_a_size_too_large_to_build_is_the_users_error(tiny):
    pytest.importorskip("torch")
    code, out, err = run("verify", tiny, "--size", "100000x100000", "--device", "cpu")
    assert code in (1, 2)
    assert "cnnc bug" not in out + err and "too many to build" in err


def test_verify_the_fcn_example_at_given_sizes():
    pytest.importorskip("torch")
    code, out, err = run("verify", EXAMPLES / "fcn.cnn", "--size", "32x32", "97x131", "--device", "cpu", "--batch", "1")
    assert code == 0, err
    assert "at 2 input sizes (32x32, 97x131)" in out and "(21, 4, 4)" in out and "(21, 13, 17)" in out


# -- the generated class ---------------------------------------------------------


def test_generated_class_has_none_for_symbolic_sizes(tiny):
    pytest.importorskip("torch")
    compiled = cnndsl.compile_file(tiny)
    cls = compiled.module_class()
    assert cls.input_shape == (3, None, None) and cls.output_shape == (10,)
    assert cls.smallest_input_shape == (3, 16, 16)
    assert "H >= 16, W >= 16" in cls.__doc__
    mixed = cnndsl.compile_source("network M\ninput 224xWx3\nconv 8 k3 s2 p1\n", "m.cnn").module_class()
    assert mixed.input_shape == (3, 224, None) and mixed.output_shape == (8, 112, None)
    assert mixed.smallest_input_shape == (3, 224, 1)
    fixed = cnndsl.compile_source("network F\ninput 32x32x3\nconv 8 k3\n", "f.cnn").module_class()
    assert fixed.input_shape == (3, 32, 32) and not hasattr(fixed, "smallest_input_shape")
