"""Body geometry: joint angles, trunk lean, segment lengths and body-centred normalisation.

Every function works on one pose or a whole sequence at once: ``points`` is an array of shape
``(..., 33, D)`` with ``D = 2`` (image pixels, ``[x, y]``, y down) or ``D = 3`` (metric world
landmarks, or ``[x, y, z]``), and ``visibility`` (optional) has shape ``(..., 33)``. Results keep
the leading shape: ``(T, 33, 2)`` points give ``(T,)`` angles.

Over time, pass a :class:`~posekit.sequence.PoseSequence` as ``points``: its ``body`` component
is measured in 2-D pixels (or, for ``seq.select("body_world")``, in 3-D metres), its
confidence is the visibility, and results have shape ``(frames, people)``.

**Unknown values are NaN.** A quantity is NaN when one of the keypoints it uses has
``visibility < min_visibility`` (default 0.5), when a point is NaN or masked (e.g. a frame
without a pose in a sequence), or when it is undefined (a zero-length limb). It is never a
made-up number.
The per-frame :class:`AngleAnalyzer` reports unknown angles as ``None`` (so that typed code
must handle them).

Angles are in degrees in [0, 180]: a straight limb is 180, a fully folded one 0.

Example:
    >>> import numpy as np
    >>> from posekit.analyzers.geometry import joint_angle, angle, ANGLES
    >>> xy = np.zeros((33, 2))
    >>> xy[23], xy[25], xy[27] = (0, 0), (0, 100), (100, 100)  # left hip, knee, ankle
    >>> float(joint_angle(xy, ANGLES["left_knee"]))
    90.0
    >>> seq = np.stack([xy, xy])  # (T, 33, 2)
    >>> angle(seq, "left_knee").tolist()
    [90.0, 90.0]
    >>> vis = np.ones((2, 33)); vis[1, 27] = 0.2  # ankle hidden on frame 1
    >>> angle(seq, "left_knee", vis).tolist()
    [90.0, nan]
    >>> from posekit.pose import Pose
    >>> pose = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
    >>> angle(stack_poses([pose, None]), "left_knee").tolist()  # (frames, people)
    [[90.0], [nan]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.sequence import BODY_COMPONENTS, PoseSequence
from posekit.topology import NUM_KEYPOINTS, Keypoint

__all__ = [
    "ANGLES",
    "ANGLE_NAMES",
    "BILATERAL_ANGLES",
    "DEFAULT_MIN_VISIBILITY",
    "SEGMENTS",
    "AngleAnalyzer",
    "Camera",
    "JointTriple",
    "Segment",
    "Space",
    "angle",
    "angles",
    "hip_height",
    "joint_angle",
    "normalize_body",
    "pose_angles",
    "project",
    "rotate_yaw",
    "segment_lengths",
    "stack_poses",
    "synthetic_view",
    "torso_size",
    "trunk_lean",
]

F64Array = npt.NDArray[np.float64]
Points = npt.ArrayLike | PoseSequence
"""``(..., 33, D)`` keypoint coordinates, or a :class:`~posekit.sequence.PoseSequence`."""
Space = Literal["image", "world"]
"""Which coordinates of a :class:`~posekit.pose.Pose` to measure: pixels or metric world."""

#: Keypoints with visibility below this count as unknown (MediaPipe's drawing threshold).
DEFAULT_MIN_VISIBILITY: Final = 0.5


class JointTriple(NamedTuple):
    """An angle at ``vertex`` between the segments to ``a`` and to ``c``."""

    a: Keypoint
    vertex: Keypoint
    c: Keypoint


class Segment(NamedTuple):
    """A body segment between two keypoints."""

    start: Keypoint
    end: Keypoint


K = Keypoint


def _sides(
    left: tuple[Keypoint, Keypoint, Keypoint],
) -> tuple[JointTriple, JointTriple]:
    right = tuple(Keypoint[k.name.replace("LEFT", "RIGHT")] for k in left)
    return JointTriple(*left), JointTriple(*right)


_left_right = {
    "knee": _sides((K.LEFT_HIP, K.LEFT_KNEE, K.LEFT_ANKLE)),
    "hip": _sides((K.LEFT_SHOULDER, K.LEFT_HIP, K.LEFT_KNEE)),
    "elbow": _sides((K.LEFT_SHOULDER, K.LEFT_ELBOW, K.LEFT_WRIST)),
    "shoulder": _sides((K.LEFT_ELBOW, K.LEFT_SHOULDER, K.LEFT_HIP)),
    "ankle": _sides((K.LEFT_KNEE, K.LEFT_ANKLE, K.LEFT_FOOT_INDEX)),
}

ANGLES: Mapping[str, JointTriple] = MappingProxyType(
    {f"{side}_{joint}": pair[i] for joint, pair in _left_right.items() for i, side in
     enumerate(("left", "right"))}
)  # fmt: skip
"""Named joint angles: ``left_/right_`` + ``knee`` (hip-knee-ankle), ``hip`` (shoulder-hip-knee),
``elbow`` (shoulder-elbow-wrist), ``shoulder`` (elbow-shoulder-hip: arm elevation, 0 with the arm
down along the body, 180 overhead) and ``ankle`` (knee-ankle-toe)."""

BILATERAL_ANGLES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {joint: (f"left_{joint}", f"right_{joint}") for joint in _left_right}
)
"""``knee``, ``hip``, ``elbow``, ``shoulder``, ``ankle``: the mean of the left and right angle
over the sides that are known (one side when the other is hidden, NaN when both are)."""

ANGLE_NAMES: tuple[str, ...] = (*ANGLES, *BILATERAL_ANGLES, "trunk_lean")
"""Every name :func:`angle` accepts."""

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

_SHOULDERS: Final = np.array([K.LEFT_SHOULDER, K.RIGHT_SHOULDER], np.intp)
_HIPS: Final = np.array([K.LEFT_HIP, K.RIGHT_HIP], np.intp)
_KNEES: Final = np.array([K.LEFT_KNEE, K.RIGHT_KNEE], np.intp)
_ANKLES: Final = np.array([K.LEFT_ANKLE, K.RIGHT_ANKLE], np.intp)

Camera = Literal["orthographic", "pinhole"]
"""A synthetic camera for :func:`project`: parallel projection, or a pinhole at a distance."""


# ---------------------------------------------------------------------- input checks
def _inputs(
    points: Points, visibility: npt.ArrayLike | None
) -> tuple[F64Array, npt.ArrayLike | None]:
    """Points (float64, NaN = unknown) and visibility; a sequence gives its own."""
    if not isinstance(points, PoseSequence):
        return _points(points), visibility
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


def _points(points: npt.ArrayLike) -> F64Array:
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


def _visible(points: F64Array, visibility: npt.ArrayLike | None, min_visibility: float) -> F64Array:
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


def _angle_between(u: F64Array, v: F64Array) -> F64Array:
    """Angle in degrees between vectors along the last axis; NaN if one has zero length."""
    if u.shape[-1] == 2:
        cross = np.abs(u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0])
    else:
        cross = np.linalg.norm(np.cross(u, v), axis=-1)
    dot = np.einsum("...i,...i->...", u, v)
    degenerate = (np.einsum("...i,...i->...", u, u) == 0) | (np.einsum("...i,...i->...", v, v) == 0)
    return np.asarray(np.where(degenerate, np.nan, np.degrees(np.arctan2(cross, dot))), np.float64)


# ---------------------------------------------------------------------- angles
def joint_angle(
    points: Points,
    joints: JointTriple | tuple[int, int, int],
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """The angle (degrees) at ``joints[1]`` between the segments to ``joints[0]`` and
    ``joints[2]``, for every pose in ``points``; NaN where unknown (see the module docstring).

    Raises:
        InputError: bad shapes, or keypoint indices outside 0..32.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 3)); p[11], p[13], p[15] = (0, 0, 0), (0, 1, 0), (0, 1, 1)
        >>> float(joint_angle(p, ANGLES["left_elbow"]))
        90.0
    """
    pts = _visible(*_inputs(points, visibility), min_visibility)
    a, b, c = _triple(joints)
    return _angle_between(pts[..., a, :] - pts[..., b, :], pts[..., c, :] - pts[..., b, :])


def _triple(joints: JointTriple | tuple[int, int, int]) -> tuple[int, int, int]:
    try:
        a, b, c = (int(j) for j in joints)
    except (TypeError, ValueError) as exc:
        raise InputError(f"joints must be three keypoints (a, vertex, c), got {joints!r}") from exc
    for j in (a, b, c):
        if not 0 <= j < NUM_KEYPOINTS:
            raise InputError(f"keypoint index {j} in {joints!r} is outside 0..32")
    return a, b, c


def _centre(points: F64Array, pair: npt.NDArray[np.intp]) -> F64Array:
    return np.asarray((points[..., pair[0], :] + points[..., pair[1], :]) * 0.5, np.float64)


def trunk_lean(
    points: Points,
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """Angle (degrees) between the trunk (hip centre -> shoulder centre) and the vertical.

    0 is upright, 90 lying horizontal, 180 upside down. "Up" is ``-y`` in both image pixels and
    MediaPipe world landmarks (both have y pointing down). Needs both shoulders and both hips.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 2)); p[[11, 12]] = (10, -10); p[[23, 24]] = (0, 0)
        >>> round(float(trunk_lean(p)), 6)
        45.0
    """
    pts = _visible(*_inputs(points, visibility), min_visibility)
    trunk = _centre(pts, _SHOULDERS) - _centre(pts, _HIPS)
    up = np.zeros(pts.shape[-1])
    up[1] = -1.0
    return _angle_between(trunk, np.broadcast_to(up, trunk.shape))


def angle(
    points: Points,
    name: str | JointTriple | tuple[int, int, int],
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> F64Array:
    """One angle by name (see :data:`ANGLE_NAMES`) or by joint triple; NaN where unknown.

    Raises:
        InputError: unknown name (the message lists the valid ones) or bad shapes.
    """
    if not isinstance(name, str):
        return joint_angle(points, name, visibility, min_visibility=min_visibility)
    if name == "trunk_lean":
        return trunk_lean(points, visibility, min_visibility=min_visibility)
    if name in ANGLES:
        return joint_angle(points, ANGLES[name], visibility, min_visibility=min_visibility)
    if name in BILATERAL_ANGLES:
        left, right = BILATERAL_ANGLES[name]
        pts = _visible(*_inputs(points, visibility), min_visibility)
        both = np.stack([joint_angle(pts, ANGLES[left]), joint_angle(pts, ANGLES[right])])
        known = np.isfinite(both)
        count = known.sum(axis=0)
        total = np.where(known, both, 0.0).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.asarray(np.where(count > 0, total / count, np.nan), dtype=np.float64)
    raise InputError(f"unknown angle {name!r}: use one of {', '.join(ANGLE_NAMES)}")


def angles(
    points: Points,
    names: Iterable[str] = ANGLE_NAMES,
    visibility: npt.ArrayLike | None = None,
    *,
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> dict[str, F64Array]:
    """Several named angles at once: ``{name: array of shape points.shape[:-2]}``.

    Example:
        >>> import numpy as np
        >>> sorted(angles(np.random.default_rng(0).normal(size=(5, 33, 2)), ["knee", "hip"]))
        ['hip', 'knee']
    """
    pts = _visible(*_inputs(points, visibility), min_visibility)
    return {name: angle(pts, name) for name in names}


# ---------------------------------------------------------------------- lengths and normalisation
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
    pts = _visible(*_inputs(points, visibility), min_visibility)
    return np.asarray(
        np.linalg.norm(_centre(pts, _SHOULDERS) - _centre(pts, _HIPS), axis=-1), np.float64
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
    pts = _visible(*_inputs(points, visibility), min_visibility)
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
    pts = _visible(*_inputs(points, visibility), min_visibility)
    if rotate == "face_camera" and pts.shape[-1] != 3:
        raise InputError(
            "rotate='face_camera' needs 3-D points (pose.world or pose.xyz): a 2-D pose cannot be "
            "turned about the vertical axis; use rotate='upright' for 2-D"
        )
    hip = _centre(pts, _HIPS)
    shoulder = _centre(pts, _SHOULDERS)
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
    pts = _visible(*_inputs(points, visibility), min_visibility)
    hips, knees, ankles = pts[..., _HIPS, :], pts[..., _KNEES, :], pts[..., _ANKLES, :]
    legs = np.linalg.norm(knees - hips, axis=-1) + np.linalg.norm(ankles - knees, axis=-1)
    leg = _nanmean_pair(legs[..., None])[..., 0]
    drop = _nanmean_pair(ankles[..., 1:2])[..., 0] - _nanmean_pair(hips[..., 1:2])[..., 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(leg > 0, drop / leg, np.nan), np.float64)


# ---------------------------------------------------------------------- synthetic views
def rotate_yaw(points: npt.ArrayLike, degrees: float) -> F64Array:
    """Turn 3-D points about the vertical (``y``) axis through the origin by ``degrees``.

    ``x' = x cos(a) + z sin(a)``, ``y' = y``, ``z' = -x sin(a) + z cos(a)``: with y pointing down
    and z away from the camera (MediaPipe's world landmarks), a positive angle turns a point on
    ``+x`` towards the camera (``-z``). ``rotate_yaw(world, 90)`` shows a person filmed from the
    side as seen from the front (or back). World landmarks are centred on the hips, so the body
    turns on the spot.

    Raises:
        InputError: points that are not ``(..., 33, 3)`` or a non-finite angle.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 3)); p[0] = (1.0, 2.0, 0.0)
        >>> rotate_yaw(p, 90)[0].round(6).tolist()
        [0.0, 2.0, -1.0]
    """
    pts = _points(points)
    if pts.shape[-1] != 3:
        raise InputError(
            f"rotate_yaw needs 3-D points (..., 33, 3) such as pose.world, got {pts.shape}"
        )
    if not np.isfinite(degrees):
        raise InputError(f"degrees={degrees!r} must be a finite angle")
    rad = np.radians(float(degrees))
    cos, sin = np.cos(rad), np.sin(rad)
    rot = np.array([[cos, 0.0, -sin], [0.0, 1.0, 0.0], [sin, 0.0, cos]])  # row-vector form
    return np.asarray(pts @ rot, np.float64)


def project(
    points: npt.ArrayLike,
    *,
    camera: Camera = "orthographic",
    scale: float = 300.0,
    distance: float = 3.0,
    centre: npt.ArrayLike = (0.0, 0.0),
) -> F64Array:
    """Project 3-D points (metres, y down, z away from the camera) to 2-D pixels.

    * ``"orthographic"``: ``(x, y) * scale + centre`` (``scale`` pixels per metre).
    * ``"pinhole"``: a camera ``distance`` metres in front of the origin, looking along ``+z``,
      with focal length ``scale * distance`` pixels (so a point at the origin's depth keeps the
      orthographic scale): ``(x, y) * scale * distance / (distance + z) + centre``.

    ``centre`` (shape ``(2,)`` or ``(..., 2)``, broadcast over the keypoints) is where the
    origin lands, e.g. the hip centre in pixels.

    Raises:
        InputError: bad shapes or options, or a point behind the pinhole camera.

    Example:
        >>> import numpy as np
        >>> p = np.zeros((33, 3)); p[0] = (0.5, -1.0, 1.0)
        >>> project(p, scale=100, centre=(320, 240))[0].tolist()
        [370.0, 140.0]
        >>> project(p, camera="pinhole", scale=100, distance=1.0)[0].tolist()
        [25.0, -50.0]
    """
    pts = _points(points)
    if pts.shape[-1] != 3:
        raise InputError(f"project needs 3-D points (..., 33, 3), got {pts.shape}")
    if camera not in ("orthographic", "pinhole"):
        raise InputError(f"camera={camera!r}: use 'orthographic' or 'pinhole'")
    if not (np.isfinite(scale) and scale > 0 and np.isfinite(distance) and distance > 0):
        raise InputError(f"scale={scale} and distance={distance} must be finite and > 0")
    ctr = np.asarray(centre, np.float64)
    if ctr.shape[-1:] != (2,):
        raise InputError(f"centre must have shape (2,) or (..., 2), got {ctr.shape}")
    if ctr.ndim > 1:
        ctr = ctr[..., None, :]
    if camera == "orthographic":
        return np.asarray(pts[..., :2] * scale + ctr, np.float64)
    depth = distance + pts[..., 2:3]
    if not (depth > 0).all():
        raise InputError(
            f"a point lies behind the pinhole camera ({distance} m in front of the origin): "
            "use a larger distance"
        )
    return np.asarray(pts[..., :2] * (scale * distance) / depth + ctr, np.float64)


def synthetic_view(
    pose: Pose,
    yaw: float,
    *,
    camera: Camera = "orthographic",
    scale: float | None = None,
    distance: float = 3.0,
    centre: tuple[float, float] | None = None,
) -> Pose:
    """The pose as a camera turned ``yaw`` degrees about the vertical axis would see it.

    The world landmarks are turned with :func:`rotate_yaw`; the image landmarks are their
    :func:`project` ion, placed so that the hip centre lands on ``centre`` (default: the pose's
    own hip centre in pixels, so the body's up-and-down motion in a sequence is kept). ``z`` is
    the turned world depth times ``scale``; visibility, presence, score and image size are
    copied (a keypoint hidden in the recording stays "hidden", whatever the new view). Use it to
    test view-dependent analysis with recorded motion.

    Args:
        pose: a pose with world landmarks.
        yaw: degrees (0 keeps the recorded view; 90 turns a side view into a front/back view).
        camera, distance: see :func:`project`.
        scale: pixels per metre; default the ratio of the pose's image torso to its world torso
            (for a sequence, pass one value so the body does not change size between frames).
        centre: pixel position of the hip centre.

    Raises:
        InputError: the pose has no world landmarks, or bad options.

    Example:
        >>> import numpy as np
        >>> world = np.zeros((33, 3)); world[[11, 12], 1] = -0.5; world[0] = (0.2, -0.7, 0.0)
        >>> xy = np.full((33, 2), 100.0); xy[[11, 12], 1] = 50.0
        >>> p = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0, world=world)
        >>> q = synthetic_view(p, 90)
        >>> q.xy[0].astype(float).round(3).tolist(), q.world[0].astype(float).round(3).tolist()
        ([100.0, 30.0], [0.0, -0.7, -0.2])
    """
    if pose.world is None:
        raise InputError(
            "synthetic_view needs world landmarks (pose.world is None): use poses from the "
            "tracker, which always sets them, or build Pose(..., world=...)"
        )
    world = rotate_yaw(pose.world, yaw)
    hip_px = (pose.xy[K.LEFT_HIP] + pose.xy[K.RIGHT_HIP]) * 0.5
    ctr = hip_px if centre is None else np.asarray(centre, np.float64)
    if scale is None:
        image_torso = float(torso_size(pose.xy))
        world_torso = float(torso_size(pose.world))
        if not (image_torso > 0 and world_torso > 0):
            raise InputError(
                "cannot estimate the pixels-per-metre scale (zero torso): pass scale=..."
            )
        scale = image_torso / world_torso
    xy = project(world, camera=camera, scale=scale, distance=distance, centre=ctr)
    return Pose(
        xy,
        world[:, 2] * scale,
        pose.visibility,
        pose.presence,
        score=pose.score,
        world=world,
        image_size=pose.image_size,
    )


# ---------------------------------------------------------------------- poses
def stack_poses(poses: Iterable[Pose | None], *, fps: float | None = None) -> PoseSequence:
    """Recorded poses (``None`` = no pose) as a :class:`~posekit.sequence.PoseSequence`
    (``body`` + ``body_world``) for the vectorised functions; a shorthand of
    ``PoseSequence.from_results(poses, components=BODY_COMPONENTS, fps=fps)``.

    Raises:
        InputError: an item that is neither a Pose nor None (the message names its index).

    Example:
        >>> import numpy as np
        >>> p = Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33), np.ones(33), score=1.0)
        >>> seq = stack_poses([p, None])
        >>> seq.shape, seq.known[:, 0, 0].tolist(), torso_size(seq).tolist()
        ((2, 1, 66, 3), [True, False], [[0.0], [nan]])
    """
    items = list(poses)
    for i, pose in enumerate(items):
        if pose is not None and not isinstance(pose, Pose):
            raise InputError(f"poses[{i}] is a {type(pose).__name__}, expected a Pose or None")
    return PoseSequence.from_results(items, components=BODY_COMPONENTS, fps=fps)


def _pose_points(pose: Pose, space: Space) -> npt.NDArray[np.float32] | None:
    if space == "image":
        return pose.xy
    if space == "world":
        return pose.world
    raise InputError(f"space={space!r}: use 'image' or 'world'")


def pose_angles(
    pose: Pose | None,
    names: Iterable[str] = ANGLE_NAMES,
    *,
    space: Space = "image",
    min_visibility: float = DEFAULT_MIN_VISIBILITY,
) -> dict[str, float | None]:
    """Named angles of one pose, ``None`` where unknown (no pose, hidden joints, no world).

    Example:
        >>> import numpy as np
        >>> xy = np.zeros((33, 2)); xy[25] = (0, 100); xy[27] = (100, 100)
        >>> p = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
        >>> pose_angles(p, ["left_knee"]), pose_angles(None, ["left_knee"])
        ({'left_knee': 90.0}, {'left_knee': None})
    """
    names = tuple(names)
    pts = None if pose is None else _pose_points(pose, space)
    if pose is None or pts is None:
        return dict.fromkeys(names)
    values = angles(pts, names, pose.visibility, min_visibility=min_visibility)
    return {n: (float(v) if np.isfinite(v) else None) for n, v in values.items()}


class AngleAnalyzer(Analyzer[Mapping[str, "float | None"]]):
    """Per-frame named joint angles (degrees), ``None`` where unknown.

    Args:
        names: angle names from :data:`ANGLE_NAMES` (default: all).
        space: ``"image"`` (2-D pixels, what the camera sees) or ``"world"`` (3-D metric).
        min_visibility: keypoints below this visibility make their angles unknown.
        name: the key of the output in ``frame.results``.

    Example:
        >>> import numpy as np
        >>> from posekit.analyzers.base import OfflineFrame
        >>> a = AngleAnalyzer(["left_knee", "trunk_lean"])
        >>> a.update(OfflineFrame(pose=None, timestamp=0.0, index=0))
        {'left_knee': None, 'trunk_lean': None}
    """

    def __init__(
        self,
        names: Iterable[str] = ANGLE_NAMES,
        *,
        space: Space = "image",
        min_visibility: float = DEFAULT_MIN_VISIBILITY,
        name: str = "angles",
    ) -> None:
        self.names = tuple(names)
        unknown = [n for n in self.names if n not in ANGLE_NAMES]
        if unknown:
            raise InputError(f"unknown angle names {unknown}: use names from {ANGLE_NAMES}")
        if space not in ("image", "world"):
            raise InputError(f"space={space!r}: use 'image' or 'world'")
        if not 0.0 <= min_visibility <= 1.0:
            raise InputError(f"min_visibility={min_visibility} must lie in [0, 1]")
        self.space: Space = space
        self.min_visibility = float(min_visibility)
        self.name = name

    def update(self, frame: PoseFrame) -> Mapping[str, float | None]:
        return pose_angles(
            frame.pose, self.names, space=self.space, min_visibility=self.min_visibility
        )
