"""What the model cache holds on disk, and freeing what it does not need.

Contract: :func:`cache_usage` measures the cache by kind of file; :func:`clean_cache` removes
only what no installed model needs (temporary files of dead writers, runtime copies of other
onnxruntime versions / CPUs or of models no longer installed, interrupted installs, downloaded
package archives; the verified sources only on request). Installed models are never touched.
Why apart from the manager: reading the cache needs none of the install machinery.

Example:
    >>> from posekit.models.cleanup import clean_cache
    >>> freed = clean_cache(dry_run=True)  # nothing is removed with dry_run
    >>> all(size >= 0 for _, size in freed)
    True
"""

from __future__ import annotations

import contextlib
import shutil
from dataclasses import dataclass
from pathlib import Path

from posekit.models.store import (
    cache_dir,
    cache_folders,
    installed_models,
    is_part_file,
    models_dir,
    packages_dir,
    read_sidecar,
    runtime_root,
    sources_dir,
    stale_parts,
    storage_error,
    tree_size,
)
from posekit.models.variants import RuntimeMeta, read_meta, runtime_dir

__all__ = ["CacheUsage", "cache_summary", "cache_usage", "clean_cache"]


def cache_summary() -> str:
    """One line describing where the cache is (used by the CLI).

    Example:
        >>> cache_summary().startswith("cache: ")
        True
    """
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
    out: list[Path] = []
    installed = {n: read_sidecar(n) for n in installed_models()}
    for path in _files_in(folder):
        if is_part_file(path):
            continue
        stem = path.name.rsplit(".", 1)[0]
        name = stem.split(".", 1)[0]
        meta: RuntimeMeta | None = read_meta(folder / f"{stem}.json")
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
