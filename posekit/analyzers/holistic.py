"""Holistic composition: pose + both hands + face mesh per frame, for sign-language tooling.

:class:`Holistic` takes a frame and its tracked :class:`~posekit.pose.Pose` and runs the hand
landmark model on both hands and the face mesh on the face (see
:mod:`posekit.analyzers.handoff` for the ROI geometry). Across frames it tracks like
MediaPipe's holistic graph:

* **Hands**: the ROI derived from the previous frame's hand landmarks is reused while it stays
  within the reference limits of the current pose-derived hand ROI (rotation <= 40 deg,
  centre movement <= 0.2 and size change <= 0.4 of the current ROI's size, previous landmarks
  inside the current ROI shrunk by 10 %: ``RoiTrackingCalculator``). Otherwise the ROI is
  re-derived from the pose (and refined with a second pass, see
  :class:`~posekit.analyzers.handoff.HandLandmarker`). MediaPipe compares against its re-crop
  model's ROI; posekit compares against the pose-derived palm square scaled by
  :data:`HAND_TRACKING_POSE_SCALE` (2.25, the median ratio of the landmark ROI to the palm
  square measured on the dev images), so that the sizes are comparable.
* **Face**: the face detector runs inside the pose-derived face ROI every frame; the ROI of the
  previous mesh is reused while it stays within 15 deg / 0.1 / 0.3 of the detection's ROI.
* A hand (face) whose presence is below ``min_hand_presence`` (``min_face_presence``) is
  reported as None and its tracking is dropped. A frame without a pose resets all tracking.

Output: :class:`HolisticResult` with typed parts per frame; a stream of them becomes a
:class:`~posekit.sequence.PoseSequence` (components body, left_hand, right_hand, face,
body_world) with ``PoseSequence.from_results``, normalised by shoulder width with
``seq.normalize()`` (pose-format's ``Pose.normalize``).

Example:
    >>> import posekit
    >>> from posekit.analyzers.holistic import HolisticAnalyzer
    >>> with posekit.Tracker() as tracker:  # doctest: +SKIP
    ...     holistic = HolisticAnalyzer()
    ...     results = [holistic.update(r) for r in tracker.stream("signing.mp4")]
    >>> seq = posekit.PoseSequence.from_results(results, fps=30.0).normalize()  # doctest: +SKIP
    >>> seq.shape  # doctest: +SKIP
    (120, 1, 576, 3)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.analyzers.handoff import HAND_ROI_SCALE, face_roi, hand_roi
from posekit.errors import InputError
from posekit.face import (
    FaceLandmarker,
    FaceLandmarks,
    face_roi_from_detection,
    face_roi_from_landmarks,
)
from posekit.hands import HandLandmarker, HandLandmarks, HandSide, hand_roi_from_landmarks
from posekit.image import as_frame
from posekit.pose import Pose
from posekit.records import to_json_value
from posekit.roi import RotatedRect, transform_rect

__all__ = [
    "FACE_TRACKING_LIMITS",
    "HAND_TRACKING_LIMITS",
    "HAND_TRACKING_POSE_SCALE",
    "Holistic",
    "HolisticAnalyzer",
    "HolisticResult",
    "TrackingLimits",
    "roi_tracking_ok",
]

HAND_TRACKING_POSE_SCALE: Final = 2.25
"""Scale of the pose palm square that matches the hand landmark ROI (see module docstring)."""


@dataclass(frozen=True, slots=True)
class TrackingLimits:
    """``RoiTrackingCalculator`` limits: rotation (degrees), translation and scale change
    (fractions of the current ROI's size), margin of the landmark-inside check."""

    rotation_degrees: float
    translation: float
    scale: float
    margin: float = -0.1


HAND_TRACKING_LIMITS: Final = TrackingLimits(40.0, 0.2, 0.4)
FACE_TRACKING_LIMITS: Final = TrackingLimits(15.0, 0.1, 0.3)


def roi_tracking_ok(
    previous: RotatedRect,
    current: RotatedRect,
    limits: TrackingLimits,
    previous_points: npt.ArrayLike | None = None,
) -> bool:
    """Whether ``previous`` (from the last landmarks) may be reused instead of ``current``.

    Translation is measured along the current ROI's axes; ``previous_points`` (pixels), when
    given, must lie inside ``current`` enlarged by ``limits.margin`` (shrunk for a negative one).

    >>> a = RotatedRect(100.0, 100.0, 50.0, 50.0, 0.0)
    >>> roi_tracking_ok(a, RotatedRect(105.0, 100.0, 50.0, 50.0, 0.1), HAND_TRACKING_LIMITS)
    True
    >>> roi_tracking_ok(a, RotatedRect(115.0, 100.0, 50.0, 50.0, 0.0), HAND_TRACKING_LIMITS)
    False
    """
    diff = math.degrees(previous.rotation - current.rotation)
    diff = (diff + 180.0) % 360.0 - 180.0
    if abs(diff) > limits.rotation_degrees:
        return False
    c, s = math.cos(-current.rotation), math.sin(-current.rotation)
    dx = previous.center_x - current.center_x
    dy = previous.center_y - current.center_y
    if abs(dx * c - dy * s) > current.width * limits.translation:
        return False
    if abs(dx * s + dy * c) > current.height * limits.translation:
        return False
    if abs(previous.width - current.width) > current.width * limits.scale:
        return False
    if abs(previous.height - current.height) > current.height * limits.scale:
        return False
    if previous_points is not None:
        pts = np.asarray(previous_points, np.float64).reshape(-1, 2)
        rel = pts - (current.center_x, current.center_y)
        u = rel[:, 0] * c - rel[:, 1] * s
        v = rel[:, 0] * s + rel[:, 1] * c
        half_w = current.width * (1.0 + limits.margin) / 2.0
        half_h = current.height * (1.0 + limits.margin) / 2.0
        if not ((np.abs(u) < half_w) & (np.abs(v) < half_h)).all():
            return False
    return True


@dataclass(frozen=True, slots=True, eq=False)
class HolisticResult:
    """Pose, hands and face of one frame (None where absent).

    ``*_tracked``: the part's ROI came from the previous frame's landmarks. Collect a stream
    of results with ``posekit.PoseSequence.from_results(results)``.

    Example:
        >>> from posekit.sequence import PoseSequence
        >>> PoseSequence.from_results([HolisticResult(pose=None)]).shape
        (1, 1, 576, 3)
    """

    pose: Pose | None
    left_hand: HandLandmarks | None = None
    right_hand: HandLandmarks | None = None
    face: FaceLandmarks | None = None
    left_hand_tracked: bool = False
    right_hand_tracked: bool = False
    face_tracked: bool = False

    def to_record(self) -> dict[str, Any]:
        """The frame's parts as JSON values: ``pose`` (``Pose.to_dict``), ``left_hand``,
        ``right_hand`` and ``face`` (their fields, arrays as lists) or None, and the three
        ``*_tracked`` flags."""
        return {
            "pose": None if self.pose is None else self.pose.to_dict(),
            "left_hand": to_json_value(self.left_hand, "left_hand"),
            "right_hand": to_json_value(self.right_hand, "right_hand"),
            "face": to_json_value(self.face, "face"),
            "left_hand_tracked": self.left_hand_tracked,
            "right_hand_tracked": self.right_hand_tracked,
            "face_tracked": self.face_tracked,
        }


class Holistic:
    """Run hands and face on top of a tracked pose, frame after frame (see module docstring).

    Args:
        hands, faces: model wrappers (default: built with ``num_threads``).
        min_hand_presence, min_face_presence: below this a part is reported as None (0.5).
        min_wrist_visibility: pose wrist visibility below this skips the hand (0.1).
        track: reuse ROIs from the previous frame's landmarks within the limits.
        face: run the face mesh (False: hands only, cheaper).

    Example:
        >>> h = Holistic(num_threads=1)  # doctest: +SKIP
        >>> res = h.process(image, pose)  # doctest: +SKIP
        >>> res.left_hand.xy.shape, res.face.xy.shape  # doctest: +SKIP
        ((21, 2), (468, 2))
    """

    def __init__(
        self,
        hands: HandLandmarker | None = None,
        faces: FaceLandmarker | None = None,
        *,
        num_threads: int | None = None,
        min_hand_presence: float = 0.5,
        min_face_presence: float = 0.5,
        min_wrist_visibility: float = 0.1,
        track: bool = True,
        face: bool = True,
    ) -> None:
        for nm, v in (
            ("min_hand_presence", min_hand_presence),
            ("min_face_presence", min_face_presence),
            ("min_wrist_visibility", min_wrist_visibility),
        ):
            if not 0.0 <= float(v) <= 1.0:
                raise InputError(f"{nm}={v} is outside [0, 1]: pass a probability")
        self.hands = hands if hands is not None else HandLandmarker(num_threads=num_threads)
        self.use_face = bool(face)
        self.faces: FaceLandmarker | None = None
        if self.use_face:
            self.faces = faces if faces is not None else FaceLandmarker(num_threads=num_threads)
        self.min_hand_presence = float(min_hand_presence)
        self.min_face_presence = float(min_face_presence)
        self.min_wrist_visibility = float(min_wrist_visibility)
        self.track = bool(track)
        self.reset()

    def reset(self) -> None:
        """Forget the landmarks of the previous frame."""
        self._prev_hand: dict[str, HandLandmarks | None] = {"left": None, "right": None}
        self._prev_face: FaceLandmarks | None = None

    def process(
        self, image: npt.NDArray[Any], pose: Pose | None, color: str = "bgr"
    ) -> HolisticResult:
        """Hands and face for ``pose`` in ``image`` (the frame the pose was tracked on).

        ``pose=None`` (person lost) returns an empty result and resets tracking.

        Raises:
            InputError: unusable image, or a pose whose ``image_size`` differs from the image.
        """
        frame = as_frame(image, color)
        if pose is None:
            self.reset()
            return HolisticResult(pose=None)
        if not isinstance(pose, Pose):
            raise InputError(f"pose must be a Pose or None, got {type(pose).__name__}")
        if pose.image_size is not None and pose.image_size != frame.size:
            raise InputError(
                f"the pose belongs to a {pose.image_size} frame but the image is {frame.size}: "
                "pass the frame the pose was tracked on"
            )
        left, left_t = self._hand(frame, pose, "left")
        right, right_t = self._hand(frame, pose, "right")
        face, face_t = self._face(frame, pose) if self.use_face else (None, False)
        return HolisticResult(pose, left, right, face, left_t, right_t, face_t)

    def _hand(self, frame: Any, pose: Pose, side: HandSide) -> tuple[HandLandmarks | None, bool]:
        search = hand_roi(pose, side, min_visibility=self.min_wrist_visibility)
        prev = self._prev_hand[side]
        if search is None:
            self._prev_hand[side] = None
            return None, False
        tracked = False
        result: HandLandmarks | None = None
        if self.track and prev is not None:
            palm = transform_rect(
                search,
                scale=HAND_TRACKING_POSE_SCALE / HAND_ROI_SCALE,
                square_long=True,
            )
            prev_roi = hand_roi_from_landmarks(prev.xy)
            if roi_tracking_ok(prev_roi, palm, HAND_TRACKING_LIMITS, prev.xy):
                result = self.hands.estimate(frame, prev_roi, side=side, refine=False)
                tracked = True
        if result is None:
            result = self.hands.estimate(frame, search, side=side, refine=True)
        if not result.presence >= self.min_hand_presence:
            self._prev_hand[side] = None
            return None, False
        self._prev_hand[side] = result
        return result, tracked

    def _face(self, frame: Any, pose: Pose) -> tuple[FaceLandmarks | None, bool]:
        faces = self.faces
        if faces is None:  # only called when use_face is true
            return None, False
        search = face_roi(pose)
        if search is None:
            self._prev_face = None
            return None, False
        found = faces.detector.detect(frame, search)
        prev = self._prev_face
        roi: RotatedRect | None = None
        tracked = False
        if found:
            roi = face_roi_from_detection(found[0])
            if self.track and prev is not None:
                prev_roi = face_roi_from_landmarks(prev.xy)
                if roi_tracking_ok(prev_roi, roi, FACE_TRACKING_LIMITS):
                    roi, tracked = prev_roi, True
        elif self.track and prev is not None:
            roi, tracked = face_roi_from_landmarks(prev.xy), True
        if roi is None:
            self._prev_face = None
            return None, False
        mesh = faces.estimate(frame, roi, search_roi=search)
        if not mesh.presence >= self.min_face_presence:
            self._prev_face = None
            return None, False
        self._prev_face = mesh
        return mesh, tracked


class HolisticAnalyzer(Analyzer[HolisticResult]):
    """:class:`Holistic` as a per-frame analyzer: needs frames that carry their image.

    Tracker streams do (``FrameResult.frame``); for frames without an image use
    :meth:`Holistic.process` directly. A frame without a pose gives an empty result.

    Raises (from :meth:`update`):
        InputError: the frame has a pose but no ``frame`` image.
    """

    name = "holistic"

    def __init__(self, holistic: Holistic | None = None, **options: Any) -> None:
        self.holistic = holistic if holistic is not None else Holistic(**options)

    def reset(self) -> None:
        self.holistic.reset()

    def update(self, frame: PoseFrame) -> HolisticResult:
        pose = frame.pose
        if pose is None:
            self.holistic.reset()
            return HolisticResult(pose=None)
        image = getattr(frame, "frame", None)
        if image is None:
            raise InputError(
                "HolisticAnalyzer needs the frame's image: use it with Tracker.stream (whose "
                "results carry .frame) or call Holistic.process(image, pose)"
            )
        return self.holistic.process(image, pose)
