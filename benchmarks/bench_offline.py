"""Offline throughput on a video file: posekit vs MediaPipe's legacy ``mp.solutions.pose``.

Run in the benchmark environment made by ``benchmarks/setup_bench_env.sh``::

    .venv-bench/bin/python benchmarks/bench_offline.py \\
        --video ../shared/peer-data/squat_rohanx01_x5.mp4 --models lite,full,heavy --json out.json

Question answered: how fast does each library get through a whole file, decoding included?
Every (model, variant) runs in its own child process (this script with ``--child``), one after
the other, so peak RSS (``ru_maxrss`` of the child, from ``wait4``) is clean. Variants:

* posekit ``stream``: ``Tracker(model=M, mode="video")``, ``for r in tracker.stream(path)``:
  frames are decoded by a background thread (``prefetch`` default: 2 frames ahead) while the
  current one is tracked;
* posekit ``noprefetch``: the same with ``tracker.stream(path, prefetch=0)`` (decoding in the
  consumer's thread);
* posekit ``loop`` (not run by default): a plain ``cap.read()`` +
  ``tracker.process(frame, timestamp=i / fps)`` loop;
* MediaPipe: a plain ``cap.read()``, ``cv2.cvtColor(BGR2RGB)``, ``pose.process(rgb)`` loop with
  ``Pose(static_image_mode=False, model_complexity=M, smooth_landmarks=True,
  enable_segmentation=False)``.

Timed region: from opening the file (``cv2.VideoCapture`` / ``tracker.stream``) to the last
result, after the tracker / ``Pose`` object has been built (the model loads are reported
separately as ``init s``). The first frames' one-off costs are included (negligible over a whole
file; MediaPipe loads its models lazily at the first ``process()``, so its ``1st s``, open ->
first result, is larger). CPU/wall is the child's CPU time (all its threads) over that wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_peer import SPIN_CHOICES, run_measured  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
SPIN = {"default": None, "0": False, "1": True}
POSEKIT_VARIANTS = ("stream", "noprefetch", "loop")
DEFAULT_VARIANTS = "stream,noprefetch"
DEFAULT_VIDEO = HERE.parent.parent / "shared/peer-data/squat_rohanx01_x5.mp4"


# ---------------------------------------------------------------------------------- child side
def _proc_threads() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    return -1


def _child_posekit(args: argparse.Namespace) -> dict[str, Any]:
    import cv2

    import posekit
    from posekit.tracker import Tracker

    t_init = time.perf_counter()
    tracker = Tracker(
        model=args.model, mode="video", num_threads=args.threads, spin=SPIN[args.spin]
    )
    init_s = time.perf_counter() - t_init
    limit = args.frames
    n = with_pose = 0
    w0, c0 = time.perf_counter(), time.process_time()
    w_last, c_last = w0, c0
    first_s: float | None = None
    if args.variant == "loop":
        cap = cv2.VideoCapture(args.video)
        if not cap.isOpened():
            raise SystemExit(f"cannot open video {args.video}")
        fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0
        while limit is None or n < limit:
            ok, frame = cap.read()
            if not ok:
                break
            r = tracker.process(frame, timestamp=n / fps)
            n += 1
            with_pose += r.pose is not None
            w_last, c_last = time.perf_counter(), time.process_time()
            if first_s is None:
                first_s = w_last - w0
        cap.release()
    else:
        prefetch = None if args.variant == "stream" else 0
        for r in tracker.stream(args.video, prefetch=prefetch):
            n += 1
            with_pose += r.pose is not None
            w_last, c_last = time.perf_counter(), time.process_time()
            if first_s is None:
                first_s = w_last - w0
            if limit is not None and n >= limit:
                break
    threads = _proc_threads()
    tracker.close()
    import onnxruntime as ort

    return {
        "runtime": f"posekit {posekit.__version__} (onnxruntime {ort.__version__})",
        "threads_setting": (
            f"default ({getattr(tracker.landmarks.session, 'num_threads', '?')})"
            if args.threads is None
            else args.threads
        ),
        "spin": "default (landmarks only)" if SPIN[args.spin] is None else SPIN[args.spin],
        "init_s": init_s,
        "frames": n,
        "frames_with_pose": with_pose,
        "first_result_s": first_s,
        "wall_s": w_last - w0,
        "cpu_s": c_last - c0,
        "os_threads": threads,
    }


def _child_mediapipe(args: argparse.Namespace) -> dict[str, Any]:
    import cv2
    import mediapipe as mp

    t_init = time.perf_counter()
    pose = mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=COMPLEXITY[args.model],
        smooth_landmarks=True,
        enable_segmentation=False,
    )
    init_s = time.perf_counter() - t_init
    limit = args.frames
    n = with_pose = 0
    w0, c0 = time.perf_counter(), time.process_time()
    w_last, c_last = w0, c0
    first_s: float | None = None
    cap = cv2.VideoCapture(args.video)
    if not cap.isOpened():
        raise SystemExit(f"cannot open video {args.video}")
    while limit is None or n < limit:
        ok, frame = cap.read()
        if not ok:
            break
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        res = pose.process(rgb)
        n += 1
        with_pose += res.pose_landmarks is not None
        w_last, c_last = time.perf_counter(), time.process_time()
        if first_s is None:
            first_s = w_last - w0
    cap.release()
    threads = _proc_threads()
    pose.close()
    return {
        "runtime": f"mediapipe {mp.__version__} legacy mp.solutions.pose (TFLite + XNNPACK)",
        "threads_setting": "XNNPACK default (1 thread on desktop Linux)",
        "spin": None,
        "init_s": init_s,
        "frames": n,
        "frames_with_pose": with_pose,
        "first_result_s": first_s,
        "wall_s": w_last - w0,
        "cpu_s": c_last - c0,
        "os_threads": threads,
    }


def child_main(args: argparse.Namespace) -> int:
    """One side, one model, one variant over the video; writes ``args.out`` (JSON)."""
    run = _child_posekit if args.child == "posekit" else _child_mediapipe
    meta = run(args)
    meta |= {
        "side": args.child,
        "variant": args.variant if args.child == "posekit" else "loop",
        "model": args.model,
        "fps": meta["frames"] / meta["wall_s"] if meta["wall_s"] > 0 else None,
        # without the first result (MediaPipe's lazy model load; first-run allocations)
        "fps_after_first": (
            (meta["frames"] - 1) / (meta["wall_s"] - meta["first_result_s"])
            if meta["frames"] > 1 and meta["wall_s"] > meta["first_result_s"]
            else None
        ),
        "cpu_over_wall": meta["cpu_s"] / meta["wall_s"] if meta["wall_s"] > 0 else None,
        "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
    }
    Path(args.out).write_text(json.dumps(meta, indent=1))
    return 0


# --------------------------------------------------------------------------------- parent side
def _video_info(path: str) -> dict[str, Any]:
    import cv2

    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise SystemExit(f"cannot open video {path}: check --video")
    info = {
        "width": int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        "height": int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        "fps": float(cap.get(cv2.CAP_PROP_FPS)),
        "frame_count": int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
    }
    cap.release()
    return info


def _run_one(
    args: argparse.Namespace, side: str, variant: str, model: str, out: Path
) -> dict[str, Any]:
    cmd = [
        args.python, str(Path(__file__).resolve()), "--child", side, "--variant", variant,
        "--video", args.video, "--model", model, "--out", str(out),
    ]  # fmt: skip
    if args.frames:
        cmd += ["--frames", str(args.frames)]
    if side == "posekit" and args.posekit_threads is not None:
        cmd += ["--threads", str(args.posekit_threads)]
    if side == "posekit" and args.posekit_spin != "default":
        cmd += ["--spin", args.posekit_spin]
    load = os.getloadavg()[0]
    log = out.with_suffix(".log")
    rc, usage, wall = run_measured(cmd, log, args.busy)
    if rc != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{side} {variant} {model} failed (rc {rc}):\n{tail}")
    meta: dict[str, Any] = json.loads(out.read_text())
    meta["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # KiB on Linux
    meta["child_wall_s"] = wall
    meta["loadavg_1min_before"] = load
    meta["busy"] = args.busy
    return meta


def _summarise(metas: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repeats of the speed figures; every repeat's value kept as ``<key>_all``."""
    out = dict(metas[0])
    keys = ("fps", "fps_after_first", "wall_s", "cpu_over_wall", "peak_rss_mb", "init_s")
    for k in (*keys, "first_result_s"):
        vals = [m[k] for m in metas if m.get(k) is not None]
        out[k] = float(np.median(vals)) if vals else None
        out[k + "_all"] = vals
    out["frames_with_pose_all"] = [m["frames_with_pose"] for m in metas]
    return out


def _fmt(x: Any, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _label(row: dict[str, Any]) -> str:
    return "mediapipe" if row["side"] == "mediapipe" else f"posekit {row['variant']}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--models", default="lite,full,heavy")
    ap.add_argument(
        "--posekit-variants",
        default=DEFAULT_VARIANTS,
        help=f"any of {', '.join(POSEKIT_VARIANTS)} (default {DEFAULT_VARIANTS})",
    )
    ap.add_argument("--frames", type=int, default=None, help="first N frames (default: all)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per variant; fps is the median")
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run N busy-loop processes (one per core to occupy) during every child run",
    )
    ap.add_argument("--posekit-threads", type=int, default=None)
    ap.add_argument("--posekit-spin", choices=SPIN_CHOICES, default="default")
    ap.add_argument("--python", default=sys.executable, help="interpreter for the children")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep per-run json/log here")
    # child mode (used by the parent; not for direct use)
    ap.add_argument("--child", choices=("posekit", "mediapipe"), default=None, help="internal")
    ap.add_argument("--variant", choices=POSEKIT_VARIANTS, default="stream", help="internal")
    ap.add_argument("--model", choices=tuple(COMPLEXITY), default="full", help="internal")
    ap.add_argument("--threads", type=int, default=None, help="internal")
    ap.add_argument("--spin", choices=tuple(SPIN), default="default", help="internal")
    ap.add_argument("--out", default=None, help="internal")
    args = ap.parse_args()

    if args.frames is not None and args.frames < 1:
        ap.error("--frames must be >= 1 (leave it out for the whole video)")
    if args.child is not None:
        if args.out is None:
            ap.error("--child needs --out")
        return child_main(args)
    if args.busy < 0:
        ap.error(f"--busy {args.busy}: pass 0 or a positive number of busy-loop processes")
    if args.repeat < 1:
        ap.error("--repeat must be >= 1")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in COMPLEXITY:
            ap.error(f"unknown model {m!r}: choose from {', '.join(COMPLEXITY)}")
    variants = [v.strip() for v in args.posekit_variants.split(",") if v.strip()]
    for v in variants:
        if v not in POSEKIT_VARIANTS:
            ap.error(f"unknown posekit variant {v!r}: choose from {', '.join(POSEKIT_VARIANTS)}")
    video = _video_info(args.video)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_offline_"))
    work.mkdir(parents=True, exist_ok=True)

    runs = [("posekit", v) for v in variants] + [("mediapipe", "loop")]
    rows: list[dict[str, Any]] = []
    for model in models:
        per_run: dict[tuple[str, str], list[dict[str, Any]]] = {r: [] for r in runs}
        for rep in range(args.repeat):
            order = runs if rep % 2 == 0 else runs[::-1]  # alternate who goes first
            for side, variant in order:
                print(f"[bench] {model} {side} {variant} run {rep + 1}/{args.repeat} ...",
                      file=sys.stderr, flush=True)  # fmt: skip
                out = work / f"{model}_{side}_{variant}_{rep}.json"
                per_run[(side, variant)].append(_run_one(args, side, variant, model, out))
        rows += [_summarise(per_run[r]) for r in runs]

    n_frames = rows[0]["frames"]
    print()
    print(f"video {args.video}: {video['width']}x{video['height']}, {video['fps']:.2f} fps, "
          f"{n_frames} frames timed; {os.cpu_count()} CPU cores; wall = open file -> last "
          f"result (decoding included); fps = median of {args.repeat} run(s)"
          + (f"; under load: {args.busy} busy-loop process(es) during every run"
             if args.busy else ""))  # fmt: skip
    pk_cols = variants
    head = ["model", *(f"posekit {v} fps" for v in pk_cols), "MediaPipe fps"]
    if "stream" in pk_cols:
        head.append("ratio stream/MediaPipe")
    head.append("frames with pose (" + ", ".join([*(f"pk {v}" for v in pk_cols), "mp"]) + ")")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for model in models:
        by = {(r["side"], r["variant"]): r for r in rows if r["model"] == model}
        mp_row = by[("mediapipe", "loop")]
        cells = [model, *(_fmt(by[("posekit", v)]["fps"], ".1f") for v in pk_cols)]
        cells.append(_fmt(mp_row["fps"], ".1f"))
        if "stream" in pk_cols:
            s, m = by[("posekit", "stream")]["fps"], mp_row["fps"]
            cells.append(_fmt(s / m if s and m else None, ".2f"))
        each = [by[("posekit", v)] for v in pk_cols] + [mp_row]
        cells.append(", ".join(f"{r['frames_with_pose']}/{r['frames']}" for r in each))
        print("| " + " | ".join(cells) + " |")

    print()
    hdr = (f"{'model':6} {'run':18} {'fps':>7} {'fps>1st':>7} {'wall s':>8} {'cpu/wall':>8} "
           f"{'peakRSS MB':>10} {'init s':>7} {'1st s':>6} {'thr':>4} {'pose frames':>12} "
           f"{'load':>5}")  # fmt: skip
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['model']:6} {_label(r):18} {_fmt(r['fps'], '7.1f')} "
              f"{_fmt(r['fps_after_first'], '7.1f')} {r['wall_s']:8.2f} "
              f"{_fmt(r['cpu_over_wall'], '8.2f')} {r['peak_rss_mb']:10.0f} {r['init_s']:7.2f} "
              f"{_fmt(r['first_result_s'], '6.3f')} {r['os_threads']:4d} "
              f"{r['frames_with_pose']:5d}/{r['frames']:<6d} "
              f"{r['loadavg_1min_before']:5.2f}")  # fmt: skip
    pk = next((r for r in rows if r["side"] == "posekit"), None)
    mp = next(r for r in rows if r["side"] == "mediapipe")
    print()
    print("notes:")
    print(f"  mediapipe: {mp['runtime']}; threads: {mp['threads_setting']}; BGR->RGB conversion "
          "inside the timed loop")  # fmt: skip
    if pk:
        print(f"  posekit: {pk['runtime']}; threads: {pk['threads_setting']}; spin: {pk['spin']}; "
              "stream = Tracker.stream (decoder thread, 2 frames ahead), noprefetch = "
              "stream(prefetch=0), loop = cap.read() + process()")  # fmt: skip
    print("  cpu/wall = child CPU time (all threads) / wall time of the timed loop; "
          "peak RSS = ru_maxrss of the child; init = building Tracker / Pose (not timed); "
          "1st = open file -> first result (timed; MediaPipe loads its models lazily here); "
          "fps>1st = fps without the first result (use it with short --frames); "
          "thr = OS threads at the end; load = 1-min load average before the run")  # fmt: skip

    if args.json:
        doc = {
            "video": args.video, "video_info": video, "frames": args.frames,
            "repeat": args.repeat, "busy": args.busy, "cpu_count": os.cpu_count(),
            "posekit_threads": args.posekit_threads, "posekit_spin": args.posekit_spin,
            "runs": rows,
        }  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
