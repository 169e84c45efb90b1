"""Measure the TFLite -> ONNX converter: conversion time, file sizes and inference speed.

For each official model in ``../shared/models-src`` this script

* converts it (best of ``--convert-repeat`` runs of :func:`posekit.convert.convert_file`),
* reports the ONNX file size with float16 weights (the default) and with float32 weights,
* times inference of the converted model in onnxruntime (CPU, ``ORT_ENABLE_ALL``) and of the
  source model in the TFLite interpreter (``ai_edge_litert``, default XNNPACK delegate), with 1
  and 2 threads (``--threads``), median over ``--runs`` calls after ``--warmup`` calls; the two
  runtimes' calls are interleaved so that both see the same machine load.

This is a measurement script, not a test. Run from the repository root::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_convert.py [--models pose_detection,...]
        [--runs 50] [--threads 1,2] [--json out.json] [--models-src DIR]

Figures depend on the machine and its load; run on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from ai_edge_litert.interpreter import Interpreter

from posekit.convert import convert_file

REPO = Path(__file__).resolve().parents[1]
DEFAULT_MODELS_SRC = (
    Path(os.environ.get("POSEKIT_SHARED", REPO.parent / "shared")).resolve() / "models-src"
)
MODELS = [
    "pose_detection",
    "pose_landmark_lite",
    "pose_landmark_full",
    "pose_landmark_heavy",
    "hand_landmark_full",
    "palm_detection_full",
    "face_landmark",
    "face_detection_short_range",
]
SIGNED_INPUT = {"pose_detection", "face_detection_short_range"}  # [-1, 1]; others [0, 1]


@dataclass
class Row:
    model: str
    convert_s: float
    tflite_mb: float
    onnx_fp16_mb: float
    onnx_fp32_mb: float
    nodes: int
    ort_ms: dict[int, float]
    tflite_ms: dict[int, float]


def _paired_ms(calls: dict[str, Callable[[], Any]], runs: int, warmup: int) -> dict[str, float]:
    """Median ms per call of each runtime, calls interleaved so both see the same machine load."""
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}


def _ort_call(path: Path, x: np.ndarray, threads: int) -> Callable[[], Any]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    feed = {session.get_inputs()[0].name: x}
    return lambda: session.run(None, feed)


def _tflite_call(path: Path, x: np.ndarray, threads: int) -> Callable[[], Any]:
    interpreter = Interpreter(model_path=str(path), num_threads=threads)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
    return interpreter.invoke  # type: ignore[no-any-return]


def measure(
    model: str,
    src_dir: Path,
    out_dir: Path,
    threads: list[int],
    runs: int,
    warmup: int,
    convert_repeat: int,
) -> Row:
    src = src_dir / f"{model}.tflite"
    fp16 = out_dir / f"{model}.onnx"
    fp32 = out_dir / f"{model}.fp32.onnx"
    reports = [convert_file(src, fp16) for _ in range(convert_repeat)]
    convert_file(src, fp32, fp16_weights=False)
    rng = np.random.default_rng(0)
    probe = Interpreter(model_path=str(src))
    shape = tuple(int(d) for d in probe.get_input_details()[0]["shape"])
    low = -1.0 if model in SIGNED_INPUT else 0.0
    x = rng.uniform(low, 1.0, size=shape).astype(np.float32)
    ort_ms, tflite_ms = {}, {}
    for t in threads:
        timed = _paired_ms(
            {"ort": _ort_call(fp16, x, t), "tflite": _tflite_call(src, x, t)}, runs, warmup
        )
        ort_ms[t], tflite_ms[t] = timed["ort"], timed["tflite"]
    return Row(
        model=model,
        convert_s=min(r.seconds for r in reports),
        tflite_mb=src.stat().st_size / 1e6,
        onnx_fp16_mb=fp16.stat().st_size / 1e6,
        onnx_fp32_mb=fp32.stat().st_size / 1e6,
        nodes=reports[0].num_nodes,
        ort_ms=ort_ms,
        tflite_ms=tflite_ms,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--models-src", type=Path, default=DEFAULT_MODELS_SRC)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--convert-repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = parser.parse_args(argv)
    threads = [int(t) for t in args.threads.split(",")]
    models = [m for m in args.models.split(",") if m]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, onnxruntime {ort.__version__}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            rows.append(
                measure(
                    model,
                    args.models_src,
                    Path(tmp),
                    threads,
                    args.runs,
                    args.warmup,
                    args.convert_repeat,
                )
            )
    speed_cols = " | ".join(f"ORT {t}t ms | TFLite {t}t ms" for t in threads)
    print(f"| model | convert s | nodes | tflite MB | onnx fp16 MB | onnx fp32 MB | {speed_cols} |")
    print("|---" * (6 + 2 * len(threads)) + "|")
    for r in rows:
        speed = " | ".join(f"{r.ort_ms[t]:.2f} | {r.tflite_ms[t]:.2f}" for t in threads)
        print(
            f"| {r.model} | {r.convert_s:.3f} | {r.nodes} | {r.tflite_mb:.2f} | "
            f"{r.onnx_fp16_mb:.2f} | {r.onnx_fp32_mb:.2f} | {speed} |"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
