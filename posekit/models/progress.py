"""Visible progress for installs: INFO log records plus a simple line on stderr.

On a terminal the byte counter of a download updates in place; elsewhere (CI logs, pipes) it
prints a line at 0, 25, 50, 75 and 100 %. ``enabled=False`` silences stderr; the log records
are emitted either way.

Example:
    >>> import io
    >>> buf = io.StringIO()
    >>> p = Progress(True, stream=buf)
    >>> p.message("converting pose_detection.tflite")
    >>> buf.getvalue()
    'posekit: converting pose_detection.tflite\\n'
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

__all__ = ["Progress"]

logger = logging.getLogger("posekit.models")

_MB = 1024.0 * 1024.0


class Progress:
    """Reports install steps to logging and, when enabled, to ``stream`` (stderr)."""

    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream
        self._inline = False
        self._last_draw = 0.0
        self._last_quarter = -1

    @property
    def stream(self) -> TextIO:
        """Where progress lines go (``sys.stderr`` unless given)."""
        return self._stream if self._stream is not None else sys.stderr

    def _tty(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def _end_inline(self) -> None:
        if self._inline:
            self.stream.write("\n")
            self._inline = False

    def message(self, text: str) -> None:
        """One progress event: logged at INFO and printed as its own line."""
        logger.info("%s", text)
        if self.enabled:
            self._end_inline()
            self.stream.write(f"posekit: {text}\n")
            self.stream.flush()

    def start_bytes(self) -> None:
        """Reset the byte counter before a new transfer."""
        self._last_draw = 0.0
        self._last_quarter = -1

    def bytes(self, label: str, done: int, total: int | None) -> None:
        """Byte progress of a transfer (``total`` may be unknown)."""
        if not self.enabled:
            return
        if total:
            pct = 100.0 * done / total
            text = f"{label}: {done / _MB:.1f} / {total / _MB:.1f} MB ({pct:.0f} %)"
        else:
            text = f"{label}: {done / _MB:.1f} MB"
        if self._tty():
            now = time.monotonic()
            finished = bool(total) and done >= (total or 0)
            if now - self._last_draw < 0.1 and not finished:
                return
            self._last_draw = now
            self.stream.write(f"\rposekit: {text}\x1b[K")
            self._inline = True
            if finished:
                self._end_inline()
            self.stream.flush()
            return
        if total:
            quarter = min(4, 4 * done // total)
            if quarter == self._last_quarter:
                return
            self._last_quarter = int(quarter)
            self.stream.write(f"posekit: {text}\n")
            self.stream.flush()

    def finish(self) -> None:
        """Terminate an in-place line, if any."""
        if self.enabled:
            self._end_inline()
