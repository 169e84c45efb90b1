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

Presets: :class:`SquatCounter`, :class:`PushUpCounter`, :class:`LungeCounter`,
:class:`BicepCurlCounter`, :class:`JumpingJackCounter` (arm elevation at the shoulder).

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
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal, NamedTuple

import numpy as np

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    DEFAULT_MIN_VISIBILITY,
    JointTriple,
    Space,
    angle,
    hip_height,
)
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.timestamps import check_timestamp

__all__ = [
    "SIGNAL_NAMES",
    "BicepCurlCounter",
    "Cue",
    "JumpingJackCounter",
    "LungeCounter",
    "Phase",
    "PhaseWords",
    "PushUpCounter",
    "Rep",
    "RepCount",
    "RepCounter",
    "SquatCounter",
    "Tempo",
]

logger = logging.getLogger(__name__)

_TIMESTAMP_ADVICE = "feed samples in time order, or reset() for a new sequence"

Rest = Literal["up", "down"]

SIGNAL_NAMES: tuple[str, ...] = (
    *ANGLE_NAMES,
    *(f"{n}_3d" for n in ANGLE_NAMES),
    "hip_height",
    "hip_height_2d",
)
"""Every signal name a :class:`RepCounter` accepts:

* an angle name from :data:`~posekit.analyzers.geometry.ANGLE_NAMES` (``"knee"``, ``"elbow"``,
  ...): the angle in degrees, measured in the counter's ``space`` (image pixels by default:
  what the camera sees, so it depends on the camera angle);
* the same name + ``"_3d"`` (``"knee_3d"``, ``"left_elbow_3d"``, ...): the angle between the
  3-D world landmarks (``pose.world``), the same from any camera angle;
* ``"hip_height"``: :func:`~posekit.analyzers.geometry.hip_height` on world landmarks (leg
  lengths, about 1 standing); ``"hip_height_2d"``: the same on image pixels (view-dependent).
"""

_WORLD_SIGNALS: Final = frozenset(n for n in SIGNAL_NAMES if n.endswith("_3d") or n == "hip_height")


def _signal_space(signal: str | JointTriple | tuple[int, int, int]) -> Space | None:
    """The space a signal name fixes (``None``: the counter's ``space`` decides)."""
    if not isinstance(signal, str):
        return None
    if signal in _WORLD_SIGNALS:
        return "world"
    if signal == "hip_height_2d":
        return "image"
    return None


@dataclass(frozen=True, slots=True)
class Cue:
    """A signal and its thresholds: what a :class:`RepCounter` watches.

    Attributes:
        signal: a name from :data:`SIGNAL_NAMES` or a joint triple.
        up, down: the thresholds, in the signal's unit (:attr:`unit`).
        space: ``"image"`` or ``"world"``: where the signal is measured (fixed by names such as
            ``"knee_3d"`` or ``"hip_height"``; ``"image"`` by default for plain angles).

    Example:
        >>> Cue("knee_3d", up=145, down=110).space, Cue("hip_height", up=0.85, down=0.7).unit
        ('world', 'leg lengths')
    """

    signal: str | JointTriple | tuple[int, int, int]
    up: float
    down: float
    space: Space | None = None

    def __post_init__(self) -> None:
        signal = self.signal
        if isinstance(signal, str):
            if signal not in SIGNAL_NAMES:
                raise InputError(
                    f"unknown signal {signal!r}: use an angle name ({', '.join(ANGLE_NAMES)}), "
                    "the same + '_3d' (from world landmarks), 'hip_height', 'hip_height_2d' "
                    "or a JointTriple"
                )
        else:
            try:
                angle(np.zeros((33, 2)), signal)
            except InputError as exc:
                raise InputError(f"bad joint triple {signal!r}: {exc}") from exc
        if not (math.isfinite(self.up) and math.isfinite(self.down) and self.down < self.up):
            raise InputError(
                f"thresholds up={self.up}, down={self.down}: need finite down < up (the gap "
                "between them is the hysteresis), e.g. up=150, down=110 for knee angles"
            )
        if self.space not in (None, "image", "world"):
            raise InputError(f"space={self.space!r}: use 'image' or 'world'")
        fixed = _signal_space(signal)
        if fixed is not None and self.space is not None and self.space != fixed:
            raise InputError(
                f"signal {signal!r} is measured in {fixed!r} space, not space={self.space!r}: "
                "leave space out, or pick the signal of the other space (e.g. 'knee' vs "
                "'knee_3d', 'hip_height_2d' vs 'hip_height')"
            )
        object.__setattr__(self, "up", float(self.up))
        object.__setattr__(self, "down", float(self.down))
        object.__setattr__(self, "space", fixed or self.space or "image")

    @property
    def unit(self) -> str:
        """``"deg"`` for angles, ``"leg lengths"`` for hip height."""
        return "leg lengths" if self.signal in ("hip_height", "hip_height_2d") else "deg"

    @property
    def needs_world(self) -> bool:
        """True when the signal is measured on world landmarks (``pose.world``)."""
        return self.space == "world"

    def measure(self, pose: Pose, min_visibility: float = DEFAULT_MIN_VISIBILITY) -> float | None:
        """The signal on one pose, or ``None`` when unknown (hidden joints, no world)."""
        points = pose.xy if self.space == "image" else pose.world
        if points is None:
            return None
        signal = self.signal
        if signal in ("hip_height", "hip_height_2d"):
            value = float(hip_height(points, pose.visibility, min_visibility=min_visibility))
        else:
            if isinstance(signal, str) and signal.endswith("_3d"):
                signal = signal[:-3]
            value = float(angle(points, signal, pose.visibility, min_visibility=min_visibility))
        return value if math.isfinite(value) else None


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
    display (``posekit run --count``, ``posekit-squats``, its plot), set per exercise by the
    presets (``SquatCounter.WORDS``: standing, going down, bottom, coming up).

    :class:`Phase` values stay the machine-readable names written to JSON Lines and CSV.

    Attributes:
        rest: on the rest side (``Phase.REST``).
        leaving: left the rest side, not yet beyond the far threshold (``Phase.LEAVING``).
        turn: beyond the far threshold: the turning point (``Phase.RETURNING``, still in the
            far zone).
        returning: on the way back to rest (``Phase.RETURNING``, out of the far zone).
        unknown: no usable signal, or the rest side not seen yet (``Phase.UNKNOWN``).

    Example:
        >>> SquatCounter.WORDS.word(Phase.RETURNING, at_turn=True)
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
        depth: the extreme value of the signal (degrees).
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


@dataclass(frozen=True, slots=True)
class RepCount:
    """A counter's output for one frame.

    Attributes:
        count: reps counted so far.
        phase: see :class:`Phase`.
        value: this frame's signal (degrees for angles, see :attr:`Cue.unit`), or ``None``
            when unknown (no pose, hidden joints).
        reps: every counted :class:`Rep`, oldest first.
        new_rep: the rep completed on this frame, else ``None``.
        cue: the counter's active :class:`Cue` (its own, or its fallback after a pose
            without world landmarks): what ``value`` and the thresholds are measured in.
        words: the counter's :class:`PhaseWords` (what :attr:`phase_text` says).
        at_turn: the signal is beyond the far threshold (the bottom of a squat).

    Example:
        >>> state = RepCount(1, Phase.RETURNING, 95.0, (), words=SquatCounter.WORDS, at_turn=True)
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


_AUTO: Final = "auto"


class _Preset(RepCounter):
    """A preset: a default cue chosen by measurement, thresholds per cue, an image fallback."""

    #: thresholds ``(up, down)`` per signal this preset knows
    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]]
    #: the default signal (view-invariant)
    SIGNAL: ClassVar[str]
    #: the image-space signal used on poses without world landmarks
    FALLBACK: ClassVar[str]

    #: the default analyzer name (key in ``frame.results``)
    NAME: ClassVar[str]
    #: the side of the thresholds the body rests on between reps
    REST: ClassVar[Rest]
    #: default :class:`RepCounter` options of this exercise (``min_duration``, ``debounce``)
    OPTIONS: ClassVar[Mapping[str, float]]
    #: what displays call the phases of this exercise
    WORDS: ClassVar[PhaseWords]

    def __init__(
        self,
        *,
        signal: str | None = None,
        up: float | None = None,
        down: float | None = None,
        fallback: Cue | Literal["auto"] | None = _AUTO,
        **options: Any,
    ) -> None:
        options.setdefault("name", self.NAME)
        options.setdefault("words", self.WORDS)
        for key, value in self.OPTIONS.items():
            options.setdefault(key, value)
        rest = self.REST
        chosen = self.SIGNAL if signal is None else signal
        table = self.THRESHOLDS.get(chosen)
        if table is None and (up is None or down is None):
            raise InputError(
                f"{type(self).__name__} has no default thresholds for signal {chosen!r}: pass "
                f"up=... and down=..., or use one of {', '.join(self.THRESHOLDS)}"
            )
        up_v = table[0] if up is None else up  # type: ignore[index]
        down_v = table[1] if down is None else down  # type: ignore[index]
        if isinstance(fallback, str):
            if fallback != _AUTO:
                raise InputError(f"fallback={fallback!r}: pass a Cue, 'auto' or None")
            fb_up, fb_down = self.THRESHOLDS[self.FALLBACK]
            fallback = Cue(self.FALLBACK, fb_up, fb_down)
        super().__init__(chosen, up=up_v, down=down_v, rest=rest, fallback=fallback, **options)


_PRESET_ARGS: Final = """
    Args:
        signal: the cue (default: the view-invariant one above); any name from
            :data:`SIGNAL_NAMES` in :attr:`THRESHOLDS` gets its thresholds from there.
        up, down: thresholds overriding the cue's defaults (in the cue's unit).
        fallback: ``"auto"`` (default): on poses without world landmarks count the image-space
            cue :attr:`FALLBACK` with its thresholds from :attr:`THRESHOLDS`; a :class:`Cue`;
            or ``None`` (such poses carry no signal).
        options: the other :class:`RepCounter` options (``min_duration``, ``name``, ...).
"""


class SquatCounter(_Preset):
    """Squats: mean **3-D** knee angle (``"knee_3d"``), standing above 145 deg, bottom below
    115 deg; on poses without world landmarks the image knee angle (150 / 110 deg).

    Why ``knee_3d``: on three real squat videos rotated to yaw 0, 45, 90, 135 and 180 deg
    (``benchmarks/bench_view_invariance.py``) it counts every rep exactly at every angle,
    while the image knee angle misses the reps seen from the front (90 deg). Hip height
    (``"hip_height"``) counts them too, but breaks when the camera looks down 20 deg (it
    needs the image vertical to be the true vertical); a joint angle does not depend on the
    camera at all. Thresholds: every ``up`` in 120..155 and ``down`` in 95..130 counted those
    videos exactly; the defaults sit inside with 10-20 deg to spare.
    """

    __doc__ = (
        (__doc__ or "")
        + _PRESET_ARGS
        + """
    Example:
        >>> c = SquatCounter()
        >>> c.signal, c.up, c.down, c.fallback.signal
        ('knee_3d', 145.0, 115.0, 'knee')
        >>> SquatCounter(signal="hip_height").up, SquatCounter(down=100).down
        (0.9, 100.0)
    """
    )

    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "knee_3d": (145.0, 115.0),
            "knee": (150.0, 110.0),
            "hip_height": (0.90, 0.78),
            "hip_height_2d": (0.90, 0.78),
        }
    )
    SIGNAL: ClassVar[str] = "knee_3d"
    FALLBACK: ClassVar[str] = "knee"

    NAME: ClassVar[str] = "squats"
    REST: ClassVar[Rest] = "up"
    OPTIONS: ClassVar[Mapping[str, float]] = MappingProxyType({"min_duration": 0.5})
    WORDS: ClassVar[PhaseWords] = PhaseWords("standing", "going down", "bottom", "coming up")


class PushUpCounter(_Preset):
    """Push-ups: mean **3-D** elbow angle (``"elbow_3d"``), arms straight above 145 deg, down
    below 100 deg; on poses without world landmarks the image elbow angle (150 / 100 deg).

    Why ``elbow_3d``: a 3-D joint angle is the same from every camera angle (the image
    angle of an elbow bending towards or away from the camera barely changes); see
    :class:`SquatCounter` for the measurement on real videos. The 3-D ``up`` is 5 deg below
    the image one because world-landmark limbs read a few degrees less straight (standing
    knees: 160-172 deg in 3-D vs 170-178 in the image on the squat videos).
    """

    __doc__ = (
        (__doc__ or "")
        + _PRESET_ARGS
        + """
    Example:
        >>> PushUpCounter().name, PushUpCounter().signal
        ('pushups', 'elbow_3d')
    """
    )

    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {"elbow_3d": (145.0, 100.0), "elbow": (150.0, 100.0)}
    )
    SIGNAL: ClassVar[str] = "elbow_3d"
    FALLBACK: ClassVar[str] = "elbow"

    NAME: ClassVar[str] = "pushups"
    REST: ClassVar[Rest] = "up"
    OPTIONS: ClassVar[Mapping[str, float]] = MappingProxyType({"min_duration": 0.4})
    WORDS: ClassVar[PhaseWords] = PhaseWords("arms straight", "going down", "bottom", "pushing up")


class LungeCounter(_Preset):
    """Lunges: mean **3-D** knee angle (both knees bend in a lunge), up above 145, down below
    115 deg; on poses without world landmarks the image knee angle (150 / 115 deg).

    Why ``knee_3d``: as for :class:`SquatCounter` (same joint, measured on the squat videos).
    """

    __doc__ = (
        (__doc__ or "")
        + _PRESET_ARGS
        + """
    Example:
        >>> LungeCounter().signal
        'knee_3d'
    """
    )

    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {
            "knee_3d": (145.0, 115.0),
            "knee": (150.0, 115.0),
            "hip_height": (0.90, 0.80),
            "hip_height_2d": (0.90, 0.80),
        }
    )
    SIGNAL: ClassVar[str] = "knee_3d"
    FALLBACK: ClassVar[str] = "knee"

    NAME: ClassVar[str] = "lunges"
    REST: ClassVar[Rest] = "up"
    OPTIONS: ClassVar[Mapping[str, float]] = MappingProxyType({"min_duration": 0.5})
    WORDS: ClassVar[PhaseWords] = PhaseWords("standing", "going down", "bottom", "coming up")


class BicepCurlCounter(_Preset):
    """Bicep curls: mean **3-D** elbow angle (``"elbow_3d"``), arm hanging above 135 deg,
    curled below 70 deg; on poses without world landmarks the image elbow angle (140 / 70).

    Why ``elbow_3d``: filmed from the front, a curl moves the forearm towards the camera and
    the image elbow angle hardly changes; the 3-D angle does not depend on the view.

    For one arm at a time (alternating curls), count each arm with
    ``RepCounter("left_elbow_3d", up=135, down=70)`` and ``"right_elbow_3d"``.
    """

    __doc__ = (
        (__doc__ or "")
        + _PRESET_ARGS
        + """
    Example:
        >>> BicepCurlCounter().down
        70.0
    """
    )

    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {"elbow_3d": (135.0, 70.0), "elbow": (140.0, 70.0)}
    )
    SIGNAL: ClassVar[str] = "elbow_3d"
    FALLBACK: ClassVar[str] = "elbow"

    NAME: ClassVar[str] = "curls"
    REST: ClassVar[Rest] = "up"
    OPTIONS: ClassVar[Mapping[str, float]] = MappingProxyType({"min_duration": 0.4})
    WORDS: ClassVar[PhaseWords] = PhaseWords("arms down", "curling", "top", "lowering")


class JumpingJackCounter(_Preset):
    """Jumping jacks: **3-D** arm elevation (mean ``"shoulder_3d"``, elbow-shoulder-hip), arms
    down below 45 deg at rest, overhead above 120 deg; the image angle without world landmarks.

    Why ``shoulder_3d``: filmed from the side, arms raised sideways stay in line with the body
    in the image; the 3-D angle does not depend on the view.
    """

    __doc__ = (
        (__doc__ or "")
        + _PRESET_ARGS
        + """
    Example:
        >>> JumpingJackCounter().rest, JumpingJackCounter().signal
        ('down', 'shoulder_3d')
    """
    )

    THRESHOLDS: ClassVar[Mapping[str, tuple[float, float]]] = MappingProxyType(
        {"shoulder_3d": (120.0, 45.0), "shoulder": (120.0, 45.0)}
    )
    SIGNAL: ClassVar[str] = "shoulder_3d"
    FALLBACK: ClassVar[str] = "shoulder"

    NAME: ClassVar[str] = "jumping_jacks"
    REST: ClassVar[Rest] = "down"
    OPTIONS: ClassVar[Mapping[str, float]] = MappingProxyType(
        {"min_duration": 0.25, "debounce": 0.04}
    )
    WORDS: ClassVar[PhaseWords] = PhaseWords(
        "arms down", "arms going up", "top", "arms coming down"
    )
