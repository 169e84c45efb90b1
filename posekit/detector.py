"""BlazePose person detector: letterbox, SSD anchors, box decoding, weighted NMS.

:class:`PoseDetector` runs ``pose_detection`` on a whole frame and returns :class:`Detection`
objects in image pixels, best first, as MediaPipe's ``pose_detection_cpu`` graph does. The box
is the *face* box; keypoint 0 is the hip centre and keypoint 1 sets the body size and rotation
(:meth:`Detection.roi`). The steps, step by step: ``docs/design/tracking.md``.

Example:
    >>> import numpy as np
    >>> from posekit.detector import PoseDetector
    >>> det = PoseDetector()  # doctest: +SKIP
    >>> det.detect(np.zeros((480, 640, 3), np.uint8))  # doctest: +SKIP
    []
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from posekit.image import Frame, as_frame, crop_to_tensor
from posekit.inference import ModelRunner
from posekit.roi import POSE_ROI_SCALE, RoiCropper, RotatedRect

__all__ = [
    "DETECTOR_INPUT_SIZE",
    "Detection",
    "DetectorOutput",
    "PoseDetector",
    "decode_detections",
    "ssd_anchors",
    "weighted_nms",
]

DETECTOR_INPUT_SIZE = 224
_INPUT_NAME = "input_1"
_REGRESSORS = "Identity"
_SCORES = "Identity_1"
_SCORE_CLIP = 100.0


@dataclass(frozen=True, slots=True)
class Detection:
    """One detected person, in image pixels.

    Attributes:
        box: ``(4,)`` float32 ``xmin, ymin, xmax, ymax`` of the *face* box.
        score: detection confidence in ``[0, 1]``.
        keypoints: ``(4, 2)`` float32 ``x, y``: 0 hip centre, 1 full-body size/rotation point,
            2 shoulder centre, 3 upper-body size/rotation point.
    """

    box: NDArray[np.float32]
    score: float
    keypoints: NDArray[np.float32]

    def roi(self, scale: float = POSE_ROI_SCALE) -> RotatedRect:
        """The landmark model's region of interest for this person (keypoints 0 and 1)."""
        return RotatedRect.from_alignment_points(self.keypoints[0], self.keypoints[1], scale=scale)


def ssd_anchors(
    input_size: int = DETECTOR_INPUT_SIZE,
    strides: Sequence[int] = (8, 16, 32, 32, 32),
    anchors_per_layer: int = 2,
) -> NDArray[np.float32]:
    """SSD anchor centres ``(N, 2)`` (normalised ``x, y``) for the BlazePose detector.

    Fixed anchor size (width = height = 1), offset 0.5; consecutive layers with the same stride
    share one feature map; order is row-major ``y, x, anchor`` per feature map.

    >>> ssd_anchors().shape
    (2254, 2)
    >>> (ssd_anchors()[0] * 224).round(3).tolist()  # centre of the first 8-pixel cell
    [4.0, 4.0]
    """
    blocks: list[NDArray[np.float64]] = []
    i = 0
    while i < len(strides):
        stride = strides[i]
        n_layers = 0
        while i < len(strides) and strides[i] == stride:
            n_layers += 1
            i += 1
        fm = math.ceil(input_size / stride)
        centres = (np.arange(fm, dtype=np.float64) + 0.5) / fm
        yy, xx = np.meshgrid(centres, centres, indexing="ij")
        grid = np.stack([xx.ravel(), yy.ravel()], axis=1)
        blocks.append(np.repeat(grid, n_layers * anchors_per_layer, axis=0))
    return np.concatenate(blocks).astype(np.float32)


def decode_detections(
    regressors: NDArray[np.float32],
    anchors: NDArray[np.float32],
    scale: float = DETECTOR_INPUT_SIZE,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Decode raw regressors ``(N, 12)`` against anchors ``(N, 2)`` (normalised units).

    Returns ``(boxes (N, 4) as xmin, ymin, xmax, ymax; keypoints (N, 4, 2))``.
    """
    r = regressors.astype(np.float32, copy=False) / np.float32(scale)
    centre = r[:, 0:2] + anchors
    half = 0.5 * r[:, 2:4]
    boxes = np.concatenate([centre - half, centre + half], axis=1)
    keypoints = r[:, 4:12].reshape(-1, 4, 2) + anchors[:, None, :]
    return boxes, keypoints


def _iou_matrix(boxes: NDArray[np.float32]) -> NDArray[np.float32]:
    x0 = np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    y0 = np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    x1 = np.minimum(boxes[:, None, 2], boxes[None, :, 2])
    y1 = np.minimum(boxes[:, None, 3], boxes[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area[:, None] + area[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return iou.astype(np.float32)


def weighted_nms(
    boxes: NDArray[np.float32],
    keypoints: NDArray[np.float32],
    scores: NDArray[np.float32],
    iou_threshold: float = 0.3,
    max_detections: int | None = None,
) -> list[tuple[NDArray[np.float32], NDArray[np.float32], float]]:
    """MediaPipe's WEIGHTED non-maximum suppression.

    Repeatedly take the best remaining detection, gather every remaining one whose IoU with it
    is above ``iou_threshold`` (the best included), and output their score-weighted mean box and
    keypoints with the best score. Results are ordered by decreasing score.

    >>> import numpy as np
    >>> b = np.array([[0, 0, 1, 1], [0, 0, 1, 1.2], [5, 5, 6, 6]], np.float32)
    >>> k = np.zeros((3, 4, 2), np.float32)
    >>> out = weighted_nms(b, k, np.array([0.9, 0.6, 0.8], np.float32))
    >>> [(round(s, 2), round(float(bb[3]), 3)) for bb, _, s in out]
    [(0.9, 1.08), (0.8, 6.0)]
    """
    n = scores.shape[0]
    if n == 0:
        return []
    order = np.argsort(-scores, kind="stable")
    boxes = boxes[order]
    keypoints = keypoints[order]
    scores = scores[order]
    iou = _iou_matrix(boxes)
    remaining = np.ones(n, dtype=bool)
    out: list[tuple[NDArray[np.float32], NDArray[np.float32], float]] = []
    limit = n if max_detections is None else max_detections
    while len(out) < limit:
        idx = np.flatnonzero(remaining)
        if idx.size == 0:
            break
        top = idx[0]
        members = idx[iou[top, idx] > iou_threshold]
        remaining[top] = False
        if members.size == 0:  # degenerate (zero-area) box: emit as is
            out.append((boxes[top].copy(), keypoints[top].copy(), float(scores[top])))
            continue
        remaining[members] = False
        w = scores[members]
        total = float(w.sum())
        box = (boxes[members] * w[:, None]).sum(axis=0) / total
        kps = (keypoints[members] * w[:, None, None]).sum(axis=0) / total
        out.append((box.astype(np.float32), kps.astype(np.float32), float(scores[top])))
    return out


class PoseDetector:
    """Run the BlazePose detector on whole frames.

    Args:
        session: a :class:`ModelRunner` for ``pose_detection`` (default: loaded through
            ``posekit.models.load_session("pose_detection", num_threads=num_threads)``).
        min_detection_confidence: minimum score in ``[0, 1]`` of a kept detection.
        iou_threshold: weighted-NMS IoU threshold (0.3 = MediaPipe legacy graph).
        num_threads: onnxruntime intra-op threads when ``session`` is not given.
        spin: let onnxruntime's worker threads busy-wait between runs (``None``: its default).

    >>> det = PoseDetector(min_detection_confidence=0.5)  # doctest: +SKIP
    >>> best = det.detect_one(frame)  # doctest: +SKIP
    >>> roi = best.roi() if best else None  # doctest: +SKIP
    """

    def __init__(
        self,
        session: ModelRunner | None = None,
        *,
        min_detection_confidence: float = 0.5,
        iou_threshold: float = 0.3,
        num_threads: int | None = None,
        spin: bool | None = None,
    ) -> None:
        if not 0.0 <= min_detection_confidence <= 1.0:
            from posekit.errors import InputError

            raise InputError(
                f"min_detection_confidence={min_detection_confidence} is outside [0, 1]: "
                "pass a probability such as 0.5"
            )
        if session is None:
            from posekit.models import load_session

            session = load_session("pose_detection", num_threads=num_threads, spin=spin)
        self.session: ModelRunner = session
        self.min_detection_confidence = float(min_detection_confidence)
        self.iou_threshold = float(iou_threshold)
        self.anchors = ssd_anchors()
        self._cropper = RoiCropper(DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, border="zero")
        self._tensor = np.empty((1, DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, 3), np.float32)
        self._rgb = np.empty((DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE, 3), np.uint8)
        self._outputs = [_REGRESSORS, _SCORES]

    @staticmethod
    def _logit(p: float) -> float:
        if p <= 0.0:
            return -math.inf
        if p >= 1.0:
            return _SCORE_CLIP
        return math.log(p / (1.0 - p))

    def run(
        self,
        image: Frame | NDArray[np.uint8],
        window: RotatedRect | None = None,
        *,
        mirror: bool = False,
    ) -> DetectorOutput:
        """Run the model once on ``window`` of ``image`` (default: the whole letterboxed image)
        and return the raw outputs, to be decoded (possibly at several thresholds) with
        :meth:`decode_output`.

        ``window`` may be any :class:`~posekit.roi.RotatedRect` (a zoomed sub-window, a rotated
        view of the whole image...); ``mirror`` flips the detector input horizontally. The
        detections decoded from the output are always in pixels of ``image``.
        """
        frame = image if isinstance(image, Frame) else as_frame(image)
        if window is None:
            window = RotatedRect.whole_image(frame.width, frame.height)
        crop = self._cropper.crop(frame.pixels, window)
        if mirror:
            crop = np.ascontiguousarray(crop[:, ::-1])
        crop_to_tensor(
            crop, frame.color, self._tensor, scale=2.0 / 255.0, offset=-1.0, scratch=self._rgb
        )
        regressors, logits = self.session.run_outputs(self._outputs, {_INPUT_NAME: self._tensor})
        return DetectorOutput(
            np.asarray(regressors, np.float32), np.asarray(logits, np.float32), window, mirror
        )

    def decode_output(
        self,
        output: DetectorOutput,
        *,
        max_detections: int | None = None,
        min_confidence: float | None = None,
    ) -> list[Detection]:
        """Detections of a :meth:`run` output, best first; ``min_confidence`` overrides
        ``min_detection_confidence`` (for example a lower threshold for recovery)."""
        return self.decode(
            output.regressors,
            output.logits,
            output.window,
            max_detections=max_detections,
            mirror=output.mirror,
            min_confidence=min_confidence,
        )

    def detect(
        self, image: Frame | NDArray[np.uint8], max_detections: int | None = None
    ) -> list[Detection]:
        """All detections in ``image`` (a :class:`~posekit.image.Frame` or BGR array), best
        first."""
        return self.decode_output(self.run(image), max_detections=max_detections)

    def detect_one(self, image: Frame | NDArray[np.uint8]) -> Detection | None:
        """The best detection (MediaPipe's single-person choice: the first after NMS) or None."""
        found = self.detect(image, max_detections=1)
        return found[0] if found else None

    def decode(
        self,
        regressors: NDArray[np.float32],
        logits: NDArray[np.float32],
        letterbox: RotatedRect,
        *,
        max_detections: int | None = None,
        mirror: bool = False,
        min_confidence: float | None = None,
    ) -> list[Detection]:
        """Turn raw model outputs into detections in image pixels (steps 3-5 above).

        ``letterbox`` is the window the model saw; ``mirror``: the input was flipped
        horizontally; ``min_confidence`` overrides ``min_detection_confidence``.
        """
        threshold = self.min_detection_confidence if min_confidence is None else min_confidence
        raw_scores = np.clip(logits.reshape(-1), -_SCORE_CLIP, _SCORE_CLIP)
        keep = np.flatnonzero(raw_scores >= self._logit(threshold))
        if keep.size == 0:
            return []
        scores = (1.0 / (1.0 + np.exp(-raw_scores[keep]))).astype(np.float32)
        ok = scores >= threshold  # exact check after the logit shortcut
        keep, scores = keep[ok], scores[ok]
        boxes, kps = decode_detections(
            regressors.reshape(-1, 12)[keep], self.anchors[keep], DETECTOR_INPUT_SIZE
        )
        size = (DETECTOR_INPUT_SIZE, DETECTOR_INPUT_SIZE)
        m = letterbox.crop_to_image(size).astype(np.float32)
        lin = m[:, :2] * np.float32(DETECTOR_INPUT_SIZE)  # normalised tensor -> image pixels
        general = mirror or letterbox.rotation != 0.0
        out: list[Detection] = []
        for box, kp, score in weighted_nms(boxes, kps, scores, self.iou_threshold, max_detections):
            if mirror:  # x -> 1 - x in the normalised tensor
                kp = kp.copy()
                kp[:, 0] = 1.0 - kp[:, 0]
                box = np.array([1.0 - box[2], box[1], 1.0 - box[0], box[3]], np.float32)
            if general:  # rotated window: the face box is the bounding box of its 4 corners
                c4 = np.array(
                    [[box[0], box[1]], [box[2], box[1]], [box[2], box[3]], [box[0], box[3]]],
                    np.float32,
                )
                c4 = c4 @ lin.T + m[:, 2]
                corners = np.concatenate([c4.min(axis=0), c4.max(axis=0)])
            else:
                corners = (box.reshape(2, 2) @ lin.T + m[:, 2]).reshape(4)
            out.append(
                Detection(
                    box=corners.astype(np.float32),
                    score=score,
                    keypoints=(kp @ lin.T + m[:, 2]).astype(np.float32),
                )
            )
        return out


@dataclass(frozen=True, slots=True)
class DetectorOutput:
    """Raw detector outputs for one window (see :meth:`PoseDetector.run`)."""

    regressors: NDArray[np.float32]
    logits: NDArray[np.float32]
    window: RotatedRect
    mirror: bool = False
