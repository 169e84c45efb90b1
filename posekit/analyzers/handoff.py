"""Hand and face ROI handoff: from a body pose to the hand and face stages (geometry only).

MediaPipe ``holistic_landmark`` graphs, everything in image pixels:

* **Hand from pose** (``hand_landmarks_from_pose_to_recrop_roi``,
  ``HandDetectionsFromPoseToRectsCalculator``): pose landmarks wrist / pinky / index =
  15 / 17 / 19 (left hand) and 16 / 18 / 20 (right hand); the hand is skipped when the wrist
  visibility is below 0.1. ``middle = (2 * index + pinky) / 3`` is the centre,
  ``side = 2 * |middle - wrist|``, ``rotation = normalize(pi/2 - atan2(-(ym - yw), xm - xw))``
  (fingers up = 0); then :func:`~posekit.roi.transform_rect` with ``shift_y = -0.1`` (towards
  the fingertips), square on the long side, scale 2.7. (The newest MediaPipe sources replace
  ``side`` by a fitted formula; posekit keeps the documented ``2 * |middle - wrist|``.)
* **Face from pose** (``face_landmarks_from_pose_to_recrop_roi``): the bounding box of pose
  landmarks 0-10, rotated so the eye line (landmark 5, right eye, to 2, left eye) is horizontal
  (target angle 0), square on the long side, scale 3.0.

The models that run on these ROIs are stages: :class:`posekit.hands.HandLandmarker`,
:class:`posekit.face.FaceLandmarker` (composed per frame by
:class:`posekit.analyzers.holistic.Holistic`).

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> xy = np.zeros((33, 2), np.float32)
    >>> xy[15] = (100, 200); xy[17] = (90, 170); xy[19] = (105, 170)    # left wrist/pinky/index
    >>> vis = np.ones(33, np.float32)
    >>> p = Pose(xy, np.zeros(33), vis, vis, score=1.0, image_size=(640, 480))
    >>> r = hand_roi(p, "left")
    >>> round(r.width, 2), round(math.degrees(r.rotation), 1)
    (162.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.errors import InputError
from posekit.hands import HAND_ROI_SHIFT_Y, HandSide, hand_side
from posekit.pose import Pose
from posekit.records import roi_record
from posekit.roi import RotatedRect, bbox_rect, rotation_between, transform_rect

__all__ = [
    "FACE_POSE_LANDMARKS",
    "FACE_ROI_SCALE",
    "HAND_POSE_LANDMARKS",
    "HAND_ROI_SCALE",
    "MIN_WRIST_VISIBILITY",
    "HandoffRois",
    "RoiHandoff",
    "face_roi",
    "hand_roi",
]

HAND_POSE_LANDMARKS: Final[dict[str, tuple[int, int, int]]] = {
    "left": (15, 17, 19),
    "right": (16, 18, 20),
}
"""Pose landmarks ``(wrist, pinky, index)`` of each hand (the person's left / right)."""

FACE_POSE_LANDMARKS: Final = tuple(range(11))
"""Pose landmarks 0-10 (nose, eyes, ears, mouth) that locate the face."""

MIN_WRIST_VISIBILITY: Final = 0.1
HAND_ROI_SCALE: Final = 2.7
FACE_ROI_SCALE: Final = 3.0


def hand_roi(
    pose: Pose,
    side: HandSide,
    *,
    min_visibility: float = MIN_WRIST_VISIBILITY,
    scale: float = HAND_ROI_SCALE,
) -> RotatedRect | None:
    """The hand search ROI of the person's ``side`` hand, or None when its wrist is not visible.

    None also when the wrist and the estimated middle finger coincide (zero-size ROI).

    Raises:
        InputError: ``side`` is not ``"left"``/``"right"`` or ``pose`` is not a Pose.
    """
    if not isinstance(pose, Pose):
        raise InputError(f"hand_roi needs a Pose, got {type(pose).__name__}")
    wrist_i, pinky_i, index_i = HAND_POSE_LANDMARKS[hand_side(side)]
    if not pose.visibility[wrist_i] >= min_visibility:
        return None
    xy = pose.xy.astype(np.float64)
    wrist = xy[wrist_i]
    middle = (2.0 * xy[index_i] + xy[pinky_i]) / 3.0
    size = 2.0 * float(np.hypot(*(middle - wrist)))
    if not size > 0.0:
        return None
    rect = RotatedRect(
        float(middle[0]), float(middle[1]), size, size, rotation_between(wrist, middle, math.pi / 2)
    )
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


def face_roi(pose: Pose, *, scale: float = FACE_ROI_SCALE) -> RotatedRect | None:
    """The face search ROI from pose landmarks 0-10, or None for a zero-size face box."""
    if not isinstance(pose, Pose):
        raise InputError(f"face_roi needs a Pose, got {type(pose).__name__}")
    pts = pose.xy[: len(FACE_POSE_LANDMARKS)].astype(np.float64)
    rect = bbox_rect(pts, rotation_between(pts[5], pts[2], 0.0))
    if not max(rect.width, rect.height) > 0.0:
        return None
    return transform_rect(rect, scale=scale)


# ---------------------------------------------------------------------------------- analyzer
@dataclass(frozen=True, slots=True)
class HandoffRois:
    """The hand and face ROIs of one pose (None where skipped)."""

    left_hand: RotatedRect | None
    right_hand: RotatedRect | None
    face: RotatedRect | None

    @classmethod
    def from_pose(
        cls, pose: Pose, *, min_wrist_visibility: float = MIN_WRIST_VISIBILITY
    ) -> HandoffRois:
        """All three ROIs of ``pose``."""
        return cls(
            hand_roi(pose, "left", min_visibility=min_wrist_visibility),
            hand_roi(pose, "right", min_visibility=min_wrist_visibility),
            face_roi(pose),
        )

    def to_record(self) -> dict[str, Any]:
        """``{left_hand, right_hand, face}``: each an ROI record or None."""
        return {
            "left_hand": roi_record(self.left_hand),
            "right_hand": roi_record(self.right_hand),
            "face": roi_record(self.face),
        }


class RoiHandoff(Analyzer["HandoffRois | None"]):
    """Per-frame hand and face ROIs (geometry only, no models): None when there is no pose.

    Example:
        >>> from posekit.analyzers.base import OfflineFrame
        >>> RoiHandoff().update(OfflineFrame(None, 0.0, 0)) is None
        True
    """

    name = "handoff"

    def __init__(self, *, min_wrist_visibility: float = MIN_WRIST_VISIBILITY) -> None:
        self.min_wrist_visibility = float(min_wrist_visibility)

    def update(self, frame: PoseFrame) -> HandoffRois | None:
        pose = frame.pose
        if pose is None:
            return None
        return HandoffRois.from_pose(pose, min_wrist_visibility=self.min_wrist_visibility)
