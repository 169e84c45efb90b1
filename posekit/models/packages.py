"""Package archives (the ``mediapipe`` wheel, the ``@mediapipe/pose`` tarball): download, keep.

Contract: :func:`pip_download` / :func:`npm_pack` fetch one archive with the registry's own client
(:func:`run_tool`, bounded in time); :func:`keep_package` files it under ``sources/packages`` of
the cache with a sha256 record and :func:`kept_package` returns it later only while it still has
that sha256. Why: one ~35 MB download serves every model the package holds, in later processes
too; a cache that cannot be written only costs a download next time.

Example:
    >>> from posekit.models.manifest import SourceSpec
    >>> package_key(SourceSpec("pypi", requirement="mediapipe==0.10.21"))
    'pypi:mediapipe==0.10.21'
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from posekit.errors import ModelError
from posekit.models.archives import RouteFailed
from posekit.models.manifest import SourceSpec, load_manifest
from posekit.models.progress import Progress
from posekit.models.store import (
    Sidecar,
    atomic_writer,
    copy_hashing,
    file_sha256,
    packages_dir,
    read_json_record,
)

__all__ = [
    "TOOL_TIMEOUT_S",
    "PackageRecord",
    "RunTool",
    "ToolFailed",
    "keep_package",
    "kept_package",
    "npm_pack",
    "package_key",
    "pip_download",
    "run_tool",
]

logger = logging.getLogger(__name__)

TOOL_TIMEOUT_S = 900.0
"""Wall-clock limit of one ``pip download`` / ``npm pack`` run."""

_PACKAGE_FORMAT = 1
_TOOL_PROGRESS = re.compile(r"\s*(Downloading|Saved|Collecting|npm notice (filename|package size))")

RunTool = Callable[[Sequence[str], Path, str], str]
"""Runs ``(cmd, cwd, what)`` and returns its output (:func:`run_tool` with progress bound)."""


@dataclass(frozen=True)
class PackageRecord:
    """The JSON kept next to a downloaded package archive in ``sources/packages``."""

    key: str
    file: str
    sha256: str
    size: int
    created: str
    format: int = _PACKAGE_FORMAT


def package_key(src: SourceSpec) -> str:
    """The key a package source is kept under (``pypi:mediapipe==0.10.21``)."""
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


def keep_package(key: str, downloaded: Path) -> Path:
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


class ToolFailed(Exception):  # noqa: N818 - a tool's outcome, turned into RouteFailed
    """pip or npm exited non-zero; ``output`` is what it printed."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


def run_tool(
    cmd: Sequence[str], cwd: Path, what: str, progress: Progress, timeout: float = TOOL_TIMEOUT_S
) -> str:
    """Run pip/npm in ``cwd``, forwarding its lines as ``progress``; returns the combined output.

    Raises:
        RouteFailed: the tool is missing or ran past ``timeout`` seconds.
        ToolFailed: it exited non-zero (``output`` holds what it printed).
    """
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
        raise RouteFailed(f"cannot run {cmd[0]} ({exc})") from exc
    watchdog = threading.Timer(timeout, proc.kill)
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
                progress.message(f"{what}: {line.strip()}")
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    if time.monotonic() - start >= timeout:
        raise RouteFailed(f"{what} took longer than {timeout:.0f} s; gave up")
    output = "\n".join(lines)
    if proc.returncode != 0:
        tail = " | ".join(lines[-3:]) if lines else "no output"
        raise ToolFailed(f"{what} failed (exit {proc.returncode}): {tail}", output)
    return output


def pip_download(requirement: str, dest: Path, progress: Progress, run: RunTool) -> Path:
    """Download the wheel of ``requirement`` into ``dest`` with ``pip download`` (falling back to
    the manifest's platform / CPython wheel when this interpreter has none); returns its path.

    ``run`` runs one command (:func:`run_tool` bound to a progress and a timeout).
    """
    base = [
        sys.executable, "-m", "pip", "download", requirement,
        "--no-deps", "--only-binary=:all:", "-d", str(dest),
        "--disable-pip-version-check", "--no-input", "--progress-bar", "off",
        "--timeout", "30", "--retries", "2",
    ]  # fmt: skip
    progress.message(f"fetching {requirement} from PyPI with pip (one wheel, ~35 MB)")
    try:
        run(base, dest, "pip")
    except ToolFailed as exc:
        if "No module named pip" in exc.output:
            raise RouteFailed(f"pip is not available for {sys.executable}") from exc
        if not re.search(r"No matching distribution|Could not find a version", exc.output):
            raise RouteFailed(str(exc)) from exc
        manifest = load_manifest()
        ver = manifest.pypi_fallback_python_version
        abi = "cp" + ver.replace(".", "")
        progress.message(
            f"no {requirement} wheel for this Python/platform; fetching the "
            f"{manifest.pypi_fallback_platform} / CPython {ver} wheel (same model files)"
        )
        cmd = [*base, "--platform", manifest.pypi_fallback_platform,
               "--python-version", ver, "--implementation", "cp", "--abi", abi]  # fmt: skip
        try:
            run(cmd, dest, "pip")
        except ToolFailed as exc2:
            raise RouteFailed(str(exc2)) from exc2
    wheels = sorted(dest.glob("*.whl"))
    if not wheels:
        raise RouteFailed(f"pip reported success but left no wheel in {dest}")
    return wheels[0]


def npm_pack(package: str, dest: Path, progress: Progress, run: RunTool) -> Path:
    """Download the tarball of npm ``package`` into ``dest`` with ``npm pack``; returns its path."""
    npm = shutil.which("npm")
    if npm is None:
        raise RouteFailed("skipped: npm is not on PATH (install Node.js to use this route)")
    progress.message(f"fetching {package} from npm with npm pack")
    try:
        run([npm, "pack", package, "--ignore-scripts", "--silent"], dest, "npm")
    except ToolFailed as exc:
        raise RouteFailed(str(exc)) from exc
    tgzs = sorted(dest.glob("*.tgz"))
    if not tgzs:
        raise RouteFailed(f"npm pack reported success but left no .tgz in {dest}")
    return tgzs[0]
