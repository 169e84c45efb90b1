"""Micro-benchmark: posekit.Pose against peer representations of one 33-keypoint pose.

Peers, all measured in the same process on the same random pose:

* ``pydantic``: posekit's own ``PoseModel`` built directly (validated per field), i.e. what a
  "just use a pydantic model" design costs;
* ``dict``: a plain dict of 33 per-landmark dicts keyed by name, the shape most MediaPipe Python
  code converts ``results.pose_landmarks.landmark`` into, serialised with the stdlib ``json``;
* ``mp-list``: a list of 33 small landmark dataclasses with ``x, y, z, visibility, presence``
  fields, shaped like MediaPipe Tasks' ``NormalizedLandmark`` list (a local stand-in: MediaPipe
  is not a dependency).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_pose.py`` (``--quick`` for a smoke run).
Figures are the best of several repeats, in microseconds per call.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pydantic_core

from posekit.pose import Pose
from posekit.schema import PoseModel
from posekit.topology import KEYPOINT_NAMES, NUM_KEYPOINTS, Keypoint

N = NUM_KEYPOINTS


@dataclass
class _MpLandmark:
    """Stand-in with the fields of MediaPipe Tasks' NormalizedLandmark."""

    x: float | None = None
    y: float | None = None
    z: float | None = None
    visibility: float | None = None
    presence: float | None = None


def _arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "xy": (rng.random((N, 2)) * [640, 480]).astype(np.float32),
        "z": rng.normal(0, 50, N).astype(np.float32),
        "visibility": rng.random(N).astype(np.float32),
        "presence": rng.random(N).astype(np.float32),
        "world": rng.normal(0, 0.3, (N, 3)).astype(np.float32),
    }


def _time_us(fn: Callable[[], object], repeat: int, min_time: float) -> float:
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * min_time / 0.2))
    return min(timer.repeat(repeat=repeat, number=number)) / number * 1e6


def _dict_of_landmarks(a: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    return {
        name: {"x": x, "y": y, "z": z, "visibility": v, "presence": p}
        for name, (x, y), z, v, p in zip(
            KEYPOINT_NAMES,
            a["xy"].tolist(),
            a["z"].tolist(),
            a["visibility"].tolist(),
            a["presence"].tolist(),
            strict=True,
        )
    }


def _mp_list(a: dict[str, np.ndarray]) -> list[_MpLandmark]:
    return [
        _MpLandmark(x, y, z, v, p)
        for (x, y), z, v, p in zip(
            a["xy"].tolist(),
            a["z"].tolist(),
            a["visibility"].tolist(),
            a["presence"].tolist(),
            strict=True,
        )
    ]


def _model_dict(a: dict[str, np.ndarray]) -> dict[str, Any]:
    return {
        "score": 0.97,
        "image_size": (640, 480),
        "xy": a["xy"].tolist(),
        "z": a["z"].tolist(),
        "visibility": a["visibility"].tolist(),
        "presence": a["presence"].tolist(),
        "world": a["world"].tolist(),
    }


def run(repeat: int, min_time: float) -> list[tuple[str, dict[str, float]]]:
    """Measure every operation; returns (operation, {implementation: microseconds})."""
    a = _arrays()
    xy, z, vis, pres, world = a["xy"], a["z"], a["visibility"], a["presence"], a["world"]
    xy64 = xy.astype(np.float64)
    pose = Pose(xy, z, vis, pres, score=0.97, world=world, image_size=(640, 480))
    model = PoseModel.model_validate(_model_dict(a))
    landmarks = _dict_of_landmarks(a)
    mp_list = _mp_list(a)
    pose_json = pose.to_json()
    model_json = model.model_dump_json()
    dict_json = json.dumps(landmarks)
    k = Keypoint.LEFT_KNEE

    def t(fn: Callable[[], object]) -> float:
        return _time_us(fn, repeat, min_time)

    rows: list[tuple[str, dict[str, float]]] = [
        (
            "build from arrays (float32)",
            {
                "posekit": t(
                    lambda: Pose(xy, z, vis, pres, score=0.97, world=world, image_size=(640, 480))
                ),
                "pydantic": t(lambda: PoseModel.model_validate(_model_dict(a))),
                "dict": t(lambda: _dict_of_landmarks(a)),
                "mp-list": t(lambda: _mp_list(a)),
            },
        ),
        (
            "build, no world",
            {"posekit": t(lambda: Pose(xy, z, vis, pres, score=0.97))},
        ),
        (
            "build from float64 xy (converts)",
            {
                "posekit": t(
                    lambda: Pose(xy64, z, vis, pres, score=0.97, world=world, image_size=(640, 480))
                )
            },
        ),
        (
            "to_json",
            {
                "posekit": t(pose.to_json),
                "pydantic": t(model.model_dump_json),
                "dict": t(lambda: json.dumps(landmarks)),
                "mp-list": t(lambda: pydantic_core.to_json(mp_list)),
            },
        ),
        (
            "from_json (validated)",
            {
                "posekit": t(lambda: Pose.from_json(pose_json)),
                "pydantic": t(lambda: PoseModel.model_validate_json(model_json)),
                "dict": t(lambda: json.loads(dict_json)),  # not validated
            },
        ),
        (
            "to_dict",
            {
                "posekit": t(pose.to_dict),
                "pydantic": t(model.model_dump),
            },
        ),
        (
            "access one keypoint (enum)",
            {
                "posekit": t(lambda: pose[k]),
                "pydantic": t(lambda: model.xy[k]),
                "dict": t(lambda: landmarks["left_knee"]),
                "mp-list": t(lambda: mp_list[k]),
            },
        ),
        ("access one keypoint (int 25)", {"posekit": t(lambda: pose[25])}),
        ("access one keypoint ('left_knee')", {"posekit": t(lambda: pose["left_knee"])}),
        ("iterate 33 landmarks", {"posekit": t(lambda: list(pose))}),
        ("to_coco17", {"posekit": t(pose.to_coco17)}),
        ("json size (bytes)", {}),
    ]
    rows[-1][1].update(
        {
            "posekit": float(len(pose_json)),
            "pydantic": float(len(model_json)),
            "dict": float(len(dict_json)),
        }
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    args = parser.parse_args(argv)
    repeat, min_time = (2, 0.02) if args.quick else (5, 0.1)
    rows = run(repeat, min_time)
    columns = ["posekit", "pydantic", "dict", "mp-list"]
    print(
        f"posekit Pose benchmark: python {platform.python_version()}, numpy {np.__version__}, "
        f"{platform.machine()}; microseconds per call, best of {repeat}"
    )
    print(f"{'operation':36s}" + "".join(f"{c:>11s}" for c in columns))
    for name, figures in rows:
        cells = "".join(
            f"{figures[c]:11.2f}"
            if c in figures and "bytes" not in name
            else (f"{figures[c]:11.0f}" if c in figures else f"{'-':>11s}")
            for c in columns
        )
        print(f"{name:36s}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
