"""Micro-benchmark: appending live frames to a PoseSequenceBuilder against a list of Poses.

Measures, per frame, in microseconds (best of several repeats, same random poses):

* ``list.append``: keeping ``list[Pose | None]`` (the old way; no arrays until the end);
* ``builder.append``: :class:`posekit.sequence.PoseSequenceBuilder` with ``body`` +
  ``body_world`` (what ``PoseSequence.from_results`` does for tracker output);
* ``holistic``: the same with both hands and the face mesh (543 + 33 points);
* ``build()``: the one copy into a :class:`~posekit.sequence.PoseSequence` at the end, per frame;
* ``stack list``: building the same sequence from the list afterwards, per frame.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_sequence.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import platform
import sys
import timeit
from dataclasses import dataclass

import numpy as np

from posekit.pose import Pose
from posekit.sequence import HOLISTIC_COMPONENTS, PoseSequence, PoseSequenceBuilder


@dataclass(frozen=True)
class _Part:
    xy: np.ndarray
    z: np.ndarray
    presence: float


@dataclass(frozen=True)
class _Holistic:
    pose: Pose | None
    left_hand: _Part | None
    right_hand: _Part | None
    face: _Part | None


def _poses(n: int, rng: np.random.Generator) -> list[Pose | None]:
    out: list[Pose | None] = []
    for i in range(n):
        if i % 10 == 9:
            out.append(None)  # a lost frame now and then
            continue
        out.append(
            Pose(
                rng.uniform(0, 640, (33, 2)).astype(np.float32),
                rng.normal(size=33).astype(np.float32),
                rng.uniform(0, 1, 33).astype(np.float32),
                rng.uniform(0, 1, 33).astype(np.float32),
                score=float(rng.uniform()),
                world=rng.normal(size=(33, 3)).astype(np.float32),
                image_size=(640, 480),
            )
        )
    return out


def _part(n: int, rng: np.random.Generator) -> _Part:
    return _Part(rng.uniform(0, 640, (n, 2)).astype(np.float32), np.zeros(n, np.float32), 0.9)


def _best(fn: object, frames: int, repeat: int) -> float:
    timer = timeit.Timer(fn)  # type: ignore[arg-type]
    return min(timer.repeat(repeat=repeat, number=1)) / frames * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="300 frames, 2 repeats")
    args = parser.parse_args()
    frames, repeat = (300, 2) if args.quick else (args.frames, args.repeat)
    rng = np.random.default_rng(0)
    poses = _poses(frames, rng)
    holistic = [
        _Holistic(p, _part(21, rng), _part(21, rng), _part(468, rng)) if p else None for p in poses
    ]

    def list_append() -> None:
        out: list[Pose | None] = []
        for p in poses:
            out.append(p)

    def builder_append() -> None:
        b = PoseSequenceBuilder(fps=30.0)
        for p in poses:
            b.append(p)

    def holistic_append() -> None:
        b = PoseSequenceBuilder(HOLISTIC_COMPONENTS, fps=30.0)
        for h in holistic:
            b.append(h)

    full = PoseSequenceBuilder(fps=30.0)
    for p in poses:
        full.append(p)

    rows = [
        ("list.append (list[Pose | None])", _best(list_append, frames, repeat)),
        ("builder.append (body + body_world)", _best(builder_append, frames, repeat)),
        ("builder.append (holistic, 576 points)", _best(holistic_append, frames, repeat)),
        ("builder.build() (the final copy)", _best(full.build, frames, repeat)),
        (
            "PoseSequence.from_results(list)",
            _best(lambda: PoseSequence.from_results(poses, fps=30.0), frames, repeat),
        ),
    ]
    print(
        f"{frames} frames, best of {repeat}; Python {platform.python_version()}, "
        f"numpy {np.__version__}, {platform.machine()}"
    )
    for name, us in rows:
        print(f"  {name:42s} {us:8.2f} us/frame")
    return 0


if __name__ == "__main__":
    sys.exit(main())
