"""posekit.sinks: JSON Lines (against the published schema), CSV columns, video files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from posekit.analyzers import Pipeline
from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.classifier import ClassVotes
from posekit.analyzers.reps import Phase, Rep, RepCount
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.sinks import (
    CsvSink,
    JsonlSink,
    VideoSink,
    check_writable,
    frame_json_schema,
    frame_record,
    read_jsonl,
    result_to_json,
)
from posekit.topology import KEYPOINT_NAMES


# ----------------------------------------------------------------------------- a JSON Schema check
def validate_json(
    instance: Any, schema: dict[str, Any], root: dict[str, Any] | None = None
) -> None:
    """Check ``instance`` against the JSON Schema keywords posekit's schemas use; raise
    AssertionError naming the first violation. Unknown assertion keywords fail loudly."""
    root = schema if root is None else root
    annotations = {"title", "description", "default", "$schema", "$id", "$defs", "examples"}
    for key, rule in sorted(schema.items(), key=lambda kv: kv[0] != "type"):  # type first
        if key in annotations:
            continue
        if key == "$ref":
            assert rule.startswith("#/$defs/"), rule
            validate_json(instance, root["$defs"][rule.split("/")[-1]], root)
        elif key == "anyOf":
            errors = []
            for option in rule:
                try:
                    validate_json(instance, option, root)
                    break
                except AssertionError as exc:
                    errors.append(str(exc))
            else:
                raise AssertionError(f"{instance!r:.80} matches no anyOf option: {errors}")
        elif key == "type":
            kinds = {
                "object": dict,
                "array": list,
                "string": str,
                "integer": int,
                "number": (int, float),
                "null": type(None),
                "boolean": bool,
            }
            types = rule if isinstance(rule, list) else [rule]
            ok = any(
                isinstance(instance, kinds[t])
                and not (t in ("integer", "number") and isinstance(instance, bool))
                for t in types
            )
            assert ok, f"{instance!r:.80} is not {rule}"
        elif key == "const":
            assert instance == rule, f"{instance!r} != const {rule!r}"
        elif key == "enum":
            assert instance in rule, f"{instance!r} not in {rule}"
        elif key == "required":
            missing = [k for k in rule if k not in instance]
            assert not missing, f"missing {missing}"
        elif key == "properties":
            for name, sub in rule.items():
                if name in instance:
                    validate_json(instance[name], sub, root)
        elif key == "additionalProperties":
            if rule is False:
                extra = set(instance) - set(schema.get("properties", {}))
                assert not extra, f"unexpected properties {extra}"
        elif key == "items":
            for item in instance:
                validate_json(item, rule, root)
        elif key == "prefixItems":
            for item, sub in zip(instance, rule, strict=False):
                validate_json(item, sub, root)
        elif key == "minItems":
            assert len(instance) >= rule
        elif key == "maxItems":
            assert len(instance) <= rule
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            ops = {
                "minimum": lambda a, b: a >= b,
                "maximum": lambda a, b: a <= b,
                "exclusiveMinimum": lambda a, b: a > b,
                "exclusiveMaximum": lambda a, b: a < b,
            }
            assert ops[key](instance, rule), f"{instance} violates {key} {rule}"
        else:
            raise AssertionError(f"schema keyword {key!r} not understood by this test validator")


def _pose(seed: int = 0, world: bool = True) -> Pose:
    rng = np.random.default_rng(seed)
    return Pose(
        rng.uniform(0, 640, (33, 2)),
        rng.normal(size=33),
        rng.uniform(0.6, 1, 33),  # visible: the angles are known
        rng.uniform(0, 1, 33),
        score=0.9,
        world=rng.normal(size=(33, 3)) if world else None,
        image_size=(640, 480),
    )


def _frames() -> list[Any]:
    """Frames through a pipeline with angles and a squat counter (one lost frame)."""
    from posekit.analyzers import AngleAnalyzer, SquatCounter

    poses = [_pose(0), None, _pose(2, world=False)]
    return Pipeline(analyzers=[AngleAnalyzer(["knee", "hip"]), SquatCounter()]).run(poses, fps=25)


# ----------------------------------------------------------------------------- JSON Lines
def test_jsonl_records_match_the_schema_and_read_back(tmp_path: Path) -> None:
    out = tmp_path / "poses.jsonl"
    frames = _frames()
    with JsonlSink(out, schema=True) as sink:
        for f in frames:
            sink.write(f)
    schema = json.loads((tmp_path / "poses.schema.json").read_text())
    assert schema == frame_json_schema()
    lines = out.read_text().splitlines()
    assert len(lines) == len(frames)
    for line in lines:
        validate_json(json.loads(line), schema)
    back = list(read_jsonl(out))
    assert [r["frame"] for r, _ in back] == [0, 1, 2]
    assert [r["state"] for r, _ in back] == ["tracking", "lost", "tracking"]
    assert back[0][1] == frames[0].pose and back[1][1] is None and back[2][1] == frames[2].pose
    assert back[0][0]["results"]["squats"] == {
        "count": 0,
        "phase": "unknown",
        "value": frames[0].results["squats"].value,
        "new_rep": None,
    }
    assert set(back[0][0]["results"]["angles"]) == {"knee", "hip"}


@pytest.mark.parametrize(
    ("record_patch", "ok"),
    [
        ({}, True),
        ({"state": "flying"}, False),
        ({"frame": -1}, False),
        ({"extra": 1}, False),
        ({"pose": {"score": 2.0}}, False),
        ({"roi": {"center_x": 1.0}}, False),
    ],
    ids=["valid", "bad-state", "negative-frame", "extra-key", "bad-pose", "bad-roi"],
)
def test_the_schema_rejects_bad_records(record_patch: dict[str, Any], ok: bool) -> None:
    record = json.loads(json.dumps(frame_record(OfflineFrame(_pose(), 0.5, 3))))
    record.update(record_patch)
    if ok:
        validate_json(record, frame_json_schema())
    else:
        with pytest.raises(AssertionError):
            validate_json(record, frame_json_schema())


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (math.nan, None),
        ({"knee": 91.5, "hip": math.nan}, {"knee": 91.5, "hip": None}),
        (np.float32(2.5), 2.5),
        (np.array([1.0, np.inf]), [1.0, None]),
        (Phase.RETURNING, "returning"),
        (
            ClassVotes({"tree": 7.0, "dog": 3.0}, k=10),
            {"votes": {"tree": 7.0, "dog": 3.0}, "k": 10, "label": "tree"},
        ),
        (
            RepCount(1, Phase.REST, 170.0, (), Rep(1, 0.0, 1.0, 2.0, 85.0, 0, 25, 50)),
            {
                "count": 1,
                "phase": "rest",
                "value": 170.0,
                "new_rep": {
                    "number": 1, "start": 0.0, "bottom": 1.0, "end": 2.0, "depth": 85.0,
                    "duration": 2.0, "start_index": 0, "bottom_index": 25, "end_index": 50,
                },
            },
        ),
    ],
    ids=["none", "nan", "angles", "np-scalar", "array", "enum", "votes", "repcount"],
)  # fmt: skip
def test_result_to_json(value: Any, expected: Any) -> None:
    assert result_to_json(value) == expected
    json.dumps(result_to_json(value), allow_nan=False)


def test_read_jsonl_names_the_bad_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(frame_record(OfflineFrame(None, 0.0, 0))) + "\nnot json\n")
    with pytest.raises(InputError, match=r"bad.jsonl:2: not JSON"):
        list(read_jsonl(bad))


# ----------------------------------------------------------------------------- CSV
@pytest.mark.parametrize(
    ("options", "extra"),
    [
        ({}, []),
        ({"angles": ["knee", "hip"]}, ["angle_knee", "angle_hip"]),
        ({"counters": ["squats"]}, ["squats_count", "squats_phase"]),
        ({"world": True}, [f"{k}_world_{a}" for k in KEYPOINT_NAMES for a in "xyz"]),
    ],
    ids=["plain", "angles", "counter", "world"],
)
def test_csv_columns_and_rows(tmp_path: Path, options: dict[str, Any], extra: list[str]) -> None:
    out = tmp_path / "poses.csv"
    frames = _frames()
    with CsvSink(out, **options) as sink:
        for f in frames:
            sink.write(f)
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    fields = ("x", "y", "z", "visibility", "presence")
    base = ["frame", "timestamp", "state", "score"] + [
        f"{k}_{f}" for k in KEYPOINT_NAMES for f in fields
    ]
    assert header == base + extra == CsvSink.header(**options)
    assert len(header) == len(set(header))
    assert [len(r) for r in rows[1:]] == [len(header)] * 3
    first = dict(zip(header, rows[1], strict=True))
    pose = frames[0].pose
    assert first["frame"] == "0" and first["state"] == "tracking"
    assert float(first["left_knee_x"]) == pytest.approx(pose.xy[25, 0], rel=1e-6)
    assert float(first["right_ankle_visibility"]) == pytest.approx(pose.visibility[28], rel=1e-6)
    lost = dict(zip(header, rows[2], strict=True))
    assert lost["state"] == "lost" and lost["score"] == "" and lost["nose_x"] == ""
    if "angles" in options:
        assert float(first["angle_knee"]) == pytest.approx(
            frames[0].results["angles"]["knee"], rel=1e-6
        )
    if "counters" in options:
        assert (first["squats_count"], first["squats_phase"]) == ("0", "unknown")
    if options.get("world"):
        third = dict(zip(header, rows[3], strict=True))
        assert third["nose_world_x"] == ""  # that pose has no world landmarks
        assert float(first["nose_world_z"]) == pytest.approx(pose.world[0, 2], rel=1e-6)


# ----------------------------------------------------------------------------- video
def test_video_sink_writes_every_frame(tmp_path: Path) -> None:
    out = tmp_path / "clip.mp4"
    with VideoSink(out, fps=25) as sink:
        for i in range(12):
            sink.write_image(np.full((96, 128, 3), i * 20, np.uint8))
    cap = cv2.VideoCapture(str(out))
    count = 0
    while cap.read()[0]:
        count += 1
    size = (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    assert (count, size) == (12, (128.0, 96.0))


def test_video_sink_refuses_a_size_change_and_frames_without_images(tmp_path: Path) -> None:
    sink = VideoSink(tmp_path / "a.avi", fps=10)
    sink.write_image(np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(InputError, match="differs"):
        sink.write_image(np.zeros((48, 32, 3), np.uint8))
    with pytest.raises(InputError, match="carry their image"):
        sink.write(OfflineFrame(None, 0.0, 0))
    sink.close()


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: check_writable(d / "missing" / "x.csv", "--csv"), "does not exist"),
        (lambda d: check_writable(d, "--csv"), "it is a folder"),
        (lambda d: check_writable(d / "file.txt" / "x.csv", "--csv"), "does not exist"),
        (lambda d: VideoSink(d / "x.gif"), "unknown extension"),
        (lambda d: CsvSink(d / "nowhere" / "p.csv"), "cannot write --csv"),
        (lambda d: JsonlSink(d / "nowhere" / "p.jsonl"), "cannot write --jsonl"),
    ],
    ids=["no-folder", "is-folder", "parent-is-file", "video-ext", "csv", "jsonl"],
)
def test_unwritable_outputs_fail_early(tmp_path: Path, make: Any, match: str) -> None:
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match=match):
        make(tmp_path)
    assert check_writable(tmp_path / "fine.csv") == tmp_path / "fine.csv"
