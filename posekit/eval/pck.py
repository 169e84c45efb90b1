"""The PCK metric: crops, the torso diagonal, per-person scores and their summary.

See :mod:`posekit.eval` for the protocol.

Example:
    >>> import numpy as np
    >>> k = np.zeros((17, 2)); k[6] = [3, 0]; k[11] = [0, 4]; k[12] = [3, 4]
    >>> torso_diagonal(k)
    5.0
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from posekit.errors import InputError
from posekit.topology import COCO17_NAMES

__all__ = [
    "CROP_SCALE",
    "NUM_COCO",
    "PCK_THRESHOLD",
    "TORSO_JOINTS",
    "CropBox",
    "PckAccumulator",
    "PckSummary",
    "PersonScore",
    "crop_box",
    "extract_crop",
    "format_pck_table",
    "score_person",
    "torso_diagonal",
]

PCK_THRESHOLD = 0.2
"""A keypoint is correct when its error is below this fraction of the torso size."""

CROP_SCALE = 1.5
"""Crop side = ``CROP_SCALE x max(bbox w, bbox h)``."""

NUM_COCO = 17
_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 5, 6, 11, 12
TORSO_JOINTS = (_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP)


@dataclass(frozen=True, slots=True)
class CropBox:
    """An integer square crop: image pixel ``(x0 + i, y0 + j)`` is crop pixel ``(i, j)``.

    ``x0``/``y0`` may be negative and the square may leave the image (zero padding).

    Example:
        >>> CropBox(x0=-5, y0=10, side=20).to_image([[1.0, 2.0]]).tolist()
        [[-4.0, 12.0]]
    """

    x0: int
    y0: int
    side: int

    def to_image(self, xy: ArrayLike) -> NDArray[np.float64]:
        """Map points ``(..., 2)`` from crop pixels to image pixels."""
        return np.asarray(xy, dtype=np.float64) + np.array([self.x0, self.y0], dtype=np.float64)


def crop_box(bbox: Sequence[float], scale: float = CROP_SCALE) -> CropBox:
    """The square crop of the protocol around a COCO ``bbox = [x, y, w, h]``.

    Side ``max(1, round(scale x max(w, h)))``; the corner is the centre minus half the side,
    rounded to whole pixels, so the crop is an exact integer translation of the image.

    Raises:
        InputError: ``bbox`` does not have 4 finite numbers with ``w > 0`` and ``h > 0``.

    Example:
        >>> crop_box([0, 0, 10, 4])  # centre (5, 2), side 15
        CropBox(x0=-2, y0=-5, side=15)
    """
    values = [float(v) for v in bbox]
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InputError(f"bbox must be 4 finite numbers [x, y, w, h], got {list(bbox)!r}")
    x, y, w, h = values
    if w <= 0 or h <= 0:
        raise InputError(
            f"bbox {values!r} has no area: width and height must be > 0 (fix the annotation)"
        )
    side = max(1, round(scale * max(w, h)))
    cx, cy = x + w / 2.0, y + h / 2.0
    return CropBox(
        x0=math.floor(cx - side / 2.0 + 0.5), y0=math.floor(cy - side / 2.0 + 0.5), side=side
    )


def extract_crop(image: NDArray[np.uint8], box: CropBox) -> NDArray[np.uint8]:
    """Cut ``box`` out of ``image`` (H, W, C), filling the part outside the image with zeros.

    Always returns a new C-contiguous array of shape ``(side, side, C)``.

    Example:
        >>> import numpy as np
        >>> img = np.full((4, 4, 3), 7, np.uint8)
        >>> c = extract_crop(img, CropBox(x0=-1, y0=2, side=3))
        >>> c[:, :, 0].tolist()
        [[0, 7, 7], [0, 7, 7], [0, 0, 0]]
    """
    h, w = image.shape[:2]
    out = np.zeros((box.side, box.side, *image.shape[2:]), dtype=image.dtype)
    ix0, iy0 = max(box.x0, 0), max(box.y0, 0)
    ix1, iy1 = min(box.x0 + box.side, w), min(box.y0 + box.side, h)
    if ix1 > ix0 and iy1 > iy0:
        out[iy0 - box.y0 : iy1 - box.y0, ix0 - box.x0 : ix1 - box.x0] = image[iy0:iy1, ix0:ix1]
    return out


def torso_diagonal(keypoints: ArrayLike) -> float:
    """``max(|left shoulder - right hip|, |right shoulder - left hip|)`` of COCO-17 ``(17, 2|3)``.

    Example:
        >>> import numpy as np
        >>> k = np.zeros((17, 2)); k[6] = [3, 0]; k[11] = [0, 4]; k[12] = [3, 4]
        >>> torso_diagonal(k)  # |(0,0)-(3,4)| = 5 on both diagonals
        5.0
    """
    k = np.asarray(keypoints, dtype=np.float64)
    if k.shape[0] != NUM_COCO or k.ndim != 2 or k.shape[1] < 2:
        raise InputError(f"expected COCO-17 keypoints of shape (17, 2) or (17, 3), got {k.shape}")
    d1 = float(np.hypot(*(k[_L_SHOULDER, :2] - k[_R_HIP, :2])))
    d2 = float(np.hypot(*(k[_R_SHOULDER, :2] - k[_L_HIP, :2])))
    return max(d1, d2)


@dataclass(frozen=True, slots=True)
class PersonScore:
    """The outcome for one person: masks over the 17 COCO keypoints.

    ``error`` is the pixel error divided by the torso size (NaN where unlabelled or undetected).
    """

    labelled: NDArray[np.bool_]
    correct: NDArray[np.bool_]
    error: NDArray[np.float64]
    detected: bool
    torso: float


def score_person(
    gt: ArrayLike,
    pred_xy: ArrayLike | None,
    torso: float | None = None,
    threshold: float = PCK_THRESHOLD,
) -> PersonScore:
    """Score one person: ground truth ``(17, 3)`` ``[x, y, v]`` against a prediction ``(17, 2)``.

    Both in the same pixel frame. ``pred_xy=None`` means no detection (all labelled keypoints
    wrong). ``torso`` defaults to :func:`torso_diagonal` of ``gt``. A keypoint is correct when
    ``error < threshold x torso`` (strict).

    Example:
        >>> import numpy as np
        >>> gt = np.zeros((17, 3)); gt[:, 2] = 2; gt[6] = [3, 0, 2]; gt[11] = [0, 4, 2]
        >>> gt[12] = [3, 4, 2]; gt[0] = [0, 0, 0]  # nose unlabelled
        >>> s = score_person(gt, gt[:, :2] + [1.0, 0.0])  # torso 5: 1 px is exactly 0.2 x 5
        >>> int(s.labelled.sum()), int(s.correct.sum())
        (16, 0)
    """
    g = np.asarray(gt, dtype=np.float64)
    if g.shape != (NUM_COCO, 3):
        raise InputError(f"ground truth must have shape (17, 3) [x, y, v], got {g.shape}")
    labelled = g[:, 2] > 0
    t = torso_diagonal(g) if torso is None else float(torso)
    if pred_xy is None:
        err = np.full(NUM_COCO, np.nan)
        return PersonScore(labelled, np.zeros(NUM_COCO, dtype=bool), err, False, t)
    p = np.asarray(pred_xy, dtype=np.float64)
    if p.shape[0] != NUM_COCO or p.ndim != 2 or p.shape[1] < 2:
        raise InputError(f"prediction must have shape (17, 2), got {p.shape}")
    dist = np.hypot(p[:, 0] - g[:, 0], p[:, 1] - g[:, 1])
    correct = labelled & (dist < threshold * t)
    err = np.where(labelled, dist / t if t > 0 else np.inf, np.nan)
    return PersonScore(labelled, correct, err, True, t)


@dataclass(frozen=True)
class PckSummary:
    """PCK figures over a set of persons.

    Attributes:
        persons: persons evaluated.
        detected: persons for which the runtime returned a pose.
        labelled: labelled-keypoint count per COCO keypoint ``(17,)``.
        correct: correct-keypoint count per COCO keypoint ``(17,)``.
    """

    persons: int
    detected: int
    labelled: NDArray[np.int64]
    correct: NDArray[np.int64]

    @property
    def detection_rate(self) -> float:
        """Fraction of persons with a detection (NaN for no persons)."""
        return self.detected / self.persons if self.persons else math.nan

    @property
    def per_keypoint(self) -> NDArray[np.float64]:
        """PCK per COCO keypoint ``(17,)``; NaN where that keypoint was never labelled."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.labelled > 0, self.correct / np.maximum(self.labelled, 1), np.nan)

    @property
    def pck_micro(self) -> float:
        """Correct / labelled over all labelled keypoints pooled (NaN when nothing labelled)."""
        n = int(self.labelled.sum())
        return int(self.correct.sum()) / n if n else math.nan

    @property
    def pck_macro(self) -> float:
        """Mean of :attr:`per_keypoint` over keypoint types with at least one label."""
        pk = self.per_keypoint
        valid = ~np.isnan(pk)
        return float(pk[valid].mean()) if valid.any() else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN written as ``None``)."""
        pk = self.per_keypoint
        return {
            "persons": self.persons,
            "detected": self.detected,
            "detection_rate": _nan_none(self.detection_rate),
            "labelled_keypoints": int(self.labelled.sum()),
            "correct_keypoints": int(self.correct.sum()),
            "pck_micro": _nan_none(self.pck_micro),
            "pck_macro": _nan_none(self.pck_macro),
            "per_keypoint": {
                name: {
                    "labelled": int(self.labelled[i]),
                    "correct": int(self.correct[i]),
                    "pck": _nan_none(float(pk[i])),
                }
                for i, name in enumerate(COCO17_NAMES)
            },
        }


class PckAccumulator:
    """Running counts of persons, detections, labelled and correct keypoints.

    Example:
        >>> import numpy as np
        >>> acc = PckAccumulator()
        >>> gt = np.zeros((17, 3)); gt[5:13, 2] = 1; gt[6, 0] = 10; gt[11:13, 1] = 10
        >>> acc.add(score_person(gt, None))
        >>> s = acc.summary(); (s.persons, s.detected, int(s.labelled.sum()), s.pck_micro)
        (1, 0, 8, 0.0)
    """

    def __init__(self) -> None:
        self._persons = 0
        self._detected = 0
        self._labelled = np.zeros(NUM_COCO, dtype=np.int64)
        self._correct = np.zeros(NUM_COCO, dtype=np.int64)

    def add(self, score: PersonScore) -> None:
        """Count one person."""
        self._persons += 1
        self._detected += int(score.detected)
        self._labelled += score.labelled
        self._correct += score.correct

    def summary(self) -> PckSummary:
        """A snapshot of the counts so far."""
        return PckSummary(
            self._persons, self._detected, self._labelled.copy(), self._correct.copy()
        )


def _nan_none(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def format_pck_table(columns: Sequence[tuple[str, PckSummary]]) -> str:
    """A text table: 17 keypoint rows of ``PCK % (labelled)``, then micro/macro means,
    detection rate and persons, one column per ``(title, summary)``.

    Example:
        >>> s = PckAccumulator().summary()
        >>> print(format_pck_table([("x", s)]).splitlines()[0].split())
        ['keypoint', 'x']
    """
    width = max([14, *(len(t) + 2 for t, _ in columns)])
    lines = ["keypoint".ljust(15) + "".join(t.rjust(width) for t, _ in columns)]

    def pct(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{100 * x:.1f}"

    for i, name in enumerate(COCO17_NAMES):
        cells = [
            f"{pct(float(s.per_keypoint[i]))} ({int(s.labelled[i])})".rjust(width)
            for _, s in columns
        ]
        lines.append(name.ljust(15) + "".join(cells))
    lines.append("-" * (15 + width * len(columns)))
    rows: list[tuple[str, Callable[[PckSummary], str]]] = [
        ("mean PCK micro", lambda s: f"{pct(s.pck_micro)} ({int(s.labelled.sum())})"),
        ("mean PCK macro", lambda s: pct(s.pck_macro)),
        ("detection rate", lambda s: f"{pct(s.detection_rate)} ({s.detected})"),
        ("persons", lambda s: str(s.persons)),
    ]
    for title, fmt in rows:
        lines.append(title.ljust(15) + "".join(fmt(s).rjust(width) for _, s in columns))
    return "\n".join(lines)
