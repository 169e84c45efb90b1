"""Output safety for every posekit command: never overwrite an input, write files atomically.

Two rules hold for each file a posekit command writes (``posekit run`` ``--output/--jsonl/--csv``,
``posekit-squats`` ``--output/--json/--plot``, ``posekit yoga`` ``--out/--output/--json``,
``posekit eval --json``):

* :func:`check_outputs` refuses, before anything is opened for writing, an output that is the
  same file as an input (the same path after normalisation, a symbolic link to it or a hard link:
  existing files are compared by device and inode, other paths by their resolved form) and two
  outputs of one run that are one file.
* :class:`AtomicOutput` writes to a hidden temporary file beside the target (same folder, same
  extension, so encoders that pick a format by extension still work) and renames it into place
  only when it is complete and closed (:meth:`AtomicOutput.commit`). A write error removes the
  partial file and raises :class:`~posekit.errors.OutputError` naming the output and the cause;
  whatever the target held before stays untouched.

Example:
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "sub").mkdir()
    >>> (d / "in.mp4").write_bytes(b"video")
    5
    >>> check_outputs([d / "in.mp4"], [("--output", d / "sub" / ".." / "in.mp4")])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    posekit.errors.InputError: --output .../sub/../in.mp4 is the same file as the input ...
    >>> write_text_atomic(d / "notes.txt", "hello\\n", "--json")  # doctest: +ELLIPSIS
    PosixPath('.../notes.txt')
    >>> sorted(p.name for p in d.iterdir())  # no temporary file is left behind
    ['in.mp4', 'notes.txt', 'sub']
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from posekit.errors import InputError, OutputError

__all__ = [
    "AtomicOutput",
    "check_outputs",
    "output_error",
    "write_atomic",
    "write_text_atomic",
]

PathArg = str | os.PathLike[str]

_HINTS = {
    errno.ENOSPC: "free some disk space or write to another disk",
    errno.EDQUOT: "free some space within your disk quota or write elsewhere",
    errno.EACCES: "pick a writable folder",
    errno.EPERM: "pick a writable folder",
    errno.EROFS: "the disk is read-only: write to another one",
    errno.EFBIG: "the file is too large for this file system: write to another one",
}


def output_error(
    what: str, target: PathArg, exc: BaseException | str, hint: str | None = None
) -> OutputError:
    """The one-line :class:`OutputError` for an output that could not be written.

    Example:
        >>> import errno
        >>> str(output_error("--csv", "p.csv", OSError(errno.ENOSPC, "No space left on device")))
        '--csv p.csv was not written: No space left on device (free some disk space or write to another disk)'
    """  # noqa: E501
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
        hint = hint or _HINTS.get(exc.errno or 0, "check the disk and the folder and run again")
    else:
        reason = str(exc)
        hint = hint or "run again, or write to another disk or format"
    return OutputError(f"{what} {target} was not written: {reason} ({hint})")


_FULL = "is the disk full? free some space or write to another disk"


# ---------------------------------------------------------------------------- same-file check
def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()  # follows symbolic links
    except (OSError, ValueError):
        return None


def _resolved(path: Path) -> str:
    return os.path.normcase(os.path.realpath(path))


def _input_files(path: Path, suffixes: Sequence[str] | None) -> Iterator[Path]:
    if not path.is_dir():
        yield path
        return
    for root, _dirs, files in os.walk(path, followlinks=True):
        for name in files:
            if suffixes is None or Path(name).suffix.lower() in suffixes:
                yield Path(root, name)


def check_outputs(
    inputs: Iterable[PathArg],
    outputs: Iterable[tuple[str, PathArg | None]],
    *,
    folder_suffixes: Sequence[str] | None = None,
) -> None:
    """Refuse outputs that would overwrite an input or each other (before anything is written).

    Args:
        inputs: files the command reads; a folder stands for the files under it (those whose
            extension is in ``folder_suffixes``, every file when it is None). Paths that do not
            exist (URLs, camera indices as text) are skipped: nothing there can be overwritten.
        outputs: ``(what, path)`` pairs, ``what`` naming the option (``"--csv"``); a None path
            (option not given) is skipped.
        folder_suffixes: lower-case extensions (``".jpg"``) of the files a folder input holds.

    Raises:
        InputError: an output is an input (same path, symbolic link or hard link), or two
            outputs are one file; the message names both and says what to do.

    Example:
        >>> check_outputs(["in.mp4"], [("--jsonl", "x.txt"), ("--csv", "./x.txt")])
        Traceback (most recent call last):
        ...
        posekit.errors.InputError: --jsonl x.txt and --csv ./x.txt are the same file: give each output its own path
    """  # noqa: E501
    given = [(what, os.fspath(p)) for what, p in outputs if p is not None]
    if not given:
        return
    keys: list[tuple[object, ...]] = []
    existing: dict[tuple[int, int], tuple[str, str]] = {}
    for what, text in given:
        path = Path(text)
        st = _stat(path)
        if st is not None and stat.S_ISREG(st.st_mode):
            keys.append(("inode", st.st_dev, st.st_ino))
            existing[(st.st_dev, st.st_ino)] = (what, text)
        else:
            keys.append(("path", _resolved(path)))
    for i, key in enumerate(keys):
        for j in range(i):
            if keys[j] == key:
                (w1, p1), (w2, p2) = given[j], given[i]
                raise InputError(
                    f"{w1} {p1} and {w2} {p2} are the same file: give each output its own path"
                )
    if not existing:
        return  # an output that does not exist yet cannot be an input
    suffixes = None if folder_suffixes is None else tuple(s.lower() for s in folder_suffixes)
    for item in inputs:
        top = Path(item)
        for path in _input_files(top, suffixes):
            st = _stat(path)
            if st is None:
                continue
            hit = existing.get((st.st_dev, st.st_ino))
            if hit is not None:
                what, out = hit
                how = "" if _resolved(Path(out)) == _resolved(path) else " (through a link)"
                raise InputError(
                    f"{what} {out} is the same file as the input {path}{how}: writing it would "
                    "destroy the input; choose another output path"
                )


# ---------------------------------------------------------------------------- atomic writes
def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


class AtomicOutput:
    """A temporary file beside ``target`` that becomes ``target`` on :meth:`commit`.

    The temporary file is hidden (``.<name>.<random>.part<ext>``), lies in the target's folder
    (so the final rename is atomic) and keeps the target's extension (``cv2.VideoWriter`` and
    ``cv2.imwrite`` choose the format by it). A target that is a symbolic link is written
    through (the file it points to is replaced). :meth:`discard` removes the temporary file;
    the object is also a context manager that commits on success and on Ctrl-C (what was
    written is complete) and discards on any other exception.

    Args:
        target: the final path.
        what: the option that named it (``"--jsonl"``), for messages.

    Raises:
        OutputError: the temporary file cannot be created (e.g. a read-only or full folder).

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "summary.json"
        >>> with AtomicOutput(target, "--json") as out:
        ...     _ = out.temp.write_text("{}")
        ...     target.exists()
        False
        >>> target.read_text()
        '{}'
    """

    def __init__(self, target: PathArg, what: str = "output") -> None:
        self.target = Path(target)
        self.what = what
        self.committed = False
        final = Path(os.path.realpath(self.target)) if self.target.is_symlink() else self.target
        self._final = final
        folder = final.parent if str(final.parent) else Path()
        try:
            fd, name = tempfile.mkstemp(
                dir=folder, prefix=f".{final.name}.", suffix=f".part{final.suffix}"
            )
        except OSError as exc:
            raise output_error(what, self.target, exc) from exc
        os.close(fd)
        self.temp: Path | None = Path(name)

    def open_text(self, newline: str | None = None) -> IO[str]:
        """The temporary file opened for writing text (UTF-8)."""
        assert self.temp is not None, "open_text() after commit() or discard()"
        try:
            return self.temp.open("w", encoding="utf-8", newline=newline)
        except OSError as exc:
            self.discard()
            raise output_error(self.what, self.target, exc) from exc

    def commit(self) -> Path:
        """Flush the temporary file to disk and rename it onto the target; returns the target.

        Raises:
            OutputError: the flush or the rename failed (the temporary file is removed).
        """
        if self.temp is None:
            if self.committed:
                return self.target
            raise OutputError(f"{self.what} {self.target} was discarded: nothing to commit")
        try:
            try:
                mode = stat.S_IMODE(self._final.stat().st_mode)
            except OSError:
                mode = _new_file_mode()
            self.temp.chmod(mode)
            fd = os.open(self.temp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self.temp.replace(self._final)
        except OSError as exc:
            self.discard()
            raise output_error(self.what, self.target, exc) from exc
        self.temp = None
        self.committed = True
        return self.target

    def discard(self) -> None:
        """Remove the temporary file (idempotent); the target is left as it was."""
        if self.temp is not None:
            with contextlib.suppress(OSError):
                self.temp.unlink()
            self.temp = None

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or issubclass(exc_type, KeyboardInterrupt):
            if self.temp is not None:
                self.commit()
        else:
            self.discard()


def write_atomic(target: PathArg, what: str, write: Callable[[Path], object]) -> AtomicOutput:
    """Call ``write(temp_path)`` to fill a temporary file for ``target``; not yet committed.

    ``write`` returning False (as ``cv2.imwrite`` does on failure) or raising ``OSError`` removes
    the temporary file and raises :class:`OutputError`. Call :meth:`AtomicOutput.commit` (or
    :meth:`~AtomicOutput.discard`) when every output of the run is ready.

    Example:
        >>> import pathlib, tempfile
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
        >>> pending = write_atomic(target, "--json", lambda p: p.write_text("x"))
        >>> target.exists(), pending.commit().read_text()
        (False, 'x')
    """
    out = AtomicOutput(target, what)
    assert out.temp is not None
    try:
        ok = write(out.temp)
    except OSError as exc:
        out.discard()
        raise output_error(what, target, exc) from exc
    except BaseException:
        out.discard()
        raise
    if ok is False or not out.temp.is_file() or out.temp.stat().st_size == 0:
        out.discard()
        raise output_error(what, target, "the encoder wrote nothing", _FULL)
    return out


def write_text_atomic(target: PathArg, text: str, what: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically; returns the target.

    Raises:
        OutputError: the text could not be written completely (nothing is left behind).
    """

    def fill(path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            fh.write(text)

    return write_atomic(target, what, fill).commit()
