"""Child process of bench_peer.py: run ONE pose runtime (posekit or MediaPipe) over a video.

Not meant to be run by hand (bench_peer.py starts it once per side and configuration, so every
run has its own cold start and peak RSS). Only the runtime under test is imported: posekit's child
never imports mediapipe and vice versa.

What it measures:
* per-frame latency of the ``process()`` call alone (decoding happens outside the timed region;
  MediaPipe's BGR->RGB conversion is timed separately and reported as ``convert_ms``);
* CPU time over wall time inside ``process()``: how many cores the runtime actually keeps busy;
* cold start: from just before ``import posekit`` / ``import mediapipe`` to the first frame with a
  pose, minus the time spent decoding frames in between;
* RSS before the import (python, numpy, cv2 and the opened video, no frame decoded yet) and OS
  thread count after start-up.

Writes ``<out>.npz`` (xy (N,33,2) pixels, NaN without a pose; visibility (N,33); ms (N,)) and
``<out>.json`` (metadata).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}
SPIN = {"default": None, "0": False, "1": True}


def _proc_status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


class _Video:
    def __init__(self, path: str, limit: int | None) -> None:
        self.cap = cv2.VideoCapture(path)
        if not self.cap.isOpened():
            raise SystemExit(f"cannot open video {path}")
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS)) or 30.0
        self.width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.limit = limit
        self.decode_s = 0.0

    def frames(self) -> Any:
        i = 0
        while self.limit is None or i < self.limit:
            t = time.perf_counter()
            ok, frame = self.cap.read()
            self.decode_s += time.perf_counter() - t
            if not ok:
                return
            yield i, frame
            i += 1


def _make_posekit(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    import posekit
    from posekit.tracker import Tracker

    tracker = Tracker(
        model=args.model,
        mode=args.mode,
        smooth=bool(args.smooth),
        segmentation=False,
        num_threads=args.threads,
        spin=SPIN[args.spin],
        **({} if args.refine_heatmap is None else {"refine_heatmap": bool(args.refine_heatmap)}),
        **({} if args.accuracy is None else {"accuracy": args.accuracy}),
    )

    def step(frame: np.ndarray, t_s: float) -> tuple[Any, float, float]:
        w0, c0 = time.perf_counter(), time.process_time()
        res = tracker.process(frame, timestamp=t_s)
        w1, c1 = time.perf_counter(), time.process_time()
        pose = res.pose
        if pose is None:
            return None, w1 - w0, c1 - c0
        return (
            (np.asarray(pose.xy, np.float64), np.asarray(pose.visibility, np.float64)),
            (w1 - w0),
            (c1 - c0),
        )

    import onnxruntime as ort

    info = {
        "runtime": f"posekit {posekit.__version__} (onnxruntime {ort.__version__})",
        "threads_setting": (
            f"default ({getattr(tracker.landmarks.session, 'num_threads', '?')}"
            + (", adaptive" if hasattr(tracker.landmarks.session, "switches") else "")
            + ")"
            if args.threads is None
            else args.threads
        ),
        "spin": (
            f"default ({'landmarks only' if args.mode == 'video' else 'off'})"
            if SPIN[args.spin] is None
            else SPIN[args.spin]
        ),
        "refine_heatmap": "default" if args.refine_heatmap is None else bool(args.refine_heatmap),
        "timestamps": "real (frame index / container fps)",
        "convert": "none (takes BGR)",
    }
    return (tracker, step), info


def _make_mediapipe(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(
        static_image_mode=args.mode == "image",
        model_complexity=COMPLEXITY[args.model],
        smooth_landmarks=bool(args.smooth),
        enable_segmentation=False,
        min_detection_confidence=0.5,
        min_tracking_confidence=0.5,
    )
    convert_s = [0.0]

    def step(frame: np.ndarray, t_s: float) -> tuple[Any, float, float]:
        del t_s  # the legacy API stamps frames itself, as if at 30 fps
        t = time.perf_counter()
        rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        w0, c0 = time.perf_counter(), time.process_time()
        convert_s[0] += w0 - t
        res = pose.process(rgb)
        w1, c1 = time.perf_counter(), time.process_time()
        if res.pose_landmarks is None:
            return None, w1 - w0, c1 - c0
        h, w = frame.shape[:2]
        lm = res.pose_landmarks.landmark
        xy = np.array([(p.x * w, p.y * h) for p in lm], np.float64)
        vis = np.array([p.visibility for p in lm], np.float64)
        return (xy, vis), w1 - w0, c1 - c0

    info = {
        "runtime": f"mediapipe {mp.__version__} legacy mp.solutions.pose (TFLite + XNNPACK)",
        "threads_setting": "XNNPACK default (1 thread on desktop Linux)",
        "timestamps": "faked by the legacy API: 33333 us steps (30 fps) whatever the video fps",
        "convert": "BGR->RGB cv2.cvtColor before process(), timed separately",
        "_convert_s": convert_s,
    }
    return (pose, step), info


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--side", choices=("posekit", "mediapipe"), required=True)
    ap.add_argument("--video", required=True)
    ap.add_argument("--model", choices=tuple(COMPLEXITY), default="full")
    ap.add_argument("--mode", choices=("video", "image"), default="video")
    ap.add_argument("--smooth", type=int, choices=(0, 1), default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--spin", choices=tuple(SPIN), default="default")
    ap.add_argument("--refine-heatmap", type=int, choices=(0, 1), default=None)
    ap.add_argument("--accuracy", choices=("fast", "balanced", "best"), default=None)
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    video = _Video(args.video, args.frames)
    rss_before_kb = _proc_status("VmRSS")

    t0 = time.perf_counter()
    decode_before = video.decode_s
    (handle, step), info = (_make_posekit if args.side == "posekit" else _make_mediapipe)(args)
    init_s = time.perf_counter() - t0
    threads_after_init = _proc_status("Threads")

    xs: list[np.ndarray] = []
    vs: list[np.ndarray] = []
    ms: list[float] = []
    wall = cpu = 0.0
    cold_start_s: float | None = None
    nan_xy = np.full((33, 2), np.nan)
    nan_v = np.full(33, np.nan)
    for i, frame in video.frames():
        out, dw, dc = step(frame, i / video.fps)
        wall += dw
        cpu += dc
        ms.append(dw * 1e3)
        if out is None:
            xs.append(nan_xy)
            vs.append(nan_v)
        else:
            xs.append(out[0])
            vs.append(out[1])
            if cold_start_s is None:
                cold_start_s = time.perf_counter() - t0 - (video.decode_s - decode_before)
    threads_after_run = _proc_status("Threads")
    lm_session = getattr(getattr(handle, "landmarks", None), "session", None)
    adaptive = (
        {
            "fallback_built": lm_session.fallback_built,
            "switches": lm_session.switches,
            "runs": dict(lm_session.runs),
        }
        if hasattr(lm_session, "switches")
        else None
    )
    if hasattr(handle, "close"):
        handle.close()

    n = len(ms)
    np.savez_compressed(
        args.out + ".npz",
        xy=np.asarray(xs, np.float32).reshape(n, 33, 2),
        visibility=np.asarray(vs, np.float32).reshape(n, 33),
        ms=np.asarray(ms, np.float64),
    )
    convert = info.pop("_convert_s", None)
    meta = {
        **info,
        "side": args.side,
        "model": args.model,
        "mode": args.mode,
        "smooth": bool(args.smooth),
        "frames": n,
        "video_fps": video.fps,
        "video_size": [video.width, video.height],
        "frames_with_pose": int(sum(1 for v in vs if not np.isnan(v[0]))),
        "init_s": init_s,
        "cold_start_s": cold_start_s,
        "cpu_over_wall": cpu / wall if wall else None,
        "convert_ms": (convert[0] * 1e3 / n) if convert and n else None,
        "rss_before_import_mb": rss_before_kb / 1024.0,
        "maxrss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "os_threads_after_init": threads_after_init,
        "os_threads_after_run": threads_after_run,
        "adaptive_threads": adaptive,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "cv2": cv2.__version__,
    }
    Path(args.out + ".json").write_text(json.dumps(meta, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
