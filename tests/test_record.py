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
