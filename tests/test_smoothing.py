"""One way to smooth (issue 16): the tracker's smoother is a PoseFilter strategy, MediaPipe's
smoothing is one class (PoseSmoother.mediapipe) used by the tracker and by Pipeline, and the
default output is what it was (MediaPipe's filters scaled by the auxiliary-point ROI)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA, FakeLandmarkRunner, fake_tracker

from posekit.analyzers import Pipeline
from posekit.errors import InputError
from posekit.filters import (
    IMAGE_LANDMARKS,
    VISIBILITY_ALPHA,
    WORLD_LANDMARKS,
    LowPassFilter,
    PoseFilter,
    PoseSmoother,
)
from posekit.pose import Pose
from posekit.results import FrameResult
from posekit.tracker import Tracker

FRAME = np.zeros((480, 640, 3), np.uint8)
SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"
N_FRAMES = 40


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(SQUAT))
    out = []
    for _ in range(N_FRAMES):
        ok, frame = cap.read()
        assert ok
        out.append(frame)
    cap.release()
    return out


@pytest.fixture(scope="module")
def sessions(models_src: Path) -> tuple[Any, Any]:
    from posekit.models import install, load_session

    install(["pose_detection", "pose_landmark_full"], source=models_src, progress=False)
    return load_session("pose_detection", num_threads=1), load_session(
        "pose_landmark_full", num_threads=1
    )


def track(frames: list[np.ndarray], sessions: tuple[Any, Any], **kw: Any) -> list[FrameResult]:
    with Tracker(detector_session=sessions[0], landmark_session=sessions[1], **kw) as t:
        return [t.process(f, i / 30) for i, f in enumerate(frames)]


def same(a: Pose | None, b: Pose | None) -> bool:
    """Bit for bit."""
    if a is None or b is None:
        return a is b
    parts = ("xy", "z", "visibility", "presence", "world")
    return all(np.array_equal(getattr(a, k), getattr(b, k)) for k in parts) and (a.score == b.score)


def reference_smoothing(raw: list[FrameResult]) -> list[Pose | None]:
    """The tracker's smoothing before issue 16, written out with the low-level filters: One
    Euro on the pixels [x, y, z] divided by the auxiliary-ROI object scale, One Euro on the
    world landmarks, low-pass on the visibility, each output cast to float32."""
    image, world = IMAGE_LANDMARKS.make(), WORLD_LANDMARKS.make()
    vis = LowPassFilter(VISIBILITY_ALPHA)
    out: list[Pose | None] = []
    for r in raw:
        p = r.pose
        if p is None:
            image.reset(), world.reset(), vis.reset()
            out.append(None)
            continue
        assert p.world is not None and r.object_scale is not None
        xyz = image(p.xyz, r.timestamp, r.object_scale).astype(np.float32)
        w = world(p.world, r.timestamp).astype(np.float32)
        v = vis(p.visibility, r.timestamp).astype(np.float32)
        out.append(
            Pose(xyz[:, :2], xyz[:, 2], np.clip(v, 0, 1), p.presence, score=p.score, world=w)
        )
    return out


# ----------------------------------------------------------------------------- real frames
def test_default_tracker_output_is_mediapipe_smoothing_bit_for_bit(
    frames: list[np.ndarray], sessions: tuple[Any, Any]
) -> None:
    raw = track(frames, sessions, smoother=None)
    default = track(frames, sessions)
    assert sum(r.has_pose for r in default) >= N_FRAMES - 2
    # the ROI prediction does not depend on the pose smoothing: same crops, same raw landmarks
    assert [r.roi for r in raw] == [r.roi for r in default]
    want = reference_smoothing(raw)
    assert all(same(r.pose, w) for r, w in zip(default, want, strict=True))
    assert not all(same(r.pose, d.pose) for r, d in zip(raw, default, strict=True))


SPELLINGS = [
    ({"smooth": True}, "smoothed"),
    ({"smoother": "mediapipe"}, "smoothed"),
    ({"smooth": True, "smoother": "mediapipe"}, "smoothed"),
    ({"smoother": "__fresh_instance__"}, "smoothed"),
    ({"smooth": False}, "raw"),
    ({"smooth": False, "smoother": None}, "raw"),
]


@pytest.mark.parametrize(("kwargs", "expected"), SPELLINGS)
def test_every_spelling_of_the_smoother_gives_the_same_poses(
    frames: list[np.ndarray], sessions: tuple[Any, Any], kwargs: dict[str, Any], expected: str
) -> None:
    if kwargs.get("smoother") == "__fresh_instance__":
        kwargs = {"smoother": PoseSmoother.mediapipe()}
    few = frames[:12]
    want = track(few, sessions, smoother="mediapipe" if expected == "smoothed" else None)
    got = track(few, sessions, **kwargs)
    assert all(same(a.pose, b.pose) for a, b in zip(got, want, strict=True))


def test_pipeline_smoothing_over_raw_tracking_equals_the_tracker_smoothing(
    frames: list[np.ndarray], sessions: tuple[Any, Any]
) -> None:
    """One implementation: the pipeline's MediaPipe filter, fed the tracker's object scale,
    gives the tracker's own smoothed poses bit for bit."""
    default = track(frames, sessions)
    pipe = Pipeline(filters=[PoseSmoother.mediapipe()])
    piped = list(pipe.stream(track(frames, sessions, smoother=None)))
    assert all(same(a.pose, b.pose) for a, b in zip(piped, default, strict=True))


# ----------------------------------------------------------------------------- fakes
class Recording(PoseFilter):
    """Shifts every pose by 1 px and records what the tracker asks."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.resets = 0

    def __call__(self, pose: Pose, timestamp: float) -> Pose:
        self.calls.append(timestamp)
        return Pose(pose.xy + 1, pose.z, pose.visibility, pose.presence, score=pose.score)

    def reset(self) -> None:
        self.resets += 1


def test_a_custom_pose_filter_is_applied_and_reset_when_the_person_is_lost() -> None:
    f = Recording()
    lm = FakeLandmarkRunner(presences=[0.95, 0.95, 0.1, 0.95])
    t = fake_tracker(lm=lm, smoother=f)[0]
    plain = fake_tracker(lm=FakeLandmarkRunner(presences=[0.95, 0.95, 0.1, 0.95]), smoother=None)[0]
    resets0 = f.resets
    results = [(t.process(FRAME, i / 30), plain.process(FRAME, i / 30)) for i in range(4)]
    assert f.calls == [0.0, 1 / 30, 3 / 30]
    assert f.resets == resets0 + 1  # the lost frame
    for got, raw in itertools.compress(results, [1, 1, 0, 1]):
        assert got.pose is not None and raw.pose is not None
        np.testing.assert_array_equal(got.pose.xy, raw.pose.xy + 1)
    assert t.smooth and t.smoother is f and not plain.smooth


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"smoother": "one-euro"}, "smoother='one-euro' is unknown"),
        ({"smoother": LowPassFilter(0.5)}, "is unknown: pass 'mediapipe', a posekit.filters"),
        ({"smooth": True, "smoother": None}, "contradicts"),
        ({"smooth": False, "smoother": PoseSmoother.mediapipe()}, "contradicts"),
    ],
)
def test_bad_smoother_arguments(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        fake_tracker(**kwargs)
