"""Annotators in posekit.draw: each draws one thing, in place, and they compose."""

from __future__ import annotations

import tracemalloc
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from posekit.draw import (
    CENTER_COLOR,
    LEFT_COLOR,
    RIGHT_COLOR,
    AngleAnnotator,
    Compose,
    KeypointAnnotator,
    RoiAnnotator,
    SkeletonAnnotator,
    TextPanel,
    Window,
    gui_support,
)
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.roi import RotatedRect
from posekit.topology import Keypoint as Kp


def _standing(visible: float = 1.0) -> Pose:
    """A stick figure facing the camera in a 640 x 480 frame (person's left on image right)."""
    xy = np.zeros((33, 2), np.float32)
    xy[:11] = (320, 60)
    for side, x in (("LEFT", 360.0), ("RIGHT", 280.0)):
        for name, y in (
            ("SHOULDER", 120),
            ("ELBOW", 200),
            ("WRIST", 270),
            ("PINKY", 285),
            ("INDEX", 288),
            ("THUMB", 280),
            ("HIP", 260),
            ("KNEE", 350),
            ("ANKLE", 440),
            ("HEEL", 450),
            ("FOOT_INDEX", 455),
        ):
            xy[Kp[f"{side}_{name}"]] = (x, y)
    for side, elbow_x, hand_x in (("LEFT", 420.0, 460.0), ("RIGHT", 220.0, 180.0)):  # arms out
        xy[Kp[f"{side}_ELBOW"], 0] = elbow_x
        for part in ("WRIST", "PINKY", "INDEX", "THUMB"):
            xy[Kp[f"{side}_{part}"], 0] = hand_x
    xy[Kp.LEFT_KNEE, 0] = 390.0  # a bent left knee
    vis = np.full(33, visible, np.float32)
    return Pose(xy, np.zeros(33), vis, np.ones(33), score=1.0, image_size=(640, 480))


def _frame() -> np.ndarray[Any, Any]:
    return np.zeros((480, 640, 3), np.uint8)


def _has_color(img: np.ndarray[Any, Any], color: tuple[int, int, int]) -> bool:
    return bool(np.all(img == np.array(color, np.uint8), axis=2).any())


@pytest.mark.parametrize(
    "annotator",
    [
        SkeletonAnnotator(),
        KeypointAnnotator(),
        AngleAnnotator(["left_knee", "right_elbow"]),
        SkeletonAnnotator(face=False, outline=False, thickness=3),
    ],
    ids=["skeleton", "keypoints", "angles", "skeleton-plain"],
)
def test_pose_annotators_draw_in_place_and_skip_none(annotator: Any) -> None:
    img = _frame()
    assert annotator.annotate(img, _standing()) is img
    assert img.any()
    blank = _frame()
    assert annotator.annotate(blank, None) is blank
    assert not blank.any()


def test_skeleton_colours_follow_the_persons_sides() -> None:
    img = SkeletonAnnotator(outline=False, thickness=3).annotate(_frame(), _standing())
    left_half, right_half = img[:, 330:], img[:, :310]  # person's left is on the image right
    assert _has_color(left_half, LEFT_COLOR) and not _has_color(left_half, RIGHT_COLOR)
    assert _has_color(right_half, RIGHT_COLOR) and not _has_color(right_half, LEFT_COLOR)
    assert _has_color(img, CENTER_COLOR)  # shoulders / hips lines


@pytest.mark.parametrize(
    ("visibility", "threshold", "drawn"),
    [(0.9, 0.5, True), (0.4, 0.5, False), (0.4, 0.3, True), (0.0, 0.0, True)],
)
def test_visibility_threshold(visibility: float, threshold: float, drawn: bool) -> None:
    img = SkeletonAnnotator(min_visibility=threshold).annotate(_frame(), _standing(visibility))
    assert bool(img.any()) is drawn


def test_hidden_keypoint_removes_only_its_bones() -> None:
    pose = _standing()
    vis = pose.visibility.copy()
    vis[Kp.LEFT_WRIST] = 0.1
    partial = Pose(pose.xy, pose.z, vis, pose.presence, score=1.0)
    full = SkeletonAnnotator(outline=False, face=False).annotate(_frame(), pose)
    cut = SkeletonAnnotator(outline=False, face=False).annotate(_frame(), partial)
    forearm = (slice(228, 242), slice(433, 447))  # between the left elbow and wrist
    assert full[forearm].any() and not cut[forearm].any()
    assert (cut[300:400] == full[300:400]).all()  # the legs are unchanged


def test_compose_lets_each_annotator_pick_its_item() -> None:
    @dataclass
    class Result:
        pose: Pose | None
        roi: RotatedRect | None

    roi = RotatedRect(320.0, 250.0, 300.0, 300.0, 0.3)
    both = SkeletonAnnotator() + KeypointAnnotator() + RoiAnnotator(label="")
    assert isinstance(both, Compose) and len(both.annotators) == 3
    with_roi = both(_frame(), Result(_standing(), roi))
    only_pose = both(_frame(), Result(_standing(), None))
    roi_only = RoiAnnotator(label="")(_frame(), Result(None, roi))
    assert roi_only.any() and not (with_roi == only_pose).all()
    assert not both(_frame(), Result(None, None)).any()


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (np.zeros((48, 64, 3), np.uint8), None),
        (np.zeros((48, 64, 3), np.float32), InputError),
        (np.zeros((48, 64), np.uint8), InputError),
        (np.zeros((48, 64, 4), np.uint8), InputError),
        ([[0, 0, 0]], InputError),
    ],
    ids=["bgr", "float", "gray", "bgra", "list"],
)
def test_frames_must_be_bgr_uint8(frame: Any, error: type[Exception] | None) -> None:
    if error is None:
        assert SkeletonAnnotator().annotate(frame, _standing()) is frame
    else:
        with pytest.raises(error, match="uint8"):
            SkeletonAnnotator().annotate(frame, _standing())


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: AngleAnnotator(["knees"]), "unknown joint angle"),
        (lambda: SkeletonAnnotator(min_visibility=1.5), "min_visibility"),
        (lambda: SkeletonAnnotator(left_color=(0, 0, 300)), "0..255"),
        (lambda: TextPanel(corner="middle"), "corner"),  # type: ignore[arg-type]
        (lambda: Compose(SkeletonAnnotator(), "roi"), "Annotator objects"),  # type: ignore[arg-type]
    ],
    ids=["angle-name", "visibility", "colour", "corner", "compose"],
)
def test_bad_options(make: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        make()


@pytest.mark.parametrize(
    ("corner", "probe"),
    [
        ("top-left", (5, 5)),
        ("top-right", (5, -5)),
        ("bottom-left", (-5, 5)),
        ("bottom-right", (-5, -5)),
    ],
)
def test_text_panel_darkens_its_corner(corner: Any, probe: tuple[int, int]) -> None:
    img = np.full((240, 320, 3), 200, np.uint8)
    TextPanel(corner=corner).annotate(img, ["posekit", "reps 3"])
    assert img[probe].max() < 100  # darkened
    opposite = (-probe[0], -probe[1])
    assert (img[opposite] == 200).all()


def test_angle_labels_are_written_beside_their_joint() -> None:
    pose = _standing()
    for name, knee in (("right_knee", Kp.RIGHT_KNEE), ("left_knee", Kp.LEFT_KNEE)):
        img = AngleAnnotator([name]).annotate(_frame(), pose)
        ys, xs = np.nonzero(img.any(axis=2))
        x, y = pose.xy[knee]
        assert len(xs) > 20  # digits and the degree ring
        assert np.abs(xs - x).max() < 120 and np.abs(ys - y).max() < 60


def test_drawing_allocates_nothing_per_frame() -> None:
    draw = SkeletonAnnotator() + KeypointAnnotator()
    img, pose = _frame(), _standing()
    draw.annotate(img, pose)  # warm up
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        for _ in range(50):
            draw.annotate(img, pose)
        after_50, peak = tracemalloc.get_traced_memory()
        for _ in range(200):
            draw.annotate(img, pose)
        after_250 = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # nothing kept per frame: 200 more frames keep no more memory than the first 50 left behind
    # (one-off caches of the interpreter or of other code in the process are not per-frame)
    assert after_250 - after_50 < 2_000
    assert after_50 - base < 20_000
    assert peak - base < 40_000  # a few small lists per frame, no frame-sized buffers


def test_window_is_a_no_op_when_disabled() -> None:
    support = gui_support()
    assert isinstance(support.available, bool) and (support.available or support.reason)
    with Window("test", enabled=False) as win:
        assert not win.active and win.show(_frame())
