"""Hand/face ROI handoff (posekit.analyzers.handoff): geometry on synthetic poses (hand-computed
values), wrist gating, bad input, and the real hand and face models on a real image."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.handoff import HandoffRois, RoiHandoff, face_roi, hand_roi
from posekit.errors import InputError
from posekit.face import FaceLandmarker
from posekit.hands import HandLandmarker, hand_roi_from_landmarks
from posekit.pose import Pose
from posekit.roi import RotatedRect, transform_rect

HANDS_IMAGE = DATA / "yoga" / "baddha_konasana" / "baddha_konasana_09ff6bb3e1.jpg"


def _pose(points: dict[int, tuple[float, float]], vis: dict[int, float] | None = None) -> Pose:
    xy = np.zeros((33, 2), np.float32)
    for i, p in points.items():
        xy[i] = p
    v = np.ones(33, np.float32)
    for i, value in (vis or {}).items():
        v[i] = value
    return Pose(xy, np.zeros(33), v, np.ones(33), score=1.0, image_size=(640, 480))


# wrist, pinky, index -> expected (cx, cy, side, rotation in degrees), computed by hand:
# middle = (2 * index + pinky) / 3; side = 2.7 * 2 * |middle - wrist|; centre moves 0.1 * the
# unscaled side towards the fingers.
@pytest.mark.parametrize(
    ("wrist", "pinky", "index", "expected"),
    [
        ((100, 200), (90, 170), (105, 170), (100.0, 164.0, 162.0, 0.0)),  # fingers up
        ((100, 100), (130, 90), (130, 105), (136.0, 100.0, 162.0, 90.0)),  # fingers right
        ((100, 100), (90, 130), (105, 130), (100.0, 136.0, 162.0, -180.0)),  # fingers down
        ((0, 0), (-30, 0), (-30, 0), (-36.0, 0.0, 162.0, -90.0)),  # fingers left
    ],
)
@pytest.mark.parametrize("side", ["left", "right"])
def test_hand_roi_geometry(
    side: str, wrist: Any, pinky: Any, index: Any, expected: tuple[float, ...]
) -> None:
    ids = {"left": (15, 17, 19), "right": (16, 18, 20)}[side]
    pose = _pose(dict(zip(ids, (wrist, pinky, index), strict=True)))
    roi = hand_roi(pose, side)  # type: ignore[arg-type]
    assert roi is not None
    cx, cy, size, rot = expected
    assert roi.center_x == pytest.approx(cx, abs=1e-4)
    assert roi.center_y == pytest.approx(cy, abs=1e-4)
    assert roi.width == pytest.approx(size) and roi.height == pytest.approx(size)
    assert math.degrees(roi.rotation) == pytest.approx(rot, abs=1e-6)


@pytest.mark.parametrize(
    ("wrist_vis", "expected_left"), [(0.09, False), (0.1, True), (0.5, True), (0.0, False)]
)
def test_wrist_visibility_gating(wrist_vis: float, expected_left: bool) -> None:
    pts = {15: (100, 200), 17: (90, 170), 19: (105, 170), 16: (300, 200), 18: (310, 170),
           20: (295, 170)}  # fmt: skip
    pose = _pose(pts, {15: wrist_vis})
    rois = HandoffRois.from_pose(pose)
    assert (rois.left_hand is not None) is expected_left
    assert rois.right_hand is not None  # the other hand is unaffected
    assert hand_roi(pose, "left", min_visibility=0.0) is not None


def test_face_roi_geometry() -> None:
    # Face points in x 90..110, y 45..60; eyes level: right eye (5) left of left eye (2).
    pts = {0: (100, 55), 1: (103, 50), 2: (105, 50), 3: (107, 50), 4: (97, 50), 5: (95, 50),
           6: (93, 50), 7: (110, 52), 8: (90, 52), 9: (103, 60), 10: (97, 60)}  # fmt: skip
    pts.update({i: (100.0, 150.0) for i in range(11, 33)})
    roi = face_roi(_pose(pts))
    assert roi is not None
    assert (roi.center_x, roi.center_y, roi.width, roi.height) == pytest.approx((100, 55, 60, 60))
    assert roi.rotation == pytest.approx(0.0)
    # Tilt the head by 30 degrees: the eye line sets the rotation (clockwise on screen).
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    tilted = {i: (100 + (x - 100) * c - (y - 55) * s, 55 + (x - 100) * s + (y - 55) * c)
              for i, (x, y) in pts.items() if i < 11}  # fmt: skip
    tilted.update({i: (100.0, 150.0) for i in range(11, 33)})
    roi_t = face_roi(_pose(tilted))
    assert roi_t is not None and math.degrees(roi_t.rotation) == pytest.approx(30.0, abs=1e-3)


def test_transform_rect_shift_follows_rotation() -> None:
    r = RotatedRect(10.0, 10.0, 4.0, 8.0, math.pi / 2)
    out = transform_rect(r, scale=2.0, shift_x=0.5, shift_y=-0.25)
    # rotated x axis = image +y, rotated y axis = image -x
    assert (out.center_x, out.center_y) == pytest.approx((12.0, 12.0))
    assert (out.width, out.height) == (16.0, 16.0)
    assert transform_rect(r, square_long=False).width == 4.0


def test_hand_roi_from_landmarks_upright_hand() -> None:
    xy = np.zeros((21, 2))
    xy[0] = (95, 200)  # wrist, straight below the middle MCP
    for finger, x in zip((5, 9, 13, 17), (85, 95, 105, 115), strict=True):  # MCPs
        xy[finger] = (x, 160)
        xy[finger + 1] = (x, 140)  # PIPs
        xy[finger + 2] = (x, 125)
        xy[finger + 3] = (x, 110)
    xy[1:5] = [(80, 190), (70, 175), (62, 160), (58, 150)]  # thumb
    roi = hand_roi_from_landmarks(xy)
    # palm subset spans x 62..115 (53) and y 140..200 (60): square 60, x2 = 120, shift 6 up
    assert roi.rotation == pytest.approx(0.0, abs=1e-9)
    assert (roi.width, roi.height) == pytest.approx((120.0, 120.0))
    assert (roi.center_x, roi.center_y) == pytest.approx(((62 + 115) / 2, 170 - 6))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda p: hand_roi(p, "middle"), "left' or 'right"),
        (lambda p: hand_roi(None, "left"), "needs a Pose"),
        (lambda p: face_roi("pose"), "needs a Pose"),
        (lambda p: hand_roi_from_landmarks(np.zeros((20, 2))), r"\(21, 2\)"),
    ],
)
def test_bad_input(call: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call(_pose({}))


def test_nan_landmarks_never_reach_the_handoff() -> None:
    xy = np.zeros((33, 2))
    xy[15] = np.nan
    with pytest.raises(InputError, match="non-finite"):
        Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)


def test_degenerate_hand_is_skipped() -> None:
    assert hand_roi(_pose({15: (5, 5), 17: (5, 5), 19: (5, 5)}), "left") is None


def test_roi_handoff_analyzer() -> None:
    an = RoiHandoff()
    assert an.update(OfflineFrame(None, 0.0, 0)) is None  # person lost: documented skip
    pose = _pose({15: (100, 200), 17: (90, 170), 19: (105, 170)}, {16: 0.0})
    out = an.update(OfflineFrame(pose, 0.1, 1))
    assert out is not None and out.left_hand is not None and out.right_hand is None


# ----------------------------------------------------------------------------- real models
@pytest.fixture(scope="module")
def models(models_src: Path) -> tuple[HandLandmarker, FaceLandmarker]:
    from posekit.models import install

    install(
        ["pose_detection", "pose_landmark_full", "hand_landmark_full", "face_landmark",
         "face_detection_short_range"],
        source=models_src,
        progress=False,
    )  # fmt: skip
    return HandLandmarker(num_threads=1), FaceLandmarker(num_threads=1)


@pytest.fixture(scope="module")
def real(models: Any) -> tuple[np.ndarray, Pose]:
    from posekit.tracker import Tracker

    image = cv2.imread(str(HANDS_IMAGE))
    with Tracker(mode="image", num_threads=1) as t:
        pose = t.process(image, 0.0).pose
    assert pose is not None
    return image, pose


def _inside(points: np.ndarray, roi: RotatedRect) -> np.ndarray:
    uv = roi.to_crop(points, (1, 1))
    return np.all((uv >= 0) & (uv <= 1), axis=1)


@pytest.mark.parametrize("side", ["left", "right"])
def test_real_hands(models: Any, real: Any, side: str) -> None:
    hands, _ = models
    image, pose = real
    roi = hand_roi(pose, side)  # type: ignore[arg-type]
    assert roi is not None
    lm = hands.estimate(image, roi, side=side)  # type: ignore[arg-type]
    assert lm.presence > 0.8
    assert lm.xy.shape == (21, 2) and lm.world.shape == (21, 3) and lm.z.shape == (21,)
    assert _inside(lm.xy, roi).all()  # the landmarks lie in the pose-derived search ROI
    assert _inside(lm.xy, lm.roi).all()
    # the hand is where the pose says: wrist near the pose wrist (within half the palm square)
    wrist_i = {"left": 15, "right": 16}[side]
    assert np.linalg.norm(lm.xy[0] - pose.xy[wrist_i]) < roi.width / 2.7 / 2
    # the model's own handedness agrees with the pose's side (non-mirrored photo)
    assert (lm.handedness > 0.5) is (side == "right")


def test_real_face_mesh(models: Any, real: Any) -> None:
    _, faces = models
    image, pose = real
    search = face_roi(pose)
    assert search is not None
    mesh = faces.from_pose_roi(image, search)
    assert mesh is not None and mesh.presence > 0.9
    assert mesh.xy.shape == (468, 2)
    assert _inside(mesh.xy, search).all() and _inside(mesh.xy, mesh.roi).mean() > 0.99
    # Independent check: mesh eye centres (corners 33/133 right, 362/263 left) vs pose eyes.
    eye_gap = float(np.linalg.norm(pose.xy[2] - pose.xy[5]))
    right = mesh.xy[[33, 133]].mean(axis=0)
    left = mesh.xy[[362, 263]].mean(axis=0)
    assert np.linalg.norm(right - pose.xy[5]) < 0.25 * eye_gap
    assert np.linalg.norm(left - pose.xy[2]) < 0.25 * eye_gap


def test_face_detector_finds_nothing_in_blank_roi(models: Any) -> None:
    _, faces = models
    blank = np.full((200, 200, 3), 255, np.uint8)
    assert faces.from_pose_roi(blank, RotatedRect(100, 100, 150, 150)) is None


def test_invalid_roi_is_refused(models: Any) -> None:
    hands, _ = models
    with pytest.raises(InputError, match="valid RotatedRect"):
        hands.estimate(np.zeros((10, 10, 3), np.uint8), RotatedRect(5, 5, 0, 0), side="left")
