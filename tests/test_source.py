"""Frame sources (posekit.source): opening errors, timestamps, mid-stream failure, ownership."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from posekit.errors import SourceError
from posekit.source import CaptureSource, IterableSource, SourceFrame, open_source


def write_video(
    path: Path, n: int = 30, fps: float = 25.0, size: tuple[int, int] = (64, 48)
) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((size[1], size[0], 3), (i * 7) % 256, np.uint8))
    writer.release()
    return path


class FakeCapture:
    """A capture that delivers ``n_ok`` frames, then fails; ``count`` frames in its header."""

    def __init__(
        self, n_ok: int, count: float = 0.0, fps: float = 30.0, pos_msec: list[float] | None = None
    ) -> None:
        self.n_ok, self.count, self.fps = n_ok, count, fps
        self.pos = pos_msec
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return not self.released

    def read(self) -> tuple[bool, Any]:
        if self.reads >= self.n_ok:
            return False, None
        self.reads += 1
        return True, np.zeros((4, 4, 3), np.uint8)

    def get(self, prop: int) -> float:
        if prop == cv2.CAP_PROP_FPS:
            return self.fps
        if prop == cv2.CAP_PROP_FRAME_COUNT:
            return self.count
        if prop == cv2.CAP_PROP_POS_MSEC:
            return self.pos[self.reads - 1] if self.pos else 0.0
        return 0.0

    def release(self) -> None:
        self.released = True


def test_video_file_frames_and_timestamps(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.avi", n=12, fps=25.0)
    with open_source(path) as src:
        frames = list(src)
    assert [f.index for f in frames] == list(range(12))
    np.testing.assert_allclose([f.timestamp for f in frames], np.arange(12) / 25.0, atol=1e-6)
    assert not src.ended_early and src.end_reason is None
    assert frames[0].image.shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: p / "missing.mp4", "does not exist"),
        (lambda p: p, "directory"),
        (
            lambda p: (
                p.joinpath("noise.mp4").write_bytes(bytes(range(256)) * 40) and p / "noise.mp4"
            ),
            "cannot open",
        ),
        (lambda p: str(p / "missing.avi"), "does not exist"),
    ],
    ids=["missing", "directory", "corrupt", "missing-str"],
)
def test_unopenable_files_raise_source_error_with_fix(
    tmp_path: Path, make: Any, match: str
) -> None:
    with pytest.raises(SourceError, match=match) as info:
        open_source(make(tmp_path)).open()
    assert ":" in str(info.value)


def test_camera_index_that_does_not_exist() -> None:
    with pytest.raises(SourceError, match="camera index 97"):
        open_source(97).open()


def test_truncated_file_ends_early_with_warning_and_flag(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = write_video(tmp_path / "full.avi", n=40)
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING, logger="posekit.source"), open_source(cut) as src:
        frames = list(src)
    assert 0 < len(frames) < 40
    assert src.ended_early
    assert src.end_reason is not None and "of 40 frames" in src.end_reason
    assert any("ended_early" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("fake", "is_camera", "early"),
    [
        (FakeCapture(5, count=10), False, True),  # file failing mid-stream
        (FakeCapture(10, count=10), False, False),  # normal end
        (FakeCapture(3, count=0), True, True),  # live capture disappears
    ],
    ids=["file-midstream", "file-complete", "camera-gone"],
)
def test_mid_stream_failure_policy(fake: FakeCapture, is_camera: bool, early: bool) -> None:
    src = CaptureSource(fake)
    frames = list(src)
    assert len(frames) == fake.n_ok
    assert src.is_camera is is_camera
    assert src.ended_early is early
    src.release()
    assert not fake.released  # a capture we were given is not ours to release


def test_strict_mode_raises_on_mid_stream_failure() -> None:
    src = CaptureSource(FakeCapture(5, count=10), strict=True)
    got: list[SourceFrame] = []
    with pytest.raises(SourceError, match="stopped after 5 of 10"):
        for f in src:
            got.append(f)
    assert len(got) == 5


def test_file_that_opens_but_yields_nothing() -> None:
    with pytest.raises(SourceError, match="no frame"):
        list(CaptureSource(FakeCapture(0, count=10)))


def test_stuck_timestamps_fall_back_to_index_over_fps(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeCapture(6, count=6, fps=10.0, pos_msec=[0.0, 100.0, 100.0, 100.0, 0.0, 0.0])
    with caplog.at_level(logging.WARNING, logger="posekit.source"):
        stamps = [f.timestamp for f in CaptureSource(fake)]
    np.testing.assert_allclose(stamps, [0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert sum("index / fps" in r.getMessage() for r in caplog.records) == 1


def test_live_capture_uses_wall_clock() -> None:
    src = CaptureSource(FakeCapture(4, count=0))
    stamps = []
    for f in src:
        stamps.append(f.timestamp)
        time.sleep(0.01)
    assert stamps[0] == 0.0
    assert np.all(np.diff(stamps) >= 0.009)


def test_opened_capture_is_released_when_consumer_breaks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCapture(100, count=100)
    monkeypatch.setattr("posekit.source.cv2.VideoCapture", lambda *a: fake)
    (tmp_path / "x.mp4").write_bytes(b"x")
    with open_source(tmp_path / "x.mp4") as src:
        for f in src:
            if f.index == 2:
                break
    assert fake.released


def test_iterable_sources() -> None:
    frames = [np.zeros((2, 2, 3), np.uint8)] * 3
    assert [f.timestamp for f in open_source(frames, fps=4.0)] == [0.0, 0.25, 0.5]
    pairs = [(frames[0], 1.5), (frames[1], 2.0)]
    assert [(f.index, f.timestamp) for f in open_source(pairs)] == [(0, 1.5), (1, 2.0)]
    wall = [f.timestamp for f in open_source(iter(frames))]
    assert wall[0] == 0.0 and wall == sorted(wall)


def test_generator_source_is_closed_on_release() -> None:
    closed = []

    def gen() -> Any:
        try:
            while True:
                yield np.zeros((2, 2, 3), np.uint8)
        finally:
            closed.append(True)

    src = IterableSource(gen(), fps=30.0)
    with src:
        for f in src:
            if f.index == 3:
                break
    assert closed == [True]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.zeros((4, 4, 3), np.uint8), "single array"),
        (True, "not a video source"),
        (3.5, "unsupported source type"),
    ],
)
def test_unsupported_sources(value: Any, match: str) -> None:
    with pytest.raises(SourceError, match=match):
        open_source(value)


def test_bad_fps_for_iterables() -> None:
    with pytest.raises(SourceError, match="fps"):
        IterableSource([], fps=0.0)
