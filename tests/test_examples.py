"""Every script in examples/ runs (subprocess) on the shared data and does what it says."""

from __future__ import annotations

import csv
import importlib.util
import os
import runpy
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from conftest import DATA, MODELS_SRC

from posekit.pose import Pose
from posekit.topology import Keypoint as Kp

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"


def example(name: str, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "POSEKIT_MODEL_SOURCE": str(MODELS_SRC), **env}
    full_env.pop("DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture
def example_in_process(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], replay: Any
) -> Any:
    """``example_in_process(name, *args, cwd=..., **env)``: run ``examples/<name>`` as
    ``__main__`` in this process on the run's tracking of the dev video (``conftest.replay``
    checks that the script's tracker has the default settings); returns its stdout. The
    subprocess tests below run whole scripts, tracking included."""
    replay(VIDEO)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(MODELS_SRC))

    def run(name: str, *args: str, cwd: Path, **env: str) -> str:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(cwd)
        monkeypatch.setattr(sys, "argv", [str(EXAMPLES / name), *args])
        try:
            runpy.run_path(str(EXAMPLES / name), run_name="__main__")
        except SystemExit as exc:
            assert exc.code in (0, None), capsys.readouterr().err
        return capsys.readouterr().out

    return run


def test_every_example_is_tested() -> None:
    tested = {"webcam_quickstart.py", "video_to_csv.py", "calf_raise_counter.py",
              "train_yoga_classifier.py", "sign_language_recorder.py"}  # fmt: skip
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_webcam_quickstart_is_short_and_runs_on_a_video(
    tmp_path: Path, example_in_process: Any
) -> None:
    code = [
        line for line in (EXAMPLES / "webcam_quickstart.py").read_text().splitlines()
        if line.strip() and not line.startswith(('"""', "Usage")) and "quickstart:" not in line
    ]  # fmt: skip
    assert len(code) < 15
    lines = example_in_process("webcam_quickstart.py", str(VIDEO), cwd=tmp_path).splitlines()
    assert len(lines) == 110 and "detected" in lines[0] and "knee" in lines[-1]
    knees = [float(line.split("knee")[1].split()[0]) for line in lines]
    assert min(knees) < 100 < max(knees)  # the squat's bottom and the standing position


def test_video_to_csv(tmp_path: Path, example_in_process: Any) -> None:
    stdout = example_in_process("video_to_csv.py", cwd=tmp_path, POSEKIT_EXAMPLE_VIDEO=str(VIDEO))
    out = tmp_path / f"{VIDEO.stem}.csv"
    assert f"wrote {out.name}" in stdout
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 110 and rows[0]["state"] == "detected"
    assert list(rows[0])[-2:] == ["angle_knee", "angle_hip"]
    assert min(float(r["angle_knee"]) for r in rows) < 100


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_calf_raise_counter_counts_synthetic_raises() -> None:
    calf = _load("calf_raise_counter.py")
    from posekit.analyzers import Pipeline

    def pose(lift: float) -> Pose:
        xy = np.zeros((33, 2), np.float32)
        for knee, ankle, heel, toe, x in (
            (Kp.LEFT_KNEE, Kp.LEFT_ANKLE, Kp.LEFT_HEEL, Kp.LEFT_FOOT_INDEX, 100),
            (Kp.RIGHT_KNEE, Kp.RIGHT_ANKLE, Kp.RIGHT_HEEL, Kp.RIGHT_FOOT_INDEX, 200),
        ):
            xy[knee], xy[ankle] = (x, 300), (x, 400 - lift)
            xy[heel], xy[toe] = (x - 10, 410 - lift), (x + 30, 410)
        return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)  # fmt: skip

    t = np.arange(0, 7, 1 / 30)
    cycle = (t - 1.0) % 2.0  # 1 s standing, then a 1.2 s raise every 2 s: three raises
    lifts = np.where((t >= 1.0) & (cycle < 1.2), 20 * np.sin(np.pi * cycle / 1.2), 0.0)
    assert calf.heel_lift(pose(20.0)) == pytest.approx(20.0 / 80 * 100, rel=1e-3)
    frames = Pipeline(analyzers=[calf.CalfRaiseCounter()]).run([pose(x) for x in lifts], fps=30)
    assert frames[-1].results["calf_raises"].count == 3


def test_calf_raise_counter_runs_on_a_video(tmp_path: Path, example_in_process: Any) -> None:
    assert "calf raises: 0" in example_in_process(
        "calf_raise_counter.py", str(VIDEO), cwd=tmp_path
    )  # a squat, not a calf raise


def test_train_yoga_classifier(tmp_path: Path) -> None:
    proc = example("train_yoga_classifier.py", cwd=tmp_path, POSEKIT_YOGA_DIR=str(DATA / "yoga"))
    right, total = proc.stdout.split("held-out accuracy: ")[1].split()[0].split("/")
    assert int(total) >= 6 and int(right) >= 1  # 8 classes, 3 training images each
    from posekit.analyzers import PoseClassifier

    assert len(PoseClassifier.load(tmp_path / "yoga.npz").classes) == 8


def test_sign_language_recorder(tmp_path: Path) -> None:
    from posekit.sequence import PoseSequence

    out = tmp_path / "signs.npz"
    proc = example(
        "sign_language_recorder.py", str(VIDEO), str(out), "--max-frames", "8", cwd=tmp_path
    )
    assert "8 frames" in proc.stdout
    seq = PoseSequence.from_npz(out)
    assert seq.shape == (8, 1, 576, 3) and seq.timestamps is not None
    assert list(seq.components) == ["body", "left_hand", "right_hand", "face", "body_world"]
    assert seq.known[:, 0, seq.components["body"].slice].all()  # the body on every frame
    shoulders = seq.component("body")[:, 0, [Kp.LEFT_SHOULDER, Kp.RIGHT_SHOULDER]].data
    # normalised: the mean shoulder midpoint at the origin, mean shoulder width 1
    assert np.abs(shoulders.mean(axis=1).mean(axis=0)).max() < 1e-4
    assert np.linalg.norm(shoulders[:, 0] - shoulders[:, 1], axis=1).mean() == pytest.approx(
        1, rel=1e-4
    )
    assert (seq.data.data[~seq.known] == 0).all()
