"""Faults: truncated videos, a camera that disappears, background decoding life cycle, a model
cache deleted or damaged while running, read-only and full disks. Each has one clear outcome and
leaves nothing corrupt behind. (Source-level and install-level basics live in test_source.py and
test_models.py; these tests go through the Tracker and the model loader.)"""

from __future__ import annotations

import errno
import itertools
import logging
import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA, PEER_DATA

import posekit.models.store as store
from posekit.errors import ModelError, ModelSourceError, PosekitError, SourceError
from posekit.models import install, load_session
from posekit.source import FrameReader, open_source
from posekit.tracker import Tracker

SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"  # 'moov' index before the frames
PEER = PEER_DATA / "squat_rohanx01.mp4"  # 'moov' index after the frames


def decoder_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "posekit-decoder" and t.is_alive()]


def wait_no_decoder(timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while decoder_threads():
        assert time.monotonic() < deadline, "a decoder thread outlived its stream"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def sessions(models_src: Path) -> tuple[Any, Any]:
    install(["pose_detection", "pose_landmark_lite"], source=models_src, progress=False)
    return (
        load_session("pose_detection", num_threads=1),
        load_session("pose_landmark_lite", num_threads=1),
    )


def tracker(sessions: tuple[Any, Any], **kw: Any) -> Tracker:
    return Tracker(detector_session=sessions[0], landmark_session=sessions[1], **kw)


# ----------------------------------------------------------------------------- videos
def truncated_copy(src: Path, dst: Path, fraction: float) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


@pytest.mark.parametrize("prefetch", [0, 2])
def test_video_truncated_mid_file_ends_early_with_a_warning(
    sessions: tuple[Any, Any],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    prefetch: int,
) -> None:
    cut = truncated_copy(SQUAT, tmp_path / "cut.mp4", 0.4)
    with caplog.at_level(logging.WARNING, logger="posekit.source"), tracker(sessions) as t:
        results = list(t.stream(cut, prefetch=prefetch))
    assert 5 < len(results) < 110  # the header says 110 frames
    assert [r.index for r in results] == list(range(len(results)))
    assert sum(r.has_pose for r in results) >= len(results) - 2
    warnings = [r.getMessage() for r in caplog.records if "ended_early" in r.getMessage()]
    assert len(warnings) == 1 and "of 110 frames" in warnings[0]
    wait_no_decoder()


@pytest.mark.parametrize("prefetch", [0, 2])
def test_truncated_video_in_strict_mode_raises_after_the_good_frames(
    sessions: tuple[Any, Any], tmp_path: Path, prefetch: int
) -> None:
    cut = truncated_copy(SQUAT, tmp_path / "cut.mp4", 0.4)
    got = []
    with tracker(sessions) as t, pytest.raises(SourceError, match="of 110 frames"):
        for r in t.stream(cut, strict=True, prefetch=prefetch):
            got.append(r.index)
    assert got == list(range(len(got))) and len(got) > 5
    wait_no_decoder()


def test_truncated_video_without_its_index_cannot_be_opened(
    sessions: tuple[Any, Any], tmp_path: Path
) -> None:
    cut = truncated_copy(PEER, tmp_path / "cut.mp4", 0.5)  # the 'moov' atom is cut off
    with tracker(sessions) as t, pytest.raises(SourceError, match="re-encode"):
        next(t.stream(cut))
    wait_no_decoder()


class VanishingCamera:
    """A live capture (no frame count) that delivers ``n`` frames, then fails: ``mode`` "false"
    (read() returns ok=False, as a pulled USB camera does) or "raise" (read() raises)."""

    def __init__(self, n: int, mode: str = "false", exc: BaseException | None = None) -> None:
        self.n, self.mode, self.exc = n, mode, exc
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return not self.released

    def read(self) -> tuple[bool, Any]:
        if self.reads >= self.n:
            if self.mode == "raise":
                assert self.exc is not None
                raise self.exc
            return False, None
        self.reads += 1
        return True, np.full((48, 64, 3), 100, np.uint8)

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0}.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


@pytest.mark.parametrize("prefetch", [0, 2])
@pytest.mark.parametrize(
    ("mode", "exc", "strict", "expected"),
    [
        ("false", None, False, None),
        ("false", None, True, SourceError),
        ("raise", cv2.error("device lost"), False, SourceError),
        ("raise", OSError(errno.ENODEV, "No such device"), False, SourceError),
        ("raise", RuntimeError("driver bug"), False, RuntimeError),
    ],
    ids=["ends", "ends-strict", "cv2-error", "oserror", "other-error"],
)
def test_camera_that_disappears_mid_stream(
    sessions: tuple[Any, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    mode: str,
    exc: BaseException | None,
    strict: bool,
    expected: type[BaseException] | None,
    prefetch: int,
) -> None:
    cam = VanishingCamera(6, mode, exc)
    monkeypatch.setattr("posekit.source.cv2.VideoCapture", lambda *a: cam)
    got: list[int] = []
    with caplog.at_level(logging.WARNING, logger="posekit.source"), tracker(sessions) as t:
        stream = t.stream(0, strict=strict, prefetch=prefetch)
        if expected is None:
            got = [r.index for r in stream]
            assert any("camera 0 stopped" in r.getMessage() for r in caplog.records)
        else:
            with pytest.raises(expected) as info:
                for r in stream:
                    got.append(r.index)
            if exc is not None and expected is not SourceError:
                assert info.value is exc  # the decoder's own exception reaches the consumer
            if expected is SourceError:
                assert "camera 0" in str(info.value)
    assert got == list(range(6))  # every frame delivered before the failure is tracked
    assert cam.released  # the tracker opened it, the tracker released it
    wait_no_decoder()


# ----------------------------------------------------------------------------- decoder thread
class CountingCapture:
    """A 1000-frame 'file' that counts reads and checks release() never races read()."""

    def __init__(self, n: int = 1000) -> None:
        self.n, self.reads, self.released, self.reading = n, 0, False, False

    def isOpened(self) -> bool:
        return not self.released

    def read(self) -> tuple[bool, Any]:
        assert not self.released
        if self.reads >= self.n:
            return False, None
        self.reading = True
        time.sleep(0.001)
        self.reading = False
        self.reads += 1
        return True, np.full((48, 64, 3), self.reads % 256, np.uint8)

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_POS_MSEC:
            return (self.reads - 1) * 40.0
        return {cv2.CAP_PROP_FPS: 25.0, cv2.CAP_PROP_FRAME_COUNT: float(self.n)}.get(prop, 0.0)

    def release(self) -> None:
        assert not self.reading, "released during read()"
        self.released = True


@pytest.fixture
def counting_capture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    caps: list[CountingCapture] = []

    def factory(*args: Any) -> CountingCapture:
        caps.append(CountingCapture())
        return caps[-1]

    monkeypatch.setattr("posekit.source.cv2.VideoCapture", factory)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    yield video, caps


def test_stream_decodes_ahead_in_a_bounded_background_thread(
    sessions: tuple[Any, Any], counting_capture: Any
) -> None:
    video, caps = counting_capture
    with tracker(sessions) as t:
        stream = t.stream(video, prefetch=3)  # a file: the default would be 2
        first = next(stream)
        assert first.index == 0 and len(decoder_threads()) == 1
        time.sleep(0.2)  # the decoder fills the queue, then waits
        assert caps[0].reads <= 1 + 3 + 1  # consumed + queued + one blocked in put()
        for r in stream:
            if r.index == 9:
                break
        assert not caps[0].released  # the generator is still referenced: still open
        stream.close()  # what happens when a `for r in t.stream(...)` loop is left
        assert caps[0].released
        wait_no_decoder()


def test_stream_default_prefetch_by_source_kind(
    sessions: tuple[Any, Any], counting_capture: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    video, _ = counting_capture
    made: list[FrameReader] = []
    real_init = FrameReader.__init__

    def spy(self: FrameReader, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(FrameReader, "__init__", spy)
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    with tracker(sessions) as t:
        next(t.stream(video))  # a video file
        next(t.stream(VanishingCamera(3)))  # a live capture handed in
        next(t.stream(frames, fps=10.0))  # an iterable
    assert [r.prefetch for r in made] == [2, 0, 0]
    wait_no_decoder()


def test_bad_prefetch_is_refused(sessions: tuple[Any, Any], counting_capture: Any) -> None:
    video, caps = counting_capture
    with tracker(sessions) as t:
        for bad in (-1, 65, 1.5, True):
            with pytest.raises(SourceError, match="prefetch"):
                next(t.stream(video, prefetch=bad))
    assert all(c.released for c in caps)  # opened, refused, released


def test_processing_error_stops_the_decoder(
    sessions: tuple[Any, Any], counting_capture: Any
) -> None:
    video, caps = counting_capture

    class BoomError(Exception):
        pass

    class FailingRunner:
        calls = 0

        def run_outputs(self, names: Any, feeds: Any) -> Any:
            FailingRunner.calls += 1
            if FailingRunner.calls == 4:
                raise BoomError("model crashed")
            return sessions[0].run_outputs(names, feeds)

    with Tracker(mode="image", detector_session=FailingRunner(), landmark_session=sessions[1]) as t:
        with pytest.raises(PosekitError, match="BoomError: model crashed") as info:
            list(t.stream(video))
        assert isinstance(info.value.__cause__, BoomError)
    assert caps[0].released and caps[0].reads < 20
    wait_no_decoder()


def test_frame_reader_used_directly_releases_on_close() -> None:
    cam = VanishingCamera(100)
    src = open_source(cam)
    with FrameReader(src, prefetch=2) as reader:
        got = [f.index for f in itertools.islice(reader, 5)]
    assert got == list(range(5)) and reader.closed
    assert not cam.released  # a capture handed in is the caller's to release
    assert list(reader) == []  # a closed reader yields nothing
    wait_no_decoder()


# ----------------------------------------------------------------------------- model cache
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "posekit-home"
    monkeypatch.setenv("POSEKIT_HOME", str(root))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    for var in ("POSEKIT_MODEL_SOURCE", "POSEKIT_OFFLINE", "POSEKIT_QUIET"):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(SQUAT))
    ok, img = cap.read()
    cap.release()
    assert ok
    return np.ascontiguousarray(cv2.resize(img, (480, 270)))


def image_signature(t: Tracker, frame: np.ndarray) -> bytes:
    r = t.process(frame, 0.0)
    assert r.pose is not None
    return r.pose.xy.tobytes() + r.pose.visibility.tobytes()


def test_cache_deleted_while_running(
    home: Path, models_src: Path, frame: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(["detector", "lite"], source=models_src, progress=False)
    running = Tracker(model="lite", mode="image", num_threads=1)
    before = image_signature(running, frame)
    shutil.rmtree(home)
    # the loaded tracker keeps working, unchanged
    assert image_signature(running, frame) == before
    # a new tracker with no source to reinstall from: a clear ModelError listing the sources
    with pytest.raises(ModelSourceError, match="pose_detection") as info:
        Tracker(model="lite", mode="image", num_threads=1)
    assert "--from" in str(info.value) or "POSEKIT_MODEL_SOURCE" in str(info.value)
    # with a source configured, a new tracker reinstalls and gives the same result
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))
    again = Tracker(model="lite", mode="image", num_threads=1)
    assert image_signature(again, frame) == before
    assert store.is_installed("pose_detection") and store.is_installed("pose_landmark_lite")


def test_model_damaged_in_place_is_refused_not_used(home: Path, models_src: Path) -> None:
    """Same size as recorded (a flipped bit): only the sha256 can tell, and it does. The
    runtime copy derived before the damage keeps serving the intact model's outputs; once it
    has to be derived again, the damaged file is refused."""
    from posekit.models import verify
    from posekit.models.variants import clear_runtime_cache

    install(["detector"], source=models_src, progress=False)
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
    want = load_session("detector", num_threads=1).run({"input_1": x})
    path = home / "models" / "pose_detection.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) - 5000] ^= 0x10
    path.write_bytes(bytes(data))
    got = load_session("detector", num_threads=1).run({"input_1": x})
    for key, value in want.items():
        np.testing.assert_array_equal(got[key], value)
    assert not verify(["detector"])[0].ok
    clear_runtime_cache()
    with pytest.raises(ModelError, match=r"damaged.*install --force pose_detection"):
        load_session("detector", num_threads=1)


def test_truncated_model_is_reinstalled_from_the_kept_source(
    home: Path, models_src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A size unlike the sidecar's means 'not installed': the next load converts the verified
    source kept in the cache again (no download), or names the sources when none is left."""
    install(["detector"], source=models_src, progress=False)
    path = home / "models" / "pose_detection.onnx"
    good = path.read_bytes()
    path.write_bytes(good[:1000])
    load_session("detector", num_threads=1)
    assert path.read_bytes() == good  # the conversion is deterministic
    path.write_bytes(good[:1000])
    shutil.rmtree(home / "sources")
    with pytest.raises(ModelSourceError, match="pose_detection"):
        load_session("detector", num_threads=1)
    assert not store.is_installed("pose_detection")


def _raise_oserror(code: int) -> Any:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


def test_read_only_cache_still_serves_installed_models(
    home: Path, models_src: Path, frame: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading never writes: a cache that became read-only keeps working (running as root,
    chmod cannot make a folder read-only, so every write primitive is made to fail)."""
    install(["detector", "lite"], source=models_src, progress=False)
    for target in ("mkdir", "write_bytes", "write_text", "touch", "unlink", "replace"):
        monkeypatch.setattr(Path, target, _raise_oserror(errno.EROFS))
    monkeypatch.setattr(os, "replace", _raise_oserror(errno.EROFS))
    t = Tracker(model="lite", mode="image", num_threads=1)
    assert t.process(frame).has_pose


@pytest.mark.parametrize(
    ("stage", "code", "phrase"),
    [
        ("sidecar", errno.ENOSPC, "the disk is full"),
        ("sidecar", errno.EROFS, "read-only"),
        ("rename", errno.ENOSPC, "the disk is full"),
        ("rename", errno.EROFS, "read-only"),
        ("mkdir", errno.EROFS, "read-only"),
    ],
)
def test_full_or_read_only_disk_during_install_leaves_nothing_loadable(
    home: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
    code: int,
    phrase: str,
) -> None:
    with monkeypatch.context() as mp:
        if stage == "sidecar":  # the model converted fine, its sidecar cannot be written
            mp.setattr(store, "write_sidecar", _raise_in_sidecar(code))
            mp.setattr("posekit.models.manager.write_sidecar", _raise_in_sidecar(code))
        elif stage == "rename":
            mp.setattr(Path, "replace", _raise_oserror(code))
        else:
            mp.setattr(Path, "mkdir", _raise_oserror(code))
        with pytest.raises(ModelError, match=phrase) as info:
            install(["detector"], source=models_src, progress=False)
        assert "POSEKIT_HOME" in str(info.value)
    assert not store.is_installed("pose_detection")
    for folder in (home / "models", home / "sources"):
        leftovers = [p.name for p in folder.iterdir()] if folder.is_dir() else []
        assert not [n for n in leftovers if n.endswith(".part")]
        assert "pose_detection.json" not in leftovers
    with pytest.raises(ModelError, match="not installed"):
        store_model_path("detector")
    # once there is room again, installing works and the model loads
    (result,) = install(["detector"], source=models_src, progress=False)
    assert result.status == "installed"
    load_session("detector", num_threads=1)


def _raise_in_sidecar(code: int) -> Any:
    def write(sidecar: Any) -> Path:
        target = store.sidecar_path(sidecar.name)
        with store.atomic_writer(target) as tmp:
            tmp.write_text("{", encoding="utf-8")  # a partial write, then the disk is full
            raise OSError(code, os.strerror(code))
        return target  # pragma: no cover

    return write


def store_model_path(name: str) -> Path:
    from posekit.models import model_path

    return model_path(name, install=False)
