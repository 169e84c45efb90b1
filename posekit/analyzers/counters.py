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
from dataclasses import dataclass
from typing import Any, Final, Literal, NamedTuple

import numpy as np

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    DEFAULT_MIN_VISIBILITY,
    JointTriple,
    Space,
    angle,
)
from posekit.errors import InputError, TimestampError

__all__ = [
    "BicepCurlCounter",
    "JumpingJackCounter",
    "LungeCounter",
    "Phase",
    "PushUpCounter",
    "Rep",
    "RepCount",
    "RepCounter",
    "SquatCounter",
    "Tempo",
]

logger = logging.getLogger(__name__)

Rest = Literal["up", "down"]


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
        value: this frame's signal in degrees, or ``None`` when unknown (no pose, hidden joints).
        reps: every counted :class:`Rep`, oldest first.
        new_rep: the rep completed on this frame, else ``None``.
    """

    count: int
    phase: Phase
    value: float | None
    reps: tuple[Rep, ...]
    new_rep: Rep | None = None


class _Zone(enum.IntEnum):
    REST = 0
    MIDDLE = 1
    FAR = 2


_NO_REPS: Final[tuple[Rep, ...]] = ()


class RepCounter(Analyzer[RepCount]):
    """Count repetitions of a joint angle with hysteresis (see the module docstring).

    Args:
        signal: an angle name from :data:`~posekit.analyzers.geometry.ANGLE_NAMES` (``"knee"``
            is the mean of the visible knees) or a :class:`~posekit.analyzers.geometry.JointTriple`.
        up: the upper threshold (degrees).
        down: the lower threshold (degrees), below ``up``.
        rest: which side the rep starts and ends on: ``"up"`` (above ``up``) or ``"down"``.
        min_visibility: joints below this visibility make the signal unknown.
        min_duration: shortest rep in seconds (start to end) that counts.
        debounce: seconds the signal must stay in a new zone before the change is accepted.
        max_gap: longest stretch of unknown signal (seconds) bridged within a rep.
        space: measure the angle in ``"image"`` pixels or ``"world"`` metres.
        name: key of the output in ``frame.results``.

    Raises:
        InputError: bad thresholds or options.

    Example:
        >>> from posekit.analyzers.base import OfflineFrame
        >>> c = RepCounter("right_elbow", up=150, down=90, name="presses")
        >>> c.update(OfflineFrame(pose=None, timestamp=0.0, index=0)).phase
        <Phase.UNKNOWN: 'unknown'>
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
        space: Space = "image",
        name: str = "reps",
    ) -> None:
        if isinstance(signal, str):
            if signal not in ANGLE_NAMES:
                raise InputError(
                    f"unknown signal {signal!r}: use an angle name ({', '.join(ANGLE_NAMES)}) "
                    "or a JointTriple"
                )
        else:
            try:
                angle(np.zeros((33, 2)), signal)
            except InputError as exc:
                raise InputError(f"bad joint triple {signal!r}: {exc}") from exc
        if not (math.isfinite(up) and math.isfinite(down) and down < up):
            raise InputError(
                f"thresholds up={up}, down={down}: need finite down < up (the gap between them "
                "is the hysteresis), e.g. up=150, down=110 for knee angles"
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
        if space not in ("image", "world"):
            raise InputError(f"space={space!r}: use 'image' or 'world'")
        self.signal = signal
        self.up = float(up)
        self.down = float(down)
        self.rest: Rest = rest
        self.min_visibility = float(min_visibility)
        self.min_duration = float(min_duration)
        self.debounce = float(debounce)
        self.max_gap = float(max_gap)
        self.space: Space = space
        self.name = name
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget the count, the reps and the phase."""
        self._reps: tuple[Rep, ...] = _NO_REPS
        self._last_t: float | None = None
        self._last_valid_t: float | None = None
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
    def measure(self, frame: PoseFrame) -> float | None:
        """This counter's signal on ``frame`` (degrees), or ``None`` when unknown."""
        pose = frame.pose
        if pose is None:
            return None
        points = pose.xy if self.space == "image" else pose.world
        if points is None:
            return None
        value = float(
            angle(points, self.signal, pose.visibility, min_visibility=self.min_visibility)
        )
        return value if math.isfinite(value) else None

    def update(self, frame: PoseFrame) -> RepCount:
        """Consume one frame (a pose or ``None``) and return the count so far."""
        return self.feed(self.measure(frame), frame.timestamp, frame.index)

    def feed(self, value: float | None, timestamp: float, index: int = -1) -> RepCount:
        """Consume one signal sample (degrees, ``None``/NaN = unknown) at ``timestamp`` seconds.

        Raises:
            TimestampError: ``timestamp`` is not finite or not later than the previous one
                (the counter is left untouched).
        """
        t = float(timestamp)
        if not math.isfinite(t) or (self._last_t is not None and t <= self._last_t):
            raise TimestampError(
                f"timestamp {timestamp!r} s is not later than the previous {self._last_t!r} s: "
                "feed samples in time order, or reset() for a new sequence"
            )
        self._last_t = t
        v = None if value is None or not math.isfinite(value) else float(value)
        gap_start = self._last_valid_t
        if v is None:
            if gap_start is not None and t - gap_start > self.max_gap:
                self._lose(t)
            return RepCount(self.count, self._phase, None, self._reps)
        if gap_start is not None and t - gap_start > self.max_gap:
            self._lose(t)
        self._last_valid_t = t
        new_rep = self._step(v, t, index)
        return RepCount(self.count, self._phase, v, self._reps, new_rep)

    def _lose(self, t: float) -> None:
        if self._phase in (Phase.LEAVING, Phase.RETURNING):
            logger.debug(
                "signal lost for more than %.2f s at %.3f s: rep abandoned", self.max_gap, t
            )
        self._abandon()
        self._last_valid_t = None

    def _classify(self, v: float) -> _Zone:
        if self.rest == "up":
            return _Zone.REST if v >= self.up else _Zone.FAR if v <= self.down else _Zone.MIDDLE
        return _Zone.REST if v <= self.down else _Zone.FAR if v >= self.up else _Zone.MIDDLE

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


class SquatCounter(RepCounter):
    """Squats: mean knee angle, standing above 150 deg, bottom below 110 deg.

    Example:
        >>> SquatCounter().count, SquatCounter(down=100).down
        (0, 100.0)
    """

    def __init__(
        self,
        *,
        up: float = 150.0,
        down: float = 110.0,
        min_duration: float = 0.5,
        name: str = "squats",
        **options: Any,
    ) -> None:
        super().__init__(
            "knee", up=up, down=down, rest="up", min_duration=min_duration, name=name, **options
        )


class PushUpCounter(RepCounter):
    """Push-ups: mean elbow angle, arms straight above 150 deg, down below 100 deg.

    Example:
        >>> PushUpCounter().name
        'pushups'
    """

    def __init__(
        self,
        *,
        up: float = 150.0,
        down: float = 100.0,
        min_duration: float = 0.4,
        name: str = "pushups",
        **options: Any,
    ) -> None:
        super().__init__(
            "elbow", up=up, down=down, rest="up", min_duration=min_duration, name=name, **options
        )


class LungeCounter(RepCounter):
    """Lunges: mean knee angle (both knees bend in a lunge), up above 150, down below 115.

    Example:
        >>> LungeCounter().signal
        'knee'
    """

    def __init__(
        self,
        *,
        up: float = 150.0,
        down: float = 115.0,
        min_duration: float = 0.5,
        name: str = "lunges",
        **options: Any,
    ) -> None:
        super().__init__(
            "knee", up=up, down=down, rest="up", min_duration=min_duration, name=name, **options
        )


class BicepCurlCounter(RepCounter):
    """Bicep curls: mean elbow angle, arm hanging above 140 deg, curled below 70 deg.

    For one arm at a time (alternating curls), count each arm with
    ``RepCounter("left_elbow", up=140, down=70)`` and ``"right_elbow"``.

    Example:
        >>> BicepCurlCounter().down
        70.0
    """

    def __init__(
        self,
        *,
        up: float = 140.0,
        down: float = 70.0,
        min_duration: float = 0.4,
        name: str = "curls",
        **options: Any,
    ) -> None:
        super().__init__(
            "elbow", up=up, down=down, rest="up", min_duration=min_duration, name=name, **options
        )


class JumpingJackCounter(RepCounter):
    """Jumping jacks: arm elevation (mean ``shoulder`` angle, elbow-shoulder-hip), arms down
    below 45 deg at rest, overhead above 120 deg.

    Example:
        >>> JumpingJackCounter().rest
        'down'
    """

    def __init__(
        self,
        *,
        up: float = 120.0,
        down: float = 45.0,
        min_duration: float = 0.25,
        debounce: float = 0.04,
        name: str = "jumping_jacks",
        **options: Any,
    ) -> None:
        super().__init__(
            "shoulder",
            up=up,
            down=down,
            rest="down",
            min_duration=min_duration,
            debounce=debounce,
            name=name,
            **options,
        )
