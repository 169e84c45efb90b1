"""The plugin pipeline (posekit.analyzers.Pipeline): filters then analyzers, live and offline."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest

from posekit.analyzers import (
    AnalyzedFrame,
    Analyzer,
    AngleAnalyzer,
    OfflineFrame,
    Pipeline,
    PoseFrame,
    SquatCounter,
)
from posekit.errors import InputError, TimestampError
from posekit.filters import OneEuroFilter, PoseFilter, PoseSmoother
from posekit.pose import Pose
from posekit.results import FrameResult, TrackingState


def pose_at(x: float) -> Pose:
    xy = np.random.default_rng(0).uniform(0, 100, (33, 2)) + x
    return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0, image_size=(640, 480))


class Shift(PoseFilter):
    """Adds ``dx`` to x and counts resets."""

    def __init__(self, dx: float) -> None:
        self.dx, self.resets, self.calls = dx, 0, 0

    def __call__(self, pose: Pose, timestamp: float) -> Pose:
        self.calls += 1
        xy = pose.xy.copy()
        xy[:, 0] += self.dx
        return Pose(xy, pose.z, pose.visibility, pose.presence, score=pose.score)

    def reset(self) -> None:
        self.resets += 1


class Recorder(Analyzer[tuple[float | None, float]]):
    """Returns (x of the nose or None, timestamp) and remembers the frames it saw."""

    def __init__(self, name: str = "rec") -> None:
        self.name = name
        self.seen: list[PoseFrame] = []
        self.resets = 0

    def update(self, frame: PoseFrame) -> tuple[float | None, float]:
        self.seen.append(frame)
        return (None if frame.pose is None else float(frame.pose.xy[0, 0]), frame.timestamp)

    def reset(self) -> None:
        self.resets += 1
        self.seen.clear()


def test_filters_run_in_order_before_analyzers_and_results_are_keyed_by_name() -> None:
    rec, other = Recorder(), Recorder("other")
    pipe = Pipeline(filters=[Shift(1.0), Shift(10.0)], analyzers=[rec, other])
    p = pose_at(0.0)
    (out,) = pipe.run([p], fps=30)
    assert isinstance(out, AnalyzedFrame)
    x0 = float(p.xy[0, 0])
    assert out.results["rec"] == (pytest.approx(x0 + 11.0), 0.0)
    assert out.results["other"] == out.results["rec"]
    assert out.pose is not None and out.pose.xy[0, 0] == pytest.approx(x0 + 11.0)
    with pytest.raises(TypeError):
        out.results["new"] = 1  # type: ignore[index]


def test_lost_frames_reset_filters_and_reach_analyzers_as_none() -> None:
    shift, rec = Shift(1.0), Recorder()
    pipe = Pipeline(filters=[shift], analyzers=[rec])
    out = pipe.run([pose_at(0), None, pose_at(0)], timestamps=[0.0, 0.5, 0.9])
    assert [f.results["rec"][0] is None for f in out] == [False, True, False]
    assert [f.timestamp for f in out] == [0.0, 0.5, 0.9] and [f.index for f in out] == [0, 1, 2]
    assert shift.calls == 2
    assert shift.resets == 2  # once when run() starts, once on the lost frame


def test_tracker_frames_come_back_as_frame_results_with_results() -> None:
    rec = Recorder()
    pipe = Pipeline(filters=[Shift(2.0)], analyzers=[rec])
    image = np.zeros((4, 4, 3), np.uint8)
    frames = [
        FrameResult(pose_at(0), TrackingState.DETECTED, 0.0, 0, frame=image),
        FrameResult(None, TrackingState.LOST, 0.04, 1, frame=image),
    ]
    out = list(pipe.stream(frames))
    assert all(isinstance(f, FrameResult) for f in out)
    assert out[0].state is TrackingState.DETECTED and out[0].frame is image
    assert out[0].pose is not None and out[0].pose.xy[0, 0] == pytest.approx(
        frames[0].pose.xy[0, 0] + 2.0  # type: ignore[union-attr]
    )
    assert out[1].pose is None and out[1].results["rec"] == (None, 0.04)
    # analyzers saw the tracker frame (with the filtered pose), so they can use .frame etc.
    assert isinstance(rec.seen[0], FrameResult) and rec.seen[0].frame is image
    assert frames[0].results == {}  # the input frames are untouched


def test_frames_without_filters_are_passed_as_is() -> None:
    rec = Recorder()
    frame = OfflineFrame(pose_at(0), 1.0, 7)
    out = Pipeline(analyzers=[rec]).process(frame)
    assert rec.seen == [frame] and out.index == 7 and out.pose is frame.pose


def test_stream_resets_every_plugin_so_reruns_agree() -> None:
    pipe = Pipeline(filters=[PoseSmoother.mediapipe()], analyzers=[AngleAnalyzer(["knee"])])
    poses = [pose_at(float(i)) for i in range(10)]
    first = [f.results["angles"] for f in pipe.run(poses, fps=25)]
    second = [f.results["angles"] for f in pipe.run(poses, fps=25)]
    assert first == second


def test_smoothing_in_the_pipeline_equals_the_smoother_alone() -> None:
    poses = [pose_at(3.0 * i) for i in range(8)]
    out = Pipeline(filters=[PoseSmoother.mediapipe()]).run(poses, fps=30)
    ref = PoseSmoother.mediapipe()
    for i, (p, f) in enumerate(zip(poses, out, strict=True)):
        assert f.pose == ref(p, i / 30)


def test_bad_timestamps_raise_and_leave_the_pipeline_untouched() -> None:
    rec = Recorder()
    pipe = Pipeline(analyzers=[rec])
    pipe.process(OfflineFrame(pose_at(0), 1.0, 0))
    for bad in (1.0, 0.5, math.nan, math.inf):
        with pytest.raises(TimestampError, match=r"not later|not a finite"):
            pipe.process(OfflineFrame(pose_at(0), bad, 1))
    assert len(rec.seen) == 1
    pipe.process(OfflineFrame(pose_at(0), 1.1, 1))
    with pytest.raises(TimestampError):
        pipe.run([pose_at(0), pose_at(0)], timestamps=[0.0, 0.0])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Pipeline(filters=[OneEuroFilter()]), "PoseFilter"),  # type: ignore[list-item]
        (lambda: Pipeline(analyzers=[object()]), "Analyzer"),  # type: ignore[list-item]
        (lambda: Pipeline(analyzers=[Recorder(), Recorder()]), "named 'rec'"),
        (lambda: Pipeline().run([None]), "exactly one"),
        (lambda: Pipeline().run([None], fps=30, timestamps=[0.0]), "exactly one"),
        (lambda: Pipeline().run([None], fps=0), "fps"),
        (lambda: Pipeline().run([None, None], timestamps=[0.0]), "one timestamp per pose"),
        (lambda: Pipeline().run([np.zeros((33, 2))], fps=30), "Pose objects"),  # type: ignore[list-item]
    ],
)
def test_bad_pipeline_use(make: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        make()


def test_counter_and_angles_together_offline() -> None:
    from test_counters import make_pose  # the synthetic body with set angles

    knees = [172.0] * 30 + list(np.linspace(172, 90, 30)) + list(np.linspace(90, 172, 30))
    poses: list[Pose | None] = [make_pose(knee=float(k)) for k in knees] + [None] * 5
    pipe = Pipeline(analyzers=[SquatCounter(), AngleAnalyzer(["knee"])])
    out = pipe.run(poses, fps=30)
    assert out[-1].results["squats"].count == 1
    assert out[59].results["angles"]["knee"] == pytest.approx(90.0, abs=1e-3)
    assert out[-1].results["angles"] == {"knee": None}
    assert dataclasses.is_dataclass(out[0])
