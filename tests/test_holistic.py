"""Holistic composition (posekit.analyzers.holistic): tracking limits, keypoint arrays and
their normalisation, and the real models on a real image and on video frames."""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.holistic import (
    FACE_TRACKING_LIMITS,
    HAND_TRACKING_LIMITS,
    Holistic,
    HolisticAnalyzer,
    roi_tracking_ok,
)
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.roi import RotatedRect
from posekit.sequence import PoseSequence

HANDS_IMAGE = DATA / "yoga" / "baddha_konasana" / "baddha_konasana_09ff6bb3e1.jpg"
VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"
CUR = RotatedRect(100.0, 100.0, 50.0, 50.0, 0.0)


@pytest.mark.parametrize(
    ("previous", "limits", "expected"),
    [
        (RotatedRect(100, 100, 50, 50, 0.0), HAND_TRACKING_LIMITS, True),
        (RotatedRect(100, 100, 50, 50, math.radians(39)), HAND_TRACKING_LIMITS, True),
        (RotatedRect(100, 100, 50, 50, math.radians(41)), HAND_TRACKING_LIMITS, False),
        (RotatedRect(100, 100, 50, 50, math.radians(16)), FACE_TRACKING_LIMITS, False),
        (RotatedRect(109, 100, 50, 50, 0.0), HAND_TRACKING_LIMITS, True),  # 0.18 of the side
        (RotatedRect(111, 100, 50, 50, 0.0), HAND_TRACKING_LIMITS, False),  # 0.22
        (RotatedRect(100, 111, 50, 50, 0.0), HAND_TRACKING_LIMITS, False),
        (RotatedRect(106, 100, 50, 50, 0.0), FACE_TRACKING_LIMITS, False),  # 0.12 > 0.1
        (RotatedRect(100, 100, 69, 69, 0.0), HAND_TRACKING_LIMITS, True),  # +38 %
        (RotatedRect(100, 100, 71, 71, 0.0), HAND_TRACKING_LIMITS, False),  # +42 %
        (RotatedRect(100, 100, 36, 36, 0.0), FACE_TRACKING_LIMITS, True),  # -28 %
        (RotatedRect(100, 100, 34, 34, 0.0), FACE_TRACKING_LIMITS, False),  # -32 %
        # rotation difference wraps around +-180 degrees
        (RotatedRect(100, 100, 50, 50, math.radians(179)), HAND_TRACKING_LIMITS, False),
    ],
)
def test_roi_tracking_limits(previous: RotatedRect, limits: Any, expected: bool) -> None:
    assert roi_tracking_ok(previous, CUR, limits) is expected


def test_roi_tracking_wraps_rotation_and_checks_points() -> None:
    a = RotatedRect(0, 0, 50, 50, math.radians(179))
    b = RotatedRect(0, 0, 50, 50, math.radians(-179))
    assert roi_tracking_ok(a, b, HAND_TRACKING_LIMITS)
    inside = np.array([[100, 100], [120, 80]])  # within the 45 px square (margin -0.1)
    outside = np.array([[100, 100], [124, 100]])
    assert roi_tracking_ok(CUR, CUR, HAND_TRACKING_LIMITS, inside)
    assert not roi_tracking_ok(CUR, CUR, HAND_TRACKING_LIMITS, outside)


def _pose(shoulders: tuple[tuple[float, float], tuple[float, float]]) -> Pose:
    xy = np.full((33, 2), 50.0, np.float32)
    xy[11], xy[12] = shoulders
    return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0, image_size=(640, 480))


# ----------------------------------------------------------------------------- real models
@pytest.fixture(scope="module")
def holistic(models_src: Path) -> Holistic:
    from posekit.models import install

    install(
        ["pose_detection", "pose_landmark_full", "hand_landmark_full", "face_landmark",
         "face_detection_short_range"],
        source=models_src,
        progress=False,
    )  # fmt: skip
    return Holistic(num_threads=1)


def test_real_image(holistic: Holistic) -> None:
    from posekit.tracker import Tracker

    image = cv2.imread(str(HANDS_IMAGE))
    with Tracker(mode="image", num_threads=1) as t:
        pose = t.process(image, 0.0).pose
    holistic.reset()
    res = holistic.process(image, pose)
    assert res.left_hand is not None and res.right_hand is not None and res.face is not None
    assert not (res.left_hand_tracked or res.right_hand_tracked or res.face_tracked)
    seq = PoseSequence.from_results([res])
    assert seq.known.all()
    np.testing.assert_array_equal(seq.component("left_hand")[0, 0, :, :2], res.left_hand.xy)
    # The same image again: hands and face are tracked from the first result.
    again = holistic.process(image, pose)
    assert again.left_hand_tracked and again.right_hand_tracked and again.face_tracked
    assert again.left_hand is not None
    assert np.abs(again.left_hand.xy - res.left_hand.xy).max() < 0.1 * res.left_hand.roi.width
    # Person lost: empty result, tracking forgotten.
    assert holistic.process(image, None).left_hand is None
    assert not holistic.process(image, pose).left_hand_tracked


def test_image_size_mismatch(holistic: Holistic) -> None:
    with pytest.raises(InputError, match="pass the frame the pose was tracked on"):
        holistic.process(np.zeros((100, 100, 3), np.uint8), _pose(((1, 1), (2, 2))))


def test_analyzer_on_video_tracks_hands(holistic: Holistic) -> None:
    from posekit.tracker import Tracker

    an = HolisticAnalyzer(holistic)
    an.reset()
    with Tracker(num_threads=1) as t:
        results = [an.update(r) for r in itertools.islice(t.stream(str(VIDEO)), 30)]
    hands = [r.left_hand for r in results if r.left_hand is not None]
    assert len(hands) >= 10
    assert sum(r.left_hand_tracked for r in results) >= 5  # ROIs reused from the last frame
    for r in results:
        if r.left_hand is not None:
            assert r.left_hand.presence >= 0.5
    seq = PoseSequence.from_results(results)
    assert seq.shape == (30, 1, 576, 3)


def test_analyzer_needs_the_image(holistic: Holistic) -> None:
    an = HolisticAnalyzer(holistic)
    assert an.update(OfflineFrame(None, 0.0, 0)).pose is None  # no pose: documented skip
    with pytest.raises(InputError, match="needs the frame's image"):
        an.update(OfflineFrame(_pose(((1, 1), (2, 2))), 0.1, 1))
