"""Demo applications built on posekit (console scripts such as ``posekit-squats``)."""
