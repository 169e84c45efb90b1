"""Runtime copies of installed models: which ones exist, where they live, what records them.

A *runtime variant* of an installed model keeps only some outputs and, on the CPU provider, is
pre-optimised for one onnxruntime version and CPU (:mod:`posekit.models.runtime` builds and loads
them). This module only names them: the folder ``runtime/ort-<version>-<cpu>/`` of the cache,
the file tag of an output subset (:func:`variant_tag`), the JSON record beside each copy
(:class:`RuntimeMeta`) and the variants a default tracker loads (:data:`TRACKER_VARIANTS`).
Why apart: the cache cleaner and ``models list`` need these names without the loading machinery.

Example:
    >>> from posekit.models.variants import variant_tag
    >>> variant_tag("full", ["Identity", "Identity_1", "Identity_3", "Identity_4"])
    'o0-1-3-4'
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from posekit.errors import InputError
from posekit.models.manifest import load_manifest, resolve_name
from posekit.models.store import cache_dir, read_json_record, runtime_root

__all__ = [
    "DERIVE_VERSION",
    "META_FORMAT",
    "RUNTIME_CACHE_ENV",
    "TRACKER_VARIANTS",
    "RuntimeMeta",
    "cache_enabled",
    "check_outputs",
    "clear_runtime_cache",
    "cpu_tag",
    "read_meta",
    "runtime_dir",
    "variant_paths",
    "variant_tag",
]

RUNTIME_CACHE_ENV = "POSEKIT_RUNTIME_CACHE"
"""Set to ``0`` to keep no optimised copies on disk (variants are derived in memory)."""

DERIVE_VERSION = 2
"""Version of the derivation rules recorded in every copy (2: reference input in float32)."""
META_FORMAT = 1

TRACKER_VARIANTS: Mapping[str, tuple[str, ...] | None] = {
    "pose_detection": None,
    "pose_landmark_lite": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
    "pose_landmark_full": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
    "pose_landmark_heavy": ("Identity", "Identity_1", "Identity_3", "Identity_4"),
}
"""The variants a default :class:`~posekit.Tracker` loads (landmarks without the mask);
``posekit models install`` prepares them so the first run after install starts fast."""


@dataclass(frozen=True)
class RuntimeMeta:
    """The JSON written next to a runtime variant: what it was made from, by which onnxruntime
    on which CPU, its CRC-32 and a reference output for a fixed input."""

    name: str
    outputs: list[str]
    source_sha256: str
    crc32: str
    size: int
    onnxruntime: str
    cpu: str
    derive_version: int
    reference: dict[str, list[float]]
    format: int = META_FORMAT


@lru_cache(maxsize=1)
def cpu_tag() -> str:
    """Short, stable fingerprint of this CPU (model and instruction-set flags)."""
    parts = [platform.system(), platform.machine(), platform.processor()]
    with contextlib.suppress(OSError):
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for key in ("model name", "flags", "Features", "CPU part"):
            line = next((ln for ln in text.splitlines() if ln.startswith(key)), "")
            parts.append(line.split(":", 1)[-1].strip())
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"


def runtime_dir() -> Path:
    """Folder of the optimised variants for this onnxruntime version and CPU.

    Example:
        >>> runtime_dir().parent == cache_dir() / "runtime"
        True
    """
    import onnxruntime as ort

    return runtime_root() / f"ort-{ort.__version__}-{cpu_tag()}"


def cache_enabled() -> bool:
    """Whether optimised copies are kept on disk (``$POSEKIT_RUNTIME_CACHE`` is not ``0``)."""
    value = os.environ.get(RUNTIME_CACHE_ENV, "1").strip().lower()
    return value not in ("0", "false", "no", "off")


def _all_outputs(name: str) -> list[str]:
    return [t.name for t in load_manifest().models[name].outputs]


def check_outputs(name: str, outputs: Sequence[str] | None) -> list[str]:
    """``outputs`` of canonical model ``name`` in the model's own order (``None``: all).

    Raises:
        InputError: an empty list or a name the model does not have.

    Example:
        >>> check_outputs("pose_landmark_full", ["Identity_1", "Identity"])
        ['Identity', 'Identity_1']
    """
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
    return [o for o in names if o in chosen]


def variant_tag(name: str, outputs: Sequence[str] | None) -> str:
    """File-name tag of a variant: ``all`` or the kept output indices (``o0-1-3-4``).

    Example:
        >>> variant_tag("pose_detection", None)
        'all'
        >>> variant_tag("pose_landmark_full", ["Identity", "Identity_1", "Identity_4"])
        'o0-1-4'
    """
    canonical = resolve_name(name)
    kept = check_outputs(canonical, outputs)
    names = _all_outputs(canonical)
    if kept == names:
        return "all"
    return "o" + "-".join(str(names.index(o)) for o in kept)


def variant_paths(name: str, tag: str) -> tuple[Path, Path]:
    """The ONNX file and the JSON record of variant ``tag`` of canonical model ``name``."""
    folder = runtime_dir()
    return folder / f"{name}.{tag}.onnx", folder / f"{name}.{tag}.json"


def read_meta(path: Path) -> RuntimeMeta | None:
    """The record at ``path``, or ``None`` when missing, unreadable or of another format."""
    return read_json_record(path, META_FORMAT, RuntimeMeta)


def clear_runtime_cache(name: str | None = None) -> int:
    """Delete optimised copies (of ``name`` only, or all of them, for every onnxruntime/CPU);
    returns the number of files removed. They are rebuilt on the next load.

    Example:
        >>> clear_runtime_cache("pose_detection")  # doctest: +SKIP
        2
    """
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
