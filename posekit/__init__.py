"""posekit: real-time single-person body pose tracking (BlazePose) on onnxruntime.

The pipeline, one module per stage: :mod:`posekit.source` (frames) -> :mod:`posekit.detector`
(person detector) -> :mod:`posekit.roi` (rotated region of interest) -> :mod:`posekit.landmarks`
(33 keypoints, world landmarks, mask) -> :mod:`posekit.filters` (smoothing) ->
:mod:`posekit.analyzers` (angles, rep counters, classifiers, hand/face handoff), driven frame by
frame by :class:`Tracker`. Models are converted from Google's official TFLite files by
:mod:`posekit.convert` and managed by :mod:`posekit.models`.

Example:
    >>> import posekit
    >>> posekit.Keypoint.LEFT_KNEE.value
    25
    >>> from importlib.metadata import version
    >>> posekit.__version__ == version("posekit")
    True
    >>> with posekit.Tracker() as tracker:  # doctest: +SKIP
    ...     for frame in tracker.stream(0):  # camera 0, a video path, or any iterable of frames
    ...         if frame.pose is not None:
    ...             print(frame.index, frame.pose[posekit.Keypoint.LEFT_KNEE])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit._version import __version__
from posekit.errors import (
    ChecksumError,
    ConversionError,
    InputError,
    ModelError,
    ModelSourceError,
    PosekitError,
    ProviderError,
    SourceError,
    TimestampError,
    UnsupportedOpError,
)
from posekit.pose import Landmark, Pose
from posekit.roi import PersonBox, RotatedRect
from posekit.sequence import PoseSequence
from posekit.topology import (
    COCO17_FROM_BLAZEPOSE,
    COCO17_NAMES,
    COCO17_SKELETON,
    FLIP_PERMUTATION,
    LEFT_RIGHT_PAIRS,
    NUM_KEYPOINTS,
    SKELETON_EDGES,
    Keypoint,
)
from posekit.tracker import AccuracyPolicy, FrameResult, Timings, Tracker, TrackingState

if TYPE_CHECKING:
    from posekit.schema import PoseModel, pose_json_schema


__all__ = [
    "COCO17_FROM_BLAZEPOSE",
    "COCO17_NAMES",
    "COCO17_SKELETON",
    "FLIP_PERMUTATION",
    "LEFT_RIGHT_PAIRS",
    "NUM_KEYPOINTS",
    "SKELETON_EDGES",
    "AccuracyPolicy",
    "ChecksumError",
    "ConversionError",
    "FrameResult",
    "InputError",
    "Keypoint",
    "Landmark",
    "ModelError",
    "ModelSourceError",
    "PersonBox",
    "Pose",
    "PoseModel",
    "PoseSequence",
    "PosekitError",
    "ProviderError",
    "RotatedRect",
    "SourceError",
    "TimestampError",
    "Timings",
    "Tracker",
    "TrackingState",
    "UnsupportedOpError",
    "__version__",
    "pose_json_schema",
]

_LAZY = {"PoseModel": "posekit.schema", "pose_json_schema": "posekit.schema"}


def __getattr__(name: str) -> Any:
    """Import pydantic-backed names on first use (keeps ``import posekit`` fast)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'posekit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
