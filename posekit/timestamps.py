"""The one timestamp rule of posekit streams (tracker, pipeline, rep counters).

A timestamp is a finite real number of seconds on any clock, and in an ordered stream each one
is at least :data:`MIN_TIMESTAMP_STEP` (1 µs, MediaPipe's unit) after the previous one, at any
magnitude: where float64 seconds cannot resolve 1 µs (beyond 2**33 s) only a later representable
value passes and the message says to pass seconds relative to the stream start. A refused
timestamp raises :class:`~posekit.errors.TimestampError` naming both values; the caller keeps
its state untouched.

Example:
    >>> from posekit.timestamps import check_timestamp
    >>> check_timestamp(0.5, 0.4)
    0.5
    >>> check_timestamp(0.4, 0.4)  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    posekit.errors.TimestampError: timestamp 0.400000 s is not later than ...
"""

from __future__ import annotations

import logging
import math
import numbers

from posekit.errors import TimestampError

__all__ = ["MIN_TIMESTAMP_STEP", "check_timestamp", "format_seconds"]

logger = logging.getLogger(__name__)

MIN_TIMESTAMP_STEP = 1e-6
"""Smallest gap in seconds between consecutive timestamps of an ordered stream. Gaps short of it
by at most 1 ns or one float ulp of the previous timestamp, but never by more than half a step,
are accepted, so that ``previous + 1e-6`` computed in floating point always passes while an
equal timestamp never does, at any magnitude."""
_STEP_TOLERANCE = 1e-9
_MAX_STEP_TOLERANCE = 0.5 * MIN_TIMESTAMP_STEP
_UNIT_WARNING_S = 1e11  # ~3170 years: epoch milliseconds (1.7e12) or microseconds given as seconds
_ADVICE = "pass real capture times in seconds, skip the frame, or reset() to start a new sequence"


def format_seconds(seconds: float) -> str:
    """``seconds`` for a message: 6 decimals, or 9 significant digits from 1e9 s on."""
    return f"{seconds:.6f}" if abs(seconds) < 1e9 else f"{seconds:.9g}"


def _magnitude_hint(last: float) -> str:
    """Extra advice when float64 seconds cannot resolve 1 µs at the magnitude of ``last``."""
    if math.ulp(last) <= MIN_TIMESTAMP_STEP:
        return ""
    return (
        f"; at {format_seconds(last)} s a float64 cannot hold 1 µs steps (resolution "
        f"{math.ulp(last):.3g} s): pass seconds, not milliseconds or microseconds, and "
        "preferably relative to the first frame (timestamp - t0)"
    )


def check_timestamp(
    timestamp: object,
    previous: float | None,
    *,
    ordered: bool = True,
    advice: str = _ADVICE,
    where: str = "",
) -> float:
    """``timestamp`` as float seconds, checked against the ``previous`` accepted one.

    Args:
        timestamp: the new timestamp (a real number; bool is refused).
        previous: the last accepted timestamp of the stream, or None at its start (a first
            timestamp of 1e11 s or more logs a warning: milliseconds or microseconds?).
        ordered: check the order (at least :data:`MIN_TIMESTAMP_STEP` after ``previous``);
            False only requires a finite number (independent frames).
        advice: what the caller should do, appended to the order error.
        where: a prefix naming the item, e.g. ``"frame 12: "``.

    Raises:
        TimestampError: not a finite real number, or (``ordered``) not later than
            ``previous`` by at least 1 µs.
    """
    if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
        raise TimestampError(
            f"{where}timestamp must be a number of seconds (float), got "
            f"{type(timestamp).__name__} {timestamp!r:.80}: pass e.g. frame_index / fps "
            "or time.monotonic()"
        )
    try:
        ts = float(timestamp)
    except (OverflowError, TypeError, ValueError) as exc:
        raise TimestampError(
            f"{where}timestamp {timestamp!r:.80} cannot be converted to float seconds: pass a "
            "float such as frame_index / fps"
        ) from exc
    if not math.isfinite(ts):
        raise TimestampError(
            f"{where}timestamp {timestamp!r} is not a finite number of seconds: pass real "
            "capture times (e.g. frame_index / fps)"
        )
    if previous is None:
        if abs(ts) >= _UNIT_WARNING_S:
            logger.warning(
                "timestamp %s s is over 3000 years: posekit timestamps are seconds; divide "
                "milliseconds by 1e3 and microseconds by 1e6 (smoothing uses the gaps)",
                format_seconds(ts),
            )
    elif ordered:
        tolerance = min(max(_STEP_TOLERANCE, math.ulp(previous)), _MAX_STEP_TOLERANCE)
        if not ts - previous >= MIN_TIMESTAMP_STEP - tolerance:
            raise TimestampError(
                f"{where}timestamp {format_seconds(ts)} s is not later than the previous "
                f"frame's {format_seconds(previous)} s (gap {ts - previous:.3g} s): timestamps "
                f"must strictly increase, by at least 1 µs ({advice})" + _magnitude_hint(previous)
            )
    return ts
