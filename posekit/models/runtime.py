"""Runtime copies of installed models: only the needed outputs, pre-optimised for this CPU.

An installed model (``models/<name>.onnx``) is the faithful conversion of the official file:
every output, float16 weights. What a tracker loads is a *runtime variant* derived from it
(:func:`posekit.convert.derive_model`): only the outputs the caller reads (the landmark models'
segmentation decoder is 21-65 % of their run time) and float32 weights. On the CPU provider the
variant is also optimised once by onnxruntime (``ORT_ENABLE_ALL``, including its CPU-specific
NCHWc layout) and saved, so later loads skip graph optimisation: a session of
``pose_landmark_heavy`` then holds about half the memory it did (peak +87 MB against
+170 MB over the imports on the benchmark machine) and loads in 65 ms instead of 117 ms.

Safety: an optimised file only fits the onnxruntime version and CPU that made it, so it lives
under ``runtime/ort-<version>-<cpu>/`` in the cache, carries its own CRC-32 and a reference
output for a fixed input, and every load re-runs that input once and compares. A file that
does not match (damaged, copied from another machine) is rebuilt from the verified installed
model; a cache that cannot be written (read-only, full: whatever onnxruntime or the file system
reports) falls back to an in-memory variant with one warning per model and process. Temporary
files left in the runtime folder by a killed process are removed at the next load (only those
whose writer is gone, see :func:`posekit.models.store.clean_stale_parts`).

Inside :func:`posekit.models.manager.no_install` (the adaptive thread fallback, built in the middle
of ``Tracker.process``) nothing is installed or written: a session comes from the verified runtime
copy on disk, else from the installed model in memory, else :class:`~posekit.errors.ModelError`.

``$POSEKIT_RUNTIME_CACHE=0`` turns the on-disk copies off (variants are then derived
in memory at every load), and other providers (CUDA, CoreML...) always get the portable
in-memory variant.

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
import platform
import shutil
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from posekit.errors import InputError, ModelError
from posekit.inference import InferenceSession, cpu_only
from posekit.models.manager import installs_allowed, model_path, resolve_name
from posekit.models.manifest import load_manifest
from posekit.models.store import (
    STORAGE_ERRNOS,
    atomic_writer,
    cache_dir,
    clean_stale_parts,
    is_installed,
    onnx_path,
    read_json_record,
    read_sidecar,
    storage_error,
)

__all__ = [
    "RUNTIME_CACHE_ENV",
    "TRACKER_VARIANTS",
    "RuntimeMeta",
    "clear_runtime_cache",
    "load_runtime_session",
    "prepare_runtime_model",
    "prepare_tracker_variants",
    "runtime_dir",
    "variant_tag",
]

logger = logging.getLogger(__name__)

RUNTIME_CACHE_ENV = "POSEKIT_RUNTIME_CACHE"
"""Set to ``0`` to keep no optimised copies on disk (variants are derived in memory)."""

_DERIVE_VERSION = 2  # 2: reference input built in float32
_META_FORMAT = 1
_REF_HEAD = 64
_CPU = "CPUExecutionProvider"
_warned: set[tuple[str, str]] = set()
_cleaned: set[Path] = set()


@dataclass(frozen=True)
class RuntimeMeta:
    """The JSON written next to a runtime variant."""

    name: str
    outputs: list[str]
    source_sha256: str
    crc32: str
    size: int
    onnxruntime: str
    cpu: str
    derive_version: int
    reference: dict[str, list[float]]
    format: int = _META_FORMAT


@lru_cache(maxsize=1)
def _cpu_tag() -> str:
    """Short, stable fingerprint of this CPU (model and instruction-set flags)."""
    parts = [platform.system(), platform.machine(), platform.processor()]
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for key in ("model name", "flags", "Features", "CPU part"):
            line = next((ln for ln in text.splitlines() if ln.startswith(key)), "")
            parts.append(line.split(":", 1)[-1].strip())
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"


def runtime_dir() -> Path:
    """Folder of the optimised variants for this onnxruntime version and CPU."""
    import onnxruntime as ort

    return cache_dir() / "runtime" / f"ort-{ort.__version__}-{_cpu_tag()}"


def _all_outputs(name: str) -> list[str]:
    return [t.name for t in load_manifest().models[name].outputs]


def _check_outputs(name: str, outputs: Sequence[str] | None) -> list[str]:
    names = _all_outputs(name)
    if outputs is None:
        return names
    if isinstance(outputs, str):
        outputs = [outputs]
    chosen = list(dict.fromkeys(outputs))
    unknown = [o for o in chosen if o not in names]
    if unknown or not chosen:
        raise InputError(
            f"outputs={list(outputs)!r} does not fit {name}: choose a non-empty subset of {names}"
        )
    return [o for o in names if o in chosen]  # the model's own order


def variant_tag(name: str, outputs: Sequence[str] | None) -> str:
    """File-name tag of a variant: ``all`` or the kept output indices (``o0-1-3-4``).

    Example:
        >>> variant_tag("pose_detection", None)
        'all'
        >>> variant_tag("pose_landmark_full", ["Identity", "Identity_1", "Identity_4"])
        'o0-1-4'
    """
    canonical = resolve_name(name)
    kept = _check_outputs(canonical, outputs)
    names = _all_outputs(canonical)
    if kept == names:
        return "all"
    return "o" + "-".join(str(names.index(o)) for o in kept)


TRACKER_VARIANTS: Mapping[str, tuple[str, ...] | None] = {
    "pose_detection": None,
    "pose_landmark_lite": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
    "pose_landmark_full": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
    "pose_landmark_heavy": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
}
"""The variants a default :class:`~posekit.Tracker` loads (landmarks without the mask);
``posekit models install`` prepares them so the first run after install starts fast."""


def prepare_tracker_variants(names: Sequence[str]) -> list[Path]:
    """Prepare :data:`TRACKER_VARIANTS` for those of ``names`` that have one (CPU, cache on).

    A failure is logged, not raised: the variant is then built at first use instead.
    """
    made: list[Path] = []
    if not _cache_enabled():
        return made
    for name in names:
        if name not in TRACKER_VARIANTS:
            continue
        outputs = TRACKER_VARIANTS[name]
        try:
            kept = _check_outputs(name, outputs)
            target, meta_path = _paths(name, variant_tag(name, kept))
            if _read_meta(meta_path) is None or not target.is_file():
                made.append(prepare_runtime_model(name, kept))
        except ModelError as exc:
            logger.warning("could not prepare the runtime copy of %s now (%s)", name, exc)
    return made


def _paths(name: str, tag: str) -> tuple[Path, Path]:
    folder = runtime_dir()
    return folder / f"{name}.{tag}.onnx", folder / f"{name}.{tag}.json"


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


def _read_meta(path: Path) -> RuntimeMeta | None:
    return read_json_record(path, _META_FORMAT, RuntimeMeta)


def _cache_enabled() -> bool:
    return os.environ.get(RUNTIME_CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


class _DamagedModelError(ModelError):
    """The installed model does not match its sidecar: no copy can be derived from it."""


def _source_bytes(name: str) -> tuple[bytes, str]:
    """The installed model's bytes, checked against its sidecar."""
    path = model_path(name)
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
    kept = _check_outputs(canonical, outputs)
    tag = variant_tag(canonical, kept)
    target, meta_path = _paths(canonical, tag)
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
        cpu=_cpu_tag(),
        derive_version=_DERIVE_VERSION,
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
    target, meta_path = _paths(name, tag)
    meta = _read_meta(meta_path)
    side = read_sidecar(name)
    if (
        meta is None
        or not target.is_file()
        or meta.outputs != kept
        or meta.derive_version != _DERIVE_VERSION
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

    Raises:
        InputError: an output name the model does not have.
        ModelError: the installed model is damaged (the message names the reinstall command).
    """
    canonical = resolve_name(name)
    kept = _check_outputs(canonical, outputs)
    session_options.pop("expected_sha256", None)
    cached = cpu_only(session_options.get("providers")) and _cache_enabled()
    if not installs_allowed():
        return _load_without_writing(canonical, kept, cached, session_options)
    model_path(canonical)  # installs (or reinstalls a damaged-size file) first
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


def clear_runtime_cache(name: str | None = None) -> int:
    """Delete optimised copies (of ``name`` only, or all of them, for every onnxruntime/CPU);
    returns the number of files removed. They are rebuilt on the next load."""
    root = cache_dir() / "runtime"
    if not root.is_dir():
        return 0
    if name is None:
        count = sum(1 for p in root.rglob("*") if p.is_file())
        shutil.rmtree(root, ignore_errors=True)
        return count
    canonical = resolve_name(name)
    count = 0
    for path in root.glob(f"*/{canonical}.*"):
        with contextlib.suppress(OSError):
            path.unlink()
            count += 1
    return count
