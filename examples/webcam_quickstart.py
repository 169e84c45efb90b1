"""Webcam quickstart: track one person, draw the skeleton, print the knee angle.

Usage: python examples/webcam_quickstart.py [CAMERA_INDEX | VIDEO]   (default: camera 0; q stops)
"""

import sys

import posekit
from posekit.analyzers import pose_angles
from posekit.draw import SkeletonAnnotator, Window

source = sys.argv[1] if len(sys.argv) > 1 else "0"  # a camera index or a video file
skeleton = SkeletonAnnotator()
try:
    with posekit.Tracker() as tracker, Window("posekit quickstart") as window:  # warns if none
        for result in tracker.stream(int(source) if source.isdigit() else source):
            knee = pose_angles(result.pose, ["knee"])["knee"]
            print(f"{result.timestamp:6.2f} s  {result.state.value:9}  knee {knee or 0:5.1f} deg")
            if not window.show(skeleton.annotate(result.frame, result.pose)):
                break  # q, Esc or the window closed
except (posekit.PosekitError, KeyboardInterrupt) as exc:  # no camera, a missing file, Ctrl-C
    sys.exit(f"quickstart: {exc or 'stopped'}")
