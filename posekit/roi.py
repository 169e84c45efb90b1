"""Region of interest geometry: the rotated square the landmark model looks at.

A :class:`RotatedRect` lives in image pixels (centre, width, height, rotation in radians,
clockwise on screen because the image y axis points down; 0 for an upright person). It is built
from two alignment points (:meth:`RotatedRect.from_alignment_points`: the detector's keypoints
0/1 first, the landmark model's auxiliary points 33/34 afterwards), and its crop matches
MediaPipe's ``ImageToTensorCalculator`` pixel for pixel (:meth:`RotatedRect.crop_to_image`).
The formulas and the MediaPipe calculators they follow: ``docs/design/tracking.md``.

Example:
    >>> import numpy as np
    >>> from posekit.roi import RotatedRect
    >>> r = RotatedRect.from_alignment_points((100.0, 200.0), (100.0, 120.0))  # upright
    >>> (r.center_x, r.center_y, r.width, r.height, r.rotation)
    (100.0, 200.0, 200.0, 200.0, 0.0)
    >>> r.to_image(np.array([[0.0, 0.0], [256.0, 256.0]]), (256, 256)).tolist()
    [[0.0, 100.0], [200.0, 300.0]]
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

from posekit.errors import InputError

__all__ = [
    "POSE_ROI_SCALE",
    "BorderMode",
    "PersonBox",
    "RoiCropper",
    "RoiHint",
    "RotatedRect",
    "as_roi_hint",
    "bbox_rect",
    "check_roi",
    "normalize_radians",
    "roi_change",
    "rotation_between",
    "transform_rect",
]

#: Enlargement applied to the alignment-point square for the pose landmark model.
POSE_ROI_SCALE = 1.25

BorderMode = Literal["zero", "replicate"]
_BORDERS = {"zero": cv2.BORDER_CONSTANT, "replicate": cv2.BORDER_REPLICATE}


def normalize_radians(angle: float) -> float:
    """Wrap ``angle`` to ``[-pi, pi)`` (MediaPipe's ``NormalizeRadians``).

    >>> normalize_radians(3 * math.pi / 2) == -math.pi / 2
    True
    """
    return angle - 2.0 * math.pi * math.floor((angle + math.pi) / (2.0 * math.pi))


@dataclass(frozen=True, slots=True)
class RotatedRect:
    """A rectangle in image pixels, rotated by ``rotation`` radians about its centre.

    >>> RotatedRect(10.0, 20.0, 4.0, 2.0, 0.0).corners().tolist()
    [[8.0, 19.0], [12.0, 19.0], [12.0, 21.0], [8.0, 21.0]]
    """

    center_x: float
    center_y: float
    width: float
    height: float
    rotation: float = 0.0

    @classmethod
    def from_alignment_points(
        cls,
        center: ArrayLike,
        scale_point: ArrayLike,
        *,
        scale: float = POSE_ROI_SCALE,
        target_angle: float = math.pi / 2,
    ) -> RotatedRect:
        """ROI from a centre point and a size/rotation point, in pixels.

        Centre ``center``, side ``2 * |scale_point - center| * scale``, rotation 0 when
        ``scale_point`` is straight above ``center`` (``docs/design/tracking.md`` has the
        formula). ``scale=1.0`` gives the raw alignment square (MediaPipe's object-scale ROI
        for smoothing).

        Example:
            >>> RotatedRect.from_alignment_points((10.0, 50.0), (10.0, 40.0), scale=1.0).width
            20.0
        """
        x0, y0 = (float(v) for v in np.asarray(center, dtype=np.float64).reshape(2))
        x1, y1 = (float(v) for v in np.asarray(scale_point, dtype=np.float64).reshape(2))
        side = 2.0 * math.hypot(x1 - x0, y1 - y0)
        rotation = normalize_radians(target_angle - math.atan2(-(y1 - y0), x1 - x0))
        # Square on the long side is a no-op here (width == height) but kept for clarity.
        return cls(x0, y0, side * scale, side * scale, rotation)

    @classmethod
    def whole_image(cls, width: int, height: int, aspect: float = 1.0) -> RotatedRect:
        """The full image, padded symmetrically to ``aspect`` (= height / width of the tensor).

        This is MediaPipe's keep-aspect-ratio letterbox: the image is centred and the extra
        area is border (zeros).

        >>> RotatedRect.whole_image(640, 480)
        RotatedRect(center_x=320.0, center_y=240.0, width=640.0, height=640.0, rotation=0.0)
        """
        return cls(width / 2.0, height / 2.0, float(width), float(height)).padded_to_aspect(aspect)

    def padded_to_aspect(self, aspect: float) -> RotatedRect:
        """Grow width or height so ``height / width == aspect`` (MediaPipe ``PadRoi``)."""
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"ROI width and height must be > 0, got {self}")
        if aspect > self.height / self.width:
            return RotatedRect(
                self.center_x, self.center_y, self.width, self.width * aspect, self.rotation
            )
        return RotatedRect(
            self.center_x, self.center_y, self.height / aspect, self.height, self.rotation
        )

    @property
    def object_scale(self) -> float:
        """Mean of width and height in pixels (MediaPipe's ``GetObjectScale``)."""
        return 0.5 * (self.width + self.height)

    def crop_to_image(self, crop_size: tuple[int, int]) -> NDArray[np.float64]:
        """Affine ``(2, 3)`` matrix sending crop pixel coordinates to image pixel coordinates.

        ``crop_size`` is ``(width, height)`` of the model input. Crop coordinate 0 and
        ``crop_size`` are the ROI's edges (MediaPipe convention).
        """
        cw, ch = crop_size
        c = math.cos(self.rotation)
        s = math.sin(self.rotation)
        w, h = self.width, self.height
        return np.array(
            [
                [w * c / cw, -h * s / ch, self.center_x - 0.5 * w * c + 0.5 * h * s],
                [w * s / cw, h * c / ch, self.center_y - 0.5 * w * s - 0.5 * h * c],
            ],
            dtype=np.float64,
        )

    def image_to_crop(self, crop_size: tuple[int, int]) -> NDArray[np.float64]:
        """Affine ``(2, 3)`` matrix sending image pixel coordinates to crop pixel coordinates."""
        return np.asarray(cv2.invertAffineTransform(self.crop_to_image(crop_size)), np.float64)

    def to_image(self, points: ArrayLike, crop_size: tuple[int, int]) -> NDArray[np.float64]:
        """Map ``(N, 2)`` crop pixel coordinates to image pixel coordinates."""
        m = self.crop_to_image(crop_size)
        p = np.asarray(points, dtype=np.float64)
        return np.asarray(p @ m[:, :2].T + m[:, 2], dtype=np.float64)

    def to_crop(self, points: ArrayLike, crop_size: tuple[int, int]) -> NDArray[np.float64]:
        """Map ``(N, 2)`` image pixel coordinates to crop pixel coordinates."""
        m = self.image_to_crop(crop_size)
        p = np.asarray(points, dtype=np.float64)
        return np.asarray(p @ m[:, :2].T + m[:, 2], dtype=np.float64)

    def corners(self) -> NDArray[np.float64]:
        """The 4 corners in image pixels: top-left, top-right, bottom-right, bottom-left
        (as seen in the crop)."""
        unit = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
        return self.to_image(unit, (1, 1))

    def is_valid(self) -> bool:
        """True when all fields are finite and the size is positive."""
        vals = (self.center_x, self.center_y, self.width, self.height, self.rotation)
        return all(math.isfinite(v) for v in vals) and self.width > 0 and self.height > 0

    @classmethod
    def from_box(
        cls, x: float, y: float, width: float, height: float, *, scale: float = POSE_ROI_SCALE
    ) -> RotatedRect:
        """The landmark ROI for an upright person box (top-left ``x, y``, size in pixels).

        A square on the box's long side, centred on the box, enlarged by ``scale`` (1.25, as
        for the detector's body circle): the box of an upright person is about the diameter of
        the circle the detector draws around the body, centred near the hips.

        >>> RotatedRect.from_box(100, 50, 80, 200)
        RotatedRect(center_x=140.0, center_y=150.0, width=250.0, height=250.0, rotation=0.0)
        """
        side = max(float(width), float(height)) * scale
        return cls(float(x) + width / 2.0, float(y) + height / 2.0, side, side, 0.0)


@dataclass(frozen=True, slots=True)
class PersonBox:
    """An axis-aligned person box in image pixels (top-left corner and size), e.g. from the
    application's own person detector. See :func:`as_roi_hint`.

    >>> PersonBox(10, 20, 100, 200).to_roi().center_y
    120.0
    """

    x: float
    y: float
    width: float
    height: float

    def to_roi(self, scale: float = POSE_ROI_SCALE) -> RotatedRect:
        """The landmark ROI for this box (:meth:`RotatedRect.from_box`)."""
        return RotatedRect.from_box(self.x, self.y, self.width, self.height, scale=scale)


RoiHint: TypeAlias = "RotatedRect | PersonBox | Sequence[float] | NDArray[np.floating]"
"""What ``Tracker.process(..., roi=...)`` accepts: a :class:`RotatedRect` (used as the
landmark ROI as is), a :class:`PersonBox`, or 4 numbers ``x, y, w, h`` (a person box)."""


def as_roi_hint(hint: object, image_size: tuple[int, int]) -> RotatedRect:
    """Validate a person hint and return the landmark ROI it stands for.

    ``hint`` is a :class:`RotatedRect`, a :class:`PersonBox`, or 4 numbers ``x, y, w, h``
    (pixels; a tuple, list or numpy array). The region must be finite, have a positive size and
    overlap the image (``image_size = (width, height)``).

    Raises:
        InputError: anything else, with what was wrong and the expected form.

    >>> as_roi_hint((0, 0, 40, 80), (640, 480))
    RotatedRect(center_x=20.0, center_y=40.0, width=100.0, height=100.0, rotation=0.0)
    >>> as_roi_hint((0, 0, -4, 8), (640, 480))
    Traceback (most recent call last):
    ...
    posekit.errors.InputError: roi box (0.0, 0.0, -4.0, 8.0) has no area: ...
    """
    expected = (
        "pass a person box as (x, y, w, h) pixels with w, h > 0 (posekit.roi.PersonBox) or a "
        "posekit.roi.RotatedRect"
    )
    if isinstance(hint, RotatedRect):
        roi = hint
        what = f"roi {hint}"
    else:
        if isinstance(hint, PersonBox):
            raw: object = (hint.x, hint.y, hint.width, hint.height)
        else:
            raw = hint
        if isinstance(raw, (str, bytes)) or not isinstance(raw, (Sequence, np.ndarray)):
            raise InputError(f"roi={hint!r:.80} is not a person box or RotatedRect: {expected}")
        values = (
            list(np.asarray(raw, dtype=object).reshape(-1))
            if isinstance(raw, np.ndarray)
            else list(raw)
        )
        if len(values) != 4 or not all(
            isinstance(v, (numbers.Real, np.floating, np.integer)) and not isinstance(v, bool)
            for v in values
        ):
            raise InputError(f"roi={hint!r:.80} is not 4 numbers x, y, w, h: {expected}")
        x, y, w, h = (float(v) for v in values)
        what = f"roi box ({x}, {y}, {w}, {h})"
        if not all(math.isfinite(v) for v in (x, y, w, h)):
            raise InputError(f"{what} is not finite: {expected}")
        if w <= 0 or h <= 0:
            raise InputError(f"{what} has no area: {expected}")
        roi = RotatedRect.from_box(x, y, w, h)
    if not roi.is_valid():
        raise InputError(f"{what} is not finite or has no area: {expected}")
    width, height = image_size
    corners = roi.corners()
    if (
        corners[:, 0].max() <= 0
        or corners[:, 1].max() <= 0
        or corners[:, 0].min() >= width
        or corners[:, 1].min() >= height
    ):
        raise InputError(
            f"{what} lies outside the {width}x{height} image: pass pixel coordinates of this "
            "frame (not normalised ones)"
        )
    return roi


def roi_change(a: RotatedRect, b: RotatedRect) -> float:
    """How far ``b`` is from ``a``: the largest of the centre shift and the size change (both
    relative to ``a``'s side) and the rotation change times half the side (the displacement of
    the ROI's edge midpoints, also relative to the side). 0 for identical ROIs.

    >>> roi_change(RotatedRect(0, 0, 100, 100), RotatedRect(5, 0, 110, 110))
    0.1
    """
    side = max(a.width, a.height)
    shift = math.hypot(b.center_x - a.center_x, b.center_y - a.center_y) / side
    size = abs(max(b.width, b.height) - side) / side
    turn = 0.5 * abs(normalize_radians(b.rotation - a.rotation))
    return float(round(max(shift, size, turn), 12))


class RoiCropper:
    """Resample a :class:`RotatedRect` of an image into a fixed-size crop (bilinear).

    The output buffer is allocated once and reused: the array returned by :meth:`crop` is
    overwritten by the next call (copy it if you keep it).

    Args:
        width, height: crop size in pixels (the model input size).
        border: ``"zero"`` (black outside the image, the detector letterbox) or ``"replicate"``
            (edge pixels repeated: what MediaPipe's landmark graph uses, its default
            ``BORDER_UNSPECIFIED``).

    >>> import numpy as np
    >>> img = np.full((100, 200, 3), 7, np.uint8)
    >>> c = RoiCropper(32, 32, border="zero").crop(img, RotatedRect.whole_image(200, 100))
    >>> c.shape, int(c[0, 0, 0]), int(c[16, 16, 0])
    ((32, 32, 3), 0, 7)
    """

    def __init__(self, width: int, height: int, *, border: BorderMode = "zero") -> None:
        if border not in _BORDERS:
            raise InputError(f"border={border!r} is not supported: use 'zero' or 'replicate'")
        self.size = (int(width), int(height))
        self.border: BorderMode = border
        self._buf = np.empty((int(height), int(width), 3), dtype=np.uint8)

    def crop(self, pixels: NDArray[np.uint8], rect: RotatedRect) -> NDArray[np.uint8]:
        """Return the crop of ``rect`` from ``pixels`` (``uint8 (H, W, 3)``) in the buffer."""
        if not rect.is_valid():
            raise InputError(f"cannot crop an invalid ROI {rect}: width/height must be > 0")
        m = rect.crop_to_image(self.size)
        cv2.warpAffine(
            pixels,
            m,
            self.size,
            dst=self._buf,
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=_BORDERS[self.border],
            borderValue=(0, 0, 0),
        )
        return self._buf


# ------------------------------------------------------------------ MediaPipe rect helpers
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


def rotation_between(start: ArrayLike, end: ArrayLike, target: float) -> float:
    """The rotation that turns the ``start -> end`` direction (image pixels, y down) into
    ``target`` radians (MediaPipe's ``target_angle``), wrapped to ``[-pi, pi)``.

    >>> round(rotation_between((0, 0), (0, -1), math.pi / 2), 6)  # pointing up: upright
    0.0
    """
    x0, y0 = (float(v) for v in np.asarray(start, np.float64).reshape(2))
    x1, y1 = (float(v) for v in np.asarray(end, np.float64).reshape(2))
    return normalize_radians(target - math.atan2(-(y1 - y0), x1 - x0))


def bbox_rect(points: NDArray[Any], rotation: float) -> RotatedRect:
    """Axis-aligned bounding box of ``points`` ``(N, 2)`` with ``rotation`` attached
    (MediaPipe's ``DetectionsToRectsCalculator``).

    >>> bbox_rect(np.array([[0.0, 0.0], [4.0, 2.0]]), 0.0)
    RotatedRect(center_x=2.0, center_y=1.0, width=4.0, height=2.0, rotation=0.0)
    """
    lo = points.min(axis=0)
    hi = points.max(axis=0)
    return RotatedRect(
        float(lo[0] + hi[0]) / 2.0,
        float(lo[1] + hi[1]) / 2.0,
        float(hi[0] - lo[0]),
        float(hi[1] - lo[1]),
        rotation,
    )


def check_roi(roi: object) -> None:
    """Raise :class:`~posekit.errors.InputError` unless ``roi`` is a valid :class:`RotatedRect`."""
    if not isinstance(roi, RotatedRect) or not roi.is_valid():
        raise InputError(f"the ROI must be a valid RotatedRect (finite, positive size), got {roi}")
