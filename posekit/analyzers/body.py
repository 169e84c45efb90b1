"""Body measures: torso size, segment lengths, body-centred coordinates, hip height.

Same conventions as :mod:`posekit.analyzers.geometry`: ``points`` of shape ``(..., 33, D)`` (or
a :class:`~posekit.sequence.PoseSequence`), results keep the leading shape, unknown is NaN.

Example:
    >>> import numpy as np
    >>> p = np.zeros((33, 2)); p[[11, 12]] = (0, -50); p[25] = (0, 40)
    >>> float(torso_size(p)), float(segment_lengths(p)["left_thigh"])
    (50.0, 0.8)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from posekit.analyzers._points import (
    ANKLES,
    DEFAULT_MIN_VISIBILITY,
    HIPS,
    KNEES,
    SHOULDERS,
    F64Array,
    Points,
    centre,
    inputs,
    visible,
)
from posekit.errors import InputError
from posekit.topology import Keypoint

__all__ = [
    "SEGMENTS",
    "Segment",
    "hip_height",
    "normalize_body",
    "segment_lengths",
    "torso_size",
]

K = Keypoint


class Segment(NamedTuple):
    """A body segment between two keypoints."""

    start: Keypoint
    end: Keypoint


SEGMENTS: Mapping[str, Segment] = MappingProxyType(
    {
        "left_upper_arm": Segment(K.LEFT_SHOULDER, K.LEFT_ELBOW),
        "right_upper_arm": Segment(K.RIGHT_SHOULDER, K.RIGHT_ELBOW),
        "left_forearm": Segment(K.LEFT_ELBOW, K.LEFT_WRIST),
        "right_forearm": Segment(K.RIGHT_ELBOW, K.RIGHT_WRIST),
        "left_thigh": Segment(K.LEFT_HIP, K.LEFT_KNEE),
        "right_thigh": Segment(K.RIGHT_HIP, K.RIGHT_KNEE),
        "left_shin": Segment(K.LEFT_KNEE, K.LEFT_ANKLE),
        "right_shin": Segment(K.RIGHT_KNEE, K.RIGHT_ANKLE),
        "left_flank": Segment(K.LEFT_SHOULDER, K.LEFT_HIP),
        "right_flank": Segment(K.RIGHT_SHOULDER, K.RIGHT_HIP),
        "shoulder_width": Segment(K.LEFT_SHOULDER, K.RIGHT_SHOULDER),
        "hip_width": Segment(K.LEFT_HIP, K.RIGHT_HIP),
    }
)
"""Named segments for :func:`segment_lengths`."""


def torso_size(
    points: Points,
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """Distance from the hip centre to the shoulder centre (the reference's torso size).

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 2)); p[[11, 12]] = (0, -50)
        >>> float(torso_size(p))
        50.0
    """
    pts = visible(*inputs(points, visibility), min_visibility)
    return np.asarray(
        np.linalg.norm(centre(pts, SHOULDERS) - centre(pts, HIPS), axis=-1), np.float64
    )


def segment_lengths(
    points: Points,
    visibility: npt.ArrayLike | None = None,
    *,
    segments: Mapping[str, Segment] = SEGMENTS,
    normalize: bool = True,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> dict[str, F64Array]:
    """Lengths of named segments, divided by :func:`torso_size` when ``normalize`` (so they
    compare across people and distances to the camera); NaN where unknown.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 2)); p[[11, 12]] = (0, -50); p[25] = (0, 40)
        >>> float(segment_lengths(p)["left_thigh"])
        0.8
    """
    pts = visible(*inputs(points, visibility), min_visibility)
    out = {
        name: np.asarray(np.linalg.norm(pts[..., s.end, :] - pts[..., s.start, :], axis=-1))
        for name, s in segments.items()
    }
    if normalize:
        torso = torso_size(pts)
        with np.errstate(invalid="ignore", divide="ignore"):
            torso = np.where(torso > 0, torso, np.nan)
            out = {name: np.asarray(v / torso, np.float64) for name, v in out.items()}
    return out


def normalize_body(
    points: Points,
    visibility: npt.ArrayLike | None = None,
    *,
    scale: Literal["torso", "shoulders"] = "torso",
    rotate: Literal["none", "upright", "face_camera"] = "none",
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """Body-centred coordinates: origin at the hip centre, unit = torso size or shoulder width.

    Args:
        scale: ``"torso"`` (hip centre to shoulder centre) or ``"shoulders"`` (shoulder width).
        rotate: ``"none"``; ``"upright"`` rotates in the image plane (x-y) so that the shoulder
            centre lies straight above the hip centre; ``"face_camera"`` (3-D only) turns the body
            about the vertical (y) axis so that the hips and shoulders lie parallel to the x axis,
            the person's left at ``+x`` (as when facing the camera).

    Frames whose hips or shoulders are hidden (or degenerate) become all-NaN. Other hidden
    keypoints (when ``visibility`` is given) are NaN.

    Raises:
        InputError: bad shapes, unknown option, or ``"face_camera"`` on 2-D points.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 2)); p[23], p[24] = (90, 200), (110, 200); p[[11, 12]] = (100, 100)
        >>> out = normalize_body(p)
        >>> out[11].tolist(), out[23].tolist()
        ([0.0, -1.0], [-0.1, 0.0])
    """
    if scale not in ("torso", "shoulders"):
        raise InputError(f"scale={scale!r}: use 'torso' or 'shoulders'")
    if rotate not in ("none", "upright", "face_camera"):
        raise InputError(f"rotate={rotate!r}: use 'none', 'upright' or 'face_camera'")
    pts = visible(*inputs(points, visibility), min_visibility)
    if rotate == "face_camera" and pts.shape[-1] != 3:
        raise InputError(
            "rotate='face_camera' needs 3-D points (pose.world or pose.xyz): a 2-D pose cannot be "
            "turned about the vertical axis; use rotate='upright' for 2-D"
        )
    hip = centre(pts, HIPS)
    shoulder = centre(pts, SHOULDERS)
    out = pts - hip[..., None, :]
    if scale == "torso":
        unit = np.linalg.norm(shoulder - hip, axis=-1)
    else:
        unit = np.linalg.norm(pts[..., K.LEFT_SHOULDER, :] - pts[..., K.RIGHT_SHOULDER, :], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out /= np.where(unit > 0, unit, np.nan)[..., None, None]
    if rotate == "upright":
        trunk = shoulder - hip
        theta = np.arctan2(trunk[..., 0], -trunk[..., 1])  # clockwise tilt from "up" (-y)
        cos, sin = np.cos(theta)[..., None], np.sin(theta)[..., None]
        x, y = out[..., 0].copy(), out[..., 1].copy()
        out[..., 0] = cos * x + sin * y
        out[..., 1] = -sin * x + cos * y
    elif rotate == "face_camera":
        across = (pts[..., K.LEFT_HIP, :] - pts[..., K.RIGHT_HIP, :]) + (
            pts[..., K.LEFT_SHOULDER, :] - pts[..., K.RIGHT_SHOULDER, :]
        )
        phi = np.arctan2(across[..., 2], across[..., 0])  # yaw of the left-right axis
        cos, sin = np.cos(phi)[..., None], np.sin(phi)[..., None]
        x, z = out[..., 0].copy(), out[..., 2].copy()
        out[..., 0] = cos * x + sin * z
        out[..., 2] = -sin * x + cos * z
    return out


def _nanmean_pair(values: F64Array) -> F64Array:
    """Mean over axis -2 (a left/right pair) of the known (finite) entries; NaN if none is."""
    known = np.isfinite(values)
    count = known.sum(axis=-2)
    total = np.where(known, values, 0.0).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(count > 0, total / count, np.nan), np.float64)


def hip_height(
    points: Points,
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """Height of the hips above the ankles, in leg lengths: about 1 standing, ~0.5 in a squat.

    ``hip_height = (ankle_y - hip_y) / leg`` where ``hip_y`` and ``ankle_y`` are the vertical
    coordinates (``y``, pointing down) of the hip centre and the ankle centre (each the mean of
    the known sides), and ``leg = |hip - knee| + |knee - ankle|`` (the mean over the sides whose
    hip, knee and ankle are all known), i.e. the leg length as if it were straight. A straight
    vertical leg gives 1.0; the hips dropping gives less. NaN when no hip, no ankle or no
    complete leg is known.

    On **world landmarks** (``pose.world``: metres, y down, the image's vertical) this is
    invariant to turning the person (or the camera) about the vertical axis: the vertical
    distance does not change under a yaw rotation and 3-D lengths do not change at all. On
    **image pixels** the vertical distance is still yaw-invariant (for a distant camera) but the
    leg length is not: thighs pointing at the camera look short, so a squat seen from the front
    reads higher than the same squat seen from the side.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 3)); p[[25, 26], 1] = 0.45; p[[27, 28], 1] = 0.9  # standing
        >>> round(float(hip_height(p)), 6)
        1.0
        >>> p[[25, 26]] = (0.0, 0.0, -0.45)  # thighs horizontal (pointing forwards)
        >>> p[[27, 28]] = (0.0, 0.45, -0.45)  # shins vertical: the hips are one shin up
        >>> round(float(hip_height(p)), 6)
        0.5
    """
    pts = visible(*inputs(points, visibility), min_visibility)
    hips, knees, ankles = pts[..., HIPS, :], pts[..., KNEES, :], pts[..., ANKLES, :]
    legs = np.linalg.norm(knees - hips, axis=-1) + np.linalg.norm(ankles - knees, axis=-1)
    leg = _nanmean_pair(legs[..., None])[..., 0]
    drop = _nanmean_pair(ankles[..., 1:2])[..., 0] - _nanmean_pair(hips[..., 1:2])[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(leg > 0, drop / leg, np.nan), np.float64)
