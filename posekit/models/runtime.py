"""Sessions of installed models, from their runtime copies: only the needed outputs, pre-optimised.

Contract: this module loads what is installed and never installs (the manager does:
:func:`posekit.models.load_session` installs a missing model, then calls
:func:`load_runtime_session`). A tracker loads a *runtime variant* of an installed model
(:func:`posekit.convert.derive_model`: only the outputs it reads, float32 weights); on the CPU
provider the variant is also optimised once by onnxruntime and saved under
:func:`~posekit.models.variants.runtime_dir`, so later loads skip graph optimisation. Every load of
a saved copy checks its CRC-32 and re-runs a fixed input against its recorded reference output; a
copy that does not match is rebuilt from the verified installed model, and a cache that cannot be
written falls back to an in-memory variant (one warning per model and process). Inside
:func:`~posekit.models.store.no_install` nothing is written. Why: loads in half the time and
memory (figures in ``docs/design/models.md``).

Example:
    >>> from posekit.models.runtime import load_runtime_session
    >>> sess = load_runtime_session("full", ["Identity", "Identity_1"])  # doctest: +SKIP
    >>> sess.output_names  # doctest: +SKIP
    ['Identity', 'Identity_1']
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import shutil
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import ModelError
from posekit.inference import InferenceSession, cpu_only
from posekit.models.manifest import resolve_name
from posekit.models.store import (
    STORAGE_ERRNOS,
    atomic_writer,
    clean_stale_parts,
    installs_allowed,
    is_installed,
    onnx_path,
    read_sidecar,
    storage_error,
)
from posekit.models.variants import (
    DERIVE_VERSION,
    RUNTIME_CACHE_ENV,
    TRACKER_VARIANTS,
    RuntimeMeta,
    cache_enabled,
    check_outputs,
    cpu_tag,
    read_meta,
    runtime_dir,
    variant_paths,
    variant_tag,
)

__all__ = [
    "load_runtime_session",
    "prepare_runtime_model",
    "prepare_tracker_variants",
]

logger = logging.getLogger(__name__)

_REF_HEAD = 64
_CPU = "CPUExecutionProvider"
_warned: set[tuple[str, str]] = set()
_cleaned: set[Path] = set()


def prepare_tracker_variants(names: Sequence[str]) -> list[Path]:
    """Prepare :data:`TRACKER_VARIANTS` for those of ``names`` that have one (CPU, cache on).

    A failure is logged, not raised: the variant is then built at first use instead.
    """
    made: list[Path] = []
    if not cache_enabled():
        return made
    for name in names:
        if name not in TRACKER_VARIANTS:
            continue
        outputs = TRACKER_VARIANTS[name]
        try:
            kept = check_outputs(name, outputs)
            target, meta_path = variant_paths(name, variant_tag(name, kept))
            if read_meta(meta_path) is None or not target.is_file():
                made.append(prepare_runtime_model(name, kept))
        except ModelError as exc:
            logger.warning("could not prepare the runtime copy of %s now (%s)", name, exc)
    return made


def _reference_feeds(session: InferenceSession) -> dict[str, np.ndarray]:
    # A fixed low-discrepancy pattern in [0, 1), built in place in the input's own dtype: the
    # feed is the only buffer (float64 temporaries raised the process's peak RSS by ~4 MB, and
    # numpy.random costs ~6 MB to import).
    feeds: dict[str, np.ndarray] = {}
    for name in session.input_names:
        shape = tuple(1 if d is None else d for d in session.input_shapes[name])
        # float32 holds every index exactly (< 2**24); cast (no copy for float32 inputs) so
        # that an integer or float16 input gets the same pattern, not a casting error or inf.
        values = np.arange(int(np.prod(shape)), dtype=np.float32)
        values *= np.float32(0.6180339887498949)
        np.mod(values, np.float32(1.0), out=values)
        feeds[name] = values.reshape(shape).astype(session.input_dtypes[name], copy=False)
    return feeds


def _reference(session: InferenceSession) -> dict[str, list[float]]:
    outs = session.run(_reference_feeds(session))
    ref: dict[str, list[float]] = {}
    for key, value in outs.items():
        flat = np.asarray(value, np.float64).reshape(-1)
        ref[key] = [float(v) for v in flat[:_REF_HEAD]] + [float(np.abs(flat).sum())]
    return ref


def _matches(got: Mapping[str, list[float]], want: Mapping[str, list[float]]) -> bool:
    if set(got) != set(want):
        return False
    for key, ref in want.items():
        a, b = np.asarray(got[key]), np.asarray(ref)
        if a.shape != b.shape or not np.all(np.isfinite(a)):
            return False
        if not np.allclose(a, b, rtol=1e-3, atol=1e-4):
            return False
    return True


def _file_crc32(path: Path) -> str:
    """CRC-32 of a file, read in chunks (zlib: no OpenSSL import on the load path). The copy is
    also checked by its reference output, so this only has to catch accidental damage."""
    crc = 0
    buf = bytearray(1 << 18)  # one reused buffer: no new chunk per read (peak RSS)
    view = memoryview(buf)
    try:
        with path.open("rb", buffering=0) as fh:
            while n := fh.readinto(buf):
                crc = zlib.crc32(view[:n], crc)
    except OSError as exc:
        raise ModelError(f"cannot read {path} ({exc.strerror or exc})") from exc
    return f"{crc:08x}"


class _DamagedModelError(ModelError):
    """The installed model does not match its sidecar: no copy can be derived from it."""


def _installed_path(name: str) -> Path:
    """The installed ONNX of ``name``; a model that is not installed is an error, not an install."""
    path = onnx_path(name)
    if not is_installed(name):
        raise ModelError(
            f"model {name} is not installed (looked for {path}); install it with "
            f"`posekit models install {name}` or posekit.models.install([{name!r}])"
        )
    return path


def _source_bytes(name: str) -> tuple[bytes, str]:
    """The installed model's bytes, checked against its sidecar."""
    path = _installed_path(name)
    side = read_sidecar(name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(
            f"cannot read {path} ({exc.strerror or exc}); reinstall it with "
            f"`posekit models install --force {name}`"
        ) from exc
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    if side is not None and digest != side.onnx_sha256:
        raise _DamagedModelError(
            f"{path} is damaged or was changed after install (sha256 {digest[:12]}…, expected "
            f"{side.onnx_sha256[:12]}…); reinstall it with `posekit models install --force {name}`"
        )
    return data, digest


def prepare_runtime_model(name: str, outputs: Sequence[str] | None = None) -> Path:
    """Build (or rebuild) the optimised variant of ``name`` for ``outputs``; returns its path.

    Called by :func:`load_runtime_session` when the variant is missing or stale and by
    ``posekit models install`` for the variants the tracker loads, so a first run after
    install starts fast.

    Raises:
        ModelError: the installed model is damaged, or the cache cannot be written.
    """
    import onnxruntime as ort

    from posekit.convert import derive_model

    canonical = resolve_name(name)
    kept = check_outputs(canonical, outputs)
    tag = variant_tag(canonical, kept)
    target, meta_path = variant_paths(canonical, tag)
    data, source_sha = _source_bytes(canonical)
    with atomic_writer(target) as tmp:
        clean_stale_parts(target.parent)
        tmp.touch(exist_ok=False)  # a read-only cache fails here, before the work of deriving
        derived = derive_model(data, kept)
        del data
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.optimized_model_filepath = str(tmp)
        opts.log_severity_level = 3
        opts.intra_op_num_threads = 1
        try:
            ort.InferenceSession(derived, sess_options=opts, providers=[_CPU])
        except Exception as exc:
            raise _save_error(tmp, exc, len(derived)) from exc
        if tmp.stat().st_size == 0:
            raise ModelError(f"onnxruntime wrote nothing to {tmp} (disk full?)")
        portable = InferenceSession(
            target, model_bytes=derived, num_threads=1, optimize=True, name=canonical
        )
        reference = _reference(portable)
        del portable
        saved = InferenceSession(tmp, num_threads=1, optimize=False, name=canonical)
        if not _matches(_reference(saved), reference):
            raise ModelError(
                f"onnxruntime {ort.__version__} produced an optimised {canonical} whose outputs "
                f"differ from the unoptimised model; set {RUNTIME_CACHE_ENV}=0 to load models "
                "without the optimised cache, and please report this"
            )
        del saved
    meta = RuntimeMeta(
        name=canonical,
        outputs=kept,
        source_sha256=source_sha,
        crc32=_file_crc32(target),
        size=target.stat().st_size,
        onnxruntime=ort.__version__,
        cpu=cpu_tag(),
        derive_version=DERIVE_VERSION,
        reference=reference,
    )
    try:
        with atomic_writer(meta_path) as tmp:
            tmp.write_text(json.dumps(asdict(meta)) + "\n", encoding="utf-8")
    except BaseException:
        target.unlink(missing_ok=True)  # a copy without its record would only be rebuilt
        raise
    logger.info("optimised runtime copy of %s (%s) written to %s", canonical, tag, target)
    return target


def _save_error(tmp: Path, exc: Exception, size: int) -> ModelError:
    """A :class:`ModelError` for onnxruntime failing to save the optimised copy to ``tmp``.

    onnxruntime reports a failed write as ``RuntimeError: SystemError : <errno>`` (or, when the
    disk filled up half way, as an unloadable file); an errno posekit knows becomes the usual
    cache message (read-only, full, permission) naming ``POSEKIT_HOME``.
    """
    text = str(exc).strip()
    code = next((e for e in STORAGE_ERRNOS if text.endswith(f"SystemError : {e}")), None)
    if code is None:
        with contextlib.suppress(OSError):
            if shutil.disk_usage(tmp.parent).free < size:
                code = errno.ENOSPC  # "Protobuf serialization failed": the file did not fit
    if code is not None:
        return storage_error(tmp.parent, OSError(code, os.strerror(code)))
    return ModelError(f"onnxruntime could not save an optimised copy to {tmp.parent} ({text})")


def _warn_once(name: str, tag: str, message: str, *args: Any) -> None:
    level = logging.DEBUG if (name, tag) in _warned else logging.WARNING
    _warned.add((name, tag))
    logger.log(level, message, *args)


def _clean_once(folder: Path) -> None:
    """Remove stale temporary files of killed writers from ``folder`` (once per process)."""
    if folder in _cleaned:
        return
    _cleaned.add(folder)
    with contextlib.suppress(OSError):
        clean_stale_parts(folder)


def _load_cached(name: str, kept: list[str], options: dict[str, Any]) -> InferenceSession | None:
    """The cached variant if it is present, current and gives its reference output."""
    tag = variant_tag(name, kept)
    target, meta_path = variant_paths(name, tag)
    meta = read_meta(meta_path)
    side = read_sidecar(name)
    if (
        meta is None
        or not target.is_file()
        or meta.outputs != kept
        or meta.derive_version != DERIVE_VERSION
        or (side is not None and meta.source_sha256 != side.onnx_sha256)
    ):
        return None
    try:
        crc = _file_crc32(target)
        if crc != meta.crc32:
            raise ModelError(f"{target} is damaged (crc32 {crc}, expected {meta.crc32})")
        session = InferenceSession(target, optimize=False, name=name, **options)
    except ModelError as exc:
        logger.warning("runtime copy of %s is unusable (%s); rebuilding it", name, exc)
        return None
    if not _matches(_reference(session), meta.reference):
        logger.warning(
            "runtime copy of %s at %s does not reproduce its reference output (made on another "
            "CPU or onnxruntime build?); rebuilding it",
            name,
            target,
        )
        return None
    return session


def load_runtime_session(
    name: str, outputs: Sequence[str] | None = None, **session_options: Any
) -> InferenceSession:
    """A session of ``name`` computing only ``outputs`` (``None``: all), as fast as it loads.

    ``session_options`` go to :class:`~posekit.inference.InferenceSession` (``num_threads``,
    ``spin``, ``providers``, ``allow_cpu_fallback``). See the module documentation for the cache.
    The model must be installed: :func:`posekit.models.load_session` installs it first.

    Raises:
        InputError: an output name the model does not have.
        ModelError: the model is not installed, or is damaged (the message names the command).

    Example:
        >>> sess = load_runtime_session("detector", num_threads=1)  # doctest: +SKIP
    """
    canonical = resolve_name(name)
    kept = check_outputs(canonical, outputs)
    session_options.pop("expected_sha256", None)
    cached = cpu_only(session_options.get("providers")) and cache_enabled()
    if not installs_allowed():
        return _load_without_writing(canonical, kept, cached, session_options)
    _installed_path(canonical)
    if cached:
        _clean_once(runtime_dir())
        session = _load_cached(canonical, kept, session_options)
        if session is not None:
            return session
        tag = variant_tag(canonical, kept)
        try:
            prepare_runtime_model(canonical, kept)
        except ModelError as exc:
            if isinstance(exc, _DamagedModelError):
                raise
            _warn_once(
                canonical,
                tag,
                "cannot keep an optimised copy of %s (%s); loading it from memory",
                canonical,
                exc,
            )
        else:
            session = _load_cached(canonical, kept, session_options)
            if session is not None:
                return session
    return _in_memory(canonical, kept, session_options)


def _in_memory(canonical: str, kept: list[str], options: dict[str, Any]) -> InferenceSession:
    from posekit.convert import derive_model

    data, _ = _source_bytes(canonical)
    return InferenceSession(
        onnx_path(canonical),
        model_bytes=derive_model(data, kept),
        name=canonical,
        **options,
    )


def _load_without_writing(
    canonical: str, kept: list[str], cached: bool, options: dict[str, Any]
) -> InferenceSession:
    """What is already there: the verified runtime copy, else the installed model in memory."""
    if cached:
        session = _load_cached(canonical, kept, options)
        if session is not None:
            return session
    if not is_installed(canonical):
        raise ModelError(
            f"model {canonical} is not installed (looked for {onnx_path(canonical)}) and "
            "nothing is installed here (inside Tracker.process); install it with "
            f"`posekit models install {canonical}`"
        )
    return _in_memory(canonical, kept, options)
