"""The pose embedding of MediaPipe's pose classification guide (:func:`pose_embedding`).

Example:
    >>> import numpy as np
    >>> pose_embedding(np.random.default_rng(0).normal(size=(33, 3))).shape
    (23, 3)
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from posekit.analyzers.body import torso_size
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.topology import FLIP_PERMUTATION, NUM_KEYPOINTS, Keypoint

__all__ = [
    "DEFAULT_AXIS_WEIGHTS",
    "EMBEDDING_PAIRS",
    "NUM_FEATURES",
    "as_landmarks",
    "mirror_landmarks",
    "pose_embedding",
]

F32Array = npt.NDArray[np.float32]

DEFAULT_AXIS_WEIGHTS: Final = (1.0, 1.0, 0.2)
"""Weights of the x, y and z differences in the k-NN distances (the reference's)."""

TORSO_MULTIPLIER: Final = 2.5
EMBEDDING_SCALE: Final = 100.0

K = Keypoint
_HIPS: Final = (int(K.LEFT_HIP), int(K.RIGHT_HIP))
_SHOULDERS: Final = (int(K.LEFT_SHOULDER), int(K.RIGHT_SHOULDER))

EMBEDDING_PAIRS: Final[tuple[tuple[int, int], ...]] = tuple(
    (int(a), int(b))
    for a, b in (
        # Index 33 is the hip centre and 34 the shoulder centre (appended before the pairs).
        (33, 34),
        # One joint.
        (K.LEFT_SHOULDER, K.LEFT_ELBOW), (K.RIGHT_SHOULDER, K.RIGHT_ELBOW),
        (K.LEFT_ELBOW, K.LEFT_WRIST), (K.RIGHT_ELBOW, K.RIGHT_WRIST),
        (K.LEFT_HIP, K.LEFT_KNEE), (K.RIGHT_HIP, K.RIGHT_KNEE),
        (K.LEFT_KNEE, K.LEFT_ANKLE), (K.RIGHT_KNEE, K.RIGHT_ANKLE),
        # Two joints.
        (K.LEFT_SHOULDER, K.LEFT_WRIST), (K.RIGHT_SHOULDER, K.RIGHT_WRIST),
        (K.LEFT_HIP, K.LEFT_ANKLE), (K.RIGHT_HIP, K.RIGHT_ANKLE),
        # Four joints.
        (K.LEFT_HIP, K.LEFT_WRIST), (K.RIGHT_HIP, K.RIGHT_WRIST),
        # Five joints.
        (K.LEFT_SHOULDER, K.LEFT_ANKLE), (K.RIGHT_SHOULDER, K.RIGHT_ANKLE),
        (K.LEFT_HIP, K.LEFT_WRIST), (K.RIGHT_HIP, K.RIGHT_WRIST),
        # Cross body.
        (K.LEFT_ELBOW, K.RIGHT_ELBOW), (K.LEFT_KNEE, K.RIGHT_KNEE),
        (K.LEFT_WRIST, K.RIGHT_WRIST), (K.LEFT_ANKLE, K.RIGHT_ANKLE),
    )
)  # fmt: skip
"""The 23 ``(from, to)`` joint pairs of the embedding (33 = hip centre, 34 = shoulder centre)."""

_PAIR_FROM: Final = np.array([a for a, _ in EMBEDDING_PAIRS], np.intp)
_PAIR_TO: Final = np.array([b for _, b in EMBEDDING_PAIRS], np.intp)
NUM_FEATURES: Final = len(EMBEDDING_PAIRS)


# ---------------------------------------------------------------------------------- embedding
def as_landmarks(value: Pose | npt.ArrayLike) -> F32Array:
    """``(..., 33, 3)`` float32 ``[x, y, z]`` from a Pose or an array (validated)."""
    if isinstance(value, Pose):
        return value.xyz
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"landmarks must be a Pose or a numeric (33, 3) array, could not convert: {exc}"
        ) from exc
    if arr.ndim < 2 or arr.shape[-2:] != (NUM_KEYPOINTS, 3):
        raise InputError(
            f"landmarks must have shape (33, 3) or (N, 33, 3) ([x, y, z] per BlazePose keypoint, "
            f"z on the scale of x), got {arr.shape}: pass Pose.xyz or a Pose"
        )
    if not np.isfinite(arr).all():
        raise InputError(
            "landmarks contain NaN or inf: classify only tracked poses (skip frames whose pose "
            "is None) and give unsure keypoints a finite position"
        )
    return arr


def mirror_landmarks(landmarks: npt.ArrayLike) -> F32Array:
    """The mirror image of ``(..., 33, 3)`` landmarks: ``x -> -x`` and left/right swapped.

    Only differences matter to the embedding, so mirroring about ``x = 0`` is enough.

    >>> import numpy as np
    >>> lm = np.zeros((33, 3), np.float32); lm[Keypoint.LEFT_WRIST] = (5.0, 1.0, 2.0)
    >>> mirror_landmarks(lm)[Keypoint.RIGHT_WRIST].tolist()
    [-5.0, 1.0, 2.0]
    """
    arr = np.asarray(landmarks, dtype=np.float32)
    out: F32Array = arr[..., FLIP_PERMUTATION, :]  # fancy indexing copies
    out[..., 0] *= -1.0
    return out


def pose_embedding(landmarks: Pose | npt.ArrayLike) -> F32Array:
    """The ``(23, 3)`` (or ``(N, 23, 3)`` for a batch) pose embedding (see the module docstring).

    Invariant to translation and scale by construction. Raises :class:`InputError` for a wrong
    shape, NaN/inf, or a degenerate pose (all keypoints at one point).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> lm = rng.normal(size=(33, 3)).astype(np.float32)
    >>> a = pose_embedding(lm); b = pose_embedding(lm * 3 + np.float32([10, -4, 0]))
    >>> a.shape, bool(np.allclose(a, b, atol=1e-4))
    ((23, 3), True)
    """
    arr = as_landmarks(landmarks).astype(np.float64)
    single = arr.ndim == 2
    batch = arr.reshape(-1, NUM_KEYPOINTS, 3)
    hips = batch[:, _HIPS, :].mean(axis=1)  # (N, 3)
    centred = batch - hips[:, None, :]
    torso = torso_size(batch[:, :, :2])  # hip centre to shoulder centre, in 2D
    spread = np.linalg.norm(centred[:, :, :2], axis=2).max(axis=1)
    size = np.maximum(TORSO_MULTIPLIER * torso, spread)
    if not (size > 0).all():
        raise InputError(
            "cannot embed a degenerate pose (every keypoint at the same place, size 0): "
            "classify real tracked poses"
        )
    centred *= (EMBEDDING_SCALE / size)[:, None, None]
    # Row 33 is the hip centre (the origin now), row 34 the shoulder centre.
    ext = np.empty((len(batch), NUM_KEYPOINTS + 2, 3))
    ext[:, :NUM_KEYPOINTS] = centred
    ext[:, 33] = 0.0
    ext[:, 34] = centred[:, _SHOULDERS, :].mean(axis=1)
    emb = (ext[:, _PAIR_TO, :] - ext[:, _PAIR_FROM, :]).astype(np.float32)
    return emb[0] if single else emb
