"""posekit vs MediaPipe (legacy ``mp.solutions.pose``) on the same video: speed and agreement.

Run in the benchmark environment made by ``benchmarks/setup_bench_env.sh``::

    .venv-bench/bin/python benchmarks/bench_peer.py \\
        --video ../shared/peer-data/squat_rohanx01.mp4 --models lite,full,heavy --json out.json

Every (model, configuration, side) runs in its own child process (benchmarks/_peer_runner.py),
one after the other, so cold start and peak RSS (``ru_maxrss`` of the child, from ``wait4``) are
clean. Configurations:

* ``speed``: each side's defaults for video: tracking mode, smoothing on.
* ``agree-video``: tracking mode, smoothing off on both sides (``smooth_landmarks=False``).
* ``agree-image``: single-image mode on every frame (``static_image_mode=True`` / ``mode="image"``).
* ``image-default`` (not run by default): posekit's default image mode (``accuracy="balanced"``:
  re-crop refinement and detection recovery) against MediaPipe's static mode.
* ``agree-image-norefine`` (not run by default): as ``agree-image`` with posekit's
  ``refine_heatmap=False``. The agreement runs otherwise pass ``refine_heatmap=True`` and
  ``accuracy="fast"`` (the single-pass pipeline MediaPipe runs) to posekit,
  as MediaPipe's graph refines landmark x/y from the heatmap.

Latency is the ``process()`` call only (frames are decoded outside the timed region); the first
``--warmup`` frames are left out of p50/p90/fps (cold start covers them). Agreement is the pixel
distance between the two sides' landmarks 0-32 where both give visibility > 0.5, over frames
where both found a pose.

Under load: ``--busy N`` starts N busy-loop processes (``python -c "while True: pass"``, one per
core to occupy) about 0.5 s before each child and kills them when it ends, so both sides are
timed while sharing the cores; ``--posekit-spin 0|1`` sets onnxruntime's thread spinning
(``Tracker(spin=...)``, default: posekit's choice by mode) to compare thread settings under load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "_peer_runner.py"
# refine: posekit's refine_heatmap (None = posekit's default). MediaPipe's legacy graph always
# refines x/y from the heatmap (RefineLandmarksFromHeatmapCalculator), so the agreement runs turn
# it on for posekit too; "agree-image-norefine" shows what posekit's default gives.
# accuracy: posekit's accuracy policy (None = its default: "fast" in video mode, "balanced" in
# image mode). The agreement runs use "fast", the single-pass pipeline MediaPipe runs;
# "image-default" shows posekit's default image mode (re-crop refinement, recovery).
CONFIGS: dict[str, dict[str, Any]] = {
    "speed": {"mode": "video", "smooth": 1, "refine": None, "accuracy": None},
    "agree-video": {"mode": "video", "smooth": 0, "refine": 1, "accuracy": "fast"},
    "agree-image": {"mode": "image", "smooth": 0, "refine": 1, "accuracy": "fast"},
    "agree-image-norefine": {"mode": "image", "smooth": 0, "refine": 0, "accuracy": "fast"},
    "image-default": {"mode": "image", "smooth": 0, "refine": None, "accuracy": None},
}
DEFAULT_CONFIGS = "speed,agree-video,agree-image"
SIDES = ("posekit", "mediapipe")
TARGET_MEDIAN_PX, TARGET_P95_PX = 1.0, 3.0
BUSY_CODE = "while True: pass"
BUSY_SETTLE_S = 0.5
SPIN_CHOICES = ("default", "0", "1")


@contextlib.contextmanager
def busy_load(n: int, settle_s: float = BUSY_SETTLE_S) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Keep ``n`` cores busy for the duration of the ``with`` block.

    Starts ``n`` busy-loop processes (``python -c "while True: pass"``), waits ``settle_s`` for
    them to be scheduled, and kills and reaps them on the way out, also on an error or Ctrl-C.
    ``n == 0`` does nothing (no wait).

    Example::

        with busy_load(2):
            run_the_measurement()
    """
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", BUSY_CODE],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        if procs:
            time.sleep(settle_s)
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        for p in procs:
            p.wait()


def run_measured(cmd: list[str], log: Path, busy: int = 0) -> tuple[int, Any, float]:
    """Run ``cmd`` (stdout and stderr to ``log``) under ``busy`` busy-loop processes.

    Returns the exit code, the child's ``wait4`` resource usage (``ru_maxrss`` = its peak RSS in
    KiB on Linux) and the wall time from start to exit. The child is killed if waiting is
    interrupted (Ctrl-C).
    """
    with busy_load(busy), log.open("w") as fh:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
    return proc.returncode, usage, wall


def _run_child(
    python: str, side: str, video: str, model: str, cfg: dict[str, Any], args: argparse.Namespace,
    out: Path,
) -> dict[str, Any]:  # fmt: skip
    cmd = [
        python, str(RUNNER), "--side", side, "--video", video, "--model", model,
        "--mode", cfg["mode"], "--smooth", str(cfg["smooth"]), "--out", str(out),
    ]  # fmt: skip
    if args.frames:
        cmd += ["--frames", str(args.frames)]
    if side == "posekit" and args.posekit_threads is not None:
        cmd += ["--threads", str(args.posekit_threads)]
    if side == "posekit" and args.posekit_spin != "default":
        cmd += ["--spin", args.posekit_spin]
    if side == "posekit" and cfg["refine"] is not None:
        cmd += ["--refine-heatmap", str(cfg["refine"])]
    if side == "posekit" and cfg.get("accuracy") is not None:
        cmd += ["--accuracy", str(cfg["accuracy"])]
    load = os.getloadavg()[0]
    log = out.with_suffix(".log")
    rc, usage, wall = run_measured(cmd, log, args.busy)
    if rc != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{side} {model} {cfg} failed (rc {rc}):\n{tail}")
    meta: dict[str, Any] = json.loads(out.with_suffix(".json").read_text())
    meta["peak_rss_mb"] = usage.ru_maxrss / 1024.0  # KiB on Linux
    meta["child_wall_s"] = wall
    meta["loadavg_1min_before"] = load
    meta["busy"] = args.busy
    ms = np.load(out.with_suffix(".npz"))["ms"][args.warmup :]
    meta["p50_ms"] = float(np.percentile(ms, 50))
    meta["p90_ms"] = float(np.percentile(ms, 90))
    meta["mean_ms"] = float(ms.mean())
    meta["fps"] = 1000.0 / float(ms.mean())
    meta["npz"] = str(out.with_suffix(".npz"))
    return meta


def agreement(a_npz: str, b_npz: str, vis: float = 0.5) -> dict[str, Any]:
    """Pixel distances between two runs' landmarks where both are visible (> ``vis``)."""
    a, b = np.load(a_npz), np.load(b_npz)
    n = min(len(a["ms"]), len(b["ms"]))
    xa, xb = a["xy"][:n].astype(np.float64), b["xy"][:n].astype(np.float64)
    va, vb = a["visibility"][:n], b["visibility"][:n]
    both = ~np.isnan(va[:, 0]) & ~np.isnan(vb[:, 0])
    mask = both[:, None] & (va > vis) & (vb > vis)
    d = np.hypot(*(xa - xb).transpose(2, 0, 1))[mask]
    res: dict[str, Any] = {
        "frames": n,
        "frames_both_pose": int(both.sum()),
        "frames_only_posekit": int((~np.isnan(va[:, 0]) & np.isnan(vb[:, 0])).sum()),
        "frames_only_mediapipe": int((np.isnan(va[:, 0]) & ~np.isnan(vb[:, 0])).sum()),
        "points": int(d.size),
    }
    if d.size:
        counts = mask.sum(axis=0)
        per_kp = [
            float(np.median(np.hypot(*(xa[:, k] - xb[:, k]).T)[mask[:, k]]))
            if counts[k] else None
            for k in range(33)
        ]  # fmt: skip
        # the worst keypoint among those visible on both sides in >= 10 % of the frames
        enough = [(v, k) for k, v in enumerate(per_kp) if v is not None and counts[k] >= 0.1 * n]
        worst = max(enough or [(v, k) for k, v in enumerate(per_kp) if v is not None])
        res |= {
            "median_px": float(np.median(d)),
            "p95_px": float(np.percentile(d, 95)),
            "max_px": float(d.max()),
            "mean_px": float(d.mean()),
            "worst_keypoint": {
                "index": worst[1],
                "median_px": worst[0],
                "points": int(counts[worst[1]]),
            },
            "median_px_per_keypoint": per_kp,
            "points_per_keypoint": [int(c) for c in counts],
        }
    return res


def _fmt(x: Any, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _summarise(metas: list[dict[str, Any]]) -> dict[str, Any]:
    """Median over repeats of each timing figure; memory and cold start from every repeat."""
    keys = ("p50_ms", "p90_ms", "mean_ms", "fps", "cold_start_s", "peak_rss_mb", "cpu_over_wall")
    out = dict(metas[0])
    for k in keys:
        vals = [m[k] for m in metas if m.get(k) is not None]
        out[k] = float(np.median(vals)) if vals else None
        out[k + "_all"] = vals
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--video", default=str(HERE.parent.parent / "shared/peer-data/squat_rohanx01.mp4")
    )
    ap.add_argument("--models", default="lite,full,heavy")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"any of {', '.join(CONFIGS)}")
    ap.add_argument("--frames", type=int, default=None, help="first N frames (default: all)")
    ap.add_argument("--warmup", type=int, default=5, help="frames left out of latency stats")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the speed configuration")
    ap.add_argument("--posekit-threads", type=int, default=None)
    ap.add_argument(
        "--posekit-spin",
        choices=SPIN_CHOICES,
        default="default",
        help="Tracker(spin=None/False/True): onnxruntime threads busy-wait between runs",
    )
    ap.add_argument(
        "--busy",
        type=int,
        default=0,
        metavar="N",
        help="run N busy-loop processes (one per core to occupy) during every child run",
    )
    ap.add_argument(
        "--posekit-python",
        default=sys.executable,
        help="interpreter for the posekit side (default: this one)",
    )
    ap.add_argument("--mediapipe-python", default=sys.executable)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--keep", type=Path, default=None, help="keep per-run npz/json/log here")
    args = ap.parse_args()  # fmt: skip
    if args.busy < 0:
        ap.error(f"--busy {args.busy}: pass 0 or a positive number of busy-loop processes")

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for c in configs:
        if c not in CONFIGS:
            ap.error(f"unknown configuration {c!r}: choose from {', '.join(CONFIGS)}")
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench_peer_"))
    work.mkdir(parents=True, exist_ok=True)
    python = {"posekit": args.posekit_python, "mediapipe": args.mediapipe_python}

    results: list[dict[str, Any]] = []
    agreements: list[dict[str, Any]] = []
    for model in models:
        for config in configs:
            reps = args.repeat if config == "speed" else 1
            per_side: dict[str, list[dict[str, Any]]] = {s: [] for s in SIDES}
            for r in range(reps):
                order = SIDES if r % 2 == 0 else SIDES[::-1]  # alternate who goes first
                for side in order:
                    out = work / f"{model}_{config}_{side}_{r}"
                    print(f"[bench] {model} {config} {side} run {r + 1}/{reps} ...",
                          file=sys.stderr, flush=True)  # fmt: skip
                    per_side[side].append(
                        _run_child(
                            python[side], side, args.video, model, CONFIGS[config], args, out
                        )
                    )
            for side in SIDES:
                row = _summarise(per_side[side])
                row["config"] = config
                results.append(row)
            agr = agreement(per_side["posekit"][0]["npz"], per_side["mediapipe"][0]["npz"])
            agr |= {"model": model, "config": config}
            agreements.append(agr)

    first = results[0]
    print()
    print(f"video {args.video}: {first['video_size'][0]}x{first['video_size'][1]}, "
          f"{first['video_fps']:.2f} fps, {first['frames']} frames; {os.cpu_count()} CPU cores; "
          f"latency = process() only, first {args.warmup} frames excluded; "
          f"speed figures are medians of {args.repeat} run(s)"
          + (f"; under load: {args.busy} busy-loop process(es) during every run"
             if args.busy else ""))  # fmt: skip
    hdr = (f"{'model':6} {'config':20} {'side':10} {'p50 ms':>7} {'p90 ms':>7} {'fps':>6} "
           f"{'cold s':>7} {'peakRSS MB':>10} {'base MB':>7} {'cpu/wall':>8} {'thr':>4} "
           f"{'pose frames':>12} "
           f"{'load':>5}")  # fmt: skip
    print(hdr)
    print("-" * len(hdr))
    for row in results:
        print(f"{row['model']:6} {row['config']:20} {row['side']:10} {row['p50_ms']:7.2f} "
              f"{row['p90_ms']:7.2f} {row['fps']:6.1f} {_fmt(row['cold_start_s'], '7.2f')} "
              f"{row['peak_rss_mb']:10.0f} {row['rss_before_import_mb']:7.0f} "
              f"{_fmt(row['cpu_over_wall'], '8.2f')} "
              f"{row['os_threads_after_init']:4d} {row['frames_with_pose']:5d}/{row['frames']:<6d} "
              f"{row['loadavg_1min_before']:5.2f}")  # fmt: skip
    print()
    print(
        "posekit / MediaPipe (speed configuration): p50 latency, peak RSS, and peak RSS over "
        "each side's own base (python, numpy, cv2, the opened video, before the library's import)"
    )
    for model in models:
        pk = next((r for r in results if r["model"] == model and r["config"] == "speed"
                   and r["side"] == "posekit"), None)  # fmt: skip
        mp = next((r for r in results if r["model"] == model and r["config"] == "speed"
                   and r["side"] == "mediapipe"), None)  # fmt: skip
        if pk is None or mp is None:
            continue
        grow_pk = pk["peak_rss_mb"] - pk["rss_before_import_mb"]
        grow_mp = mp["peak_rss_mb"] - mp["rss_before_import_mb"]
        print(f"  {model:6} p50 {pk['p50_ms'] / mp['p50_ms']:.2f}  peak RSS "
              f"{pk['peak_rss_mb'] / mp['peak_rss_mb']:.2f}  RSS over base "
              f"{grow_pk:.0f} / {grow_mp:.0f} MB = {grow_pk / grow_mp:.2f}")  # fmt: skip
    print()
    print("landmark agreement posekit vs MediaPipe (px; landmarks 0-32 with visibility > 0.5 on "
          "both sides, frames where both have a pose)")  # fmt: skip
    hdr2 = (f"{'model':6} {'config':20} {'both':>6} {'only pk':>7} {'only mp':>7} {'points':>7} "
            f"{'median':>7} {'p95':>7} {'max':>7}  worst keypoint (median px)")  # fmt: skip
    print(hdr2)
    print("-" * len(hdr2))
    for a in agreements:
        worst = a.get("worst_keypoint")
        worst_s = "" if worst is None else f"{worst['index']} ({worst['median_px']:.2f})"
        print(f"{a['model']:6} {a['config']:20} {a['frames_both_pose']:6d} "
              f"{a['frames_only_posekit']:7d} {a['frames_only_mediapipe']:7d} {a['points']:7d} "
              f"{_fmt(a.get('median_px'), '7.3f')} {_fmt(a.get('p95_px'), '7.3f')} "
              f"{_fmt(a.get('max_px'), '7.2f')}  "
              f"{worst_s}")  # fmt: skip
        if a["model"] == "full" and a["config"] == "agree-image" and "median_px" in a:
            ok = a["median_px"] <= TARGET_MEDIAN_PX and a["p95_px"] <= TARGET_P95_PX
            a["target_met"] = ok
            print(f"       target (image mode, full): median <= {TARGET_MEDIAN_PX} px and "
                  f"p95 <= {TARGET_P95_PX} px: {'MET' if ok else 'NOT MET'}")  # fmt: skip
    mp_row = next((r for r in results if r["side"] == "mediapipe"), None)
    pk_row = next((r for r in results if r["side"] == "posekit"), None)
    print()
    print("notes:")
    if mp_row:
        print(f"  mediapipe: {mp_row['runtime']}; threads: {mp_row['threads_setting']}; "
              f"timestamps: {mp_row['timestamps']}; {mp_row['convert']} "
              f"({_fmt(mp_row['convert_ms'], '.2f')} ms/frame, not in the latency)")  # fmt: skip
    if pk_row:
        spin = "" if args.posekit_spin == "default" else f"; spin: {pk_row.get('spin')}"
        print(f"  posekit: {pk_row['runtime']}; threads: {pk_row['threads_setting']}{spin}; "
              f"timestamps: {pk_row['timestamps']}")  # fmt: skip
    for row in results:
        ad = row.get("adaptive_threads")
        if row["side"] == "posekit" and ad:
            print(f"  posekit {row['model']} {row['config']} adaptive threads (first run): "
                  f"fallback built {ad['fallback_built']}, switches {ad['switches']}, "
                  f"runs {ad['runs']}")  # fmt: skip
    for side in SIDES:
        row = next((r for r in results if r["side"] == side), None)
        if row:
            print(f"  {side} environment: python {row['python']}, numpy {row['numpy']}, "
                  f"opencv {row['cv2']} ({python[side]})")  # fmt: skip
    print("  cpu/wall = process CPU time / wall time inside process(): ~1 means one busy core; "
          "thr = OS threads after start-up; load = 1-min load average before the run "
          "(other work on the machine inflates timings)")  # fmt: skip
    print(
        "  cold start = import of the library -> first frame with a pose, decoding excluded; "
        "peak RSS = ru_maxrss of the child (includes python, numpy, cv2 and the decoded frames)"
    )

    if args.json:
        doc = {
            "video": args.video, "frames": args.frames, "warmup": args.warmup,
            "repeat": args.repeat, "cpu_count": os.cpu_count(), "busy": args.busy,
            "posekit_threads": args.posekit_threads, "posekit_spin": args.posekit_spin,
            "runs": results, "agreement": agreements,
        }  # fmt: skip
        args.json.write_text(json.dumps(doc, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
