"""Hand and face ROI handoff: from a body pose to the hand landmark and face mesh models.

Geometry (MediaPipe ``holistic_landmark`` graphs; everything in image pixels):

* **Hand from pose** (``hand_landmarks_from_pose_to_recrop_roi``,
  ``HandDetectionsFromPoseToRectsCalculator``): pose landmarks wrist / pinky / index =
  15 / 17 / 19 (left hand) and 16 / 18 / 20 (right hand); the hand is skipped when the wrist
  visibility is below 0.1. ``middle = (2 * index + pinky) / 3`` is the centre,
  ``side = 2 * |middle - wrist|``, ``rotation = normalize(pi/2 - atan2(-(ym - yw), xm - xw))``
  (fingers up = 0); then :func:`transform_rect` with ``shift_y = -0.1`` (of the unscaled side,
  along the rotated y axis, i.e. towards the fingertips), square on the long side, scale 2.7.
  (The newest MediaPipe sources replace ``side`` by a fitted formula; posekit keeps the
  documented ``2 * |middle - wrist|``.)
* **Hand from hand landmarks** (``hand_landmarks_to_roi``, ``HandLandmarksToRectCalculator``):
  the palm subset (wrist, thumb CMC/MCP/IP, MCP and PIP of the four fingers), rotation from the
  wrist to ``((index MCP + ring MCP) / 2 + middle MCP) / 2``, the tight box of the palm points in
  that rotated frame, then shift ``-0.1``, square, scale 2.0. Used to track a hand from frame to
  frame (:mod:`posekit.analyzers.holistic`).
* **Face from pose** (``face_landmarks_from_pose_to_recrop_roi``): the bounding box of pose
  landmarks 0-10, rotated so the eye line (landmark 5, right eye, to 2, left eye) is horizontal
  (target angle 0), square on the long side, scale 3.0.
* **Face inside that ROI**: like MediaPipe, posekit runs ``face_detection_short_range``
  (128x128, ``[-1, 1]``) inside the pose face ROI; the best detection's six keypoints give the
  face landmark ROI (bounding box of the keypoints, rotated along the eyes, shift ``-0.1``,
  square, scale 2.0: ``face_detection_front_detections_to_roi``). The 468-point mesh
  (``face_landmark``, 192x192, ``[0, 1]``) then runs on that ROI. Face tracking from the previous
  mesh uses its bounding box rotated along landmarks 33 -> 263, square, scale 1.5.

MediaPipe refines the pose-derived hand ROI with a small "re-crop" model (``hand_recrop``) that
is not among the official models posekit installs; :class:`HandLandmarker` instead runs the hand
model once on the pose ROI and, by default, a second time on the ROI derived from those
landmarks (``refine=True``), which plays the same role.

Each ROI is a :class:`~posekit.roi.RotatedRect`; :class:`RoiCropper` crops it to the model's
input size and :meth:`RotatedRect.to_image` maps the model's points back.

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
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.detector import ssd_anchors, weighted_nms
from posekit.errors import InputError, ModelError
from posekit.image import Frame, as_frame, crop_to_tensor
from posekit.inference import ModelRunner
from posekit.pose import Pose
from posekit.roi import BorderMode, RoiCropper, RotatedRect, normalize_radians

__all__ = [
    "FACE_DETECTION_ROI_SCALE",
    "FACE_LANDMARK_ROI_SCALE",
    "FACE_MESH_EYE_OUTER",
    "FACE_POSE_LANDMARKS",
    "FACE_ROI_SCALE",
    "HAND_LANDMARK_ROI_SCALE",
    "HAND_POSE_LANDMARKS",
    "HAND_ROI_SCALE",
    "HAND_ROI_SHIFT_Y",
    "MIN_WRIST_VISIBILITY",
    "NUM_FACE_LANDMARKS",
    "NUM_HAND_LANDMARKS",
    "FaceDetection",
    "FaceDetector",
    "FaceLandmarker",
    "FaceLandmarks",
    "HandLandmarker",
    "HandLandmarks",
    "HandSide",
    "HandoffRois",
    "RoiHandoff",
    "face_roi",
    "face_roi_from_detection",
    "face_roi_from_landmarks",
    "hand_roi",
    "hand_roi_from_landmarks",
    "transform_rect",
]

F32Array = npt.NDArray[np.float32]
HandSide = Literal["left", "right"]

HAND_POSE_LANDMARKS: Final[dict[str, tuple[int, int, int]]] = {
    "left": (15, 17, 19),
    "right": (16, 18, 20),
}
"""Pose landmarks ``(wrist, pinky, index)`` of each hand (the person's left / right)."""

FACE_POSE_LANDMARKS: Final = tuple(range(11))
"""Pose landmarks 0-10 (nose, eyes, ears, mouth) that locate the face."""

MIN_WRIST_VISIBILITY: Final = 0.1
HAND_ROI_SCALE: Final = 2.7
HAND_ROI_SHIFT_Y: Final = -0.1
HAND_LANDMARK_ROI_SCALE: Final = 2.0
FACE_ROI_SCALE: Final = 3.0
FACE_DETECTION_ROI_SCALE: Final = 2.0
FACE_LANDMARK_ROI_SCALE: Final = 1.5
NUM_HAND_LANDMARKS: Final = 21
NUM_FACE_LANDMARKS: Final = 468
FACE_MESH_EYE_OUTER: Final = (33, 263)
"""Face mesh landmarks at the outer corners of the right and left eye (rotation reference)."""

_PALM_SUBSET: Final = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18], np.intp)
_HAND_INPUT: Final = 224
_FACE_INPUT: Final = 192
_FACE_DET_INPUT: Final = 128
_HAND_Z_NORM: Final = 0.4  # TensorsToLandmarks normalize_z of the hand graph
_SCORE_CLIP: Final = 100.0


# ---------------------------------------------------------------------------------- geometry
def transform_rect(
    rect: RotatedRect,
    *,
    scale: float = 1.0,
    shift_x: float = 0.0,
    shift_y: float = 0.0,
    square_long: bool = True,
) -> RotatedRect:
    """MediaPipe's ``RectTransformationCalculator`` in pixels.

    The centre moves by ``(shift_x * width, shift_y * height)`` along the rectangle's rotated
    axes, the rectangle becomes square on its long side (``square_long``), then both sides are
    multiplied by ``scale``.

    >>> transform_rect(RotatedRect(0.0, 0.0, 10.0, 20.0), scale=2.0, shift_y=-0.1)
    RotatedRect(center_x=0.0, center_y=-2.0, width=40.0, height=40.0, rotation=0.0)
    """
    w, h, r = rect.width, rect.height, rect.rotation
    c, s = math.cos(r), math.sin(r)
    cx = rect.center_x + w * shift_x * c - h * shift_y * s
    cy = rect.center_y + w * shift_x * s + h * shift_y * c
    if square_long:
        w = h = max(w, h)
    return RotatedRect(cx, cy, w * scale, h * scale, r)


def _rotation(start: npt.ArrayLike, end: npt.ArrayLike, target: float) -> float:
    x0, y0 = (float(v) for v in np.asarray(start, np.float64).reshape(2))
    x1, y1 = (float(v) for v in np.asarray(end, np.float64).reshape(2))
    return normalize_radians(target - math.atan2(-(y1 - y0), x1 - x0))


def _bbox_rect(points: npt.NDArray[Any], rotation: float) -> RotatedRect:
    """Axis-aligned bounding box of ``points`` with ``rotation`` attached (DetectionsToRects)."""
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return RotatedRect(
        float(lo[0] + hi[0]) / 2.0,
        float(lo[1] + hi[1]) / 2.0,
        float(hi[0] - lo[0]),
        float(hi[1] - lo[1]),
        rotation,
    )


def _rotated_bbox_rect(points: npt.NDArray[Any], rotation: float) -> RotatedRect:
    """Tight box of ``points`` in the frame rotated by ``rotation`` (HandLandmarksToRect)."""
    p = np.asarray(points, np.float64)
    centre0 = (p.min(axis=0) + p.max(axis=0)) / 2.0
    c, s = math.cos(rotation), math.sin(rotation)
    rel = p - centre0
    # Rotate by -rotation into the rectangle's frame.
    proj = np.stack([rel[:, 0] * c + rel[:, 1] * s, -rel[:, 0] * s + rel[:, 1] * c], axis=1)
    lo, hi = proj.min(axis=0), proj.max(axis=0)
    mid = (lo + hi) / 2.0
    cx = mid[0] * c - mid[1] * s + centre0[0]
    cy = mid[0] * s + mid[1] * c + centre0[1]
    return RotatedRect(float(cx), float(cy), float(hi[0] - lo[0]), float(hi[1] - lo[1]), rotation)


def _side(side: str) -> HandSide:
    if side not in HAND_POSE_LANDMARKS:
        raise InputError(f"hand side must be 'left' or 'right' (the person's), got {side!r}")
    return "left" if side == "left" else "right"


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
    wrist_i, pinky_i, index_i = HAND_POSE_LANDMARKS[_side(side)]
    if not pose.visibility[wrist_i] >= min_visibility:
        return None
    xy = pose.xy.astype(np.float64)
    wrist = xy[wrist_i]
    middle = (2.0 * xy[index_i] + xy[pinky_i]) / 3.0
    size = 2.0 * float(np.hypot(*(middle - wrist)))
    if not size > 0.0:
        return None
    rect = RotatedRect(
        float(middle[0]), float(middle[1]), size, size, _rotation(wrist, middle, math.pi / 2)
    )
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


def face_roi(pose: Pose, *, scale: float = FACE_ROI_SCALE) -> RotatedRect | None:
    """The face search ROI from pose landmarks 0-10, or None for a zero-size face box."""
    if not isinstance(pose, Pose):
        raise InputError(f"face_roi needs a Pose, got {type(pose).__name__}")
    pts = pose.xy[: len(FACE_POSE_LANDMARKS)].astype(np.float64)
    rect = _bbox_rect(pts, _rotation(pts[5], pts[2], 0.0))
    if not max(rect.width, rect.height) > 0.0:
        return None
    return transform_rect(rect, scale=scale)


def hand_roi_from_landmarks(
    xy: npt.ArrayLike, *, scale: float = HAND_LANDMARK_ROI_SCALE
) -> RotatedRect:
    """Tracking ROI from 21 hand landmarks ``(21, 2)`` in image pixels."""
    pts = np.asarray(xy, np.float64)
    if pts.shape != (NUM_HAND_LANDMARKS, 2):
        raise InputError(f"hand landmarks must be (21, 2) pixels, got {pts.shape}")
    palm = pts[_PALM_SUBSET]
    # In the palm subset: 0 wrist, 4 index MCP, 6 middle MCP, 8 ring MCP.
    towards = ((palm[4] + palm[8]) / 2.0 + palm[6]) / 2.0
    rect = _rotated_bbox_rect(palm, _rotation(palm[0], towards, math.pi / 2))
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


def face_roi_from_landmarks(
    xy: npt.ArrayLike, *, scale: float = FACE_LANDMARK_ROI_SCALE
) -> RotatedRect:
    """Tracking ROI from the 468-point face mesh ``(468, 2)`` in image pixels."""
    pts = np.asarray(xy, np.float64)
    if pts.shape != (NUM_FACE_LANDMARKS, 2):
        raise InputError(f"face landmarks must be (468, 2) pixels, got {pts.shape}")
    a, b = FACE_MESH_EYE_OUTER
    return transform_rect(_bbox_rect(pts, _rotation(pts[a], pts[b], 0.0)), scale=scale)


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True, eq=False)
class HandLandmarks:
    """21 hand landmarks of one hand, in image pixels.

    Attributes:
        side: which of the person's hands the pose says this is (``"left"``/``"right"``).
        xy: ``(21, 2)`` float32 pixel coordinates (MediaPipe hand topology: 0 wrist, 4 thumb
            tip, 8 index tip, 12 middle tip, 16 ring tip, 20 pinky tip).
        z: ``(21,)`` float32 depth relative to the wrist, on the scale of x (smaller = nearer).
        world: ``(21, 3)`` float32 metric coordinates (metres, origin at the hand's centre).
        presence: hand presence probability from the model.
        handedness: the model's probability that this is a **right** hand (of the person, for a
            non-mirrored image).
        roi: the region the model looked at.
    """

    side: HandSide
    xy: F32Array
    z: F32Array
    world: F32Array
    presence: float
    handedness: float
    roi: RotatedRect


@dataclass(frozen=True, slots=True, eq=False)
class FaceLandmarks:
    """The 468-point face mesh, in image pixels.

    Attributes:
        xy: ``(468, 2)`` float32 pixel coordinates (MediaPipe face mesh topology; 33 / 263 are
            the outer corners of the right / left eye, 1 the nose tip).
        z: ``(468,)`` float32 depth on the scale of x (smaller = nearer).
        presence: face presence probability (sigmoid of the model's face flag).
        roi: the region the mesh model looked at.
        search_roi: the pose-derived face ROI the face detector searched (None when tracked).
    """

    xy: F32Array
    z: F32Array
    presence: float
    roi: RotatedRect
    search_roi: RotatedRect | None = None


@dataclass(frozen=True, slots=True, eq=False)
class FaceDetection:
    """A face found by :class:`FaceDetector`, in image pixels.

    ``keypoints``: ``(6, 2)`` right eye, left eye, nose tip, mouth centre, right ear tragion,
    left ear tragion. ``box``: ``xmin, ymin, xmax, ymax`` in the search ROI's axes mapped to
    the image (corners 0 and 2 of the box).
    """

    box: F32Array
    keypoints: F32Array
    score: float


def face_roi_from_detection(
    detection: FaceDetection, *, scale: float = FACE_DETECTION_ROI_SCALE
) -> RotatedRect:
    """Face landmark ROI from a face detection's keypoints (see the module docstring)."""
    kp = detection.keypoints.astype(np.float64)
    rect = _bbox_rect(kp, _rotation(kp[0], kp[1], 0.0))
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


# ---------------------------------------------------------------------------------- models
def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(x, -_SCORE_CLIP), _SCORE_CLIP)))


def _frame(image: Frame | npt.NDArray[np.uint8], color: str) -> Frame:
    return image if isinstance(image, Frame) else as_frame(image, color)


def _check_roi(roi: RotatedRect) -> None:
    if not isinstance(roi, RotatedRect) or not roi.is_valid():
        raise InputError(f"the ROI must be a valid RotatedRect (finite, positive size), got {roi}")


class HandLandmarker:
    """Run ``hand_landmark_full`` (224x224, RGB ``[0, 1]``) on a hand ROI.

    Args:
        session: a :class:`~posekit.detector.ModelRunner` (default: loaded with
            ``posekit.models.load_session("hand_landmark_full", num_threads=num_threads)``).
        refine: when estimating from a pose-derived search ROI, run the model a second time on
            the ROI derived from the first landmarks (stands in for MediaPipe's re-crop model).
        border: pixels outside the image (``"replicate"`` as MediaPipe's landmark graphs).

    Example:
        >>> hands = HandLandmarker(num_threads=1)  # doctest: +SKIP
        >>> roi = hand_roi(pose, "left")  # doctest: +SKIP
        >>> lm = hands.estimate(image, roi, side="left", refine=True)  # doctest: +SKIP
        >>> lm.presence > 0.5, lm.xy.shape  # doctest: +SKIP
        (True, (21, 2))
    """

    input_size: Final = (_HAND_INPUT, _HAND_INPUT)

    def __init__(
        self,
        session: ModelRunner | None = None,
        *,
        num_threads: int | None = None,
        border: BorderMode = "replicate",
    ) -> None:
        if session is None:
            from posekit.models import load_session

            session = load_session("hand_landmark_full", num_threads=num_threads)
        self.session: ModelRunner = session
        self._cropper = RoiCropper(_HAND_INPUT, _HAND_INPUT, border=border)
        self._tensor = np.empty((1, _HAND_INPUT, _HAND_INPUT, 3), np.float32)
        self._names = ["Identity", "Identity_1", "Identity_2", "Identity_3"]

    def crop(self, image: Frame | npt.NDArray[np.uint8], roi: RotatedRect) -> F32Array:
        """The model input for ``roi`` (an internal buffer, overwritten by the next call)."""
        frame = _frame(image, "bgr")
        _check_roi(roi)
        pixels = self._cropper.crop(frame.pixels, roi)
        return crop_to_tensor(pixels, frame.color, self._tensor, scale=1.0 / 255.0, offset=0.0)

    def estimate(
        self,
        image: Frame | npt.NDArray[np.uint8],
        roi: RotatedRect,
        *,
        side: HandSide,
        refine: bool = True,
        color: str = "bgr",
    ) -> HandLandmarks:
        """Hand landmarks inside ``roi`` (``refine``: re-run on the landmark-derived ROI)."""
        frame = _frame(image, color)
        side = _side(side)
        result = self._estimate_once(frame, roi, side)
        if refine:
            result = self._estimate_once(frame, hand_roi_from_landmarks(result.xy), side)
        return result

    def _estimate_once(self, frame: Frame, roi: RotatedRect, side: HandSide) -> HandLandmarks:
        tensor = self.crop(frame, roi)
        outs = self.session.run_outputs(self._names, {"input_1": tensor})
        if len(outs) != 4:
            raise ModelError(
                f"the hand session returned {len(outs)} outputs for 4: load hand_landmark_full"
            )
        raw = np.asarray(outs[0], np.float32).reshape(NUM_HAND_LANDMARKS, 3)
        m = roi.crop_to_image(self.input_size).astype(np.float32)
        xy = raw[:, :2] @ m[:, :2].T + m[:, 2]
        z = raw[:, 2] * np.float32(roi.width / (_HAND_INPUT * _HAND_Z_NORM))
        w = np.asarray(outs[3], np.float32).reshape(NUM_HAND_LANDMARKS, 3)
        c, s = np.float32(math.cos(roi.rotation)), np.float32(math.sin(roi.rotation))
        world = np.empty_like(w)
        world[:, 0] = c * w[:, 0] - s * w[:, 1]
        world[:, 1] = s * w[:, 0] + c * w[:, 1]
        world[:, 2] = w[:, 2]
        return HandLandmarks(
            side=side,
            xy=np.ascontiguousarray(xy, np.float32),
            z=np.ascontiguousarray(z, np.float32),
            world=world,
            presence=float(np.asarray(outs[1]).reshape(-1)[0]),
            handedness=float(np.asarray(outs[2]).reshape(-1)[0]),
            roi=roi,
        )


class FaceDetector:
    """Run ``face_detection_short_range`` (128x128, ``[-1, 1]``) inside a face search ROI.

    Decoding follows MediaPipe's short-range face detector: 896 SSD anchors (strides 8, 16,
    16, 16; 2 anchors per position; fixed size), 16 values per anchor (box centre and size,
    6 keypoints; x before y, divided by 128), score ``sigmoid(clip(logit, -100, 100))``,
    weighted NMS at IoU 0.3.
    """

    input_size: Final = (_FACE_DET_INPUT, _FACE_DET_INPUT)

    def __init__(
        self,
        session: ModelRunner | None = None,
        *,
        min_score: float = 0.5,
        num_threads: int | None = None,
    ) -> None:
        if not 0.0 <= min_score <= 1.0:
            raise InputError(f"min_score={min_score} is outside [0, 1]: pass a probability")
        if session is None:
            from posekit.models import load_session

            session = load_session("face_detection_short_range", num_threads=num_threads)
        self.session: ModelRunner = session
        self.min_score = float(min_score)
        self.anchors = ssd_anchors(_FACE_DET_INPUT, (8, 16, 16, 16), 2)
        self._cropper = RoiCropper(_FACE_DET_INPUT, _FACE_DET_INPUT, border="zero")
        self._tensor = np.empty((1, _FACE_DET_INPUT, _FACE_DET_INPUT, 3), np.float32)

    def detect(
        self, image: Frame | npt.NDArray[np.uint8], roi: RotatedRect, *, color: str = "bgr"
    ) -> list[FaceDetection]:
        """Faces inside ``roi``, best first, in image pixels."""
        frame = _frame(image, color)
        _check_roi(roi)
        crop = self._cropper.crop(frame.pixels, roi)
        crop_to_tensor(crop, frame.color, self._tensor, scale=2.0 / 255.0, offset=-1.0)
        reg, logits = self.session.run_outputs(
            ["regressors", "classificators"], {"input": self._tensor}
        )
        raw = np.clip(np.asarray(logits, np.float64).reshape(-1), -_SCORE_CLIP, _SCORE_CLIP)
        scores = 1.0 / (1.0 + np.exp(-raw))
        keep = np.flatnonzero(scores >= self.min_score)
        if keep.size == 0:
            return []
        r = np.asarray(reg, np.float32).reshape(-1, 16)[keep] / np.float32(_FACE_DET_INPUT)
        anchors = self.anchors[keep]
        centre = r[:, :2] + anchors
        half = r[:, 2:4] / 2.0
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        kps = r[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        m = roi.crop_to_image(self.input_size).astype(np.float32)
        lin = m[:, :2] * np.float32(_FACE_DET_INPUT)
        out: list[FaceDetection] = []
        for box, kp, score in weighted_nms(boxes, kps, scores[keep].astype(np.float32), 0.3):
            corners = box.reshape(2, 2) @ lin.T + m[:, 2]
            out.append(
                FaceDetection(
                    box=corners.reshape(4).astype(np.float32),
                    keypoints=(kp @ lin.T + m[:, 2]).astype(np.float32),
                    score=score,
                )
            )
        return out


class FaceLandmarker:
    """Find the 468-point face mesh (``face_landmark``, 192x192, RGB ``[0, 1]``).

    :meth:`from_pose_roi` follows MediaPipe: detect the face inside the pose-derived search ROI
    with :class:`FaceDetector`, derive the mesh ROI from the detection, run the mesh model.
    :meth:`estimate` runs the mesh model on a given ROI (e.g. tracked from the previous mesh).

    Example:
        >>> faces = FaceLandmarker(num_threads=1)  # doctest: +SKIP
        >>> mesh = faces.from_pose_roi(image, face_roi(pose))  # doctest: +SKIP
        >>> mesh.xy.shape  # doctest: +SKIP
        (468, 2)
    """

    input_size: Final = (_FACE_INPUT, _FACE_INPUT)

    def __init__(
        self,
        session: ModelRunner | None = None,
        detector: FaceDetector | None = None,
        *,
        num_threads: int | None = None,
        border: BorderMode = "replicate",
    ) -> None:
        if session is None:
            from posekit.models import load_session

            session = load_session("face_landmark", num_threads=num_threads)
        self.session: ModelRunner = session
        self.detector = detector if detector is not None else FaceDetector(num_threads=num_threads)
        self._cropper = RoiCropper(_FACE_INPUT, _FACE_INPUT, border=border)
        self._tensor = np.empty((1, _FACE_INPUT, _FACE_INPUT, 3), np.float32)

    def estimate(
        self,
        image: Frame | npt.NDArray[np.uint8],
        roi: RotatedRect,
        *,
        color: str = "bgr",
        search_roi: RotatedRect | None = None,
    ) -> FaceLandmarks:
        """The face mesh inside ``roi`` (a tight face ROI, not the pose search ROI)."""
        frame = _frame(image, color)
        _check_roi(roi)
        crop = self._cropper.crop(frame.pixels, roi)
        crop_to_tensor(crop, frame.color, self._tensor, scale=1.0 / 255.0, offset=0.0)
        mesh, flag = self.session.run_outputs(["conv2d_21", "conv2d_31"], {"input_1": self._tensor})
        raw = np.asarray(mesh, np.float32).reshape(NUM_FACE_LANDMARKS, 3)
        m = roi.crop_to_image(self.input_size).astype(np.float32)
        xy = raw[:, :2] @ m[:, :2].T + m[:, 2]
        z = raw[:, 2] * np.float32(roi.width / _FACE_INPUT)
        return FaceLandmarks(
            xy=np.ascontiguousarray(xy, np.float32),
            z=np.ascontiguousarray(z, np.float32),
            presence=_sigmoid(float(np.asarray(flag).reshape(-1)[0])),
            roi=roi,
            search_roi=search_roi,
        )

    def from_pose_roi(
        self, image: Frame | npt.NDArray[np.uint8], search_roi: RotatedRect, *, color: str = "bgr"
    ) -> FaceLandmarks | None:
        """Detect the face in the pose-derived ``search_roi`` and run the mesh; None if no face."""
        frame = _frame(image, color)
        found = self.detector.detect(frame, search_roi)
        if not found:
            return None
        return self.estimate(frame, face_roi_from_detection(found[0]), search_roi=search_roi)


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
