"""What a rep counter watches: a named signal (a joint angle, its 3-D version, hip height) and
its two thresholds (:class:`Cue`).

Example:
    >>> Cue("knee_3d", up=145, down=110).space, "hip_height" in SIGNAL_NAMES
    ('world', True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from posekit.analyzers.body import hip_height
from posekit.analyzers.geometry import (
    ANGLE_NAMES,
    DEFAULT_MIN_VISIBILITY,
    JointTriple,
    Space,
    angle,
)
from posekit.errors import InputError
from posekit.pose import Pose

__all__ = ["SIGNAL_NAMES", "Cue"]

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
