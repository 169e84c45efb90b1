"""Where a tracked frame's time goes: raw onnxruntime inference vs the rest of the pipeline.

Two measurements:

``frames`` (default): decode a video once, then run ``Tracker.process`` on its frames (video
mode, the given model) with every stage wrapped in a timer, and print per-frame milliseconds by
stage (mean over the timed frames, first ``--warmup`` excluded): frame validation, detector
pre/post-processing, ROI crop (warpAffine), tensor prep (uint8 -> float32 RGB), landmark
inference, output unpacking, decoding (projection, heatmap refinement, sigmoids), smoothing,
ROI prediction and Pose construction. The pipeline overhead is ``total - inference`` and is
reported as a percentage of inference. The timers cost about 1 µs per wrapped call; the
untimed mean ``process()`` time of a second, unwrapped pass is printed too. A raw inference
baseline (the same session on a fixed tensor, back to back) shows what the model alone costs.

``stream``: frames per second of ``Tracker.stream(video)`` including decoding, once with
``prefetch=0`` (decode in the consumer's thread: the old behaviour) and once per
``--prefetch`` value (background decoder thread).

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/profile_pipeline.py frames --model full
    PYTHONPATH=. .venv/bin/python benchmarks/profile_pipeline.py stream \\
        --video ../shared/peer-data/squat_rohanx01_x5.mp4 --prefetch 2,4
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np

import posekit.landmarks as landmarks_mod
import posekit.tracker as tracker_mod
from posekit.filters import OneEuroFilter, PoseSmoother
from posekit.image import as_frame
from posekit.landmarks import LandmarkModel
from posekit.roi import RotatedRect
from posekit.tracker import Tracker

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DEFAULT_VIDEO = SHARED / "data" / "videos" / "squat_workouttracker_17.mp4"


class Clock:
    """Accumulates milliseconds per stage name."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.ms[name] += (time.perf_counter() - t0) * 1e3
                self.calls[name] += 1

        return timed


@contextmanager
def patched(obj: Any, attr: str, new: Any) -> Iterator[None]:
    old = getattr(obj, attr)
    setattr(obj, attr, new)
    try:
        yield
    finally:
        setattr(obj, attr, old)


def read_video(path: Path, limit: int) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    if not frames:
        sys.exit(f"no frames decoded from {path}")
    return frames


def raw_inference_ms(session: Any, names: list[str], shape: tuple[int, ...], n: int) -> float:
    x = np.random.default_rng(0).random(shape, dtype=np.float32)
    for _ in range(10):
        session.run_outputs(names, {"input_1": x})
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        session.run_outputs(names, {"input_1": x})
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.mean(times)


def profile_frames(args: argparse.Namespace) -> None:
    frames = read_video(Path(args.video), args.frames)
    reps = max(1, -(-args.min_frames // len(frames)))
    if args.cv_threads is not None:
        cv2.setNumThreads(args.cv_threads)
    spin = None if args.spin == "default" else args.spin == "1"
    tracker = Tracker(model=args.model, num_threads=args.threads, spin=spin)
    det_sess = tracker.detector.session
    # raw runs on the threaded session itself, not through the adaptive wrapper's policy
    lm_sess = getattr(tracker.landmarks.session, "primary", tracker.landmarks.session)
    clock = Clock()
    lm_names = ["Identity", "Identity_1", "Identity_4"] + (
        ["Identity_3"] if tracker.landmarks.refine_heatmap else []
    )

    # A decoder writes each frame just before it is processed, so it is in the CPU cache; frames
    # read from a list decoded up front are not (on this machine that tripled the crop's time).
    # Copying each frame into one buffer outside the timed region reproduces the live case.
    buf = np.empty_like(frames[0])

    def run(timed: bool) -> list[float]:
        tracker.reset()
        totals = []
        ts = 0.0
        for _ in range(reps):
            for frame in frames:
                ts += 1 / 30
                if args.cold:
                    current = frame
                else:
                    np.copyto(buf, frame)
                    current = buf
                t0 = time.perf_counter()
                tracker.process(current, ts)
                totals.append((time.perf_counter() - t0) * 1e3)
        return totals

    # untimed pass first (also warms everything up)
    plain = run(False)[args.warmup :]
    wrappers = [
        (tracker_mod, "as_frame", "validate frame (as_frame)"),
        (tracker_mod, "Pose", "Pose construction"),
        (landmarks_mod, "crop_to_tensor", "landmark tensor prep"),
        (landmarks_mod, "refine_from_heatmap", "heatmap refinement"),
    ]
    with (
        patched(det_sess, "run_outputs", clock.wrap("detector inference", det_sess.run_outputs)),
        patched(lm_sess, "run_outputs", clock.wrap("landmark inference", lm_sess.run_outputs)),
        patched(
            tracker.detector,
            "detect_one",
            clock.wrap("detector total", tracker.detector.detect_one),
        ),
        patched(
            tracker.landmarks._cropper,
            "crop",
            clock.wrap("landmark crop (warpAffine)", tracker.landmarks._cropper.crop),
        ),
        patched(LandmarkModel, "infer", clock.wrap("landmark infer total", LandmarkModel.infer)),
        patched(LandmarkModel, "decode", clock.wrap("landmark decode total", LandmarkModel.decode)),
        patched(
            PoseSmoother,
            "smooth_arrays",
            clock.wrap("pose smoothing (3 filters)", PoseSmoother.smooth_arrays),
        ),
        patched(
            OneEuroFilter,
            "__call__",
            clock.wrap("One Euro calls (pose + ROI points)", OneEuroFilter.__call__),
        ),
        patched(
            RotatedRect,
            "from_alignment_points",
            clock.wrap("ROI from points", RotatedRect.from_alignment_points),
        ),
    ):
        for mod, attr, name in wrappers:
            setattr(mod, attr, clock.wrap(name, getattr(mod, attr)))
        try:
            tracker.reset()
            run(True)  # warm-up of the wrapped code
            clock.ms.clear()
            clock.calls.clear()
            totals = run(True)
        finally:
            for mod, attr, _ in wrappers:
                setattr(mod, attr, getattr(mod, attr).__wrapped__)
    n = len(totals)
    per = {k: v / n for k, v in clock.ms.items()}
    total = statistics.mean(totals)
    inference = per.get("detector inference", 0.0) + per.get("landmark inference", 0.0)
    rows = [
        ("validate frame (as_frame)", per.get("validate frame (as_frame)", 0.0)),
        (
            "detector pre/post (letterbox, decode, NMS)",
            per.get("detector total", 0.0) - per.get("detector inference", 0.0),
        ),
        ("detector inference", per.get("detector inference", 0.0)),
        ("landmark crop (warpAffine)", per.get("landmark crop (warpAffine)", 0.0)),
        ("landmark tensor prep", per.get("landmark tensor prep", 0.0)),
        ("landmark inference", per.get("landmark inference", 0.0)),
        (
            "landmark output unpacking",
            per.get("landmark infer total", 0.0) - per.get("landmark inference", 0.0),
        ),
        ("heatmap refinement", per.get("heatmap refinement", 0.0)),
        (
            "landmark decode (projection, sigmoids)",
            per.get("landmark decode total", 0.0) - per.get("heatmap refinement", 0.0),
        ),
        ("smoothing (3 filters)", per.get("smoothing (3 filters)", 0.0)),
        ("ROI from points", per.get("ROI from points", 0.0)),
        ("Pose construction", per.get("Pose construction", 0.0)),
    ]
    accounted = sum(v for _, v in rows)
    rows.append(("rest of Tracker.process (bookkeeping, timers)", total - accounted))
    det_runs = clock.calls.get("detector inference", 0)
    print(
        f"model={args.model} threads={tracker.landmarks.session.num_threads} "  # type: ignore[attr-defined]
        f"video={Path(args.video).name} frames timed={n} detector runs={det_runs}"
    )
    print(f"{'stage':48s} {'ms/frame':>9s} {'% of total':>10s}")
    for name, ms in rows:
        print(f"{name:48s} {ms:9.3f} {100 * ms / total:9.1f}%")
    print(f"{'total (timed pass)':48s} {total:9.3f}")
    overhead = total - inference
    print(
        f"\ninference {inference:.3f} ms, pipeline overhead {overhead:.3f} ms "
        f"= {100 * overhead / inference:.1f} % of inference (timed pass)"
    )
    plain_mean = statistics.mean(plain)
    print(
        f"untimed pass: process() mean {plain_mean:.3f} ms, p50 "
        f"{statistics.median(plain):.3f} ms; overhead vs in-pipeline inference "
        f"{100 * (plain_mean - inference) / inference:.1f} %"
    )
    raw_lm = raw_inference_ms(lm_sess, lm_names, (1, 256, 256, 3), 200)
    raw_det = raw_inference_ms(det_sess, ["Identity", "Identity_1"], (1, 224, 224, 3), 100)
    det_share = det_runs / n
    raw = raw_lm + det_share * raw_det
    print(
        f"raw onnxruntime back to back: landmark {raw_lm:.3f} ms, detector {raw_det:.3f} ms "
        f"(x {det_share:.3f} runs/frame) -> {raw:.3f} ms/frame; untimed process() is "
        f"{100 * (plain_mean - raw) / raw:.1f} % above it"
    )
    if args.blocks:
        r = interleaved_overhead(tracker, frames, lm_names, args.blocks)
        print(
            f"interleaved ({args.blocks} blocks of 50 tracked frames / 50 floor frames / 50 raw "
            f"landmark runs): process() p50 {r['process_p50']:.3f} ms, raw inference p50 "
            f"{r['raw_p50']:.3f} ms, pipeline on top {r['process_pct']:+.1f} % (median over "
            "blocks)"
        )
        if "floor_pct" in r:
            print(
                f"floor (crop + tensor prep + the same run, nothing else) p50 "
                f"{r['floor_p50']:.3f} ms: {r['floor_pct']:+.1f} % on top of raw inference"
            )


def interleaved_overhead(
    tracker: Tracker,
    frames: list[np.ndarray],
    lm_names: list[str],
    blocks: int,
    block: int = 50,
) -> dict[str, float]:
    """process() and the floor against raw inference of the same landmark session, in blocks.

    The machine's speed drifts by tens of percent over minutes, so a process() pass followed by a
    raw pass can be off by more than the overhead being measured. Here each block of ``block``
    tracked frames is followed by ``block`` *floor* frames and ``block`` raw runs (on the crop
    of a real frame). A floor frame does only what no pipeline can skip: copy the frame in (as
    a decoder would, untimed), crop the tracked ROI (warpAffine), turn it into the float tensor
    and run the same session with the same outputs; nothing is unpacked, refined, decoded,
    smoothed or wrapped. The overheads are medians over blocks of p50 / raw p50 - 1.

    Returns process/floor/raw p50 ms over all blocks and the two overheads in %.
    """
    # raw runs on the threaded session itself, not through the adaptive wrapper's policy
    lm_sess = getattr(tracker.landmarks.session, "primary", tracker.landmarks.session)
    lm = tracker.landmarks
    buf = np.empty_like(frames[0])
    tracker.reset()
    tensor = None
    rois: list[Any] = []
    ts = 0.0
    i = 0
    all_ms: dict[str, list[float]] = defaultdict(list)
    ratios: dict[str, list[float]] = defaultdict(list)
    for _ in range(blocks):
        proc: list[float] = []
        start = i
        for _ in range(block):
            np.copyto(buf, frames[i % len(frames)])
            i += 1
            ts += 1 / 30
            t0 = time.perf_counter()
            res = tracker.process(buf, ts)
            proc.append((time.perf_counter() - t0) * 1e3)
            rois.append(res.roi if tracker.is_tracking else None)
            if tensor is None and res.pose is not None and tracker.is_tracking:
                tensor = lm.crop(as_frame(buf), res.roi).copy()
        floor: list[float] = []
        for j in range(block):
            roi = rois[start + j]
            if roi is None:
                continue
            np.copyto(buf, frames[(start + j) % len(frames)])
            t0 = time.perf_counter()
            x_floor = lm.crop(as_frame(buf), roi)
            lm_sess.run_outputs(lm_names, {"input_1": x_floor})
            floor.append((time.perf_counter() - t0) * 1e3)
        x = tensor if tensor is not None else np.zeros((1, 256, 256, 3), np.float32)
        raw: list[float] = []
        for _ in range(block):
            t0 = time.perf_counter()
            lm_sess.run_outputs(lm_names, {"input_1": x})
            raw.append((time.perf_counter() - t0) * 1e3)
        raw50 = statistics.median(raw)
        for name, ms in (("process", proc), ("floor", floor), ("raw", raw)):
            all_ms[name] += ms
            if ms and name != "raw":
                ratios[name].append(statistics.median(ms) / raw50 - 1.0)
    out = {f"{k}_p50": statistics.median(v) for k, v in all_ms.items() if v}
    for name, r in ratios.items():
        out[f"{name}_pct"] = 100 * statistics.median(r)
    return out


def profile_stream(args: argparse.Namespace) -> None:
    video = Path(args.video)
    depths = [0] + [int(v) for v in args.prefetch.split(",") if v]
    results: dict[int, list[float]] = defaultdict(list)
    for _ in range(args.repeat):
        for depth in depths:
            with Tracker(model=args.model, num_threads=args.threads) as tracker:
                t0 = time.perf_counter()
                n = 0
                for _r in tracker.stream(video, prefetch=depth):
                    n += 1
                    if args.frames and n >= args.frames:
                        break
                dt = time.perf_counter() - t0
            results[depth].append(n / dt)
            print(f"prefetch={depth}: {n} frames in {dt:.2f} s = {n / dt:.1f} frames/s", flush=True)
    print(f"\nvideo={video.name} model={args.model} threads={args.threads} (best of {args.repeat})")
    base = max(results[0])
    for depth in depths:
        best = max(results[depth])
        print(f"prefetch={depth}: {best:.1f} frames/s ({100 * (best / base - 1):+.1f} %)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p1 = sub.add_parser("frames", help="per-stage breakdown of Tracker.process")
    p1.add_argument("--video", default=str(DEFAULT_VIDEO))
    p1.add_argument("--model", default="full")
    p1.add_argument("--threads", type=int, default=None)
    p1.add_argument("--spin", choices=("default", "0", "1"), default="default")
    p1.add_argument(
        "--cold", action="store_true", help="process frames from the decoded list (cache-cold)"
    )
    p1.add_argument("--cv-threads", type=int, default=None, help="cv2.setNumThreads before")
    p1.add_argument("--frames", type=int, default=300, help="frames decoded from the video")
    p1.add_argument("--min-frames", type=int, default=300, help="frames timed (video looped)")
    p1.add_argument("--warmup", type=int, default=20)
    p1.add_argument(
        "--blocks",
        type=int,
        default=20,
        help="alternating process()/raw blocks for the drift-free overhead (0: skip)",
    )
    p2 = sub.add_parser("stream", help="frames/s of Tracker.stream with and without prefetch")
    p2.add_argument("--video", default=str(SHARED / "peer-data" / "squat_rohanx01_x5.mp4"))
    p2.add_argument("--model", default="full")
    p2.add_argument("--threads", type=int, default=None)
    p2.add_argument("--prefetch", default="2,4")
    p2.add_argument("--frames", type=int, default=0, help="stop after N frames (0: whole video)")
    p2.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    if args.cmd == "frames":
        profile_frames(args)
    else:
        profile_stream(args)


if __name__ == "__main__":
    main()
