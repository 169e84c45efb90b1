"""Pose detector (posekit.detector): anchors, decoding, weighted NMS, letterbox, real model."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA

from posekit.detector import (
    Detection,
    PoseDetector,
    decode_detections,
    ssd_anchors,
    weighted_nms,
)
from posekit.errors import InputError
from posekit.image import as_frame

KEYPOINTS = DATA / "keypoints"


@pytest.fixture(scope="session")
def detector_session(models_src: Path) -> Any:
    from posekit.models import install, load_session

    install(["pose_detection"], source=models_src, progress=False)
    return load_session("pose_detection", num_threads=2)


class FakeRunner:
    """Returns fixed outputs and remembers what it was fed."""

    def __init__(self, regressors: np.ndarray, logits: np.ndarray) -> None:
        self.outputs = {"Identity": regressors[None], "Identity_1": logits.reshape(1, -1, 1)}
        self.calls: list[tuple[list[str], np.ndarray]] = []

    def run_outputs(
        self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        self.calls.append((list(output_names), feeds["input_1"].copy()))
        return [self.outputs[n] for n in output_names]


def reference_anchors() -> list[tuple[float, float]]:
    """The SSD anchor layout written out as plain loops from the MediaPipe options."""
    out = []
    for fm, per_cell in ((28, 2), (14, 2), (7, 6)):
        for y in range(fm):
            for x in range(fm):
                out.extend([((x + 0.5) / fm, (y + 0.5) / fm)] * per_cell)
    return out


def test_anchors_match_reference_layout() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (2254, 2)
    np.testing.assert_allclose(anchors, reference_anchors(), rtol=1e-6)


def test_decode_known_values() -> None:
    raw = np.zeros((1, 12), np.float32)
    raw[0, :4] = [22.4, -11.2, 44.8, 22.4]
    raw[0, 4:12] = [0, 0, 22.4, 22.4, -22.4, 0, 0, -44.8]
    boxes, kps = decode_detections(raw, np.array([[0.5, 0.5]], np.float32))
    np.testing.assert_allclose(boxes[0], [0.5, 0.4, 0.7, 0.5], atol=1e-6)
    np.testing.assert_allclose(kps[0], [[0.5, 0.5], [0.6, 0.6], [0.4, 0.5], [0.5, 0.3]], atol=1e-6)


def reference_weighted_nms(
    boxes: np.ndarray, kps: np.ndarray, scores: np.ndarray, thr: float
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """MediaPipe's WeightedNonMaxSuppression transcribed with plain loops."""

    def iou(a: np.ndarray, b: np.ndarray) -> float:
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        inter = ix * iy
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
        return inter / union if union > 0 else 0.0

    remaining = sorted(range(len(scores)), key=lambda i: -scores[i])
    out = []
    while remaining:
        top = remaining[0]
        cand = [i for i in remaining if iou(boxes[i], boxes[top]) > thr]
        rest = [i for i in remaining if i not in cand]
        w = sum(scores[i] for i in cand)
        box = sum(boxes[i] * scores[i] for i in cand) / w
        kp = sum(kps[i] * scores[i] for i in cand) / w
        out.append((box, kp, float(scores[top])))
        remaining = rest
    return out


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_weighted_nms_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 40
    centres = rng.uniform(0.2, 0.8, (n, 2)).astype(np.float32)
    # three clusters so that merging really happens
    centres[: n // 2] = centres[0] + rng.normal(0, 0.01, (n // 2, 2))
    size = rng.uniform(0.05, 0.2, (n, 1)).astype(np.float32)
    boxes = np.concatenate([centres - size, centres + size], axis=1).astype(np.float32)
    kps = rng.uniform(0, 1, (n, 4, 2)).astype(np.float32)
    scores = rng.uniform(0.5, 1.0, n).astype(np.float32)
    ours = weighted_nms(boxes, kps, scores, 0.3)
    ref = reference_weighted_nms(boxes, kps, scores, 0.3)
    assert len(ours) == len(ref) < n
    for (b, k, s), (rb, rk, rs) in zip(ours, ref, strict=True):
        np.testing.assert_allclose(b, rb, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(k, rk, rtol=1e-5, atol=1e-6)
        assert s == pytest.approx(rs)
    assert [s for _, _, s in ours] == sorted((s for _, _, s in ours), reverse=True)


def test_weighted_nms_empty_and_limited() -> None:
    e = np.zeros((0, 4), np.float32)
    assert weighted_nms(e, np.zeros((0, 4, 2), np.float32), np.zeros(0, np.float32)) == []
    boxes = np.array([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]], np.float32)
    out = weighted_nms(
        boxes,
        np.zeros((3, 4, 2), np.float32),
        np.array([0.7, 0.9, 0.8], np.float32),
        max_detections=2,
    )
    assert [s for _, _, s in out] == pytest.approx([0.9, 0.8])


def one_detection_outputs(
    u: float, v: float, logit: float = 5.0, anchor_index: int = 700
) -> tuple[np.ndarray, np.ndarray]:
    """Regressors putting a detection's box centre and keypoint 0 at tensor point (u, v)."""
    anchors = ssd_anchors()
    reg = np.zeros((2254, 12), np.float32)
    dx, dy = (u - anchors[anchor_index, 0]) * 224, (v - anchors[anchor_index, 1]) * 224
    reg[anchor_index, :4] = [dx, dy, 22.4, 22.4]
    reg[anchor_index, 4:6] = [dx, dy]
    reg[anchor_index, 6:8] = [dx, dy - 44.8]  # keypoint 1: 0.2 above in tensor units
    logits = np.full(2254, -10.0, np.float32)
    logits[anchor_index] = logit
    return reg, logits


@pytest.mark.parametrize(
    ("size", "uv", "expected_px"),
    [
        ((640, 480), (0.5, 0.5), (320.0, 240.0)),
        ((640, 480), (0.0, 0.0), (0.0, -80.0)),  # 80 px of letterbox above the image
        ((640, 480), (1.0, 0.75), (640.0, 400.0)),
        ((300, 600), (0.25, 0.5), (0.0, 300.0)),  # 150 px of letterbox left of the image
    ],
)
def test_letterbox_removal_maps_tensor_points_to_pixels(
    size: tuple[int, int], uv: tuple[float, float], expected_px: tuple[float, float]
) -> None:
    runner = FakeRunner(*one_detection_outputs(*uv))
    det = PoseDetector(runner)
    (d,) = det.detect(np.zeros((size[1], size[0], 3), np.uint8))
    np.testing.assert_allclose(d.keypoints[0], expected_px, atol=1e-3)
    side = max(size)
    np.testing.assert_allclose(d.box[2] - d.box[0], 0.1 * side, rtol=1e-5)
    np.testing.assert_allclose(d.keypoints[1] - d.keypoints[0], [0, -0.2 * side], atol=1e-3)
    assert d.score == pytest.approx(1 / (1 + math.exp(-5.0)))
    roi = d.roi()
    assert roi.rotation == pytest.approx(0.0, abs=1e-6)
    assert roi.width == pytest.approx(2 * 0.2 * side * 1.25, rel=1e-5)


def test_input_tensor_is_letterboxed_rgb_in_minus_one_one() -> None:
    runner = FakeRunner(*one_detection_outputs(0.5, 0.5))
    img = np.zeros((480, 640, 3), np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    PoseDetector(runner).detect(img)
    names, tensor = runner.calls[0]
    assert names == ["Identity", "Identity_1"]
    assert tensor.shape == (1, 224, 224, 3) and tensor.dtype == np.float32
    np.testing.assert_allclose(tensor[0, 112, 112], [-1.0, -1.0, 1.0])  # RGB order
    np.testing.assert_allclose(tensor[0, 5, 112], [-1.0, -1.0, -1.0])  # top letterbox: zeros
    np.testing.assert_allclose(tensor[0, 218, 112], [-1.0, -1.0, -1.0])  # bottom letterbox


@pytest.mark.parametrize(
    ("logit", "threshold", "kept"),
    [
        (0.0, 0.5, True),
        (-0.01, 0.5, False),
        (2.0, 0.88, True),
        (2.0, 0.9, False),
        (300.0, 1.0, True),
    ],
)
def test_score_threshold(logit: float, threshold: float, kept: bool) -> None:
    runner = FakeRunner(*one_detection_outputs(0.5, 0.5, logit=logit))
    det = PoseDetector(runner, min_detection_confidence=threshold)
    found = det.detect(np.zeros((64, 64, 3), np.uint8))
    assert bool(found) is kept


def test_bad_confidence_is_refused() -> None:
    with pytest.raises(InputError, match="min_detection_confidence"):
        PoseDetector(FakeRunner(*one_detection_outputs(0.5, 0.5)), min_detection_confidence=1.5)


def load_coco() -> dict[str, Any]:
    return dict(json.loads((KEYPOINTS / "annotations.json").read_text()))


def image_and_annotation(name: str) -> tuple[np.ndarray, np.ndarray]:
    coco = load_coco()
    (img,) = [i for i in coco["images"] if i["file_name"] == name]
    anns = [a for a in coco["annotations"] if a["image_id"] == img["id"] and a["num_keypoints"] > 0]
    best = max(anns, key=lambda a: a["num_keypoints"])
    pixels = cv2.imread(str(KEYPOINTS / "images" / name))
    assert pixels is not None
    return pixels, np.array(best["keypoints"], float).reshape(17, 3)


@pytest.mark.parametrize(
    "name", ["coco_val2017_000000000785.jpg", "ochuman_003799.jpg", "mpii_060754485.jpg"]
)
def test_real_detector_finds_the_annotated_person(detector_session: Any, name: str) -> None:
    img, kp = image_and_annotation(name)
    d = PoseDetector(detector_session).detect_one(img)
    assert isinstance(d, Detection) and d.score > 0.5
    hips, shoulders = kp[[11, 12], :2].mean(axis=0), kp[[5, 6], :2].mean(axis=0)
    torso = float(np.linalg.norm(hips - shoulders))
    assert np.linalg.norm(d.keypoints[0] - hips) < 0.5 * torso  # keypoint 0 = hip centre
    assert np.linalg.norm(d.keypoints[2] - shoulders) < 0.5 * torso  # keypoint 2 = shoulders
    # every labelled keypoint lies inside the landmark ROI built from the detection
    labelled = kp[kp[:, 2] > 0, :2]
    inside = d.roi().to_crop(labelled, (256, 256))
    assert np.all((inside > 0) & (inside < 256))


def test_real_detector_on_empty_image(detector_session: Any) -> None:
    assert PoseDetector(detector_session).detect(np.zeros((480, 640, 3), np.uint8)) == []


def test_real_detector_accepts_rgb(detector_session: Any) -> None:
    img, _ = image_and_annotation("mpii_060754485.jpg")
    det = PoseDetector(detector_session)
    a = det.detect_one(img)
    c = det.detect_one(as_frame(np.ascontiguousarray(img[..., ::-1]), color="rgb"))
    assert a is not None and c is not None
    np.testing.assert_allclose(a.keypoints, c.keypoints, atol=1e-3)  # same pixels, told RGB
