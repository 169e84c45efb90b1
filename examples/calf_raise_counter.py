"""A custom rep counter for an exercise posekit does not ship: calf raises.

The signal is not a joint angle, so this example writes its own analyzer: the heel lift, i.e.
how far the heels rise above the toes, in percent of the shin length (knee to ankle), averaged
over the visible feet. posekit's hysteresis counter (``RepCounter.feed``) turns that signal
into reps: a rep starts with the heels down (lift below 4 %), peaks above 10 % and ends when
the heels are down again.

Usage: python examples/calf_raise_counter.py VIDEO   (or set POSEKIT_EXAMPLE_VIDEO)
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np

import posekit
from posekit import Keypoint as Kp
from posekit.analyzers import Analyzer, Pipeline, PoseFrame, RepCount, RepCounter

FEET = (
    (Kp.LEFT_KNEE, Kp.LEFT_ANKLE, Kp.LEFT_HEEL, Kp.LEFT_FOOT_INDEX),
    (Kp.RIGHT_KNEE, Kp.RIGHT_ANKLE, Kp.RIGHT_HEEL, Kp.RIGHT_FOOT_INDEX),
)


def heel_lift(pose: posekit.Pose, min_visibility: float = 0.5) -> float | None:
    """Heel height above the toes (image y points down) in % of the shin length."""
    xy, vis = pose.xy, pose.visibility
    lifts = []
    for knee, ankle, heel, toe in FEET:
        if min(vis[knee], vis[ankle], vis[heel], vis[toe]) < min_visibility:
            continue
        shin = float(np.hypot(*(xy[knee] - xy[ankle])))
        if shin > 0:
            lifts.append(100.0 * float(xy[toe, 1] - xy[heel, 1]) / shin)
    return sum(lifts) / len(lifts) if lifts else None


class CalfRaiseCounter(Analyzer[RepCount]):
    """Count calf raises from the heel lift (percent of the shin length)."""

    name = "calf_raises"

    def __init__(self, down: float = 4.0, up: float = 10.0) -> None:
        # rest="down": a rep starts below `down`, peaks above `up` and ends below `down`
        self.counter = RepCounter("knee", up=up, down=down, rest="down", min_duration=0.4)

    def reset(self) -> None:
        self.counter.reset()

    def update(self, frame: PoseFrame) -> RepCount:
        value = None if frame.pose is None else heel_lift(frame.pose)
        return self.counter.feed(value, frame.timestamp, frame.index)


def main() -> int:
    video = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("POSEKIT_EXAMPLE_VIDEO")
    if not video:
        print("usage: calf_raise_counter.py VIDEO (or set POSEKIT_EXAMPLE_VIDEO)")
        return 2
    pipeline = Pipeline(analyzers=[CalfRaiseCounter()])
    highest = -math.inf
    state = None
    with posekit.Tracker() as tracker:
        for frame in pipeline.stream(tracker.stream(video)):
            state = frame.results["calf_raises"]
            if state.value is not None:
                highest = max(highest, state.value)
            if state.new_rep is not None:
                print(f"rep {state.count}: heel lift {state.new_rep.depth:.0f} % of the shin")
    count = 0 if state is None else state.count
    print(f"calf raises: {count} (highest heel lift {highest:.1f} % of the shin)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except posekit.PosekitError as exc:  # a missing file or folder, no camera: one line, exit 2
        print(f"calf_raise_counter: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
