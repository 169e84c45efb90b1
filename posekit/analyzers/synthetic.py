"""Synthetic camera views of recorded poses, for testing view-dependent analysis.

Not an analyzer: a tool for tests and benchmarks (``benchmarks/bench_view_invariance.py``)
that turns recorded world landmarks about the vertical axis (:func:`rotate_yaw`) and projects
them to pixels (:func:`project`, :func:`synthetic_view`).

Example:
    >>> import numpy as np
    >>> p = np.zeros((33, 3)); p[0] = (1.0, 2.0, 0.0)
    >>> project(rotate_yaw(p, 90), scale=10)[0].round(6).tolist()
    [0.0, 20.0]
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from posekit.analyzers._points import F64Array, points_array
from posekit.analyzers.body import torso_size
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.topology import Keypoint

__all__ = ["Camera", "project", "rotate_yaw", "synthetic_view"]

K = Keypoint

Camera = Literal["orthographic", "pinhole"]
"""A synthetic camera for :func:`project`: parallel projection, or a pinhole at a distance."""


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
    pts = points_array(points)
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
    pts = points_array(points)
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
