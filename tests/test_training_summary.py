"""`cnnc summary --train` and the analyses' keys in the summary (the figures themselves: tests/test_oracles.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnndsl
from cnndsl.check.saved import saved_bytes
from cnndsl.check.training import OPTIMIZERS, training_step
from cnndsl.cli import main as cli_main
from cnndsl.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
QUIZ = ROOT / "examples" / "quiz.cnn"
RESNET18 = ROOT / "examples" / "resnet18.cnn"


def test_the_command_line_offers_the_optimizers_the_model_knows():
    assert cli_main.OPTIMIZERS == tuple(OPTIMIZERS)


def test_every_layer_has_its_field_compute_and_saved_bytes_in_json(capsys):
    assert main(["summary", "--format", "json", str(QUIZ), "--batch", "2"]) == 0
    data = json.loads(capsys.readouterr().out)
    program = cnndsl.check_program(QUIZ.read_bytes(), str(QUIZ))
    saved = saved_bytes(program, 2)
    assert data["saved_bytes"] == saved.total == sum(layer["saved_bytes"] for layer in data["layers"])
    assert data["total_flops"] == 2 * data["total_macs"]
    conv = data["layers"][0]
    assert conv["flops"] == 2 * conv["macs"] and conv["mult_adds"] == 128 * 128 * (10 * 27 + 10)
    assert conv["saved_bytes"] == 4 * 2 * 3 * 130 * 130  # the input batch, for the weight's gradient
    before_flatten = data["layers"][3]["receptive_field"]
    assert before_flatten == {"size": [26, 26], "jump": [8, 8], "padding": [8, 8], "form": ["aligned", "aligned"]}
    assert data["layers"][-1]["receptive_field"] == {"size": [130, 130], "jump": [None, None], "padding": [None, None], "form": ["whole", "whole"]}
    assert "training" not in data


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_train_adds_the_training_object(optimizer, capsys):
    assert main(["summary", "--format", "json", str(QUIZ), "--train", "--batch", "3", "--optimizer", optimizer]) == 0
    training = json.loads(capsys.readouterr().out)["training"]
    program = cnndsl.check_program(QUIZ.read_bytes(), str(QUIZ))
    assert training == training_step(program, 3, optimizer).to_dict()
    assert {"batch", "saved_bytes", "parameter_bytes", "gradient_bytes", "optimizer_bytes", "peak_bytes"} <= set(training)
    assert training["batch"] == 3 and training["optimizer"] == optimizer
    assert training["parameter_bytes"] == training["gradient_bytes"] == 4 * 56_510
    assert training["optimizer_bytes"] == {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}[optimizer] * 4 * 56_510 + (
        4 * 6 if optimizer.startswith("adam") else 0
    )


def test_train_prints_a_saved_column_and_the_step(capsys):
    assert main(["summary", str(QUIZ), "--train", "--batch", "2", "--optimizer", "adamw", "--dtype", "bfloat16"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if line.lstrip().startswith("line"))
    assert header.split() == ["line", "layer", "output", "field", "params", "MACs", "saved"]
    program = cnndsl.check_program(QUIZ.read_bytes(), str(QUIZ))
    step = training_step(program, 2, "adamw", "bfloat16")
    assert "training step (batch 2, bfloat16, adamw" in out
    assert f"peak ({step.phase})" in out and f"{step.peak_bytes:,} B" in out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[-1] == f"{step.saved_bytes:,}"


def test_the_header_names_the_compute_convention(capsys):
    assert main(["summary", str(QUIZ)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("MACs: multiply-accumulates per sample, 2 FLOPs each; field: receptive field")


def test_a_symbolic_network_trains_at_a_size(capsys):
    assert main(["summary", str(RESNET18), "--train"]) == 0
    assert "--train: the training step's memory depends on the input size" in capsys.readouterr().out
    assert main(["summary", "--format", "json", str(RESNET18), "--train", "--size", "64x64"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["saved_bytes"] is None and all(layer["saved_bytes"] is None for layer in data["layers"])
    assert "training" not in data
    (instance,) = data["instances"]
    assert instance["training"]["saved_bytes"] == instance["saved_bytes"] > 0
    # The receptive fields are numbers either way, and the same (a whole field is the input: `H` or 64).
    symbolic, at_64 = ([layer["receptive_field"] for layer in entry["layers"]] for entry in (data, instance))
    assert [f for f in symbolic if "whole" not in f["form"]] == [f for f in at_64 if "whole" not in f["form"]]
    assert symbolic[-1]["size"] == ["H", "W"] and at_64[-1]["size"] == [64, 64]


def test_summary_at_a_size_prints_the_notes_of_that_size(capsys):
    assert main(["summary", str(RESNET18), "--size", "64x64"]) == 0
    assert "note[N0001]: one unit here sees more than the whole 64x64 input" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--optimizer", "rmsprop"], ["--train", "--batch", "0"], ["--train", "--dtype", "int8"]])
def test_bad_training_flags_are_usage_errors(argv, capsys):
    try:
        code = main(["summary", str(QUIZ), *argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    captured = capsys.readouterr()
    assert code == 2 and captured.out == "" and "Traceback" not in captured.err
