"""Model names and the manifest: which official files posekit converts, their checksums, sources.

The bottom of :mod:`posekit.models` (it imports nothing else from it). Two things live here:

* :data:`MODEL_TABLE`, the one model-name table: every model's canonical name, its short alias
  (``detector``, ``lite``, ``full``, ``heavy``), its role in the pipeline and what it is for, and
  :func:`model_entry`, the one resolver every caller (SDK, CLI, apps) uses for a user's spelling;
* the manifest (``models/manifest.json`` in a checkout, ``posekit/models/manifest.json`` in the
  wheel; :func:`load_manifest` finds either): files, sha256, tensor specs and sources.

Why one table: the aliases used to be spelled in four places that could drift apart.

Example:
    >>> from posekit.models.manifest import load_manifest, model_entry
    >>> model_entry("full").name, model_entry(2, role="pose_landmarks").alias
    ('pose_landmark_full', 'heavy')
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

from posekit.errors import InputError, ModelError

__all__ = [
    "ALIASES",
    "DEFAULT_LANDMARK_MODEL",
    "DEFAULT_MODELS",
    "LANDMARK_MODELS",
    "MODEL_NAMES",
    "MODEL_TABLE",
    "Manifest",
    "ModelName",
    "ModelSpec",
    "Role",
    "SourceSpec",
    "TensorSpec",
    "UnknownModelError",
    "load_manifest",
    "manifest_path",
    "model_entry",
    "resolve_name",
]

SourceKind = Literal["url", "pypi", "npm"]

Role = Literal[
    "pose_detector",
    "pose_landmarks",
    "hand_landmarks",
    "palm_detector",
    "face_landmarks",
    "face_detector",
]
"""What a model does in the pipeline (:attr:`ModelName.role`)."""

_ROLE_WORDS: Mapping[str, str] = {
    "pose_detector": "pose detector",
    "pose_landmarks": "pose landmark model",
    "hand_landmarks": "hand landmark model",
    "palm_detector": "palm detector",
    "face_landmarks": "face landmark model",
    "face_detector": "face detector",
}


@dataclass(frozen=True)
class ModelName:
    """One row of :data:`MODEL_TABLE`: how a model is named and what it is for."""

    name: str
    """Canonical name, the manifest's key and the cache's file stem (``pose_landmark_full``)."""
    role: Role
    purpose: str
    """One line: what the model is for (``posekit models list`` and error messages)."""
    alias: str = ""
    """Short name accepted everywhere (``full``); empty when the model has none."""
    complexity: int | None = None
    """MediaPipe's ``model_complexity`` (0, 1, 2) of a pose landmark model, also accepted."""
    default: bool = False
    """Loaded by a default :class:`~posekit.Tracker` (``posekit models install`` with no name)."""


MODEL_TABLE: tuple[ModelName, ...] = (
    ModelName("pose_detection", "pose_detector", "finds the person (every frame until tracked)",
              alias="detector", default=True),
    ModelName("pose_landmark_lite", "pose_landmarks", "33 body landmarks: fastest, least accurate",
              alias="lite", complexity=0),
    ModelName("pose_landmark_full", "pose_landmarks", "33 body landmarks: the default balance",
              alias="full", complexity=1, default=True),
    ModelName("pose_landmark_heavy", "pose_landmarks", "33 body landmarks: most accurate, slowest",
              alias="heavy", complexity=2),
    ModelName("hand_landmark_full", "hand_landmarks", "21 landmarks per hand (holistic stage)"),
    ModelName("palm_detection_full", "palm_detector", "finds palms (hand stage without a pose)"),
    ModelName("face_landmark", "face_landmarks", "468-point face mesh (holistic stage)"),
    ModelName("face_detection_short_range", "face_detector", "finds the face inside its ROI"),
)  # fmt: skip
"""The one model-name table, in manifest order (:func:`load_manifest` checks they agree)."""

MODEL_NAMES: tuple[str, ...] = tuple(m.name for m in MODEL_TABLE)
"""Canonical model names, in manifest order."""

ALIASES: Mapping[str, str] = {m.alias: m.name for m in MODEL_TABLE if m.alias}
"""Short names: ``detector``, ``lite``, ``full``, ``heavy`` -> canonical names."""

LANDMARK_MODELS: tuple[str, ...] = tuple(
    m.alias
    for m in sorted(MODEL_TABLE, key=lambda m: m.complexity or 0)
    if m.complexity is not None
)
"""The pose landmark choices (CLI ``--model``, ``Tracker(model=...)``): lite, full, heavy."""

DEFAULT_LANDMARK_MODEL: str = next(
    m.alias for m in MODEL_TABLE if m.role == "pose_landmarks" and m.default
)
"""The landmark model a default :class:`~posekit.Tracker` loads (``full``)."""

DEFAULT_MODELS: tuple[str, ...] = tuple(m.name for m in MODEL_TABLE if m.default)
"""What a default :class:`~posekit.Tracker` loads: ``posekit models install`` with no name."""

_BY_SPELLING: Mapping[str, ModelName] = {
    **{m.name: m for m in MODEL_TABLE},
    **{m.alias: m for m in MODEL_TABLE if m.alias},
    **{str(m.complexity): m for m in MODEL_TABLE if m.complexity is not None},
}


class UnknownModelError(ModelError, InputError):
    """A model name no table row matches, or a model of another role than the caller needs.

    Both a :class:`~posekit.errors.ModelError` (the model manager's callers catch that) and an
    :class:`~posekit.errors.InputError` (a bad ``Tracker(model=...)`` argument)."""


def _choices(role: Role | None) -> str:
    if role == "pose_landmarks":
        words = [f"{a!r}" + (" (default)" if a == DEFAULT_LANDMARK_MODEL else "")
                 for a in LANDMARK_MODELS]  # fmt: skip
        return f"choose {', '.join(words[:-1])} or {words[-1]} (or model complexity 0, 1, 2)"
    rows = [m for m in MODEL_TABLE if role is None or m.role == role]
    aliases = ", ".join(f"{m.alias} -> {m.name}" for m in rows if m.alias)
    names = ", ".join(m.name for m in rows)
    if role is None:
        return f"valid names: {names} (aliases: {aliases}; 'all' for every model)"
    return f"valid names: {names}" + (f" (aliases: {aliases})" if aliases else "")


def model_entry(name: str | int, *, role: Role | None = None) -> ModelName:
    """The :data:`MODEL_TABLE` row for a user's spelling of a model; the one resolver.

    Accepted, case- and space-insensitively: the canonical name, the file name (``.tflite`` /
    ``.onnx``), the alias and, for a pose landmark model, its complexity (``0``, ``1``, ``2``).
    With ``role``, the model must play that role (``Tracker(model="detector")`` is refused).

    Raises:
        UnknownModelError: no row matches, or the row has another role; the message lists the
            valid choices.

    Example:
        >>> model_entry(" FULL ").name, model_entry("pose_detection.tflite").alias
        ('pose_landmark_full', 'detector')
        >>> try:
        ...     model_entry("detector", role="pose_landmarks")
        ... except UnknownModelError as exc:
        ...     print(exc)  # doctest: +NORMALIZE_WHITESPACE
        model 'detector' is not a pose landmark model: choose 'lite', 'full' (default) or
        'heavy' (or model complexity 0, 1, 2)
    """
    key = str(name).strip().lower()
    if key.endswith((".onnx", ".tflite")):
        key = key.rsplit(".", 1)[0]
    entry = _BY_SPELLING.get(key)
    if entry is None:
        raise UnknownModelError(f"unknown model {name!r}; {_choices(role)}")
    if role is not None and entry.role != role:
        raise UnknownModelError(f"model {name!r} is not a {_ROLE_WORDS[role]}: {_choices(role)}")
    return entry


def resolve_name(name: str | int, *, role: Role | None = None) -> str:
    """Canonical model name for a name or alias: ``model_entry(name, role=role).name``.

    Example:
        >>> resolve_name("full"), resolve_name("pose_detection")
        ('pose_landmark_full', 'pose_detection')
    """
    return model_entry(name, role=role).name


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
    """:data:`ALIASES` (the table's, kept here for callers of the manifest)."""
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
        if tuple(models) != MODEL_NAMES:
            raise ValueError(f"its models {list(models)} are not those of posekit {MODEL_NAMES}")
        pypi = raw.get("packages", {}).get("pypi", {})
        return Manifest(
            models=models,
            aliases=dict(ALIASES),
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
