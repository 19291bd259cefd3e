"""Blocks, repeat and residual: expansion, types, and the mistakes in them."""

import time

import cnndsl


def check(text):
    return cnndsl.check_program(text, "net.cnn")


def codes(text):
    return [(d.code, d.line) for d in check(text).diagnostics if d.is_error]


def errors(text):
    return [d for d in check(text).diagnostics if d.is_error]


VGG = """\
block vgg(c, n) {
  repeat n {
    conv c k3 p1 relu
  }
  pool 2
}
input 32x32x3
vgg 16 2
vgg 32 1
"""


def test_blocks_expand_with_their_arguments_and_remember_the_call():
    program = check(VGG)
    assert program.ok
    assert [str(l.output) for l in program.layers] == [
        "32x32x16", "32x32x16", "32x32x16", "32x32x16", "16x16x16", "16x16x32", "16x16x32", "8x8x32",
    ]
    first = program.layers[0]
    assert first.line == 3 and [c.line for c in first.calls] == [8]
    assert first.calls[0].text == "vgg 16 2"
    summary = cnndsl.compile_source(VGG, "net.cnn").summary.to_dict()
    assert summary["layers"][0]["line"] == 3 and summary["layers"][0]["called_at"] == [8]
    assert summary["layers"][-1]["called_at"] == [9]


def test_nested_repeats_and_blocks_calling_blocks():
    text = """\
block unit(c) { conv c k1; relu }
block pair(c, n) { repeat n { repeat 2 { unit c } } }
input 8x8x4
pair 6 3
"""
    program = check(text)
    assert program.ok
    assert len(program.layers) == 2 * 2 * 3
    assert [c.text for c in program.layers[0].calls] == ["pair 6 3", "unit c"]


def test_parameter_in_long_form_option_and_as_repeat_count():
    program = check("block b(f, n) {\n repeat n { conv 4 kernel=f stride=1 }\n}\ninput 16x16x1\nb 3x5 2\n")
    assert program.ok
    assert str(program.output) == "12x8x4"


def test_residual_types_and_generated_class():
    text = "input 8x8x4\nresidual {\n conv 4 k3 p1; bn; relu\n conv 4 k3 p1; bn\n}\nrelu\nresidual { conv 8 k3 s2 p1 } shortcut { conv 8 k1 s2 }\n"
    program = check(text)
    assert program.ok
    assert str(program.output) == "4x4x8"
    assert len(program.layers) == 5 + 1 + 2


def test_shortcut_on_the_next_line_belongs_to_the_residual():
    same_line = check("input 8x8x4\nresidual { conv 8 k1 } shortcut { conv 8 k1 }\n")
    next_line = check("input 8x8x4\nresidual { conv 8 k1 }\nshortcut { conv 8 k1 }\n")
    assert same_line.ok and next_line.ok
    assert same_line.total_params == next_line.total_params == 2 * (8 * 4 + 8)


def test_error_inside_a_block_points_inside_and_names_the_call():
    text = "block down(c) {\n  conv c k5\n}\ninput 4x4x3\ndown 8\n"
    (diagnostic,) = check(text).diagnostics
    assert (diagnostic.code, diagnostic.line) == ("E0030", 2)
    assert "in down 8, called at line 5" in diagnostic.notes
    assert [r.line for r in diagnostic.related] == [5]


def test_the_same_mistake_in_several_calls_is_reported_once():
    text = "block b(c) { conv c kk3 }\ninput 8x8x3\nb 4\nb 5\nb 6\n"
    assert codes(text) == [("E0011", 1)]


def test_unknown_block_with_did_you_mean():
    (diagnostic,) = errors("block vgg(c) { conv c k3 }\ninput 8x8x3\nvggg 4\n")
    assert diagnostic.code == "E0010" and diagnostic.help == "did you mean 'vgg'?"


def test_wrong_number_of_arguments():
    (diagnostic,) = check(VGG.replace("vgg 32 1", "vgg 32")).diagnostics
    assert (diagnostic.code, diagnostic.line) == ("E0040", 9)
    assert "takes 2 arguments, but 1 was given" in diagnostic.message
    assert [r.line for r in diagnostic.related] == [1]


def test_parameter_used_where_it_is_not_defined():
    (diagnostic,) = check("block b(c) { conv n k3 }\ninput 8x8x3\nb 4\n").diagnostics
    assert diagnostic.code == "E0042" and "'n' is not a parameter" in diagnostic.message


def test_recursion_direct_and_indirect():
    direct = check("block a(c) { conv c k1; a c }\ninput 8x8x3\na 4\n").diagnostics
    assert [d.code for d in direct] == ["E0041"]
    indirect = check("block a(c) { b c }\nblock b(c) { a c }\ninput 8x8x3\na 4\n").diagnostics
    assert [d.code for d in indirect] == ["E0041"]
    assert "a -> b -> a" in indirect[0].message


def test_residual_mismatch_names_both_types_and_suggests_a_projection():
    (diagnostic,) = check("input 56x56x64\nresidual { conv 128 k3 s2 p1 nobias; bn }\n").diagnostics
    assert diagnostic.code == "E0050"
    assert "28x28x128" in diagnostic.message and "56x56x64" in diagnostic.message
    assert diagnostic.help.endswith("shortcut { conv 128 k1 s2 nobias; bn }")
    fixed = check("input 56x56x64\nresidual { conv 128 k3 s2 p1 nobias; bn }\nshortcut { conv 128 k1 s2 nobias; bn }\n")
    assert fixed.ok


def test_expansion_limit_is_checked_before_expanding():
    start = time.perf_counter()
    diagnostics = check("input 8x8x3\nrepeat 1000000 { repeat 1000000 { repeat 1000000 { relu } } }\n").diagnostics
    assert time.perf_counter() - start < 2
    assert [d.code for d in diagnostics] == ["E0060"]
    blocks = "block a(n) { repeat n { relu } }\nblock b(n) { repeat n { a n } }\ninput 8x8x3\nb 100000\n"
    start = time.perf_counter()
    assert [d.code for d in check(blocks).diagnostics] == ["E0060"]
    assert time.perf_counter() - start < 2


def test_misplaced_statements():
    assert codes("input 8x8x3\nrepeat 2 { input 8x8x3 }\n") == [("E0024", 2)]
    assert codes("input 8x8x3\nshortcut { relu }\n") == [("E0024", 2)]
    assert codes("input 8x8x3\nrepeat 1 { block b(c) { relu } }\n") == [("E0024", 2)]


def test_block_names_that_are_taken():
    assert [d.code for d in errors("block conv(c) { relu }\ninput 8x8x3\n")] == ["E0043"]
    assert [d.code for d in errors("block b(c) { relu }\nblock b(c) { relu }\ninput 8x8x3\n")] == ["E0043"]
