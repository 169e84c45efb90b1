"""Install, verify and locate posekit's converted models (the logic behind ``posekit.models``)."""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posekit._version import __version__
from posekit.errors import ConversionError, ModelError, ModelSourceError, PosekitError
from posekit.models.manifest import ModelSpec, load_manifest, resolve_name
from posekit.models.progress import Progress
from posekit.models.store import (
    STORAGE_ERRNOS,
    Sidecar,
    atomic_writer,
    clean_all_stale_parts,
    ensure_dir,
    file_sha256,
    installs_allowed,
    is_installed,
    models_dir,
    onnx_path,
    read_sidecar,
    sidecar_path,
    sources_dir,
    storage_error,
    write_sidecar,
)

if TYPE_CHECKING:
    from posekit.inference import InferenceSession

__all__ = [
    "QUIET_ENV",
    "InstallResult",
    "VerifyResult",
    "check_onnx",
    "install",
    "load_session",
    "model_path",
    "uninstall",
    "verify",
]

logger = logging.getLogger("posekit.models")

QUIET_ENV = "POSEKIT_QUIET"

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
    from posekit.models.store import remove_model
    from posekit.models.variants import clear_runtime_cache

    removed: list[str] = []
    for name in _expand(names):
        clear_runtime_cache(name)
        if onnx_path(name).exists() or sidecar_path(name).exists():
            remove_model(name)
            removed.append(name)
    return removed


def load_session(
    name: str, outputs: Sequence[str] | None = None, **session_options: Any
) -> InferenceSession:
    """An :class:`posekit.inference.InferenceSession` for model ``name``, installing it if needed.

    ``outputs``: the model outputs the caller will read (``None``: all of them). Nodes that feed
    none of them are not computed (the landmark models without their segmentation output run
    1.3-3x faster). ``session_options`` go to :class:`~posekit.inference.InferenceSession`
    (``num_threads``, ``providers``, ``allow_cpu_fallback``, ``spin``).

    A missing model is installed first (:func:`model_path`; not inside
    :func:`~posekit.models.store.no_install`), then
    :func:`posekit.models.runtime.load_runtime_session` loads its runtime copy: outputs pruned,
    float32 weights, on the CPU optimised once and cached for this onnxruntime version and CPU,
    every copy checked against its sha256 / CRC-32 and a reference output. A model damaged in
    the cache raises :class:`~posekit.errors.ModelError` naming the reinstall command.

    Example:
        >>> sess = load_session("detector", num_threads=1)  # doctest: +SKIP
        >>> sess.input_shapes["input_1"]  # doctest: +SKIP
        (1, 224, 224, 3)
        >>> lm = load_session("full", ["Identity", "Identity_1"])  # doctest: +SKIP
    """
    from posekit.models.runtime import load_runtime_session

    if installs_allowed():
        model_path(name)  # installs (or reinstalls a file of the wrong size) first
    return load_runtime_session(name, outputs, **session_options)
