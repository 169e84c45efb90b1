"""Input checks shared by the geometry modules: points as float64 with NaN for unknown.

Private to :mod:`posekit.analyzers` (``geometry``, ``body``, ``synthetic``).
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from posekit.errors import InputError
from posekit.sequence import PoseSequence
from posekit.topology import NUM_KEYPOINTS, Keypoint

F64Array = npt.NDArray[np.float64]
Points = npt.ArrayLike | PoseSequence
"""``(..., 33, D)`` keypoint coordinates, or a :class:`~posekit.sequence.PoseSequence`."""
Space = Literal["image", "world"]
"""Which coordinates of a :class:`~posekit.pose.Pose` to measure: pixels or metric world."""

#: Keypoints with visibility below this count as unknown (MediaPipe's drawing threshold).
DEFAULT_MIN_VISIBILITY: Final = 0.5

K = Keypoint
SHOULDERS: Final = np.array([K.LEFT_SHOULDER, K.RIGHT_SHOULDER], np.intp)
HIPS: Final = np.array([K.LEFT_HIP, K.RIGHT_HIP], np.intp)
KNEES: Final = np.array([K.LEFT_KNEE, K.RIGHT_KNEE], np.intp)
ANKLES: Final = np.array([K.LEFT_ANKLE, K.RIGHT_ANKLE], np.intp)


def inputs(
    points: Points, visibility: npt.ArrayLike | None
) -> tuple[F64Array, npt.ArrayLike | None]:
    """Points (float64, NaN = unknown) and visibility; a sequence gives its own."""
    if not isinstance(points, PoseSequence):
        return points_array(points), visibility
    name = "body" if "body" in points.components else "body_world"
    if name not in points.components:
        raise InputError(
            f"geometry needs the body or body_world component; this sequence has "
            f"{list(points.components)}"
        )
    pts = points.nan_points(name, dims=2 if name == "body" else 3)
    if visibility is None:
        visibility = points.confidence[:, :, points.components[name].slice]
    return pts, visibility


def points_array(points: npt.ArrayLike) -> F64Array:
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"points must be a numeric array of shape (..., 33, 2) or (..., 33, 3): {exc}"
        ) from exc
    if array.ndim < 2 or array.shape[-2] != NUM_KEYPOINTS or array.shape[-1] not in (2, 3):
        raise InputError(
            f"points must have shape (..., 33, 2) or (..., 33, 3) (keypoints in Keypoint order, "
            f"then x, y[, z]), got {array.shape}: e.g. pose.xy, pose.world or a PoseSequence"
        )
    return array


def visible(points: F64Array, visibility: npt.ArrayLike | None, min_visibility: float) -> F64Array:
    """``points`` with NaN wherever the keypoint's visibility is below the threshold."""
    if visibility is None:
        return points
    if not 0.0 <= min_visibility <= 1.0:
        raise InputError(f"min_visibility={min_visibility} must lie in [0, 1]")
    vis = np.asarray(visibility, dtype=np.float64)
    if vis.shape != points.shape[:-1]:
        raise InputError(
            f"visibility must have shape {points.shape[:-1]} to match points {points.shape}, got "
            f"{vis.shape}: pass pose.visibility (or seq.confidence)"
        )
    hidden = ~(vis >= min_visibility)  # NaN visibility counts as hidden
    if not hidden.any():
        return points
    masked: F64Array = points.copy()
    masked[hidden] = np.nan
    return masked


def centre(points: F64Array, pair: npt.NDArray[np.intp]) -> F64Array:
    return np.asarray((points[..., pair[0], :] + points[..., pair[1], :]) * 0.5, np.float64)
