"""One timestamp rule (posekit.timestamps) for the tracker, the pipeline and the rep counters:
the same timestamps are refused everywhere, with the consumer left untouched."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from conftest import fake_tracker

from posekit.analyzers import ClassRepCounter, Pipeline, PoseClassifier, SquatCounter
from posekit.analyzers.base import OfflineFrame
from posekit.errors import TimestampError
from posekit.pose import Pose
from posekit.timestamps import MIN_TIMESTAMP_STEP, check_timestamp

FRAME = np.zeros((480, 640, 3), np.uint8)
BIG = 2.0**34  # float64 seconds resolve 3.8 µs here

# previous, timestamp, expected (float seconds, or the exception and a message fragment)
RULE = [
    (None, 0.0, 0.0),
    (None, -5.0, -5.0),
    (1.0, 1.0 + MIN_TIMESTAMP_STEP, 1.0 + MIN_TIMESTAMP_STEP),
    (1e6, 1e6 + 1e-6, 1e6 + 1e-6),
    (BIG, BIG + math.ulp(BIG), BIG + math.ulp(BIG)),
    (1.0, np.float32(2.0), 2.0),
    (1.0, 3, 3.0),
    (1.0, 1.0, (TimestampError, "not later than the previous")),
    (1.0, 0.5, (TimestampError, "not later than the previous")),
    (1.0, 1.0 + 4e-7, (TimestampError, "at least 1 µs")),
    (BIG, BIG, (TimestampError, "cannot hold 1 µs steps")),
    (1.0, math.nan, (TimestampError, "not a finite number")),
    (None, math.inf, (TimestampError, "not a finite number")),
    (1.0, "2.0", (TimestampError, "must be a number of seconds")),
    (1.0, True, (TimestampError, "must be a number of seconds")),
    (1.0, None, (TimestampError, "must be a number of seconds")),
]


@pytest.mark.parametrize(("previous", "timestamp", "expected"), RULE)
def test_check_timestamp(previous: float | None, timestamp: Any, expected: Any) -> None:
    if isinstance(expected, tuple):
        with pytest.raises(expected[0], match=expected[1]):
            check_timestamp(timestamp, previous)
    else:
        got = check_timestamp(timestamp, previous)
        assert type(got) is float and got == expected


def test_unordered_only_checks_the_number() -> None:
    assert check_timestamp(0.5, 1.0, ordered=False) == 0.5
    with pytest.raises(TimestampError):
        check_timestamp(math.nan, 1.0, ordered=False)


# ----------------------------------------------------------------------------- consumers
def _pose(arm: float) -> Pose:
    """A standing pose whose right arm is raised by ``arm`` degrees (classifier features)."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(200, 400, (33, 2))
    xy[[23, 24, 25, 26, 27, 28], 1] = [400, 400, 500, 500, 600, 600]  # hips, knees, ankles
    xy[[11, 12], 1] = 250
    a = math.radians(arm)
    xy[16] = xy[12] + 80 * np.array([math.sin(a), math.cos(a)])
    ones = np.ones(33)
    return Pose(xy, np.zeros(33), ones, ones, score=1.0, world=rng.normal(0, 0.3, (33, 3)))


def _class_counter() -> ClassRepCounter:
    samples = np.stack([_pose(a).xyz for a in (0, 0, 0, 170, 170, 170)])
    clf = PoseClassifier(samples, ["down"] * 3 + ["up"] * 3, top_n_by_mean_distance=3)
    return ClassRepCounter(clf, "up", enter_votes=2.5, exit_votes=0.5, window=1)


def _even(t: float) -> int:
    """1 on even seconds, 0 on odd ones (0 for a non-finite t): reps come and go."""
    return int(math.isfinite(t) and round(t) % 2 == 0)


def _tracker_step() -> Callable[[float], object]:
    tracker = fake_tracker()[0]
    return lambda t: tracker.process(FRAME, t).state


def _pipeline_step() -> Callable[[float], object]:
    pipe = Pipeline(analyzers=[SquatCounter()])
    return lambda t: pipe.process(OfflineFrame(_pose(0), t, 0)).timestamp


def _counter_step() -> Callable[[float], object]:
    counter = SquatCounter()
    return lambda t: counter.update(OfflineFrame(_pose(0), t, 0)).count


def _counter_feed_step() -> Callable[[float], object]:
    counter = SquatCounter()
    return lambda t: counter.feed(120.0, t).phase


def _class_counter_step() -> Callable[[float], object]:
    counter = _class_counter()
    return lambda t: counter.update(OfflineFrame(_pose(170 * _even(t)), t, 0))


def _class_counter_votes_step() -> Callable[[float], object]:
    counter = _class_counter()
    return lambda t: counter.update_votes(3.0 * _even(t), t)


CONSUMERS = [
    _tracker_step,
    _pipeline_step,
    _counter_step,
    _counter_feed_step,
    _class_counter_step,
    _class_counter_votes_step,
]
BAD_AFTER_ONE = [1.0, 0.5, 1.0 + 4e-7, math.nan, math.inf]


@pytest.mark.parametrize("make", CONSUMERS, ids=lambda m: m.__name__.strip("_"))
@pytest.mark.parametrize("bad", BAD_AFTER_ONE)
def test_every_consumer_refuses_the_same_timestamps_and_stays_untouched(
    make: Callable[[], Callable[[float], object]], bad: float
) -> None:
    """A refused timestamp leaves no trace: the stream goes on exactly like a twin's that never
    saw it."""
    step, twin = make(), make()
    for t in (0.0, 1.0):
        assert repr(step(t)) == repr(twin(t))
    with pytest.raises(TimestampError):
        step(bad)
    for t in (2.0, 3.0, 4.0, 4.0 + MIN_TIMESTAMP_STEP):
        assert repr(step(t)) == repr(twin(t))


@pytest.mark.parametrize("make", CONSUMERS, ids=lambda m: m.__name__.strip("_"))
def test_every_consumer_accepts_one_microsecond_steps_at_any_magnitude(
    make: Callable[[], Callable[[float], object]],
) -> None:
    step = make()
    for t in (BIG, BIG + math.ulp(BIG), BIG + 2 * math.ulp(BIG)):
        step(t)
    with pytest.raises(TimestampError):
        step(BIG + 2 * math.ulp(BIG))
