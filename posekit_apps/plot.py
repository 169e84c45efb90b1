"""A joint-angle-over-time plot drawn with OpenCV (matplotlib is not a dependency).

:func:`plot_signal` draws the signal (gaps where it is unknown), the counter's thresholds and the
target depth as labelled dashed lines, every counted rep as a shaded span with its turning point
marked and numbered, axes with ticks, labels and a title.

Example:
    >>> import numpy as np
    >>> t = np.arange(0, 4, 0.04)
    >>> img = plot_signal(t, 135 + 40 * np.cos(np.pi * t), title="knee angle",
    ...                   thresholds=[("standing", 150.0), ("bottom", 110.0)])
    >>> img.shape, img.dtype.name
    ((600, 1280, 3), 'uint8')
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import cv2
import numpy as np
import numpy.typing as npt

from posekit.errors import InputError

if TYPE_CHECKING:
    from posekit.outputs import AtomicOutput

__all__ = ["RepSpan", "nice_ticks", "plot_output", "plot_signal", "save_plot"]

_FONT: Final = cv2.FONT_HERSHEY_SIMPLEX
_BLACK: Final = (30, 30, 30)
_GRID: Final = (225, 225, 225)
_CURVE: Final = (180, 90, 20)  # blue (BGR)
_SPAN: Final = (215, 245, 215)  # pale green
_MARK: Final = (40, 40, 210)  # red
_THRESHOLD_COLORS: Final = ((120, 120, 120), (0, 140, 255), (40, 160, 40), (160, 60, 160))


@dataclass(frozen=True, slots=True)
class RepSpan:
    """One rep on the plot: start and end (seconds), turning point (seconds, degrees)."""

    number: int
    start: float
    end: float
    bottom: float
    depth: float
    good: bool = True


def nice_ticks(lo: float, hi: float, target: int = 8) -> list[float]:
    """About ``target`` round tick values (1, 2, 5 x 10^k steps) covering ``[lo, hi]``.

    Example:
        >>> nice_ticks(0, 9.3)
        [0.0, 2.0, 4.0, 6.0, 8.0]
        >>> nice_ticks(60, 180, 7)
        [60.0, 80.0, 100.0, 120.0, 140.0, 160.0, 180.0]
    """
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return [float(lo)]
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    return [float(round(first + i * step, 10)) for i in range(count)]


def _text(
    img: npt.NDArray[np.uint8],
    text: str,
    org: tuple[int, int],
    scale: float = 0.55,
    color: tuple[int, int, int] = _BLACK,
    thickness: int = 1,
    align: str = "left",
) -> None:
    (w, _h), _ = cv2.getTextSize(text, _FONT, scale, thickness)
    x, y = org
    if align == "center":
        x -= w // 2
    elif align == "right":
        x -= w
    cv2.putText(img, text, (x, y), _FONT, scale, color, thickness, cv2.LINE_AA)


def _dashed(
    img: npt.NDArray[np.uint8],
    y: int,
    x0: int,
    x1: int,
    color: tuple[int, int, int],
    dash: int = 12,
) -> None:
    for x in range(x0, x1, 2 * dash):
        cv2.line(img, (x, y), (min(x + dash, x1), y), color, 2, cv2.LINE_AA)


def plot_signal(
    times: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    title: str = "",
    y_label: str = "angle (deg)",
    thresholds: Sequence[tuple[str, float]] = (),
    reps: Sequence[RepSpan] = (),
    size: tuple[int, int] = (1280, 600),
) -> npt.NDArray[np.uint8]:
    """Plot ``values`` (degrees; NaN = unknown) against ``times`` (seconds) as a BGR image.

    Args:
        title: drawn above the plot.
        y_label: the vertical axis label.
        thresholds: ``(label, degrees)`` horizontal dashed lines.
        reps: shaded spans with a numbered marker at each turning point (red when not
            ``good``, e.g. not deep enough).
        size: ``(width, height)`` in pixels.

    Raises:
        InputError: ``times`` and ``values`` differ in length.
    """
    t = np.asarray(times, np.float64).reshape(-1)
    v = np.asarray(values, np.float64).reshape(-1)
    if t.shape != v.shape:
        raise InputError(f"{len(t)} times but {len(v)} values: give one value per time")
    width, height = size
    img = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 90, 180, 60, 70
    x0, x1, y0, y1 = left, width - right, top, height - bottom

    known = v[np.isfinite(v)]
    levels = [value for _, value in thresholds] + [r.depth for r in reps]
    pool = np.concatenate([known, np.asarray(levels, np.float64)])
    lo = float(pool.min()) if pool.size else 0.0
    hi = float(pool.max()) if pool.size else 180.0
    lo, hi = math.floor((lo - 8) / 10) * 10, math.ceil((hi + 8) / 10) * 10
    t_lo = float(t[0]) if t.size else 0.0
    t_hi = float(t[-1]) if t.size and t[-1] > t_lo else t_lo + 1.0

    def px(time: float) -> int:
        return round(x0 + (time - t_lo) / (t_hi - t_lo) * (x1 - x0))

    def py(value: float) -> int:
        return round(y1 - (value - lo) / (hi - lo) * (y1 - y0))

    # rep spans under everything else
    for r in reps:
        cv2.rectangle(img, (px(r.start), y0), (px(r.end), y1), _SPAN, -1)
    # grid, ticks and tick labels
    for yv in nice_ticks(lo, hi, 8):
        y = py(yv)
        cv2.line(img, (x0, y), (x1, y), _GRID, 1)
        cv2.line(img, (x0 - 6, y), (x0, y), _BLACK, 1)
        _text(img, f"{yv:g}", (x0 - 10, y + 5), 0.5, align="right")
    for tv in nice_ticks(t_lo, t_hi, 12):
        x = px(tv)
        cv2.line(img, (x, y0), (x, y1), _GRID, 1)
        cv2.line(img, (x, y1), (x, y1 + 6), _BLACK, 1)
        _text(img, f"{tv:g}", (x, y1 + 24), 0.5, align="center")
    # thresholds, labelled in the right margin
    for i, (label, value) in enumerate(thresholds):
        color = _THRESHOLD_COLORS[i % len(_THRESHOLD_COLORS)]
        y = py(value)
        _dashed(img, y, x0, x1, color)
        _text(img, f"{label} {value:g}", (x1 + 8, y + 5), 0.5, color)
    # the signal, split at gaps
    if t.size:
        xs = x0 + (t - t_lo) / (t_hi - t_lo) * (x1 - x0)
        ys = y1 - (v - lo) / (hi - lo) * (y1 - y0)
        ok = np.isfinite(ys)
        pts = np.stack([xs, ys], 1)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            seg = np.rint(pts[a:b] * 16).astype(np.int32)
            if len(seg) == 1:
                cv2.circle(img, tuple(int(c) for c in seg[0]), 2 * 16, _CURVE, -1, cv2.LINE_AA, 4)
            else:
                cv2.polylines(img, [seg], False, _CURVE, 2, cv2.LINE_AA, 4)
    # rep markers
    for r in reps:
        color = (40, 150, 40) if r.good else _MARK
        centre = (px(r.bottom), py(r.depth))
        cv2.circle(img, centre, 7, color, -1, cv2.LINE_AA)
        cv2.circle(img, centre, 7, _BLACK, 1, cv2.LINE_AA)
        _text(img, f"#{r.number}: {r.depth:.0f} deg", (centre[0], centre[1] + 26), 0.55, color, 2,
              align="center")  # fmt: skip
        _text(img, f"rep {r.number}", ((px(r.start) + px(r.end)) // 2, y0 + 18), 0.5,
              (40, 110, 40), 1, align="center")  # fmt: skip
    # frame, labels, title
    cv2.rectangle(img, (x0, y0), (x1, y1), _BLACK, 1)
    _text(img, "time (s)", ((x0 + x1) // 2, height - 20), 0.6, align="center")
    label_img = np.full((30, y1 - y0, 3), 255, np.uint8)
    _text(label_img, y_label, ((y1 - y0) // 2, 21), 0.6, align="center")
    rotated = cv2.rotate(label_img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    img[y0:y1, 12 : 12 + rotated.shape[1]] = np.minimum(
        img[y0:y1, 12 : 12 + rotated.shape[1]], rotated
    )
    if title:
        _text(img, title, (x0, 38), 0.75, _BLACK, 2)
    return img


def plot_output(image: npt.NDArray[Any], path: str | Path, what: str = "--plot") -> AtomicOutput:
    """Encode a plot image (PNG / JPEG by extension) to a temporary file beside ``path``;
    :meth:`~posekit.outputs.AtomicOutput.commit` puts it in place (see :mod:`posekit.outputs`).

    Raises:
        InputError: the path cannot be written or the extension is not an image format.
        OutputError: the image could not be written completely (nothing is left behind).
    """
    from posekit.outputs import write_atomic
    from posekit.sinks import check_writable

    p = check_writable(path, what)
    if p.suffix.lower() not in (".png", ".jpg", ".jpeg", ".bmp", ".webp"):
        raise InputError(f"cannot write {what} {p}: use a .png or .jpg file name")
    return write_atomic(p, what, lambda temp: cv2.imwrite(str(temp), image))


def save_plot(image: npt.NDArray[Any], path: str | Path) -> Path:
    """Write a plot image (PNG / JPEG by extension), atomically.

    Raises:
        InputError: the path cannot be written or the extension is not an image format.
        OutputError: the image could not be written completely (nothing is left behind).

    Example:
        >>> import tempfile, numpy as np
        >>> out = save_plot(np.zeros((8, 8, 3), np.uint8), tempfile.mkdtemp() + "/p.png")
        >>> out.suffix, out.stat().st_size > 0
        ('.png', True)
    """
    return plot_output(image, path).commit()
