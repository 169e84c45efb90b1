"""Install, verify and locate posekit's converted models (the logic behind ``posekit.models``)."""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posekit.errors import ConversionError, ModelError, ModelSourceError, PosekitError
from posekit.models.manifest import ModelSpec, load_manifest
from posekit.models.progress import Progress
from posekit.models.store import (
    STORAGE_ERRNOS,
    Sidecar,
    atomic_writer,
    cache_dir,
    cache_folders,
    clean_all_stale_parts,
    ensure_dir,
    file_sha256,
    is_installed,
    is_part_file,
    models_dir,
    onnx_path,
    packages_dir,
    read_sidecar,
    runtime_root,
    sidecar_path,
    sources_dir,
    stale_parts,
    storage_error,
    tree_size,
    write_sidecar,
)

__all__ = [
    "DEFAULT_MODELS",
    "QUIET_ENV",
    "CacheUsage",
    "InstallResult",
    "VerifyResult",
    "cache_usage",
    "check_onnx",
    "clean_cache",
    "install",
    "installed_models",
    "installs_allowed",
    "model_path",
    "no_install",
    "resolve_name",
    "verify",
]

logger = logging.getLogger("posekit.models")

QUIET_ENV = "POSEKIT_QUIET"

DEFAULT_MODELS: tuple[str, ...] = ("pose_detection", "pose_landmark_full")
"""What a default :class:`~posekit.Tracker` loads: ``posekit models install`` with no name."""

_NO_INSTALL: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "posekit_no_install", default=False
)


@contextlib.contextmanager
def no_install() -> Iterator[None]:
    """Within this block (this thread / context) no model is installed or written to the cache:
    :func:`model_path` raises :class:`ModelError` for a missing model instead of fetching it, and
    runtime sessions come only from what is on disk. Used on the tracking hot path.

    Example:
        >>> with no_install():
        ...     installs_allowed()
        False
    """
    token = _NO_INSTALL.set(True)
    try:
        yield
    finally:
        _NO_INSTALL.reset(token)


def installs_allowed() -> bool:
    """False inside :func:`no_install`."""
    return not _NO_INSTALL.get()


SourceArg = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | None


@dataclass(frozen=True)
class InstallResult:
    """Outcome of installing one model.

    ``status`` is ``"installed"`` (converted now) or ``"present"`` (already installed, left
    alone). ``source`` says where the verified ``.tflite`` came from.
    """

    name: str
    path: Path
    status: str
    source: str
    source_sha256: str
    seconds: float


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of verifying one model: ``ok`` or the list of ``problems`` found."""

    name: str
    path: Path
    installed: bool
    ok: bool
    problems: tuple[str, ...]


def _names_help() -> str:
    m = load_manifest()
    aliases = ", ".join(f"{a} -> {t}" for a, t in m.aliases.items())
    return f"valid names: {', '.join(m.models)} (aliases: {aliases}; 'all' for every model)"


def resolve_name(name: str) -> str:
    """Canonical model name for a name or alias (``detector``, ``lite``, ``full``, ``heavy``).

    Example:
        >>> resolve_name("full"), resolve_name("pose_detection")
        ('pose_landmark_full', 'pose_detection')
    """
    m = load_manifest()
    key = str(name).strip()
    if key.endswith((".onnx", ".tflite")):
        key = key.rsplit(".", 1)[0]
    lowered = key.lower()
    if lowered in m.models:
        return lowered
    if lowered in m.aliases:
        return m.aliases[lowered]
    raise ModelError(f"unknown model {name!r}; {_names_help()}")


def _expand(names: str | Iterable[str] | None) -> list[str]:
    m = load_manifest()
    if names is None:
        return list(m.models)
    if isinstance(names, str):
        names = [names]
    out: list[str] = []
    for n in names:
        resolved = list(m.models) if str(n).strip().lower() == "all" else [resolve_name(n)]
        out.extend(r for r in resolved if r not in out)
    return out


def _progress_default(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return os.environ.get(QUIET_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def check_onnx(path: Path, spec: ModelSpec) -> list[str]:
    """Problems with a converted model: not loadable, or I/O names/shapes unlike the manifest."""
    from posekit.inference import InferenceSession

    try:
        sess = InferenceSession(path, num_threads=1)
    except ModelError as exc:
        return [str(exc)]
    problems: list[str] = []
    for kind, got_names, got_shapes, want in (
        ("input", sess.input_names, sess.input_shapes, spec.inputs),
        ("output", sess.output_names, sess.output_shapes, spec.outputs),
    ):
        want_names = [t.name for t in want]
        if sorted(got_names) != sorted(want_names):
            problems.append(f"{kind} names are {got_names}, manifest says {want_names}")
            continue
        for t in want:
            if got_shapes[t.name] != t.shape:
                problems.append(
                    f"{kind} {t.name} has shape {got_shapes[t.name]}, manifest says {t.shape}"
                )
    return problems


def _converter_version(report: Any) -> str:
    from posekit import __version__

    module = importlib.import_module("posekit.convert")
    for candidate in (
        getattr(report, "converter_version", None),
        getattr(module, "CONVERTER_VERSION", None),
        getattr(module, "__version__", None),
    ):
        if candidate:
            return str(candidate)
    opset = getattr(module, "ONNX_OPSET", None)
    return f"posekit.convert {__version__}" + (f" (opset {opset})" if opset else "")


def _convert(
    spec: ModelSpec, fetched_path: Path, fetched_sha: str, origin: str, progress: Progress
) -> Path:
    """Convert the verified source and commit model + sidecar atomically."""
    from posekit import __version__
    from posekit.convert import convert_file

    target = onnx_path(spec.name)
    # Forget the old model first: if we die between the two renames below, the new ONNX has no
    # sidecar and does not count as installed.
    side = sidecar_path(spec.name)
    try:
        side.unlink(missing_ok=True)
    except OSError as exc:
        raise storage_error(side.parent, exc) from exc
    progress.message(f"converting {spec.file} to ONNX")
    start = time.perf_counter()
    with atomic_writer(target) as tmp:
        try:
            report = convert_file(fetched_path, tmp, model_name=spec.name)
        except ConversionError as exc:
            cause = exc.__cause__
            if isinstance(cause, OSError) and cause.errno in STORAGE_ERRNOS:
                raise storage_error(target.parent, cause) from exc
            raise
        if not tmp.is_file():
            raise ConversionError(f"the converter wrote no file for {spec.file}")
        problems = check_onnx(tmp, spec)
        if problems:
            raise ConversionError(
                f"the converted {spec.name} does not match the manifest: {'; '.join(problems)}; "
                "this is a posekit bug, please report it"
            )
        onnx_sha = file_sha256(tmp)
        onnx_size = tmp.stat().st_size
    write_sidecar(
        Sidecar(
            name=spec.name,
            onnx_sha256=onnx_sha,
            onnx_size=onnx_size,
            source_file=spec.file,
            source_sha256=fetched_sha,
            source_origin=origin,
            converter_version=_converter_version(report),
            posekit_version=__version__,
            created=Sidecar.now(),
        )
    )
    seconds = time.perf_counter() - start
    progress.message(f"installed {spec.name} ({onnx_size / 1e6:.1f} MB, {seconds:.1f} s): {target}")
    return target


def install(
    names: str | Iterable[str] | None = None,
    *,
    source: SourceArg = None,
    force: bool = False,
    progress: bool | None = True,
    routes: Sequence[str] | None = None,
) -> list[InstallResult]:
    """Fetch, verify and convert models into the cache; returns one result per model.

    Args:
        names: model names or aliases, or ``"all"`` (``None`` means all).
        source: a folder (or a list of folders, or a downloaded ``mediapipe`` ``.whl`` /
            ``@mediapipe/pose`` ``.tgz``) holding the official ``.tflite`` files; tried before the
            network. ``$POSEKIT_MODEL_SOURCE`` adds more.
        force: convert again even if the model is installed (the verified source is reused).
        progress: print progress lines on stderr (``False``: only log records).
        routes: restrict the routes (subset of ``cache, local, url, pypi, npm``); default from
            ``$POSEKIT_MODEL_ROUTES`` / ``$POSEKIT_OFFLINE``.

    Raises:
        ModelSourceError: no source supplied a file with a pinned sha256 (the message lists each
            source tried and why, and how to supply the file); a :class:`ChecksumError` too
            when the files found were corrupt.
        ConversionError: the converter failed.
        ModelError: the cache folder is not writable (names the folder and ``POSEKIT_HOME``).

    Example:
        >>> from posekit.models import install
        >>> results = install(["detector", "full"], source="/path/to/tflite")  # doctest: +SKIP
        >>> [r.name for r in results]  # doctest: +SKIP
        ['pose_detection', 'pose_landmark_full']
    """
    # Imported here: the fetching machinery (urllib/ssl, tarfile, zipfile, subprocess) adds
    # ~10 MB of RSS to every process that only loads installed models.
    from posekit.models.sources import Fetcher, local_dirs_from, routes_from_env

    wanted = _expand(names)
    show = Progress(_progress_default(progress))
    enabled_routes = tuple(routes) if routes is not None else routes_from_env()
    if not installs_allowed():
        raise ModelError(
            f"not installing {', '.join(wanted)} here (inside Tracker.process, where nothing is "
            "installed); run `posekit models install` first"
        )
    ensure_dir(models_dir())
    ensure_dir(sources_dir())
    clean_all_stale_parts()
    manifest = load_manifest()
    results: list[InstallResult] = []
    failures: list[tuple[str, PosekitError]] = []
    with Fetcher(
        local_dirs=local_dirs_from(source), routes=enabled_routes, progress=show
    ) as fetcher:
        for name in wanted:
            spec = manifest.models[name]
            start = time.perf_counter()
            if not force and is_installed(name):
                side = read_sidecar(name)
                results.append(
                    InstallResult(
                        name,
                        onnx_path(name),
                        "present",
                        side.source_origin if side else "",
                        side.source_sha256 if side else "",
                        0.0,
                    )
                )
                show.message(f"{name} is already installed: {onnx_path(name)}")
                continue
            try:
                show.message(f"installing {name} ({spec.file})")
                fetched = fetcher.fetch(spec)
                show.message(f"using {fetched.origin} (sha256 {fetched.sha256[:12]}…, verified)")
                path = _convert(spec, fetched.path, fetched.sha256, fetched.origin, show)
            except PosekitError as exc:
                failures.append((name, exc))
                logger.debug("installing %s failed: %s", name, exc)
                continue
            results.append(
                InstallResult(
                    name,
                    path,
                    "installed",
                    fetched.origin,
                    fetched.sha256,
                    time.perf_counter() - start,
                )
            )
    if results:
        from posekit.models.runtime import prepare_tracker_variants

        for made in prepare_tracker_variants([r.name for r in results]):
            show.message(f"optimised runtime copy for this CPU: {made}")
    if len(failures) == 1 and not results:
        raise failures[0][1]
    if failures:
        done = ", ".join(r.name for r in results) or "none"
        detail = " | ".join(f"{n}: {e}" for n, e in failures)
        cls = (
            ModelSourceError
            if all(isinstance(e, ModelSourceError) for _, e in failures)
            else ModelError
        )
        raise cls(
            f"{len(failures)} of {len(wanted)} model(s) failed to install "
            f"(installed: {done}). {detail}"
        ) from failures[0][1]
    return results


_install = install


def model_path(
    name: str,
    *,
    install: bool = True,
    source: SourceArg = None,
    progress: bool | None = None,
) -> Path:
    """Path of the converted ``.onnx`` for ``name`` (an alias is fine).

    A model that is not installed yet is installed on first use (fetch + verify + convert, with
    progress on stderr unless ``progress=False`` or ``$POSEKIT_QUIET=1``). With
    ``install=False`` a missing model raises :class:`ModelError` naming the install command.

    Example:
        >>> from posekit.models import model_path
        >>> model_path("full")  # doctest: +SKIP
        PosixPath('/home/me/.cache/posekit/models/pose_landmark_full.onnx')
    """
    canonical = resolve_name(name)
    path = onnx_path(canonical)
    if is_installed(canonical):
        return path
    if not install or not installs_allowed():
        raise ModelError(
            f"model {canonical} is not installed (looked for {path}); install it with "
            f"`posekit models install {canonical}` or posekit.models.install([{canonical!r}])"
        )
    _install([canonical], source=source, progress=_progress_default(progress))
    return path


def installed_models() -> list[str]:
    """Names of models that count as installed (sidecar + ONNX of the recorded size)."""
    return [n for n in load_manifest().models if is_installed(n)]


def verify(names: str | Iterable[str] | None = None) -> list[VerifyResult]:
    """Check installed models: ONNX present, sha256 equal to the sidecar's, loads in
    onnxruntime, input/output names and shapes as in the manifest.

    ``names=None`` verifies every model that has anything in the cache. A named model that is not
    installed gives a failed result saying how to install it.

    Example:
        >>> from posekit.models import verify
        >>> all(r.ok for r in verify(["detector"]))  # doctest: +SKIP
        True
    """
    manifest = load_manifest()
    if names is None:
        wanted = [n for n in manifest.models if onnx_path(n).exists() or sidecar_path(n).exists()]
    else:
        wanted = _expand(names)
    results: list[VerifyResult] = []
    for name in wanted:
        spec = manifest.models[name]
        path = onnx_path(name)
        problems: list[str] = []
        side = read_sidecar(name)
        if not path.is_file():
            problems.append(f"{path} is missing; run `posekit models install {name}`")
        elif side is None:
            problems.append(
                f"{path} has no valid sidecar (interrupted install?); "
                f"run `posekit models install --force {name}`"
            )
        else:
            sha = file_sha256(path)
            if sha != side.onnx_sha256:
                problems.append(
                    f"sha256 of {path.name} is {sha[:12]}…, the sidecar recorded "
                    f"{side.onnx_sha256[:12]}… (file changed or corrupt); "
                    f"run `posekit models install --force {name}`"
                )
            else:
                problems.extend(check_onnx(path, spec))
            if side.source_sha256 not in spec.sha256:
                problems.append(
                    f"converted from a source with sha256 {side.source_sha256[:12]}… that the "
                    f"manifest no longer accepts; run `posekit models install --force {name}`"
                )
        results.append(
            VerifyResult(
                name=name,
                path=path,
                installed=side is not None and path.is_file(),
                ok=not problems,
                problems=tuple(problems),
            )
        )
    return results


def uninstall(names: str | Iterable[str]) -> list[str]:
    """Remove converted models (sources are kept); returns the names removed."""
    from posekit.models.runtime import clear_runtime_cache
    from posekit.models.store import remove_model

    removed: list[str] = []
    for name in _expand(names):
        clear_runtime_cache(name)
        if onnx_path(name).exists() or sidecar_path(name).exists():
            remove_model(name)
            removed.append(name)
    return removed


def cache_summary() -> str:
    """One line describing where the cache is (used by the CLI)."""
    root = cache_dir()
    with contextlib.suppress(OSError):
        if root.is_dir():
            return f"cache: {root}"
    return f"cache: {root} (not created yet)"


@dataclass(frozen=True)
class CacheUsage:
    """Bytes on disk per kind of file in the cache (see :func:`cache_usage`)."""

    sources: int
    """Verified official ``.tflite`` files (kept so ``--force`` needs no download)."""
    archives: int
    """Downloaded package archives (wheel, npm tarball) and their records."""
    models: int
    """Converted ``.onnx`` models and their sidecars."""
    runtime: int
    """Runtime copies for this onnxruntime version and CPU."""
    runtime_other: int
    """Runtime copies made for other onnxruntime versions or CPUs."""
    temporary: int
    """Temporary files of running or killed writers."""

    @property
    def total(self) -> int:
        """Everything together."""
        return (
            self.sources
            + self.archives
            + self.models
            + self.runtime
            + self.runtime_other
            + self.temporary
        )


def _files_in(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_file())
    except OSError:
        return []


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def cache_usage() -> CacheUsage:
    """How much disk the cache uses, by kind.

    Example:
        >>> u = cache_usage()  # doctest: +SKIP
        >>> f"{u.total / 1e6:.1f} MB, of which sources {u.sources / 1e6:.1f} MB"  # doctest: +SKIP
        '94.8 MB, of which sources 9.4 MB'
    """
    from posekit.models.runtime import runtime_dir

    here = runtime_dir()
    temporary = 0
    for folder in cache_folders():
        temporary += sum(_size(p) for p in _files_in(folder) if is_part_file(p))

    def kept(folder: Path) -> int:
        return sum(_size(p) for p in _files_in(folder) if not is_part_file(p))

    other = 0
    if runtime_root().is_dir():
        with contextlib.suppress(OSError):
            for sub in runtime_root().iterdir():
                if sub != here:
                    other += tree_size(sub) if sub.is_dir() else _size(sub)
    return CacheUsage(
        sources=kept(sources_dir()),
        archives=kept(packages_dir()),
        models=kept(models_dir()),
        runtime=kept(here),
        runtime_other=other,
        temporary=temporary,
    )


def _unneeded_runtime_copies(folder: Path) -> list[Path]:
    """Runtime files of models no longer installed, or without their counterpart."""
    from posekit.models.runtime import RuntimeMeta, _read_meta

    out: list[Path] = []
    installed = {n: read_sidecar(n) for n in installed_models()}
    for path in _files_in(folder):
        if is_part_file(path):
            continue
        stem = path.name.rsplit(".", 1)[0]
        name = stem.split(".", 1)[0]
        meta: RuntimeMeta | None = _read_meta(folder / f"{stem}.json")
        side = installed.get(name)
        if (
            side is None
            or meta is None
            or meta.source_sha256 != side.onnx_sha256
            or not (folder / f"{stem}.onnx").is_file()
        ):
            out.append(path)
    return out


def clean_cache(*, sources: bool = False, dry_run: bool = False) -> list[tuple[Path, int]]:
    """Free the disk the cache does not need; returns ``(path, bytes)`` of what was (or, with
    ``dry_run``, would be) removed. Installed models and their runtime copies stay.

    Removed: temporary files of killed writers (never those of a live one), runtime copies made
    for other onnxruntime versions or CPUs or for models no longer installed (or replaced since),
    converted files without a valid sidecar (interrupted installs) and downloaded package
    archives. The verified ``.tflite`` sources are kept (``--force`` reconverts from them without a
    download) unless ``sources=True``.

    Example:
        >>> freed = clean_cache(dry_run=True)  # doctest: +SKIP
        >>> sum(size for _, size in freed)  # doctest: +SKIP
        35012345
    """
    from posekit.models.runtime import runtime_dir

    doomed: list[Path] = []
    for folder in cache_folders():
        doomed.extend(stale_parts(folder))
    here = runtime_dir()
    trees: list[Path] = []
    if runtime_root().is_dir():
        with contextlib.suppress(OSError):
            for sub in sorted(runtime_root().iterdir()):
                if sub != here:
                    trees.append(sub)
    doomed.extend(_unneeded_runtime_copies(here))
    installed = set(installed_models())
    for path in _files_in(models_dir()):
        name = path.name.rsplit(".", 1)[0]
        if not is_part_file(path) and name not in installed:
            doomed.append(path)
    doomed.extend(p for p in _files_in(packages_dir()) if not is_part_file(p))
    if sources:
        doomed.extend(p for p in _files_in(sources_dir()) if not is_part_file(p))
    freed: list[tuple[Path, int]] = []
    for tree in trees:
        size = tree_size(tree) if tree.is_dir() else _size(tree)
        if not dry_run:
            try:
                if tree.is_dir() and not tree.is_symlink():
                    import shutil

                    shutil.rmtree(tree)
                else:
                    tree.unlink()
            except OSError as exc:
                raise storage_error(tree, exc) from exc
        freed.append((tree, size))
    for path in dict.fromkeys(doomed):
        size = _size(path)
        if not dry_run:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise storage_error(path.parent, exc) from exc
        freed.append((path, size))
    return freed
