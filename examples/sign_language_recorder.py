"""Record hands, face and body for sign-language datasets: normalised keypoint sequences.

For every frame the pose tracker finds the body; its wrists and face hand the regions over to
MediaPipe's hand (21 points each) and face-mesh (468 points) models. The sequence of 543
keypoints per frame is normalised like ``pose_format`` does (centred on the mean shoulder
midpoint, scaled by the mean shoulder width) and saved as ``.npz``:

* ``keypoints``: ``(T, 543, 3)`` float32, parts in the order pose (0-32), left hand (33-53),
  right hand (54-74), face (75-542); zeros where a part was not found;
* ``mask``: ``(T, 543)`` bool, True where a keypoint was found;
* ``timestamps``: ``(T,)`` seconds.

Usage: python examples/sign_language_recorder.py VIDEO [OUT.npz] [--max-frames N]
       (or set POSEKIT_EXAMPLE_VIDEO; the camera: pass 0)
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

import posekit
from posekit.analyzers import HolisticAnalyzer, Pipeline, stack_sequence


def main() -> int:
    parser = argparse.ArgumentParser(description="record normalised hand/face/pose sequences")
    parser.add_argument("source", nargs="?", default=os.environ.get("POSEKIT_EXAMPLE_VIDEO"))
    parser.add_argument("out", nargs="?", default="signs.npz")
    parser.add_argument("--max-frames", type=int, default=None)
    args = parser.parse_args()
    if args.source is None:
        parser.error("give a VIDEO (or camera index) or set POSEKIT_EXAMPLE_VIDEO")
    source = int(args.source) if args.source.isdigit() else args.source

    pipeline = Pipeline(analyzers=[HolisticAnalyzer(face=True)])
    results, times = [], []
    with posekit.Tracker() as tracker:
        for frame in pipeline.stream(tracker.stream(source)):
            results.append(frame.results["holistic"])
            times.append(frame.timestamp)
            if args.max_frames is not None and len(results) >= args.max_frames:
                break
    sequence = stack_sequence(results, normalize=True)  # masked (T, 543, 3)
    mask = ~np.ma.getmaskarray(sequence).any(axis=2)
    np.savez_compressed(
        args.out,
        keypoints=sequence.filled(0.0).astype(np.float32),
        mask=mask,
        timestamps=np.asarray(times, np.float64),
    )
    found = {
        part: int(mask[:, sl].any(axis=1).sum())
        for part, sl in (("pose", slice(0, 33)), ("left_hand", slice(33, 54)),
                         ("right_hand", slice(54, 75)), ("face", slice(75, 543)))
    }  # fmt: skip
    print(f"{len(results)} frames -> {args.out}; frames with: {found}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except posekit.PosekitError as exc:  # a missing file or folder, no camera: one line, exit 2
        print(f"sign_language_recorder: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
