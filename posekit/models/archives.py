"""Bounded reading of a source file: a plain file, a wheel (zip) member or an npm (tar) member.

Contract: every opener yields ``(stream, declared size or None)``; every failure to read (a
missing member, a damaged archive, a member that is not a regular file) is a
:class:`RouteFailed` carrying a one-line reason, so the caller tries the next source; the
:class:`Guarded` stream stops at :func:`size_limit` bytes whatever the archive declares. Why: an
archive bomb or a damaged download must cost neither disk nor memory.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.tflite"
    >>> _ = p.write_bytes(b"TFL3")
    >>> with open_file(p)() as (stream, size):
    ...     stream.read(), size
    (b'TFL3', 4)
"""

from __future__ import annotations

import contextlib
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from posekit.models.manifest import ModelSpec

__all__ = [
    "Guarded",
    "Opener",
    "RouteFailed",
    "find_tar_member",
    "open_file",
    "open_tar_member",
    "open_zip_member",
    "size_limit",
]

_SIZE_SLACK = 1 << 20
_MAX_TAR_SCAN = 512 << 20
"""Bytes of other tar members read past before giving up on finding the model in a tarball."""
_MAX_TAR_MEMBERS = 20_000

Opener = Callable[[], contextlib.AbstractContextManager[tuple[IO[bytes], int | None]]]
"""A zero-argument callable returning a context manager of (stream, size or None)."""


class RouteFailed(Exception):  # noqa: N818 - a route's outcome, caught by the fetcher
    """This source cannot supply the file; ``str(self)`` is the reason (one line)."""


def size_limit(spec: ModelSpec) -> int:
    """Most bytes accepted for ``spec``'s source file: twice the manifest size plus 1 MiB.

    Every accepted copy is about ``spec.size`` bytes (the pinned alternatives differ only in a
    metadata block); anything larger cannot have a pinned sha256, so it is refused before or
    while it is read instead of being written out in full first.

    Example:
        >>> from posekit.models.manifest import load_manifest
        >>> size_limit(load_manifest().models["pose_detection"])
        6966668
    """
    return 2 * spec.size + _SIZE_SLACK


class Guarded:
    """A read-only stream that stops at ``limit`` bytes and turns read errors into
    :class:`RouteFailed`.

    Example:
        >>> import io
        >>> Guarded(io.BytesIO(b"abc"), 8, "x").read()
        b'abc'
    """

    def __init__(self, stream: IO[bytes], limit: int, what: str) -> None:
        self._stream = stream
        self._left = limit
        self._limit = limit
        self._what = what

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes (all when negative); raises :class:`RouteFailed` past the limit."""
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        try:
            chunk = self._stream.read(want)
        except Exception as exc:
            raise RouteFailed(
                f"{self._what} is damaged or unreadable ({type(exc).__name__}: {exc})"
            ) from exc
        self._left -= len(chunk)
        if self._left < 0:
            raise RouteFailed(
                f"{self._what} holds more than {self._limit} bytes, more than the model can be "
                "(an archive bomb or not the official file); stopped reading"
            )
        return chunk


@contextlib.contextmanager
def _open_file_cm(path: Path) -> Iterator[tuple[IO[bytes], int | None]]:
    try:
        fh = path.open("rb")
        size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise RouteFailed(f"cannot read {path} ({exc.strerror or exc})") from exc
    with fh:
        yield fh, size


def open_file(path: Path) -> Opener:
    """An opener of the plain file ``path``."""
    return lambda: _open_file_cm(path)


def open_zip_member(archive: Path, member: str) -> Opener:
    """An opener of ``member`` inside the zip (wheel) ``archive``."""

    @contextlib.contextmanager
    def cm() -> Iterator[tuple[IO[bytes], int | None]]:
        try:
            zf = zipfile.ZipFile(archive)
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            raise RouteFailed(f"{archive.name} is not a readable wheel/zip ({exc})") from exc
        with zf:
            try:
                info = zf.getinfo(member)
            except KeyError as exc:
                raise RouteFailed(f"{archive.name} has no {member}") from exc
            if info.is_dir():
                raise RouteFailed(f"{member} in {archive.name} is not a regular file")
            try:
                fh = zf.open(info)
            except Exception as exc:
                raise RouteFailed(f"{member} in {archive.name} cannot be read ({exc})") from exc
            with fh:
                yield fh, info.file_size

    return cm


def find_tar_member(tf: tarfile.TarFile, member: str, archive: str) -> tarfile.TarInfo:
    """The member named ``member``, reading past at most ``_MAX_TAR_SCAN`` bytes of others."""
    wanted = member.removeprefix("./")
    scanned = 0
    for count, info in enumerate(tf, 1):
        if info.name.removeprefix("./") == wanted:
            return info
        scanned += max(info.size, 0)
        if scanned > _MAX_TAR_SCAN or count > _MAX_TAR_MEMBERS:
            raise RouteFailed(
                f"{archive} holds more than {_MAX_TAR_SCAN >> 20} MB or {_MAX_TAR_MEMBERS} "
                f"members before {member} (not the official package?); gave up"
            )
    raise RouteFailed(f"{archive} has no {member}")


def open_tar_member(archive: Path, member: str) -> Opener:
    """An opener of ``member`` inside the (compressed) tarball ``archive``."""

    @contextlib.contextmanager
    def cm() -> Iterator[tuple[IO[bytes], int | None]]:
        try:
            tf = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by the with below
        except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
            raise RouteFailed(f"{archive.name} is not a readable .tgz ({exc})") from exc
        with tf:
            try:
                info = find_tar_member(tf, member, archive.name)
                fh = tf.extractfile(info) if info.isfile() else None
            except RouteFailed:
                raise
            except Exception as exc:
                raise RouteFailed(
                    f"{archive.name} is damaged ({type(exc).__name__}: {exc})"
                ) from exc
            if fh is None:
                raise RouteFailed(f"{member} in {archive.name} is not a regular file")
            with fh:
                yield fh, info.size

    return cm
