"""Joint angles (2-D and 3-D), trunk lean, and the per-frame :class:`AngleAnalyzer`.

Body measures (torso size, segment lengths, body-centred coordinates, hip height) are in
:mod:`posekit.analyzers.body`; synthetic camera views in :mod:`posekit.analyzers.synthetic`.

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
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from posekit.analyzers._points import (
    DEFAULT_MIN_VISIBILITY,
    HIPS,
    SHOULDERS,
    F64Array,
    Points,
    Space,
    centre,
    inputs,
    visible,
)
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
    "AngleAnalyzer",
    "JointTriple",
    "Points",
    "Space",
    "angle",
    "angles",
    "joint_angle",
    "pose_angles",
    "stack_poses",
    "trunk_lean",
]


class JointTriple(NamedTuple):
    """An angle at ``vertex`` between the segments to ``a`` and to ``c``."""

    a: Keypoint
    vertex: Keypoint
    c: Keypoint


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
    pts = visible(*inputs(points, visibility), min_visibility)
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
    pts = visible(*inputs(points, visibility), min_visibility)
    trunk = centre(pts, SHOULDERS) - centre(pts, HIPS)
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
        pts = visible(*inputs(points, visibility), min_visibility)
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
    pts = visible(*inputs(points, visibility), min_visibility)
    return {name: angle(pts, name) for name in names}


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
        >>> seq.shape, seq.known[:, 0, 0].tolist(), angle(seq, "left_knee").tolist()
        ((2, 1, 66, 3), [True, False], [[nan], [nan]])
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

    def csv_columns(self) -> dict[str, str]:
        """CSV columns ``angle_<angle>`` (``<name>_<angle>`` for another analyzer name than
        ``"angles"``), see ``posekit.sinks.analyzer_columns``."""
        prefix = "angle" if self.name == "angles" else self.name
        return {f"{prefix}_{n}": n for n in self.names}

    def update(self, frame: PoseFrame) -> Mapping[str, float | None]:
        return pose_angles(
            frame.pose, self.names, space=self.space, min_visibility=self.min_visibility
        )
