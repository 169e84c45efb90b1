"""Track a video and write one CSV row per frame: frame, timestamp, state, score, then
x / y / z / visibility / presence of each of the 33 keypoints, plus the knee and hip angles.

Usage: python examples/video_to_csv.py VIDEO [OUT.csv]
       (or set POSEKIT_EXAMPLE_VIDEO; OUT defaults to <video name>.csv in the current folder)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import posekit
from posekit.analyzers import AngleAnalyzer, Pipeline
from posekit.sinks import CsvSink


def main() -> int:
    video = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("POSEKIT_EXAMPLE_VIDEO")
    if not video:
        print("usage: video_to_csv.py VIDEO [OUT.csv] (or set POSEKIT_EXAMPLE_VIDEO)")
        return 2
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(Path(video).stem + ".csv")
    pipeline = Pipeline(analyzers=[AngleAnalyzer(["knee", "hip"])])
    try:
        with posekit.Tracker() as tracker, CsvSink(out, angles=["knee", "hip"]) as sink:
            for frame in pipeline.stream(tracker.stream(video)):
                sink.write(frame)
    except posekit.PosekitError as exc:  # a missing file, not a video, an unwritable path
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({len(CsvSink.header(angles=['knee', 'hip']))} columns)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
