"""The layer table: each kind owns all of itself, and every reader agrees with it.

The kinds' own behaviour (types, diagnostics, emission) is tested through
programs elsewhere (test_types, test_diagnostics, test_codegen,
test_property); here: the table's structure, the frozen configurations, the
diagram labels, the one word classifier, the `Site` protocol, and that
completion offers exactly what the table declares.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import cnndsl
import cnndsl.layers
import cnndsl.types.shapes
from cnndsl.check.frame import Frame
from cnndsl.layers import ACTIVATIONS, BY_NAME, LAYERS, Role, Site, classify, lookup
from cnndsl.lsp.analysis import Analysis
from cnndsl.record import FrozenRecordError, record_fields
from cnndsl.types.autograd import INPUT, NEW, Flow, Saves, Tensor
from cnndsl.types.fields import AdaptiveWindow, AxisWindow, UnevenAxis, WholeAxis
from cnndsl.types.layout import (
    CHANNELS_LAST, CONTIGUOUS, ELEMENTWISE, MADE_CONTIGUOUS, MEAN, SUGGESTED, channels_last, contiguous,
)  # fmt: skip

LAYERS_DIR = Path(cnndsl.layers.__file__).parent
EXAMPLE_INPUT = "input 32x32x3\n"


def examples():
    """(kind, example) for every example the docs show."""
    return [(kind, example) for kind in LAYERS for example in (kind.examples or (kind.example,))]


def shown_layers(example: str):
    """The typed layers of an example's last statement (`flatten; linear 10 relu`: linear and relu)."""
    program = cnndsl.check_program(EXAMPLE_INPUT + example + "\n", "example.cnn")
    assert program.ok, program.diagnostics
    statement = program.layers[-1].statement
    return [layer for layer in program.layers if layer.statement == statement]


# -- the table ---------------------------------------------------------------


def test_every_family_module_is_found_and_installed_in_its_order():
    families = []
    for path in sorted(LAYERS_DIR.glob("*.py")):
        module = importlib.import_module(f"cnndsl.layers.{path.stem}")
        if hasattr(module, "KINDS"):
            assert isinstance(module.ORDER, int), path.name
            families.append(module)
    families.sort(key=lambda m: (m.ORDER, m.__name__))
    assert LAYERS == [kind for module in families for kind in module.KINDS]
    # The docs' order of the first kinds (a new family slots in by its ORDER).
    first = ["conv", "pool", "avgpool", "batchnorm", "dropout", "flatten", "linear", "relu"]
    assert [kind.name for kind in LAYERS if kind.name in first] == first
    assert all(lookup(name) is kind for kind in LAYERS for name in kind.names)
    assert set(BY_NAME) == {name for kind in LAYERS for name in kind.names}
    assert list(ACTIVATIONS) == [kind.name for kind in LAYERS if kind.is_activation]


def test_no_module_of_the_package_is_long():
    for path in LAYERS_DIR.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 600, path.name


@pytest.mark.parametrize("kind,example", examples(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_configurations_are_frozen_values(kind, example):
    """Two checks of one statement give two configurations, equal and equally hashed (the checker's memo key)."""
    for layer, twin in zip(shown_layers(example), shown_layers(example), strict=True):
        config = layer.config
        assert isinstance(config, cnndsl.layers.Config)
        fields = record_fields(config)
        assert config == type(config)(*[getattr(config, name) for name in fields])  # the constructor takes every field
        if fields:
            with pytest.raises(FrozenRecordError):
                setattr(config, fields[0], None)
        assert twin.config == config and hash(twin.config) == hash(config)
        assert twin.module == layer.module


@pytest.mark.parametrize("kind,example", examples(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_the_diagram_label_reads_back_as_the_same_layer(kind, example):
    """`LayerKind.label` is the .cnn notation: written as a statement, it configures the same layer
    (a bias is not drawn, so `nobias` reads back with a bias; the activation after a layer is its own
    label, so a pixelwise linear reads back without one)."""
    *before, _ = example.split("; ")
    for layer in shown_layers(example):
        label = layer.kind.label(layer.config)
        again = shown_layers("; ".join([*before, label]))[0]
        assert again.kind is layer.kind, label
        expected = layer.config
        if "bias" in record_fields(expected):
            expected = expected.replace(bias=True)
        if "activated" in record_fields(expected):
            expected = expected.replace(activated=False)
        assert again.config == expected, label


@pytest.mark.parametrize("kind,example", examples(), ids=lambda v: v if isinstance(v, str) else v.name)
def test_every_kind_declares_its_analysis_facets(kind, example):
    """The receptive-field rule, the named parameters (adding up to `params`), the buffers, and what autograd
    saves, in and out of place, at two batches: every kind answers (saved bytes against PyTorch: test_oracles)."""
    for layer in shown_layers(example):
        rules = layer.kind.window(layer.config)
        assert rules is None or (
            len(rules) == 2 and all(isinstance(rule, (AxisWindow, AdaptiveWindow, WholeAxis, UnevenAxis)) for rule in rules)
        )
        tensors = layer.kind.parameter_tensors(layer.config, layer.input)
        assert all(isinstance(t, Tensor) and t.elements > 0 for t in tensors)
        assert sum(t.elements for t in tensors) == layer.params
        assert all(isinstance(t, Tensor) for t in layer.kind.buffer_tensors(layer.config, layer.input))
        maps = isinstance(layer.input, cnndsl.types.shapes.MapType)
        sizes = (3, *layer.input.torch_shape)
        layouts = (contiguous(sizes), channels_last(sizes)) if maps else (None,)
        for flow in (*(Flow(3, strides) for strides in layouts), Flow(1, layouts[0], inplace=layer.inplace)):
            saves = layer.kind.saves(layer.config, layer.input, layer.output, flow)
            assert isinstance(saves, Saves) and saves.result in (NEW, INPUT)
            assert saves.layout in (ELEMENTWISE, SUGGESTED, CHANNELS_LAST, MADE_CONTIGUOUS, MEAN, CONTIGUOUS)
            assert all(t.elements > 0 for t in saves.tensors)


def test_every_option_has_one_sample_used_by_messages_docs_and_completion():
    language = (Path(cnndsl.__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    for kind in LAYERS:
        for option in kind.options:
            short = f"`{option.sample}`" if option.short else "—"
            assert f"| {short} | `{option.long_sample}` |" in language
    program = cnndsl.check_program(EXAMPLE_INPUT + "conv 16 k3 x2\n", "x.cnn")
    assert "'k3', 's2', 'p1', 'd2', 'g4', 'same' and 'nobias'" in program.diagnostics[0].notes[0]


# -- the one classifier ------------------------------------------------------


@pytest.mark.parametrize(
    "name,word,scope,slot,at_start,role,what",
    [
        ("conv", "16", (), True, False, Role.POSITIONAL, "filters"),
        ("conv", "c", ("c",), True, False, Role.POSITIONAL, "filters"),
        ("conv", "16", (), False, False, Role.UNKNOWN, None),
        ("conv", "k3", (), False, False, Role.OPTION, "kernel"),
        ("conv", "k3x5", (), False, False, Role.OPTION, "kernel"),
        ("conv", "kernel=3", (), False, False, Role.OPTION, "kernel"),
        ("conv", "kernel=", (), False, False, Role.OPTION, "kernel"),
        ("conv", "size=3", (), False, False, Role.UNKNOWN, None),
        ("conv", "kc", ("c",), False, False, Role.OPTION, "kernel"),
        ("conv", "kc", (), False, False, Role.UNKNOWN, None),
        ("conv", "same", (), False, False, Role.FLAG, "same"),
        ("conv", "relu", (), False, False, Role.ACTIVATION, "relu"),
        ("conv", "x3", (), False, False, Role.UNKNOWN, None),
        ("pool", "relu", (), False, False, Role.UNKNOWN, None),
        ("pool", "to", (), True, True, Role.FORM, "to"),
        ("pool", "to", (), True, False, Role.UNKNOWN, None),
        ("pool", "ceil", (), False, False, Role.FLAG, "ceil"),
        ("linear", "k3", (), False, False, Role.UNKNOWN, None),
        ("relu", "0.5", (), False, False, Role.UNKNOWN, None),
    ],
)
def test_classify_decides_what_a_word_is(name, word, scope, slot, at_start, role, what):
    kind = lookup(name)
    found = classify(kind, word, scope, slot=kind.positionals[0] if slot else None, at_start=at_start)
    assert found.role is role
    named = {
        Role.POSITIONAL: lambda: found.positional.name,
        Role.OPTION: lambda: found.option.name,
        Role.FLAG: lambda: word,
        Role.ACTIVATION: lambda: found.activation.name,
        Role.FORM: lambda: found.form.keyword,
        Role.UNKNOWN: lambda: None,
    }[role]()
    assert named == what


# -- the Site protocol -------------------------------------------------------


def test_site_declares_everything_the_layers_ask_of_it():
    declared = {name for name in vars(Site) if not name.startswith("_")} | set(Site.__annotations__)
    used = set()
    for path in LAYERS_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "site":
                used.add(node.attr)
    assert used and used <= declared, used - declared
    assert Site in Frame.__mro__  # the checker's frame implements it explicitly


# -- completion reads the table -----------------------------------------------


def completion_labels(text: str) -> set[str]:
    return {item.label for item in Analysis(text).completion(len(text)).items}


@pytest.mark.parametrize("kind", [kind for kind in LAYERS if not kind.is_activation], ids=lambda k: k.name)
def test_completion_after_a_layer_offers_exactly_what_the_table_declares(kind):
    expected = {o.sample for o in kind.options} | {f"{o.name}=" for o in kind.options} | set(kind.flags)
    expected |= {form.keyword for form in kind.forms}
    if kind.takes_activation:
        expected |= set(ACTIVATIONS)
    for name in kind.names:
        assert completion_labels(f"{EXAMPLE_INPUT}{name} ") == expected, name


def test_completion_of_a_statement_offers_every_name_of_the_table():
    labels = completion_labels(EXAMPLE_INPUT)
    assert set(BY_NAME) <= labels


def test_nothing_is_offered_inside_a_special_form():
    for kind in LAYERS:
        for form in kind.forms:
            assert completion_labels(f"{EXAMPLE_INPUT}{kind.name} {form.keyword} ") == set()


# -- the lazy table ------------------------------------------------------------


def test_a_check_imports_only_the_families_its_program_uses():
    # A fresh process: the index sends each name to its family, and nothing else is imported.
    import subprocess
    import sys

    code = (
        "import sys, cnndsl\n"
        "program = cnndsl.check_program('input 32x32x3\\nconv 8 k3 relu\\nflatten\\n', 'x.cnn')\n"
        "assert program.ok, program.diagnostics\n"
        "print(sorted(m.rpartition('.')[2] for m in sys.modules if m.startswith('cnndsl.layers.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    families = {type(kind).__module__.rpartition(".")[2] for kind in LAYERS}
    imported = set(ast.literal_eval(out.strip()))
    assert imported & families == {"conv", "activations", "flatten"}


def test_the_index_lists_every_family_with_its_names():
    from cnndsl.layers import index, registry

    assert registry.index_source() == Path(index.__file__).read_text()
    assert {name for _, names, _ in index.FAMILIES for name in names} == set(BY_NAME)
    assert [name for _, _, activations in index.FAMILIES for name in activations] == list(ACTIVATIONS)
