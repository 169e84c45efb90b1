"""Rep counts per squat video x camera yaw x cue: which cue counts from every camera angle.

Each squat video in ``../shared`` is tracked once (full model); every frame's world landmarks are
turned about the vertical axis by 0, 45, 90, 135 and 180 degrees and projected by a synthetic
camera (orthographic and pinhole, 3 m) into image landmarks
(:func:`posekit.analyzers.synthetic.synthetic_view`); each cue then counts the squats with
:class:`~posekit.analyzers.exercises.SquatCounter`'s thresholds for it. ``real`` is the
tracker's own output. Extra stress rows (``--stress``) tilt the camera (pitch about the x axis,
which ``hip_height`` cannot tell from a lean) and add noise to the world landmarks.

Usage::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_view_invariance.py [--stress] \\
        [--cache DIR] [--json out.json]

``--cache DIR`` keeps the tracker's poses in ``DIR/<video>.npz`` (re-used when present).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.body import torso_size
from posekit.analyzers.exercises import SquatCounter
from posekit.analyzers.synthetic import synthetic_view
from posekit.pose import Pose

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED", REPO.parent / "shared")).resolve()
VIDEOS = {  # expected counts (labels.json / by eye, see tests/test_counters.py)
    "squat_workouttracker_17": (SHARED / "data" / "videos" / "squat_workouttracker_17.mp4", 1),
    "squat_rohanx01": (SHARED / "peer-data" / "squat_rohanx01.mp4", 2),
    "barbell_squat_nqs": (SHARED / "peer-data" / "barbell_squat_nqs.mp4", 1),
}
YAWS = (0, 45, 90, 135, 180)
CUES = ("knee", "knee_3d", "hip_height", "hip_height_2d")
Track = tuple[np.ndarray, list[Pose | None]]


def track(path: Path, cache: Path | None) -> Track:
    """Timestamps and poses of one video (from the cache when there)."""
    if cache is not None and (cache / f"{path.stem}.npz").is_file():
        d = np.load(cache / f"{path.stem}.npz")
        poses: list[Pose | None] = [
            Pose(d["xy"][i], d["z"][i], d["vis"][i], d["pres"][i], score=float(d["score"][i]),
                 world=d["world"][i], image_size=(int(d["isz"][0]), int(d["isz"][1])))
            if d["has"][i] else None
            for i in range(len(d["ts"]))
        ]  # fmt: skip
        return d["ts"], poses
    from posekit.tracker import Tracker

    with Tracker() as tracker:
        results = list(tracker.stream(path))
    ts = np.array([r.timestamp for r in results])
    poses = [r.pose for r in results]
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        ok = [p for p in poses if p is not None and p.world is not None]
        blank = ok[0]

        def stack(attr: str) -> np.ndarray:
            return np.stack([getattr(p if p is not None else blank, attr) for p in poses])

        np.savez(
            cache / f"{path.stem}.npz", ts=ts, has=np.array([p is not None for p in poses]),
            xy=stack("xy"), z=stack("z"), vis=stack("visibility"), pres=stack("presence"),
            world=stack("world"), score=np.array([p.score if p else 0.0 for p in poses]),
            isz=np.array(blank.image_size),
        )  # fmt: skip
    return ts, poses


def _tilt(pose: Pose, pitch: float, noise: float, rng: np.random.Generator) -> Pose:
    assert pose.world is not None
    r = math.radians(pitch)
    rot = np.array([[1, 0, 0], [0, math.cos(r), math.sin(r)], [0, -math.sin(r), math.cos(r)]])
    world = pose.world @ rot + rng.normal(0.0, noise, (33, 3))
    return Pose(pose.xy, pose.z, pose.visibility, pose.presence, score=pose.score, world=world,
                image_size=pose.image_size)  # fmt: skip


def views(
    poses: Sequence[Pose | None], yaw: float, camera: str, pitch: float = 0.0, noise: float = 0.0
) -> list[Pose | None]:
    """The poses seen from ``yaw`` (after tilting / adding noise to the world landmarks)."""
    known = [(p.xy, p.world) for p in poses if p is not None and p.world is not None]
    scale = float(np.median([torso_size(xy) / torso_size(w) for xy, w in known]))
    rng = np.random.default_rng(0)
    out: list[Pose | None] = []
    for p in poses:
        if p is None:
            out.append(None)
            continue
        if pitch or noise:
            p = _tilt(p, pitch, noise, rng)
        out.append(synthetic_view(p, yaw, camera=camera, scale=scale))  # type: ignore[arg-type]
    return out


def count(ts: np.ndarray, poses: Sequence[Pose | None], cue: str) -> int:
    counter = SquatCounter(signal=cue)
    for i, (t, p) in enumerate(zip(ts, poses, strict=True)):
        counter.update(OfflineFrame(p, float(t), i))
    return counter.count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, help="folder for the tracker's poses (npz)")
    parser.add_argument("--stress", action="store_true", help="add pitch and noise rows")
    parser.add_argument("--json", type=Path, help="write the table as JSON")
    args = parser.parse_args(argv)

    rows: list[dict[str, object]] = []
    print(f"{'video':24s} {'view':22s} exp | " + " ".join(f"{c:>13s}" for c in CUES))
    t0 = time.perf_counter()
    settings: list[tuple[str, float | None, str, float, float]] = [("real", None, "", 0, 0)]
    settings += [(f"yaw{y:>3d} {cam[:5]}", y, cam, 0, 0) for y in YAWS
                 for cam in ("orthographic", "pinhole")]  # fmt: skip
    if args.stress:
        settings += [(f"yaw{y:>3d} pitch{p:+d}", y, "orthographic", p, 0) for y in (0, 90)
                     for p in (-20, 20, 30)]  # fmt: skip
        settings += [(f"yaw{y:>3d} noise 3cm", y, "orthographic", 0, 0.03) for y in (0, 90)]
    totals = dict.fromkeys(CUES, 0)
    for name, (path, expected) in VIDEOS.items():
        ts, poses = track(path, args.cache)
        for label, yaw, cam, pitch, noise in settings:
            seq = poses if yaw is None else views(poses, yaw, cam, pitch, noise)
            got = {cue: count(ts, seq, cue) for cue in CUES}
            for cue in CUES:
                totals[cue] += got[cue] == expected
            cells = " ".join(f"{got[c]:>11d}{'  ' if got[c] == expected else ' X'}" for c in CUES)
            print(f"{name:24s} {label:22s} {expected:3d} | {cells}", flush=True)
            rows.append({"video": name, "view": label, "expected": expected, **got})
    n = len(VIDEOS) * len(settings)
    print("exact: " + ", ".join(f"{c} {totals[c]}/{n}" for c in CUES))
    print(f"({time.perf_counter() - t0:.1f} s; X = wrong count)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
