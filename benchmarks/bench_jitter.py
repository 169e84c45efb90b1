"""Jitter of a still-standing person: frame-to-frame landmark motion before/after smoothing.

Runs the tracker over a video once with ``smooth=False`` (raw landmarks) and once with the
default smoothing (MediaPipe's One Euro presets inside the tracker, object scale from the
auxiliary ROI), then applies the pose-level filter variants of :mod:`posekit.filters` offline to
the raw poses (``PoseSmoother``: object scale from the landmarks' bounding box). For each
variant it reports the frame-to-frame displacement of the 33 image landmarks (pixels; median,
p95 and mean over landmarks x frames) inside stretches where the person stands still.

Default stretches (chosen by eye from frame grids and the knee-angle curve; the person stands
with the bar on the back and does not step):

* ``squat_rohanx01.mp4`` frames 100-250 and 360-450 (before and between the two squats);
* ``barbell_squat_nqs.mp4`` frames 270-400 (after the walk-out, before the squat).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_jitter.py [--shared ../shared]
[--threads 1] [--json out.json]``. Models must be installed (``posekit models install``, or
``--models-from DIR``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posekit.filters import PoseFilter, PoseSmoother
from posekit.pose import Pose
from posekit.tracker import Tracker


@dataclass(frozen=True)
class Stretch:
    video: str
    start: int
    stop: int  # exclusive


DEFAULT_STRETCHES = (
    Stretch("peer-data/squat_rohanx01.mp4", 100, 251),
    Stretch("peer-data/squat_rohanx01.mp4", 360, 451),
    Stretch("peer-data/barbell_squat_nqs.mp4", 270, 401),
)

VARIANTS: dict[str, Callable[[], PoseFilter]] = {
    "one_euro raw-derivative (MediaPipe)": lambda: PoseSmoother.mediapipe("raw"),
    "one_euro filtered-derivative (2023 ref)": lambda: PoseSmoother.mediapipe("filtered"),
    "relative_velocity window 5 scale 10": lambda: PoseSmoother.relative_velocity(5, 10.0),
    "relative_velocity window 5 scale 20": lambda: PoseSmoother.relative_velocity(5, 20.0),
}


def track(
    video: Path, smooth: bool, threads: int, stop: int
) -> tuple[list[Pose | None], list[float]]:
    poses: list[Pose | None] = []
    times: list[float] = []
    with Tracker(smooth=smooth, num_threads=threads) as tracker:
        for result in tracker.stream(video):
            poses.append(result.pose)
            times.append(result.timestamp)
            if result.index + 1 >= stop:
                break
    return poses, times


def apply(
    make: Callable[[], PoseFilter], poses: Sequence[Pose | None], times: Sequence[float]
) -> list[Pose | None]:
    f = make()
    out: list[Pose | None] = []
    for pose, t in zip(poses, times, strict=True):
        if pose is None:
            f.reset()
            out.append(None)
        else:
            out.append(f(pose, t))
    return out


def motion(poses: Sequence[Pose | None], start: int, stop: int) -> np.ndarray:
    """Frame-to-frame displacement (px) of every landmark over consecutive frames with a pose."""
    steps = []
    for a, b in zip(poses[start : stop - 1], poses[start + 1 : stop], strict=True):
        if a is not None and b is not None:
            steps.append(np.linalg.norm(b.xy - a.xy, axis=1))
    return np.concatenate(steps) if steps else np.zeros(0)


def stats(d: np.ndarray) -> dict[str, float]:
    return {
        "median_px": float(np.median(d)),
        "p95_px": float(np.percentile(d, 95)),
        "mean_px": float(d.mean()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models-from", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    if args.models_from is not None:
        from posekit.models import install

        install(["pose_detection", "pose_landmark_full"], source=args.models_from, progress=False)

    by_video: dict[str, list[Stretch]] = {}
    for s in DEFAULT_STRETCHES:
        by_video.setdefault(s.video, []).append(s)
    report: list[dict[str, object]] = []
    for video, stretches in by_video.items():
        path = args.shared / video
        stop = max(s.stop for s in stretches)
        raw, times = track(path, False, args.threads, stop)
        tracked, _ = track(path, True, args.threads, stop)
        series = {"raw (smooth=False)": raw, "tracker smooth=True (aux-ROI scale)": tracked}
        for name, make in VARIANTS.items():
            series[name] = apply(make, raw, times)
        for s in stretches:
            base = motion(raw, s.start, s.stop)
            print(f"\n{video} frames {s.start}-{s.stop - 1} ({base.size // 33} steps x 33 lm)")
            print(
                f"{'variant':42s} {'median px':>9s} {'p95 px':>8s} {'mean px':>8s} {'vs raw':>7s}"
            )
            for name, poses in series.items():
                st = stats(motion(poses, s.start, s.stop))
                ratio = st["median_px"] / stats(base)["median_px"]
                print(
                    f"{name:42s} {st['median_px']:9.3f} {st['p95_px']:8.3f} "
                    f"{st['mean_px']:8.3f} {ratio:7.2f}"
                )
                report.append({"video": video, "start": s.start, "stop": s.stop,
                               "variant": name, **st})  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
