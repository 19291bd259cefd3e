"""The size algebra for symbolic inputs (groundwork for `input HxWx3`)."""

import math
import signal
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.types.shapes import Window
from cnndsl.types.symbolic import Axis, Step, TooLongToCompare


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


# -- the exact decisions, against brute force ----------------------------------

# One window along one axis, as a program writes it: (kernel, stride, padding, dilation, ceil).
steps = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.booleans()).map(
    lambda w: Step(w[3] * (w[0] - 1) + 1, w[1], min(w[2], w[0] // 2), w[4])
)

# Rewrites that keep the function but change the form (so that `differs_from`
# must decide equality of different-looking sizes, not compare structure).
EQUIVALENT = {
    Step(3, 2, 1): [Step(1, 2, 0), Step(2, 2, 0, True), Step(3, 2, 1, True)],  # (H+1)//2 four ways
    Step(1, 2, 0): [Step(3, 2, 1)],
    Step(2, 2, 0, True): [Step(1, 2, 0)],
    Step(5, 1, 0): [Step(3, 1, 0), Step(3, 1, 0)],  # one k5 is two k3
    Step(3, 1, 1): [],  # a k3 p1 convolution keeps the size
    Step(3, 3, 1): [Step(1, 3, 0), Step(3, 3, 0, True)],
}


def _axis(chain, symbol="H"):
    axis = Axis(symbol)
    for step in chain:
        axis = axis.then(step)
    return axis


@st.composite
def chain_pairs(draw):
    """Two chains of windows: unrelated, or the second a rewrite of the first (same function)."""
    first = draw(st.lists(st.one_of(steps, st.sampled_from(list(EQUIVALENT))), min_size=0, max_size=4))
    if draw(st.booleans()):
        second = draw(st.lists(steps, min_size=0, max_size=4))
    else:
        second = []
        for step in first:
            second.extend(EQUIVALENT.get(step, [step]) if draw(st.booleans()) else [step])
            if draw(st.integers(0, 4)) == 0:
                second.append(Step(3, 1, 1))  # an identity step anywhere
    return first, second


def _period(chain):
    return math.prod(step.stride for step in chain)


@settings(max_examples=250, deadline=None)
@given(chain_pairs(), st.integers(1, 60))
def test_differs_from_agrees_with_brute_force(pair, start):
    a, b = (_axis(chain) for chain in pair)
    found = a.differs_from(b, start)
    assert found == b.differs_from(a, start)  # symmetric
    # Brute force over many periods (the chains' periods are at most 81).
    differing = [x for x in range(start, start + 500) if a.at(x) != b.at(x)]
    if found is None:
        assert differing == [], (str(a), str(b), differing[:3])
    else:
        assert found >= start and a.at(found) != b.at(found), (str(a), str(b), found)
        assert found == differing[0]  # the first: the message names the smallest such size


@settings(max_examples=200, deadline=None)
@given(st.lists(steps, min_size=1, max_size=4), st.integers(1, 60), st.integers(-3, 40))
def test_differs_from_a_number_agrees_with_brute_force(chain, start, number):
    axis = _axis(chain)
    found = axis.differs_from(number, start)
    differing = [x for x in range(start, start + 500) if axis.at(x) != number]
    if _period(chain) <= 100:  # a growing size equals a number on at most one period
        assert differing, str(axis)
    if found is None:
        assert differing == []
    else:
        assert found >= start and axis.at(found) != number


def test_equal_forms_are_recognised():
    h = Axis("H")
    ceil_pool = h.then(Step(2, 2, 0, True))  # pool 2 ceil: ceil(H/2), which folds to (H+1)//2
    assert str(ceil_pool) == str(h.then(Step(1, 2, 0))) == "(H+1)//2"
    assert ceil_pool.differs_from(h.then(Step(1, 2, 0)), 1) is None
    # A ceil step that can drop its last window (P + S > R) folds too: 1-wide windows, stride 2, ceil.
    assert str(h.then(Step(1, 2, 0, True))) == "(H+1)//2"
    assert str(h.then(Step(3, 2, 1, True))) == "(H+2)//2"  # pool 3 s2 p1 ceil
    assert h.then(Step(5, 1, 0)).differs_from(h.then(Step(3, 1, 0)).then(Step(3, 1, 0)), 5) is None
    # (H+1)//2 and H//2 agree for even H only: the first odd size at or after the start.
    assert h.then(Step(3, 2, 1)).differs_from(h.then(Step(2, 2, 0)), 10) == 11
    assert h.then(Step(2, 2, 0)).differs_from(5, 10) == 12  # H//2 is 5 for H = 10 and 11


@settings(max_examples=300, deadline=None)
@given(st.lists(steps, min_size=1, max_size=5), st.integers(1, 80))
def test_smallest_valid_agrees_with_brute_force(chain, start):
    axis = _axis(chain)
    expected = next(x for x in range(start, start + 10_000) if axis.at(x) >= 1)
    assert axis.smallest_valid(start) == expected
    # Monotone: every larger size is valid too (what makes one check at the bound enough).
    assert all(axis.at(x) >= 1 for x in range(expected, expected + 200))


@contextmanager
def time_limit(seconds):
    """Raise TimeoutError in this (main) thread after `seconds`: a hang becomes a failure."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("no interval timer on this platform")

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_equality_after_many_strides_is_decided_quickly():
    deep = _axis([Step(3, 2, 1)] * 40)  # (H+2**40-1)//2**40
    ceil_pool, strided = deep.then(Step(2, 2, 0, True)), deep.then(Step(1, 2, 0))  # equal, in two forms
    with time_limit(2.0):
        assert ceil_pool.differs_from(strided, 1) is None  # floor forms: compared as forms
        assert deep.then(Step(2, 2, 0)).differs_from(strided, 1) == 1  # and a difference found at once
    # A step outside PyTorch's rule (padding above half the window) stays a tail: after
    # the same 40 strides it is too long to compare value by value. No .cnn program makes one.
    dropping = deep.then(Step(1, 2, 1, True))
    with time_limit(2.0), pytest.raises(TooLongToCompare):
        dropping.differs_from(strided, 1)


def test_ceil_mode_folds_exactly_wherever_pytorch_allows_it():
    """floor((y + min(R-P-1, S-1))/S) + 1 is PyTorch's ceil rule (drop included) for 2P <= R."""
    for reach in range(1, 12):
        for stride in range(1, 7):
            for padding in range(0, reach // 2 + 1):
                axis = Axis("H").then(Step(reach, stride, padding, True))
                assert not axis.tail
                for size in range(1, 120):
                    expected = Step(reach, stride, padding, True).apply(size)
                    if expected >= 1 or axis.at(size) >= 1:
                        assert axis.at(size) == expected, (reach, stride, padding, size)
