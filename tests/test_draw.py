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
    FaceAnnotator,
    HandAnnotator,
    HolisticAnnotator,
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


# ----------------------------------------------------------------------------- hands, face
def _hand(side: str, x0: float = 100.0) -> Any:
    from posekit.hands import HandLandmarks

    xy = np.stack([x0 + 5.0 * np.arange(21), 100.0 + 8.0 * np.arange(21)], axis=1)
    return HandLandmarks(
        side=side,  # type: ignore[arg-type]
        xy=xy.astype(np.float32),
        z=np.zeros(21, np.float32),
        world=np.zeros((21, 3), np.float32),
        presence=0.99,
        handedness=0.9 if side == "right" else 0.1,
        roi=RotatedRect(x0 + 50, 180.0, 200.0, 200.0),
    )


def _face(color_box: tuple[int, int] = (400, 300)) -> Any:
    from posekit.face import FaceLandmarks

    rng = np.random.default_rng(4)
    xy = np.asarray(color_box) + rng.uniform(0, 60, (468, 2))
    return FaceLandmarks(
        xy=xy.astype(np.float32),
        z=np.zeros(468, np.float32),
        presence=0.99,
        roi=RotatedRect(color_box[0] + 30.0, color_box[1] + 30.0, 80.0, 80.0),
    )


def _holistic(**parts: Any) -> Any:
    from posekit.analyzers.holistic import HolisticResult

    return HolisticResult(pose=_standing(), **parts)


ALL_PARTS = {"left_hand": "L", "right_hand": "R", "face": "F"}
WHITE = (255, 255, 255)
FACE_COLOR = (200, 255, 200)


@pytest.mark.parametrize(
    ("side", "color", "other"),
    [("left", LEFT_COLOR, RIGHT_COLOR), ("right", RIGHT_COLOR, LEFT_COLOR)],
)
def test_hand_annotator_draws_bones_in_the_side_colour_and_white_joints(
    side: str, color: tuple[int, int, int], other: tuple[int, int, int]
) -> None:
    frame = _frame()
    out = HandAnnotator(thickness=3).annotate(frame, _hand(side))
    assert out is frame  # in place
    assert _has_color(frame, color) and not _has_color(frame, other)
    assert _has_color(frame, WHITE)
    ys, xs = np.nonzero(frame.any(axis=2))
    # everything drawn lies around the hand's 21 points (x 100..200, y 100..260)
    assert xs.min() >= 95 and xs.max() <= 205 and ys.min() >= 95 and ys.max() <= 265


def test_face_annotator_draws_one_dot_per_mesh_point_in_its_colour() -> None:
    frame = _frame()
    FaceAnnotator().annotate(frame, _face())
    assert _has_color(frame, FACE_COLOR)
    ys, xs = np.nonzero(frame.any(axis=2))
    assert xs.min() >= 398 and xs.max() <= 462 and ys.min() >= 298 and ys.max() <= 362
    custom = FaceAnnotator(color=(0, 0, 255), radius=2).annotate(_frame(), _face())
    assert _has_color(custom, (0, 0, 255)) and not _has_color(custom, FACE_COLOR)
    assert np.count_nonzero(custom.any(axis=2)) > np.count_nonzero(frame.any(axis=2))


@dataclass
class _Analyzed:
    results: dict[str, Any]
    pose: Pose | None = None
    roi: RotatedRect | None = None


@pytest.mark.parametrize(
    ("kwargs", "parts", "key", "expected"),
    [
        ({}, ALL_PARTS, "holistic", {"L", "R", "F"}),
        ({}, {"left_hand": "L"}, "holistic", {"L"}),
        ({}, {"face": "F"}, "holistic", {"F"}),
        ({"hands": False}, ALL_PARTS, "holistic", {"F"}),
        ({"face": False}, ALL_PARTS, "holistic", {"L", "R"}),
        ({"key": "hf"}, {"left_hand": "L", "face": "F"}, "hf", {"L", "F"}),
        ({"key": "hf"}, {"left_hand": "L", "face": "F"}, "holistic", set()),  # not its key
        ({}, {}, "holistic", set()),  # nothing found this frame
    ],
)  # fmt: skip
def test_holistic_annotator_draws_the_parts_it_finds(
    kwargs: dict[str, Any], parts: dict[str, str], key: str, expected: set[str]
) -> None:
    made = {"L": _hand("left", 20.0), "R": _hand("right", 230.0), "F": _face()}
    item = _holistic(**{name: made[code] for name, code in parts.items()})
    frame = _frame()
    assert HolisticAnnotator(**kwargs)(frame, _Analyzed({key: item})) is frame
    drawn = {
        "L": _has_color(frame[:, :225], LEFT_COLOR),
        "R": _has_color(frame[:, 225:390], RIGHT_COLOR),
        "F": _has_color(frame, FACE_COLOR),
    }
    assert {code for code, seen in drawn.items() if seen} == expected
    if not expected:
        assert not frame.any()


@pytest.mark.parametrize(
    "result",
    [_Analyzed({}), _Analyzed({"holistic": "not a holistic result"}), object()],
    ids=["no-results", "other-type", "no-results-attribute"],
)
def test_holistic_annotator_ignores_results_without_a_holistic_item(result: Any) -> None:
    assert HolisticAnnotator().select(result) is None
    assert not HolisticAnnotator()(_frame(), result).any()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: HandAnnotator(left_color=(0, 0, 256)), "0..255"),
        (lambda: HandAnnotator(right_color=(-1, 0, 0)), "0..255"),
        (lambda: FaceAnnotator(color=(1, 2)), "color"),
    ],
    ids=["hand-left-colour", "hand-right-colour", "face-colour"],
)
def test_hand_and_face_annotators_refuse_bad_colours(make: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        make()


def test_hand_and_face_annotators_select_nothing_alone() -> None:
    """One frame has two hands: they are found through HolisticAnnotator, not on their own."""
    result = _Analyzed({"holistic": _holistic(left_hand=_hand("left"), face=_face())})
    assert HandAnnotator().select(result) is None and FaceAnnotator().select(result) is None
    assert not (HandAnnotator() + FaceAnnotator())(_frame(), result).any()
