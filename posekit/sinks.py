"""Export sinks: tracked frames to JSON Lines, CSV and annotated video.

Each sink takes the frames of a tracker or pipeline stream (:class:`~posekit.tracker.FrameResult`
or anything with the same attributes) through ``write(frame)`` and is closed with ``close()``
(sinks are context managers). They fail early with :class:`~posekit.errors.InputError` and a fix
when the output path cannot be written. Analyzer results are written through their
``to_record()`` (see :mod:`posekit.records`): no sink knows an analyzer's type.

* :class:`JsonlSink`: one JSON object per line and per frame, the *frame record*::

      {"schema_version": 1, "frame": 12, "timestamp": 0.48, "state": "tracking",
       "pose": {... Pose.to_dict() ...} or null,
       "roi": {"center_x": ..., "center_y": ..., "width": ..., "height": ..., "rotation": ...}
              or null,
       "results": {"angles": {"knee": 171.2, ...}, "squats": {"count": 1, ...}}}

  Its JSON Schema is :func:`frame_json_schema` (``posekit run --schema`` prints it); read a file
  back with :func:`read_jsonl` (validated).
* :class:`CsvSink`: one row per frame with named columns: ``frame, timestamp, state, score``
  then ``<keypoint>_x, _y, _z, _visibility, _presence`` for the 33 keypoints in
  :class:`~posekit.topology.Keypoint` order (optionally ``<keypoint>_world_x/_y/_z``, then
  result columns read from the records under keys fixed up front, e.g. the analyzers'
  :func:`analyzer_columns`). Frames without a pose have empty cells.
* :class:`VideoSink`: frames (annotated in place by an optional annotator) to a video file.

Example:
    >>> import io, json, tempfile, pathlib
    >>> from posekit.analyzers.base import OfflineFrame
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "poses.jsonl"
    >>> with JsonlSink(out) as sink:
    ...     sink.write(OfflineFrame(pose=None, timestamp=0.0, index=0))
    >>> json.loads(out.read_text())["state"]
    'lost'
    >>> CsvSink.header()[:6]
    ['frame', 'timestamp', 'state', 'score', 'nose_x', 'nose_y']
"""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import json
import logging
import math
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, Final, Literal

import numpy as np

from posekit.errors import InputError
from posekit.outputs import AtomicOutput, output_error, write_atomic
from posekit.pose import Pose
from posekit.records import FRAME_SCHEMA_VERSION, frame_state, to_json_value
from posekit.records import frame_record as _frame_record
from posekit.topology import KEYPOINT_NAMES

if TYPE_CHECKING:
    from posekit.draw import Annotator

__all__ = [
    "FRAME_SCHEMA_VERSION",
    "CsvSink",
    "JsonlSink",
    "Sink",
    "VideoSink",
    "abort_sinks",
    "analyzer_columns",
    "can_write_h264",
    "check_frame_record",
    "check_writable",
    "close_sinks",
    "codec_name",
    "frame_json_schema",
    "frame_record",
    "quiet_codec_warning",
    "read_jsonl",
    "result_to_json",
    "schema_path_for",
    "video_codec",
]

logger = logging.getLogger(__name__)

_KEYPOINT_FIELDS: Final = ("x", "y", "z", "visibility", "presence")


def check_writable(path: str | os.PathLike[str], what: str = "output") -> Path:
    """Fail early, with a fix, if ``path`` cannot be created or overwritten.

    Raises:
        InputError: the folder does not exist, is not writable, or ``path`` is a folder.

    Example:
        >>> check_writable("/nonexistent-folder/out.csv", "--csv")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        posekit.errors.InputError: cannot write --csv /nonexistent-folder/out.csv: the folder ...
    """
    p = Path(path)
    if p.is_dir():
        raise InputError(f"cannot write {what} {p}: it is a folder; give a file name inside it")
    parent = p.parent if str(p.parent) else Path()
    if not parent.is_dir():
        raise InputError(
            f"cannot write {what} {p}: the folder {parent} does not exist; create it first "
            "or pick another path"
        )
    if not os.access(parent, os.W_OK) or (p.exists() and not os.access(p, os.W_OK)):
        raise InputError(
            f"cannot write {what} {p}: permission denied; pick a writable path (e.g. in the "
            "current folder)"
        )
    return p


def _open_text(path: Path, what: str, newline: str | None = None) -> tuple[AtomicOutput, IO[str]]:
    """A temporary file for ``path`` (see :class:`~posekit.outputs.AtomicOutput`), opened."""
    check_writable(path, what)
    pending = AtomicOutput(path, what)
    return pending, pending.open_text(newline)


class Sink(ABC):
    """A destination for tracked frames: ``write(frame)`` each, then ``close()``.

    Used as a context manager, a sink is closed when the block ends normally or by Ctrl-C
    (``KeyboardInterrupt``: what was written is kept) and aborted on any other exception.
    """

    path: Path

    @abstractmethod
    def write(self, frame: Any) -> None:
        """Write one frame (a FrameResult, AnalyzedFrame or OfflineFrame)."""

    @abstractmethod
    def close(self) -> None:
        """Flush and close (idempotent)."""

    def abort(self) -> None:
        """Give up the output (the built-in sinks leave nothing at their path); by default
        :meth:`close`."""
        self.close()

    def __enter__(self) -> Sink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            self.close()
        else:
            self.abort()


class _AtomicSink(Sink):
    """A sink that writes temporary files and publishes them in two steps: :meth:`finish`
    (close and check them) then :meth:`commit` (rename them into place). :func:`close_sinks`
    uses the two steps to publish every output of a run or none."""

    _pending: list[AtomicOutput]

    @abstractmethod
    def finish(self) -> None:
        """Close and check the temporary file(s) without publishing them.

        Raises:
            OutputError: the output is incomplete (it is discarded).
        """

    def commit(self) -> tuple[Path, ...]:
        """Rename the finished temporary file(s) into place; returns the paths written."""
        done = tuple(p.commit() for p in self._pending if p.temp is not None or p.committed)
        return done

    def abort(self) -> None:
        """Close and remove the temporary file(s); the target paths stay as they were."""
        with contextlib.suppress(Exception):
            self._close_quietly()
        for p in self._pending:
            p.discard()

    @abstractmethod
    def _close_quietly(self) -> None: ...

    @property
    def written(self) -> tuple[Path, ...]:
        """The paths committed so far."""
        return tuple(p.target for p in self._pending if p.committed)

    def close(self) -> None:
        """Finish and commit (idempotent).

        Raises:
            OutputError: the output could not be written completely (nothing is left behind).
        """
        self.finish()
        self.commit()


def close_sinks(sinks: Sequence[Sink]) -> tuple[Path, ...]:
    """Close several sinks all or nothing: every built-in sink is finished (closed and
    checked) first, and only when all are complete are they renamed into place.

    Returns:
        the paths written.

    Raises:
        OutputError: one output could not be written; none of them is published.
    """
    try:
        for sink in sinks:
            if isinstance(sink, _AtomicSink):
                sink.finish()
    except BaseException:
        abort_sinks(sinks)
        raise
    written: list[Path] = []
    for sink in sinks:
        if isinstance(sink, _AtomicSink):
            written += sink.commit()
        else:
            sink.close()
            written.append(sink.path)
    return tuple(written)


def abort_sinks(sinks: Sequence[Sink]) -> None:
    """Abort every sink (after a failure): nothing they were writing is published."""
    for sink in sinks:
        with contextlib.suppress(Exception):
            sink.abort()


# ---------------------------------------------------------------------------------- JSON
def result_to_json(value: Any) -> Any:
    """An analyzer output as plain JSON values: its ``to_record()``, or the plain conversion
    of :func:`posekit.records.to_json_value` (dataclasses, mappings, numbers, enums, arrays,
    poses; non-finite floats ``null``).

    Raises:
        InputError: a type with neither ``to_record()`` nor a plain conversion.

    Example:
        >>> from posekit.analyzers.reps import Phase, RepCount
        >>> result_to_json(RepCount(count=2, phase=Phase.REST, value=171.0, reps=()))
        {'count': 2, 'phase': 'rest', 'value': 171.0, 'new_rep': None}
    """
    return to_json_value(value)


def frame_record(frame: Any) -> dict[str, Any]:
    """The JSON frame record of one frame (see the module docstring and
    :func:`frame_json_schema`): ``frame.to_record()`` where the frame has it
    (:class:`~posekit.results.FrameResult`, ``AnalyzedFrame``), else the same record built from
    its attributes (:func:`posekit.records.frame_record`).

    Raises:
        InputError: a result cannot be converted (no ``to_record()`` and not plain data).
    """
    to_record = getattr(frame, "to_record", None)
    return to_record() if callable(to_record) else _frame_record(frame)


def frame_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one :class:`JsonlSink` line.

    Example:
        >>> schema = frame_json_schema()
        >>> sorted(schema["required"])
        ['frame', 'pose', 'schema_version', 'state', 'timestamp']
    """
    from posekit.schema import pose_json_schema

    pose = pose_json_schema()
    pose.pop("$schema", None)
    defs = pose.pop("$defs", {})
    roi_props = {
        "center_x": {"type": "number", "description": "ROI centre x (pixels)."},
        "center_y": {"type": "number", "description": "ROI centre y (pixels)."},
        "width": {"type": "number", "exclusiveMinimum": 0},
        "height": {"type": "number", "exclusiveMinimum": 0},
        "rotation": {"type": "number", "description": "Radians, clockwise on screen."},
    }
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:posekit:frame-record:1",
        "title": "posekit frame record",
        "description": (
            "One line of a posekit JSON Lines file (posekit run --jsonl): one tracked video "
            "frame. `pose` is null when no person was tracked on the frame."
        ),
        "type": "object",
        "additionalProperties": False,
        "required": ["schema_version", "frame", "timestamp", "state", "pose"],
        "properties": {
            "schema_version": {
                "const": FRAME_SCHEMA_VERSION,
                "description": "Layout version of the record; readers refuse versions they "
                "do not know.",
            },
            "frame": {"type": "integer", "minimum": 0, "description": "0-based frame index."},
            "timestamp": {"type": "number", "description": "Seconds (source timestamps)."},
            "state": {
                "enum": ["detected", "tracking", "lost"],
                "description": "detected: the detector ran and a pose was confirmed; tracking: "
                "found in the ROI from the previous frame; lost: no pose.",
            },
            "pose": {"anyOf": [{"$ref": "#/$defs/Pose"}, {"type": "null"}]},
            "roi": {
                "anyOf": [
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": sorted(roi_props),
                        "properties": roi_props,
                    },
                    {"type": "null"},
                ],
                "default": None,
                "description": "The region the landmark model looked at (null if it did not run).",
            },
            "results": {
                "type": "object",
                "default": {},
                "description": "Analyzer outputs by analyzer name, each its per-frame record "
                "(angles in degrees, rep counters as {count, phase, value, new_rep}, "
                "classifiers as {votes, k, label}).",
            },
        },
        "$defs": {**defs, "Pose": pose},
    }
    return schema


class JsonlSink(_AtomicSink):
    """Frames as JSON Lines: one :func:`frame_record` per line.

    The file is written to a temporary file beside ``path`` and renamed into place by
    :meth:`close` (see :mod:`posekit.outputs`): ``path`` never holds a partial file.

    Args:
        path: the output file (replaced on close).
        schema: also write :func:`frame_json_schema` to ``<stem>.schema.json`` beside it.
        what: the option that named the file, for messages.

    Raises:
        InputError: the path cannot be written.
        OutputError: writing failed (full disk...): the partial file is removed.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, schema: bool = False, what: str = "--jsonl"
    ) -> None:
        self.path = Path(path)
        self.what = what
        self._pending = []
        self._file: IO[str] | None = None
        self.schema_path: Path | None = None
        if schema:
            target = schema_path_for(self.path)
            what_schema = f"{what}'s schema file"
            check_writable(target, what_schema)
            text = json.dumps(frame_json_schema(), indent=1) + "\n"
            self._pending.append(write_atomic(target, what_schema, _text_writer(text)))
            self.schema_path = target
        try:
            main, self._file = _open_text(self.path, what)
        except BaseException:
            self.abort()
            raise
        self._main: AtomicOutput = main
        self._pending.insert(0, main)
        self.frames = 0

    def write(self, frame: Any) -> None:
        if self._file is None:
            raise InputError(f"{self.path} is closed: write frames before close()")
        import pydantic_core

        line = pydantic_core.to_json(frame_record(frame)).decode() + "\n"
        try:
            self._file.write(line)
        except OSError as exc:
            self.abort()
            raise output_error(self.what, self.path, exc) from exc
        self.frames += 1

    def _close_quietly(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def finish(self) -> None:
        try:
            self._close_quietly()
        except OSError as exc:
            self.abort()
            raise output_error(self.what, self.path, exc) from exc


def schema_path_for(jsonl: str | os.PathLike[str]) -> Path:
    """Where :class:`JsonlSink` writes the JSON schema beside ``jsonl`` (``<stem>.schema.json``).

    Example:
        >>> schema_path_for("out/poses.jsonl").as_posix()
        'out/poses.schema.json'
    """
    p = Path(jsonl)
    return p.with_name(p.stem + ".schema.json")


def _text_writer(text: str) -> Callable[[Path], None]:
    def fill(path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            fh.write(text)

    return fill


MAX_JSONL_LINE: Final = 16 * 2**20
"""Longest line :func:`read_jsonl` reads (16 MiB; a frame record with hands and face results is
about 60 kB), so that a file without line breaks cannot fill the memory."""

_RECORD_KEYS: Final = frozenset(
    ("schema_version", "frame", "timestamp", "state", "pose", "roi", "results")
)
_REQUIRED_KEYS: Final = ("schema_version", "frame", "timestamp", "state", "pose")
_STATES: Final = frozenset(("detected", "tracking", "lost"))
_ROI_KEYS: Final = frozenset(("center_x", "center_y", "width", "height", "rotation"))


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_frame_record(record: object) -> str | None:
    """What is wrong with ``record`` as a frame record (see :func:`frame_json_schema`), or
    None when it follows the schema. The pose itself is validated by
    :meth:`Pose.from_dict`; ``results`` only needs to be an object. Hand-written checks: a few
    dictionary look-ups per record.

    >>> check_frame_record({"schema_version": 1, "frame": 0, "timestamp": 0.0,
    ...                     "state": "lost", "pose": None}) is None
    True
    >>> check_frame_record({"schema_version": 1, "frame": "abc", "timestamp": 0.0,
    ...                     "state": "lost", "pose": None})
    "'frame' must be an integer >= 0, got 'abc'"
    """
    if not isinstance(record, dict):
        return f"a frame record is a JSON object, got {type(record).__name__}"
    version = record.get("schema_version")
    if version != FRAME_SCHEMA_VERSION or not _is_number(version):
        if "schema_version" not in record:
            return (
                "no 'schema_version': not a posekit frame record (posekit run --jsonl writes "
                f"schema_version {FRAME_SCHEMA_VERSION} on every line)"
            )
        if isinstance(version, int) and not isinstance(version, bool) and version > 1:
            return (
                f"schema_version {version} was written by a newer posekit; this posekit reads "
                f"version {FRAME_SCHEMA_VERSION}: upgrade posekit (pip install -U posekit)"
            )
        return f"schema_version {version!r:.40} is unknown (expected {FRAME_SCHEMA_VERSION})"
    missing = [k for k in _REQUIRED_KEYS if k not in record]
    if missing:
        return f"missing {', '.join(missing)} (a frame record needs {', '.join(_REQUIRED_KEYS)})"
    unknown = record.keys() - _RECORD_KEYS
    if unknown:
        return f"unknown field(s) {', '.join(sorted(map(repr, unknown)))[:120]}"
    frame = record["frame"]
    if not isinstance(frame, int) or isinstance(frame, bool) or frame < 0:
        return f"'frame' must be an integer >= 0, got {frame!r:.40}"
    ts = record["timestamp"]
    if not _is_number(ts) or not math.isfinite(ts):
        return f"'timestamp' must be a finite number of seconds, got {ts!r:.40}"
    state = record["state"]
    if not isinstance(state, str) or state not in _STATES:
        return f"'state' must be one of detected, tracking, lost, got {state!r:.40}"
    if record["pose"] is not None and not isinstance(record["pose"], dict):
        return f"'pose' must be an object or null, got {type(record['pose']).__name__}"
    roi = record.get("roi")
    if roi is not None:
        if not isinstance(roi, dict) or roi.keys() != _ROI_KEYS:
            return (
                "'roi' must be null or an object with exactly center_x, center_y, width, "
                f"height, rotation, got {roi!r:.60}"
            )
        if not all(_is_number(v) and math.isfinite(v) for v in roi.values()):
            return f"'roi' values must be finite numbers, got {roi!r:.80}"
        if not (roi["width"] > 0 and roi["height"] > 0):
            return f"'roi' width and height must be > 0, got {roi['width']!r}, {roi['height']!r}"
    results = record.get("results", {})
    if not isinstance(results, dict):
        return f"'results' must be an object, got {type(results).__name__}"
    return None


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[dict[str, Any], Pose | None]]:
    """Read a :class:`JsonlSink` file back: ``(record, pose)`` per line, each record validated
    against :func:`frame_json_schema` (:func:`check_frame_record`) and its pose against the
    pose schema. Blank lines are skipped.

    Example:
        >>> import tempfile, pathlib
        >>> from posekit.analyzers.base import OfflineFrame
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "p.jsonl"
        >>> with JsonlSink(out) as sink:
        ...     sink.write(OfflineFrame(pose=None, timestamp=0.5, index=3))
        >>> [(r["frame"], pose) for r, pose in read_jsonl(out)]
        [(3, None)]

    Raises:
        InputError: the file cannot be read, or a line is not UTF-8, not JSON (NaN and nesting
            deeper than the parser follows included), longer than :data:`MAX_JSONL_LINE`, or
            not a frame record of a version this posekit reads; the message names
            ``path:line`` and the problem.
    """
    from posekit.schema import parse_json

    p = Path(path)
    try:
        f = p.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc}; check the path") from exc
    with f:
        n = 0
        while True:
            raw = f.readline(MAX_JSONL_LINE + 1)
            if not raw:
                return
            n += 1
            if len(raw) > MAX_JSONL_LINE:
                raise InputError(
                    f"{p}:{n}: line longer than {MAX_JSONL_LINE:,} bytes: not a posekit .jsonl"
                )
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{p}:{n}: not UTF-8 text ({exc}); is this a posekit .jsonl?"
                ) from exc
            try:
                record = parse_json(line, "the line", what="a frame record")
            except InputError as exc:
                raise InputError(f"{p}:{n}: not JSON ({exc}); is this a posekit .jsonl?") from exc
            problem = check_frame_record(record)
            if problem is not None:
                raise InputError(f"{p}:{n}: not a posekit frame record: {problem}")
            pose = record["pose"]
            try:
                parsed = None if pose is None else Pose.from_dict(pose)
            except InputError as exc:
                raise InputError(f"{p}:{n}: {exc}") from exc
            yield record, parsed


# ---------------------------------------------------------------------------------- CSV
Column = tuple[str, str]
"""Where a CSV cell comes from: ``(result name, key in its record)``, nested keys joined by
``"."`` (``("squats", "count")``, ``("squats", "new_rep.depth")``)."""


def analyzer_columns(analyzers: Iterable[Any]) -> dict[str, Column]:
    """The CSV columns the analyzers declare: each analyzer's ``csv_columns()`` (column name ->
    key in its record) under its ``name``; analyzers without the method add none.

    Raises:
        InputError: two analyzers declare the same column name.

    Example:
        >>> from posekit.analyzers import AngleAnalyzer, SquatCounter
        >>> list(analyzer_columns([AngleAnalyzer(["left_knee"]), SquatCounter()]))
        ['angle_left_knee', 'squats_count', 'squats_phase']
    """
    out: dict[str, Column] = {}
    for analyzer in analyzers:
        declare = getattr(analyzer, "csv_columns", None)
        if not callable(declare):
            continue
        name = str(analyzer.name)
        for column, key in declare().items():
            if column in out:
                raise InputError(
                    f"two analyzers write the CSV column {column!r} ({out[column][0]!r} and "
                    f"{name!r}): give one of them another name"
                )
            out[str(column)] = (name, str(key))
    return out


class CsvSink(_AtomicSink):
    """Frames as CSV: one row per frame, named columns (see :meth:`header`).

    Like :class:`JsonlSink`, it writes a temporary file renamed into place by :meth:`close`.
    Result columns are read from the results' records (``to_record()``, see
    :mod:`posekit.records`) under keys fixed when the sink is made, never from a result's type;
    a frame without the result, or whose record lacks the key, has an empty cell.

    Args:
        path: the output file (replaced on close).
        world: add ``<keypoint>_world_x/_y/_z`` (metres) columns.
        angles: add ``angle_<name>`` columns, key ``<name>`` of the ``"angles"`` result (an
            :class:`~posekit.analyzers.geometry.AngleAnalyzer` in the pipeline).
        counters: add ``<name>_count`` and ``<name>_phase`` columns, keys ``count`` and
            ``phase`` of the rep counter results named ``name``.
        columns: more columns, ``{column name: (result name, record key)}``, e.g. the
            :func:`analyzer_columns` of a pipeline's analyzers.
        precision: significant digits of the numbers.
        what: the option that named the file, for messages.

    Raises:
        InputError: the path cannot be written, a column name repeats, or (from :meth:`write`)
            a result cannot be converted to a record.
        OutputError: writing failed (full disk...): the partial file is removed.

    Example:
        >>> CsvSink.header(columns={"yoga_label": ("yoga", "label")})[-1]
        'yoga_label'
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        world: bool = False,
        angles: Sequence[str] = (),
        counters: Sequence[str] = (),
        columns: Mapping[str, Column] | None = None,
        precision: int = 7,
        what: str = "--csv",
    ) -> None:
        self.path = Path(path)
        self.what = what
        self.world = bool(world)
        self.angles = tuple(angles)
        self.counters = tuple(counters)
        self._fmt = f"{{:.{int(precision)}g}}"
        sources = self.result_columns(angles=self.angles, counters=self.counters, columns=columns)
        self.columns = self.header(world=self.world, columns=sources)
        # result name -> (position in the result cells, record key path)
        self._sources: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        for i, (result, key) in enumerate(sources.values()):
            self._sources.setdefault(result, []).append((i, tuple(key.split("."))))
        self._empty_results = [""] * len(sources)
        n_kp = len(KEYPOINT_NAMES) * (len(_KEYPOINT_FIELDS) + (3 if self.world else 0))
        self._empty_pose = [""] * (1 + n_kp)
        self._stack = np.empty((len(KEYPOINT_NAMES), len(_KEYPOINT_FIELDS)), np.float32)
        main, file = _open_text(self.path, what, newline="")
        self._pending = [main]
        self._file: IO[str] | None = file
        self._writer = csv.writer(file)
        self.frames = 0
        self._row(self.columns)

    @staticmethod
    def result_columns(
        *,
        angles: Sequence[str] = (),
        counters: Sequence[str] = (),
        columns: Mapping[str, Column] | None = None,
    ) -> dict[str, Column]:
        """The result columns, in order: ``{column name: (result name, record key)}``.

        Raises:
            InputError: a column name repeats.
        """
        out: dict[str, Column] = {f"angle_{a}": ("angles", a) for a in angles}
        for c in counters:
            out[f"{c}_count"] = (c, "count")
            out[f"{c}_phase"] = (c, "phase")
        for column, source in (columns or {}).items():
            if column in out:
                raise InputError(f"the CSV column {column!r} is asked for twice: name it once")
            out[column] = source
        return out

    @staticmethod
    def header(
        *,
        world: bool = False,
        angles: Sequence[str] = (),
        counters: Sequence[str] = (),
        columns: Mapping[str, Column] | None = None,
    ) -> list[str]:
        """The column names, in order."""
        cols = ["frame", "timestamp", "state", "score"]
        cols += [f"{k}_{f}" for k in KEYPOINT_NAMES for f in _KEYPOINT_FIELDS]
        if world:
            cols += [f"{k}_world_{a}" for k in KEYPOINT_NAMES for a in "xyz"]
        cols += CsvSink.result_columns(angles=angles, counters=counters, columns=columns)
        return cols

    def _cell(self, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, float):
            return self._fmt.format(v) if math.isfinite(v) else ""
        if isinstance(v, (str, int)):
            return str(v)
        return json.dumps(v, allow_nan=False, separators=(",", ":"))

    def write(self, frame: Any) -> None:
        """Write one frame's row.

        Raises:
            InputError: the sink is closed, or a result has no record (see
                :func:`posekit.records.to_json_value`).
        """
        if self._file is None:
            raise InputError(f"{self.path} is closed: write frames before close()")
        fmt = self._fmt.format
        row: list[str] = [str(int(frame.index)), fmt(float(frame.timestamp)), frame_state(frame)]
        pose: Pose | None = frame.pose
        if pose is None:
            row += self._empty_pose
        else:
            s = self._stack
            s[:, :2] = pose.xy
            s[:, 2] = pose.z
            s[:, 3] = pose.visibility
            s[:, 4] = pose.presence
            row.append(fmt(pose.score))
            row += map(fmt, s.ravel().tolist())
            if self.world:
                w = pose.world
                row += (
                    [""] * (3 * len(KEYPOINT_NAMES)) if w is None else map(fmt, w.ravel().tolist())
                )
        if self._sources:
            cells = list(self._empty_results)
            results = getattr(frame, "results", None) or {}
            for name, wanted in self._sources.items():
                result = results.get(name)
                if result is None:
                    continue
                record = to_json_value(result, f"the result {name!r}")
                for i, path in wanted:
                    v = record
                    for part in path:
                        v = v.get(part) if isinstance(v, dict) else None
                    cells[i] = self._cell(v)
            row += cells
        self._row(row)
        self.frames += 1

    def _row(self, row: list[str]) -> None:
        try:
            self._writer.writerow(row)
        except OSError as exc:
            self.abort()
            raise output_error(self.what, self.path, exc) from exc

    def _close_quietly(self) -> None:
        if self._file is not None:
            f, self._file = self._file, None
            f.close()

    def finish(self) -> None:
        try:
            self._close_quietly()
        except OSError as exc:
            self.abort()
            raise output_error(self.what, self.path, exc) from exc


# ---------------------------------------------------------------------------------- video
_FOURCC: Final[dict[str, str]] = {".mp4": "avc1", ".m4v": "avc1", ".mov": "avc1", ".avi": "MJPG"}
"""The codec of each video extension; ``avc1`` (H.264) falls back to ``mp4v`` (MPEG-4 Part 2)
where the OpenCV build cannot encode H.264 (:func:`can_write_h264`)."""

Codec = Literal["mp4v", "MJPG", "XVID", "avc1"]

_CODEC_NAMES: Final = {"avc1": "H.264", "mp4v": "MPEG-4 Part 2", "MJPG": "Motion JPEG"}
_warned_no_h264 = False


@functools.cache
def can_write_h264() -> bool:
    """Whether this OpenCV build encodes H.264 (``avc1``), which browsers play: probed once per
    process by writing one small frame to a temporary file (a few milliseconds).

    Example:
        >>> can_write_h264() in (True, False)
        True
    """
    import tempfile

    import cv2

    level = None
    with contextlib.suppress(AttributeError, cv2.error):
        level = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        with tempfile.TemporaryDirectory(prefix="posekit-h264-") as folder:
            probe = str(Path(folder, "probe.mp4"))
            writer = cv2.VideoWriter(probe, cv2.VideoWriter.fourcc(*"avc1"), 30.0, (64, 64))
            try:
                if not writer.isOpened():
                    return False
                writer.write(np.zeros((64, 64, 3), np.uint8))
            finally:
                writer.release()
            return Path(probe).is_file() and Path(probe).stat().st_size > 0
    except (cv2.error, OSError):
        return False
    finally:
        if level is not None:
            cv2.utils.logging.setLogLevel(level)


def _say_no_h264(path: Path) -> None:
    global _warned_no_h264
    if _warned_no_h264:
        return
    _warned_no_h264 = True
    logger.warning(
        "writing %s as MPEG-4 Part 2 (mp4v), which web browsers do not play: this OpenCV build "
        "has no H.264 (avc1) encoder; for H.264 convert it (ffmpeg -i %s -c:v libx264 "
        "-pix_fmt yuv420p out.mp4) or use an OpenCV whose FFmpeg has libx264 or OpenH264",
        path,
        path,
    )


def codec_name(codec: str) -> str:
    """A FourCC with the name a person knows it by.

    Example:
        >>> codec_name("avc1"), codec_name("XVID")
        ('H.264 (avc1)', 'XVID')
    """
    name = _CODEC_NAMES.get(codec)
    return codec if name is None else f"{name} ({codec})"


def video_codec(path: str | os.PathLike[str], *, say: bool = True) -> str:
    """The FourCC :class:`VideoSink` writes ``path`` with: by extension, H.264 (``avc1``) for
    ``.mp4/.mov/.m4v`` where OpenCV can encode it, else ``mp4v``, which is then said once per
    process in a warning that tells how to get H.264 (``say=False``: not said).

    Raises:
        InputError: not a video extension posekit writes.

    Example:
        >>> video_codec("clip.avi")
        'MJPG'
        >>> video_codec("clip.mp4", say=False) in ("avc1", "mp4v")
        True
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in _FOURCC:
        raise InputError(
            f"cannot write video {p}: unknown extension {suffix or '(none)'!r}; "
            f"use one of {', '.join(sorted(_FOURCC))}"
        )
    codec = _FOURCC[suffix]
    if codec == "avc1" and not can_write_h264():
        if say:
            _say_no_h264(p)
        return "mp4v"
    return codec


def quiet_codec_warning() -> None:
    """Do not repeat the no-H.264 warning in this process (a worker whose parent said it)."""
    global _warned_no_h264
    _warned_no_h264 = True


class VideoSink(_AtomicSink):
    """Frames to a video file, annotated in place by ``annotator`` first (when given).

    Args:
        path: ``.mp4``, ``.mov``, ``.m4v`` (H.264 ``avc1`` where OpenCV can encode it, else
            ``mp4v`` with a log line saying how to get H.264) or ``.avi`` (MJPG).
        fps: frames per second of the output (the source's; 30 if unknown).
        annotator: drawn on each frame by :meth:`write` (e.g. a :class:`~posekit.draw.Compose`).
        codec: a FourCC overriding the one chosen from the extension.
        what: the option that named the file, for messages.

    The writer opens on the first frame (its size fixes the video size). Frames go to a
    temporary file beside ``path``; :meth:`close` finalises it, checks that it opens and holds
    every frame written (OpenCV's writer reports no write errors: a full disk gives a file
    without its index) and only then renames it to ``path``. No frame written: no file.

    Raises:
        InputError: unwritable path, unknown extension, or OpenCV cannot encode it.
        OutputError: the finished video is incomplete (nothing is left at ``path``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float | None = None,
        *,
        annotator: Annotator[Any] | None = None,
        codec: str | None = None,
        what: str = "--output",
    ) -> None:
        self.path = check_writable(path, what)
        self.what = what
        suffix = self.path.suffix.lower()
        if codec is None and suffix not in _FOURCC:
            raise InputError(
                f"cannot write video {self.path}: unknown extension {suffix or '(none)'!r}; "
                f"use one of {', '.join(sorted(_FOURCC))}"
            )
        self.codec = codec or video_codec(self.path)
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else 30.0
        self.annotator = annotator
        self.frames = 0
        self._writer: Any = None
        self._size: tuple[int, int] | None = None
        self._pending = []

    def write(self, frame: Any) -> None:
        """Annotate ``frame.frame`` (the image of a tracker result) in place and write it."""
        image = getattr(frame, "frame", None)
        if image is None:
            raise InputError(
                "VideoSink needs frames that carry their image (results of Tracker.stream); "
                "use write_image(image) for plain images"
            )
        if self.annotator is not None:
            self.annotator(image, frame)
        self.write_image(image)

    def _open(self, w: int, h: int) -> None:
        import cv2

        pending = AtomicOutput(self.path, self.what)
        assert pending.temp is not None
        writer = cv2.VideoWriter(
            str(pending.temp), cv2.VideoWriter.fourcc(*self.codec), self.fps, (w, h)
        )
        if not writer.isOpened() and self.codec == "avc1":
            writer.release()  # e.g. a size the H.264 encoder refuses: MPEG-4 Part 2 instead
            self.codec = "mp4v"
            _say_no_h264(self.path)
            writer = cv2.VideoWriter(
                str(pending.temp), cv2.VideoWriter.fourcc(*self.codec), self.fps, (w, h)
            )
        if not writer.isOpened():
            writer.release()
            pending.discard()
            if _free_bytes(pending.target) < 1 << 20:  # not the codec: the disk is full
                full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                raise output_error(self.what, self.path, full)
            raise InputError(
                f"OpenCV cannot write {self.path} with codec {self.codec!r}: pick another "
                "extension (.mp4 or .avi) or a writable folder"
            )
        self._writer, self._size = writer, (w, h)
        self._pending = [pending]

    def write_image(self, image: np.ndarray[Any, Any]) -> None:
        """Write one ``uint8 (H, W, 3)`` BGR image."""
        h, w = image.shape[:2]
        if self._writer is None:
            if self._pending:
                raise InputError(f"{self.path} is closed: write frames before close()")
            self._open(w, h)
        elif (w, h) != self._size:
            raise InputError(
                f"frame size {w}x{h} differs from the video's {self._size}: a video has one size"
            )
        self._writer.write(image)
        self.frames += 1

    def _close_quietly(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.release()

    def finish(self) -> None:
        if self._writer is None:
            return
        self._close_quietly()
        (pending,) = self._pending
        assert pending.temp is not None
        problem = _check_video(pending.temp, self.frames)
        if problem is not None:
            self.abort()
            raise output_error(
                self.what, self.path, problem, "is the disk full? free space or write elsewhere"
            )


def _free_bytes(path: Path) -> int:
    """Bytes free for unprivileged writes on the file system of ``path``'s folder."""
    try:
        st = os.statvfs(path.parent if str(path.parent) else ".")
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return 1 << 62
    return st.f_bavail * st.f_frsize


def _check_video(path: Path, frames: int) -> str | None:
    """Why the video at ``path`` is not a complete video of ``frames`` frames (None: it is)."""
    import cv2

    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"the video file is missing ({exc.strerror or exc})"
    if size == 0:
        return "the video file is empty"
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            return "the finished video cannot be read back"
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    if count != frames:
        return f"the finished video holds {count} of {frames} frames"
    return None
