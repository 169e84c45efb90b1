"""Repetition counters: a joint angle passing through two thresholds and back (hysteresis).

A rep is one excursion of a signal (a joint angle, in degrees) from its **rest** side to beyond
the far threshold and back. With ``rest="up"`` (squats, push-ups, curls: the limb is straight at
rest) the signal must start above ``up``, fall below ``down`` and rise above ``up`` again; with
``rest="down"`` (jumping jacks: arms down at rest) it starts below ``down``, rises above ``up``
and falls below ``down`` again. The gap between the thresholds is the hysteresis: noise around
one threshold cannot count.

Rules that keep the count honest:

* **Start from rest.** Nothing counts until the signal has been seen on the rest side, so a clip
  that starts mid-rep (or at the bottom) does not count that partial rep.
* **Debounce.** A zone change is accepted once the signal has stayed in the new zone for
  ``debounce`` seconds (the change is dated to its first frame).
* **Minimum duration.** A rep shorter than ``min_duration`` seconds (start to end) is dropped.
* **Lost person / unknown signal.** Frames without a pose, or whose joints are below
  ``min_visibility``, carry no signal. A gap longer than ``max_gap`` seconds abandons the rep in
  progress and the counter waits to see the rest side again (the person left, or tracking broke).
  Shorter gaps are bridged.
* A rep still in progress when the stream ends is not counted.

The exercise counters (:class:`~posekit.analyzers.exercises.SquatCounter`, ...) are rows of
:data:`posekit.analyzers.exercises.EXERCISES`; every counter returns a
:class:`~posekit.analyzers.reps.RepCount`.

Example:
    >>> import numpy as np
    >>> from posekit.analyzers.counters import RepCounter
    >>> counter = RepCounter("knee", up=150, down=110)
    >>> t = np.arange(0, 5, 0.04)
    >>> knee = 135 + 40 * np.cos(np.pi * t)  # squats of 2 s from standing; ends at the bottom
    >>> state = [counter.feed(float(a), float(ts)) for a, ts in zip(knee, t)][-1]
    >>> state.count, [round(r.depth) for r in state.reps], state.phase.value
    (2, [95, 95], 'returning')
    >>> [counter.feed(175.0, ts).count for ts in (5.1, 5.2)]  # back up (after the debounce)
    [2, 3]
"""

from __future__ import annotations

import enum
import logging
import math
from typing import Final, Literal

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.analyzers.geometry import DEFAULT_MIN_VISIBILITY, JointTriple, Space
from posekit.analyzers.reps import GENERIC_WORDS, Phase, PhaseWords, Rep, RepCount, rep_columns
from posekit.analyzers.signals import Cue
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.timestamps import check_timestamp

__all__ = ["RepCounter", "Rest"]

logger = logging.getLogger(__name__)

_TIMESTAMP_ADVICE = "feed samples in time order, or reset() for a new sequence"

Rest = Literal["up", "down"]
"""Which side of the thresholds a rep starts and ends on."""


class _Zone(enum.IntEnum):
    REST = 0
    MIDDLE = 1
    FAR = 2


_NO_REPS: Final[tuple[Rep, ...]] = ()


class RepCounter(Analyzer[RepCount]):
    """Count repetitions of a signal with hysteresis (see the module docstring).

    Args:
        signal: a name from :data:`SIGNAL_NAMES` (``"knee"`` is the mean of the visible knees
            in the image; ``"knee_3d"`` the same from world landmarks; ``"hip_height"``) or a
            :class:`~posekit.analyzers.geometry.JointTriple`.
        up: the upper threshold (degrees for angles; leg lengths for hip height).
        down: the lower threshold, below ``up``.
        rest: which side the rep starts and ends on: ``"up"`` (above ``up``) or ``"down"``.
        min_visibility: joints below this visibility make the signal unknown.
        min_duration: shortest rep in seconds (start to end) that counts.
        debounce: seconds the signal must stay in a new zone before the change is accepted.
        max_gap: longest stretch of unknown signal (seconds) bridged within a rep.
        space: measure angle names and joint triples in ``"image"`` pixels (default) or
            ``"world"`` metres; names ending in ``_3d`` and ``hip_height`` are always world,
            ``hip_height_2d`` always image (a contradicting ``space`` raises).
        fallback: a :class:`Cue` used on poses **without world landmarks** when ``signal``
            needs them (poses loaded from files or built without ``world``). Without one, such
            poses carry no signal. Switching between the two cues mid-stream abandons the rep
            in progress (their values are not comparable) and waits for the rest side.
        name: key of the output in ``frame.results``.
        words: what displays call the phases (:class:`PhaseWords`; the presets name them
            after their exercise).

    Raises:
        InputError: bad thresholds or options.

    Example:
        >>> from posekit.analyzers.base import OfflineFrame
        >>> c = RepCounter("right_elbow", up=150, down=90, name="presses")
        >>> c.update(OfflineFrame(pose=None, timestamp=0.0, index=0)).phase
        <Phase.UNKNOWN: 'unknown'>
        >>> RepCounter("knee_3d", up=145, down=110, fallback=Cue("knee", 150, 110)).space
        'world'
    """

    def __init__(
        self,
        signal: str | JointTriple | tuple[int, int, int],
        *,
        up: float,
        down: float,
        rest: Rest = "up",
        min_visibility: float = DEFAULT_MIN_VISIBILITY,
        min_duration: float = 0.4,
        debounce: float = 0.08,
        max_gap: float = 0.5,
        space: Space | None = None,
        fallback: Cue | None = None,
        name: str = "reps",
        words: PhaseWords | None = None,
    ) -> None:
        cue = Cue(signal, up, down, space)
        if fallback is not None and not isinstance(fallback, Cue):
            raise InputError(
                f"fallback={fallback!r}: pass a Cue, e.g. Cue('knee', up=150, down=110), or None"
            )
        if fallback is not None and fallback.needs_world:
            raise InputError(
                f"fallback {fallback.signal!r} needs world landmarks too: the fallback is for "
                "poses without them, use an image signal such as 'knee'"
            )
        if rest not in ("up", "down"):
            raise InputError(f"rest={rest!r}: use 'up' (squats, curls) or 'down' (jumping jacks)")
        if not 0.0 <= min_visibility <= 1.0:
            raise InputError(f"min_visibility={min_visibility} must lie in [0, 1]")
        for label, value in (("min_duration", min_duration), ("debounce", debounce)):
            if not (math.isfinite(value) and value >= 0):
                raise InputError(f"{label}={value} must be a finite number of seconds >= 0")
        if not max_gap >= 0:
            raise InputError(f"max_gap={max_gap} must be >= 0 seconds")
        self.cue = cue
        self.fallback = fallback if cue.needs_world else None
        self.signal = signal
        self.up = cue.up
        self.down = cue.down
        self.rest: Rest = rest
        self.min_visibility = float(min_visibility)
        self.min_duration = float(min_duration)
        self.debounce = float(debounce)
        self.max_gap = float(max_gap)
        self.space: Space = cue.space or "image"
        self.name = name
        if words is not None and not isinstance(words, PhaseWords):
            raise InputError(
                f"words={words!r}: pass PhaseWords(rest=..., leaving=..., turn=..., "
                "returning=...) or None"
            )
        self.words: PhaseWords = GENERIC_WORDS if words is None else words
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget the count, the reps and the phase."""
        self._reps: tuple[Rep, ...] = _NO_REPS
        self._last_t: float | None = None
        self._last_valid_t: float | None = None
        self._active: Cue = self.cue
        self._abandon()

    def _abandon(self) -> None:
        self._phase = Phase.UNKNOWN
        self._zone: _Zone | None = None  # accepted (debounced) zone
        self._run_zone: _Zone | None = None  # zone of the current run of raw frames
        self._run_t = 0.0
        self._run_i = 0
        self._start_t = 0.0
        self._start_i = 0
        self._ext_v = math.nan
        self._ext_t = 0.0
        self._ext_i = 0

    @property
    def count(self) -> int:
        """Reps counted so far."""
        return len(self._reps)

    @property
    def reps(self) -> tuple[Rep, ...]:
        """The counted reps, oldest first."""
        return self._reps

    # ------------------------------------------------------------------ per frame
    def _cue_for(self, pose: Pose) -> Cue:
        if self.fallback is not None and pose.world is None:
            return self.fallback
        return self.cue

    def measure(self, frame: PoseFrame) -> float | None:
        """This counter's signal on ``frame`` (the fallback cue's on a pose without world
        landmarks, when there is one), or ``None`` when unknown."""
        pose = frame.pose
        if pose is None:
            return None
        return self._cue_for(pose).measure(pose, self.min_visibility)

    def csv_columns(self) -> dict[str, str]:
        """CSV columns of this counter's record (see :func:`posekit.sinks.analyzer_columns`)."""
        return rep_columns(self.name)

    def update(self, frame: PoseFrame) -> RepCount:
        """Consume one frame (a pose or ``None``) and return the count so far."""
        pose = frame.pose
        if pose is None:
            return self.feed(None, frame.timestamp, frame.index)
        cue = self._cue_for(pose)
        if cue is not self._active:
            check_timestamp(frame.timestamp, self._last_t, advice=_TIMESTAMP_ADVICE)
            self._switch(cue, frame.timestamp)
        return self.feed(cue.measure(pose, self.min_visibility), frame.timestamp, frame.index)

    def _switch(self, cue: Cue, t: float) -> None:
        """Change the active cue; the rep in progress is abandoned (values not comparable)."""
        logger.info(
            "%s: switching from %r to %r at %.3f s (world landmarks %s)",
            self.name,
            self._active.signal,
            cue.signal,
            t,
            "missing" if cue is self.fallback else "back",
        )
        self._active = cue
        self._abandon()

    def feed(self, value: float | None, timestamp: float, index: int = -1) -> RepCount:
        """Consume one sample of the active cue's signal (``None``/NaN = unknown) at
        ``timestamp`` seconds. The active cue is the counter's own unless :meth:`update` met a
        pose without world landmarks and switched to the fallback.

        Raises:
            TimestampError: ``timestamp`` breaks :func:`posekit.timestamps.check_timestamp`
                (the counter is left untouched).
        """
        t = check_timestamp(timestamp, self._last_t, advice=_TIMESTAMP_ADVICE)
        self._last_t = t
        v = None if value is None or not math.isfinite(value) else float(value)
        gap_start = self._last_valid_t
        if v is None:
            if gap_start is not None and t - gap_start > self.max_gap:
                self._lose(t)
            return RepCount(
                self.count, self._phase, None, self._reps, None, self._active, self.words,
                self._zone is _Zone.FAR,
            )  # fmt: skip
        if gap_start is not None and t - gap_start > self.max_gap:
            self._lose(t)
        self._last_valid_t = t
        new_rep = self._step(v, t, index)
        return RepCount(
            self.count, self._phase, v, self._reps, new_rep, self._active, self.words,
            self._zone is _Zone.FAR,
        )  # fmt: skip

    def _lose(self, t: float) -> None:
        if self._phase in (Phase.LEAVING, Phase.RETURNING):
            logger.debug(
                "signal lost for more than %.2f s at %.3f s: rep abandoned", self.max_gap, t
            )
        self._abandon()
        self._last_valid_t = None

    def _classify(self, v: float) -> _Zone:
        up, down = self._active.up, self._active.down
        if self.rest == "up":
            return _Zone.REST if v >= up else _Zone.FAR if v <= down else _Zone.MIDDLE
        return _Zone.REST if v <= down else _Zone.FAR if v >= up else _Zone.MIDDLE

    def _more_extreme(self, v: float) -> bool:
        if math.isnan(self._ext_v):
            return True
        return v < self._ext_v if self.rest == "up" else v > self._ext_v

    def _step(self, v: float, t: float, index: int) -> Rep | None:
        zone = self._classify(v)
        if zone != self._run_zone:
            self._run_zone, self._run_t, self._run_i = zone, t, index
            if zone is not _Zone.REST and self._phase in (Phase.UNKNOWN, Phase.REST):
                # a possible rep starts here: its extreme is tracked from this frame on
                self._start_t, self._start_i = t, index
                self._ext_v = math.nan
        if zone is not _Zone.REST and self._more_extreme(v):
            self._ext_v, self._ext_t, self._ext_i = v, t, index
        if zone == self._zone or t - self._run_t < self.debounce:
            return None
        self._zone = zone  # the zone change is accepted
        phase = self._phase
        if phase is Phase.UNKNOWN:
            if zone is _Zone.REST:
                self._phase = Phase.REST
        elif phase is Phase.REST:
            self._phase = Phase.RETURNING if zone is _Zone.FAR else Phase.LEAVING
        elif phase is Phase.LEAVING:
            if zone is _Zone.FAR:
                self._phase = Phase.RETURNING
            elif zone is _Zone.REST:
                self._phase = Phase.REST  # a partial rep: went back without reaching the far side
        elif zone is _Zone.REST:  # RETURNING and back at rest: a rep
            self._phase = Phase.REST
            return self._complete(self._run_t, self._run_i)
        return None

    def _complete(self, end_t: float, end_i: int) -> Rep | None:
        if end_t - self._start_t < self.min_duration:
            logger.debug("rep of %.2f s dropped (min_duration)", end_t - self._start_t)
            return None
        rep = Rep(
            number=self.count + 1,
            start=self._start_t,
            bottom=self._ext_t,
            end=end_t,
            depth=self._ext_v,
            start_index=self._start_i,
            bottom_index=self._ext_i,
            end_index=end_i,
        )
        self._reps = (*self._reps, rep)
        return rep

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(signal={self.signal!r}, up={self.up}, down={self.down}, "
            f"rest={self.rest!r}, count={self.count})"
        )
