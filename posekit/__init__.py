"""posekit: real-time single-person body pose tracking (BlazePose) on onnxruntime.

The pipeline, one module per stage: :mod:`posekit.source` (frames) -> :mod:`posekit.image`
(frame checks) -> :mod:`posekit.detector` (person detector) -> :mod:`posekit.roi` (rotated
region of interest) -> :mod:`posekit.landmarks` (33 keypoints, world landmarks, mask) ->
:mod:`posekit.hands` / :mod:`posekit.face` -> :mod:`posekit.filters` (smoothing), driven frame
by frame by :class:`Tracker`; :mod:`posekit.analyzers` holds the plugins (angles, rep counters,
classifiers, holistic), :mod:`posekit.sinks` and :mod:`posekit.draw` the outputs. Models are
converted from Google's official TFLite files by :mod:`posekit.convert` and managed by
:mod:`posekit.models`. The layers and their imports: ``docs/design/architecture.md``.

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
    >>> pipe = posekit.Pipeline(analyzers=[posekit.SquatCounter()])  # flat surface, lazily
    >>> with posekit.Tracker() as tracker:  # doctest: +SKIP
    ...     for frame in pipe.stream(tracker.stream("squats.mp4")):
    ...         print(frame.results["squats"].count)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from posekit._version import __version__
from posekit.accuracy import AccuracyPolicy
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
from posekit.results import FrameResult, Timings, TrackingState
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
from posekit.tracker import Tracker

if TYPE_CHECKING:
    from posekit.analyzers import (
        AngleAnalyzer,
        BicepCurlCounter,
        Holistic,
        HolisticAnalyzer,
        JumpingJackCounter,
        LungeCounter,
        Pipeline,
        PoseClassifier,
        PushUpCounter,
        RepCounter,
        SquatCounter,
    )
    from posekit.draw import (
        AngleAnnotator,
        HolisticAnnotator,
        KeypointAnnotator,
        SkeletonAnnotator,
        Window,
    )
    from posekit.filters import PoseFilter, PoseSmoother
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
    "AngleAnalyzer",
    "AngleAnnotator",
    "BicepCurlCounter",
    "ChecksumError",
    "ConversionError",
    "FrameResult",
    "Holistic",
    "HolisticAnalyzer",
    "HolisticAnnotator",
    "InputError",
    "JumpingJackCounter",
    "Keypoint",
    "KeypointAnnotator",
    "Landmark",
    "LungeCounter",
    "ModelError",
    "ModelSourceError",
    "PersonBox",
    "Pipeline",
    "Pose",
    "PoseClassifier",
    "PoseFilter",
    "PoseModel",
    "PoseSequence",
    "PoseSmoother",
    "PosekitError",
    "ProviderError",
    "PushUpCounter",
    "RepCounter",
    "RotatedRect",
    "SkeletonAnnotator",
    "SourceError",
    "SquatCounter",
    "TimestampError",
    "Timings",
    "Tracker",
    "TrackingState",
    "UnsupportedOpError",
    "Window",
    "__version__",
    "pose_json_schema",
]

_LAZY = {
    "PoseModel": "posekit.schema",
    "pose_json_schema": "posekit.schema",
    **dict.fromkeys(
        (
            "AngleAnalyzer",
            "BicepCurlCounter",
            "Holistic",
            "HolisticAnalyzer",
            "JumpingJackCounter",
            "LungeCounter",
            "Pipeline",
            "PoseClassifier",
            "PushUpCounter",
            "RepCounter",
            "SquatCounter",
        ),
        "posekit.analyzers",
    ),
    **dict.fromkeys(
        ("AngleAnnotator", "HolisticAnnotator", "KeypointAnnotator", "SkeletonAnnotator", "Window"),
        "posekit.draw",
    ),
    "PoseFilter": "posekit.filters",
    "PoseSmoother": "posekit.filters",
}


def __getattr__(name: str) -> Any:
    """Import the plugin, drawing and pydantic-backed names on first use (keeps ``import posekit``
    fast: the analyzers cost about 50 ms, drawing 25 ms)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'posekit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
