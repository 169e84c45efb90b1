"""Body geometry (posekit.analyzers.geometry): angles, lean, lengths, normalisation."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.body import normalize_body, segment_lengths, torso_size
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    ANGLES,
    AngleAnalyzer,
    angle,
    angles,
    joint_angle,
    pose_angles,
    stack_poses,
    trunk_lean,
)
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.topology import Keypoint

K = Keypoint


def body(dim: int = 2, seed: int = 0) -> np.ndarray:
    """A random body with non-degenerate limbs."""
    return np.random.default_rng(seed).uniform(-100, 100, (33, dim))


def reference_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    u, v = a - b, c - b
    return math.degrees(math.acos(float(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))))


@pytest.mark.parametrize(
    ("a", "b", "c", "expected"),
    [
        ((0, 0), (0, 1), (1, 1), 90.0),
        ((0, 0), (0, 1), (0, 2), 180.0),
        ((0, 0), (0, 1), (0, 0), 0.0),
        ((0, 0), (0, 1), (1, 2), 135.0),
        ((0, 0, 0), (0, 1, 0), (0, 1, 1), 90.0),
        ((1, 0, 0), (0, 0, 0), (1, 1, math.sqrt(2)), 60.0),
    ],
)
def test_joint_angle_hand_values(a: Any, b: Any, c: Any, expected: float) -> None:
    pts = np.zeros((33, len(a)))
    pts[K.LEFT_HIP], pts[K.LEFT_KNEE], pts[K.LEFT_ANKLE] = a, b, c
    assert float(joint_angle(pts, ANGLES["left_knee"])) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("dim", [2, 3])
def test_sequences_are_vectorised_like_single_poses(dim: int) -> None:
    seq = np.stack([body(dim, s) for s in range(7)])
    for name, (a, b, c) in ANGLES.items():
        got = angle(seq, name)
        assert got.shape == (7,)
        want = [reference_angle(p[a], p[b], p[c]) for p in seq]
        np.testing.assert_allclose(got, want, atol=1e-7, err_msg=name)
    batched = angles(seq.reshape(7, 1, 33, dim))  # any leading shape
    assert all(v.shape == (7, 1) for v in batched.values())


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    theta=st.floats(-math.pi, math.pi),
    scale=st.floats(0.01, 100.0),
    shift=st.tuples(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3)),
)
def test_2d_angles_are_similarity_invariant(
    seed: int, theta: float, scale: float, shift: tuple[float, float]
) -> None:
    pts = body(2, seed)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    moved = scale * pts @ rot.T + np.array(shift)
    names = [n for n in ANGLE_NAMES if n != "trunk_lean"]  # lean is measured against vertical
    for name in names:
        np.testing.assert_allclose(angle(moved, name), angle(pts, name), atol=1e-6)
    lengths, moved_lengths = segment_lengths(pts), segment_lengths(moved)
    for name in lengths:
        np.testing.assert_allclose(moved_lengths[name], lengths[name], rtol=1e-6)


def test_hidden_joints_make_angles_nan() -> None:
    seq = np.stack([body(2, 1)] * 4)
    vis = np.ones((4, 33))
    vis[1, K.LEFT_ANKLE] = 0.49
    vis[2, K.LEFT_HIP] = np.nan
    vis[3, K.LEFT_KNEE] = 0.5  # exactly the threshold counts as visible
    got = angle(seq, "left_knee", vis)
    assert np.isfinite(got[[0, 3]]).all() and np.isnan(got[[1, 2]]).all()
    assert np.isfinite(angle(seq, "left_knee", vis, min_visibility=0.4)[1])


def test_bilateral_angle_uses_the_visible_sides() -> None:
    pts = body(2, 2)
    left, right = float(angle(pts, "left_elbow")), float(angle(pts, "right_elbow"))
    vis = np.ones((3, 33))
    vis[1, K.RIGHT_WRIST] = 0.0
    vis[2, [K.RIGHT_WRIST, K.LEFT_ELBOW]] = 0.0
    got = angle(np.stack([pts] * 3), "elbow", vis)
    np.testing.assert_allclose(got[:2], [(left + right) / 2, left])
    assert math.isnan(got[2])


def test_degenerate_limbs_and_missing_frames_are_nan() -> None:
    pts = np.zeros((33, 2))
    assert math.isnan(float(angle(pts, "left_knee")))
    assert math.isnan(float(trunk_lean(pts)))
    seq = np.stack([body(), np.full((33, 2), np.nan)])
    assert np.isnan(angle(seq, "knee")[1]) and np.isfinite(angle(seq, "knee")[0])


@pytest.mark.parametrize(
    ("shoulder_offset", "expected"),
    [((0, -10), 0.0), ((10, -10), 45.0), ((-10, 0), 90.0), ((0, 10), 180.0)],
)
@pytest.mark.parametrize("dim", [2, 3])
def test_trunk_lean(shoulder_offset: tuple[float, float], expected: float, dim: int) -> None:
    pts = np.zeros((33, dim))
    pts[[K.LEFT_HIP, K.RIGHT_HIP], 0] = (5.0, -5.0)
    pts[K.LEFT_SHOULDER, :2] = (5.0 + shoulder_offset[0], shoulder_offset[1])
    pts[K.RIGHT_SHOULDER, :2] = (-5.0 + shoulder_offset[0], shoulder_offset[1])
    assert float(trunk_lean(pts)) == pytest.approx(expected, abs=1e-9)
    assert float(angle(pts, "trunk_lean")) == pytest.approx(expected, abs=1e-9)


def test_segment_lengths_are_in_torso_units() -> None:
    pts = np.zeros((33, 2))
    pts[[K.LEFT_SHOULDER, K.RIGHT_SHOULDER]] = [(10, -50), (-10, -50)]
    pts[[K.LEFT_HIP, K.RIGHT_HIP]] = [(8, 0), (-8, 0)]
    pts[K.LEFT_KNEE] = (8, 45)
    assert float(torso_size(pts)) == 50.0
    lengths = segment_lengths(pts)
    assert float(lengths["left_thigh"]) == pytest.approx(0.9)
    assert float(lengths["shoulder_width"]) == pytest.approx(0.4)
    assert float(segment_lengths(pts, normalize=False)["hip_width"]) == 16.0
    vis = np.ones(33)
    vis[K.RIGHT_HIP] = 0.0  # the torso size is unknown: everything is
    assert all(math.isnan(float(v)) for v in segment_lengths(pts, vis).values())


@pytest.mark.parametrize("scale", ["torso", "shoulders"])
def test_normalize_body_origin_and_unit(scale: Any) -> None:
    seq = np.stack([body(2, s) * (s + 1) + 40 * s for s in range(4)])
    out = normalize_body(seq, scale=scale)
    hip = (out[:, K.LEFT_HIP] + out[:, K.RIGHT_HIP]) / 2
    np.testing.assert_allclose(hip, 0.0, atol=1e-9)
    if scale == "torso":
        np.testing.assert_allclose(torso_size(out), 1.0)
    else:
        width = np.linalg.norm(out[:, K.LEFT_SHOULDER] - out[:, K.RIGHT_SHOULDER], axis=-1)
        np.testing.assert_allclose(width, 1.0)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), theta=st.floats(-3.0, 3.0))
def test_upright_rotation_undoes_an_image_rotation(seed: int, theta: float) -> None:
    pts = body(2, seed)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    a = normalize_body(pts, rotate="upright")
    b = normalize_body(pts @ rot.T + 7.0, rotate="upright")
    np.testing.assert_allclose(a, b, atol=1e-9)
    shoulder = (a[K.LEFT_SHOULDER] + a[K.RIGHT_SHOULDER]) / 2
    np.testing.assert_allclose(shoulder, [0.0, -1.0], atol=1e-9)  # straight above the hips


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 1000), yaw=st.floats(-3.0, 3.0))
def test_face_camera_undoes_a_turn_about_the_vertical(seed: int, yaw: float) -> None:
    pts = body(3, seed)
    c, s = math.cos(yaw), math.sin(yaw)
    turn = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    a = normalize_body(pts, rotate="face_camera")
    b = normalize_body(pts @ turn.T, rotate="face_camera")
    np.testing.assert_allclose(a, b, atol=1e-9)
    across = (a[K.LEFT_HIP] - a[K.RIGHT_HIP]) + (a[K.LEFT_SHOULDER] - a[K.RIGHT_SHOULDER])
    assert across[0] > 0 and abs(across[2]) < 1e-9  # person's left at +x, no depth


def test_normalize_body_hidden_hips_give_a_nan_frame() -> None:
    seq = np.stack([body(2, 0), body(2, 1)])
    vis = np.ones((2, 33))
    vis[1, K.LEFT_HIP] = 0.1
    out = normalize_body(seq, vis)
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: angle(np.zeros((32, 2)), "knee"), "shape"),
        (lambda: angle(np.zeros((33, 4)), "knee"), "shape"),
        (lambda: angle(np.zeros(33), "knee"), "shape"),
        (lambda: angle(np.zeros((33, 2)), "knees"), "unknown angle"),
        (lambda: angle(np.zeros((33, 2)), "knee", np.ones(32)), "visibility"),
        (lambda: angle(np.zeros((33, 2)), "knee", np.ones(33), min_visibility=2.0), "[0, 1]"),
        (lambda: joint_angle(np.zeros((33, 2)), (0, 1, 40)), "outside"),
        (lambda: joint_angle(np.zeros((33, 2)), (0, 1)), "three"),  # type: ignore[arg-type]
        (lambda: angle([["a", "b"]] * 33, "knee"), "numeric"),
        (lambda: normalize_body(np.zeros((33, 2)), rotate="face_camera"), "3-D"),
        (lambda: normalize_body(np.zeros((33, 2)), scale="height"), "scale"),  # type: ignore[arg-type]
        (lambda: angle(stack_poses([None]).select("face"), "knee"), "component"),
        (lambda: stack_poses([np.zeros((33, 2))]), "Pose"),  # type: ignore[list-item]
        (lambda: AngleAnalyzer(["knees"]), "unknown angle"),
        (lambda: AngleAnalyzer(space="pixels"), "space"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_is_refused(call: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call()


def make_pose(xy: np.ndarray, vis: np.ndarray | None = None, world: bool = True) -> Pose:
    v = np.ones(33) if vis is None else vis
    w = np.c_[xy / 100.0, np.zeros(33)] if world else None
    return Pose(xy, np.zeros(33), v, np.ones(33), score=1.0, world=w)


def test_stack_poses_and_pose_angles() -> None:
    p = make_pose(body(2, 4))
    no_world = make_pose(body(2, 5), world=False)
    seq = stack_poses([p, None, no_world])
    assert seq.known[:, 0, :33].all(axis=1).tolist() == [True, False, True]
    world = seq.select("body_world")
    assert world.known[:, 0].all(axis=1).tolist() == [True, False, False]
    knees = angle(seq, "knee")[:, 0]
    assert knees[0] == pytest.approx(pose_angles(p, ["knee"])["knee"])
    assert math.isnan(knees[1])
    assert angle(world, "knee")[0, 0] == pytest.approx(knees[0])
    # world landmarks here are the pixels / 100 on a plane: same angles
    assert pose_angles(p, ["knee"], space="world")["knee"] == pytest.approx(knees[0])
    assert pose_angles(no_world, ["knee"], space="world") == {"knee": None}


def test_angle_analyzer_reports_none_for_unknown() -> None:
    xy = body(2, 6)
    vis = np.ones(33)
    vis[K.RIGHT_ELBOW] = 0.2
    a = AngleAnalyzer(["left_elbow", "right_elbow", "elbow"])
    got = a.update(OfflineFrame(make_pose(xy, vis), 0.0, 0))
    assert got["right_elbow"] is None
    assert got["left_elbow"] == pytest.approx(reference_angle(xy[11], xy[13], xy[15]))
    assert got["elbow"] == got["left_elbow"]
    assert a.update(OfflineFrame(None, 0.1, 1)) == dict.fromkeys(a.names)
    assert AngleAnalyzer().name == "angles" and set(AngleAnalyzer().names) == set(ANGLE_NAMES)
