"""cnndsl.record.Record behaves as the frozen dataclasses it replaced (start-up, docs/design.md)."""

from __future__ import annotations

import copy
import pickle

import pytest

from cnndsl.diagnostics.model import Diagnostic
from cnndsl.record import FrozenRecordError
from cnndsl.syntax.nodes import Command, Word
from cnndsl.syntax.source import Span
from cnndsl.types.symbolic import Axis


def test_fields_equality_hash_and_repr_are_a_dataclass_s():
    word = Word("conv", Span(0, 4))
    assert word == Word("conv", Span(0, 4), False) and hash(word) == hash(Word("conv", Span(0, 4)))
    assert word != Word("conv", Span(0, 5)) and word != Word("conv", Span(0, 4), True)
    assert (word == ("conv", Span(0, 4), False)) is False  # another class is never equal
    assert repr(word) == "Word(text='conv', span=Span(start=0, end=4), stray=False)"
    assert Word.__match_args__ == ("text", "span", "stray")
    assert Axis("H") == Axis("H", 0, 1, ()) and {Axis("H"): 1}[Axis("H", 0, 1)] == 1


def test_records_are_frozen_and_have_no_other_attributes():
    word = Word("conv", Span(0, 4))
    with pytest.raises(FrozenRecordError):
        word.text = "pool"
    with pytest.raises(AttributeError):
        del word.span
    with pytest.raises(AttributeError):
        object.__setattr__(word, "extra", 1)  # slots: no __dict__


def test_pickle_copy_and_replace():
    command = Command(Word("conv", Span(0, 4)), (Word("8", Span(5, 6)),), (), Span(0, 6))
    for clone in (pickle.loads(pickle.dumps(command)), copy.copy(command), copy.deepcopy(command)):
        assert clone == command and type(clone) is Command
    moved = command.replace(span=Span(0, 7))
    assert moved.span == Span(0, 7) and moved.name is command.name and command.span == Span(0, 6)


def test_a_diagnostic_compares_its_json_fields_only():
    one = Diagnostic("a.cnn", 1, 1, 1, 5, "error", "E0010", "unknown layer", span=Span(0, 4), label="here")
    other = one.replace(span=Span(9, 9), label=None)
    assert one == other and hash(one) == hash(other)
    assert one != one.replace(notes=("a note",))


def test_mutable_records_behave_as_the_slotted_dataclasses_they_replaced():
    import inspect

    from cnndsl import check_program
    from cnndsl.check.typed import NODES, TypedBranch, TypedLayer, TypedProgram, TypedSkip

    for node_class in (*NODES, TypedProgram):
        # the constructor takes every field, in order (a dataclass's __init__), parents' first
        assert tuple(inspect.signature(node_class).parameters) == node_class._fields == node_class.__match_args__
    assert TypedSkip._fields[:6] == ("body", "shortcut", "input", "output", "span", "line") and TypedSkip._fields[-1] == "keep_span"

    program = check_program("network N\ninput 8x8x3\nconv 4 k3\nrelu\nflatten\nlinear 2\n")
    layer = program.layers[0]
    twin = layer.replace()
    assert twin == layer and twin is not layer and (layer == layer.replace(line=99)) is False
    assert (layer == tuple(layer._values())) is False  # another class is never equal
    with pytest.raises(TypeError):
        hash(layer)  # mutable: unhashable, as a dataclass with eq and without frozen
    twin.line = 99  # fields may be assigned
    assert twin.line == 99 and layer.line != 99
    with pytest.raises(AttributeError):
        layer.extra = 1  # slots: no __dict__
    assert repr(layer).startswith("TypedLayer(kind=") and "receptive_field=" in repr(layer)
    assert "syntax=" not in repr(program) and "_layers=" not in repr(program) and "nodes=[" in repr(program)
    assert copy.copy(layer) == layer and type(copy.copy(layer)) is TypedLayer
    branch = TypedBranch([], layer.input, layer.output, Span(0, 4), 3)  # no kind object: equal after pickling
    assert pickle.loads(pickle.dumps(branch)) == branch and branch.calls == () and branch.receptive_field is None


def test_configurations_are_declared_as_frozen_dataclasses_are():
    """`DeclaredRecord`: a layer configuration behaves as the `@dataclass(frozen=True)` it is written like."""
    from cnndsl.layers.base import Config
    from cnndsl.layers.conv import ConvConfig
    from cnndsl.record import record_fields

    config = ConvConfig(8, (3, 3), padding=(1, 1))
    assert record_fields(config) == ConvConfig.__match_args__ == (
        "filters", "kernel", "stride", "padding", "dilation", "groups", "bias", "same",
    )
    assert config == ConvConfig(filters=8, kernel=(3, 3), stride=(1, 1), padding=(1, 1))
    assert hash(config) == hash(ConvConfig(8, (3, 3), (1, 1), (1, 1)))
    assert config != config.replace(bias=False) and config.replace(bias=False).bias is False and config.bias is True
    assert repr(config) == (
        "ConvConfig(filters=8, kernel=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, bias=True, same=False)"
    )
    with pytest.raises(FrozenRecordError):
        config.filters = 9
    with pytest.raises(FrozenRecordError):
        del config.kernel
    for clone in (pickle.loads(pickle.dumps(config)), copy.copy(config), copy.deepcopy(config)):
        assert clone == config and type(clone) is ConvConfig
    # The constructor's errors are a dataclass's.
    with pytest.raises(TypeError, match="missing required argument: 'kernel'"):
        ConvConfig(8)
    with pytest.raises(TypeError, match="unexpected keyword argument 'kernal'"):
        ConvConfig(8, (3, 3), kernal=(1, 1))
    with pytest.raises(TypeError, match="multiple values for argument 'filters'"):
        ConvConfig(8, (3, 3), filters=4)
    with pytest.raises(TypeError, match="takes 8 arguments but 9 were given"):
        ConvConfig(8, (3, 3), (1, 1), (0, 0), (1, 1), 1, True, False, 0)

    class Other(Config):
        """Equal fields of another class are not equal."""

        filters: int
        kernel: tuple[int, int]

    assert (Other(8, (3, 3)) == ConvConfig(8, (3, 3))) is False

    class Longer(Other):
        """A subclass's fields follow its parent's; redeclaring one keeps its place."""

        kernel: tuple[int, int] = (1, 1)
        bias: bool = True

    assert record_fields(Longer) == ("filters", "kernel", "bias") and Longer(4) == Longer(4, (1, 1), True)
    with pytest.raises(TypeError, match="non-default argument 'late' follows default argument"):

        class Misordered(Config):
            early: int = 1
            late: int


def test_without_dataclass_transform_as_on_python_3_10():
    """requires-python is 3.10, whose typing has no dataclass_transform (3.11's): the records do without it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys, typing\n"
        "del typing.dataclass_transform\n"
        "from cnndsl import check_source\n"
        "from cnndsl.layers.conv import ConvConfig\n"
        "assert ConvConfig(8, (3, 3)) == ConvConfig(8, (3, 3), (1, 1))\n"
        "print([d.code for d in check_source(open(sys.argv[1]).read(), 'quiz.cnn')])\n"
    )
    quiz = Path(__file__).resolve().parent.parent / "examples" / "quiz.cnn"
    result = subprocess.run([sys.executable, "-c", code, str(quiz)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
