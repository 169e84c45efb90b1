"""Frame sources: video files and URLs, cameras, existing captures and plain iterables.

Every source has the same life cycle: :meth:`FrameSource.open` (raises
:class:`~posekit.errors.SourceError` with a fix when it cannot), iterate :class:`SourceFrame`
items (``image``, ``timestamp`` in seconds, ``index``), :meth:`FrameSource.release`. Sources are
context managers; :func:`open_source` picks the right class for any supported input.

Contract: timestamps increase (the decoder's position for files and URLs, repaired at ``1 / fps``
steps where it stalls; the wall clock for cameras; ``index / fps`` or the caller's own for
iterables). A stream that stops early **ends** with a warning and
:attr:`FrameSource.ended_early` set (``strict=True``: :class:`SourceError` instead). A capture is
released by whoever opened it. :class:`FrameReader` can decode ahead in a background thread and
hands on the source's exceptions in order. Details and why: ``docs/design/sources.md``.

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
import numbers
import operator
import os
import queue
import threading
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

from posekit.errors import SourceError, TimestampError

__all__ = [
    "DEFAULT_PREFETCH",
    "MAX_CAMERA_INDEX",
    "CaptureLike",
    "CaptureSource",
    "FrameReader",
    "FrameSource",
    "IterableSource",
    "SourceFrame",
    "check_camera_index",
    "open_source",
    "prefetch_depth",
]

logger = logging.getLogger(__name__)

DEFAULT_FPS = 30.0

DEFAULT_PREFETCH = 2
"""Frames :meth:`posekit.Tracker.stream` decodes ahead for video files and URLs."""

MAX_PREFETCH = 64

MAX_CAMERA_INDEX = 99
"""Largest camera index posekit hands to OpenCV. ``cv2.VideoCapture(-1)`` (any negative index
down to -99) segfaults in OpenCV's V4L2 backend, an index beyond a C int raises ``cv2.error``,
and with ``cv2.CAP_ANY`` OpenCV reads ``index // 100`` as a backend id (``200`` is V4L2 camera
0): pass the backend as ``api_preference`` instead."""


def check_camera_index(index: object) -> int:
    """``index`` as a camera index ``0..MAX_CAMERA_INDEX``, or :class:`SourceError` with a fix.

    Checked before OpenCV sees the index (see :data:`MAX_CAMERA_INDEX`).

    >>> check_camera_index(0)
    0
    """
    if isinstance(index, (bool, np.bool_)):
        raise SourceError(f"{index!r} is not a video source: pass a camera index or a path")
    try:
        value = operator.index(index)  # type: ignore[arg-type]
    except TypeError:
        raise SourceError(
            f"camera index {index!r:.60} is not an integer: pass 0 for the first camera"
        ) from None
    if not 0 <= value <= MAX_CAMERA_INDEX:
        raise SourceError(
            f"camera index {value} is out of range: cameras are numbered 0 to "
            f"{MAX_CAMERA_INDEX} (0 is the first camera; OpenCV crashes on negative indices); "
            "to pick an OpenCV backend pass api_preference=cv2.CAP_V4L2 (or another CAP_*) "
            "instead of adding it to the index"
        )
    return value


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
        if isinstance(target, (int, np.integer)):
            target = check_camera_index(target)
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
            target = check_camera_index(target)  # the attribute may have been changed
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
            try:
                ok, image = cap.read()
            except (cv2.error, OSError) as exc:
                raise SourceError(
                    f"{self.description} failed while reading frame {index} "
                    f"({type(exc).__name__}: {str(exc).strip()[:200]}); check the device or file, "
                    "then open the source again"
                ) from exc
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
        self.items = items
        self.fps = _check_fps(fps)
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
                ts = _pair_timestamp(stamp, index)
            else:
                image = item
                if self.fps is not None:
                    ts = index / self.fps
                else:
                    now = time.monotonic()
                    t0 = now if t0 is None else t0
                    ts = now - t0
            yield SourceFrame(image, ts, index)


def _check_fps(fps: object) -> float | None:
    if fps is None:
        return None
    if (
        isinstance(fps, (bool, np.bool_))
        or not isinstance(fps, numbers.Real)
        or not (math.isfinite(float(fps)) and float(fps) > 0)
    ):
        raise SourceError(
            f"fps={fps!r:.60} must be a positive number of frames per second (e.g. 30.0), "
            "or None to time bare frames with the wall clock"
        )
    return float(fps)


def _pair_timestamp(stamp: object, index: int) -> float:
    if isinstance(stamp, (bool, np.bool_)) or not isinstance(stamp, numbers.Real):
        raise TimestampError(
            f"item {index} of the iterable: timestamp {stamp!r:.60} "
            f"({type(stamp).__name__}) is not a number of seconds: yield (frame, seconds) "
            "pairs with a float timestamp, e.g. (frame, index / fps)"
        )
    try:
        return float(stamp)
    except (OverflowError, TypeError, ValueError) as exc:
        raise TimestampError(
            f"item {index} of the iterable: timestamp {stamp!r:.60} cannot be converted to "
            "float seconds: yield (frame, seconds) pairs with a float timestamp"
        ) from exc


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
    _check_fps(fps)
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, (bool, np.bool_)):
        raise SourceError(f"{source!r} is not a video source: pass a camera index or a path")
    if isinstance(source, (int, np.integer)):
        return CaptureSource(check_camera_index(source), strict=strict)
    if isinstance(source, (str, os.PathLike)) or hasattr(source, "read"):
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


def prefetch_depth(source: FrameSource, *, model_threads: int) -> int:
    """How many frames to decode ahead of ``source`` by default (``Tracker.stream``).

    :data:`DEFAULT_PREFETCH` for video files and URLs when the machine has a core the models
    (``model_threads`` threads) do not use, else ``0``; always ``0`` for cameras, live captures
    and iterables, where reading ahead would only add latency or run the caller's generator in
    another thread. Measured on 2 cores (``benchmarks/bench_offline.py``): with 2 model threads
    a decoder thread only competes for the cores; with 1 it overlaps decoding.

    Example:
        >>> prefetch_depth(IterableSource([]), model_threads=1)
        0
    """
    if not isinstance(source, CaptureSource) or source.is_camera:
        return 0
    spare_core = (os.cpu_count() or 1) > model_threads
    return DEFAULT_PREFETCH if spare_core else 0


class _Failure:
    """An exception raised by the source in the decoder thread, on its way to the consumer."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class FrameReader:
    """Iterate a :class:`FrameSource`, optionally decoding ahead in a background thread.

    Args:
        source: the source; opened here if it is not yet.
        prefetch: frames decoded ahead into a bounded queue by a daemon thread; ``0`` reads in
            the consumer's thread (no thread at all).
        release_source: release the source in :meth:`close` (after the decoder has stopped).
        join_timeout: seconds :meth:`close` waits for a decoder blocked inside ``read()``; past
            that, the thread releases the source itself when ``read()`` returns.

    The frames' arrays are handed over as delivered, so with ``prefetch > 0`` the source must
    return a fresh array per frame (``cv2.VideoCapture.read()`` does). A consumer that stops
    early loses the up to ``prefetch + 1`` frames already read ahead.

    Example:
        >>> import numpy as np
        >>> frames = [np.zeros((2, 2, 3), np.uint8)] * 5
        >>> with FrameReader(open_source(frames, fps=5.0), prefetch=2) as reader:
        ...     [f.index for f in reader]
        [0, 1, 2, 3, 4]
    """

    def __init__(
        self,
        source: FrameSource,
        *,
        prefetch: int = DEFAULT_PREFETCH,
        release_source: bool = True,
        join_timeout: float = 5.0,
    ) -> None:
        if (
            isinstance(prefetch, bool)
            or not isinstance(prefetch, int)
            or not (0 <= prefetch <= MAX_PREFETCH)
        ):
            raise SourceError(
                f"prefetch={prefetch!r} must be an integer from 0 (no decoder thread) to "
                f"{MAX_PREFETCH} frames; 2-4 is plenty to overlap decoding with inference"
            )
        self.source = source
        self.prefetch = prefetch
        self.release_source = release_source
        self.join_timeout = float(join_timeout)
        source.open()
        self._frames: Iterator[SourceFrame] = iter(source)
        self._state = threading.Lock()
        self._read_lock = threading.Lock()
        self._stop = threading.Event()
        self._closed = False
        self._done = False  # the consumer saw the end or a failure
        self._busy = False  # (inline mode) a read is in progress
        self._finished = prefetch == 0  # the decoder thread has left its loop
        self._deferred_release = False
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max(prefetch, 1))
        self._thread: threading.Thread | None = None
        if prefetch > 0:
            self._thread = threading.Thread(
                target=self._decode, name="posekit-decoder", daemon=True
            )
            self._thread.start()

    # -- decoder thread --------------------------------------------------------------------
    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
            except queue.Full:
                continue
            return True
        return False

    def _decode(self) -> None:
        try:
            for item in self._frames:
                if not self._put(item):
                    break
            else:
                self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed over to the consumer
            self._put(_Failure(exc))
        finally:
            self._close_frames()
            with self._state:
                self._finished = True
                release = self._deferred_release
            if release:
                self._release()

    # -- consumer --------------------------------------------------------------------------
    def __iter__(self) -> FrameReader:
        return self

    def __next__(self) -> SourceFrame:
        if self._done or self._closed:
            raise StopIteration
        if self._thread is None:
            return self._next_inline()
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closed or (not self._thread.is_alive() and self._queue.empty()):
                    self._done = True
                    raise StopIteration from None
                continue
            if item is _END:
                self._done = True
                raise StopIteration
            if isinstance(item, _Failure):
                self._done = True
                raise item.error
            assert isinstance(item, SourceFrame)
            return item

    def _next_inline(self) -> SourceFrame:
        with self._read_lock:
            with self._state:
                if self._closed:
                    raise StopIteration
                self._busy = True
            try:
                return next(self._frames)
            except BaseException:
                self._done = True
                raise
            finally:
                with self._state:
                    self._busy = False
                    release = self._deferred_release
                if release:
                    self._deferred_release = False
                    self._close_frames()
                    self._release()

    # -- shutdown --------------------------------------------------------------------------
    def _close_frames(self) -> None:
        close = getattr(self._frames, "close", None)
        if callable(close):
            try:
                close()
            except ValueError:  # pragma: no cover - "generator already executing"
                logger.debug("frame generator still running; not closed", exc_info=True)

    def _release(self) -> None:
        if self.release_source:
            self.source.release()

    def close(self) -> None:
        """Stop decoding, wait for the decoder and release the source (idempotent, any thread)."""
        with self._state:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        thread = self._thread
        if thread is not None:
            while True:  # make room so a blocked put() returns at once
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
            if thread is not threading.current_thread():
                thread.join(self.join_timeout)
            with self._state:
                if not self._finished:
                    self._deferred_release = True
                    logger.warning(
                        "the decoder thread is still inside read() after %.1f s; the source "
                        "will be released when that call returns",
                        self.join_timeout,
                    )
                    return
            self._release()
            return
        if not self._read_lock.acquire(timeout=self.join_timeout):
            with self._state:
                if self._busy:
                    self._deferred_release = True
                    logger.warning(
                        "a read is still in progress after %.1f s; the source will be "
                        "released when it returns",
                        self.join_timeout,
                    )
                    return
            self._read_lock.acquire()
        try:
            self._close_frames()
            self._release()
        finally:
            self._read_lock.release()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
