"""The analyzer interface: per-frame plugins that read a pose and add a typed result.

An analyzer sees one frame at a time through the small :class:`PoseFrame` protocol (a pose or
``None`` when the person is lost, the timestamp in seconds, the frame index). Tracker results
(:class:`posekit.tracker.FrameResult`) satisfy it, and so does :class:`OfflineFrame`, which is how
the same analyzer runs over a recorded sequence of poses. Analyzers may hold state; ``reset()``
forgets it.

Example:
    >>> from posekit.analyzers.base import Analyzer, OfflineFrame, PoseFrame
    >>> class Seen(Analyzer[bool]):
    ...     name = "seen"
    ...     def update(self, frame: PoseFrame) -> bool:
    ...         return frame.pose is not None
    >>> Seen().update(OfflineFrame(pose=None, timestamp=0.0, index=0))
    False
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from posekit.pose import Pose

__all__ = ["Analyzer", "OfflineFrame", "PoseFrame"]

T = TypeVar("T")


class PoseFrame(Protocol):
    """What an analyzer needs to know about a frame."""

    @property
    def pose(self) -> Pose | None: ...

    @property
    def timestamp(self) -> float: ...

    @property
    def index(self) -> int: ...


@dataclass(frozen=True, slots=True)
class OfflineFrame:
    """A recorded pose with its timestamp (seconds) and index, for offline analysis."""

    pose: Pose | None
    timestamp: float
    index: int


class Analyzer(ABC, Generic[T]):
    """A per-frame plugin: ``update(frame)`` returns this analyzer's typed output.

    ``name`` is the key under which the output is stored in a frame's ``results``. Analyzers
    that need a pose must accept ``frame.pose is None`` (person lost) gracefully.
    """

    name: str = "analyzer"

    @abstractmethod
    def update(self, frame: PoseFrame) -> T:
        """Consume one frame and return this analyzer's output for it."""

    def reset(self) -> None:
        """Forget all state (a new person, a new video)."""
