"""Record hands, face and body for sign-language datasets: normalised keypoint sequences.

For every frame the pose tracker finds the body; its wrists and face hand the regions over to
MediaPipe's hand (21 points each) and face-mesh (468 points) models. The frames are appended
live to a ``posekit.PoseSequenceBuilder`` (components body, left_hand, right_hand, face,
body_world), normalised like ``pose_format`` does (centred on the mean shoulder midpoint,
scaled by the mean shoulder width) and saved with ``PoseSequence.to_npz``; read it back with
``posekit.PoseSequence.from_npz(path)``.

Usage: python examples/sign_language_recorder.py VIDEO [OUT.npz] [--max-frames N] [--fps F]
       (or set POSEKIT_EXAMPLE_VIDEO; the camera: pass 0)
"""

from __future__ import annotations

import argparse
import os
import sys

import posekit
from posekit.analyzers import HolisticAnalyzer, Pipeline
from posekit.sequence import HOLISTIC_COMPONENTS, PoseSequenceBuilder


def main() -> int:
    parser = argparse.ArgumentParser(description="record normalised hand/face/pose sequences")
    parser.add_argument("source", nargs="?", default=os.environ.get("POSEKIT_EXAMPLE_VIDEO"))
    parser.add_argument("out", nargs="?", default="signs.npz")
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--fps", type=float, default=None, help="the video's frame rate")
    args = parser.parse_args()
    if args.source is None:
        parser.error("give a VIDEO (or camera index) or set POSEKIT_EXAMPLE_VIDEO")
    source = int(args.source) if args.source.isdigit() else args.source

    pipeline = Pipeline(analyzers=[HolisticAnalyzer(face=True)])
    builder = PoseSequenceBuilder(HOLISTIC_COMPONENTS, fps=args.fps)
    with posekit.Tracker() as tracker:
        for frame in pipeline.stream(tracker.stream(source)):
            builder.append(frame.results["holistic"], timestamp=frame.timestamp)
            if args.max_frames is not None and len(builder) >= args.max_frames:
                break
    sequence = builder.build().normalize()
    sequence.to_npz(args.out)
    found = {name: int(sequence.known[:, 0, c.slice].any(axis=1).sum())
             for name, c in sequence.components.items()}  # fmt: skip
    print(f"{len(sequence)} frames -> {args.out}; frames with: {found}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except posekit.PosekitError as exc:  # a missing file or folder, no camera: one line, exit 2
        print(f"sign_language_recorder: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
