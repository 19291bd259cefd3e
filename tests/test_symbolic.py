"""The size algebra for symbolic inputs (groundwork for `input HxWx3`)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.shapes import Window
from cnndsl.symbolic import Axis, Step


def test_readable_forms():
    h = Axis("H")
    assert str(h.then(Step(3, 1, 1))) == "H"  # conv k3 p1
    assert str(h.then(Step(3, 1, 0))) == "H-2"  # conv k3
    assert str(h.then(Step(2, 2, 0))) == "H//2"  # pool 2
    assert str(h.then(Step(3, 2, 1))) == "(H+1)//2"  # conv k3 s2 p1
    assert str(h.then(Step(3, 1, 0)).then(Step(4, 4, 0))) == "(H-2)//4"


def test_equality_for_all_sizes_is_decided_on_a_period():
    h = Axis("H")
    strided_3x3 = h.then(Step(3, 2, 1))
    strided_1x1 = h.then(Step(1, 2, 0))
    assert strided_3x3.differs_from(strided_1x1, 1) is None  # equal for every H
    assert h.then(Step(2, 2, 0)).differs_from(strided_3x3, 1) == 1  # H//2 vs (H+1)//2: odd H


def test_smallest_valid_size():
    h = Axis("H")
    assert h.then(Step(5, 1, 0)).smallest_valid(1) == 5
    assert h.then(Step(3, 1, 0)).then(Step(2, 2, 0)).then(Step(3, 1, 0)).smallest_valid(1) == 8


windows = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(windows, min_size=1, max_size=5), st.integers(1, 300))
def test_the_composed_form_equals_pytorchs_rule_step_by_step(chain, size):
    axis = Axis("H")
    value = size
    for kernel, stride, padding, dilation, ceil in chain:
        padding = min(padding, kernel // 2)
        axis = axis.then(Step(dilation * (kernel - 1) + 1, stride, padding, ceil))
        value = Window(value, kernel, stride, padding, dilation, ceil).output
        if value < 1:
            return  # PyTorch refuses: positivity is checked layer by layer
    assert axis.at(size) == value
