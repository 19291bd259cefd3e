"""Sizes that grow: transposed convolutions and upsampling in the size algebra (issue 18)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cnndsl.types.symbolic import Axis, Grow, Step


def _unet_level(axis: Axis, depth: int) -> tuple[Axis, list[Axis]]:
    """The original U-Net along one axis: two unpadded 3x3 convs, pool 2, ...; kept maps returned."""
    kept = []
    for _ in range(depth):
        axis = axis.then(Step(3, 1, 0)).then(Step(3, 1, 0))
        kept.append(axis)
        axis = axis.then(Step(2, 2, 0))
    axis = axis.then(Step(3, 1, 0)).then(Step(3, 1, 0))
    for _ in range(depth):
        axis = axis.then(Grow(2)).then(Step(3, 1, 0)).then(Step(3, 1, 0))
    return axis, kept


def test_growth_prints_exactly():
    h = Axis("H")
    assert str(h.then(Grow(2))) == "2*H"
    assert str(h.then(Step(3, 1, 0)).then(Step(3, 1, 0)).then(Grow(2))) == "2*H-8"
    assert str(h.then(Step(2, 2, 0)).then(Grow(2))) == "2*(H//2)"
    # a stride that divides the scale cancels it; a scale that divides the stride folds into the floor
    assert str(h.then(Grow(4)).then(Step(2, 2, 0))) == "2*H"
    assert str(h.then(Grow(2)).then(Step(4, 4, 0))) == "H//2"
    assert str(h.then(Step(4, 4, 0)).then(Grow(2)).then(Step(2, 2, 0))) == "H//4"


def test_the_original_unet_is_one_quasi_affine_form():
    out, kept = _unet_level(Axis("H"), 4)
    assert not out.tail
    assert str(out) == "16*((H+4)//16)-188"  # 572 -> 388
    assert out.at(572) == 388
    assert (out.period, out.increment) == (16, 16)


def test_padded_unet_sizes_agree_exactly_for_multiples_of_16():
    h = Axis("H")
    down = h
    for _ in range(4):
        down = down.then(Step(2, 2, 0))
    up = down
    for _ in range(4):
        up = up.then(Grow(2))
    assert str(up) == "16*(H//16)"
    assert up.differs_from(h, 1) == 1  # differs for H = 1
    assert up.differs_from(h, 16, modulus=16) is None  # equal for every multiple of 16
    assert up.differs_from(h, 32, modulus=8) == 40


operations = st.one_of(
    st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.booleans()).map(
        lambda w: Step(w[0], w[1], min(w[2], w[0] // 2), w[3])
    ),
    st.tuples(st.integers(1, 4), st.integers(-6, 6)).map(lambda g: Grow(*g)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(operations, min_size=1, max_size=7), st.integers(1, 400))
def test_the_composed_form_equals_each_step_applied_in_turn(chain, size):
    axis = Axis("H")
    value = size
    for operation in chain:
        axis = axis.then(operation)
        value = operation.apply(value)
        if value < 1:
            return
    assert axis.at(size) == value


@settings(max_examples=300, deadline=None)
@given(st.lists(operations, max_size=5), st.lists(operations, max_size=5), st.integers(1, 40), st.sampled_from([1, 2, 4, 16]))
def test_equality_is_decided_exactly(first, second, start, modulus):
    a, b = Axis("H"), Axis("H")
    for operation in first:
        a = a.then(operation)
    for operation in second:
        b = b.then(operation)
    found = a.differs_from(b, start, modulus)
    brute = next((x for x in range(start, start + 4000, modulus) if a.at(x) != b.at(x)), None)
    assert found == brute


def test_period_and_increment_of_a_tail():
    axis = Axis("H").then(Grow(3)).then(Step(2, 2, 0))  # floor(3H/2): kept as a tail
    assert axis.tail
    assert (axis.period, axis.increment) == (2, 3)
    assert all(axis.at(x + 2) == axis.at(x) + 3 for x in range(1, 50))


def test_sizes_simplify_on_the_admissible_residue_class():
    h = Axis("H")
    quarter = h.then(Step(2, 2, 0)).then(Step(2, 2, 0))
    assert str(quarter.then(Grow(2)).under(4, 0)) == "H//2"
    assert str(quarter.then(Grow(4)).under(4, 0)) == "H"
    out = _unet_level(h, 4)[0]
    assert str(out.under(16, 12)) == "H-184"
    for form, modulus, residue in ((quarter.then(Grow(2)), 4, 0), (quarter.then(Grow(2)), 8, 5), (out, 16, 12), (out, 32, 28)):
        simpler = form.under(modulus, residue)
        assert all(simpler.at(x) == form.at(x) for x in range(residue, 2000, modulus))
