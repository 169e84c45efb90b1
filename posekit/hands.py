"""The hand landmark stage: ``hand_landmark_full`` (224x224, RGB ``[0, 1]``) on a hand ROI.

:class:`HandLandmarker` finds 21 hand landmarks inside a :class:`~posekit.roi.RotatedRect`
(from the pose, :func:`posekit.analyzers.handoff.hand_roi`, or tracked from the previous hand,
:func:`hand_roi_from_landmarks`: MediaPipe's ``HandLandmarksToRectCalculator``: the palm subset,
rotation from the wrist to ``((index MCP + ring MCP) / 2 + middle MCP) / 2``, the tight box of
the palm points in that rotated frame, shift ``-0.1``, square, scale 2.0).

MediaPipe refines the pose-derived hand ROI with a small "re-crop" model (``hand_recrop``) that
is not among the official models posekit installs; :class:`HandLandmarker` instead runs the hand
model once on the pose ROI and, by default, a second time on the ROI derived from those
landmarks (``refine=True``), which plays the same role.

Example:
    >>> import numpy as np
    >>> xy = np.zeros((21, 2)); xy[:, 1] = -np.arange(21.0)  # a hand pointing up
    >>> round(math.degrees(hand_roi_from_landmarks(xy).rotation), 1)
    0.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike, NDArray

from posekit.errors import InputError, ModelError
from posekit.image import Frame, crop_to_tensor, to_frame
from posekit.inference import ModelRunner
from posekit.roi import (
    BorderMode,
    RoiCropper,
    RotatedRect,
    check_roi,
    rotation_between,
    transform_rect,
)

__all__ = [
    "HAND_LANDMARK_ROI_SCALE",
    "HAND_ROI_SHIFT_Y",
    "NUM_HAND_LANDMARKS",
    "HandLandmarker",
    "HandLandmarks",
    "HandSide",
    "hand_roi_from_landmarks",
    "hand_side",
]

F32Array = npt.NDArray[np.float32]
HandSide = Literal["left", "right"]

HAND_ROI_SHIFT_Y: Final = -0.1
"""MediaPipe's hand (and face) ROI shift, of the unscaled side, towards the fingertips."""
HAND_LANDMARK_ROI_SCALE: Final = 2.0
NUM_HAND_LANDMARKS: Final = 21

_PALM_SUBSET: Final = np.array([0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18], np.intp)
_HAND_INPUT: Final = 224
_HAND_Z_NORM: Final = 0.4  # TensorsToLandmarks normalize_z of the hand graph


def hand_side(side: str) -> HandSide:
    """``side`` checked: ``"left"`` or ``"right"`` (the person's hand).

    Raises:
        InputError: anything else.
    """
    if side not in ("left", "right"):
        raise InputError(f"hand side must be 'left' or 'right' (the person's), got {side!r}")
    return "left" if side == "left" else "right"


def _rotated_bbox_rect(points: NDArray[Any], rotation: float) -> RotatedRect:
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


def hand_roi_from_landmarks(
    xy: ArrayLike, *, scale: float = HAND_LANDMARK_ROI_SCALE
) -> RotatedRect:
    """Tracking ROI from 21 hand landmarks ``(21, 2)`` in image pixels."""
    pts = np.asarray(xy, np.float64)
    if pts.shape != (NUM_HAND_LANDMARKS, 2):
        raise InputError(f"hand landmarks must be (21, 2) pixels, got {pts.shape}")
    palm = pts[_PALM_SUBSET]
    # In the palm subset: 0 wrist, 4 index MCP, 6 middle MCP, 8 ring MCP.
    towards = ((palm[4] + palm[8]) / 2.0 + palm[6]) / 2.0
    rect = _rotated_bbox_rect(palm, rotation_between(palm[0], towards, math.pi / 2))
    return transform_rect(rect, scale=scale, shift_y=HAND_ROI_SHIFT_Y)


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


class HandLandmarker:
    """Run ``hand_landmark_full`` (224x224, RGB ``[0, 1]``) on a hand ROI.

    Args:
        session: a :class:`~posekit.inference.ModelRunner` (default: loaded with
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
        frame = to_frame(image, "bgr")
        check_roi(roi)
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
        frame = to_frame(image, color)
        side = hand_side(side)
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
