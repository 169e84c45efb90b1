"""The evaluation run: every target person through a predictor, scored and summed up.

Example:
    >>> rep = evaluate("annotations.json", "images/", lambda crop: None)  # doctest: +SKIP
"""

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
from numpy.typing import NDArray

from posekit.errors import InputError, SourceError
from posekit.eval.coco import EvalTarget, read_coco, read_targets
from posekit.eval.pck import (
    CROP_SCALE,
    PCK_THRESHOLD,
    PckAccumulator,
    PckSummary,
    PersonScore,
    extract_crop,
    format_pck_table,
    score_person,
)
from posekit.topology import COCO17_NAMES

__all__ = [
    "EvalReport",
    "ModelName",
    "Predictor",
    "ProgressCallback",
    "evaluate",
    "evaluate_posekit",
    "posekit_predictor",
]

logger = logging.getLogger(__name__)

Predictor = Callable[[NDArray[np.uint8]], "NDArray[np.float64] | None"]
"""A pose runtime under test: BGR crop ``(S, S, 3)`` -> COCO-17 ``(17, 2)`` crop pixels, or None."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(done, total)`` after each evaluated person."""

ModelName = Literal["lite", "full", "heavy"]


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
    loaded = read_targets(ann_path, limit)
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
        >>> from posekit.eval import evaluate_posekit
        >>> rep = evaluate_posekit("annotations.json", "images/", model="full")  # doctest: +SKIP
        >>> print(rep.format())  # doctest: +SKIP
    """
    # validate the inputs before paying for model loading
    if not Path(images).is_dir():
        raise SourceError(
            f"image folder {images} does not exist or is not a folder: pass --images with the "
            "folder holding the annotation file's images[].file_name"
        )
    read_coco(Path(annotations))
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
