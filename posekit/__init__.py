"""posekit: real-time single-person body pose tracking (BlazePose) on onnxruntime."""

from __future__ import annotations

__version__ = "0.1.0"
