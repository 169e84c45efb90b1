"""Several video files at once: ``posekit run --jobs J`` against MediaPipe frame by frame.

Run in the benchmark environment made by ``benchmarks/setup_bench_env.sh``::

    .venv-bench/bin/python benchmarks/bench_files.py \\
        --video ../shared/peer-data/squat_rohanx01_x5.mp4 --copies 4 --models lite,full,heavy

Question answered: how fast does a batch of files get tracked end to end, when each library is
used the way its users would drive it from a script? ``--copies N`` inputs (links to ``--video``
under distinct names, so each is its own input) are processed by:

* posekit ``run --jobs J`` (the command line: one tracker per input, inputs spread over a
  process pool of J workers, each with ``cpu_count / J`` onnxruntime threads; ``--jobs 1`` runs
  them one after the other in one process with the default threads);
* MediaPipe ``jobs J``: the legacy ``mp.solutions.pose.Pose`` (video mode, smoothing on, no
  mask), a new ``Pose`` per input, frames read with OpenCV, converted BGR->RGB and processed one
  by one; ``jobs 1`` in one process, ``jobs J`` in a ``ProcessPoolExecutor`` of J workers (the
  obvious way to use the cores with a single-threaded library).

Wall time is the whole command, from starting the child process to its exit: interpreter
start-up, imports, model loads, decoding and tracking of every frame. Aggregate fps = total
frames / wall time. Nothing is written to disk by either side (no exports), so the figure is
tracking throughput. Each configuration runs in its own child process, one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_peer import run_measured  # noqa: E402

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
DEFAULT_VIDEO = HERE.parent.parent / "shared/peer-data/squat_rohanx01_x5.mp4"


# ---------------------------------------------------------------------------- MediaPipe child
def _mediapipe_file(path: str, model: str, limit: int | None) -> tuple[int, int]:
    """Track one file with a fresh legacy Pose; returns (frames, frames with a pose)."""
    import cv2
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=COMPLEXITY[model],
        smooth_landmarks=True,
        enable_segmentation=False,
    )
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise SystemExit(f"cannot open video {path}")
    n = with_pose = 0
    while limit is None or n < limit:
        ok, frame = cap.read()
        if not ok:
            break
        res = pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        n += 1
        with_pose += res.pose_landmarks is not None
    cap.release()
    pose.close()
    return n, with_pose


def mediapipe_child(inputs: list[str], model: str, jobs: int, limit: int | None) -> int:
    if jobs <= 1:
        results = [_mediapipe_file(p, model, limit) for p in inputs]
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = [pool.submit(_mediapipe_file, p, model, limit) for p in inputs]
            results = [f.result() for f in futures]
    for path, (n, with_pose) in zip(inputs, results, strict=True):
        print(f"{path}: {n} frames, pose on {with_pose}")
    print(f"total: {len(results)} inputs, {sum(r[0] for r in results)} frames")
    return 0


# ------------------------------------------------------------------------------- parent side
_INPUT_LINE = re.compile(r"^(?P<src>\S+): (?P<frames>\d+) frames, pose on (?P<poses>\d+)", re.M)


def _parse_counts(log_text: str) -> tuple[int, int, int]:
    """(inputs, frames, frames with a pose) from the per-input lines both children print."""
    rows = _INPUT_LINE.findall(log_text)
    return len(rows), sum(int(r[1]) for r in rows), sum(int(r[2]) for r in rows)


def _run(cmd: list[str], log: Path) -> dict[str, Any]:
    load = os.getloadavg()[0]
    rc, usage, wall = run_measured(cmd, log)
    text = log.read_text(errors="replace")
    if rc != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (rc {rc}):\n{text[-3000:]}")
    inputs, frames, poses = _parse_counts(text)
    return {
        "wall_s": wall,
        "inputs": inputs,
        "frames": frames,
        "frames_with_pose": poses,
        "fps": frames / wall if wall > 0 else None,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "loadavg_1min_before": load,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--video", default=str(DEFAULT_VIDEO))
    ap.add_argument("--copies", type=int, default=4, help="inputs (links to --video)")
    ap.add_argument("--models", default="lite,full,heavy")
    ap.add_argument("--jobs", default="1,2", help="posekit run --jobs values")
    ap.add_argument("--mp-jobs", default="1,2", help="MediaPipe process-pool sizes")
    ap.add_argument("--frames", type=int, default=None, help="first N frames of each input")
    ap.add_argument("--python", default=sys.executable, help="interpreter for both sides")
    ap.add_argument("--json", type=Path, default=None)
    # child mode (used by the parent; not for direct use)
    ap.add_argument("--mediapipe-child", nargs="*", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--model", choices=tuple(COMPLEXITY), default="full", help=argparse.SUPPRESS)
    ap.add_argument("--child-jobs", type=int, default=1, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.mediapipe_child is not None:
        return mediapipe_child(args.mediapipe_child, args.model, args.child_jobs, args.frames)
    if args.copies < 1:
        ap.error("--copies must be >= 1")
    if args.frames is not None and args.frames < 1:
        ap.error("--frames must be >= 1 (leave it out for whole files)")
    video = Path(args.video).resolve()
    if not video.is_file():
        ap.error(f"--video {video} does not exist")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    for m in models:
        if m not in COMPLEXITY:
            ap.error(f"unknown model {m!r}: choose from {', '.join(COMPLEXITY)}")
    pk_jobs = [int(j) for j in args.jobs.split(",") if j.strip()]
    mp_jobs = [int(j) for j in args.mp_jobs.split(",") if j.strip()]

    work = Path(tempfile.mkdtemp(prefix="bench_files_"))
    inputs = []
    for i in range(args.copies):
        link = work / f"clip{i}{video.suffix}"
        link.symlink_to(video)
        inputs.append(str(link))
    limit = ["--max-frames", str(args.frames)] if args.frames else []
    rows: list[dict[str, Any]] = []
    for model in models:
        configs: list[tuple[str, int, list[str]]] = []
        for j in pk_jobs:
            cmd = [args.python, "-m", "posekit", "run", *inputs, "--model", model,
                   "--jobs", str(j), "--no-progress", *limit]  # fmt: skip
            configs.append(("posekit", j, cmd))
        for j in mp_jobs:
            cmd = [args.python, str(Path(__file__).resolve()), "--model", model,
                   "--child-jobs", str(j), "--mediapipe-child", *inputs]  # fmt: skip
            if args.frames:
                cmd[2:2] = ["--frames", str(args.frames)]
            configs.append(("mediapipe", j, cmd))
        for side, j, cmd in configs:
            print(f"[bench] {model} {side} jobs={j} ...", file=sys.stderr, flush=True)
            meta = _run(cmd, work / f"{model}_{side}_{j}.log")
            rows.append({"model": model, "side": side, "jobs": j, **meta})

    print()
    print(f"{args.copies} inputs = {video.name} (each decoded and tracked"
          + (f", first {args.frames} frames" if args.frames else "")
          + f"); {os.cpu_count()} CPU cores; wall = whole command (start-up, model loads, "
          "decoding, tracking)")  # fmt: skip
    print()
    print("| model | run | wall s | frames | aggregate fps | CPU s | frames with pose |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        label = (
            f"posekit run --jobs {r['jobs']}"
            if r["side"] == "posekit"
            else (f"MediaPipe, {r['jobs']} process{'es' if r['jobs'] > 1 else ''}")
        )
        print(
            f"| {r['model']} | {label} | {r['wall_s']:.1f} | {r['frames']} | "
            f"{r['fps']:.1f} | {r['cpu_s']:.1f} | {r['frames_with_pose']}/{r['frames']} |"
        )
    print()
    for model in models:
        best_pk = max((r for r in rows if r["model"] == model and r["side"] == "posekit"),
                      key=lambda r: r["fps"], default=None)  # fmt: skip
        for r in rows:
            if r["model"] == model and r["side"] == "mediapipe" and best_pk:
                print(f"{model}: best posekit (--jobs {best_pk['jobs']}) / MediaPipe "
                      f"{r['jobs']} process(es) = {best_pk['fps'] / r['fps']:.2f}x")  # fmt: skip
    if args.json:
        doc = {"video": str(video), "copies": args.copies, "frames": args.frames, "rows": rows}
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
