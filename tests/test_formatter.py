"""The canonical formatter (`cnnc fmt`, cnndsl/formatter.py).

Formatting must never change meaning: the typed program (summary and
diagnostics, line by line) is the same before and after, for every example
and for random programs written with random spacing, comments and `;`.
It is idempotent, keeps comments, and leaves files with syntax errors alone.
"""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnndsl
from cnndsl.formatter import FormatError, format_source
from cnndsl.reports.summary import summarize

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.cnn"))


def meaning(text: str):
    """What formatting must keep: the summary and each diagnostic's code, line and message."""
    program = cnndsl.check_program(text, "net.cnn")
    summary = summarize(program).to_dict() if program.ok else None
    return summary, [(d.code, d.line, d.end_line, d.message) for d in program.diagnostics]


def comments(text: str) -> list[str]:
    return [line[line.index("#"):].rstrip() for line in text.splitlines() if "#" in line]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_keep_their_meaning_and_are_already_canonical(path):
    text = path.read_text(encoding="utf-8")
    formatted = format_source(text, path.name)
    assert meaning(formatted) == meaning(text)
    assert format_source(formatted) == formatted
    assert formatted == text, f"{path.name} is not in the canonical layout (run cnnc fmt)"


GOLDEN_IN = """\
# A messy file.
block  down ( c ,s ) {   # a block
residual{
conv c k3 stride = s  p1 ;;bn ;relu;
    conv c k3 p1; bn
}shortcut {   conv c k1 s2 ; bn }
  relu
    # trailing note
}
network    Messy
input 32x32x3 # in
;conv 16 k3 p1 # first
 down 32 2    # second
    avgpool to 1;flatten # third
linear 10;


"""

GOLDEN_OUT = """\
# A messy file.
block down(c, s) {       # a block
  residual {
    conv c k3 stride=s p1; bn; relu
    conv c k3 p1; bn
  } shortcut { conv c k1 s2; bn }
  relu
  # trailing note
}
network Messy
input 32x32x3          # in
conv 16 k3 p1          # first
down 32 2              # second
avgpool to 1; flatten  # third
linear 10
"""


def test_golden_layout():
    assert format_source(GOLDEN_IN) == GOLDEN_OUT
    assert format_source(GOLDEN_OUT) == GOLDEN_OUT
    assert meaning(GOLDEN_OUT) == meaning(GOLDEN_IN)
    assert comments(GOLDEN_OUT) == comments(GOLDEN_IN)


def test_comment_column_is_kept_or_moved_right_only_as_needed():
    kept = "input 8x8x3            # in\nconv 4 k3              # c\n"
    assert format_source(kept) == kept
    crowded = "input 8x8x3 # in\nconv 4 k3 p1 relu # c\n"
    assert format_source(crowded) == "input 8x8x3        # in\nconv 4 k3 p1 relu  # c\n"
    # A blank line starts a new paragraph with its own column.
    split = "input 8x8x3 # in\n\nconv 4 k3 p1 relu   # c\n"
    assert format_source(split) == "input 8x8x3  # in\n\nconv 4 k3 p1 relu   # c\n"


def test_line_endings_bom_and_non_ascii_comments_are_kept():
    crlf = "input 8x8x3   # é 😀\r\nconv 4  k3\r\n"
    assert format_source(crlf) == "input 8x8x3   # é 😀\r\nconv 4 k3\r\n"
    bom = "\ufeffinput 8x8x3\nrelu\n"
    assert format_source(bom) == bom
    assert format_source("") == "" and format_source("\n\n") == ""


@pytest.mark.parametrize(
    "text",
    ["input 8x8x3\nconv 4 @ k3\n", "input 8x8x3\nrepeat 2 { conv 4 k3\n", "block a( { }\n", "}\n", "conv 4 k3 = =\n"],
)
def test_syntax_errors_leave_the_text_alone(text):
    with pytest.raises(FormatError) as error:
        format_source(text)
    assert error.value.diagnostics and all(d.code == "E0001" for d in error.value.diagnostics)


def test_type_errors_do_not_stop_formatting():
    text = "input 3x3x3\nconv  8 k5\nlinear   2\n"
    assert format_source(text) == "input 3x3x3\nconv 8 k5\nlinear 2\n"


@pytest.mark.parametrize(
    "messy",
    [
        "input   HxWx3   where H>=32 ,W >=  32\n",
        "input HxWx3 where\tH >=32,W>= 32\n",
        "input HxWx3 where H >= 32 , W >= 32;\n",
        ";input HxWx3 where H >= 32, W >= 32 ;;\n",
    ],
)
def test_where_clauses_take_their_canonical_form(messy):
    canonical = "input HxWx3 where H >= 32, W >= 32\n"
    tail = "conv 8 k3 s2 p1 relu\navgpool to 1\nflatten\nlinear 10\n"
    assert format_source(messy + tail) == canonical + tail
    assert format_source(canonical + tail) == canonical + tail  # a fixed point
    assert meaning(messy + tail) == meaning(canonical + tail)
    summary, _ = meaning(canonical + tail)
    assert summary["symbols"] == {"H": {"bound": 32, "given": True}, "W": {"bound": 32, "given": True}}


def test_symbolic_inputs_round_trip_with_comments_and_errors():
    text = "network  S\ninput 224xWx3   where   W >= 8   # any width\nconv 4  k3 # c\n"
    # The comments keep their column (the paragraph's first), the clause its canonical spacing.
    assert format_source(text) == "network S\ninput 224xWx3 where W >= 8       # any width\nconv 4 k3                        # c\n"
    assert format_source(format_source(text)) == format_source(text)
    # Type errors (a bound too small, E0071) do not stop formatting; the bound stays as written.
    small = "input HxWx3 where H>=4,W>=4\nconv 64  k7\n"
    assert {d.code for d in cnndsl.check_program(small).diagnostics} == {"E0071"}
    assert format_source(small) == "input HxWx3 where H >= 4, W >= 4\nconv 64 k7\n"


# -- random programs ---------------------------------------------------------

LAYERS = [
    "conv {c} k{k}", "conv {c} k{k} p{p}", "conv {c} k3 s2 p1 relu", "conv {c} kernel = {k} padding = {p}",
    "conv {c} k{k} same nobias", "conv {c} k1 g1 d1", "pool 2", "maxpool 3 s2 p1", "avgpool 2 ceil",
    "avgpool to 2", "bn", "batchnorm", "relu", "leakyrelu 0.2", "gelu", "dropout 0.25",
]
VECTOR = ["linear {c}", "fc {c} relu", "dense {c} nobias", "relu", "bn", "dropout 0.5", "softmax"]


def _pad(rng: random.Random) -> str:
    return rng.choice([" ", " ", "  ", "\t", "   "])


def _words(rng: random.Random, statement: str) -> str:
    words = statement.split(" ")
    out = words[0]
    for word in words[1:]:
        out += ("" if word == "=" or out.endswith("=") and rng.random() < 0.5 else _pad(rng)) + word
    return out


def _statement(rng: random.Random, vector: bool) -> str:
    template = rng.choice(VECTOR if vector else LAYERS)
    return template.format(c=rng.choice([4, 8, 16]), k=rng.choice([1, 3, 5]), p=rng.choice([0, 1, 2]))


def random_program(seed: int) -> str:
    rng = random.Random(seed)
    lines: list[str] = []
    if rng.random() < 0.6:
        # `kk`: the kernel option `k` glued to the parameter `k`.
        lines += ["block unit ( c ,k ) {", f"{_pad(rng)}conv c kk p1;{_pad(rng)}bn",
                  "relu ; }" if rng.random() < 0.5 else "}"]
    if rng.random() < 0.5:
        lines.append(f"network{_pad(rng)}Random{rng.randint(0, 9)}")
    if rng.random() < 0.25:  # a symbolic input, its bounds spaced at random
        bounds = [f"{name}{_pad(rng) * rng.randint(0, 1)}>={_pad(rng) * rng.randint(0, 1)}{rng.choice([16, 32])}"
                  for name in rng.sample(["H", "W"], rng.randint(0, 2))]
        where = f"{_pad(rng)}where{_pad(rng)}" + rng.choice([",", " ,", ", "]).join(bounds) if bounds else ""
        lines.append(f"input{_pad(rng)}HxWx{rng.choice([1, 3])}{where}")
    else:
        lines.append(f"input {rng.choice([16, 24, 32])}x{rng.choice([16, 32])}x{rng.choice([1, 3])}")
    vector = False
    for _ in range(rng.randint(1, 12)):
        roll = rng.random()
        if roll < 0.1 and not vector and lines[0].startswith("block"):
            statement = f"unit {rng.choice([4, 8])} {rng.choice([1, 3])}"
        elif roll < 0.2 and not vector:
            inner = "; ".join(_statement(rng, False) for _ in range(rng.randint(1, 2)))
            statement = f"repeat {rng.randint(0, 2)}{_pad(rng)}{{ {inner} }}"
        elif roll < 0.3 and not vector:
            body = f"conv {rng.choice([3, 8])} k3 p1; bn"
            shortcut = rng.choice(["", " shortcut { conv 8 k1 }", "\nshortcut {\n bn\n}"])
            statement = f"residual {{\n{_pad(rng)}{body}\n}}{shortcut}"
        elif roll < 0.4 and not vector:
            statement, vector = "flatten", True
        else:
            statement = _statement(rng, vector)
        statement = _words(rng, statement)
        if lines and rng.random() < 0.25 and "\n" not in statement and "\n" not in lines[-1] and "#" not in lines[-1]:
            lines[-1] += rng.choice([";", " ;", ";;", "; "]) + statement
        else:
            lines.append(_pad(rng) * rng.randint(0, 2) + statement)
        if rng.random() < 0.3:
            lines[-1] += _pad(rng) * rng.randint(0, 6) + f"# note {rng.randint(0, 99)} é"
        if rng.random() < 0.15:
            lines.append(rng.choice(["", "   ", "# a comment line", "  ;"]))
    return "\n".join(lines) + rng.choice(["\n", "", "\n\n  \n"])


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_random_programs_keep_their_meaning_and_format_idempotently(seed):
    text = random_program(seed)
    try:
        formatted = format_source(text)
    except FormatError:
        pytest.fail(f"the generator wrote a syntax error:\n{text}")
    assert meaning(formatted) == meaning(text), f"meaning changed:\n{text}\n---\n{formatted}"
    assert format_source(formatted) == formatted
    assert comments(formatted) == comments(text)
    assert len(formatted.splitlines()) <= len(text.splitlines())


def test_random_programs_are_not_trivial():
    """The generator must produce programs that type-check, or the test above proves little."""
    programs = [cnndsl.check_program(random_program(seed)) for seed in range(200)]
    assert sum(program.ok for program in programs) > 60
    assert sum(program.ok and program.symbolic and any(s.given for s in program.symbols.values())
               for program in programs) > 5  # symbolic inputs with written bounds, formatted too


# -- cnnc fmt ----------------------------------------------------------------


def run(*args, input=None):
    return subprocess.run([sys.executable, "-m", "cnndsl", "fmt", *args], capture_output=True, input=input)


def test_cli_formats_in_place_and_checks(tmp_path):
    messy = tmp_path / "messy.cnn"
    messy.write_bytes(GOLDEN_IN.encode())
    clean = tmp_path / "clean.cnn"
    clean.write_bytes(GOLDEN_OUT.encode())
    check = run("--check", str(messy), str(clean))
    assert check.returncode == 1 and f"would reformat {messy}".encode() in check.stderr
    assert messy.read_bytes() == GOLDEN_IN.encode()
    assert run("--check", str(clean)).returncode == 0
    done = run(str(messy), str(clean))
    assert done.returncode == 0, done.stderr
    assert messy.read_bytes() == GOLDEN_OUT.encode() and clean.read_bytes() == GOLDEN_OUT.encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.cnn", "messy.cnn"]  # no temporary left


def test_cli_leaves_files_with_syntax_errors_unchanged(tmp_path):
    broken = tmp_path / "broken.cnn"
    original = b"input 8x8x3\nconv   4 @ k3\n"
    broken.write_bytes(original)
    result = run(str(broken))
    assert result.returncode == 1
    assert b"error[E0001]" in result.stderr and b"was not formatted" in result.stderr
    assert broken.read_bytes() == original
    latin1 = tmp_path / "latin1.cnn"
    latin1.write_bytes("input 8x8x3 # caf\xe9\n".encode("latin-1"))
    assert run(str(latin1)).returncode == 1 and b"E0002" in run(str(latin1)).stderr
    assert run(str(tmp_path / "missing.cnn")).returncode == 2


def test_cli_filters_stdin_to_stdout():
    result = run("-", input=b"input  8x8x3\r\nrelu ;\r\n")
    assert result.returncode == 0 and result.stdout == b"input 8x8x3\r\nrelu\r\n"
