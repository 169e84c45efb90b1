"""``posekit-squats`` end to end (subprocess) on the dev videos: the count, the summary JSON,
the annotated video, the plot, and bad input as one line with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import BARBELL_VIDEO, DATA, MODELS_SRC, ROHAN_VIDEO

from posekit.analyzers.exercises import EXERCISES
from posekit.analyzers.reps import Rep
from posekit_apps.plot import nice_ticks, plot_signal
from posekit_apps.squats import build_parser, feedback

LABELS = json.loads((DATA / "videos" / "labels.json").read_text())
DEV = DATA / "videos" / "squat_workouttracker_17.mp4"


def squats(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSEKIT_MODEL_SOURCE": str(MODELS_SRC)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    code = "import sys; from posekit_apps.squats import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def test_dev_video_headless_with_video_json_and_plot(tmp_path: Path) -> None:
    label = LABELS[DEV.name]
    proc = squats(
        str(DEV), "--output", str(tmp_path / "annotated.mp4"), "--json", str(tmp_path / "s.json"),
        "--plot", str(tmp_path / "angle.png"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # no display in this environment: it says so in one log line and carries on
    assert sum("running headless" in line for line in proc.stderr.splitlines()) == 1
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["reps"] == label["reps"] == 1
    assert summary["frames"] == label["frames"]
    (rep,) = summary["rep_details"]
    assert abs(rep["bottom_frame"] - label["rep_bottom_frames_approx"][0]) <= 15
    assert rep["depth_deg"] < 100 and rep["depth_reached"] is True
    assert 1.0 < rep["duration_s"] < 4.0
    assert rep["down_s"] + rep["up_s"] == pytest.approx(rep["duration_s"], abs=1e-2)
    assert f"{summary['reps']} squat rep" in proc.stdout and "rep 1: depth" in proc.stdout
    cap = cv2.VideoCapture(str(tmp_path / "annotated.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == label["frames"]
    plot = cv2.imread(str(tmp_path / "angle.png"))
    assert plot is not None and plot.shape == (600, 1280, 3)


@pytest.fixture
def app_in_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``app_in_process(*args)``: ``posekit_apps.squats.main(args)`` in this process (exit code),
    with the loggers it quietens restored afterwards."""
    import logging

    from posekit_apps.squats import main

    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(MODELS_SRC))
    for name in ("posekit.models", "posekit.convert"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "level", logger.level)
    return lambda *args: main(list(args))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("video", "expected", "bottoms"),
    [(ROHAN_VIDEO, 2, [315, 520]), (BARBELL_VIDEO, 1, [465])],
    ids=["rohanx01", "barbell"],
)
def test_peer_videos_count_exactly(
    tmp_path: Path,
    video: Path,
    expected: int,
    bottoms: list[int],
    app_in_process: Any,
    replay: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # counts by eye from frame grids (see tests/test_counters.py). The app runs in this process
    # on the run's tracking of the video (conftest.replay checks that the app's tracker has the
    # default settings the video was tracked with); test_dev_video_headless_with_video_json_and_plot
    # runs the whole app, tracking included, in a subprocess.
    replay(video, with_frames=False)  # no --output: the app draws nothing
    code = app_in_process(
        str(video), "--no-show", "--no-progress", "--json", str(tmp_path / "s.json")
    )
    assert code == 0, capsys.readouterr().err
    assert not any("running headless" in r.getMessage() for r in caplog.records)  # --no-show
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["reps"] == expected
    assert f"{expected} squat rep" in capsys.readouterr().out
    for rep, bottom in zip(summary["rep_details"], bottoms, strict=True):
        assert abs(rep["bottom_frame"] - bottom) <= 15 and rep["depth_reached"]


def test_other_exercise_runs(tmp_path: Path) -> None:
    proc = squats(
        str(DEV),
        "--exercise",
        "pushup",
        "--no-show",
        "--max-frames",
        "30",
        "--json",
        str(tmp_path / "p.json"),
    )
    assert proc.returncode == 0, proc.stderr
    from posekit.analyzers.exercises import make_counter

    summary = json.loads((tmp_path / "p.json").read_text())
    assert (summary["exercise"], summary["frames"]) == ("pushup", 30)
    assert summary["signal"] == make_counter("pushup").signal


def _junk(d: Path) -> str:
    p = d / "junk.mp4"
    p.write_bytes(b"\x00\x01 not a video" * 100)
    return str(p)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda d: [str(d / "missing.mp4")], "does not exist"),
        (lambda d: [_junk(d)], "cannot open video"),
        (lambda d: ["97"], "camera index 97 cannot be opened"),
        (lambda d: [str(DEV), "--output", str(d / "no" / "a.mp4")], "cannot write --output"),
        (lambda d: [str(DEV), "--json", str(d / "no" / "s.json")], "cannot write --json"),
        (lambda d: [str(DEV), "--plot", str(d / "angle.txt")], "use a .png"),
        (lambda d: [str(DEV), "--exercise", "burpee"], "invalid choice: 'burpee'"),
        (lambda d: [str(DEV), "--target", "500"], "between 0 and 180"),
    ],
    ids=["missing-file", "not-a-video", "no-camera", "unwritable-video", "unwritable-json",
         "plot-extension", "unknown-exercise", "bad-target"],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make_args: Any, message: str) -> None:
    proc = squats(*make_args(tmp_path), "--no-show")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("posekit-squats: error: ") and message in lines[0]


@pytest.mark.parametrize(
    ("exercise", "depth", "duration", "reached", "too_fast"),
    [
        ("squat", 95.0, 2.0, True, False),
        ("squat", 105.0, 2.0, False, False),
        ("squat", 80.0, 0.8, True, True),
        ("jumping-jack", 160.0, 0.6, True, False),
        ("jumping-jack", 130.0, 0.6, False, False),
    ],
)
def test_feedback(
    exercise: str, depth: float, duration: float, reached: bool, too_fast: bool
) -> None:
    from posekit.analyzers.exercises import make_counter

    rep = Rep(1, start=0.0, bottom=duration / 2, end=duration, depth=depth, start_index=0,
              bottom_index=10, end_index=20)  # fmt: skip
    f = feedback(rep, EXERCISES[exercise], make_counter(exercise).rest)
    assert (f.depth_reached, f.too_fast) == (reached, too_fast)
    text = " ".join(f.lines(EXERCISES[exercise]))
    assert ("good depth" in text) is reached and ("slow down" in text) is too_fast


def test_parser_defaults() -> None:
    args = build_parser().parse_args([])
    assert (args.source, args.exercise, args.show, args.model) == ("0", "squat", True, "full")


def test_plot_marks_thresholds_and_gaps() -> None:
    import numpy as np

    t = np.arange(0, 4, 0.04)
    v = 135 + 40 * np.cos(np.pi * t)
    v[40:45] = np.nan  # a gap (person lost) is not bridged by the line
    img = plot_signal(t, v, thresholds=[("standing", 150.0)], title="x")
    assert img.shape == (600, 1280, 3) and (img < 250).any()
    assert nice_ticks(0.0, 20.4, 12) == [float(x) for x in range(0, 21, 2)]
    assert nice_ticks(60.0, 180.0, 7) == [60.0, 80.0, 100.0, 120.0, 140.0, 160.0, 180.0]
