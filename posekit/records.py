"""Records: the JSON-ready form of frames and analyzer results that sinks write.

A result type exposes ``to_record()``: a dict of plain JSON values (numbers, strings, bools,
``None``, lists, dicts) with the state of *one frame* only, so that a JSON Lines file grows by a
constant amount per frame. Sinks go through :func:`to_json_value` and never look at a result's
type. Values without ``to_record()`` are converted when they are plain: ``None``, numbers (a
non-finite float becomes ``None``), strings, enums (their value), NumPy arrays and scalars,
mappings, lists and tuples, dataclasses (their fields) and objects with ``to_dict()`` (a
:class:`~posekit.pose.Pose`). Anything else is refused with :class:`~posekit.errors.InputError`.

Example:
    >>> from posekit.analyzers.base import OfflineFrame
    >>> frame_record(OfflineFrame(pose=None, timestamp=0.5, index=3))["state"]
    'lost'
    >>> to_json_value({"knee": float("nan"), "hip": 91.5})
    {'knee': None, 'hip': 91.5}
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping
from typing import Any, Final, Protocol, runtime_checkable

import numpy as np

from posekit.errors import InputError
from posekit.roi import RotatedRect

__all__ = [
    "FRAME_SCHEMA_VERSION",
    "SupportsRecord",
    "frame_record",
    "roi_record",
    "to_json_value",
]

FRAME_SCHEMA_VERSION: Final = 1
"""Version of the frame record layout (see :func:`posekit.sinks.frame_json_schema`)."""


@runtime_checkable
class SupportsRecord(Protocol):
    """A result that knows its JSON-ready per-frame record."""

    def to_record(self) -> dict[str, Any]: ...


def to_json_value(value: Any, name: str = "result") -> Any:
    """``value`` as plain JSON values: its ``to_record()`` or the plain conversion (see the
    module docstring).

    Raises:
        InputError: ``value`` (named ``name`` in the message) is of a type with no
            ``to_record()`` and no plain conversion.

    Example:
        >>> from posekit.analyzers.reps import Phase, RepCount
        >>> to_json_value(RepCount(count=2, phase=Phase.REST, value=171.0, reps=()))
        {'count': 2, 'phase': 'rest', 'value': 171.0, 'new_rep': None}
        >>> to_json_value(object(), "mine")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        posekit.errors.InputError: cannot write mine: a object has no to_record() method; ...
    """
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    to_record = getattr(value, "to_record", None)
    if callable(to_record) and not isinstance(value, type):
        return to_json_value(to_record(), name)
    if isinstance(value, enum.Enum):
        return to_json_value(value.value, name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            return to_json_value(value.tolist(), name)
        if value.dtype.kind in "biuf":
            return value.tolist()
        return [to_json_value(v, name) for v in value.tolist()]
    if isinstance(value, np.generic):
        return to_json_value(value.item(), name)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v, f"{name}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v, name) for v in value]
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict) and not isinstance(value, type):
        return to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_json_value(getattr(value, f.name), f"{name}.{f.name}")
            for f in dataclasses.fields(value)
        }
    raise InputError(
        f"cannot write {name}: a {type(value).__name__} has no to_record() method; give the "
        "result type a to_record() returning a dict of JSON values (or have the analyzer "
        "return a dataclass, mapping, number or string)"
    )


def roi_record(roi: RotatedRect | None) -> dict[str, float] | None:
    """An ROI as ``{center_x, center_y, width, height, rotation}`` (None stays None)."""
    if roi is None:
        return None
    return {
        "center_x": roi.center_x,
        "center_y": roi.center_y,
        "width": roi.width,
        "height": roi.height,
        "rotation": roi.rotation,
    }


def frame_state(frame: Any) -> str:
    """The ``state`` of a frame record: the frame's tracking state, else lost/tracking."""
    state = getattr(frame, "state", None)
    if state is not None:
        return str(getattr(state, "value", state))
    return "lost" if frame.pose is None else "tracking"


def frame_record(frame: Any) -> dict[str, Any]:
    """The JSON frame record of one frame (a ``FrameResult``, ``AnalyzedFrame``,
    ``OfflineFrame`` or anything with ``pose``, ``timestamp``, ``index`` and optionally
    ``state``, ``roi``, ``results``): what :class:`posekit.sinks.JsonlSink` writes per line.

    Raises:
        InputError: a result cannot be converted (see :func:`to_json_value`).
    """
    pose = frame.pose
    results = getattr(frame, "results", None) or {}
    return {
        "schema_version": FRAME_SCHEMA_VERSION,
        "frame": int(frame.index),
        "timestamp": float(frame.timestamp),
        "state": frame_state(frame),
        "pose": None if pose is None else pose.to_dict(),
        "roi": roi_record(getattr(frame, "roi", None)),
        "results": {str(k): to_json_value(v, f"the result {str(k)!r}") for k, v in results.items()},
    }
