"""Landmark model (posekit.landmarks): decoding, projection, heatmap refinement, real model.

The real-model checks compare against values that do not come from posekit itself: COCO
annotations made by people, and geometric invariants (a mirrored or rotated picture must give
mirrored / rotated landmarks).
"""

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

from posekit.detector import PoseDetector
from posekit.errors import InputError
from posekit.image import as_frame
from posekit.landmarks import LandmarkModel, LandmarkTensors, refine_from_heatmap
from posekit.roi import RotatedRect
from posekit.topology import COCO17_FROM_BLAZEPOSE, FLIP_PERMUTATION

KEYPOINTS = DATA / "keypoints"


@pytest.fixture(scope="session")
def sessions(models_src: Path) -> tuple[Any, Any]:
    from posekit.models import install, load_session

    install(["pose_detection", "pose_landmark_full"], source=models_src, progress=False)
    return load_session("pose_detection", num_threads=2), load_session(
        "pose_landmark_full", num_threads=2
    )


class FakeLandmarkRunner:
    def __init__(
        self,
        raw: np.ndarray,
        presence: float = 0.9,
        world: np.ndarray | None = None,
        seg_logit: float = 10.0,
    ) -> None:
        self.out = {
            "Identity": raw.reshape(1, 195).astype(np.float32),
            "Identity_1": np.array([[presence]], np.float32),
            "Identity_2": np.full((1, 256, 256, 1), seg_logit, np.float32),
            "Identity_3": np.full((1, 64, 64, 39), -30.0, np.float32),
            "Identity_4": (np.zeros((1, 117)) if world is None else world.reshape(1, 117)).astype(
                np.float32
            ),
        }
        self.requested: list[list[str]] = []
        self.inputs: list[np.ndarray] = []

    def run_outputs(
        self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        self.requested.append(list(output_names))
        self.inputs.append(feeds["input_1"].copy())
        return [self.out[n] for n in output_names]


def reference_refine(xy: np.ndarray, hm: np.ndarray, k: int = 7, thr: float = 0.5) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator transcribed with plain loops (incl. its quirks)."""
    h, w, n = hm.shape
    out = xy.copy()
    off = (k - 1) // 2
    for i in range(n):
        col, row = int(xy[i, 0] * w), int(xy[i, 1] * h)  # C++ float->int truncation
        if col < 0 or col >= w or row < 0:
            continue
        total = wc = wr = mx = 0.0
        for r in range(max(0, row - off), min(h, row + off + 1)):
            for c in range(max(0, col - off), min(w, col + off + 1)):
                conf = 1.0 / (1.0 + math.exp(-float(hm[r, c, i])))
                total += conf
                mx = max(mx, conf)
                wc += c * conf
                wr += r * conf
        if mx >= thr and total > 0:
            out[i] = (wc / w / total, wr / h / total)
    return np.asarray(out)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_heatmap_refinement_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    hm = rng.normal(-2.0, 2.0, (64, 64, 39)).astype(np.float32)
    xy = rng.uniform(-0.1, 1.1, (39, 2)).astype(np.float32)
    xy[0] = (0.999, 1.02)  # row just past the bottom: MediaPipe still refines (quirk)
    xy[1] = (-0.005, 0.5)  # truncates to column 0: refined
    xy[2] = (0.5, 3.0)  # far below: untouched
    np.testing.assert_allclose(
        refine_from_heatmap(xy, hm), reference_refine(xy, hm), rtol=1e-5, atol=1e-6
    )


def test_heatmap_refinement_rejects_wrong_count() -> None:
    with pytest.raises(InputError, match="channels"):
        refine_from_heatmap(np.zeros((3, 2), np.float32), np.zeros((8, 8, 4), np.float32))


def synthetic_raw() -> np.ndarray:
    raw = np.zeros((39, 5), np.float32)
    rng = np.random.default_rng(5)
    raw[:, :2] = rng.uniform(0, 256, (39, 2))
    raw[:, 2] = rng.uniform(-50, 50, 39)
    raw[:, 3] = rng.normal(0, 3, 39)
    raw[:, 4] = rng.normal(0, 3, 39)
    return raw


def test_decode_projects_to_image_pixels() -> None:
    raw = synthetic_raw()
    world = np.zeros((39, 3), np.float32)
    world[:, 0] = 1.0
    world[:, 1] = 0.5
    world[:, 2] = 0.25
    runner = FakeLandmarkRunner(raw, presence=0.8, world=world)
    roi = RotatedRect(300.0, 200.0, 400.0, 400.0, 0.6)
    model = LandmarkModel(runner, refine_heatmap=False)
    est = model.estimate(np.zeros((480, 640, 3), np.uint8), roi)
    expected_xy = roi.to_image(raw[:33, :2], (256, 256))
    np.testing.assert_allclose(est.landmarks[:, :2], expected_xy, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(est.landmarks[:, 2], raw[:33, 2] * 400.0 / 256.0, rtol=1e-5)
    np.testing.assert_allclose(
        est.auxiliary[:, :2], roi.to_image(raw[33:35, :2], (256, 256)), atol=1e-3
    )
    np.testing.assert_allclose(est.visibility, 1 / (1 + np.exp(-raw[:33, 3])), rtol=1e-5)
    np.testing.assert_allclose(est.presence, 1 / (1 + np.exp(-raw[:33, 4])), rtol=1e-5)
    assert est.score == pytest.approx(0.8)
    # world x axis rotated in the image plane by the ROI rotation; z unchanged
    np.testing.assert_allclose(
        est.world[0],
        [math.cos(0.6) - 0.5 * math.sin(0.6), math.sin(0.6) + 0.5 * math.cos(0.6), 0.25],
        rtol=1e-5,
    )
    assert est.segmentation is None
    assert runner.requested == [["Identity", "Identity_1", "Identity_4"]]


def test_z_scale_follows_x_scale() -> None:
    """Doubling the ROI doubles both the spread of x and the magnitude of z."""
    raw = synthetic_raw()
    small = LandmarkModel(FakeLandmarkRunner(raw), refine_heatmap=False).estimate(
        np.zeros((100, 100, 3), np.uint8), RotatedRect(50, 50, 100, 100)
    )
    big = LandmarkModel(FakeLandmarkRunner(raw), refine_heatmap=False).estimate(
        np.zeros((100, 100, 3), np.uint8), RotatedRect(50, 50, 200, 200)
    )
    np.testing.assert_allclose(big.landmarks[:, 2], 2 * small.landmarks[:, 2], rtol=1e-5)
    np.testing.assert_allclose(
        big.landmarks[:, 0] - 50, 2 * (small.landmarks[:, 0] - 50), rtol=1e-4, atol=1e-3
    )


def test_segmentation_only_when_asked_and_warped_back() -> None:
    runner = FakeLandmarkRunner(synthetic_raw(), seg_logit=8.0)
    model = LandmarkModel(runner, refine_heatmap=False)
    roi = RotatedRect(100.0, 100.0, 80.0, 80.0, 0.0)
    est = model.estimate(np.zeros((200, 300, 3), np.uint8), roi, segmentation=True)
    assert runner.requested[-1][-1] == "Identity_2"
    mask = est.segmentation
    assert mask is not None and mask.shape == (200, 300) and mask.dtype == np.float32
    assert mask[100, 100] == pytest.approx(1 / (1 + math.exp(-8.0)), rel=1e-4)
    assert mask[10, 10] == 0.0 and mask[100, 250] == 0.0  # outside the ROI


def test_refine_flag_requests_the_heatmap_only_when_on() -> None:
    runner = FakeLandmarkRunner(synthetic_raw())
    LandmarkModel(runner, refine_heatmap=True).estimate(
        np.zeros((64, 64, 3), np.uint8), RotatedRect(32, 32, 64, 64)
    )
    assert "Identity_3" in runner.requested[0]
    LandmarkModel(runner, refine_heatmap=False).estimate(
        np.zeros((64, 64, 3), np.uint8), RotatedRect(32, 32, 64, 64)
    )
    assert "Identity_3" not in runner.requested[1]


def test_crop_input_is_rgb_in_unit_range() -> None:
    runner = FakeLandmarkRunner(synthetic_raw())
    img = np.zeros((100, 100, 3), np.uint8)
    img[..., 2] = 255  # red in BGR
    LandmarkModel(runner, refine_heatmap=False).estimate(img, RotatedRect(50, 50, 60, 60))
    np.testing.assert_allclose(runner.inputs[0][0, 128, 128], [1.0, 0.0, 0.0])
    LandmarkModel(runner, refine_heatmap=False).estimate(
        as_frame(img, color="rgb"), RotatedRect(50, 50, 60, 60)
    )
    np.testing.assert_allclose(runner.inputs[1][0, 128, 128], [0.0, 0.0, 1.0])


def test_unknown_model_name() -> None:
    with pytest.raises(InputError, match="lite"):
        LandmarkModel(model="ultra")


def test_infer_returns_typed_tensors() -> None:
    runner = FakeLandmarkRunner(synthetic_raw(), presence=0.3)
    model = LandmarkModel(runner, refine_heatmap=False)
    raw = model.infer(np.zeros((1, 256, 256, 3), np.float32), segmentation=True)
    assert isinstance(raw, LandmarkTensors)
    assert raw.landmarks.shape == (39, 5) and raw.world.shape == (39, 3)
    assert raw.segmentation is not None and raw.segmentation.shape == (256, 256)
    assert raw.heatmap is None and raw.presence == pytest.approx(0.3)


# ----------------------------------------------------------------------------- real model
CLEAR_PEOPLE = [
    "coco_val2017_000000000785.jpg",
    "ochuman_003799.jpg",
    "mpii_060754485.jpg",
    "mpii_004645041.jpg",
    "mpii_051423444.jpg",
]


def annotated(name: str) -> tuple[np.ndarray, np.ndarray]:
    coco = json.loads((KEYPOINTS / "annotations.json").read_text())
    (img,) = [i for i in coco["images"] if i["file_name"] == name]
    ann = max(
        (a for a in coco["annotations"] if a["image_id"] == img["id"]), key=lambda a: a["area"]
    )
    pixels = cv2.imread(str(KEYPOINTS / "images" / name))
    assert pixels is not None
    return pixels, np.array(ann["keypoints"], float).reshape(17, 3)


def torso(kp: np.ndarray) -> float:
    return float(np.linalg.norm(kp[[5, 6], :2].mean(0) - kp[[11, 12], :2].mean(0)))


def run_pipeline(sessions: tuple[Any, Any], img: np.ndarray, **kw: Any) -> Any:
    det = PoseDetector(sessions[0]).detect_one(img)
    assert det is not None
    return LandmarkModel(sessions[1], **kw).estimate(img, det.roi())


@pytest.mark.parametrize("name", CLEAR_PEOPLE)
def test_coco17_keypoints_match_human_annotation(sessions: tuple[Any, Any], name: str) -> None:
    img, kp = annotated(name)
    est = run_pipeline(sessions, img)
    labelled = kp[:, 2] > 0
    pred = est.landmarks[COCO17_FROM_BLAZEPOSE, :2]
    err = np.linalg.norm(pred[labelled] - kp[labelled, :2], axis=1) / torso(kp)
    assert np.median(err) < 0.15, err
    assert np.mean(err < 0.35) >= 0.8, err
    assert est.score > 0.9


@pytest.mark.parametrize("name", CLEAR_PEOPLE[:3])
def test_mirrored_image_gives_mirrored_landmarks(sessions: tuple[Any, Any], name: str) -> None:
    img, kp = annotated(name)
    width = img.shape[1]
    a = run_pipeline(sessions, img).landmarks[:, :2]
    b = run_pipeline(sessions, np.ascontiguousarray(img[:, ::-1])).landmarks[:, :2]
    unmirrored = np.stack([width - 1 - b[:, 0], b[:, 1]], axis=1)[FLIP_PERMUTATION]
    err = np.linalg.norm(unmirrored - a, axis=1)[:25] / torso(kp)  # head, arms, hips
    assert np.median(err) < 0.15 and err.max() < 0.5, err
    # without swapping left and right the answer is clearly worse: the swap is real
    unswapped = np.stack([width - 1 - b[:, 0], b[:, 1]], axis=1)
    assert np.median(np.linalg.norm(unswapped - a, axis=1)[11:25]) > 2 * np.median(
        np.linalg.norm(unmirrored - a, axis=1)[11:25]
    )


@pytest.mark.parametrize("name", CLEAR_PEOPLE[1:4])
def test_rotated_image_gives_rotated_landmarks(sessions: tuple[Any, Any], name: str) -> None:
    img, kp = annotated(name)
    height = img.shape[0]
    a = run_pipeline(sessions, img)
    r = run_pipeline(sessions, cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE))
    # clockwise quarter turn: (x, y) -> (H - 1 - y, x); invert it
    back = np.stack([r.landmarks[:, 1], height - 1 - r.landmarks[:, 0]], axis=1)
    err = np.linalg.norm(back - a.landmarks[:, :2], axis=1)[:25] / torso(kp)
    assert np.median(err) < 0.1, err
    turn = (r.roi.rotation - a.roi.rotation + math.pi) % (2 * math.pi) - math.pi
    assert turn == pytest.approx(math.pi / 2, abs=0.35)


def test_heatmap_refinement_keeps_landmarks_close(sessions: tuple[Any, Any]) -> None:
    img, kp = annotated(CLEAR_PEOPLE[2])
    plain = run_pipeline(sessions, img, refine_heatmap=False).landmarks[:, :2]
    refined = run_pipeline(sessions, img, refine_heatmap=True).landmarks[:, :2]
    moved = np.linalg.norm(refined - plain, axis=1) / torso(kp)
    assert 0 < np.max(moved) < 0.2
