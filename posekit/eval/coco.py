"""Reading COCO keypoint annotation files: the persons the protocol evaluates.

Example:
    >>> load_targets("no/such/annotations.json")  # doctest: +SKIP
"""

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, ValidationError

from posekit.errors import InputError
from posekit.eval.pck import NUM_COCO, TORSO_JOINTS, CropBox, crop_box, torso_diagonal

__all__ = ["EvalTarget", "load_targets", "read_coco", "read_targets"]

logger = logging.getLogger(__name__)


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


def read_coco(path: Path) -> _CocoFile:
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
    return read_targets(Path(annotations), limit).targets


def read_targets(path: Path, limit: int | None) -> _Targets:
    if limit is not None and limit < 1:
        raise InputError(f"limit must be >= 1, got {limit}")
    coco = read_coco(path)
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
            if kp is None or not bool(np.all(kp[list(TORSO_JOINTS), 2] > 0)):
                skipped["no_torso_labels"] += 1
                continue
            torso = torso_diagonal(kp)
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
