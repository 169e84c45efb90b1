"""The plugin pipeline: pose filters, then analyzers, on every frame, live or offline.

A :class:`Pipeline` holds an ordered list of **filters** (:class:`~posekit.filters.PoseFilter`:
they transform the pose, e.g. smoothing) and of **analyzers**
(:class:`~posekit.analyzers.base.Analyzer`: they read the filtered pose and add a typed result
under their ``name``). It is the one way to attach plugins:

* live: ``pipe.stream(tracker.stream(source))`` yields the tracker's
  :class:`~posekit.results.FrameResult` objects with the filtered ``pose`` and
  ``results = {analyzer.name: output}``; ``pipe.process(tracker.process(image, t))`` does one
  frame;
* offline: ``pipe.run(poses, fps=30)`` over recorded poses (``None`` = no pose), or
  ``pipe.stream(frames)`` over any :class:`~posekit.analyzers.base.PoseFrame` objects (e.g.
  :class:`~posekit.analyzers.base.OfflineFrame`), yields :class:`AnalyzedFrame` objects.

Filters are the tracker's own smoothing classes (``Tracker(smoother=...)`` takes the same
:class:`~posekit.filters.PoseFilter`); on a tracker frame they get its ``object_scale``, so
``Pipeline(filters=[PoseSmoother.mediapipe()])`` over ``Tracker(smoother=None)`` gives exactly
the poses of ``Tracker()``.

Per frame: a frame without a pose resets every filter (like the tracker's own smoothing) and
reaches every analyzer with ``pose=None``. Timestamps follow the tracker's rule
(:func:`posekit.timestamps.check_timestamp`: finite, at least 1 µs apart;
:class:`~posekit.errors.TimestampError` otherwise, with the pipeline untouched). ``stream`` and
``run`` reset all plugins first.

Example:
    >>> import posekit
    >>> from posekit.analyzers import AngleAnalyzer, Pipeline, SquatCounter
    >>> pipe = Pipeline(analyzers=[SquatCounter(), AngleAnalyzer(["knee"])])
    >>> with posekit.Tracker() as tracker:  # doctest: +SKIP
    ...     for frame in pipe.stream(tracker.stream("squats.mp4")):
    ...         print(frame.index, frame.results["squats"].count, frame.results["angles"])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, overload

from posekit.analyzers.base import Analyzer, OfflineFrame, PoseFrame
from posekit.errors import InputError
from posekit.filters import PoseFilter
from posekit.pose import Pose
from posekit.records import frame_record
from posekit.results import FrameResult
from posekit.timestamps import check_timestamp

__all__ = ["AnalyzedFrame", "Pipeline", "ResultFrame"]


class ResultFrame(PoseFrame, Protocol):
    """A frame after the pipeline: its (filtered) pose, timestamp, index and ``results``."""

    @property
    def results(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True, slots=True)
class AnalyzedFrame:
    """An offline frame after the pipeline.

    Attributes:
        pose: the filtered pose, or ``None``.
        timestamp: seconds.
        index: frame number.
        results: analyzer outputs by analyzer name (read-only).
    """

    pose: Pose | None
    timestamp: float
    index: int
    results: Mapping[str, Any]

    def to_record(self) -> dict[str, Any]:
        """The frame record :class:`~posekit.sinks.JsonlSink` writes (see
        :func:`posekit.records.frame_record`)."""
        return frame_record(self)


class Pipeline:
    """Pose filters then analyzers, applied frame by frame (see the module docstring).

    Args:
        filters: :class:`~posekit.filters.PoseFilter` objects, applied in order.
        analyzers: :class:`~posekit.analyzers.base.Analyzer` objects with distinct names.

    Raises:
        InputError: a filter or analyzer of the wrong type, or two analyzers with one name.

    Example:
        >>> import numpy as np
        >>> from posekit.filters import PoseSmoother
        >>> from posekit.analyzers import AngleAnalyzer
        >>> pose = Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33), np.ones(33), score=1.0)
        >>> pipe = Pipeline(filters=[PoseSmoother.mediapipe()], analyzers=[AngleAnalyzer(["knee"])])
        >>> out = pipe.run([pose, None, pose], fps=30)
        >>> [f.results["angles"]["knee"] for f in out]  # zero-length limbs: unknown
        [None, None, None]
    """

    def __init__(
        self, filters: Sequence[PoseFilter] = (), analyzers: Sequence[Analyzer[Any]] = ()
    ) -> None:
        for f in filters:
            if not isinstance(f, PoseFilter):
                raise InputError(
                    f"filters must be posekit.filters.PoseFilter objects, got "
                    f"{type(f).__name__}: wrap a per-array Filter in PoseSmoother(image=...)"
                )
        names: dict[str, Analyzer[Any]] = {}
        for a in analyzers:
            if not isinstance(a, Analyzer):
                raise InputError(
                    f"analyzers must be posekit.analyzers.Analyzer objects, got {type(a).__name__}"
                )
            if a.name in names:
                raise InputError(
                    f"two analyzers are named {a.name!r}: their results would collide; pass "
                    "name=... to one of them"
                )
            names[a.name] = a
        self.filters: tuple[PoseFilter, ...] = tuple(filters)
        self.analyzers: tuple[Analyzer[Any], ...] = tuple(analyzers)
        self._last_t: float | None = None

    def reset(self) -> None:
        """Reset every filter and analyzer and forget the last timestamp."""
        for f in self.filters:
            f.reset()
        for a in self.analyzers:
            a.reset()
        self._last_t = None

    # ------------------------------------------------------------------ one frame
    @overload
    def process(self, frame: FrameResult) -> FrameResult: ...

    @overload
    def process(self, frame: PoseFrame) -> ResultFrame: ...

    def process(self, frame: PoseFrame) -> ResultFrame:
        """Filter one frame's pose and run the analyzers on it.

        A :class:`~posekit.results.FrameResult` comes back as a ``FrameResult`` (with the
        filtered pose and ``results``); any other frame as an :class:`AnalyzedFrame`.

        Raises:
            TimestampError: timestamp not finite or not later than the previous frame's.
        """
        t = check_timestamp(
            frame.timestamp,
            self._last_t,
            advice="feed frames in time order or reset() the pipeline",
            where=f"frame {frame.index}: ",
        )
        self._last_t = t
        pose = frame.pose
        if pose is None:
            for f in self.filters:
                f.reset()
        else:
            scale = frame.object_scale if isinstance(frame, FrameResult) else None
            for f in self.filters:
                pose = f.apply(pose, t, scale)
        seen: PoseFrame = frame
        if pose is not frame.pose:
            if isinstance(frame, FrameResult):
                seen = dataclasses.replace(frame, pose=pose)
            else:
                seen = OfflineFrame(pose=pose, timestamp=t, index=frame.index)
        results = MappingProxyType({a.name: a.update(seen) for a in self.analyzers})
        if isinstance(seen, FrameResult):
            return dataclasses.replace(seen, results=results)
        return AnalyzedFrame(pose=pose, timestamp=t, index=frame.index, results=results)

    # ------------------------------------------------------------------ sequences
    @overload
    def stream(self, frames: Iterable[FrameResult]) -> Iterator[FrameResult]: ...

    @overload
    def stream(self, frames: Iterable[PoseFrame]) -> Iterator[ResultFrame]: ...

    def stream(self, frames: Iterable[PoseFrame]) -> Iterator[ResultFrame]:
        """Reset, then :meth:`process` every frame of ``frames`` lazily (live or offline)."""
        self.reset()
        for frame in frames:
            yield self.process(frame)

    def run(
        self,
        poses: Sequence[Pose | None],
        *,
        fps: float | None = None,
        timestamps: Sequence[float] | None = None,
    ) -> list[AnalyzedFrame]:
        """Reset, then run over recorded poses (``None`` = no pose on that frame).

        Give either ``fps`` (frame ``i`` at ``i / fps`` seconds) or one timestamp per pose.

        Raises:
            InputError: neither or both of ``fps``/``timestamps``, a length mismatch, or an
                element that is neither a Pose nor None.
            TimestampError: timestamps that do not strictly increase.
        """
        if (fps is None) == (timestamps is None):
            raise InputError("pass exactly one of fps=... or timestamps=[...] (seconds per pose)")
        if fps is not None:
            if not (math.isfinite(fps) and fps > 0):
                raise InputError(f"fps={fps} must be a positive number")
            times = [i / fps for i in range(len(poses))]
        else:
            assert timestamps is not None
            times = [float(t) for t in timestamps]
            if len(times) != len(poses):
                raise InputError(
                    f"{len(poses)} poses but {len(times)} timestamps: give one timestamp per pose"
                )
        for i, pose in enumerate(poses):
            if pose is not None and not isinstance(pose, Pose):
                raise InputError(
                    f"poses[{i}] is a {type(pose).__name__}: run() takes Pose objects or None; "
                    "use stream() for frame objects"
                )
        self.reset()
        out: list[AnalyzedFrame] = []
        for i, (pose, t) in enumerate(zip(poses, times, strict=True)):
            result = self.process(OfflineFrame(pose=pose, timestamp=t, index=i))
            assert isinstance(result, AnalyzedFrame)
            out.append(result)
        return out

    def __repr__(self) -> str:
        return f"Pipeline(filters={list(self.filters)!r}, analyzers={list(self.analyzers)!r})"
