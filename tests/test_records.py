"""Records (issue 16): every result type has ``to_record()``, sinks write through it (never by
an analyzer's type), JSON Lines stay constant-size per frame, CSV result columns are declared
by the analyzers, and an unknown result type is a clear error."""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_pose

import posekit
from posekit.analyzers import AngleAnalyzer, Pipeline, SquatCounter
from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.classifier import (
    ClassRepCounter,
    ClassVotes,
    PoseClassifier,
    PoseClassifierAnalyzer,
)
from posekit.analyzers.handoff import HandoffRois
from posekit.analyzers.holistic import HolisticResult
from posekit.analyzers.pipeline import AnalyzedFrame
from posekit.analyzers.reps import Phase, Rep, RepCount
from posekit.errors import InputError
from posekit.face import FaceLandmarks
from posekit.hands import HandLandmarks
from posekit.results import FrameResult, TrackingState
from posekit.roi import RotatedRect
from posekit.sinks import CsvSink, JsonlSink, read_jsonl

ROI = RotatedRect(100.0, 120.0, 40.0, 50.0, 0.25)
REP = Rep(3, 1.0, 1.5, 2.0, 85.0, 25, 37, 50)
REP_KEYS = {"number", "start", "bottom", "end", "depth", "duration", "start_index"}
REP_KEYS |= {"bottom_index", "end_index"}
FRAME_KEYS = {"schema_version", "frame", "timestamp", "state", "pose", "roi", "results"}


def _hand(side: Any) -> HandLandmarks:
    z21 = np.zeros(21, np.float32)
    return HandLandmarks(side, np.ones((21, 2), np.float32), z21, np.zeros((21, 3), np.float32),
                         presence=0.9, handedness=0.2, roi=ROI)  # fmt: skip


def _face() -> FaceLandmarks:
    return FaceLandmarks(np.ones((468, 2), np.float32), np.zeros(468, np.float32), 0.8, ROI)


def _two_class_classifier() -> tuple[PoseClassifier, np.ndarray, np.ndarray]:
    """A k-NN classifier of two well-separated random shapes ("up", "down") and the shapes."""
    rng = np.random.default_rng(0)
    up, down = rng.uniform(100, 500, (33, 3)), rng.uniform(100, 500, (33, 3))
    samples = [s + rng.normal(0, 2, (33, 3)) for s in [up] * 6 + [down] * 6]
    return PoseClassifier(np.stack(samples), ["up"] * 6 + ["down"] * 6), up, down


def _classifier_frames(reps: int) -> list[Any]:
    """A real pipeline (votes + the classifier rep counter) over poses alternating 8 frames of
    "down" and 8 of "up": one rep every 16 frames."""
    clf, up, down = _two_class_classifier()
    shapes = [up if (i // 8) % 2 else down for i in range(16 * reps + 8)]
    poses = [make_pose(s[:, :2], z=s[:, 2]) for s in shapes]
    pipeline = Pipeline(analyzers=[PoseClassifierAnalyzer(clf), ClassRepCounter(clf, "up")])
    return list(pipeline.run(poses, fps=25))


# ------------------------------------------------------------------ every result type's record
@pytest.mark.parametrize(
    ("result", "keys"),
    [
        (REP, REP_KEYS),
        (RepCount(2, Phase.REST, 170.0, (REP,) * 5, REP), {"count", "phase", "value", "new_rep"}),
        (RepCount(0, Phase.UNKNOWN, float("nan"), ()), {"count", "phase", "value", "new_rep"}),
        (ClassVotes({"up": 7.0, "down": 3.0}, k=10), {"votes", "k", "label"}),
        (HandoffRois(ROI, None, ROI), {"left_hand", "right_hand", "face"}),
        (
            HolisticResult(make_pose(seed=1), _hand("left"), None, _face(), left_hand_tracked=True),
            {"pose", "left_hand", "right_hand", "face", "left_hand_tracked",
             "right_hand_tracked", "face_tracked"},
        ),
        (HolisticResult(pose=None), {"pose", "left_hand", "right_hand", "face",
                                     "left_hand_tracked", "right_hand_tracked", "face_tracked"}),
        (FrameResult(make_pose(seed=2), TrackingState.TRACKING, 0.5, 3, roi=ROI,
                     results={"votes": ClassVotes({"a": 1.0}, k=1)}), FRAME_KEYS),
        (AnalyzedFrame(None, 0.5, 3, {"squats": RepCount(1, Phase.REST, None, (REP,))}),
         FRAME_KEYS),
    ],
    ids=["rep", "rep-count", "rep-count-nan", "class-votes", "handoff", "holistic",
         "holistic-empty", "frame-result", "analyzed-frame"],
)  # fmt: skip
def test_every_result_type_has_a_json_record(result: Any, keys: set[str]) -> None:
    record = result.to_record()
    assert set(record) == keys
    text = json.dumps(record, allow_nan=False)  # plain JSON values, no NaN
    assert json.loads(text) == record


def test_the_rep_count_record_holds_this_frame_only() -> None:
    record = RepCount(5, Phase.LEAVING, 120.0, (REP,) * 5, REP).to_record()
    assert record == {"count": 5, "phase": "leaving", "value": 120.0, "new_rep": REP.to_record()}
    assert record["new_rep"]["duration"] == 1.0


# ------------------------------------------------------------------ sinks fed classifier results
def test_jsonl_of_classifier_counter_results(tmp_path: Path) -> None:
    frames = _classifier_frames(reps=4)
    out = tmp_path / "reps.jsonl"
    with JsonlSink(out) as sink:
        for f in frames:
            sink.write(f)
    records = [r for r, _ in read_jsonl(out)]  # validated against the frame schema
    counts = [r["results"]["up_reps"]["count"] for r in records]
    assert counts[-1] == 4 == frames[-1].results["up_reps"].count
    new = [r["results"]["up_reps"]["new_rep"] for r in records]
    assert [n["number"] for n in new if n is not None] == [1, 2, 3, 4]
    assert all(set(r["results"]["up_reps"]) == {"count", "phase", "value", "new_rep"}
               for r in records)  # fmt: skip
    assert records[-1]["results"]["pose_class"]["label"] == "down"  # the last 8 frames


def test_csv_of_classifier_counter_results(tmp_path: Path) -> None:
    from posekit.sinks import analyzer_columns

    clf, _, _ = _two_class_classifier()
    analyzers = [PoseClassifierAnalyzer(clf), ClassRepCounter(clf, "up")]
    frames = _classifier_frames(reps=3)
    out = tmp_path / "reps.csv"
    with CsvSink(out, columns=analyzer_columns(analyzers)) as sink:
        for f in frames:
            sink.write(f)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-3:] == ["pose_class_label", "up_reps_count", "up_reps_phase"]
    assert [r["up_reps_count"] for r in rows] == [str(f.results["up_reps"].count) for f in frames]
    assert {r["up_reps_phase"] for r in rows} == {"rest", "returning"}
    assert rows[-1]["up_reps_count"] == "3" and rows[-1]["pose_class_label"] == "down"


def test_csv_counter_columns_read_the_classifier_counter(tmp_path: Path) -> None:
    """CsvSink(counters=[...]) read ``state.count``/``state.phase.value`` off the result."""
    frames = _classifier_frames(reps=2)
    out = tmp_path / "reps.csv"
    with CsvSink(out, counters=["up_reps"]) as sink:
        for f in frames:
            sink.write(f)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0])[-2:] == ["up_reps_count", "up_reps_phase"]
    states = [f.results["up_reps"] for f in frames]
    assert [(r["up_reps_count"], r["up_reps_phase"]) for r in rows] == [
        (str(s.count), s.phase.value) for s in states
    ]


# ------------------------------------------------------------------ constant-size JSON lines
def _repcount_history(n: int) -> list[Any]:
    """RepCounts whose history grows by one rep per frame (any counter's output)."""
    reps: tuple[Rep, ...] = ()
    frames = []
    for i in range(n):
        rep = Rep(i + 1, i * 1.0, i + 0.5, i + 1.0, 85.0, 3 * i, 3 * i + 1, 3 * i + 2)
        reps += (rep,)
        state = RepCount(len(reps), Phase.REST, 170.0, reps, rep)
        frames.append(AnalyzedFrame(None, float(i), i, {"squats": state}))
    return frames


@pytest.mark.parametrize(
    ("make_frames", "line_a", "line_b"),
    [
        (lambda: _classifier_frames(reps=40), 2 * 16 + 8, 39 * 16 + 8),  # rep 2 vs rep 39
        (lambda: _repcount_history(300), 10, 299),
    ],
    ids=["classifier-counter", "rep-history"],
)
def test_jsonl_line_size_does_not_grow_with_the_reps(
    tmp_path: Path, make_frames: Callable[[], list[Any]], line_a: int, line_b: int
) -> None:
    frames = make_frames()
    out = tmp_path / "reps.jsonl"
    with JsonlSink(out) as sink:
        for f in frames:
            sink.write(f)
    sizes = [len(line) for line in out.read_bytes().splitlines()]
    assert len(sizes) == len(frames)
    assert abs(sizes[line_b] - sizes[line_a]) < 40  # more digits only, not the rep history


# ------------------------------------------------------------------ CSV columns, declared up front
@pytest.mark.parametrize(
    ("analyzers", "expected"),
    [
        ([AngleAnalyzer(["left_knee", "hip"])], ["angle_left_knee", "angle_hip"]),
        ([SquatCounter()], ["squats_count", "squats_phase"]),
        (
            [AngleAnalyzer(["hip"]), AngleAnalyzer(["hip"], space="world", name="world_angles")],
            ["angle_hip", "world_angles_hip"],
        ),
        ([AngleAnalyzer(["hip"]), AngleAnalyzer(["hip"])], InputError),
    ],
    ids=["angles", "counter", "two-angle-analyzers", "duplicate-column"],
)
def test_analyzers_declare_their_csv_columns(
    analyzers: list[Any], expected: list[str] | type[Exception]
) -> None:
    from posekit.sinks import analyzer_columns

    if isinstance(expected, type):
        with pytest.raises(expected, match="CSV column 'angle_hip'"):
            analyzer_columns(analyzers)
    else:
        assert list(analyzer_columns(analyzers)) == expected


def test_csv_columns_come_from_the_records_not_the_frames(tmp_path: Path) -> None:
    """Columns are fixed up front: a result seen later, or a key missing, gives empty cells."""
    frames = [
        AnalyzedFrame(None, 0.0, 0, {}),
        AnalyzedFrame(None, 0.1, 1, {"squats": RepCount(1, Phase.REST, 170.0, (REP,), REP)}),
        AnalyzedFrame(None, 0.2, 2, {"squats": {"count": 1}}),  # a plain mapping: no phase
    ]
    out = tmp_path / "c.csv"
    columns = {"depth": ("squats", "new_rep.depth"), "n": ("squats", "count")}
    with CsvSink(out, counters=["squats"], columns=columns) as sink:
        for f in frames:
            sink.write(f)
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    got = [(r["squats_count"], r["squats_phase"], r["depth"], r["n"]) for r in rows]
    assert got == [("", "", "", ""), ("1", "rest", "85", "1"), ("1", "", "", "1")]


# ------------------------------------------------------------------ unknown result types
class Opaque:
    """A result type with no to_record() and no plain form."""


@dataclass
class PlainResult:
    hits: int
    ratio: float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Opaque(), InputError),
        ({"nested": Opaque()}, InputError),
        (PlainResult(2, float("nan")), {"hits": 2, "ratio": None}),  # documented fallback
        ({"a": np.float32(1.5), "b": (1, 2)}, {"a": 1.5, "b": [1, 2]}),
    ],
    ids=["opaque", "nested-opaque", "plain-dataclass", "mapping"],
)
@pytest.mark.parametrize("sink", ["jsonl", "csv"])
def test_a_sink_given_an_unknown_result_type(
    tmp_path: Path, sink: str, value: Any, expected: Any
) -> None:
    frame = AnalyzedFrame(None, 0.0, 0, {"mine": value})
    out = tmp_path / f"out.{sink}"
    made = JsonlSink(out) if sink == "jsonl" else CsvSink(out, columns={"m": ("mine", "hits")})
    if isinstance(expected, type):
        with pytest.raises(expected, match=r"cannot write the result 'mine'.*to_record\(\)"), made:
            made.write(frame)
        assert not out.exists()  # nothing half-written is published
        return
    with made:
        made.write(frame)
    if sink == "jsonl":
        assert json.loads(out.read_text())["results"]["mine"] == expected
    else:
        with out.open(newline="") as fh:
            (row,) = csv.DictReader(fh)
        assert row["m"] == str(expected.get("hits", ""))


def test_offline_frames_without_to_record_still_write(tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    with JsonlSink(out) as sink:
        sink.write(OfflineFrame(make_pose(seed=3), 0.0, 0))
    ((record, pose),) = list(read_jsonl(out))
    assert record["state"] == "tracking" and pose is not None


# ------------------------------------------------------------------ layering
def test_records_import_only_pose_types() -> None:
    path = Path(posekit.__file__).parent / "records.py"
    names = {
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    upward = (
        "posekit.tracker",
        "posekit.analyzers",
        "posekit.sinks",
        "posekit.draw",
        "posekit.cli",
    )
    assert not [n for n in names if n and n.startswith(upward)]
