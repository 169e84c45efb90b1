"""Frame validation and colour handling: the first step of every posekit pipeline.

:func:`as_frame` turns whatever the caller hands in into a :class:`Frame`: a C-contiguous
``uint8`` array of shape ``(H, W, 3)`` plus the channel order (``"bgr"`` or ``"rgb"``). A frame
that is already right is passed through without a copy (it is checked on every frame).

=========================  ==========================================================
``uint8 (H, W, 3)``        used as is (BGR by default, ``color="rgb"`` for RGB)
``uint8 (H, W)``           grayscale, expanded to 3 channels (one copy)
``uint8 (H, W, 1)``        grayscale, expanded to 3 channels (one copy)
``uint8 (H, W, 4)``        BGRA / RGBA, alpha dropped (one copy)
``float16/32/64``          only with every value in ``[0, 1]``; scaled by 255 and rounded
                           to ``uint8`` (one copy)
=========================  ==========================================================

Anything else raises :class:`~posekit.errors.InputError` naming the problem and the fix: non-
arrays, empty arrays, other dtypes, shapes or channel counts, NaN/inf, floats outside ``[0, 1]``,
a side over :data:`MAX_SIDE` or more than :data:`MAX_PIXELS` pixels (OpenCV's warps would
misread or crash), non-contiguous views (call ``np.ascontiguousarray(frame)``). Read-only
arrays are fine: posekit never writes to a frame. Why these limits: ``docs/design/tracking.md``.

Example:
    >>> import numpy as np
    >>> from posekit.image import as_frame
    >>> f = as_frame(np.zeros((480, 640, 3), np.uint8))
    >>> (f.width, f.height, f.color)
    (640, 480, 'bgr')
    >>> as_frame(np.zeros((4, 4), np.uint8)).pixels.shape
    (4, 4, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, NoReturn, cast

import cv2
import numpy as np
from numpy.typing import NDArray

from posekit.errors import InputError

__all__ = [
    "MAX_FRAME_BYTES",
    "MAX_PIXELS",
    "MAX_SIDE",
    "ColorOrder",
    "Frame",
    "as_frame",
    "check_color",
    "crop_to_tensor",
    "to_frame",
]

MAX_SIDE = 32767
"""Longest accepted image side in pixels (``SHRT_MAX``: OpenCV's warp coordinate limit)."""

MAX_FRAME_BYTES = 2**31 - 1
"""Largest ``uint8 (H, W, 3)`` frame in bytes (``INT_MAX``). OpenCV's ``warpAffine`` (the crop of
every model input) computes source offsets ``y * step + x * 3`` in 32-bit ints: measured with
OpenCV 5.0, a 21846 x 32767 frame (2**31 - 2 bytes) is cropped correctly anywhere, while a
26755 x 26755 frame (2**31 + 6427 bytes) segfaults as soon as a crop reaches its last rows
(26760 x 26760 only survived the whole-frame letterbox because it never samples them)."""

MAX_PIXELS = MAX_FRAME_BYTES // 3
"""Most pixels (``H * W``) in an accepted frame, whatever its layout or dtype: the frame posekit
works on is ``uint8 (H, W, 3)``, so ``3 * H * W`` must not exceed :data:`MAX_FRAME_BYTES`
(715,827,882 pixels, e.g. 26754 x 26754 or 21845 x 32767)."""

ColorOrder = Literal["bgr", "rgb"]
_COLORS: tuple[str, ...] = ("bgr", "rgb")


@dataclass(frozen=True, slots=True)
class Frame:
    """A validated image: C-contiguous ``uint8`` pixels ``(H, W, 3)`` and their channel order.

    Build one with :func:`as_frame`; the constructor does not validate.
    """

    pixels: NDArray[np.uint8]
    color: ColorOrder

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return (int(self.pixels.shape[1]), int(self.pixels.shape[0]))


def check_color(color: str) -> ColorOrder:
    """Validate a channel-order name (case-insensitive) and return it lower-cased.

    >>> check_color("RGB")
    'rgb'
    """
    if not isinstance(color, str) or color.lower() not in _COLORS:
        raise InputError(
            f"color={color!r} is not a supported channel order: pass color='bgr' "
            "(OpenCV frames) or color='rgb' (PIL, imageio, matplotlib frames)"
        )
    return cast(ColorOrder, color.lower())


def _describe(image: np.ndarray) -> str:
    return f"array of shape {image.shape} and dtype {image.dtype}"


def to_frame(image: Frame | NDArray[Any], color: str = "bgr") -> Frame:
    """``image`` itself when it already is a :class:`Frame`, else :func:`as_frame` of it (the
    stages accept either, so that a composition validates a frame once).

    >>> import numpy as np
    >>> f = as_frame(np.zeros((2, 2, 3), np.uint8))
    >>> to_frame(f) is f
    True
    """
    return image if isinstance(image, Frame) else as_frame(image, color)


def as_frame(image: object, color: str = "bgr") -> Frame:
    """Validate ``image`` and return it as a :class:`Frame` (no copy when already ``uint8 HxWx3``).

    Args:
        image: a numpy array, see the module docstring for the accepted layouts.
        color: channel order of ``image``: ``"bgr"`` (OpenCV, the default) or ``"rgb"``.
            For 4-channel input it names the order of the first three channels
            (BGRA or RGBA).

    Raises:
        InputError: the array cannot be used as an image; the message says how to fix it.

    >>> import numpy as np
    >>> as_frame(np.full((2, 2), 0.5, np.float32)).pixels[0, 0].tolist()
    [128, 128, 128]
    """
    order = check_color(color)
    if not isinstance(image, np.ndarray):
        raise InputError(
            f"expected a numpy array as the image, got {type(image).__name__}: convert it with "
            "np.asarray(image) (PIL images: np.asarray(img) and color='rgb')"
        )
    if image.size == 0:
        raise InputError(
            f"the image is empty ({_describe(image)}): check that the frame was read "
            "successfully (cv2.VideoCapture.read() returns ok=False at the end of a video)"
        )
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        h, w = image.shape[0], image.shape[1]
        if h > MAX_SIDE or w > MAX_SIDE or h * w > MAX_PIXELS:
            _raise_too_large(image)
        if not image.flags.c_contiguous:
            raise InputError(
                f"the image is not C-contiguous ({_describe(image)}, strides {image.strides}): "
                "pass np.ascontiguousarray(image) (views such as image[:, ::-1] or "
                "image[::2, ::2] are not contiguous)"
            )
        return Frame(image, order)  # hot path: no copy
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise InputError(
            f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got "
            f"{_describe(image)}: pass a single frame (not a batch), channels last "
            "(np.moveaxis(image, 0, -1) converts channels-first arrays)"
        )
    if (
        image.shape[0] > MAX_SIDE
        or image.shape[1] > MAX_SIDE
        or image.shape[0] * image.shape[1] > MAX_PIXELS
    ):
        _raise_too_large(image)
    if image.dtype != np.uint8 and image.dtype.kind != "f":
        _raise_bad_dtype(image)
    if not image.flags.c_contiguous:
        raise InputError(
            f"the image is not C-contiguous ({_describe(image)}, strides {image.strides}): "
            "pass np.ascontiguousarray(image)"
        )
    pixels = _to_uint8(image)
    if pixels.ndim == 2 or pixels.shape[2] == 1:
        converted = cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR)
    elif pixels.shape[2] == 4:
        converted = cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    else:
        converted = pixels
    return Frame(np.ascontiguousarray(converted, dtype=np.uint8), order)


def _raise_too_large(image: np.ndarray) -> NoReturn:
    h, w = int(image.shape[0]), int(image.shape[1])
    raise InputError(
        f"the image is too large ({_describe(image)}: {h * w:,} pixels): each side must be at "
        f"most {MAX_SIDE} pixels and the frame at most {MAX_PIXELS:,} pixels ({MAX_FRAME_BYTES:,} "
        "bytes as uint8 BGR, the most OpenCV's warp can address); downscale it first (e.g. "
        "cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)); a pose needs "
        "far fewer pixels"
    )


def _to_uint8(image: np.ndarray) -> NDArray[np.uint8]:
    if image.dtype == np.uint8:
        return cast("NDArray[np.uint8]", image)
    if image.dtype.kind == "f":
        lo = float(np.min(image))
        hi = float(np.max(image))
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise InputError(
                f"the float image contains NaN or inf ({_describe(image)}): clean it with "
                "np.nan_to_num(image) before passing it"
            )
        if lo < 0.0 or hi > 1.0:
            raise InputError(
                f"float images must hold values in [0, 1]; this one spans [{lo:g}, {hi:g}] "
                f"({_describe(image)}): pass uint8 pixels instead, e.g. "
                "np.clip(image, 0, 255).astype(np.uint8) for 0..255 floats"
            )
        scaled = np.multiply(image, 255.0, dtype=np.float32)
        np.rint(scaled, out=scaled)
        return np.asarray(scaled, dtype=np.uint8)
    _raise_bad_dtype(image)


def _raise_bad_dtype(image: np.ndarray) -> NoReturn:
    raise InputError(
        f"unsupported pixel type {image.dtype} ({_describe(image)}): pass uint8 pixels "
        "(e.g. (image >> 8).astype(np.uint8) for 16-bit images) or floats in [0, 1]"
    )


def crop_to_tensor(
    crop: NDArray[np.uint8],
    color: ColorOrder,
    out: NDArray[np.float32],
    *,
    scale: float,
    offset: float,
    scratch: NDArray[np.uint8] | None = None,
) -> NDArray[np.float32]:
    """Write ``crop`` into ``out`` as RGB ``float32`` with ``value * scale + offset``.

    ``crop`` is an ``(h, w, 3)`` uint8 model crop in channel order ``color``; ``out`` has shape
    ``(1, h, w, 3)`` and is overwritten in place (no allocation). A BGR crop is swapped to RGB
    with OpenCV into ``scratch`` (a C-contiguous uint8 array shaped like ``crop``; allocated when
    not given) before the contiguous scale: 3-4x faster than scaling a reversed-channel view.
    ``crop`` itself is not modified. Returns ``out``.

    >>> import numpy as np
    >>> crop = np.zeros((1, 1, 3), np.uint8); crop[0, 0] = (255, 0, 0)  # pure blue in BGR
    >>> crop_to_tensor(crop, "bgr", np.empty((1, 1, 1, 3), np.float32), scale=1 / 255, offset=0.0)
    array([[[[0., 0., 1.]]]], dtype=float32)
    """
    src = crop
    if color == "bgr":
        if scratch is None:
            scratch = np.empty_like(crop)
        src = cast("NDArray[np.uint8]", cv2.cvtColor(crop, cv2.COLOR_BGR2RGB, dst=scratch))
    np.multiply(src, np.float32(scale), out=out[0], casting="unsafe")
    if offset:
        np.add(out, np.float32(offset), out=out)
    return out
