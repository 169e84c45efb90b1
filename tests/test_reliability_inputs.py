"""Issue #14, what comes in: frames, camera indices, threads, timestamps and user files.

Cases that crashed the interpreter on the old code (a huge frame in ``cv2.warpAffine``, a
negative index in ``cv2.VideoCapture``) run in a child process with a memory limit, so a
regression fails one test instead of killing the run.
"""

from __future__ import annotations

import json
import logging
import math
import resource
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import fake_tracker

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.classifier import PoseClassifier
from posekit.errors import InputError, PosekitError, SourceError, TimestampError
from posekit.eval import load_targets
from posekit.image import MAX_PIXELS
from posekit.inference import check_num_threads, default_num_threads, max_num_threads
from posekit.results import TrackingState
from posekit.sinks import frame_record, read_jsonl
from posekit.source import open_source


# ----------------------------------------------------------------------------- helpers
def run_child(code: str, *, memory_gb: float = 6.0, timeout: float = 120.0) -> str:
    """Run ``code`` in a fresh interpreter under an address-space limit; its stdout. A crash
    (signal) or a non-zero exit fails the test with what the child said."""

    def limit() -> None:  # pragma: no cover - runs in the child
        size = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))

    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )
    assert proc.returncode == 0, (
        f"child exited {proc.returncode} (negative: killed by that signal): "
        f"{(proc.stdout + proc.stderr)[-600:]}"
    )
    return proc.stdout.strip()


_CATCH = """
try:
    {call}
    print("OK")
except BaseException as exc:
    from posekit.errors import PosekitError
    kind = "posekit" if isinstance(exc, PosekitError) else "other"
    print(kind, type(exc).__name__, str(exc).replace("\\n", " ")[:300])
"""


def child_outcome(setup: str, call: str, **kw: Any) -> str:
    return run_child(setup + _CATCH.format(call=call), **kw)


FRAME = np.zeros((480, 640, 3), np.uint8)
_TESTS = str(Path(__file__).resolve().parent)
FAKES = (
    f"import numpy as np, sys; sys.path.insert(0, {_TESTS!r}); "
    "from conftest import fake_tracker; t, _, _ = fake_tracker(mode='image')\n"
)


# ----------------------------------------------------------------------------- 3 huge frames
# 3 * H * W bytes must stay <= 2**31 - 1: measured, 26755 x 26755 (2**31 + 6427 bytes)
# segfaults in cv2.warpAffine once a crop reaches the last rows; 21846 x 32767 (2**31 - 2) works.
@pytest.mark.parametrize(
    ("shape", "dtype", "refused"),
    [
        ((26754, 26754, 3), np.uint8, False),  # 2**31 - 963,100 bytes
        ((21846, 32767, 3), np.uint8, False),  # 2**31 - 2 bytes, wide
        ((32767, 21846, 3), np.uint8, False),  # tall
        ((26755, 26755, 3), np.uint8, True),  # 2**31 + 6427 bytes
        ((27000, 27000, 3), np.uint8, True),  # the frame
        ((21847, 32767, 3), np.uint8, True),  # one row over, both sides <= MAX_SIDE
        ((32767, 21847), np.uint8, True),  # grayscale: 3 channels after conversion
        ((26755, 26755, 1), np.uint8, True),
        ((26755, 26755, 4), np.uint8, True),  # BGRA: alpha dropped, still too many pixels
        ((26755, 26755), np.float16, True),  # floats are converted to uint8 first
        ((40000, 100, 3), np.uint8, True),  # a side past MAX_SIDE (as before)
    ],
)  # fmt: skip
def test_frame_size_limit(shape: tuple[int, ...], dtype: Any, refused: bool) -> None:
    """Checked in a child: on the old code the refused ones crash or allocate gigabytes."""
    setup = "import numpy as np\nfrom posekit.image import as_frame\n"
    call = f"f = as_frame(np.zeros({shape!r}, np.{np.dtype(dtype).name}))"
    out = child_outcome(setup, call, memory_gb=8.0)
    if refused:
        assert out.startswith("posekit InputError"), out
        assert f"{MAX_PIXELS:,} pixels" in out and "2,147,483,647 bytes" in out, out
    else:
        assert out == "OK"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("t.process(np.zeros((27000, 27000, 3), np.uint8))", "posekit InputError"),
        # a crop in the last rows of a 26760 x 26760 frame segfaulted on the old code
        (
            "t.process(np.zeros((26760, 26760, 3), np.uint8), roi=(26460, 26460, 290, 290))",
            "posekit InputError",
        ),
        ("t.process(np.zeros((4000, 6000, 3), np.uint8)).state.value", "OK"),
    ],
    ids=["issue-27000", "26760-bottom-right-crop", "normal"],
)
def test_huge_frame_in_tracker_child(call: str, expected: str) -> None:
    assert child_outcome(FAKES, call, memory_gb=8.0).startswith(expected)


# ----------------------------------------------------------------------------- 4 camera index
@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("-1", "posekit SourceError camera index -1 is out of range"),  # segfaulted
        ("-2", "posekit SourceError camera index -2 is out of range"),
        ("np.int64(-1)", "posekit SourceError camera index -1 is out of range"),
        ("100", "posekit SourceError camera index 100 is out of range"),  # a backend id
        ("2**31", "posekit SourceError camera index 2147483648 is out of range"),  # cv2.error
        ("10**20", "posekit SourceError camera index 100000000000000000000 is out of range"),
        ("True", "posekit SourceError True is not a video source"),
        ("np.bool_(False)", "posekit SourceError np.False_ is not a video source"),
    ],
)  # fmt: skip
def test_camera_index_child(source: str, expected: str) -> None:
    out = child_outcome(FAKES, f"next(t.stream({source}))")
    assert out.startswith(expected), out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: open_source(-1), "out of range"),
        (lambda: open_source(np.int32(-5)), "out of range"),
        (lambda: open_source(1000), "out of range"),
    ],
)
def test_camera_index_refused_before_opencv(make: Any, expected: str) -> None:
    with pytest.raises(SourceError, match=expected):
        make()


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("-1", "camera index -1 is out of range"),
        ("99999999999999999999", "is out of range"),
        ("²", "does not exist"),  # isdigit() but not int(): a path, not a traceback
    ],
)
def test_cli_camera_index(arg: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "posekit", "run", arg, "--no-progress"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr[-300:]
    assert "Traceback" not in proc.stderr
    assert expected in proc.stderr.strip().splitlines()[-1]


# ----------------------------------------------------------------------------- 5 threads
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, None),
        (max_num_threads(), None),
        (max_num_threads() + 1, "more threads than this machine can use"),
        (1_000_000, "more threads than this machine can use"),
        (0, "positive integer"),
        (-3, "positive integer"),
        (True, "positive integer"),
        (2.0, "positive integer"),
        ("2", "positive integer"),
    ],
)  # fmt: skip
def test_thread_count_bounds(value: Any, expected: str | None) -> None:
    if expected is None:
        assert check_num_threads(value) == value
        fake_tracker(num_threads=value)
        return
    with pytest.raises(InputError, match=expected):
        check_num_threads(value)
    # checked by the tracker before any model is loaded or any session sees it
    with pytest.raises(InputError, match=expected):
        fake_tracker(num_threads=value)


@pytest.mark.parametrize(
    ("env", "expected"),
    [("1", None), ("1000000", "POSEKIT_NUM_THREADS=1000000 is more threads"), ("x", "not an int")],
)
def test_thread_env_bounds(monkeypatch: pytest.MonkeyPatch, env: str, expected: str | None) -> None:
    monkeypatch.setenv("POSEKIT_NUM_THREADS", env)
    if expected is None:
        assert default_num_threads() == 1
    else:
        with pytest.raises(InputError, match=expected):
            default_num_threads()


@pytest.mark.parametrize(
    ("threads", "expected"),
    [("1000000", "at most"), ("0", "must be >= 1"), ("x", "expected a whole number")],
)
def test_cli_threads_refused_at_parsing(threads: str, expected: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "posekit", "run", "nothing.mp4", "--threads", threads],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "argument --threads" in proc.stderr and expected in proc.stderr, proc.stderr


# ----------------------------------------------------------------------------- 6 file bombs
def _npz_member(zf: zipfile.ZipFile, name: str, header: dict[str, Any], body: bytes) -> None:
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    zf.writestr(name + ".npy", buf.getvalue() + body)


def _classifier(tmp: Path, name: str = "clf.npz") -> Path:
    lm = np.random.default_rng(0).normal(size=(4, 33, 3)).astype(np.float32)
    return PoseClassifier(lm, ["a", "a", "b", "b"], top_n_by_max_distance=2).save(tmp / name)


def _declared_bomb(tmp: Path) -> Path:
    """A classifier whose landmarks header declares (10**9, 33, 3) float32: 369 GiB."""
    good = _classifier(tmp)
    out = tmp / "declared.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != "landmarks.npy":
                dst.writestr(info, src.read(info))
        header = {"descr": "<f4", "fortran_order": False, "shape": (10**9, 33, 3)}
        _npz_member(dst, "landmarks", header, b"\0" * 1024)
    return out


def _zip_bomb(tmp: Path, size: int) -> Path:
    """A classifier whose landmarks really decompress to ``size`` bytes of zeros."""
    good = _classifier(tmp)
    out = tmp / "bomb.npz"
    n = size // (33 * 3 * 4)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename not in ("landmarks.npy", "labels.npy", "names.npy"):
                dst.writestr(info, src.read(info))
        header = {"descr": "<f4", "fortran_order": False, "shape": (n, 33, 3)}
        _npz_member(dst, "landmarks", header, bytes(n * 33 * 3 * 4))
        _npz_member(dst, "labels", {"descr": "<U1", "fortran_order": False, "shape": (n,)},
                    "a".encode("utf-32-le") * n)  # fmt: skip
    return out


def _huge_json(tmp: Path) -> Path:
    out = tmp / "big.json"
    with out.open("wb") as f:
        f.truncate(512 * 2**20 + 1)  # sparse: no disk space used
    return out


def _deep_json(tmp: Path, name: str) -> Path:
    out = tmp / name
    out.write_text("[" * 200_000 + "]" * 200_000)
    return out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (_declared_bomb, r"declares shape \(1000000000, 33, 3\) of float32"),
        (lambda tmp: _deep_json(tmp, "deep.json"), "nested too deeply"),
        (_huge_json, "more than a classifier file may be"),
        (lambda tmp: (tmp / "nan.json").write_text('{"format": NaN}') and tmp / "nan.json",
         "not valid JSON"),
        (lambda tmp: (tmp / "bin.json").write_bytes(b"\xff\xfe{}") and tmp / "bin.json",
         "not UTF-8"),
        (lambda tmp: (tmp / "z.npz").write_bytes(b"PK\x03\x04garbage") and tmp / "z.npz",
         "not a readable .npz"),
    ],
    ids=["declared-369GiB", "deep-json", "huge-json", "nan-json", "invalid-utf8", "damaged-zip"],
)  # fmt: skip
def test_classifier_file_bombs(tmp_path: Path, make: Any, expected: str) -> None:
    path = make(tmp_path)
    with pytest.raises(InputError, match=expected):
        PoseClassifier.load(path)


def test_classifier_zip_bomb_refused_before_decompressing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The declared sizes are checked against the budget (lowered here to keep the test small:
    the attack script runs the multi-GB bomb under a memory limit)."""
    import posekit.analyzers.classifier.fileformat as fileformat

    monkeypatch.setattr(fileformat, "MAX_FILE_BYTES", 2**20)
    bomb = _zip_bomb(tmp_path, 4 * 2**20)
    assert bomb.stat().st_size < 64 * 2**10  # 4 MiB of zeros deflate to a few kB
    with pytest.raises(InputError, match="would decompress to"):
        PoseClassifier.load(bomb)
    assert len(PoseClassifier.load(_classifier(tmp_path, "ok.npz"))) == 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 200_000, "nested too deeply"),
        ('{"images": [], "annotations": [], "x": NaN}', "not valid JSON"),
        (b"\xff{}", "not UTF-8"),
    ],
    ids=["deep", "nan", "invalid-utf8"],
)
def test_coco_file_bombs(tmp_path: Path, text: str | bytes, expected: str) -> None:
    path = tmp_path / "ann.json"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(InputError, match=expected):
        load_targets(path)


def test_cli_eval_deep_coco(tmp_path: Path) -> None:
    coco = _deep_json(tmp_path, "deep_coco.json")
    proc = subprocess.run(
        [sys.executable, "-m", "posekit", "eval", "--coco", str(coco), "--images", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-400:]
    assert "nested too deeply" in proc.stderr


# ----------------------------------------------------------------------------- 7 frame size
def test_frame_size_change_resets_tracking(caplog: pytest.LogCaptureFixture) -> None:
    t, det, _ = fake_tracker()
    states = [t.process(FRAME, i / 30).state for i in range(3)]
    assert states == [TrackingState.DETECTED, TrackingState.TRACKING, TrackingState.TRACKING]
    small = np.zeros((240, 320, 3), np.uint8)
    with caplog.at_level(logging.INFO, logger="posekit.tracker"):
        r = t.process(small, 0.1)
    assert r.state is TrackingState.DETECTED and det.calls == 2
    assert "frame size changed from 640x480 to 320x240" in caplog.text
    assert r.pose is not None and r.roi is not None
    assert 0 <= r.roi.center_x <= 320 and 0 <= r.roi.center_y <= 240
    assert t.process(small, 0.2).state is TrackingState.TRACKING  # and tracks the new size
    # a transposed frame (same pixel count) is another size too
    assert t.process(np.zeros((320, 240, 3), np.uint8), 0.3).state is TrackingState.DETECTED


@pytest.mark.parametrize(
    ("sizes", "detector_calls"),
    [
        ([(480, 640)] * 4, 1),
        ([(480, 640), (480, 640), (720, 1280), (720, 1280)], 2),
        ([(480, 640), (720, 1280), (480, 640), (720, 1280)], 4),
        ([(480, 640), (480, 641), (480, 641)], 2),
    ],
)
def test_frame_size_changes_in_a_stream(sizes: list[tuple[int, int]], detector_calls: int) -> None:
    t, det, _ = fake_tracker()
    frames = [(np.zeros((*s, 3), np.uint8), i / 30) for i, s in enumerate(sizes)]
    results = list(t.stream(frames))
    assert det.calls == detector_calls
    for r, (h, w) in zip(results, sizes, strict=True):
        assert r.pose is not None and r.pose.image_size == (w, h)


# ----------------------------------------------------------------------------- 8 timestamps
@pytest.mark.parametrize(
    ("first", "second", "accepted"),
    [
        (1e10, 1e10, False),  # the issue: ulp(1e10) = 1.9 µs made equal ones pass
        (1.7e15, 1.7e15, False),  # epoch microseconds given as seconds
        (2.0**33, 2.0**33, False),
        (9.1e15, 9.1e15, False),  # past 2**53: the ulp is 2 s
        (1.7e9, 1.7e9, False),  # epoch seconds (time.time())
        (1.7e9, 1.7e9 + 1e-6, True),
        (0.1, 0.1 + 1e-6, True),  # previous + 1e-6 in float always passes
        (4e9, 4e9 + 1e-6, True),
        (1e10, 1e10 + 1e-6, True),  # rounds to the next float, 1.9 µs later
        (1e10, math.nextafter(1e10, math.inf), True),
        (1.7e15, 1.7e15 + 1.0, True),
        (0.1, 0.1 + 0.4e-6, False),  # less than half a step
        (5.0, 4.0, False),
    ],
)  # fmt: skip
def test_equal_timestamps_refused_at_any_magnitude(
    first: float, second: float, accepted: bool
) -> None:
    t, _, _ = fake_tracker()
    t.process(FRAME, first)
    if accepted:
        assert t.process(FRAME, second).timestamp == second
        return
    with pytest.raises(TimestampError, match="not later than the previous"):
        t.process(FRAME, second)
    assert t.frames_processed == 1  # nothing changed


def test_large_timestamp_message_names_the_resolution() -> None:
    t, _, _ = fake_tracker()
    t.process(FRAME, 1.7e15)
    with pytest.raises(TimestampError, match=r"resolution 0\.25 s\): pass seconds"):
        t.process(FRAME, 1.7e15)


# ----------------------------------------------------------------------------- 9 read_jsonl
def _record(**changes: Any) -> dict[str, Any]:
    rec = frame_record(OfflineFrame(None, 0.5, 3))
    for k, v in changes.items():
        if v is _DROP:
            rec.pop(k)
        else:
            rec[k] = v
    return rec


_DROP = object()
_ROI = {"center_x": 1.0, "center_y": 2.0, "width": 3.0, "height": 4.0, "rotation": 0.0}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (_record(), None),
        (_record(roi=_ROI), None),
        (_record(results={"angles": {"knee": 1.0}}), None),
        (_record(schema_version=999), "schema_version 999 was written by a newer posekit"),
        (_record(schema_version=_DROP), "no 'schema_version'"),
        (_record(schema_version="1"), "schema_version '1' is unknown"),
        (_record(schema_version=True), "schema_version True is unknown"),
        (_record(frame="abc"), "'frame' must be an integer >= 0, got 'abc'"),
        (_record(frame=-1), "'frame' must be an integer"),
        (_record(frame=1.5), "'frame' must be an integer"),
        (_record(frame=_DROP), "missing frame"),
        (_record(state="bogus"), "'state' must be one of detected, tracking, lost"),
        (_record(timestamp="0.5"), "'timestamp' must be a finite number"),
        (_record(timestamp=None), "'timestamp' must be a finite number"),
        (_record(pose=_DROP), "missing pose"),
        (_record(pose=[1, 2]), "'pose' must be an object or null"),
        (_record(pose={"score": 2.0}), "pose"),
        (_record(roi="garbage"), "'roi' must be null or an object"),
        (_record(roi={**_ROI, "width": 0.0}), "width and height must be > 0"),
        (_record(roi={**_ROI, "extra": 1}), "'roi' must be null or an object"),
        (_record(roi={**_ROI, "center_x": "1"}), "'roi' values must be finite numbers"),
        (_record(results=[1]), "'results' must be an object"),
        (_record(extra=1), "unknown field"),
        ('[1, 2]', "a frame record is a JSON object"),
        (json.dumps(_record()).replace("0.5", "NaN"), "not JSON"),
        ("[" * 200_000, "nested too deeply"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)  # fmt: skip
def test_read_jsonl_validates_the_schema(
    tmp_path: Path, line: dict[str, Any] | str | bytes, expected: str | None
) -> None:
    good = json.dumps(_record()).encode()
    if isinstance(line, dict):
        line = json.dumps(line)
    body = line if isinstance(line, bytes) else line.encode()
    path = tmp_path / "poses.jsonl"
    path.write_bytes(good + b"\n" + body + b"\n")
    if expected is None:
        assert len(list(read_jsonl(path))) == 2
        return
    with pytest.raises(InputError, match=r"poses\.jsonl:2: ") as info:
        list(read_jsonl(path))
    assert expected in str(info.value)


def test_read_jsonl_line_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import posekit.sinks as sinks

    monkeypatch.setattr(sinks, "MAX_JSONL_LINE", 1000, raising=False)
    path = tmp_path / "one_line.jsonl"
    path.write_text(json.dumps(_record()) + "\n" + " " * 5000 + "{}\n")
    with pytest.raises(InputError, match=r"one_line\.jsonl:2: line longer than 1,000 bytes"):
        list(read_jsonl(path))


# ----------------------------------------------------------------------------- 10 errors
@pytest.mark.parametrize(
    ("source", "kwargs", "error", "expected"),
    [
        ([(FRAME, "abc")], {}, TimestampError, "timestamp 'abc' \\(str\\) is not a number"),
        ([(FRAME, None)], {}, TimestampError, "is not a number of seconds"),
        ([(FRAME, [1])], {}, TimestampError, "is not a number of seconds"),
        ([(FRAME, True)], {}, TimestampError, "is not a number of seconds"),
        ([(FRAME, float("nan"))], {}, TimestampError, "not a finite number"),
        ([FRAME], {"fps": "x"}, SourceError, "fps='x' must be a positive number"),
        ([FRAME], {"fps": True}, SourceError, "must be a positive number"),
        ([FRAME], {"fps": float("inf")}, SourceError, "must be a positive number"),
        ("clip.mp4", {"fps": "x"}, SourceError, "fps='x' must be a positive number"),
    ],
)  # fmt: skip
def test_stream_inputs_raise_posekit_errors(
    source: Any, kwargs: dict[str, Any], error: type[PosekitError], expected: str
) -> None:
    t, _, _ = fake_tracker()
    with pytest.raises(error, match=expected):
        list(t.stream(source, **kwargs))


def _doc(tmp: Path, mutate: Any) -> Path:
    doc = PoseClassifier.load(_classifier(tmp)).to_dict()
    mutate(doc)
    out = tmp / "clf.json"
    out.write_text(json.dumps(doc))
    return out


def _npz(tmp: Path, **replace: Any) -> Path:
    good = _classifier(tmp)
    with np.load(good) as data:
        arrays = {k: data[k] for k in data.files}
    arrays.update(replace)
    out = tmp / "changed.npz"
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda t: _doc(t, lambda d: d["params"].update(axis_weights="abc")), "axis_weights"),
        (lambda t: _doc(t, lambda d: d["params"].update(axis_weights=5)), "axis_weights"),
        (lambda t: _doc(t, lambda d: d["params"].update(axis_weights=[1, "x", 2])),
         "axis_weights"),
        (lambda t: _doc(t, lambda d: d["params"].update(top_n_by_max_distance="5")),
         "positive int"),
        (lambda t: _doc(t, lambda d: d["samples"][0].update(label={"a": 1})), "string 'label'"),
        (lambda t: _doc(t, lambda d: d["samples"][0].update(label=None)), "string 'label'"),
        (lambda t: _doc(t, lambda d: d["samples"][1].update(name=7)), "'name' must be a string"),
        (lambda t: _doc(t, lambda d: d["samples"][0].update(landmarks="x")), "landmarks"),
        (lambda t: _doc(t, lambda d: d.update(samples=[1, 2])), "string 'label'"),
        (lambda t: _npz(t, landmarks=np.array(["x"] * 4)), "'landmarks' must be a numeric"),
        (lambda t: _npz(t, axis_weights=np.array(["a", "b", "c"])), "'axis_weights' must be"),
        (lambda t: _npz(t, axis_weights=np.ones(4)), "'axis_weights' must hold 3 numbers"),
        (lambda t: _npz(t, labels=np.array([["a", "b"]] * 2)), "must be 1-D"),
    ],
)  # fmt: skip
def test_classifier_wrong_field_types(tmp_path: Path, make: Any, expected: str) -> None:
    with pytest.raises(InputError, match=expected):
        PoseClassifier.load(make(tmp_path))
