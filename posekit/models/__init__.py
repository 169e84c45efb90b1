"""posekit's model manager: official MediaPipe models, verified, converted to ONNX and cached.

The first use of a model fetches the official ``.tflite`` (a local folder, the official URL, the
``mediapipe`` wheel on PyPI or the ``@mediapipe/pose`` npm package), checks its sha256 against
the manifest, converts it to ONNX with :mod:`posekit.convert` and caches the result under
:func:`cache_dir` (``$POSEKIT_HOME`` overrides). Offline machines can be served from a folder:
``posekit models install --from DIR all`` or ``$POSEKIT_MODEL_SOURCE=DIR``.

Example:
    >>> from posekit.models import MODEL_NAMES, resolve_name
    >>> resolve_name("detector"), "pose_landmark_full" in MODEL_NAMES
    ('pose_detection', True)
    >>> sess = load_session("full", num_threads=1)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from posekit.models.manager import (
    InstallResult,
    VerifyResult,
    install,
    installed_models,
    model_path,
    resolve_name,
    uninstall,
    verify,
)
from posekit.models.manifest import ModelSpec, TensorSpec, load_manifest
from posekit.models.store import cache_dir

if TYPE_CHECKING:
    from posekit.inference import InferenceSession

__all__ = [
    "ALIASES",
    "MODEL_NAMES",
    "InstallResult",
    "ModelSpec",
    "TensorSpec",
    "VerifyResult",
    "cache_dir",
    "get_spec",
    "install",
    "installed_models",
    "load_session",
    "model_path",
    "resolve_name",
    "uninstall",
    "verify",
]

MODEL_NAMES: tuple[str, ...] = tuple(load_manifest().models)
"""Canonical model names, in manifest order."""

ALIASES: dict[str, str] = dict(load_manifest().aliases)
"""Short names: ``detector``, ``lite``, ``full``, ``heavy``."""


def get_spec(name: str) -> ModelSpec:
    """The manifest entry of a model (alias allowed): file, sha256, expected I/O, sources.

    Example:
        >>> get_spec("detector").outputs[0].shape
        (1, 2254, 12)
    """
    return load_manifest().models[resolve_name(name)]


def load_session(
    name: str, outputs: Sequence[str] | None = None, **session_options: Any
) -> InferenceSession:
    """An :class:`posekit.inference.InferenceSession` for model ``name``, installing it if needed.

    ``outputs``: the model outputs the caller will read (``None``: all of them). Nodes that feed
    none of them are not computed: the landmark models without their segmentation output run
    1.3-3x faster. ``session_options`` go to :class:`~posekit.inference.InferenceSession`
    (``num_threads``, ``providers``, ``allow_cpu_fallback``, ``spin``).

    What is loaded is a runtime copy of the installed model (:mod:`posekit.models.runtime`):
    outputs pruned, weights in float32 and, on the CPU, optimised once and cached for this
    onnxruntime version and CPU. The installed file is checked against the sha256 its sidecar
    recorded whenever a copy is derived from it, and every copy against its own sha256 and a
    reference output: a model damaged in the cache raises :class:`~posekit.errors.ModelError`
    naming the reinstall command instead of loading.

    Example:
        >>> sess = load_session("detector", num_threads=1)  # doctest: +SKIP
        >>> sess.input_shapes["input_1"]  # doctest: +SKIP
        (1, 224, 224, 3)
        >>> lm = load_session("full", ["Identity", "Identity_1"])  # doctest: +SKIP
    """
    from posekit.models.runtime import load_runtime_session

    return load_runtime_session(name, outputs, **session_options)
