"""The one repetition result type of every rep counter (angle or classifier driven).

:class:`~posekit.analyzers.counters.RepCounter` (a signal with two thresholds) and
:class:`~posekit.analyzers.classifier.ClassRepCounter` (a classifier's votes) both return a
:class:`RepCount` per frame, whose ``new_rep`` is the :class:`Rep` completed on that frame or
``None``.

Example:
    >>> state = RepCount(1, Phase.RETURNING, 95.0, (), words=PhaseWords(turn="bottom"),
    ...                  at_turn=True)
    >>> state.phase.value, state.phase_text, state.new_rep is None
    ('returning', 'bottom', True)
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from posekit.analyzers.signals import Cue

__all__ = ["GENERIC_WORDS", "Phase", "PhaseWords", "Rep", "RepCount", "Tempo", "rep_columns"]


class Phase(enum.Enum):
    """Where the counter is in a rep.

    * ``UNKNOWN``: no usable signal yet, or the rest side not seen since the person was lost.
    * ``REST``: on the rest side, waiting for a rep to start.
    * ``LEAVING``: left the rest side, not yet beyond the far threshold.
    * ``RETURNING``: went beyond the far threshold; the rep counts when the rest side is
      reached again.
    """

    UNKNOWN = "unknown"
    REST = "rest"
    LEAVING = "leaving"
    RETURNING = "returning"


class PhaseWords(NamedTuple):
    """The words a display prints for where the person is in a rep: one vocabulary for every
    display (``posekit run --count``, ``posekit-squats``, its plot), set per exercise in
    :data:`posekit.analyzers.exercises.EXERCISES` (squats: standing, going down, bottom,
    coming up).

    :class:`Phase` values stay the machine-readable names written to JSON Lines and CSV.

    Attributes:
        rest: on the rest side (``Phase.REST``).
        leaving: left the rest side, not yet beyond the far threshold (``Phase.LEAVING``).
        turn: beyond the far threshold: the turning point (``Phase.RETURNING``, still in the
            far zone).
        returning: on the way back to rest (``Phase.RETURNING``, out of the far zone).
        unknown: no usable signal, or the rest side not seen yet (``Phase.UNKNOWN``).

    Example:
        >>> PhaseWords("standing", "going down", "bottom").word(Phase.RETURNING, at_turn=True)
        'bottom'
        >>> PhaseWords().word(Phase.UNKNOWN)
        'get in position'
    """

    rest: str = "at rest"
    leaving: str = "leaving rest"
    turn: str = "turning point"
    returning: str = "returning"
    unknown: str = "get in position"

    def word(self, phase: Phase, at_turn: bool = False) -> str:
        """The word for ``phase`` (``at_turn``: the signal is beyond the far threshold)."""
        if phase is Phase.REST:
            return self.rest
        if phase is Phase.LEAVING:
            return self.leaving
        if phase is Phase.RETURNING:
            return self.turn if at_turn else self.returning
        return self.unknown


GENERIC_WORDS: Final = PhaseWords()
"""The words of a plain :class:`RepCounter`."""


class Tempo(NamedTuple):
    """Seconds from the start to the turning point, and from the turning point to the end."""

    to_bottom: float
    from_bottom: float


@dataclass(frozen=True, slots=True)
class Rep:
    """One counted repetition. Times are stream timestamps in seconds.

    Attributes:
        number: 1-based rep number.
        start: when the signal left the rest side.
        bottom: when it reached its extreme (the deepest point of a squat; the highest arm
            position of a jumping jack).
        end: when it was back on the rest side.
        depth: the extreme value of the signal, in its unit (degrees for angles, leg lengths
            for hip height, votes for a classifier counter).
        start_index, bottom_index, end_index: the frame indices of those moments.
    """

    number: int
    start: float
    bottom: float
    end: float
    depth: float
    start_index: int
    bottom_index: int
    end_index: int

    @property
    def duration(self) -> float:
        """Seconds from start to end."""
        return self.end - self.start

    @property
    def tempo(self) -> Tempo:
        """Seconds down to the turning point and back up from it."""
        return Tempo(self.bottom - self.start, self.end - self.bottom)

    def to_record(self) -> dict[str, Any]:
        """The rep as JSON values: its fields and ``duration``.

        >>> Rep(1, 0.0, 1.0, 2.0, 85.0, 0, 25, 50).to_record()["duration"]
        2.0
        """
        return {
            "number": self.number,
            "start": self.start,
            "bottom": self.bottom,
            "end": self.end,
            "depth": self.depth,
            "duration": self.duration,
            "start_index": self.start_index,
            "bottom_index": self.bottom_index,
            "end_index": self.end_index,
        }


@dataclass(frozen=True, slots=True)
class RepCount:
    """A counter's output for one frame.

    Attributes:
        count: reps counted so far.
        phase: see :class:`Phase`.
        value: this frame's signal (degrees for angles, see :attr:`Cue.unit`; the target
            class's smoothed votes for a classifier counter), or ``None`` when unknown (no
            pose, hidden joints).
        reps: every counted :class:`Rep`, oldest first.
        new_rep: the rep completed on this frame, else ``None``.
        cue: the counter's active :class:`Cue` (its own, or its fallback after a pose
            without world landmarks): what ``value`` and the thresholds are measured in;
            ``None`` for a classifier counter.
        words: the counter's :class:`PhaseWords` (what :attr:`phase_text` says).
        at_turn: the signal is beyond the far threshold (the bottom of a squat).

    Example:
        >>> words = PhaseWords("standing", "going down", "bottom", "coming up")
        >>> state = RepCount(1, Phase.RETURNING, 95.0, (), words=words, at_turn=True)
        >>> state.phase.value, state.phase_text
        ('returning', 'bottom')
    """

    count: int
    phase: Phase
    value: float | None
    reps: tuple[Rep, ...]
    new_rep: Rep | None = None
    cue: Cue | None = None
    words: PhaseWords = GENERIC_WORDS
    at_turn: bool = False

    @property
    def phase_text(self) -> str:
        """The phase in the exercise's words (``"standing"``, ``"going down"``, ``"bottom"``,
        ``"coming up"`` for squats): what displays print."""
        return self.words.word(self.phase, self.at_turn)

    def to_record(self) -> dict[str, Any]:
        """This frame's state as JSON values: ``{count, phase, value, new_rep}`` (the rep
        completed on this frame, else None); the rep history stays out, so that a record has
        the same size on every frame.

        >>> RepCount(2, Phase.REST, float("nan"), ()).to_record()
        {'count': 2, 'phase': 'rest', 'value': None, 'new_rep': None}
        """
        value = self.value
        return {
            "count": self.count,
            "phase": self.phase.value,
            "value": None if value is None or not math.isfinite(value) else float(value),
            "new_rep": None if self.new_rep is None else self.new_rep.to_record(),
        }


def rep_columns(name: str) -> dict[str, str]:
    """The CSV columns of a rep counter named ``name``: column -> key of its record.

    >>> rep_columns("squats")
    {'squats_count': 'count', 'squats_phase': 'phase'}
    """
    return {f"{name}_count": "count", f"{name}_phase": "phase"}
