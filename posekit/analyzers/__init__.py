"""Plugins on top of the tracker: pose filters and per-frame analyzers, live or offline.

* :class:`Pipeline` attaches filters (:class:`posekit.filters.PoseFilter`, e.g.
  :class:`posekit.filters.PoseSmoother`) and analyzers to a tracker stream or a recorded pose
  sequence; results land in ``frame.results[analyzer.name]``.
* :mod:`posekit.analyzers.geometry`: joint angles (2-D and 3-D), trunk lean,
  :class:`AngleAnalyzer`; :mod:`posekit.analyzers.body`: torso size, segment lengths,
  body-centred coordinates, hip height.
* :mod:`posekit.analyzers.counters`: :class:`RepCounter` (a :class:`Cue` of
  :mod:`posekit.analyzers.signals` with hysteresis); :mod:`posekit.analyzers.exercises`: the
  exercise table :data:`EXERCISES`, :func:`make_counter` and :class:`SquatCounter`,
  :class:`PushUpCounter`, :class:`LungeCounter`, :class:`BicepCurlCounter`,
  :class:`JumpingJackCounter`. Every rep counter returns a :class:`RepCount`
  (:mod:`posekit.analyzers.reps`).
* :mod:`posekit.analyzers.classifier`: k-NN pose classifier (yoga / exercise states) with vote
  smoothing and a classifier-driven rep counter.
* :mod:`posekit.analyzers.handoff` / :mod:`posekit.analyzers.holistic`: hand and face ROIs from
  a pose, the hand and face-mesh models on them, and a pose + hands + face composition.

Example:
    >>> import posekit
    >>> from posekit.analyzers import Pipeline, SquatCounter
    >>> from posekit.filters import PoseSmoother
    >>> pipe = Pipeline(filters=[PoseSmoother.mediapipe()], analyzers=[SquatCounter()])
    >>> with posekit.Tracker(smooth=False) as tracker:  # doctest: +SKIP
    ...     for frame in pipe.stream(tracker.stream("squats.mp4")):
    ...         reps = frame.results["squats"]
    ...         if reps.new_rep is not None:
    ...             print(f"rep {reps.count}: depth {reps.new_rep.depth:.0f} deg")
"""

from posekit.analyzers.base import Analyzer, OfflineFrame, PoseFrame
from posekit.analyzers.body import (
    SEGMENTS,
    hip_height,
    normalize_body,
    segment_lengths,
    torso_size,
)
from posekit.analyzers.classifier import (
    ClassRepCounter,
    ClassVotes,
    EMAVoteSmoother,
    FolderSamples,
    PoseClassifier,
    PoseClassifierAnalyzer,
    extract_folder_samples,
    pose_embedding,
)
from posekit.analyzers.counters import RepCounter
from posekit.analyzers.exercises import (
    EXERCISES,
    BicepCurlCounter,
    Exercise,
    JumpingJackCounter,
    LungeCounter,
    PushUpCounter,
    SquatCounter,
    find_exercise,
    make_counter,
)
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    ANGLES,
    AngleAnalyzer,
    JointTriple,
    angle,
    angles,
    joint_angle,
    pose_angles,
    stack_poses,
    trunk_lean,
)
from posekit.analyzers.handoff import HandoffRois, RoiHandoff, face_roi, hand_roi
from posekit.analyzers.holistic import (
    Holistic,
    HolisticAnalyzer,
    HolisticResult,
    roi_tracking_ok,
)
from posekit.analyzers.pipeline import AnalyzedFrame, Pipeline, ResultFrame
from posekit.analyzers.reps import Phase, PhaseWords, Rep, RepCount, Tempo
from posekit.analyzers.signals import SIGNAL_NAMES, Cue
from posekit.face import (
    FaceDetection,
    FaceDetector,
    FaceLandmarker,
    FaceLandmarks,
    face_roi_from_landmarks,
)
from posekit.hands import HandLandmarker, HandLandmarks, hand_roi_from_landmarks
from posekit.roi import transform_rect

__all__ = [
    "ANGLES",
    "ANGLE_NAMES",
    "EXERCISES",
    "SEGMENTS",
    "SIGNAL_NAMES",
    "AnalyzedFrame",
    "Analyzer",
    "AngleAnalyzer",
    "BicepCurlCounter",
    "ClassRepCounter",
    "ClassVotes",
    "Cue",
    "EMAVoteSmoother",
    "Exercise",
    "FaceDetection",
    "FaceDetector",
    "FaceLandmarker",
    "FaceLandmarks",
    "FolderSamples",
    "HandLandmarker",
    "HandLandmarks",
    "HandoffRois",
    "Holistic",
    "HolisticAnalyzer",
    "HolisticResult",
    "JointTriple",
    "JumpingJackCounter",
    "LungeCounter",
    "OfflineFrame",
    "Phase",
    "PhaseWords",
    "Pipeline",
    "PoseClassifier",
    "PoseClassifierAnalyzer",
    "PoseFrame",
    "PushUpCounter",
    "Rep",
    "RepCount",
    "RepCounter",
    "ResultFrame",
    "RoiHandoff",
    "SquatCounter",
    "Tempo",
    "angle",
    "angles",
    "extract_folder_samples",
    "face_roi",
    "face_roi_from_landmarks",
    "find_exercise",
    "hand_roi",
    "hand_roi_from_landmarks",
    "hip_height",
    "joint_angle",
    "make_counter",
    "normalize_body",
    "pose_angles",
    "pose_embedding",
    "roi_tracking_ok",
    "segment_lengths",
    "stack_poses",
    "torso_size",
    "transform_rect",
    "trunk_lean",
]
