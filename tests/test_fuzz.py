"""Fuzzing (hypothesis): Tracker.process with arbitrary arrays and timestamps, and the model
loader / converter with corrupted files. The only outcomes allowed are a result or a posekit
exception with a clear message; a refused call must leave no trace in the tracker (checked bit
for bit against a twin tracker that never saw the bad calls). Budget: well under a minute."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from posekit.errors import ConversionError, ModelError, PosekitError
from posekit.results import FrameResult
from posekit.tracker import Tracker

SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=False,
)
CALL_LIMIT_S = 5.0  # one process() call on a small frame takes ~10 ms; more means a hang


@pytest.fixture(scope="module")
def sessions(models_src: Path) -> tuple[Any, Any]:
    from posekit.models import install, load_session

    install(["pose_detection", "pose_landmark_lite"], source=models_src, progress=False)
    return (
        load_session("pose_detection", num_threads=1),
        load_session("pose_landmark_lite", num_threads=1),
    )


@pytest.fixture(scope="module")
def good_frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(SQUAT))
    frames = []
    for _ in range(4):
        ok, f = cap.read()
        assert ok
        frames.append(np.ascontiguousarray(cv2.resize(f, (256, 144))))
    cap.release()
    return frames


# ----------------------------------------------------------------------------- strategies
DTYPES = [
    np.uint8,
    np.int8,
    np.int16,
    np.uint16,
    np.int64,
    np.float16,
    np.float32,
    np.float64,
    np.bool_,
    np.complex64,
]


@st.composite
def junk_arrays(draw: st.DrawFn) -> Any:
    kind = draw(st.sampled_from(["image", "any-shape", "object", "not-array"]))
    if kind == "not-array":
        return draw(
            st.one_of(
                st.none(),
                st.integers(),
                st.text(max_size=5),
                st.lists(st.integers(0, 255), max_size=4),
                st.just([[[0, 0, 0]]]),
            )
        )
    if kind == "object":
        shape = draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=4))
        return np.full(shape, draw(st.sampled_from([None, 1, "x", 0.5])), dtype=object)
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if kind == "image":
        h, w = draw(st.integers(0, 40)), draw(st.integers(0, 40))
        shape: tuple[int, ...] = (h, w, draw(st.sampled_from([1, 2, 3, 4, 5])))
        if draw(st.booleans()):
            shape = shape[:2]
    else:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))
    if dtype.kind == "f":
        elements = st.one_of(
            st.floats(0.0, 1.0, width=16),
            st.floats(allow_nan=True, allow_infinity=True, width=16),
        )
    else:
        elements = None
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    if arr.ndim >= 2 and draw(st.booleans()):
        arr = arr[:, ::-1] if draw(st.booleans()) else np.swapaxes(arr, 0, 1)
    if draw(st.booleans()):
        arr.setflags(write=False)
    return arr


JUNK_TIMESTAMPS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**1100), 2**1100),
    st.sampled_from(["1.0", b"1", [1.0], np.array([1.0, 2.0]), True, complex(1, 1), object()]),
    st.just(np.float32("nan")),
)


@st.composite
def calls(draw: st.DrawFn, mode: str) -> list[tuple[str, Any, Any, str]]:
    """A sequence of process() calls: ('good', frame index, timestamp, color) or
    ('junk', array, timestamp, color). Good calls get increasing timestamps."""
    out: list[tuple[str, Any, Any, str]] = []
    ts = draw(st.floats(-1e6, 1e6))
    for _ in range(draw(st.integers(2, 6))):
        ts += draw(st.floats(1e-3, 10.0))
        color = draw(st.sampled_from(["bgr", "rgb", "RGB", "hsv", 3]))
        choice = draw(st.sampled_from(["good", "junk-image", "junk-ts", "old-ts"]))
        if choice == "good":
            out.append(("good", draw(st.integers(0, 3)), ts, draw(st.sampled_from(["bgr", "rgb"]))))
        elif choice == "junk-image":
            out.append(("junk", draw(junk_arrays()), ts, color))
        elif choice == "junk-ts":
            out.append(("good", draw(st.integers(0, 3)), draw(JUNK_TIMESTAMPS), color))
        else:  # a timestamp not after the previous good one (video mode refuses it)
            out.append(("good", draw(st.integers(0, 3)), ts - draw(st.floats(0.0, 20.0)), color))
    return out


# ----------------------------------------------------------------------------- helpers
def fingerprint(r: FrameResult) -> tuple[Any, ...]:
    pose = r.pose
    if pose is None:
        return (r.state, r.index, r.roi, None)
    arrays = (pose.xy, pose.z, pose.visibility, pose.presence, pose.world)
    for a in arrays:
        assert a is not None and np.all(np.isfinite(a))
    assert np.all((pose.visibility >= 0) & (pose.visibility <= 1))
    return (r.state, r.index, r.roi, b"".join(a.tobytes() for a in arrays if a is not None))


def check_message(exc: PosekitError) -> None:
    message = str(exc)
    assert len(message) > 30, f"unclear message: {message!r}"
    assert "posekit bug" not in message, f"the safety net caught a real bug: {message}"


def outcome(tracker: Tracker, image: np.ndarray, ts: float) -> tuple[Any, ...]:
    """What ``tracker.process(image, ts)`` does: its result's fingerprint or the error type."""
    try:
        return fingerprint(tracker.process(image, ts))
    except PosekitError as exc:
        return (type(exc),)


def timed(fn: Any, *args: Any) -> Any:
    start = time.perf_counter()
    try:
        return fn(*args)
    finally:
        assert time.perf_counter() - start < CALL_LIMIT_S, "process() took too long (hang?)"


# ----------------------------------------------------------------------------- process()
@pytest.mark.parametrize("mode", ["video", "image"])
def test_process_refuses_junk_cleanly_and_leaves_no_trace(
    sessions: tuple[Any, Any], good_frames: list[np.ndarray], mode: str
) -> None:
    outcomes = {"accepted": 0, "refused": 0}

    @FUZZ
    @given(seq=calls(mode))
    def run(seq: list[tuple[str, Any, Any, str]]) -> None:
        fuzzed = Tracker(mode=mode, detector_session=sessions[0], landmark_session=sessions[1])
        twin = Tracker(mode=mode, detector_session=sessions[0], landmark_session=sessions[1])
        last_ts: float | None = None
        for kind, payload, ts, color in seq:
            image = good_frames[payload] if kind == "good" else payload
            try:
                got = timed(fuzzed.process, image, ts, color)
            except PosekitError as exc:
                check_message(exc)
                outcomes["refused"] += 1
                continue
            outcomes["accepted"] += 1
            # accepted: the twin, which never saw the refused calls, must agree bit for bit
            assert isinstance(got, FrameResult)
            want = twin.process(image, ts, color)
            assert fingerprint(got) == fingerprint(want)
            assert got.timestamp == want.timestamp and math.isfinite(got.timestamp)
            last_ts = got.timestamp
        # and a good frame afterwards is still tracked identically
        assert fuzzed.frames_processed == twin.frames_processed
        if last_ts is not None:  # the last accepted time is the same for both (no trace)
            assert outcome(fuzzed, good_frames[0], last_ts) == outcome(
                twin, good_frames[0], last_ts
            )
        base = last_ts if last_ts is not None else 0.0
        final_ts = base + max(1.0, abs(base) * 1e-9)
        if not math.isfinite(final_ts):
            fuzzed.reset()
            twin.reset()
            final_ts = 0.0
        a = fuzzed.process(good_frames[0], final_ts)
        b = twin.process(good_frames[0], final_ts)
        assert fingerprint(a) == fingerprint(b)

    run()
    assert outcomes["accepted"] > 0 and outcomes["refused"] > 0, outcomes


@FUZZ
@given(image=junk_arrays())
def test_as_frame_only_raises_input_error(image: Any) -> None:
    """The validation layer alone, with many more shapes than the tracker test can afford."""
    from posekit.errors import InputError
    from posekit.image import as_frame

    try:
        frame = as_frame(image)
    except InputError as exc:
        check_message(exc)
        return
    assert frame.pixels.dtype == np.uint8 and frame.pixels.ndim == 3
    assert frame.pixels.shape[2] == 3 and frame.pixels.flags.c_contiguous


@pytest.mark.parametrize(
    "shape", [(40000, 2, 3), (2, 40000), (1, 33000, 4)], ids=["tall", "wide-gray", "wide-bgra"]
)
def test_frames_beyond_opencv_warp_limits_are_refused(
    sessions: tuple[Any, Any], shape: tuple[int, ...]
) -> None:
    from posekit.errors import InputError

    t = Tracker(mode="image", detector_session=sessions[0], landmark_session=sessions[1])
    with pytest.raises(InputError, match="at most 32767"):
        t.process(np.zeros(shape, np.uint8))


@pytest.mark.parametrize(
    ("first", "second"),
    [(0.0, 5e-324), (1.0, 1.0 + 5e-7), (-1.0, -1.0), (1e9, 1e9 + 2e-7)],
)
def test_sub_microsecond_timestamp_steps_are_refused(
    sessions: tuple[Any, Any], good_frames: list[np.ndarray], first: float, second: float
) -> None:
    """A gap of a denormal number of seconds would turn the One Euro filter's derivative into
    inf/NaN; the tracker refuses gaps under 1 µs (MediaPipe's unit) before any state changes."""
    from posekit.errors import TimestampError

    t = Tracker(detector_session=sessions[0], landmark_session=sessions[1])
    t.process(good_frames[0], first)
    with pytest.raises(TimestampError, match="at least 1 µs"):
        t.process(good_frames[1], second)
    r = t.process(good_frames[1], first + 1e-6)  # exactly one microsecond later is fine
    assert r.pose is not None and np.all(np.isfinite(r.pose.xy))


# ----------------------------------------------------------------------------- model files
@st.composite
def damage(draw: st.DrawFn, size: int) -> list[tuple[str, int, int]]:
    ops = []
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "flip", "truncate", "zero-run", "insert"]))
        pos = draw(st.integers(0, size - 1))
        ops.append((op, pos, draw(st.integers(1, 255))))
    return ops


def apply(data: bytes, ops: list[tuple[str, int, int]]) -> bytes:
    buf = bytearray(data)
    for op, pos, arg in ops:
        pos = min(pos, max(len(buf) - 1, 0))
        if op == "flip" and buf:
            buf[pos] ^= arg
        elif op == "truncate":
            del buf[pos:]
        elif op == "zero-run":
            buf[pos : pos + arg] = bytes(len(buf[pos : pos + arg]))
        else:
            buf[pos:pos] = bytes([arg]) * arg
    return bytes(buf)


@pytest.fixture(scope="module")
def small_tflite(models_src: Path) -> bytes:
    return (models_src / "face_detection_short_range.tflite").read_bytes()


def test_converter_on_corrupted_tflite_raises_conversion_error_only(small_tflite: bytes) -> None:
    from posekit.convert import convert_tflite

    outcomes = {"converted": 0, "refused": 0}

    @settings(max_examples=30, deadline=None)
    @given(ops=damage(len(small_tflite)))
    def run(ops: list[tuple[str, int, int]]) -> None:
        data = apply(small_tflite, ops)
        start = time.perf_counter()
        try:
            model = convert_tflite(data, model_name="fuzzed")
        except ConversionError as exc:
            check_message(exc)
            outcomes["refused"] += 1
        else:
            assert len(model.graph.node) > 0  # a flip in weights converts fine
            outcomes["converted"] += 1
        assert time.perf_counter() - start < 20.0

    run()
    assert outcomes["refused"] > 0, outcomes


@pytest.fixture(scope="module")
def installed_detector(models_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("fuzz-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSEKIT_HOME", str(home))
        from posekit.models import install

        install(["detector"], source=models_src, progress=False, routes=("local",))
    return home


def test_loader_on_corrupted_onnx_raises_model_error_only(
    installed_detector: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage the installed ONNX in place: loading through the manager gives a session only for
    the intact file, a ModelError (sha256 mismatch, or not installed + no source) otherwise."""
    from posekit.models import load_session
    from posekit.models.runtime import clear_runtime_cache

    path = installed_detector / "models" / "pose_detection.onnx"
    good = path.read_bytes()
    monkeypatch.setenv("POSEKIT_HOME", str(installed_detector))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "local")  # nothing to reinstall from
    monkeypatch.delenv("POSEKIT_MODEL_SOURCE", raising=False)

    @settings(max_examples=25, deadline=None)
    @given(ops=damage(len(good)))
    def run(ops: list[tuple[str, int, int]]) -> None:
        data = apply(good, ops)
        path.write_bytes(data)
        clear_runtime_cache()  # so the runtime copy is derived from the damaged file
        try:
            try:
                load_session("detector", num_threads=1)
            except ModelError as exc:
                check_message(exc)
                assert data != good
            else:
                assert data == good
        finally:
            path.write_bytes(good)

    run()


def test_damaged_runtime_copy_is_rebuilt_never_used(
    installed_detector: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage the optimised runtime copy (posekit.models.runtime): every load still returns a
    session giving the intact model's outputs (the copy is checked and rebuilt), never an error
    and never other numbers."""
    from posekit.models import load_session
    from posekit.models.runtime import runtime_dir

    monkeypatch.setenv("POSEKIT_HOME", str(installed_detector))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "local")
    x = np.random.default_rng(3).random((1, 224, 224, 3), dtype=np.float32)
    want = load_session("detector", num_threads=1).run({"input_1": x})
    path = runtime_dir() / "pose_detection.all.onnx"
    good = path.read_bytes()

    @settings(max_examples=10, deadline=None)
    @given(ops=damage(len(good)))
    def run(ops: list[tuple[str, int, int]]) -> None:
        path.write_bytes(apply(good, ops))
        got = load_session("detector", num_threads=1).run({"input_1": x})
        for key, value in want.items():
            np.testing.assert_array_equal(got[key], value)
        assert path.stat().st_size == len(good)  # rebuilt

    run()


def test_session_on_truncated_onnx_raises_model_error(installed_detector: Path) -> None:
    """Without the manager's checksum: a truncated file still fails cleanly in onnxruntime."""
    from posekit.inference import InferenceSession

    good = (installed_detector / "models" / "pose_detection.onnx").read_bytes()
    for cut in (0, 10, 1000, len(good) // 2, len(good) - 10):
        bad = installed_detector / f"cut{cut}.onnx"
        bad.write_bytes(good[:cut])
        with pytest.raises(ModelError, match="corrupt or not an ONNX model"):
            InferenceSession(bad, num_threads=1)
