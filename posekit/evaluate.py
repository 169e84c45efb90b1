"""Keypoint accuracy on COCO-format annotations: PCK at 0.2 x torso size, one person per crop.

The protocol, fixed so that posekit and other BlazePose runtimes (MediaPipe) are scored
identically:

1. Every annotated person (category ``person``, not ``iscrowd``) with both shoulders and both
   hips labelled (``v > 0``) is evaluated; other annotations are skipped and counted.
2. The crop is a square around the centre of the annotation's ``bbox``, side
   ``round(1.5 x max(w, h))`` pixels, zero-padded where it leaves the image (:func:`crop_box`,
   :func:`extract_crop`). Because the crop is an integer translation of the image, points map
   back to image coordinates exactly by adding the crop's top-left corner.
3. The pose runtime runs on the crop in single-image mode (detector on every call, no
   smoothing); its 33 keypoints are mapped to COCO-17.
4. A labelled keypoint (``v > 0``) is correct when its pixel distance to the prediction, in
   image coordinates, is strictly below ``0.2 x torso``, where torso =
   ``max(|left shoulder - right hip|, |right shoulder - left hip|)`` from the annotation
   (:func:`torso_size`, :func:`score_person`). No detection: every labelled keypoint of that
   person counts as wrong. The predicted visibility is not used.
5. Mean PCK is reported two ways (:class:`PckSummary`): *micro* = correct / labelled over all
   labelled keypoints pooled, and *macro* = the mean of the per-keypoint PCKs over keypoint types
   that have at least one label. They differ when keypoint types are labelled unequally often
   (MPII/AIC/CrowdPose have no face keypoints).

Example:
    >>> import numpy as np
    >>> from posekit.evaluate import PckAccumulator, crop_box, score_person, torso_size
    >>> crop_box([10.0, 20.0, 40.0, 80.0])  # centre (30, 60), side 1.5 x 80
    CropBox(x0=-30, y0=0, side=120)
    >>> gt = np.zeros((17, 3))
    >>> gt[[5, 6, 11, 12]] = [[0, 0, 2], [30, 0, 2], [0, 40, 2], [30, 40, 2]]
    >>> torso_size(gt)
    50.0
    >>> pred = gt[:, :2] + [9.0, 0.0]  # 9 px off: below 0.2 x 50 = 10 px
    >>> score = score_person(gt, pred)
    >>> int(score.correct.sum()), int(score.labelled.sum())
    (4, 4)
    >>> acc = PckAccumulator(); acc.add(score); acc.summary().pck_micro
    1.0
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from posekit.errors import InputError, SourceError
from posekit.topology import COCO17_NAMES

__all__ = [
    "CROP_SCALE",
    "PCK_THRESHOLD",
    "CropBox",
    "EvalReport",
    "EvalTarget",
    "PckAccumulator",
    "PckSummary",
    "PersonScore",
    "Predictor",
    "ProgressCallback",
    "crop_box",
    "evaluate",
    "evaluate_posekit",
    "extract_crop",
    "format_pck_table",
    "load_targets",
    "posekit_predictor",
    "score_person",
    "torso_size",
]

logger = logging.getLogger(__name__)

PCK_THRESHOLD = 0.2
"""A keypoint is correct when its error is below this fraction of the torso size."""

CROP_SCALE = 1.5
"""Crop side = ``CROP_SCALE x max(bbox w, bbox h)``."""

NUM_COCO = 17
_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP = 5, 6, 11, 12
_TORSO_JOINTS = (_L_SHOULDER, _R_SHOULDER, _L_HIP, _R_HIP)

Predictor = Callable[[NDArray[np.uint8]], "NDArray[np.float64] | None"]
"""A pose runtime under test: BGR crop ``(S, S, 3)`` -> COCO-17 ``(17, 2)`` crop pixels, or None."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each evaluated person."""

ModelName = Literal["lite", "full", "heavy"]


# --------------------------------------------------------------------------------------------
# Pure protocol functions
# --------------------------------------------------------------------------------------------


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


def torso_size(keypoints: ArrayLike) -> float:
    """``max(|left shoulder - right hip|, |right shoulder - left hip|)`` of COCO-17 ``(17, 2|3)``.

    Example:
        >>> import numpy as np
        >>> k = np.zeros((17, 2)); k[6] = [3, 0]; k[11] = [0, 4]; k[12] = [3, 4]
        >>> torso_size(k)  # |(0,0)-(3,4)| = 5 on both diagonals
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
    wrong). ``torso`` defaults to :func:`torso_size` of ``gt``. A keypoint is correct when
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
    t = torso_size(g) if torso is None else float(torso)
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


# --------------------------------------------------------------------------------------------
# COCO annotation file
# --------------------------------------------------------------------------------------------


class _Image(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    file_name: str
    source_dataset: str | None = None


class _Annotation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    image_id: int
    category_id: int = 1
    iscrowd: int = 0
    keypoints: list[float] | None = None
    bbox: list[float] | None = None
    source_dataset: str | None = None


class _Category(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int
    name: str


class _CocoFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    images: list[_Image]
    annotations: list[_Annotation]
    categories: list[_Category] = []


@dataclass(frozen=True)
class EvalTarget:
    """One person to evaluate: the image, the ground truth (image pixels) and the crop."""

    image_id: int
    annotation_id: int
    file_name: str
    source_dataset: str
    keypoints: NDArray[np.float64]
    box: CropBox
    torso: float


@dataclass(frozen=True)
class _Targets:
    targets: list[EvalTarget]
    skipped: dict[str, int]


def _read_coco(path: Path) -> _CocoFile:
    from posekit.schema import parse_json

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(
            f"annotation file {path} does not exist: pass --coco with a COCO keypoint JSON file"
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"annotation file {path} is not UTF-8 text ({exc}): pass a COCO keypoint JSON file"
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot read annotation file {path}: {exc}; check the path") from exc
    raw = parse_json(text, f"annotation file {path}", what="a COCO keypoint JSON file")
    try:
        return _CocoFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"annotation file {path} is not COCO keypoint JSON: {where}: {first['msg']} "
            f"({exc.error_count()} problem(s)); it needs images[], annotations[] with "
            "keypoints [x, y, v] x 17 and bbox [x, y, w, h]"
        ) from exc


def load_targets(annotations: Path | str, limit: int | None = None) -> list[EvalTarget]:
    """The persons the protocol evaluates, in file order (images, then their annotations).

    ``limit`` keeps the first N eligible persons.

    Raises:
        InputError: the file is missing, not JSON or not COCO keypoint annotations.
    """
    return _load_targets(Path(annotations), limit).targets


def _load_targets(path: Path, limit: int | None) -> _Targets:
    if limit is not None and limit < 1:
        raise InputError(f"limit must be >= 1, got {limit}")
    coco = _read_coco(path)
    person_ids = {c.id for c in coco.categories if c.name == "person"} or {1}
    by_image: dict[int, list[_Annotation]] = {}
    for ann in coco.annotations:
        by_image.setdefault(ann.image_id, []).append(ann)
    skipped = {"not_person": 0, "crowd": 0, "no_torso_labels": 0, "bad_bbox": 0, "no_image": 0}
    known_images = {img.id for img in coco.images}
    skipped["no_image"] = sum(len(v) for k, v in by_image.items() if k not in known_images)
    out: list[EvalTarget] = []
    for img in coco.images:
        for ann in by_image.get(img.id, []):
            if ann.category_id not in person_ids:
                skipped["not_person"] += 1
                continue
            if ann.iscrowd:
                skipped["crowd"] += 1
                continue
            kp = _keypoints(ann, path)
            if kp is None or not bool(np.all(kp[list(_TORSO_JOINTS), 2] > 0)):
                skipped["no_torso_labels"] += 1
                continue
            torso = torso_size(kp)
            if ann.bbox is None or torso <= 0:
                skipped["bad_bbox"] += 1
                continue
            try:
                box = crop_box(ann.bbox)
            except InputError:
                skipped["bad_bbox"] += 1
                continue
            source = img.source_dataset or ann.source_dataset or "unknown"
            out.append(EvalTarget(img.id, ann.id, img.file_name, source, kp, box, torso))
            if limit is not None and len(out) >= limit:
                return _Targets(out, skipped)
    return _Targets(out, skipped)


def _keypoints(ann: _Annotation, path: Path) -> NDArray[np.float64] | None:
    if ann.keypoints is None:
        return None
    if len(ann.keypoints) != 3 * NUM_COCO:
        raise InputError(
            f"annotation {ann.id} in {path} has {len(ann.keypoints)} keypoint values, expected 51 "
            "(17 COCO keypoints x [x, y, v]); convert the file to COCO-17 first"
        )
    return np.asarray(ann.keypoints, dtype=np.float64).reshape(NUM_COCO, 3)


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalReport:
    """Everything one evaluation run measured; :meth:`to_dict` is the ``--json`` content."""

    runtime: str
    overall: PckSummary
    per_dataset: dict[str, PckSummary]
    persons: list[dict[str, Any]]
    skipped: dict[str, int]
    seconds: float
    annotations: str
    images: str
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of the report."""
        return {
            "runtime": self.runtime,
            **self.info,
            "annotations": self.annotations,
            "images": self.images,
            "protocol": {
                "crop": f"square around the bbox centre, side {CROP_SCALE} x max(w, h), zero pad",
                "threshold": PCK_THRESHOLD,
                "correct_if": "pixel error < threshold x torso, in image pixels",
                "torso": "max(|l_shoulder - r_hip|, |r_shoulder - l_hip|) from the annotation",
                "missed_person": "every labelled keypoint counts as wrong",
                "pck_micro": "correct / labelled over all labelled keypoints pooled",
                "pck_macro": "mean over keypoint types (with >= 1 label) of per-keypoint PCK",
            },
            "keypoints": list(COCO17_NAMES),
            "overall": self.overall.to_dict(),
            "per_dataset": {k: v.to_dict() for k, v in self.per_dataset.items()},
            "skipped_annotations": dict(self.skipped),
            "seconds": round(self.seconds, 3),
            "persons": self.persons,
        }

    def format(self) -> str:
        """Human-readable table: the overall column then one column per source dataset."""
        cols = [(self.runtime, self.overall)]
        if len(self.per_dataset) > 1 or (
            self.per_dataset and next(iter(self.per_dataset)) != "unknown"
        ):
            cols += sorted(self.per_dataset.items())
        skipped = ", ".join(f"{k} {v}" for k, v in self.skipped.items() if v) or "none"
        return (
            format_pck_table(cols)
            + f"\nskipped annotations: {skipped}; {self.seconds:.1f} s"
            + "\nPCK@0.2 torso; micro = pooled over all labelled keypoints, "
            "macro = mean of per-keypoint PCK; cells: PCK % (labelled count)"
        )


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


def evaluate(
    annotations: Path | str,
    images: Path | str,
    predictor: Predictor,
    *,
    runtime: str = "runtime",
    limit: int | None = None,
    progress: ProgressCallback | None = None,
) -> EvalReport:
    """Run the protocol with any ``predictor`` (crop -> COCO-17 crop pixels or None).

    Raises:
        InputError: annotation file missing or not COCO keypoint JSON.
        SourceError: image folder or an image missing or unreadable.

    Example:
        >>> import numpy as np
        >>> def never(crop: np.ndarray) -> None:
        ...     return None
        >>> rep = evaluate("annotations.json", "images/", never)  # doctest: +SKIP
        >>> rep.overall.detection_rate  # doctest: +SKIP
        0.0
    """
    ann_path, img_dir = Path(annotations), Path(images)
    if not img_dir.is_dir():
        raise SourceError(
            f"image folder {img_dir} does not exist or is not a folder: pass --images with the "
            "folder holding the annotation file's images[].file_name"
        )
    loaded = _load_targets(ann_path, limit)
    targets = loaded.targets
    if not targets:
        raise InputError(
            f"{ann_path} has no person with both shoulders and both hips labelled: nothing to "
            "evaluate"
        )
    overall = PckAccumulator()
    per_ds: dict[str, PckAccumulator] = {}
    records: list[dict[str, Any]] = []
    start = time.perf_counter()
    for done, (target, image) in enumerate(_with_images(targets, img_dir), start=1):
        crop = extract_crop(image, target.box)
        pred = predictor(crop)
        pred_img = None if pred is None else target.box.to_image(pred[:, :2])
        score = score_person(target.keypoints, pred_img, target.torso)
        overall.add(score)
        per_ds.setdefault(target.source_dataset, PckAccumulator()).add(score)
        records.append(_record(target, score))
        if progress is not None:
            progress(done, len(targets))
    return EvalReport(
        runtime=runtime,
        overall=overall.summary(),
        per_dataset={k: v.summary() for k, v in sorted(per_ds.items())},
        persons=records,
        skipped=loaded.skipped,
        seconds=time.perf_counter() - start,
        annotations=str(ann_path),
        images=str(img_dir),
    )


def _with_images(
    targets: Sequence[EvalTarget], img_dir: Path
) -> Iterator[tuple[EvalTarget, NDArray[np.uint8]]]:
    """Yield each target with its image, reading each image once (targets are grouped)."""
    current: tuple[str, NDArray[np.uint8]] | None = None
    for target in targets:
        if current is None or current[0] != target.file_name:
            current = (target.file_name, _read_image(img_dir / target.file_name))
        yield target, current[1]


def _read_image(path: Path) -> NDArray[np.uint8]:
    if not path.is_file():
        raise SourceError(
            f"image {path} listed in the annotations does not exist: check --images points at "
            "the folder holding images[].file_name"
        )
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise SourceError(f"image {path} cannot be decoded: replace the corrupt file")
    return np.ascontiguousarray(image, dtype=np.uint8)


def _record(target: EvalTarget, score: PersonScore) -> dict[str, Any]:
    return {
        "image_id": target.image_id,
        "annotation_id": target.annotation_id,
        "file_name": target.file_name,
        "source_dataset": target.source_dataset,
        "detected": score.detected,
        "torso_px": round(score.torso, 2),
        "labelled": [int(b) for b in score.labelled],
        "correct": [int(b) for b in score.correct],
        "error_over_torso": [None if math.isnan(e) else round(float(e), 4) for e in score.error],
    }


@contextmanager
def posekit_predictor(
    model: ModelName = "full",
    num_threads: int | None = None,
    refine_heatmap: bool | None = None,
    *,
    accuracy: str | None = None,
    flip: bool | None = None,
) -> Iterator[Predictor]:
    """A posekit tracker in image mode as a :data:`Predictor` (closed on exit).

    ``refine_heatmap``, ``accuracy`` and ``flip`` set to None keep the tracker's defaults
    (``accuracy``: ``"fast"``, ``"balanced"`` or ``"best"``, see :class:`posekit.Tracker`).

    Example:
        >>> with posekit_predictor("lite") as predict:  # doctest: +SKIP
        ...     predict(np.zeros((256, 256, 3), np.uint8)) is None
        True
    """
    from posekit.tracker import Tracker

    kwargs: dict[str, Any] = {}
    if refine_heatmap is not None:
        kwargs["refine_heatmap"] = refine_heatmap
    if accuracy is not None:
        kwargs["accuracy"] = accuracy
    if flip is not None:
        kwargs["flip"] = flip
    tracker = Tracker(model=model, mode="image", smooth=False, num_threads=num_threads, **kwargs)
    with tracker:

        def predict(crop: NDArray[np.uint8]) -> NDArray[np.float64] | None:
            pose = tracker.process(crop).pose
            if pose is None:
                return None
            return np.asarray(pose.to_coco17()[:, :2], dtype=np.float64)

        yield predict


def evaluate_posekit(
    annotations: Path | str,
    images: Path | str,
    *,
    model: ModelName = "full",
    limit: int | None = None,
    num_threads: int | None = None,
    refine_heatmap: bool | None = None,
    progress: ProgressCallback | None = None,
    accuracy: str | None = None,
    flip: bool | None = None,
) -> EvalReport:
    """Evaluate posekit's tracker (image mode, ``model``) with the protocol of this module.

    ``refine_heatmap``, ``accuracy`` and ``flip`` set to None keep the tracker's defaults.

    Example:
        >>> from posekit.evaluate import evaluate_posekit
        >>> rep = evaluate_posekit("annotations.json", "images/", model="full")  # doctest: +SKIP
        >>> print(rep.format())  # doctest: +SKIP
    """
    # validate the inputs before paying for model loading
    if not Path(images).is_dir():
        raise SourceError(
            f"image folder {images} does not exist or is not a folder: pass --images with the "
            "folder holding the annotation file's images[].file_name"
        )
    _read_coco(Path(annotations))
    with posekit_predictor(
        model, num_threads, refine_heatmap, accuracy=accuracy, flip=flip
    ) as predict:
        report = evaluate(
            annotations,
            images,
            predict,
            runtime=f"posekit-{model}",
            limit=limit,
            progress=progress,
        )
    return replace(
        report,
        info={
            "model": model,
            "num_threads": num_threads,
            "refine_heatmap": refine_heatmap,
            "accuracy": accuracy,
            "flip": flip,
        },
    )
