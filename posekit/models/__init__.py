"""posekit's model manager: official MediaPipe models, verified, converted to ONNX and cached.

The first use of a model fetches the official ``.tflite`` (a local folder, the official URL, the
``mediapipe`` wheel on PyPI or the ``@mediapipe/pose`` npm package), checks its sha256 against
the manifest, converts it to ONNX with :mod:`posekit.convert` and caches the result under
:func:`cache_dir` (``$POSEKIT_HOME`` overrides). Offline machines can be served from a folder:
``posekit models install --from DIR all`` or ``$POSEKIT_MODEL_SOURCE=DIR``.

Modules, imports pointing down only: :mod:`~posekit.models.manifest` (the model-name table and the
manifest) <- :mod:`~posekit.models.store` (the cache on disk) <- :mod:`~posekit.models.archives`,
:mod:`~posekit.models.packages` <- :mod:`~posekit.models.sources` (fetching);
:mod:`~posekit.models.variants` <- :mod:`~posekit.models.runtime` (loading, never installing);
:mod:`~posekit.models.cleanup` (disk use); :mod:`~posekit.models.manager` (installing) on top.

Example:
    >>> from posekit.models import MODEL_NAMES, resolve_name
    >>> resolve_name("detector"), "pose_landmark_full" in MODEL_NAMES
    ('pose_detection', True)
    >>> sess = load_session("full", num_threads=1)  # doctest: +SKIP
"""

from __future__ import annotations

from posekit.models.manager import (
    InstallResult,
    VerifyResult,
    install,
    load_session,
    model_path,
    uninstall,
    verify,
)
from posekit.models.manifest import (
    ALIASES,
    MODEL_NAMES,
    MODEL_TABLE,
    ModelName,
    ModelSpec,
    TensorSpec,
    load_manifest,
    model_entry,
    resolve_name,
)
from posekit.models.store import cache_dir, installed_models

__all__ = [
    "ALIASES",
    "MODEL_NAMES",
    "MODEL_TABLE",
    "InstallResult",
    "ModelName",
    "ModelSpec",
    "TensorSpec",
    "VerifyResult",
    "cache_dir",
    "get_spec",
    "install",
    "installed_models",
    "load_session",
    "model_entry",
    "model_path",
    "resolve_name",
    "uninstall",
    "verify",
]


def get_spec(name: str) -> ModelSpec:
    """The manifest entry of a model (alias allowed): file, sha256, expected I/O, sources.

    Example:
        >>> get_spec("detector").outputs[0].shape
        (1, 2254, 12)
    """
    return load_manifest().models[resolve_name(name)]
