"""``posekit yoga fit|predict`` end to end on the labelled yoga images and the dev video."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, MODELS_SRC

from posekit.analyzers.classifier import PoseClassifier
from posekit.cli.yoga_cmd import leave_one_out

YOGA = DATA / "yoga"
VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"


def posekit(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSEKIT_MODEL_SOURCE": str(MODELS_SRC)}
    return subprocess.run(
        [sys.executable, "-m", "posekit", *args],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("yoga") / "yoga.npz"
    proc = posekit("yoga", "fit", str(YOGA), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_fit_saves_a_classifier_of_every_class(model: tuple[Path, str]) -> None:
    path, stdout = model
    classes = json.loads((YOGA / "index.json").read_text())["classes"]
    clf = PoseClassifier.load(path)
    assert list(clf.classes) == sorted(classes)
    assert f"{len(clf)} samples, {len(classes)} classes" in stdout
    assert "leave-one-out accuracy:" in stdout


def test_predict_images_reports_accuracy(model: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = model
    proc = posekit("yoga", "predict", str(path), str(YOGA), "--json", str(tmp_path / "p.json"))
    assert proc.returncode == 0, proc.stderr
    preds = json.loads((tmp_path / "p.json").read_text())
    judged = [p for p in preds if p["truth"] is not None and p["label"] is not None]
    assert len(judged) >= 24  # 32 images, a few without a detectable person at most
    # the classifier was trained on these images: each is its own nearest neighbour
    assert sum(p["label"] == p["truth"] for p in judged) >= 0.8 * len(judged)
    assert "accuracy:" in proc.stdout


def test_predict_video_gives_smoothed_segments(model: tuple[Path, str], tmp_path: Path) -> None:
    path, _ = model
    proc = posekit(
        "yoga", "predict", str(path), str(VIDEO), "--no-show", "--max-frames", "20",
        "--json", str(tmp_path / "v.json"), "--output", str(tmp_path / "v.mp4"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "v.json").read_text())
    assert len(doc["frames"]) == 20
    covered = sum(s["end"] - s["start"] for s in doc["segments"])
    assert covered <= doc["frames"][-1]["timestamp"] + 1e-6
    assert "time per class:" in proc.stdout and (tmp_path / "v.mp4").stat().st_size > 0


def test_leave_one_out_counts_misses() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(33, 3)), rng.normal(size=(33, 3))

    def near(base: np.ndarray) -> np.ndarray:  # not a pure shift: the embedding ignores those
        return base + rng.normal(scale=0.01, size=(33, 3))

    lm = np.stack([near(a) for _ in range(4)] + [near(b) for _ in range(4)] + [near(a)])
    labels = ["a"] * 4 + ["b"] * 5  # the last sample looks like an "a" but is labelled "b"
    clf = PoseClassifier(lm.astype(np.float32), labels, top_n_by_mean_distance=3)
    loo = leave_one_out(clf)
    assert (loo.total, loo.correct, loo.confusions) == (9, 8, (("b", "a"),))
