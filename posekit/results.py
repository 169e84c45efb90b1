"""What the tracker returns per frame: :class:`FrameResult`, :class:`TrackingState`, `Timings`.

Plain frozen values with no behaviour, so that analyzers, sinks and drawing can depend on them
without importing the tracker.

Example:
    >>> from posekit.results import FrameResult, TrackingState
    >>> r = FrameResult(pose=None, state=TrackingState.LOST, timestamp=0.0, index=0)
    >>> r.has_pose, r.results
    (False, mappingproxy({}))
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from posekit.detector import Detection
from posekit.pose import Pose
from posekit.records import frame_record
from posekit.roi import RotatedRect

__all__ = ["FrameResult", "Timings", "TrackingState"]

_NO_RESULTS: Mapping[str, Any] = MappingProxyType({})


class TrackingState(enum.Enum):
    """What happened on a frame.

    * ``DETECTED``: the detector ran on this frame and the landmark model confirmed a pose.
    * ``TRACKING``: the pose was found in the ROI predicted from the previous frame (the
      detector was skipped).
    * ``LOST``: no pose on this frame (the detector found nobody, or the pose presence fell
      below ``min_tracking_confidence``); in video mode the next frame runs the detector.
    """

    DETECTED = "detected"
    TRACKING = "tracking"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Timings:
    """Milliseconds spent on one frame, by stage (0 for a stage that did not run)."""

    detector_ms: float = 0.0
    crop_ms: float = 0.0
    landmark_ms: float = 0.0
    decode_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The outcome of one frame.

    Attributes:
        pose: the tracked :class:`~posekit.pose.Pose` (pixels of this frame), or None.
        state: see :class:`TrackingState`.
        timestamp: seconds (the caller's, the source's or ``time.monotonic()``).
        index: 0-based frame number (per stream, or per tracker for ``Tracker.process``).
        roi: the region the landmark model looked at, or None when it did not run.
        detection: the detector's person when the detector ran and found one, else None.
        segmentation: ``(H, W)`` float32 person probability when enabled and a pose was found.
        frame: the source frame (only from ``Tracker.stream``; None from ``process``).
        timings: per-stage milliseconds.
        results: analyzer outputs by analyzer name (read-only), filled in by
            :class:`posekit.analyzers.Pipeline`; empty straight from the tracker.
        found_by: how the person was found on this frame: ``"tracking"`` (previous ROI),
            ``"detector"`` (the normal detector pass), ``"hint"`` (the caller's ``roi``), or the
            name of the recovery pass (see :data:`posekit.accuracy.RECOVERY_PASSES`); None
            without a pose.
        object_scale: video mode: the person's size in pixels that MediaPipe's smoothing
            divides speeds by (the mean side of the ROI of the auxiliary points 33/34, before
            the 1.25 enlargement); ``Pipeline`` passes it to its filters. None without a pose
            and in image mode.
    """

    pose: Pose | None
    state: TrackingState
    timestamp: float
    index: int
    roi: RotatedRect | None = None
    detection: Detection | None = None
    segmentation: NDArray[np.float32] | None = None
    frame: NDArray[Any] | None = None
    timings: Timings = Timings()
    results: Mapping[str, Any] = field(default_factory=lambda: _NO_RESULTS)
    found_by: str | None = None
    object_scale: float | None = None

    @property
    def has_pose(self) -> bool:
        """True when a pose was found on this frame."""
        return self.pose is not None

    def to_record(self) -> dict[str, Any]:
        """The frame record :class:`~posekit.sinks.JsonlSink` writes: frame, timestamp, state,
        pose, roi and each result's ``to_record()`` (see :func:`posekit.records.frame_record`).

        >>> FrameResult(pose=None, state=TrackingState.LOST, timestamp=0.5, index=3).to_record()
        ... # doctest: +NORMALIZE_WHITESPACE
        {'schema_version': 1, 'frame': 3, 'timestamp': 0.5, 'state': 'lost', 'pose': None,
         'roi': None, 'results': {}}
        """
        return frame_record(self)
