"""On-disk model store: cache location, atomic writes, sidecars and stale-file cleanup.

Layout under :func:`cache_dir`::

    models/<name>.onnx        converted model
    models/<name>.json        sidecar: source sha256, converter version, onnx sha256, created
    sources/<file>.tflite     verified official source, kept so re-conversion needs no download
    sources/packages/<file>   a downloaded package (``mediapipe`` wheel, ``@mediapipe/pose``
                              tarball) and its ``.json`` record (sha256, size): one download
                              serves every model it holds, in every later process
    runtime/ort-<v>-<cpu>/    optimised runtime copies (:mod:`posekit.models.runtime`)

Every file is written to a temporary name in the same folder (``.<name>.<pid>.<random>.part``),
flushed, fsynced and then moved into place with :func:`os.replace`, so a reader sees either the
old file or the complete new one. A model counts as installed only when its sidecar exists and
records the ONNX file's size; an interrupted install therefore never leaves a loadable half file.

Example:
    >>> from posekit.models.store import cache_dir, onnx_path
    >>> onnx_path("pose_detection") == cache_dir() / "models" / "pose_detection.onnx"
    True
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import json
import logging
import os
import sys
import time
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from posekit.errors import ModelError

__all__ = [
    "HOME_ENV",
    "STORAGE_ERRNOS",
    "Readable",
    "Sidecar",
    "atomic_writer",
    "cache_dir",
    "cache_folders",
    "clean_all_stale_parts",
    "clean_stale_parts",
    "ensure_dir",
    "file_sha256",
    "is_installed",
    "is_part_file",
    "models_dir",
    "onnx_path",
    "packages_dir",
    "read_sidecar",
    "runtime_root",
    "sidecar_path",
    "source_path",
    "sources_dir",
    "stale_parts",
    "storage_error",
    "tree_size",
    "write_sidecar",
]

logger = logging.getLogger(__name__)

HOME_ENV = "POSEKIT_HOME"
_PART_SUFFIX = ".part"
_STALE_AGE_S = 6 * 3600.0
_DEAD_WRITER_AGE_S = 60.0
_SIDECAR_FORMAT = 1
MAX_RECORD_BYTES = 1 << 20
"""Largest sidecar / runtime / package record read (the real ones are a few kB)."""
_R = TypeVar("_R")
_CHUNK = 1 << 20
STORAGE_ERRNOS = frozenset(
    e
    for e in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, getattr(errno, "EDQUOT", None))
    if e is not None
)


def cache_dir() -> Path:
    """Root of posekit's model cache.

    ``$POSEKIT_HOME`` if set; otherwise the platform cache folder: ``$XDG_CACHE_HOME/posekit`` or
    ``~/.cache/posekit`` on Linux, ``~/Library/Caches/posekit`` on macOS and
    ``%LOCALAPPDATA%\\posekit\\Cache`` on Windows. The folder is not created here.
    """
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "posekit" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "posekit"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base_dir = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base_dir / "posekit"


def models_dir() -> Path:
    """Folder of converted ``.onnx`` models and their sidecars."""
    return cache_dir() / "models"


def sources_dir() -> Path:
    """Folder of verified official ``.tflite`` sources."""
    return cache_dir() / "sources"


def packages_dir() -> Path:
    """Folder of downloaded, sha256-recorded package archives (wheel, npm tarball)."""
    return sources_dir() / "packages"


def runtime_root() -> Path:
    """Folder holding one sub-folder of runtime copies per onnxruntime version and CPU."""
    return cache_dir() / "runtime"


def onnx_path(name: str) -> Path:
    """Where the converted model ``name`` lives (whether or not it is installed)."""
    return models_dir() / f"{name}.onnx"


def sidecar_path(name: str) -> Path:
    """The JSON sidecar describing ``onnx_path(name)``."""
    return models_dir() / f"{name}.json"


def source_path(file: str) -> Path:
    """Where the verified source ``file`` (e.g. ``pose_detection.tflite``) is kept."""
    return sources_dir() / file


def storage_error(path: Path, exc: OSError) -> ModelError:
    """A :class:`ModelError` for an unwritable / full / read-only cache, naming the fix."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno == errno.EROFS:
        reason = "the file system is read-only"
    elif exc.errno in (errno.EACCES, errno.EPERM):
        reason = "permission denied"
    return ModelError(
        f"cannot write to posekit's model cache {cache_dir()} ({reason}: {path}); free some space, "
        f"fix its permissions, or point {HOME_ENV} at a writable folder "
        f"(e.g. export {HOME_ENV}=$HOME/posekit-models)"
    )


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) or raise :func:`storage_error`; returns ``path``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(path, exc) from exc
    if not path.is_dir():  # pragma: no cover - mkdir(exist_ok) raises for files already
        raise storage_error(path, NotADirectoryError(errno.ENOTDIR, "not a directory"))
    return path


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _part_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}{_PART_SUFFIX}")


@contextlib.contextmanager
def atomic_writer(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success fsync it and move it into place.

    The body writes the temporary file (directly or through a tool such as the converter). If the
    body raises (including ``KeyboardInterrupt``) the temporary file is removed and ``target`` is
    left untouched. OS errors while writing become a :class:`ModelError` naming the cache folder.

    Example:
        >>> import tempfile, pathlib
        >>> t = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> with atomic_writer(t) as tmp:
        ...     _ = tmp.write_bytes(b"ok")
        >>> t.read_bytes()
        b'ok'
    """
    ensure_dir(target.parent)
    tmp = _part_name(target)
    try:
        try:
            yield tmp
        except OSError as exc:
            if exc.errno in STORAGE_ERRNOS:
                raise storage_error(target.parent, exc) from exc
            raise
        if not tmp.is_file():
            raise ModelError(f"nothing was written to {tmp} for {target}")
        try:
            with tmp.open("rb+") as fh:
                os.fsync(fh.fileno())
            tmp.replace(target)
        except OSError as exc:
            raise storage_error(target.parent, exc) from exc
        _fsync_dir(target.parent)
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


class Readable(typing.Protocol):
    """Anything with ``read(n) -> bytes`` (a file, an HTTP response, a guarded stream)."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end."""
        ...


def copy_hashing(
    src: Readable, dst: IO[bytes], progress: Callable[[int], None] | None = None
) -> str:
    """Copy a stream while computing its sha256; returns the hex digest."""
    import hashlib  # lazily: OpenSSL's libcrypto is ~3.5 MB of RSS

    digest = hashlib.sha256()
    done = 0
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        dst.write(chunk)
        done += len(chunk)
        if progress is not None:
            progress(done)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """sha256 of a file, streamed."""
    import hashlib  # lazily: OpenSSL's libcrypto is ~3.5 MB of RSS

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # no cheap liveness probe: rely on age only
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: exists but belongs to someone else
        return True
    return True


def stale_parts(folder: Path) -> list[Path]:
    """The temporary files in ``folder`` that :func:`clean_stale_parts` would delete."""
    found: list[Path] = []
    if not folder.is_dir():
        return found
    now = time.time()
    for entry in folder.glob(f".*{_PART_SUFFIX}"):
        parts = entry.name.rsplit(".", 3)  # ['.<target>', '<pid>', '<rand>', 'part']
        pid = int(parts[1]) if len(parts) == 4 and parts[1].isdigit() else -1
        try:
            if not entry.is_file():
                continue
            age = now - entry.stat().st_mtime
        except OSError:
            continue
        if age > _STALE_AGE_S or (
            age > _DEAD_WRITER_AGE_S and pid != os.getpid() and (pid < 0 or not _pid_alive(pid))
        ):
            found.append(entry)
    return found


def clean_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary files left by killed installs; returns what was removed.

    A ``.part`` file is stale when the process that wrote it is gone and the file has not been
    touched for a minute (a writer in another PID namespace sharing the folder keeps its file
    fresh), or when it is older than six hours. Loads never look at ``.part`` files, so this only
    reclaims disk space.
    """
    removed: list[Path] = []
    for entry in stale_parts(folder):
        try:
            entry.unlink()
        except OSError:
            continue
        removed.append(entry)
        logger.debug("removed stale temporary file %s", entry)
    return removed


def cache_folders() -> list[Path]:
    """Every folder of the cache that holds files posekit writes (for cleanup and disk usage)."""
    folders = [models_dir(), sources_dir(), packages_dir()]
    with contextlib.suppress(OSError):
        if runtime_root().is_dir():
            folders.extend(sorted(p for p in runtime_root().iterdir() if p.is_dir()))
    return folders


def clean_all_stale_parts() -> list[Path]:
    """:func:`clean_stale_parts` in every cache folder (models, sources, packages, runtime)."""
    removed: list[Path] = []
    for folder in cache_folders():
        removed.extend(clean_stale_parts(folder))
    return removed


def is_part_file(path: Path) -> bool:
    """Whether ``path`` is an atomic writer's temporary file (``.<name>.<pid>.<rand>.part``)."""
    return path.name.startswith(".") and path.name.endswith(_PART_SUFFIX)


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` (0 when missing; unreadable entries skipped)."""
    if not path.exists():
        return 0
    if path.is_file():
        with contextlib.suppress(OSError):
            return path.stat().st_size
        return 0
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for fname in files:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / fname).lstat().st_size
    return total


@dataclass(frozen=True)
class Sidecar:
    """What the sidecar JSON next to a converted model records."""

    name: str
    onnx_sha256: str
    onnx_size: int
    source_file: str
    source_sha256: str
    source_origin: str
    converter_version: str
    posekit_version: str
    created: str
    format: int = _SIDECAR_FORMAT

    @staticmethod
    def now() -> str:
        """UTC timestamp in ISO 8601, seconds precision."""
        return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def write_sidecar(sidecar: Sidecar) -> Path:
    """Atomically write the sidecar for ``sidecar.name``."""
    target = sidecar_path(sidecar.name)
    with atomic_writer(target) as tmp:
        tmp.write_text(json.dumps(asdict(sidecar), indent=2) + "\n", encoding="utf-8")
    return target


def _value_fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value has the type a record field declares (str, int, float, list, dict)."""
    origin = typing.get_origin(hint) or hint
    args = typing.get_args(hint)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is str:
        return isinstance(value, str)
    if origin is list:
        return isinstance(value, list) and (not args or all(_value_fits(v, args[0]) for v in value))
    if origin is dict:
        return isinstance(value, dict) and (
            not args
            or all(_value_fits(k, args[0]) and _value_fits(v, args[1]) for k, v in value.items())
        )
    return True


def _fields_fit(make: Callable[..., Any], raw: Mapping[str, Any]) -> bool:
    if not is_dataclass(make) or not isinstance(make, type):
        return True
    hints = typing.get_type_hints(make)
    names = {f.name for f in fields(make)}
    return set(raw) <= names and all(_value_fits(v, hints[k]) for k, v in raw.items())


def read_json_record(path: Path, fmt: int, make: Callable[..., _R]) -> _R | None:
    """``make(**fields)`` for the JSON object in ``path`` whose ``format`` field is ``fmt``;
    ``None`` when the file is missing, unreadable, larger than :data:`MAX_RECORD_BYTES`, nested
    too deep, not a JSON object (a list, ``null``...), of another format, or has other fields or
    fields of the wrong type (a dataclass ``make`` is checked against its annotations).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "r.json"
        >>> _ = p.write_text("[1, 2]")
        >>> read_json_record(p, 1, dict) is None
        True
    """
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            logger.debug("ignoring %s: larger than %d bytes", path, MAX_RECORD_BYTES)
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(raw, dict) or raw.get("format") != fmt or not _fields_fit(make, raw):
        return None
    try:
        return make(**raw)
    except (TypeError, ValueError):
        return None


def read_sidecar(name: str) -> Sidecar | None:
    """The sidecar of ``name``, or ``None`` when it is missing or unreadable."""
    return read_json_record(sidecar_path(name), _SIDECAR_FORMAT, Sidecar)


def is_installed(name: str) -> bool:
    """Cheap check: sidecar present and the ONNX file has the size the sidecar records.

    The full sha256 comparison is done by :func:`posekit.models.verify`.
    """
    side = read_sidecar(name)
    if side is None or side.name != name:
        return False
    try:
        return onnx_path(name).stat().st_size == side.onnx_size
    except OSError:
        return False


def remove_model(name: str) -> None:
    """Forget an installed model: sidecar first (so it stops counting), then the ONNX file."""
    for path in (sidecar_path(name), onnx_path(name)):
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise storage_error(path.parent, exc) from exc
