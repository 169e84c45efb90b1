"""One Euro / low-pass filters and MediaPipe presets (posekit.filters): hand-derived values
and properties."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.errors import InputError
from posekit.filters import (
    AUXILIARY_LANDMARKS,
    IMAGE_LANDMARKS,
    VISIBILITY_ALPHA,
    WORLD_LANDMARKS,
    Filter,
    LandmarksSmoother,
    LowPassFilter,
    OneEuroFilter,
)


def alpha(cutoff: float, te: float) -> float:
    """The paper's smoothing factor, written out independently of the implementation."""
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / te)


def test_presets_are_mediapipe_values() -> None:
    assert (IMAGE_LANDMARKS.min_cutoff, IMAGE_LANDMARKS.beta, IMAGE_LANDMARKS.derivate_cutoff) == (
        0.05,
        80.0,
        1.0,
    )
    assert IMAGE_LANDMARKS.scale_by_object
    assert (WORLD_LANDMARKS.min_cutoff, WORLD_LANDMARKS.beta) == (0.1, 40.0)
    assert not WORLD_LANDMARKS.scale_by_object
    assert (AUXILIARY_LANDMARKS.min_cutoff, AUXILIARY_LANDMARKS.beta) == (0.01, 10.0)
    assert AUXILIARY_LANDMARKS.scale_by_object
    assert VISIBILITY_ALPHA == 0.1


@pytest.mark.parametrize(
    ("min_cutoff", "beta", "dcut", "x0", "x1", "te", "scale"),
    [
        (1.0, 0.0, 1.0, 0.0, 1.0, 0.1, None),
        (1.0, 0.5, 1.0, 2.0, 5.0, 1 / 30, None),
        (0.05, 80.0, 1.0, 100.0, 104.0, 1 / 25, 250.0),
        (0.01, 10.0, 1.0, -3.0, -1.0, 0.02, 40.0),
    ],
)
def test_second_sample_matches_hand_derivation(
    min_cutoff: float,
    beta: float,
    dcut: float,
    x0: float,
    x1: float,
    te: float,
    scale: float | None,
) -> None:
    f = OneEuroFilter(min_cutoff, beta, dcut)
    assert f(np.array([x0]), 10.0, scale)[0] == x0  # first sample passes through
    dx = (x1 - x0) / te / (scale or 1.0)
    edx = alpha(dcut, te) * dx  # derivative low-pass starts at 0
    cutoff = min_cutoff + beta * abs(edx)
    expected = x0 + alpha(cutoff, te) * (x1 - x0)
    assert f(np.array([x1]), 10.0 + te, scale)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("derivative", "uses_filtered"), [("raw", False), ("filtered", True)])
def test_third_sample_derivative_reference(derivative: Any, uses_filtered: bool) -> None:
    mc, beta, te = 1.0, 2.0, 0.05
    f = OneEuroFilter(mc, beta, 1.0, derivative=derivative)
    xs = [0.0, 1.0, 1.5]
    outs = [f(np.array([x]), i * te)[0] for i, x in enumerate(xs)]
    # hand derivation of sample 2 (sample 1 is the same for both variants)
    dx1 = (xs[1] - xs[0]) / te
    edx1 = alpha(1.0, te) * dx1
    y1 = xs[0] + alpha(mc + beta * abs(edx1), te) * (xs[1] - xs[0])
    ref = y1 if uses_filtered else xs[1]
    dx2 = (xs[2] - ref) / te
    edx2 = edx1 + alpha(1.0, te) * (dx2 - edx1)
    y2 = y1 + alpha(mc + beta * abs(edx2), te) * (xs[2] - y1)
    assert outs[1] == pytest.approx(y1, rel=1e-12)
    assert outs[2] == pytest.approx(y2, rel=1e-12)


def test_frequency_comes_from_real_timestamp_gaps() -> None:
    slow, fast = OneEuroFilter(1.0, 0.0), OneEuroFilter(1.0, 0.0)
    for f, te in ((slow, 0.1), (fast, 0.01)):
        f(np.array([0.0]), 0.0)
        out = f(np.array([1.0]), te)[0]
        assert out == pytest.approx(alpha(1.0, te))
    # irregular gaps: each step uses its own gap
    f = OneEuroFilter(1.0, 0.0)
    f(np.array([0.0]), 0.0)
    y1 = f(np.array([1.0]), 0.2)[0]
    y2 = f(np.array([1.0]), 0.25)[0]
    assert y2 == pytest.approx(y1 + alpha(1.0, 0.05) * (1.0 - y1))


@settings(max_examples=50, deadline=None)
@given(
    value=st.floats(-1e4, 1e4),
    steps=st.lists(st.floats(1e-3, 1.0), min_size=1, max_size=20),
    params=st.sampled_from([IMAGE_LANDMARKS, WORLD_LANDMARKS, AUXILIARY_LANDMARKS]),
)
def test_constant_input_stays_constant(value: float, steps: list[float], params: Any) -> None:
    f = params.make()
    t = 0.0
    x = np.full((5, 3), value)
    for dt in [0.0, *steps]:
        t += dt
        out = f(x, t, 100.0 if params.scale_by_object else None)
        np.testing.assert_allclose(out, x, rtol=1e-12, atol=1e-9)


@settings(max_examples=50, deadline=None)
@given(
    xs=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30),
    dt=st.floats(1e-3, 0.5),
    beta=st.floats(0, 100),
)
def test_1d_output_lies_between_previous_output_and_input(
    xs: list[float], dt: float, beta: float
) -> None:
    f = OneEuroFilter(0.5, beta, 1.0)
    prev = f(np.array([xs[0]]), 0.0)[0]
    for i, x in enumerate(xs[1:], start=1):
        out = f(np.array([x]), i * dt)[0]
        lo, hi = min(prev, x), max(prev, x)
        assert lo - 1e-9 <= out <= hi + 1e-9
        prev = out


def test_reset_makes_the_next_sample_pass_through() -> None:
    f = OneEuroFilter(0.1, 1.0)
    f(np.array([0.0, 0.0]), 0.0)
    f(np.array([5.0, 5.0]), 0.1)
    f.reset()
    np.testing.assert_array_equal(f(np.array([9.0, -9.0]), 0.2), [9.0, -9.0])


@pytest.mark.parametrize("bad_t", [1.0, 0.5])
def test_non_increasing_timestamp_passes_through_and_keeps_state(bad_t: float) -> None:
    ref, f = OneEuroFilter(1.0, 0.3), OneEuroFilter(1.0, 0.3)
    for g in (ref, f):
        g(np.array([0.0]), 0.0)
        g(np.array([1.0]), 1.0)
    assert f(np.array([42.0]), bad_t)[0] == 42.0
    assert f(np.array([2.0]), 2.0)[0] == ref(np.array([2.0]), 2.0)[0]


def test_scale_invariance_of_object_scaled_filter() -> None:
    """Scaling values and object size by k scales the output by k (MediaPipe's intent)."""
    rng = np.random.default_rng(1)
    xs = np.cumsum(rng.normal(size=(20, 4)), axis=0)
    a, b = IMAGE_LANDMARKS.make(), IMAGE_LANDMARKS.make()
    for i, x in enumerate(xs):
        ya = a(x, i / 30, 50.0)
        yb = b(7.0 * x, i / 30, 350.0)
        np.testing.assert_allclose(yb, 7.0 * ya, rtol=1e-9, atol=1e-9)


def test_tiny_object_scale_disables_smoothing() -> None:
    f = OneEuroFilter(0.01, 0.0)
    f(np.array([0.0]), 0.0)
    assert f(np.array([3.0]), 0.1, 0.0)[0] == 3.0


def test_vectorised_filter_equals_independent_scalar_filters() -> None:
    rng = np.random.default_rng(2)
    xs = rng.normal(size=(15, 6))
    vec = OneEuroFilter(0.3, 2.0)
    scalars = [OneEuroFilter(0.3, 2.0) for _ in range(6)]
    for i, x in enumerate(xs):
        out = vec(x, i * 0.04)
        np.testing.assert_allclose(
            out,
            [s(np.array([v]), i * 0.04)[0] for s, v in zip(scalars, x, strict=True)],
            rtol=1e-12,
        )


def test_filter_does_not_alias_caller_arrays() -> None:
    f = OneEuroFilter()
    x = np.array([1.0, 2.0])
    out = f(x, 0.0)
    out[0] = 99.0
    x[1] = 55.0
    np.testing.assert_array_equal(f(np.array([1.0, 2.0]), 1.0), [1.0, 2.0])


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"min_cutoff": 0.0}, InputError),
        ({"derivate_cutoff": -1.0}, InputError),
        ({"beta": -0.1}, InputError),
        ({"derivative": "smoothed"}, InputError),
    ],
)
def test_one_euro_rejects_bad_parameters(kwargs: dict[str, Any], exc: type[Exception]) -> None:
    with pytest.raises(exc):
        OneEuroFilter(**kwargs)


def test_shape_change_needs_reset() -> None:
    f = OneEuroFilter()
    f(np.zeros(3), 0.0)
    with pytest.raises(InputError, match="reset"):
        f(np.zeros(4), 1.0)


def test_low_pass() -> None:
    f = LowPassFilter(0.25)
    assert f([4.0], 0.0).tolist() == [4.0]
    assert f([0.0], 0.0).tolist() == [3.0]  # timestamps are not used
    assert f([0.0], 5.0).tolist() == [2.25]
    f.reset()
    assert f([8.0], 6.0).tolist() == [8.0]
    with pytest.raises(InputError):
        LowPassFilter(1.5)


def test_filters_share_the_abstract_interface() -> None:
    filters: list[Filter] = [OneEuroFilter(), LowPassFilter(0.5)]
    for f in filters:
        assert f(np.ones(2), 0.0, None).shape == (2,)
        f.reset()


def test_landmarks_smoother_filters_points_and_visibility() -> None:
    s = LandmarksSmoother(IMAGE_LANDMARKS)
    pts = np.zeros((33, 3), np.float32)
    vis = np.ones(33, np.float32)
    first = s(pts, 0.0, object_scale=200.0, visibility=vis)
    np.testing.assert_array_equal(first.points, pts)
    assert first.visibility is not None and first.points.dtype == np.float32
    second = s(pts + 10.0, 1 / 30, object_scale=200.0, visibility=np.zeros(33))
    assert second.visibility is not None
    np.testing.assert_allclose(second.visibility, 0.9)  # 0.1 * 0 + 0.9 * 1
    assert np.all((second.points > 0) & (second.points < 10))
    s.reset()
    np.testing.assert_array_equal(s(pts + 3, 2.0, object_scale=200.0).points, pts + 3)


def test_landmarks_smoother_scale_rules() -> None:
    with pytest.raises(InputError, match="object_scale"):
        LandmarksSmoother(AUXILIARY_LANDMARKS)(np.zeros((2, 3)), 0.0)
    world = LandmarksSmoother(WORLD_LANDMARKS, visibility_alpha=None)
    world(np.zeros((33, 3)), 0.0)
    out = world(np.ones((33, 3)), 0.1, object_scale=1e-9)  # ignored: no value scaling
    assert 0.0 < float(out.points[0, 0]) < 1.0
    assert out.visibility is None
