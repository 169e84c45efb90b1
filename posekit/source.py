"""Frame sources: video files and URLs, cameras, existing captures and plain iterables.

Every source has the same small life cycle: :meth:`FrameSource.open` (raises
:class:`~posekit.errors.SourceError` with a fix when it cannot), iterate :class:`SourceFrame`
items (``image``, ``timestamp`` in seconds, ``index``), :meth:`FrameSource.release`. Sources are
context managers; :func:`open_source` picks the right class for any supported input.

Timestamps:

* video files / URLs: the decoder's position (``CAP_PROP_POS_MSEC``) of each frame. If it ever
  fails to increase (some containers, some backends report 0), the rest of the stream continues
  at ``1 / fps`` steps from the last good value and one warning is logged;
* cameras: the wall clock (``time.monotonic()``) at the moment each frame is read, counted from
  the first frame;
* iterables: ``(frame, timestamp)`` pairs keep their timestamps; bare frames get ``index / fps``
  when ``fps`` is given, the wall clock otherwise (a generator is usually a live feed).

Failure mid-stream (documented outcome): when a file stops delivering frames before the frame
count in its header says it should end, or a camera stops delivering frames, the stream **ends**
with a logged warning and the source's :attr:`FrameSource.ended_early` flag set (with
:attr:`FrameSource.end_reason`). Pass ``strict=True`` to get a :class:`SourceError` instead.

Captures are released by whoever opened them: a source opened from a path, URL or camera index
releases its ``cv2.VideoCapture``; a capture handed in by the caller is left open.

Example:
    >>> from posekit.source import open_source
    >>> import numpy as np
    >>> frames = [np.zeros((4, 4, 3), np.uint8)] * 3
    >>> with open_source(frames, fps=10.0) as src:
    ...     [(f.index, f.timestamp) for f in src]
    [(0, 0.0), (1, 0.1), (2, 0.2)]
"""

from __future__ import annotations

import logging
import math
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from posekit.errors import SourceError

__all__ = [
    "CaptureLike",
    "CaptureSource",
    "FrameSource",
    "IterableSource",
    "SourceFrame",
    "open_source",
]

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0


class CaptureLike(Protocol):
    """The part of ``cv2.VideoCapture`` posekit uses (lets tests inject fakes)."""

    def isOpened(self) -> bool: ...  # noqa: N802 - OpenCV's name

    def read(self) -> tuple[bool, Any]: ...

    def get(self, prop_id: int) -> float: ...

    def release(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceFrame:
    """One frame from a source: ``image`` as delivered, ``timestamp`` seconds, ``index``
    (0-based)."""

    image: NDArray[Any]
    timestamp: float
    index: int


class FrameSource(ABC):
    """Base class: ``open()``, iterate :class:`SourceFrame`, ``release()``."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        #: True when the source stopped before its natural end (see module docstring).
        self.ended_early = False
        #: Why the source ended early, or None.
        self.end_reason: str | None = None
        #: Nominal frame rate (frames per second) if known.
        self.fps: float | None = None

    @abstractmethod
    def open(self) -> None:
        """Acquire the underlying resource; raise :class:`SourceError` with a fix if impossible."""

    @abstractmethod
    def frames(self) -> Iterator[SourceFrame]:
        """Yield frames; the generator releases nothing (see :meth:`release`)."""

    @abstractmethod
    def release(self) -> None:
        """Free what :meth:`open` acquired (idempotent)."""

    def __iter__(self) -> Iterator[SourceFrame]:
        return self.frames()

    def __enter__(self) -> FrameSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _end_early(self, reason: str) -> None:
        self.ended_early = True
        self.end_reason = reason
        if self.strict:
            raise SourceError(reason)
        logger.warning("%s; the stream ends here (source.ended_early is set)", reason)


def _is_url(text: str) -> bool:
    return "://" in text


class CaptureSource(FrameSource):
    """Frames from ``cv2.VideoCapture``: a file path, a URL, a camera index or a capture object.

    Args:
        target: path / URL (str or Path), camera index (int) or an opened capture.
        strict: raise :class:`SourceError` on a mid-stream failure instead of ending the stream.
        api_preference: OpenCV backend (``cv2.CAP_ANY`` by default) when posekit opens the
            capture.
    """

    def __init__(
        self,
        target: int | str | os.PathLike[str] | CaptureLike,
        *,
        strict: bool = False,
        api_preference: int = cv2.CAP_ANY,
    ) -> None:
        super().__init__(strict=strict)
        self.target = target
        self.api_preference = api_preference
        self.is_camera = isinstance(target, int) and not isinstance(target, bool)
        self.owns_capture = not hasattr(target, "read")
        self.capture: CaptureLike | None = None
        self.frame_count: int | None = None

    @property
    def description(self) -> str:
        if self.is_camera:
            return f"camera {self.target}"
        if isinstance(self.target, (str, os.PathLike)):
            return f"video {os.fspath(self.target)!r}"
        return "the given capture"

    def open(self) -> None:
        if self.capture is not None:
            return
        target = self.target
        if isinstance(target, bool):
            raise SourceError(f"{target!r} is not a video source: pass a camera index or a path")
        if isinstance(target, int):
            cap: CaptureLike = cv2.VideoCapture(target, self.api_preference)
            if not cap.isOpened():
                cap.release()
                raise SourceError(
                    f"camera index {target} cannot be opened: check that a camera is connected "
                    "and not used by another program, that this process may access it "
                    "(/dev/video* permissions, OS privacy settings), or try another index"
                )
        elif isinstance(target, (str, os.PathLike)):
            text = os.fspath(target)
            if not _is_url(text):
                path = Path(text)
                if not path.exists():
                    raise SourceError(
                        f"video file {text!r} does not exist: check the path (relative paths "
                        f"are resolved from {Path.cwd()})"
                    )
                if path.is_dir():
                    raise SourceError(f"{text!r} is a directory: pass a video file inside it")
            cap = cv2.VideoCapture(text, self.api_preference)
            if not cap.isOpened():
                cap.release()
                fix = (
                    "check the URL, the network and that OpenCV was built with FFmpeg"
                    if _is_url(text)
                    else "the file is corrupt, truncated or in a format this OpenCV build "
                    "cannot decode: re-encode it (e.g. ffmpeg -i in.ext -c:v libx264 out.mp4)"
                )
                raise SourceError(f"cannot open video {text!r}: {fix}")
        else:
            cap = target
            if not cap.isOpened():
                raise SourceError(
                    "the given VideoCapture is not opened: check cap.isOpened() after creating "
                    "it (wrong path, index or backend)"
                )
        self.capture = cap
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if math.isfinite(fps) and 0 < fps < 1000 else None
        count = float(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0)
        self.frame_count = int(count) if math.isfinite(count) and count > 0 else None
        if not self.owns_capture and self.frame_count is None:
            self.is_camera = True  # a live capture handed in: use the wall clock

    def release(self) -> None:
        if self.capture is not None and self.owns_capture:
            self.capture.release()
        self.capture = None

    def frames(self) -> Iterator[SourceFrame]:
        if self.capture is None:
            self.open()
        cap = self.capture
        assert cap is not None
        fps = self.fps or DEFAULT_FPS
        index = 0
        t0: float | None = None
        last_ts = -math.inf
        fallback_from: tuple[int, float] | None = None  # (index, timestamp) of the last good one
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                self._finish(index)
                return
            if self.is_camera:
                now = time.monotonic()
                if t0 is None:
                    t0 = now
                ts = now - t0
                if ts <= last_ts:  # clock resolution: nudge forward
                    ts = last_ts + 1e-6
            else:
                ts = float(cap.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
                if fallback_from is None and not (math.isfinite(ts) and ts > last_ts):
                    base = (index - 1, last_ts) if index > 0 else (-1, -1.0 / fps)
                    fallback_from = base
                    logger.warning(
                        "%s: frame %d has timestamp %.6f s, not after the previous %.6f s; "
                        "using index / fps (fps=%.3f) from here on",
                        self.description,
                        index,
                        ts,
                        last_ts,
                        fps,
                    )
                if fallback_from is not None:
                    ts = fallback_from[1] + (index - fallback_from[0]) / fps
            last_ts = ts
            yield SourceFrame(image, ts, index)
            index += 1

    def _finish(self, delivered: int) -> None:
        if delivered == 0 and not self.is_camera:
            raise SourceError(
                f"{self.description} opened but no frame could be decoded: the file is corrupt, "
                "empty or uses a codec this OpenCV build lacks; re-encode it "
                "(e.g. ffmpeg -i in.ext -c:v libx264 out.mp4)"
            )
        if self.is_camera:
            self._end_early(
                f"{self.description} stopped delivering frames after {delivered} frames "
                "(disconnected or taken by another program?)"
            )
        elif self.frame_count is not None and delivered < self.frame_count:
            self._end_early(
                f"{self.description} stopped after {delivered} of {self.frame_count} frames "
                "(truncated or corrupt file?)"
            )


class IterableSource(FrameSource):
    """Frames from any iterable of images or of ``(image, timestamp_seconds)`` pairs.

    Args:
        items: the iterable (a list, a generator...).
        fps: for bare images, timestamps are ``index / fps``; without it, the wall clock.
    """

    def __init__(self, items: Iterable[Any], *, fps: float | None = None) -> None:
        super().__init__()
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise SourceError(f"fps={fps} must be a positive number of frames per second")
        self.items = items
        self.fps = fps
        self._iterator: Iterator[Any] | None = None

    def open(self) -> None:
        if self._iterator is None:
            self._iterator = iter(self.items)

    def release(self) -> None:
        it = self._iterator
        self._iterator = None
        close = getattr(it, "close", None)
        if callable(close):
            close()

    def frames(self) -> Iterator[SourceFrame]:
        self.open()
        it = self._iterator
        assert it is not None
        t0: float | None = None
        for index, item in enumerate(it):
            if isinstance(item, tuple) and len(item) == 2:
                image, stamp = item
                ts = float(stamp)
            else:
                image = item
                if self.fps is not None:
                    ts = index / self.fps
                else:
                    now = time.monotonic()
                    t0 = now if t0 is None else t0
                    ts = now - t0
            yield SourceFrame(image, ts, index)


def open_source(
    source: Any,
    *,
    fps: float | None = None,
    strict: bool = False,
) -> FrameSource:
    """Wrap ``source`` in the right :class:`FrameSource` (not yet opened).

    ``source`` may be a camera index (int), a path or URL (str / Path), a ``cv2.VideoCapture``
    (or anything with ``read``/``get``/``isOpened``/``release``), an iterable of frames or of
    ``(frame, timestamp)`` pairs, or a :class:`FrameSource` (returned as is).
    """
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, bool):
        raise SourceError(f"{source!r} is not a video source: pass a camera index or a path")
    if isinstance(source, (int, str, os.PathLike)) or hasattr(source, "read"):
        return CaptureSource(source, strict=strict)
    if isinstance(source, np.ndarray):
        raise SourceError(
            "a single array is not a stream: call Tracker.process(image) for one frame, or pass "
            "a list of frames"
        )
    if isinstance(source, Iterable):
        return IterableSource(source, fps=fps)
    raise SourceError(
        f"unsupported source type {type(source).__name__}: pass a camera index, a video path "
        "or URL, a cv2.VideoCapture or an iterable of frames"
    )
