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
    LowPassFilter,
    OneEuroFilter,
    PoseSmoother,
    RelativeVelocityFilter,
    SegmentationSmoother,
    pose_object_scale,
)
from posekit.pose import Pose


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


def test_mediapipe_smoother_filters_points_and_visibility_by_the_given_object_scale() -> None:
    s = PoseSmoother.mediapipe()
    xy = np.zeros((33, 2))
    first = s.apply(a_pose(xy, vis=1.0), 0.0, 200.0)
    np.testing.assert_array_equal(first.xy, xy)
    second = s.apply(a_pose(xy + 10.0, vis=0.0), 1 / 30, 200.0)
    np.testing.assert_allclose(second.visibility, 0.9)  # 0.1 * 0 + 0.9 * 1
    assert np.all((second.xy > 0) & (second.xy < 10))
    s.reset()
    np.testing.assert_array_equal(s.apply(a_pose(xy + 3), 2.0, 200.0).xy, xy + 3)


def test_mediapipe_smoother_scale_rules() -> None:
    """A degenerate object scale passes the pixels through; world landmarks never use it."""
    s = PoseSmoother.mediapipe()
    xy = np.zeros((33, 2))
    s.apply(a_pose(xy, world=True), 0.0, 1e-9)
    out = s.apply(a_pose(xy + 5.0, world=True), 0.1, 1e-9)
    np.testing.assert_array_equal(out.xy, xy + 5.0)
    assert out.world is not None and np.all(out.world == a_pose(xy).world)  # same world input


# ----------------------------------------------------------------------------- reference package
def noisy_signal(n: int, rate: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A noisy sine with jittered timestamps (seconds), starting after t=0.

    The reference package only updates its frequency when the previous timestamp is truthy, so
    the sequence starts at 1 s (a quirk of the reference, not of the filter).
    """
    rng = np.random.default_rng(seed)
    gaps = (1.0 / rate) * (1.0 + rng.uniform(-0.4, 0.4, n))
    t = 1.0 + np.cumsum(gaps)
    x = np.sin(2 * np.pi * 0.7 * t) * 3.0 + rng.normal(0.0, 0.3, n)
    x[n // 2 :] += 5.0  # a step: exercises the speed-dependent cutoff
    return t, x


@pytest.mark.parametrize(
    ("rate", "min_cutoff", "beta", "dcutoff"),
    [
        (120.0, 1.0, 0.1, 1.0),  # the authors' groundTruth.csv setting
        (30.0, 0.05, 80.0, 1.0),  # MediaPipe's image-landmark preset
        (25.0, 0.1, 40.0, 1.0),  # MediaPipe's world-landmark preset
        (60.0, 2.0, 0.0, 0.5),
    ],
)
def test_filtered_derivative_variant_matches_the_authors_reference(
    rate: float, min_cutoff: float, beta: float, dcutoff: float
) -> None:
    from OneEuroFilter import OneEuroFilter as Reference

    n, lanes = 1200, 4
    signals = [noisy_signal(n, rate, seed) for seed in range(lanes)]
    t = signals[0][0]  # one clock for all lanes (the vectorised filter shares timestamps)
    xs = np.stack([s[1] for s in signals], axis=1)  # (n, lanes)
    refs = [Reference(rate, min_cutoff, beta, dcutoff) for _ in range(lanes)]
    ours = OneEuroFilter(min_cutoff, beta, dcutoff, derivative="filtered")
    expected = np.array(
        [
            [r(float(v), float(ti)) for r, v in zip(refs, row, strict=True)]
            for row, ti in zip(xs, t, strict=True)
        ]
    )
    got = np.array([ours(row, float(ti)) for row, ti in zip(xs, t, strict=True)])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert np.std(np.diff(got[: n // 2], axis=0)) < np.std(np.diff(xs[: n // 2], axis=0))


def mediapipe_one_euro(
    xs: np.ndarray, ts: np.ndarray, mc: float, beta: float, dc: float
) -> list[float]:
    """MediaPipe's one_euro_filter.cc written out as a plain scalar loop (raw derivative)."""
    out: list[float] = []
    x_prev = y_prev = dx_prev = t_prev = None
    for x, t in zip(xs.tolist(), ts.tolist(), strict=True):
        if t_prev is None:
            y, dx_s = x, 0.0
        else:
            te = t - t_prev
            dx = (x - x_prev) / te
            dx_s = dx_prev + alpha(dc, te) * (dx - dx_prev)
            y = y_prev + alpha(mc + beta * abs(dx_s), te) * (x - y_prev)
        out.append(y)
        x_prev, y_prev, dx_prev, t_prev = x, y, dx_s, t
    return out


def test_raw_derivative_variant_matches_a_scalar_mediapipe_loop() -> None:
    t, x = noisy_signal(600, 30.0, 7)
    f = OneEuroFilter(0.3, 5.0, 1.0, derivative="raw")
    got = [f(np.array([v]), float(ti))[0] for v, ti in zip(x, t, strict=True)]
    np.testing.assert_allclose(got, mediapipe_one_euro(x, t, 0.3, 5.0, 1.0), rtol=0, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    offset=st.floats(-1e4, 1e4),
    seed=st.integers(0, 1000),
    derivative=st.sampled_from(["raw", "filtered"]),
)
def test_one_euro_is_translation_equivariant(offset: float, seed: int, derivative: Any) -> None:
    t, x = noisy_signal(50, 30.0, seed)
    a = OneEuroFilter(0.5, 3.0, derivative=derivative)
    b = OneEuroFilter(0.5, 3.0, derivative=derivative)
    for v, ti in zip(x, t, strict=True):
        np.testing.assert_allclose(
            b(np.array([v + offset]), ti), a(np.array([v]), ti) + offset, rtol=0, atol=1e-7
        )


# ----------------------------------------------------------------------------- relative velocity
def velocity_filter_loop(
    xs: list[float], ts: list[float], window: int, vscale: float, scale: float = 1.0
) -> list[float]:
    """relative_velocity_filter.cc (translation-invariant distance) as a scalar loop."""
    out: list[float] = []
    past: list[tuple[float, float]] = []  # (distance, duration), newest first
    last_x = last_t = y = None
    for x, t in zip(xs, ts, strict=True):
        if last_t is None or last_x is None:
            a = 1.0
        else:
            dist, dur = (x - last_x) / scale, t - last_t
            cd, ct = dist, dur
            for d0, t0 in past:
                if ct + t0 > (1 + len(past)) / 30.0:
                    break
                cd, ct = cd + d0, ct + t0
            a = 1.0 - 1.0 / (1.0 + vscale * abs(cd / ct))
            past = [(dist, dur), *past][:window]
        y = x if y is None else y + a * (x - y)
        out.append(y)
        last_x, last_t = x, t
    return out


@pytest.mark.parametrize(
    ("window", "vscale", "rate", "scale"),
    [(5, 10.0, 30.0, None), (5, 20.0, 25.0, 150.0), (1, 10.0, 30.0, None), (3, 5.0, 8.0, None)],
)
def test_relative_velocity_filter_matches_scalar_loop(
    window: int, vscale: float, rate: float, scale: float | None
) -> None:
    t, x = noisy_signal(300, rate, 3)
    f = RelativeVelocityFilter(window, vscale)
    got = [f(np.array([v]), float(ti), scale)[0] for v, ti in zip(x, t, strict=True)]
    want = velocity_filter_loop(x.tolist(), t.tolist(), window, vscale, scale or 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_relative_velocity_hand_values_and_window_limit() -> None:
    f = RelativeVelocityFilter(window_size=5, velocity_scale=10.0)
    assert f([2.0], 0.0)[0] == 2.0
    # moved 3 in 1/30 s: velocity 90, alpha = 1 - 1/(1 + 900)
    a1 = 1 - 1 / (1 + 10.0 * 90.0)
    y1 = 2.0 + a1 * 3.0
    assert f([5.0], 1 / 30)[0] == pytest.approx(y1, abs=1e-12)
    # a long gap (1 s > 2/30 s): the old step is left out of the window
    a2 = 1 - 1 / (1 + 10.0 * 1.0)
    assert f([6.0], 1 / 30 + 1.0)[0] == pytest.approx(y1 + a2 * (6.0 - y1), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    xs=st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=30),
    dt=st.floats(1e-3, 0.5),
    offset=st.floats(-1e3, 1e3),
    vscale=st.floats(0.1, 50.0),
)
def test_relative_velocity_properties(
    xs: list[float], dt: float, offset: float, vscale: float
) -> None:
    f, g, c = (RelativeVelocityFilter(5, vscale) for _ in range(3))
    prev = f(np.array([xs[0]]), 0.0)[0]
    g(np.array([xs[0] + offset]), 0.0)
    c(np.array([xs[0]]), 0.0)
    for i, x in enumerate(xs[1:], start=1):
        out = f(np.array([x]), i * dt)[0]
        assert min(prev, x) - 1e-9 <= out <= max(prev, x) + 1e-9  # between output and input
        moved = g(np.array([x + offset]), i * dt)[0]
        assert moved == pytest.approx(out + offset, abs=1e-6)  # translation equivariance
        assert c(np.array([xs[0]]), i * dt)[0] == xs[0]  # constant input stays constant
        prev = out


@pytest.mark.parametrize(
    ("kwargs", "exc"),
    [
        ({"window_size": 0}, InputError),
        ({"window_size": 2.5}, InputError),
        ({"velocity_scale": 0.0}, InputError),
        ({"velocity_scale": float("nan")}, InputError),
    ],
)
def test_relative_velocity_rejects_bad_parameters(
    kwargs: dict[str, Any], exc: type[Exception]
) -> None:
    with pytest.raises(exc):
        RelativeVelocityFilter(**kwargs)


def test_relative_velocity_passes_through_bad_timestamps_and_tiny_scales() -> None:
    f = RelativeVelocityFilter()
    f([0.0], 1.0)
    assert f([7.0], 1.0)[0] == 7.0  # not later: raw value, state kept
    assert f([7.0], 1.1, 1e-9)[0] == 7.0  # degenerate object scale
    with pytest.raises(InputError, match="reset"):
        f([0.0, 1.0], 2.0)
    f.reset()
    assert f([0.0, 1.0], 2.0).tolist() == [0.0, 1.0]


# ----------------------------------------------------------------------------- pose smoother
def a_pose(xy: np.ndarray, vis: float = 0.9, world: bool = True) -> Pose:
    w = np.arange(99, dtype=np.float64).reshape(33, 3) / 100.0 if world else None
    return Pose(xy, np.zeros(33), np.full(33, vis), np.ones(33), score=0.8, world=w,
                image_size=(640, 480))  # fmt: skip


def test_pose_object_scale_is_the_mean_bounding_box_side() -> None:
    xy = np.zeros((33, 2))
    xy[5] = (100.0, 40.0)
    xy[9] = (-20.0, 10.0)
    assert pose_object_scale(a_pose(xy)) == pytest.approx((120.0 + 40.0) / 2)


@pytest.mark.parametrize("make", [PoseSmoother.mediapipe, PoseSmoother.relative_velocity])
def test_pose_smoother_first_pose_passes_and_constant_stays(make: Any) -> None:
    xy = np.random.default_rng(0).uniform(0, 400, (33, 2))
    s = make()
    first = s(a_pose(xy), 0.0)
    np.testing.assert_allclose(first.xy, a_pose(xy).xy)
    for i in range(1, 5):
        out = s(a_pose(xy), i / 30)
        np.testing.assert_allclose(out.xy, a_pose(xy).xy, atol=1e-4)
        assert out.world is not None
        assert out.score == 0.8 and out.image_size == (640, 480)


def test_pose_smoother_filters_every_part_and_resets() -> None:
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 400, (33, 2))
    s = PoseSmoother.mediapipe()
    s(a_pose(xy, vis=1.0), 0.0)
    out = s(a_pose(xy + 10.0, vis=0.0, world=True), 1 / 30)
    assert np.all((out.xy > xy) & (out.xy < xy + 10.0))
    np.testing.assert_allclose(out.visibility, 0.9, atol=1e-6)  # low-pass 0.1
    s.reset()
    np.testing.assert_allclose(s(a_pose(xy + 10.0), 1.0).xy, xy + 10.0, atol=1e-4)


def test_pose_smoother_matches_its_strategy_applied_by_hand() -> None:
    rng = np.random.default_rng(2)
    frames = np.cumsum(rng.normal(0, 3, (20, 33, 2)), axis=0) + 200
    s = PoseSmoother(image=OneEuroFilter(0.05, 80.0), world=None, visibility=None)
    ref = OneEuroFilter(0.05, 80.0)
    for i, xy in enumerate(frames):
        pose = a_pose(xy)
        got = s(pose, i / 25)
        want = ref(pose.xyz, i / 25, pose_object_scale(pose))
        np.testing.assert_allclose(got.xy, want[:, :2], rtol=1e-6)
        np.testing.assert_array_equal(got.world, pose.world)  # world=None: untouched
        np.testing.assert_array_equal(got.visibility, pose.visibility)


def test_pose_smoother_is_scale_invariant_with_object_scaling() -> None:
    rng = np.random.default_rng(3)
    frames = np.cumsum(rng.normal(0, 2, (15, 33, 2)), axis=0) + 100
    a, b = PoseSmoother.mediapipe(), PoseSmoother.mediapipe()
    for i, xy in enumerate(frames):
        pa, pb = a(a_pose(xy, world=False), i / 30), b(a_pose(3 * xy, world=False), i / 30)
        np.testing.assert_allclose(pb.xy, 3 * pa.xy, rtol=1e-4)


def test_pose_smoother_refuses_shared_strategy_instances() -> None:
    f = OneEuroFilter()
    with pytest.raises(InputError, match="same filter instance"):
        PoseSmoother(image=f, world=f)


# ---------------------------------------------------------------- segmentation mask smoothing
def reference_mask_blend(prev: np.ndarray, new: np.ndarray, ratio: float) -> np.ndarray:
    """MediaPipe's per-pixel blending function, one scalar at a time in float64."""
    c1, c2, c3, c4, c5 = 5.68842, -0.748699, -57.8051, 291.309, -624.717
    out = np.empty(new.shape, np.float64)
    for idx, p in np.ndenumerate(new.astype(np.float64)):
        x = (p - 0.5) ** 2
        uncertainty = 1.0 - min(1.0, x * (c1 + x * (c2 + x * (c3 + x * (c4 + x * c5)))))
        out[idx] = p + (float(prev[idx]) - p) * (uncertainty * ratio)
    return out


@pytest.mark.parametrize("ratio", [0.7, 0.0, 0.3, 1.0])
def test_mask_blend_matches_mediapipe_formula(ratio: float) -> None:
    rng = np.random.default_rng(1)
    first = rng.random((24, 40), dtype=np.float32)
    second = rng.random((24, 40), dtype=np.float32)
    sm = SegmentationSmoother(ratio)
    assert sm(first) is first  # the first mask passes through as is
    got = sm(second)
    want = second if ratio == 0.0 else reference_mask_blend(first, second, ratio)
    np.testing.assert_allclose(got, want, atol=2e-6)
    # the output is the next "previous" mask
    third = rng.random((24, 40), dtype=np.float32)
    want3 = third if ratio == 0.0 else reference_mask_blend(got, third, ratio)
    np.testing.assert_allclose(sm(third), want3, atol=2e-6)


@pytest.mark.parametrize(
    ("prev", "new", "expected"),
    [
        (0.0, 1.0, 1.0),  # sure pixels keep their value whatever came before
        (1.0, 0.0, 0.0),
        (0.0, 0.5, 0.5 - 0.5 * 0.7),  # unsure: 70 % of the way back to the previous value
        (1.0, 0.5, 0.5 + 0.5 * 0.7),
        (0.3, 0.3, 0.3),  # no change stays no change
    ],
)
def test_mask_blend_table(prev: float, new: float, expected: float) -> None:
    sm = SegmentationSmoother()
    sm(np.full((2, 3), prev, np.float32))
    out = sm(np.full((2, 3), new, np.float32))
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_mask_smoother_reset_shape_change_and_ownership() -> None:
    sm = SegmentationSmoother()
    a = np.full((4, 4), 0.5, np.float32)
    sm(np.zeros((4, 4), np.float32))
    out = sm(a)
    assert float(out[0, 0]) == pytest.approx(0.15, abs=1e-5)
    assert float(a[0, 0]) == 0.5  # input untouched
    out[:] = 123.0  # the caller owns the result: editing it does not leak into the state
    again = sm(a)
    assert float(again[0, 0]) == pytest.approx(0.5 + (0.15 - 0.5) * 0.7, abs=1e-5)
    sm.reset()
    assert sm(a) is a  # after reset: pass through
    assert sm(np.full((3, 5), 0.5, np.float32)).shape == (3, 5)  # new frame size: pass through
    with pytest.raises(InputError, match="ratio"):
        SegmentationSmoother(1.5)
