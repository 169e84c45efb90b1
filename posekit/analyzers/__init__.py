"""Plugins on top of the tracker: pose filters and per-frame analyzers, live or offline.

* :class:`Pipeline` attaches filters (:class:`posekit.filters.PoseFilter`, e.g.
  :class:`posekit.filters.PoseSmoother`) and analyzers to a tracker stream or a recorded pose
  sequence; results land in ``frame.results[analyzer.name]``.
* :mod:`posekit.analyzers.geometry`: joint angles (2-D and 3-D), trunk lean, segment lengths,
  body-centred normalisation, :class:`AngleAnalyzer`.
* :mod:`posekit.analyzers.counters`: :class:`RepCounter` and the presets :class:`SquatCounter`,
  :class:`PushUpCounter`, :class:`LungeCounter`, :class:`BicepCurlCounter`,
  :class:`JumpingJackCounter`.

Example:
    >>> import posekit
    >>> from posekit.analyzers import Pipeline, SquatCounter
    >>> from posekit.filters import PoseSmoother
    >>> pipe = Pipeline(filters=[PoseSmoother.one_euro()], analyzers=[SquatCounter()])
    >>> with posekit.Tracker(smooth=False) as tracker:  # doctest: +SKIP
    ...     for frame in pipe.stream(tracker.stream("squats.mp4")):
    ...         reps = frame.results["squats"]
    ...         if reps.new_rep is not None:
    ...             print(f"rep {reps.count}: depth {reps.new_rep.depth:.0f} deg")
"""

from posekit.analyzers.base import Analyzer, OfflineFrame, PoseFrame
from posekit.analyzers.counters import (
    BicepCurlCounter,
    JumpingJackCounter,
    LungeCounter,
    Phase,
    PushUpCounter,
    Rep,
    RepCount,
    RepCounter,
    SquatCounter,
    Tempo,
)
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    ANGLES,
    AngleAnalyzer,
    JointTriple,
    PoseSequence,
    angle,
    angles,
    joint_angle,
    normalize_body,
    pose_angles,
    segment_lengths,
    stack_poses,
    torso_size,
    trunk_lean,
)
from posekit.analyzers.pipeline import AnalyzedFrame, Pipeline, ResultFrame

__all__ = [
    "ANGLES",
    "ANGLE_NAMES",
    "AnalyzedFrame",
    "Analyzer",
    "AngleAnalyzer",
    "BicepCurlCounter",
    "JointTriple",
    "JumpingJackCounter",
    "LungeCounter",
    "OfflineFrame",
    "Phase",
    "Pipeline",
    "PoseFrame",
    "PoseSequence",
    "PushUpCounter",
    "Rep",
    "RepCount",
    "RepCounter",
    "ResultFrame",
    "SquatCounter",
    "Tempo",
    "angle",
    "angles",
    "joint_angle",
    "normalize_body",
    "pose_angles",
    "segment_lengths",
    "stack_poses",
    "torso_size",
    "trunk_lean",
]
