"""``posekit run`` end to end (subprocess): overlay video, JSONL against the schema, CSV columns,
several inputs in parallel, and bad input as one line with a non-zero exit code."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import cv2
import pytest
from conftest import DATA, MODELS_SRC, PEER_DATA
from test_sinks import validate_json

from posekit.cli import build_parser
from posekit.cli.run_cmd import FrameProgress, output_for, parse_source
from posekit.pose import Pose
from posekit.sinks import CsvSink

VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"
FRAMES = 110  # labels.json


def posekit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "POSEKIT_MODEL_SOURCE": str(MODELS_SRC)}
    return subprocess.run(
        [sys.executable, "-m", "posekit", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
        check=False,
    )


def _count_frames(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.fixture(scope="module")
def run_outputs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("run")
    proc = posekit(
        "run",
        str(VIDEO),
        "--output",
        str(out / "overlay.mp4"),
        "--jsonl",
        str(out / "poses.jsonl"),
        "--csv",
        str(out / "poses.csv"),
        "--count",
        "squat",
        "--angles",
        "knee,left_knee",
    )
    return out, proc


def test_run_writes_all_outputs(run_outputs: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, proc = run_outputs
    assert proc.returncode == 0, proc.stderr
    assert f"{FRAMES} frames" in proc.stdout and "1 rep" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert _count_frames(out / "overlay.mp4") == FRAMES


def test_run_jsonl_matches_the_published_schema(
    run_outputs: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = run_outputs
    printed = posekit("run", "--schema")
    assert printed.returncode == 0
    schema = json.loads(printed.stdout)
    assert json.loads((out / "poses.schema.json").read_text()) == schema  # written beside it
    records = [json.loads(line) for line in (out / "poses.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in records] == list(range(FRAMES))
    for r in records:
        validate_json(r, schema)
        if r["pose"] is not None:
            assert Pose.from_dict(r["pose"]).image_size == (1280, 720)
    times = [r["timestamp"] for r in records]
    assert times == sorted(times) and times[1] == pytest.approx(1 / 25, abs=1e-3)
    assert records[0]["state"] == "detected" and records[-1]["results"]["squats"]["count"] == 1
    new_reps = [
        r["results"]["squats"]["new_rep"] for r in records if r["results"]["squats"]["new_rep"]
    ]
    assert len(new_reps) == 1 and new_reps[0]["depth"] < 100
    assert set(records[0]["results"]["angles"]) == {"knee", "left_knee"}


def test_run_csv_has_named_columns(
    run_outputs: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = run_outputs
    with (out / "poses.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    header = list(rows[0])
    assert header[:4] == ["frame", "timestamp", "state", "score"]
    assert header[4:9] == ["nose_x", "nose_y", "nose_z", "nose_visibility", "nose_presence"]
    assert header == CsvSink.header(angles=["knee", "left_knee"], counters=["squats"])
    assert len(rows) == FRAMES
    assert rows[-1]["squats_count"] == "1"
    jsonl = [json.loads(x) for x in (out / "poses.jsonl").read_text().splitlines()]
    assert float(rows[50]["left_knee_x"]) == pytest.approx(jsonl[50]["pose"]["xy"][25][0], rel=1e-6)


def test_several_inputs_run_in_parallel_with_outputs_per_input(tmp_path: Path) -> None:
    inputs = [VIDEO, PEER_DATA / "squat_rohanx01.mp4"]
    proc = posekit(
        "run", *map(str, inputs), "--jobs", "2", "--max-frames", "20",
        "--csv", str(tmp_path / "poses.csv"), "--jsonl", str(tmp_path / "{stem}.jsonl"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "total: 2 inputs, 40 frames" in proc.stdout and "2 jobs" in proc.stdout
    for video in inputs:
        with (tmp_path / f"poses-{video.stem}.csv").open() as fh:
            assert sum(1 for _ in fh) == 21
        assert len((tmp_path / f"{video.stem}.jsonl").read_text().splitlines()) == 20


def _not_a_video(d: Path) -> str:
    p = d / "notes.mp4"
    p.write_text("this is not a video\n" * 50)
    return str(p)


ERRORS = [
    (lambda d: ["run", str(d / "missing.mp4")], "does not exist"),
    (lambda d: ["run", _not_a_video(d)], "cannot open video"),
    (lambda d: ["run", "97", "--max-frames", "1"], "camera index 97 cannot be opened"),
    (lambda d: ["run", str(VIDEO), "--csv", str(d / "no" / "dir.csv")], "cannot write --csv"),
    (lambda d: ["run", str(VIDEO), "-o", str(d)], "is a folder"),
    (lambda d: ["run", str(VIDEO), "-o", str(d / "x.gif")], "unknown extension"),
    (lambda d: ["run", str(VIDEO), "--angles", "knees"], "unknown angle names knees"),
    (lambda d: ["run"], "no SOURCE given"),
    (lambda d: ["yoga", "predict", str(d / "none.npz"), str(VIDEO)], "does not exist"),
    (lambda d: ["yoga", "fit", str(d / "nope"), "--out", str(d / "m.npz")], "does not exist"),
]


@pytest.mark.parametrize(
    ("make_args", "message"),
    ERRORS,
    ids=[
        "missing-file", "not-a-video", "no-camera", "unwritable-csv", "output-is-folder",
        "video-extension", "unknown-angle", "no-source", "yoga-missing-model", "yoga-no-folder",
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, make_args: Any, message: str) -> None:
    proc = posekit(*make_args(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("posekit: error: ") and message in lines[0]


@pytest.mark.parametrize("command", [[], ["run"], ["yoga"], ["yoga", "fit"], ["yoga", "predict"]])
def test_help_reads_well(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args([*command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert text.startswith("usage: posekit") and len(text.splitlines()) > 5
    for sub in ("run", "models", "eval", "yoga") if not command else ():
        assert sub in text


@pytest.mark.parametrize(
    ("template", "source", "several", "expected"),
    [
        ("poses.csv", "a/squat.mp4", False, "poses.csv"),
        ("out/poses.csv", "a/squat.mp4", True, "out/poses-squat.csv"),
        ("out/{stem}.jsonl", "a/squat.mp4", True, "out/squat.jsonl"),
        ("{stem}-overlay.mp4", 0, False, "camera0-overlay.mp4"),
    ],
)
def test_output_names(template: str, source: Any, several: bool, expected: str) -> None:
    assert output_for(template, source, several=several) == expected


def test_duplicate_stems_get_a_number() -> None:
    taken: set[str] = set()
    names = [output_for("p.csv", s, several=True, taken=taken) for s in ("a/x.mp4", "b/x.mp4")]
    assert names == ["p-x.csv", "p-x-2.csv"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("12", 12), ("clip.mp4", "clip.mp4"), ("rtsp://h/1", "rtsp://h/1")],
)
def test_parse_source(text: str, expected: Any) -> None:
    assert parse_source(text) == expected


def test_progress_lines_without_a_terminal() -> None:
    import io

    buf = io.StringIO()
    bar = FrameProgress(buf, "clip", total=50)
    for i in range(1, 51):
        bar.update(i)
    bar.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 10 and lines[-1].startswith("clip 50/50 frames (100 %)")
    silent = io.StringIO()
    FrameProgress(silent, "x").close()  # nothing processed: nothing printed
    assert silent.getvalue() == ""
