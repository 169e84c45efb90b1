"""Threads: independent trackers in parallel threads match serial runs bit for bit, one tracker
shared by several threads serialises its calls (documented in posekit.tracker), and close() from
another thread stops a running stream."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA, PEER_DATA

from posekit.errors import TimestampError
from posekit.results import FrameResult
from posekit.tracker import Tracker

SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"
PEER = PEER_DATA / "squat_rohanx01.mp4"
N_FRAMES = 24


def read_frames(path: Path, n: int, width: int = 480) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    try:
        while len(frames) < n:
            ok, frame = cap.read()
            assert ok, f"{path} has fewer than {n} frames"
            h = round(frame.shape[0] * width / frame.shape[1])
            frames.append(cv2.resize(frame, (width, h), interpolation=cv2.INTER_AREA))
    finally:
        cap.release()
    return frames


@pytest.fixture(scope="module")
def sessions(models_src: Path) -> tuple[Any, Any]:
    from posekit.models import install, load_session

    install(["pose_detection", "pose_landmark_lite"], source=models_src, progress=False)
    return (
        load_session("pose_detection", num_threads=1),
        load_session("pose_landmark_lite", num_threads=1),
    )


@pytest.fixture(scope="module")
def clips() -> tuple[list[np.ndarray], list[np.ndarray]]:
    return read_frames(SQUAT, N_FRAMES), read_frames(PEER, N_FRAMES)


def signature(results: Sequence[FrameResult]) -> list[tuple[Any, ...]]:
    """Everything numeric a result carries, as bytes: equal signatures = bit-identical runs."""
    out: list[tuple[Any, ...]] = []
    for r in results:
        pose = r.pose
        arrays = (
            b""
            if pose is None
            else b"".join(
                a.tobytes()
                for a in (pose.xy, pose.z, pose.visibility, pose.presence, pose.world)
                if a is not None
            )
        )
        out.append((r.state, r.index, r.timestamp, r.roi, arrays, None if pose else 0))
    return out


def run_clip(tracker: Tracker, frames: Sequence[np.ndarray]) -> list[FrameResult]:
    return [tracker.process(f, i / 25.0) for i, f in enumerate(frames)]


def in_threads(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs in parallel threads that start together; re-raise the first failure."""
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def wrap(i: int, job: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = job()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i, j)) for i, j in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
        assert not t.is_alive(), "a worker thread hung"
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("share_sessions", [True, False], ids=["shared-sessions", "own-sessions"])
def test_two_trackers_in_two_threads_match_serial_runs(
    sessions: tuple[Any, Any], clips: Any, share_sessions: bool
) -> None:
    squat, peer = clips

    def make() -> Tracker:
        if share_sessions:
            return Tracker(detector_session=sessions[0], landmark_session=sessions[1])
        return Tracker(model="lite", num_threads=1)

    serial = [signature(run_clip(make(), squat)), signature(run_clip(make(), peer))]
    assert sum(r[4] != b"" for r in serial[0]) >= N_FRAMES - 2  # real poses, not empty runs
    a, b = make(), make()
    parallel = in_threads(
        lambda: signature(run_clip(a, squat)), lambda: signature(run_clip(b, peer))
    )
    assert parallel == serial


def test_two_streams_in_two_threads_match_serial_runs(
    sessions: tuple[Any, Any], clips: Any
) -> None:
    """Background decoding on both sides: decoder threads + tracker threads all at once."""

    def run(path: Path) -> list[tuple[Any, ...]]:
        with Tracker(detector_session=sessions[0], landmark_session=sessions[1]) as t:
            return signature(list(itertools.islice(t.stream(path, prefetch=2), 30)))

    serial = [run(SQUAT), run(PEER)]
    assert in_threads(lambda: run(SQUAT), lambda: run(PEER)) == serial


class ProbeRunner:
    """Wraps a model runner and records how many threads are inside it at once."""

    def __init__(self, inner: Any, delay: float = 0.002) -> None:
        self.inner, self.delay = inner, delay
        self.active = 0
        self.max_active = 0
        self._count = threading.Lock()

    def run_outputs(
        self, names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        with self._count:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            time.sleep(self.delay)  # widen the window in which a second thread could enter
            return list(self.inner.run_outputs(names, feeds))
        finally:
            with self._count:
                self.active -= 1


def test_one_tracker_shared_by_threads_serialises_calls(
    sessions: tuple[Any, Any], clips: Any
) -> None:
    """Image mode: every thread gets exactly the serial result, and no two frames are ever
    inside the models (and the tracker's shared crop buffers) at the same time."""
    frame = clips[0][10]
    det, lm = ProbeRunner(sessions[0]), ProbeRunner(sessions[1])
    tracker = Tracker(mode="image", detector_session=det, landmark_session=lm)
    expected = signature([tracker.process(frame, 0.0)])[0][3:]
    assert expected[1] != b""

    def job() -> list[tuple[Any, ...]]:
        return [signature([tracker.process(frame, 0.0)])[0][3:] for _ in range(6)]

    outputs = in_threads(*[job] * 4)
    assert all(o == expected for out in outputs for o in out)
    assert det.max_active == 1 and lm.max_active == 1
    assert tracker.frames_processed == 1 + 4 * 6


def test_video_mode_tracker_shared_by_threads_stays_consistent(
    sessions: tuple[Any, Any], clips: Any
) -> None:
    """Frames from several threads form one sequence in lock order: each call either tracks or
    is refused with TimestampError (stamps taken outside the lock can arrive out of order), and
    the tracker ends in a usable state."""
    frames = clips[0]
    lm = ProbeRunner(sessions[1], delay=0.0)
    tracker = Tracker(detector_session=sessions[0], landmark_session=lm)
    clock = itertools.count()
    stamp_lock = threading.Lock()
    outcomes: list[str] = []

    def job() -> None:
        for f in frames[:8]:
            with stamp_lock:
                ts = next(clock) / 25.0
            try:
                tracker.process(f, ts)
                outcomes.append("ok")
            except TimestampError:
                outcomes.append("late")

    in_threads(*[job] * 3)
    assert len(outcomes) == 24 and outcomes.count("ok") >= 1
    assert tracker.frames_processed == outcomes.count("ok")
    assert lm.max_active == 1
    r = tracker.process(frames[0], 1000.0)
    assert r.has_pose


class SlowCapture:
    """An endless live capture (no frame count) that takes 5 ms per frame."""

    def __init__(self) -> None:
        self.reads = 0
        self.released = False
        self.reading = False

    def isOpened(self) -> bool:
        return not self.released

    def read(self) -> tuple[bool, Any]:
        assert not self.released, "read() after release()"
        self.reading = True
        time.sleep(0.005)
        self.reading = False
        self.reads += 1
        return True, np.zeros((48, 64, 3), np.uint8)

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0}.get(prop, 0.0)

    def release(self) -> None:
        assert not self.reading, "release() while a read() is in progress"
        self.released = True


@pytest.mark.parametrize("prefetch", [0, 3])
def test_close_from_another_thread_ends_a_running_stream(
    sessions: tuple[Any, Any], prefetch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = SlowCapture()
    monkeypatch.setattr("posekit.source.cv2.VideoCapture", lambda *a: cap)
    tracker = Tracker(detector_session=sessions[0], landmark_session=sessions[1])
    seen: list[int] = []

    def consume() -> None:
        for r in tracker.stream(0, prefetch=prefetch):  # "camera 0": opened by the tracker
            seen.append(r.index)

    worker = threading.Thread(target=consume)
    worker.start()
    deadline = time.monotonic() + 30
    while len(seen) < 5:
        assert time.monotonic() < deadline and worker.is_alive()
        time.sleep(0.005)
    tracker.close()
    worker.join(timeout=10)
    assert not worker.is_alive(), "the stream did not end after close()"
    assert cap.released
    assert seen == list(range(len(seen)))
    assert not [t for t in threading.enumerate() if t.name == "posekit-decoder"]
