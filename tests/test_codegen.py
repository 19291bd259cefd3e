"""Golden files for generated code: each example's committed .py is exactly
what `cnnc build` generates today.

To update them on purpose: CNNDSL_UPDATE_GOLDENS=1 python -m pytest tests/test_codegen.py
(then review the diff before committing).
"""

import ast
import os
from pathlib import Path

import pytest

import cnndsl

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.cnn"))
UPDATE = os.environ.get("CNNDSL_UPDATE_GOLDENS") == "1"


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda p: p.stem)
def test_generated_module_matches_golden(source):
    generated = cnndsl.compile_file(source).python_source
    golden = source.with_suffix(".py")
    if UPDATE:
        golden.write_text(generated, encoding="utf-8")
    assert golden.exists(), f"missing golden {golden}; run with CNNDSL_UPDATE_GOLDENS=1"
    assert generated == golden.read_text(encoding="utf-8"), f"{golden.name} is stale; see this module's docstring"


@pytest.mark.parametrize("source", EXAMPLES, ids=lambda p: p.stem)
def test_generated_module_imports_only_torch(source):
    tree = ast.parse(cnndsl.compile_file(source).python_source)
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            modules.add((node.module or "").split(".")[0])
    assert modules == {"torch"}


def test_generation_is_deterministic():
    text = (EXAMPLES_DIR / "resnet18.cnn").read_text()
    first = cnndsl.compile_source(text, "resnet18.cnn").python_source
    second = cnndsl.compile_source(text, "resnet18.cnn").python_source
    assert first == second


def test_layout_features_then_classifier_from_flatten():
    source = cnndsl.compile_file(EXAMPLES_DIR / "quiz.cnn").python_source
    tree = ast.parse(source)
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Quiz")
    assigns = {
        target.attr: node.value
        for node in ast.walk(cls)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
    }
    features, classifier = assigns["features"], assigns["classifier"]
    assert ast.unparse(features.func) == "nn.Sequential"
    assert [ast.unparse(a) for a in classifier.args] == ["nn.Flatten()", "nn.Linear(5120, 10)"]
    assert "return self.classifier(self.features(x))" in source
    # class attributes and docstring
    assert "input_shape = (3, 130, 130)" in source
    assert "output_shape = (10,)" in source
    assert "56,510 parameters" in ast.get_docstring(cls)
    assert "quiz.cnn" in ast.get_docstring(cls)


def test_every_layer_line_carries_its_shape_and_parameters():
    source = cnndsl.compile_file(EXAMPLES_DIR / "quiz.cnn").python_source
    assert "# line 6: -> (10, 128, 128), 280 params\n            nn.Conv2d(3, 10, 3)," in source
    assert "# line 11: -> (10,), 51,210 params\n            nn.Linear(5120, 10)," in source


def test_fully_convolutional_network_has_only_features():
    source = cnndsl.compile_source("input 8x8x3\nconv 4 k3 p1\n", "fcn.cnn").python_source
    assert "self.classifier" not in source
    assert "return self.features(x)" in source
    assert "output_shape = (4, 8, 8)" in source


def test_residual_helper_only_when_used():
    plain = cnndsl.compile_source("input 8x8x3\nconv 4 k3\n", "a.cnn").python_source
    assert "class Residual" not in plain
    res = cnndsl.compile_source("input 8x8x3\nresidual { conv 3 k3 p1 }\n", "b.cnn").python_source
    assert "class Residual(nn.Module)" in res
