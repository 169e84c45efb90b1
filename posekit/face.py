"""The face stages: ``face_detection_short_range`` inside a face search ROI, then the 468-point
face mesh (``face_landmark``, 192x192, RGB ``[0, 1]``).

Like MediaPipe, :class:`FaceLandmarker.from_pose_roi <FaceLandmarker>` runs the face detector
(128x128, ``[-1, 1]``) inside the pose-derived face ROI
(:func:`posekit.analyzers.handoff.face_roi`); the best detection's six keypoints give the mesh
ROI (:func:`face_roi_from_detection`: bounding box of the keypoints, rotated along the eyes,
shift ``-0.1``, square, scale 2.0). Face tracking from the previous mesh uses its bounding box
rotated along landmarks 33 -> 263, square, scale 1.5 (:func:`face_roi_from_landmarks`).

Example:
    >>> import numpy as np
    >>> xy = np.zeros((468, 2)); xy[33] = (0, 0); xy[263] = (10, 0); xy[1] = (5, 8)
    >>> r = face_roi_from_landmarks(xy)
    >>> round(r.width, 1), round(math.degrees(r.rotation), 1)
    (15.0, 0.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike

from posekit.detector import ssd_anchors, weighted_nms
from posekit.errors import InputError
from posekit.hands import HAND_ROI_SHIFT_Y
from posekit.image import Frame, crop_to_tensor, to_frame
from posekit.inference import ModelRunner
from posekit.roi import (
    BorderMode,
    RoiCropper,
    RotatedRect,
    bbox_rect,
    check_roi,
    rotation_between,
    transform_rect,
)

__all__ = [
    "FACE_DETECTION_ROI_SCALE",
    "FACE_LANDMARK_ROI_SCALE",
    "FACE_MESH_EYE_OUTER",
    "NUM_FACE_LANDMARKS",
    "FaceDetection",
    "FaceDetector",
    "FaceLandmarker",
    "FaceLandmarks",
    "face_roi_from_detection",
    "face_roi_from_landmarks",
]

F32Array = npt.NDArray[np.float32]

FACE_DETECTION_ROI_SCALE: Final = 2.0
FACE_LANDMARK_ROI_SCALE: Final = 1.5
NUM_FACE_LANDMARKS: Final = 468
FACE_MESH_EYE_OUTER: Final = (33, 263)
"""Face mesh landmarks at the outer corners of the right and left eye (rotation reference)."""

_FACE_INPUT: Final = 192
_FACE_DET_INPUT: Final = 128
_SCORE_CLIP: Final = 100.0


def face_roi_from_landmarks(
    xy: ArrayLike, *, scale: float = FACE_LANDMARK_ROI_SCALE
) -> RotatedRect:
    """Tracking ROI from the 468-point face mesh ``(468, 2)`` in image pixels."""
    pts = np.asarray(xy, np.float64)
    if pts.shape != (NUM_FACE_LANDMARKS, 2):
        raise InputError(f"face landmarks must be (468, 2) pixels, got {pts.shape}")
    a, b = FACE_MESH_EYE_OUTER
    return transform_rect(bbox_rect(pts, rotation_between(pts[a], pts[b], 0.0)), scale=scale)


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
    rect = bbox_rect(kp, rotation_between(kp[0], kp[1], 0.0))
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(x, -_SCORE_CLIP), _SCORE_CLIP)))


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
        frame = to_frame(image, color)
        check_roi(roi)
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
        frame = to_frame(image, color)
        check_roi(roi)
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
        frame = to_frame(image, color)
        found = self.detector.detect(frame, search_roi)
        if not found:
            return None
        return self.estimate(frame, face_roi_from_detection(found[0]), search_roi=search_roi)
