"""Options go before or after the file arguments, for every subcommand.

`cnnc summary --size 224x224 net.cnn` once stopped with "the following
arguments are required: FILE": --size takes several sizes and swallowed the
file. Each subcommand here is run with its options after the file and before
it (and for --size: one list, a repeated --size, a comma list), and every form
must do the same thing. (`cnnc explain CODE` and `cnnc lsp` take no options.)
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cnndsl.cli.main import COMMANDS, build_parser, main, split_size_lists

ROOT = Path(__file__).resolve().parent.parent
QUIZ = ROOT / "examples" / "quiz.cnn"

TINY = """network Tiny
input HxWx3 where H >= 16, W >= 16
conv 8 k3 s2 p1; bn; relu
avgpool to 1
flatten
linear 10
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny.cnn"
    path.write_text(TINY)
    return str(path)


def run(capsys, *argv):
    code = main([str(word) for word in argv])
    out, err = capsys.readouterr()
    return code, out, err


def same_for_every_form(capsys, forms, streams=3):
    """Run each argument list; all must give the first one's exit code and output
    (with streams=2: exit code and stdout)."""
    results = [run(capsys, *form)[:streams] for form in forms]
    for form, result in zip(forms, results):
        assert result == results[0], form
    return results[0]


def test_check(capsys, tmp_path):
    bad = tmp_path / "bad.cnn"
    bad.write_text("input 12x12x3\npool 4\nconv 20 k5\n")
    code, out, _ = same_for_every_form(
        capsys,
        [
            ["check", "--format", "json", QUIZ, bad],
            ["check", QUIZ, bad, "--format", "json"],
            ["check", QUIZ, "--format", "json", bad],  # files on both sides of an option
            ["check", "--format=json", QUIZ, bad],
        ],
    )
    assert code == 1 and '"E0030"' in out


def test_summary(capsys):
    code, out, _ = same_for_every_form(
        capsys,
        [
            ["summary", "--explain", "--batch", "4", "--dtype", "float16", QUIZ],
            ["summary", QUIZ, "--explain", "--batch", "4", "--dtype", "float16"],
            ["summary", "--batch", "4", QUIZ, "--dtype", "float16", "--explain"],
        ],
    )
    assert code == 0 and "(130 + 2*0 - 3)/1 + 1 = 128" in out


@pytest.mark.parametrize(
    "options, tables",
    [
        (["--size", "224x224"], 1),
        (["--size", "224x224", "97x131", "33"], 3),
        (["--size", "224x224", "--size", "97x131"], 2),
        (["--size=224x224", "97x131"], 2),
        (["--size", "224x224,97x131"], 2),
        (["--size", "224x224", "--explain"], 1),
    ],
)
def test_summary_size_before_and_after_the_file(capsys, tiny, options, tables):
    code, out, err = same_for_every_form(
        capsys,
        [
            ["summary", tiny, *options],
            ["summary", *options, tiny],
            ["summary", *options, "--", tiny],  # `--` ends the options, as usual
        ],
    )
    assert code == 0 and err == ""
    assert out.count("Tiny (") == tables


def test_summary_json_with_sizes_before_the_file(capsys, tiny):
    code, out, _ = same_for_every_form(
        capsys,
        [
            ["summary", tiny, "--format", "json", "--size", "224x224", "97x131"],
            ["summary", "--size", "224x224", "97x131", "--format", "json", tiny],
            ["summary", "--format", "json", "--size", "224x224", "97x131", tiny],
        ],
    )
    assert code == 0 and len(json.loads(out)["instances"]) == 2


def test_a_size_list_ends_at_the_first_word_that_is_not_a_size():
    assert split_size_lists(["summary", "--size", "224x224", "97x131", "net.cnn", "--explain"]) == [
        "summary",
        "--size=224x224",
        "--size=97x131",
        "net.cnn",
        "--explain",
    ]
    # The first word is always --size's value (a bad one is reported as a bad size).
    assert split_size_lists(["verify", "--size", "huge", "net.cnn"]) == ["verify", "--size=huge", "net.cnn"]
    # A missing value, `--`, other subcommands and the abbreviation argparse allows.
    assert split_size_lists(["summary", "net.cnn", "--size"]) == ["summary", "net.cnn", "--size"]
    assert split_size_lists(["summary", "--", "--size", "1"]) == ["summary", "--", "--size", "1"]
    assert split_size_lists(["draw", "--size", "64", "net.cnn"]) == ["draw", "--size", "64", "net.cnn"]
    assert split_size_lists(["build", "--si", "64", "80", "n.cnn"]) == ["build", "--size=64", "--size=80", "n.cnn"]


def test_size_errors_are_as_before(capsys, tiny):
    assert run(capsys, "summary", tiny, "--size", "32x32", "16x")[2] == "cnnc: error: --size takes HxW like 224x224, not '16x'\n"
    assert run(capsys, "summary", "--size", "abc", tiny)[2] == "cnnc: error: --size takes HxW like 224x224, not 'abc'\n"
    with pytest.raises(SystemExit) as exit:
        main(["summary", tiny, "--size"])
    assert exit.value.code == 2 and "expected at least one argument" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit:
        main(["summary", tiny, str(QUIZ)])
    assert exit.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err


def test_build(capsys, tmp_path):
    outputs = [tmp_path / f"out{index}.py" for index in range(3)]
    forms = [
        ["build", "-o", outputs[0], "--no-verify", QUIZ],
        ["build", QUIZ, "-o", outputs[1], "--no-verify"],
        ["build", "--no-verify", QUIZ, "--output", outputs[2]],
    ]
    results = [run(capsys, *form) for form in forms]
    assert [code for code, _, _ in results] == [0, 0, 0]
    texts = {path.read_text() for path in outputs}
    assert texts == {(ROOT / "examples" / "quiz.py").read_text()}


@pytest.mark.parametrize("command", ["build", "verify"])
def test_build_and_verify_with_sizes(capsys, tmp_path, tiny, command):
    pytest.importorskip("torch")
    common = ["--device", "cpu", "--batch", "1"]
    forms = [
        [command, *common, "--size", "16x16", "33x17", tiny],
        [command, tiny, *common, "--size", "16x16", "33x17"],
        [command, "--size", "16x16", "--size", "33x17", tiny, *common],
    ]
    if command == "build":
        forms = [form + ["-o", tmp_path / f"tiny{index}.py"] for index, form in enumerate(forms)]
    code, out = same_for_every_form(capsys, forms, streams=2)  # stderr names the output file
    assert code == 0 and "at 2 input sizes (16x16, 33x17)" in out


def test_draw(capsys, tiny):
    code, out, _ = same_for_every_form(
        capsys,
        [
            ["draw", "-o", "-", "--size", "40x48", "--width", "900", tiny],
            ["draw", tiny, "-o", "-", "--size", "40x48", "--width", "900"],
            ["draw", "--size", "40x48", tiny, "--width", "900", "-o", "-"],
        ],
    )
    assert code == 0 and "<svg" in out and "40x48x3" in out


def test_fmt(capsys, tmp_path):
    messy = "input   32x32x3\nconv 8   k3\n"
    paths = [tmp_path / "a.cnn", tmp_path / "b.cnn"]
    for path in paths:
        path.write_text(messy)
    forms = [
        ["fmt", "--check", *paths],
        ["fmt", *paths, "--check"],
        ["fmt", paths[0], "--check", paths[1]],
    ]
    for form in forms:
        code, out, err = run(capsys, *form)
        assert code == 1 and err.count("would reformat") == 2, form
    assert [path.read_text() for path in paths] == [messy, messy]
    # Without --check, wherever it is not: both files are rewritten.
    shutil.copy(paths[0], tmp_path / "c.cnn")
    assert run(capsys, "fmt", paths[0], tmp_path / "c.cnn")[0] == 0
    assert (tmp_path / "c.cnn").read_text() == paths[0].read_text() != messy


@pytest.mark.parametrize("command", ["summary", "build", "verify", "check", "draw", "fmt"])
def test_help_says_options_go_anywhere(command):
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    text = subparsers.choices[command].format_help()
    assert "Options go before or after the file arguments." in text
    if command in ("summary", "build", "verify"):
        assert "'--size 224x224 97x131', '--size 224x224 --size 97x131'" in " ".join(text.split())


def test_the_parser_of_one_command_reads_its_arguments_as_the_full_parser_does():
    # `cnnc check ...` builds only the check subcommand (start-up); the
    # answers (and the errors) must be the full parser's.
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    assert set(subparsers.choices) == set(COMMANDS)
    samples = [
        ["check", "a.cnn"], ["check", "a.cnn", "--format", "json", "b.cnn"], ["check", "--format=github", "a.cnn"],
        ["summary", "a.cnn", "--size", "224x224", "97x131"], ["summary", "--explain", "--batch", "4", "a.cnn"],
        ["summary", "a.cnn", "--dtype", "float16", "--format", "json"], ["build", "a.cnn", "-o", "b.py", "--no-verify"],
        ["verify", "a.cnn", "--device", "cpu", "--max-memory", "1G"], ["draw", "a.cnn", "--format", "html", "--width", "900"],
        ["explain", "E0001"], ["lsp"], ["fmt", "--check", "a.cnn", "-"], ["check", "a.cnn", "--bogus"], ["summary", "a.cnn", "extra"],
    ]
    for words in samples:
        words = split_size_lists(words)
        assert build_parser(words[0]).parse_known_args(words) == build_parser().parse_known_args(words), words
