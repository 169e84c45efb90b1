"""The exercise table: one row per exercise posekit counts, used by the SDK, the CLI and the app.

Each :class:`Exercise` names the exercise (``"squat"``, plus aliases such as ``"squats"``), its
cue (the signal and the thresholds per signal, the fallback for poses without world landmarks,
the rest side), the counter's timing options, the words displays print for its phases, and how
``posekit-squats`` judges a rep (target depth, joints drawn, shortest good tempo).
:func:`make_counter` builds a :class:`~posekit.analyzers.counters.RepCounter` from a row; the
classes :class:`SquatCounter`, :class:`PushUpCounter`, :class:`LungeCounter`,
:class:`BicepCurlCounter` and :class:`JumpingJackCounter` are the same counters under the names
users import.

Example:
    >>> find_exercise("squats").name, make_counter("pushup").name
    ('squat', 'pushups')
    >>> c = SquatCounter()
    >>> c.signal, c.up, c.down, c.fallback.signal, c.words.turn
    ('knee_3d', 145.0, 115.0, 'knee', 'bottom')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Final, Literal

from posekit.analyzers.counters import RepCounter, Rest
from posekit.analyzers.reps import PhaseWords
from posekit.analyzers.signals import Cue
from posekit.errors import InputError

__all__ = [
    "EXERCISES",
    "BicepCurlCounter",
    "Exercise",
    "ExerciseCounter",
    "JumpingJackCounter",
    "LungeCounter",
    "PushUpCounter",
    "SquatCounter",
    "exercise_name",
    "find_exercise",
    "make_counter",
]

_AUTO: Final = "auto"


@dataclass(frozen=True, slots=True)
class Exercise:
    """One exercise: how it is counted, named and judged.

    Attributes:
        name: the name on the command line (``posekit run --count``, ``posekit-squats
            --exercise``) and in :data:`EXERCISES`.
        aliases: other spellings :func:`find_exercise` accepts (the result key among them).
        result_key: the counter's name: its key in ``frame.results``.
        title: what displays call it (``"push-ups"``).
        label: what the signal is, for displays (``"knee angle"``).
        signal: the default cue, view-invariant (a name from
            :data:`~posekit.analyzers.signals.SIGNAL_NAMES`).
        fallback: the image-space cue counted on poses without world landmarks.
        thresholds: ``(up, down)`` per signal this exercise knows.
        rest: the side of the thresholds the body rests on between reps.
        min_duration: shortest rep (seconds) that counts.
        debounce: seconds a zone change must last (``None``: the counter's default).
        words: what displays call the phases of a rep.
        target: the depth of a good rep (degrees): at most this for ``rest="up"``, at least
            this for ``rest="down"``.
        joints: joint angles drawn on the skeleton.
        min_tempo: reps shorter than this (seconds) get a "slow down" hint.
    """

    name: str
    aliases: tuple[str, ...]
    result_key: str
    title: str
    label: str
    signal: str
    fallback: str
    thresholds: Mapping[str, tuple[float, float]]
    rest: Rest
    min_duration: float
    words: PhaseWords
    target: float
    joints: tuple[str, ...]
    min_tempo: float = 1.0
    debounce: float | None = None

    def counter_args(
        self,
        *,
        signal: str | None = None,
        up: float | None = None,
        down: float | None = None,
        fallback: Cue | Literal["auto"] | None = _AUTO,
        **options: Any,
    ) -> dict[str, Any]:
        """The :class:`~posekit.analyzers.counters.RepCounter` arguments of this exercise, with
        ``signal``, ``up``, ``down``, ``fallback`` and other options overriding the row.

        Raises:
            InputError: a signal without thresholds in the row and no ``up``/``down``, or a
                bad ``fallback``.
        """
        chosen = self.signal if signal is None else signal
        table = self.thresholds.get(chosen)
        if table is None and (up is None or down is None):
            raise InputError(
                f"{self.title} have no default thresholds for signal {chosen!r}: pass up=... "
                f"and down=..., or use one of {', '.join(self.thresholds)}"
            )
        if isinstance(fallback, str):
            if fallback != _AUTO:
                raise InputError(f"fallback={fallback!r}: pass a Cue, 'auto' or None")
            fallback = Cue(self.fallback, *self.thresholds[self.fallback])
        options.setdefault("name", self.result_key)
        options.setdefault("words", self.words)
        options.setdefault("min_duration", self.min_duration)
        if self.debounce is not None:
            options.setdefault("debounce", self.debounce)
        return {
            "signal": chosen,
            "up": table[0] if up is None else up,  # type: ignore[index]
            "down": table[1] if down is None else down,  # type: ignore[index]
            "rest": self.rest,
            "fallback": fallback,
            **options,
        }


def _row(**fields: Any) -> Exercise:
    fields["thresholds"] = MappingProxyType(fields["thresholds"])
    return Exercise(**fields)


# Why the 3-D angles: on three real squat videos turned to yaw 0, 45, 90, 135 and 180 deg
# (benchmarks/bench_view_invariance.py) knee_3d counts every rep at every angle, while the image
# knee angle misses the reps seen from the front; hip_height counts them too but breaks when the
# camera looks down 20 deg. Every squat up in 120..155 and down in 95..130 counted those videos
# exactly; the defaults sit inside with 10-20 deg to spare. World-landmark limbs read a few
# degrees less straight than image ones, hence 3-D ups 5 deg below the image ones.
EXERCISES: Mapping[str, Exercise] = MappingProxyType(
    {
        row.name: row
        for row in (
            _row(
                name="squat", aliases=("squats",), result_key="squats", title="squats",
                label="knee angle", signal="knee_3d", fallback="knee",
                thresholds={"knee_3d": (145.0, 115.0), "knee": (150.0, 110.0),
                            "hip_height": (0.90, 0.78), "hip_height_2d": (0.90, 0.78)},
                rest="up", min_duration=0.5,
                words=PhaseWords("standing", "going down", "bottom", "coming up"),
                target=100.0, joints=("left_knee", "right_knee"),
            ),
            _row(
                name="pushup", aliases=("pushups", "push-up", "push-ups"), result_key="pushups",
                title="push-ups", label="elbow angle", signal="elbow_3d", fallback="elbow",
                thresholds={"elbow_3d": (145.0, 100.0), "elbow": (150.0, 100.0)},
                rest="up", min_duration=0.4,
                words=PhaseWords("arms straight", "going down", "bottom", "pushing up"),
                target=90.0, joints=("left_elbow", "right_elbow"),
            ),
            _row(  # both knees bend in a lunge: the squat's joint
                name="lunge", aliases=("lunges",), result_key="lunges", title="lunges",
                label="knee angle", signal="knee_3d", fallback="knee",
                thresholds={"knee_3d": (145.0, 115.0), "knee": (150.0, 115.0),
                            "hip_height": (0.90, 0.80), "hip_height_2d": (0.90, 0.80)},
                rest="up", min_duration=0.5,
                words=PhaseWords("standing", "going down", "bottom", "coming up"),
                target=100.0, joints=("left_knee", "right_knee"),
            ),
            _row(  # filmed from the front a curl moves the forearm towards the camera
                name="curl", aliases=("curls", "bicep-curl", "bicep-curls"), result_key="curls",
                title="curls", label="elbow angle", signal="elbow_3d", fallback="elbow",
                thresholds={"elbow_3d": (135.0, 70.0), "elbow": (140.0, 70.0)},
                rest="up", min_duration=0.4,
                words=PhaseWords("arms down", "curling", "top", "lowering"),
                target=50.0, joints=("left_elbow", "right_elbow"), min_tempo=0.8,
            ),
            _row(  # arm elevation (elbow-shoulder-hip); from the side the arms stay in line
                name="jumping-jack", aliases=("jumping-jacks", "jumping_jack", "jumping_jacks"),
                result_key="jumping_jacks", title="jumping jacks", label="arm elevation",
                signal="shoulder_3d", fallback="shoulder",
                thresholds={"shoulder_3d": (120.0, 45.0), "shoulder": (120.0, 45.0)},
                rest="down", min_duration=0.25, debounce=0.04,
                words=PhaseWords("arms down", "arms going up", "top", "arms coming down"),
                target=150.0, joints=("left_shoulder", "right_shoulder"), min_tempo=0.4,
            ),
        )
    }
)  # fmt: skip
"""Every exercise by :attr:`Exercise.name` (the command-line names, in display order)."""

_BY_SPELLING: Final = MappingProxyType(
    {spelling: row for row in EXERCISES.values() for spelling in (row.name, *row.aliases)}
)


def exercise_name(text: str) -> str:
    """The :attr:`Exercise.name` of ``text`` (a name or an alias, any case), or ``text``
    unchanged when it names no exercise (an ``argparse`` ``type=`` before ``choices=``).

    Example:
        >>> exercise_name("Push-Ups"), exercise_name("yoga")
        ('pushup', 'yoga')
    """
    row = _BY_SPELLING.get(text.strip().lower())
    return text if row is None else row.name


def find_exercise(name: str) -> Exercise:
    """The row of ``name`` (an :attr:`Exercise.name` or an alias, any case).

    Raises:
        InputError: unknown exercise (the message lists the known ones).

    Example:
        >>> find_exercise("jumping_jacks").result_key
        'jumping_jacks'
    """
    row = _BY_SPELLING.get(str(name).strip().lower())
    if row is None:
        raise InputError(f"unknown exercise {name!r}: choose one of {', '.join(EXERCISES)}")
    return row


def make_counter(name: str, **options: Any) -> RepCounter:
    """The rep counter of exercise ``name`` (see :func:`find_exercise`); ``options`` override
    the row (:meth:`Exercise.counter_args`).

    Raises:
        InputError: unknown exercise, or bad options.

    Example:
        >>> make_counter("curl").down, make_counter("squat", down=100).down
        (70.0, 100.0)
    """
    return RepCounter(**find_exercise(name).counter_args(**options))


class ExerciseCounter(RepCounter):
    """A :class:`~posekit.analyzers.counters.RepCounter` set up from the row :attr:`exercise`.

    Args:
        signal: the cue (default: the row's view-invariant one); a signal in the row's
            thresholds gets them from there.
        up, down: thresholds overriding the cue's defaults (in the cue's unit).
        fallback: ``"auto"`` (default): on poses without world landmarks count the row's
            image-space cue; a :class:`~posekit.analyzers.signals.Cue`; or ``None``.
        options: the other :class:`~posekit.analyzers.counters.RepCounter` options.
    """

    exercise: ClassVar[Exercise]

    def __init__(
        self,
        *,
        signal: str | None = None,
        up: float | None = None,
        down: float | None = None,
        fallback: Cue | Literal["auto"] | None = _AUTO,
        **options: Any,
    ) -> None:
        args = self.exercise.counter_args(
            signal=signal, up=up, down=down, fallback=fallback, **options
        )
        super().__init__(**args)


class SquatCounter(ExerciseCounter):
    """Squats (:data:`EXERCISES` ``["squat"]``): 3-D knee angle, 145 / 115 deg.

    Example:
        >>> SquatCounter(signal="hip_height").up, SquatCounter(down=100).down
        (0.9, 100.0)
    """

    exercise = EXERCISES["squat"]


class PushUpCounter(ExerciseCounter):
    """Push-ups (:data:`EXERCISES` ``["pushup"]``): 3-D elbow angle, 145 / 100 deg.

    Example:
        >>> PushUpCounter().name, PushUpCounter().signal
        ('pushups', 'elbow_3d')
    """

    exercise = EXERCISES["pushup"]


class LungeCounter(ExerciseCounter):
    """Lunges (:data:`EXERCISES` ``["lunge"]``): 3-D knee angle, 145 / 115 deg.

    Example:
        >>> LungeCounter().signal
        'knee_3d'
    """

    exercise = EXERCISES["lunge"]


class BicepCurlCounter(ExerciseCounter):
    """Bicep curls (:data:`EXERCISES` ``["curl"]``): 3-D elbow angle, 135 / 70 deg. For one arm
    at a time, count ``RepCounter("left_elbow_3d", up=135, down=70)`` and the right one.

    Example:
        >>> BicepCurlCounter().down
        70.0
    """

    exercise = EXERCISES["curl"]


class JumpingJackCounter(ExerciseCounter):
    """Jumping jacks (:data:`EXERCISES` ``["jumping-jack"]``): 3-D arm elevation, rest below 45,
    overhead above 120 deg.

    Example:
        >>> JumpingJackCounter().rest, JumpingJackCounter().signal
        ('down', 'shoulder_3d')
    """

    exercise = EXERCISES["jumping-jack"]
