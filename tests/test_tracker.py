"""Tracker (posekit.tracker): the tracking state machine with fake models, timestamps, streams,
and end-to-end checks with the real models on the squat videos."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import (
    DATA,
    FakeCapture,
    FakeDetectorRunner,
    FakeLandmarkRunner,
    TrackedVideo,
    fake_tracker,
)

from posekit.errors import InputError, SourceError, TimestampError
from posekit.results import FrameResult, TrackingState
from posekit.roi import RotatedRect
from posekit.tracker import Tracker

SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"


FRAME = np.zeros((480, 640, 3), np.uint8)


# ----------------------------------------------------------------------------- state machine
def test_detector_runs_once_then_tracks() -> None:
    t, det, lm = fake_tracker()
    states = [t.process(FRAME, i / 30).state for i in range(5)]
    assert states == [TrackingState.DETECTED] + [TrackingState.TRACKING] * 4
    assert det.calls == 1 == t.detector_runs
    assert lm.calls == 5


def test_low_presence_loses_the_person_and_redetects_next_frame() -> None:
    t, det, _ = fake_tracker(lm=FakeLandmarkRunner([0.9, 0.9, 0.2, 0.9, 0.9]))
    results = [t.process(FRAME, i / 30) for i in range(5)]
    assert [r.state for r in results] == [
        TrackingState.DETECTED,
        TrackingState.TRACKING,
        TrackingState.LOST,
        TrackingState.DETECTED,
        TrackingState.TRACKING,
    ]
    lost = results[2]
    assert lost.pose is None and lost.roi is not None and not lost.has_pose
    assert det.calls == 2
    assert results[3].detection is not None and results[4].detection is None


def test_nobody_found() -> None:
    t, det, lm = fake_tracker(det=FakeDetectorRunner(found=False))
    for i in range(3):
        r = t.process(FRAME, float(i))
        assert r.state is TrackingState.LOST and r.roi is None and r.detection is None
    assert det.calls == 3 and lm.calls == 0


def test_threshold_is_configurable() -> None:
    t, _, _ = fake_tracker(lm=FakeLandmarkRunner([0.6]), min_tracking_confidence=0.7)
    assert t.process(FRAME, 0.0).state is TrackingState.LOST


def test_next_roi_comes_from_auxiliary_points() -> None:
    t, _, _ = fake_tracker(smooth=False)
    first = t.process(FRAME, 0.0)
    second = t.process(FRAME, 0.04)
    assert first.roi is not None and second.roi is not None
    # aux points were placed so that the ROI is reproduced exactly
    for a, b in zip(dataclasses.astuple(first.roi), dataclasses.astuple(second.roi), strict=True):
        assert a == pytest.approx(b, abs=1e-3)
    # and it is the detection's ROI: hip centre at tensor (0.5, 0.6) of a 640-wide letterbox
    assert (first.roi.center_x, first.roi.center_y) == pytest.approx(
        (320, 0.6 * 640 - 80), abs=1e-2
    )
    assert first.roi.width == pytest.approx(2 * 0.25 * 640 * 1.25, rel=1e-4)


def test_image_mode_detects_every_frame_and_does_not_smooth() -> None:
    t, det, _ = fake_tracker(mode="image", lm=FakeLandmarkRunner(jitter=3.0))
    ref, _, _ = fake_tracker(mode="image", lm=FakeLandmarkRunner(jitter=3.0))
    for ts in (5.0, 1.0, 1.0):  # order does not matter in image mode
        r = t.process(FRAME, ts)
        assert r.state is TrackingState.DETECTED
    assert det.calls == 3
    # no smoothing: an image-mode result equals a fresh single call on the same raw output
    t.landmarks.session = FakeLandmarkRunner(jitter=3.0)
    ref.landmarks.session = FakeLandmarkRunner(jitter=3.0)  # same seed: same raw output
    a = t.process(FRAME, 9.0).pose
    b = ref.process(FRAME, 9.0).pose
    assert a is not None and b is not None and a.allclose(b)


def test_smoothing_reduces_jitter_and_can_be_disabled() -> None:
    def spread(smooth: bool) -> float:
        t, _, _ = fake_tracker(smooth=smooth, lm=FakeLandmarkRunner(jitter=0.3))
        xs = [t.process(FRAME, i / 30).pose.xy[5, 0] for i in range(40)]  # type: ignore[union-attr]
        return float(np.std(np.diff(xs)))

    assert spread(True) < 0.5 * spread(False)


def test_timestamp_error_names_both_values_and_leaves_state_untouched() -> None:
    t, _, _ = fake_tracker(lm=FakeLandmarkRunner(jitter=2.0))
    ref, _, _ = fake_tracker(lm=FakeLandmarkRunner(jitter=2.0))
    for tr in (t, ref):
        tr.process(FRAME, 1.0)
        tr.process(FRAME, 2.0)
    for bad in (2.0, 1.5):
        with pytest.raises(TimestampError, match=rf"{bad:.6f} s.*2\.000000 s"):
            t.process(FRAME, bad)
    a, b = t.process(FRAME, 3.0), ref.process(FRAME, 3.0)
    assert a.index == b.index == 2
    assert a.state is b.state is TrackingState.TRACKING
    assert a.pose is not None and b.pose is not None and a.pose.allclose(b.pose)


def test_bad_frame_leaves_state_untouched() -> None:
    t, _, _ = fake_tracker()
    t.process(FRAME, 1.0)
    with pytest.raises(InputError):
        t.process(np.zeros((0, 3, 3), np.uint8), 2.0)
    assert t.process(FRAME, 1.5).index == 1  # the bad frame did not consume 2.0 or an index


def test_default_timestamps_are_monotonic_seconds() -> None:
    t, _, _ = fake_tracker()
    a, b = t.process(FRAME), t.process(FRAME)
    assert 0 < b.timestamp - a.timestamp < 5


def test_reset_forgets_tracking_and_time() -> None:
    t, det, _ = fake_tracker()
    t.process(FRAME, 10.0)
    assert t.is_tracking
    t.reset()
    assert not t.is_tracking
    assert t.process(FRAME, 0.0).state is TrackingState.DETECTED
    assert det.calls == 2


def test_grayscale_and_bgra_frames_are_accepted() -> None:
    t, _, _ = fake_tracker()
    assert t.process(np.zeros((480, 640), np.uint8), 0.0).has_pose
    assert t.process(np.zeros((480, 640, 4), np.uint8), 0.1).has_pose


def test_result_is_frozen_and_carries_timings() -> None:
    t, _, _ = fake_tracker()
    r = t.process(FRAME, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.index = 5  # type: ignore[misc]
    assert r.timings.total_ms >= r.timings.landmark_ms >= 0
    assert r.timings.detector_ms > 0 and r.frame is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model": "ultra"}, "model"),
        ({"mode": "batch"}, "mode"),
        ({"min_detection_confidence": 2.0}, "min_detection_confidence"),
        ({"min_tracking_confidence": -0.1}, "min_tracking_confidence"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        fake_tracker(**kwargs)


# ----------------------------------------------------------------------------- streams
def test_stream_from_iterable() -> None:
    t, _, _ = fake_tracker()
    frames = [FRAME] * 4
    results = list(t.stream(frames, fps=20.0))
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert [r.timestamp for r in results] == pytest.approx([0.0, 0.05, 0.1, 0.15])
    assert all(r.frame is FRAME for r in results)
    # a second stream starts a new sequence (timestamps restart at 0 without error)
    assert len(list(t.stream(frames, fps=20.0))) == 4


def test_stream_of_pairs_with_bad_timestamps_raises() -> None:
    t, _, _ = fake_tracker()
    with pytest.raises(TimestampError):
        list(t.stream([(FRAME, 0.0), (FRAME, 0.5), (FRAME, 0.5)]))


def test_stream_releases_capture_it_opened_on_break_and_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    caps: list[FakeCapture] = []

    def factory(*args: Any) -> FakeCapture:
        caps.append(FakeCapture(50))
        return caps[-1]

    monkeypatch.setattr("posekit.source.cv2.VideoCapture", factory)
    (tmp_path / "v.mp4").write_bytes(b"x")
    with Tracker(detector_session=FakeDetectorRunner(), landmark_session=FakeLandmarkRunner()) as t:
        for r in t.stream(tmp_path / "v.mp4"):
            assert r.timestamp == pytest.approx(r.index * 0.04)
            if r.index == 3:
                break
        assert caps[0].released
        gen = t.stream(str(tmp_path / "v.mp4"))
        next(gen)
        assert not caps[1].released
    assert caps[1].released  # the context manager closed the stream left open


def test_stream_does_not_release_a_capture_it_was_given() -> None:
    cap = FakeCapture(3)
    t, _, _ = fake_tracker()
    assert len(list(t.stream(cap))) == 3
    assert not cap.released


def test_stream_source_errors() -> None:
    t, _, _ = fake_tracker()
    with pytest.raises(SourceError, match="does not exist"):
        next(t.stream("/nonexistent/video.mp4"))


# ----------------------------------------------------------------------------- real models
@pytest.fixture(scope="session")
def real_sessions(pose_sessions: Any) -> tuple[Any, Any]:
    return pose_sessions("full")  # type: ignore[no-any-return]


class CountingRunner:
    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, 0

    def run_outputs(
        self, names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        self.calls += 1
        return list(self.inner.run_outputs(names, feeds))


def knee_angle(xy: np.ndarray, hip: int, knee: int, ankle: int) -> float:
    a, b = xy[hip] - xy[knee], xy[ankle] - xy[knee]
    return math.degrees(math.acos(float(np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b))))


@pytest.fixture(scope="module")
def squat_run(squat_videos: dict[str, TrackedVideo]) -> tuple[list[FrameResult], int]:
    """The dev video's results from the default tracker (tracked once per run, see conftest)
    and how many times its detector ran."""
    tracked = squat_videos[SQUAT.stem]
    return list(tracked.results()), tracked.detector_runs


def test_squat_video_is_tracked_on_nearly_every_frame(squat_run: Any) -> None:
    results, detector_calls = squat_run
    labels = json.loads((DATA / "videos" / "labels.json").read_text())[SQUAT.name]
    assert len(results) == labels["frames"]
    assert sum(r.has_pose for r in results) >= 0.95 * len(results)
    # the detector runs on the first frame and only after a frame without a pose
    expected = 1 + sum(1 for r in results[:-1] if r.state is TrackingState.LOST)
    assert detector_calls == expected <= 3
    assert [r.index for r in results] == list(range(len(results)))
    np.testing.assert_allclose(
        [r.timestamp for r in results], np.arange(len(results)) / 25.0, atol=1e-3
    )


def test_knee_angle_dips_at_the_labelled_bottom(squat_run: Any) -> None:
    results, _ = squat_run
    labels = json.loads((DATA / "videos" / "labels.json").read_text())[SQUAT.name]
    (bottom,) = labels["rep_bottom_frames_approx"]
    angles = np.array(
        [
            np.mean([knee_angle(r.pose.xy, 23, 25, 27), knee_angle(r.pose.xy, 24, 26, 28)])
            if r.pose is not None
            else np.nan
            for r in results
        ]
    )
    rep = slice(15, 100)  # the complete rep (frames 0-12 are the partial ascent)
    low = 15 + int(np.nanargmin(angles[rep]))
    assert abs(low - bottom) <= 8
    assert angles[low] < 110 and np.nanmax(angles[20:40]) > 150


def test_peer_video_first_seconds_have_a_pose(squat_videos: dict[str, TrackedVideo]) -> None:
    got = squat_videos["squat_rohanx01"].has_pose[:60]  # a stream is causal: its first 60 frames
    assert len(got) == 60 and all(got)


def test_segmentation_mask_covers_the_person(real_sessions: tuple[Any, Any]) -> None:
    cap = cv2.VideoCapture(str(SQUAT))
    ok, frame = cap.read()
    cap.release()
    assert ok
    with Tracker(
        mode="image",
        segmentation=True,
        detector_session=real_sessions[0],
        landmark_session=real_sessions[1],
    ) as t:
        r = t.process(frame)
    assert r.pose is not None and r.segmentation is not None
    mask = r.segmentation
    assert mask.shape == frame.shape[:2]
    hip = r.pose.xy[[23, 24]].mean(axis=0)
    shoulder = r.pose.xy[[11, 12]].mean(axis=0)
    torso_mid = ((hip + shoulder) / 2).round().astype(int)
    assert mask[torso_mid[1], torso_mid[0]] > 0.5
    assert float(mask[:20, :20].mean()) < 0.1


def test_rotated_roi_tracks_a_rotated_video(real_sessions: tuple[Any, Any]) -> None:
    cap = cv2.VideoCapture(str(SQUAT))
    frames = []
    for _ in range(10):
        ok, f = cap.read()
        assert ok
        frames.append(cv2.rotate(f, cv2.ROTATE_90_COUNTERCLOCKWISE))
    cap.release()
    with Tracker(detector_session=real_sessions[0], landmark_session=real_sessions[1]) as t:
        results = list(t.stream(frames, fps=25.0))
    assert all(r.has_pose for r in results)
    roi = results[-1].roi
    assert isinstance(roi, RotatedRect)
    assert roi.rotation == pytest.approx(-math.pi / 2, abs=0.5)  # body lies with head left


def test_tracker_loads_its_own_models(real_sessions: tuple[Any, Any]) -> None:
    """Without injected sessions the tracker asks the model manager (models installed above)."""
    cap = cv2.VideoCapture(str(SQUAT))
    ok, frame = cap.read()
    cap.release()
    assert ok
    with Tracker(model="full", mode="image", num_threads=1) as t:
        r = t.process(np.ascontiguousarray(frame[..., ::-1]), color="rgb")
    assert r.state is TrackingState.DETECTED and r.pose is not None
    assert r.pose.image_size == (frame.shape[1], frame.shape[0])


class _ThreadedRunner(FakeLandmarkRunner):
    def __init__(self, num_threads: int) -> None:
        super().__init__()
        self.num_threads = num_threads


@pytest.mark.parametrize(
    ("cpus", "model_threads", "expected_prefetch"),
    [
        (2, 2, 0),  # the models use every core: a decoder thread only competes (measured)
        (2, 1, 2),  # a spare core: decode ahead
        (8, 2, 2),
        (1, 1, 0),
    ],
)
def test_stream_decodes_ahead_only_with_a_spare_core(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cpus: int,
    model_threads: int,
    expected_prefetch: int,
) -> None:
    monkeypatch.setattr("posekit.source.cv2.VideoCapture", lambda *a: FakeCapture(10))
    monkeypatch.setattr("posekit.source.os.cpu_count", lambda: cpus)
    (tmp_path / "v.mp4").write_bytes(b"x")
    t = Tracker(
        detector_session=FakeDetectorRunner(), landmark_session=_ThreadedRunner(model_threads)
    )
    gen = t.stream(tmp_path / "v.mp4")
    next(gen)
    assert t._readers[0].prefetch == expected_prefetch
    gen.close()
    explicit = t.stream(tmp_path / "v.mp4", prefetch=3)
    next(explicit)
    assert t._readers[0].prefetch == 3  # an explicit value always wins
    explicit.close()


def test_video_masks_are_smoothed_over_time(real_sessions: tuple[Any, Any]) -> None:
    """MediaPipe's mask smoothing: first mask as predicted, later ones blended where unsure."""
    cap = cv2.VideoCapture(str(SQUAT))
    frames = [cap.read()[1] for _ in range(3)]
    cap.release()

    def masks(smooth_segmentation: bool) -> list[np.ndarray]:
        with Tracker(
            segmentation=True,
            smooth_segmentation=smooth_segmentation,
            detector_session=real_sessions[0],
            landmark_session=real_sessions[1],
        ) as t:
            out = [t.process(f, timestamp=i / 30).segmentation for i, f in enumerate(frames)]
        assert all(m is not None for m in out)
        return [m for m in out if m is not None]

    raw, smooth = masks(False), masks(True)
    np.testing.assert_array_equal(smooth[0], raw[0])
    unsure = (raw[1] > 0.2) & (raw[1] < 0.8)  # the person's outline
    sure = (raw[1] < 0.001) | (raw[1] > 0.999)
    assert unsure.sum() > 100
    moved = np.abs(smooth[1] - raw[1])
    assert float(moved[unsure].max()) > 1e-3  # pulled towards the previous mask
    assert float(moved[sure].max()) < 1e-3  # confident pixels stay as predicted
    # with the previous *smoothed* mask, exactly MediaPipe's blend
    from posekit.filters import SegmentationSmoother

    ref = SegmentationSmoother()
    ref(raw[0])
    np.testing.assert_allclose(smooth[1], ref(raw[1]), atol=1e-6)
