"""Soak test: N frames through one tracker, printing the RSS curve and ms/frame per window.

The dev videos are decoded once (optionally downscaled with ``--scale`` to keep the frame cache
small; the landmark crop is resampled from the frame, so the model sees the same kind of input)
and then cycled with steadily increasing timestamps (``1 / fps`` apart, continuing across
cycles), so a single video-mode tracker sees ``--frames`` frames. Every ``--window`` frames it
prints the resident set size (``/proc/self/statm``), the peak RSS, ms/frame (mean, p50, p90)
over the window, the detector runs, the frames with a pose, and which landmark session the
adaptive-thread policy uses (``2thr`` / ``1thr``, ``+fb`` once the one-thread fallback exists, with
the number of switches; see :mod:`posekit.adaptive`: building the fallback adds its own copy of the
weights to the RSS, full +15 MiB, heavy +64 MiB). The summary compares the end
with the first window after warm-up: RSS growth (%) and slowdown (%, mean ms/frame of the last
window against the first post-warm-up window). A machine whose speed drifts (other tenants, CPU
frequency) also moves that figure, so the run ends with a control: alternating blocks of the
soaked tracker and a freshly built one on the same frames; a soaked/fresh ratio near 1 means
the tracker itself did not slow down.

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_soak.py              # 100,000 frames
    PYTHONPATH=. .venv/bin/python benchmarks/bench_soak.py --frames 20000 --json soak.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from posekit.tracker import Tracker

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEFAULT_VIDEOS = (
    SHARED / "data" / "videos" / "squat_workouttracker_17.mp4",
    SHARED / "peer-data" / "squat_rohanx01.mp4",
)
_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Current resident set size in MiB (Linux /proc; peak RSS elsewhere)."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * _PAGE / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def adaptive_state(tracker: Tracker) -> dict[str, object] | None:
    """The landmark session's adaptive-thread state, or None when the threads are pinned."""
    sess = tracker.landmarks.session
    if not hasattr(sess, "fallback_built"):
        return None
    return {
        "active": sess.active,  # type: ignore[attr-defined]
        "fallback_built": sess.fallback_built,
        "switches": sess.switches,  # type: ignore[attr-defined]
    }


def _fmt_state(state: dict[str, object] | None) -> str:
    if state is None:
        return "pinned"
    text = "2thr" if state["active"] == "primary" else "1thr"
    return text + (f"+fb/{state['switches']}sw" if state["fallback_built"] else "")


def load_frames(videos: list[Path], scale: float, limit: int) -> list[np.ndarray]:
    frames: list[np.ndarray] = []
    for path in videos:
        cap = cv2.VideoCapture(str(path))
        n = 0
        while n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            if scale != 1.0:
                frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            frames.append(np.ascontiguousarray(frame))
            n += 1
        cap.release()
        if n == 0:
            sys.exit(f"no frames decoded from {path}")
    return frames


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=5_000)
    parser.add_argument("--warmup-windows", type=int, default=1)
    parser.add_argument("--model", default="full")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--videos", nargs="*", type=Path, default=list(DEFAULT_VIDEOS))
    parser.add_argument("--scale", type=float, default=0.5, help="downscale decoded frames")
    parser.add_argument("--max-per-video", type=int, default=400)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--control-rounds", type=int, default=3)
    parser.add_argument("--control-block", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    frames = load_frames(args.videos, args.scale, args.max_per_video)
    tracker = Tracker(model=args.model, num_threads=args.threads)
    print(
        f"soak: {args.frames} frames, model={args.model}, {len(frames)} distinct frames from "
        f"{len(args.videos)} videos (scale {args.scale}), window {args.window}; "
        f"RSS after loading {rss_mb():.1f} MiB",
        flush=True,
    )
    header = (
        f"{'frames':>8s} {'rss MiB':>8s} {'peak MiB':>8s} {'mean ms':>8s} {'p50 ms':>7s} "
        f"{'p90 ms':>7s} {'det runs':>8s} {'poses':>6s} {'session':>12s}"
    )
    print(header, flush=True)
    windows: list[dict[str, Any]] = []
    times = np.empty(args.window, np.float64)
    det0 = tracker.detector_runs
    poses = 0
    k = 0
    start = time.perf_counter()
    for i in range(args.frames):
        frame = frames[i % len(frames)]
        t0 = time.perf_counter()
        r = tracker.process(frame, i / args.fps)
        times[k] = time.perf_counter() - t0
        poses += r.pose is not None
        k += 1
        if k == args.window or i == args.frames - 1:
            w = times[:k] * 1e3
            row: dict[str, Any] = {
                "frames": i + 1,
                "rss_mb": rss_mb(),
                "peak_rss_mb": peak_rss_mb(),
                "mean_ms": float(w.mean()),
                "p50_ms": float(np.percentile(w, 50)),
                "p90_ms": float(np.percentile(w, 90)),
                "detector_runs": tracker.detector_runs - det0,
                "poses": poses,
                "adaptive": adaptive_state(tracker),
            }
            windows.append(row)
            print(
                f"{row['frames']:8d} {row['rss_mb']:8.1f} {row['peak_rss_mb']:8.1f} "
                f"{row['mean_ms']:8.2f} {row['p50_ms']:7.2f} {row['p90_ms']:7.2f} "
                f"{row['detector_runs']:8d} {row['poses']:6d} "
                f"{_fmt_state(row['adaptive']):>12s}",
                flush=True,
            )
            det0, poses, k = tracker.detector_runs, 0, 0
    wall = time.perf_counter() - start
    base = windows[min(max(args.warmup_windows - 1, 0), len(windows) - 1)]
    last = windows[-1]
    post = windows[args.warmup_windows :] or windows
    growth = 100 * (last["rss_mb"] / base["rss_mb"] - 1)
    slowdown = 100 * (last["mean_ms"] / post[0]["mean_ms"] - 1)
    trend = np.polyfit([w["frames"] for w in post], [w["mean_ms"] for w in post], 1)[0]
    print(
        f"\n{args.frames} frames in {wall:.0f} s; RSS after warm-up ({base['frames']} frames) "
        f"{base['rss_mb']:.1f} MiB -> end {last['rss_mb']:.1f} MiB: {growth:+.2f} % "
        f"({last['rss_mb'] - base['rss_mb']:+.1f} MiB); "
        f"max RSS after warm-up {max(w['rss_mb'] for w in post):.1f} MiB; "
        f"mean ms/frame first post-warm-up window {post[0]['mean_ms']:.2f} -> last "
        f"{last['mean_ms']:.2f}: {slowdown:+.1f} % (linear trend "
        f"{trend * 10_000:+.3f} ms per 10k frames); median of windows "
        f"{statistics.median(w['mean_ms'] for w in post):.2f} ms",
        flush=True,
    )
    # Control: is a slower end the tracker's state or the machine's? Alternate blocks of the
    # soaked tracker and a fresh one on the same frames, side by side in this process.
    fresh = Tracker(model=args.model, num_threads=args.threads)
    block = max(1, min(args.control_block, len(frames)))
    soaked_ms: list[float] = []
    fresh_ms: list[float] = []
    t_soaked = args.frames / args.fps
    for rnd in range(args.control_rounds * 2):
        trk, sink = (tracker, soaked_ms) if rnd % 2 == 0 else (fresh, fresh_ms)
        trk.reset()
        for j in range(block):
            t_soaked += 1 / args.fps
            t0 = time.perf_counter()
            trk.process(frames[j % len(frames)], t_soaked)
            sink.append((time.perf_counter() - t0) * 1e3)
    control = {
        "soaked_mean_ms": statistics.mean(soaked_ms),
        "fresh_mean_ms": statistics.mean(fresh_ms),
        "soaked_p50_ms": statistics.median(soaked_ms),
        "fresh_p50_ms": statistics.median(fresh_ms),
    }
    print(
        f"control ({args.control_rounds} alternating blocks of {block} frames each): soaked "
        f"tracker {control['soaked_mean_ms']:.2f} ms mean / {control['soaked_p50_ms']:.2f} p50, "
        f"fresh tracker {control['fresh_mean_ms']:.2f} / {control['fresh_p50_ms']:.2f}: "
        f"soaked/fresh {control['soaked_mean_ms'] / control['fresh_mean_ms']:.3f}",
        flush=True,
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "frames": args.frames,
                    "model": args.model,
                    "windows": windows,
                    "rss_growth_pct": growth,
                    "slowdown_pct": slowdown,
                    "control": control,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
