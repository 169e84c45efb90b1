"""Temporal filters for landmarks: One Euro, low-pass, and MediaPipe's pose presets.

Every filter implements the small :class:`Filter` interface: ``filter(values, timestamp,
scale=None)`` returns the filtered array (same shape, each element filtered independently),
``filter.reset()`` forgets the past. The first sample after a reset passes through unchanged;
a timestamp not later than the previous one passes the input through and leaves the state
untouched (one warning per filter). :class:`OneEuroFilter` is the One Euro filter exactly as
MediaPipe runs it; :data:`IMAGE_LANDMARKS`, :data:`WORLD_LANDMARKS`, :data:`AUXILIARY_LANDMARKS`
and :data:`VISIBILITY_ALPHA` are MediaPipe's pose presets.

Whole poses are smoothed by a :class:`PoseFilter`, the one smoothing type of posekit: the
tracker takes one (``Tracker(smoother=...)``, default ``"mediapipe"`` =
:meth:`PoseSmoother.mediapipe`) and so does :class:`posekit.analyzers.Pipeline`
(``filters=[...]``). The equations and the presets' origin: ``docs/design/smoothing.md``.

Example:
    >>> import numpy as np
    >>> from posekit.filters import OneEuroFilter
    >>> f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    >>> f(np.array([0.0]), 0.0).tolist()  # first sample passes through
    [0.0]
    >>> te = 0.1; alpha = 1 / (1 + 1 / (2 * np.pi * 1.0) / te)
    >>> bool(np.isclose(f(np.array([1.0]), 0.1)[0], alpha))
    True
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from posekit.errors import InputError
from posekit.pose import Pose

__all__ = [
    "AUXILIARY_LANDMARKS",
    "IMAGE_LANDMARKS",
    "MIN_OBJECT_SCALE",
    "SEGMENTATION_PREVIOUS_RATIO",
    "VISIBILITY_ALPHA",
    "WORLD_LANDMARKS",
    "Filter",
    "LowPassFilter",
    "OneEuroFilter",
    "OneEuroParams",
    "PoseFilter",
    "PoseSmoother",
    "RelativeVelocityFilter",
    "SegmentationSmoother",
    "pose_object_scale",
]

logger = logging.getLogger(__name__)

#: Below this object scale (pixels) smoothing is skipped, like MediaPipe's
#: ``min_allowed_object_scale`` default (1e-6).
MIN_OBJECT_SCALE = 1e-6

Derivative = Literal["raw", "filtered"]


class Filter(ABC):
    """A stateful filter over arrays of values sampled at increasing timestamps (seconds)."""

    @abstractmethod
    def __call__(
        self, values: ArrayLike, timestamp: float, scale: float | None = None
    ) -> NDArray[np.float64]:
        """Filter ``values`` observed at ``timestamp``; ``scale`` is the object size (or None)."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all history: the next sample passes through."""

    def _skip(
        self, previous: NDArray[np.float64], x: NDArray[np.float64], t: float, t0: float
    ) -> bool:
        """Check ``x`` against the previous sample's shape; True when ``t`` is not later than
        the previous timestamp ``t0`` (the value then passes through unfiltered, as in
        MediaPipe; one warning per filter)."""
        if x.shape != previous.shape:
            raise InputError(
                f"the filter was fed shape {previous.shape} before and {x.shape} now: call "
                "reset() before changing the number of values"
            )
        if t > t0:
            return False
        if not getattr(self, "_warned", False):
            logger.warning(
                "timestamp %.6f s is not later than the previous %.6f s: value passed "
                "through unfiltered",
                t,
                t0,
            )
            self._warned = True
        return True


def _alpha(cutoff: NDArray[np.float64] | float, te: float) -> NDArray[np.float64]:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / te), dtype=np.float64)


class OneEuroFilter(Filter):
    """Vectorised One Euro filter (the exact equations: ``docs/design/smoothing.md``).

    Args:
        min_cutoff: minimum cutoff frequency in Hz (> 0): lower = smoother at rest.
        beta: speed coefficient (>= 0): higher = less lag when moving.
        derivate_cutoff: cutoff in Hz of the derivative low-pass (> 0).
        derivative: ``"raw"`` (MediaPipe) or ``"filtered"`` previous value for the derivative.
    """

    def __init__(
        self,
        min_cutoff: float = 1.0,
        beta: float = 0.0,
        derivate_cutoff: float = 1.0,
        *,
        derivative: Derivative = "raw",
    ) -> None:
        if not min_cutoff > 0 or not derivate_cutoff > 0 or not beta >= 0:
            raise InputError(
                f"One Euro needs min_cutoff > 0, derivate_cutoff > 0 and beta >= 0, got "
                f"min_cutoff={min_cutoff}, derivate_cutoff={derivate_cutoff}, beta={beta}"
            )
        if derivative not in ("raw", "filtered"):
            raise InputError(f"derivative={derivative!r}: use 'raw' or 'filtered'")
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.derivate_cutoff = float(derivate_cutoff)
        self.derivative: Derivative = derivative
        self._warned = False
        self.reset()

    def reset(self) -> None:
        self._x: NDArray[np.float64] | None = None  # last filtered value
        self._raw: NDArray[np.float64] | None = None  # last raw value
        self._dx: NDArray[np.float64] | None = None  # last filtered derivative
        self._t: float | None = None

    def __call__(
        self, values: ArrayLike, timestamp: float, scale: float | None = None
    ) -> NDArray[np.float64]:
        x = np.array(values, dtype=np.float64)  # copy: the caller's array is never aliased
        t = float(timestamp)
        if self._x is None or self._raw is None or self._dx is None or self._t is None:
            self._x, self._raw, self._dx, self._t = x.copy(), x.copy(), np.zeros_like(x), t
            return x
        if self._skip(self._x, x, t, self._t):
            return x
        if scale is not None and scale < MIN_OBJECT_SCALE:
            return x
        te = t - self._t
        ref = self._raw if self.derivative == "raw" else self._x
        dx = (x - ref) / te
        if scale is not None:
            dx /= scale
        edx = self._dx + _alpha(self.derivate_cutoff, te) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(edx)
        out = self._x + _alpha(cutoff, te) * (x - self._x)
        self._x, self._raw, self._dx, self._t = out, x, edx, t
        return np.array(out, dtype=np.float64)


class LowPassFilter(Filter):
    """Exponential smoothing with a fixed ``alpha``: ``out = alpha * x + (1 - alpha) * prev``.

    Timestamps are not used (MediaPipe's visibility smoothing); ``scale`` is ignored.

    >>> f = LowPassFilter(0.1)
    >>> f([1.0], 0.0).tolist(), f([0.0], 1.0).tolist()
    ([1.0], [0.9])
    """

    def __init__(self, alpha: float) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise InputError(f"alpha={alpha} must be in [0, 1]")
        self.alpha = float(alpha)
        self.reset()

    def reset(self) -> None:
        self._prev: NDArray[np.float64] | None = None

    def __call__(
        self, values: ArrayLike, timestamp: float, scale: float | None = None
    ) -> NDArray[np.float64]:
        x = np.array(values, dtype=np.float64)
        if self._prev is None or self._prev.shape != x.shape:
            self._prev = x.copy()
            return x
        self._prev = np.asarray(self.alpha * x + (1.0 - self.alpha) * self._prev, np.float64)
        return np.array(self._prev, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class OneEuroParams:
    """A One Euro preset. ``scale_by_object``: divide the derivative by the object size."""

    min_cutoff: float
    beta: float
    derivate_cutoff: float = 1.0
    scale_by_object: bool = True

    def make(self, derivative: Derivative = "raw") -> OneEuroFilter:
        """A fresh filter with these parameters."""
        return OneEuroFilter(
            self.min_cutoff, self.beta, self.derivate_cutoff, derivative=derivative
        )


#: 33 image landmarks in pixels (x, y, z): MediaPipe ``pose_landmark_filtering``.
IMAGE_LANDMARKS = OneEuroParams(min_cutoff=0.05, beta=80.0, derivate_cutoff=1.0)
#: 33 world landmarks in metres: no object scaling.
WORLD_LANDMARKS = OneEuroParams(
    min_cutoff=0.1, beta=40.0, derivate_cutoff=1.0, scale_by_object=False
)
#: The 2 auxiliary ROI points: heavier smoothing so the crop stays steady.
AUXILIARY_LANDMARKS = OneEuroParams(min_cutoff=0.01, beta=10.0, derivate_cutoff=1.0)
#: Low-pass factor of the visibility smoothing.
VISIBILITY_ALPHA = 0.1


class RelativeVelocityFilter(Filter):
    """MediaPipe's "velocity filter" (``relative_velocity_filter.cc``), vectorised.

    A low-pass whose factor grows with the recent speed of each value:
    ``alpha = 1 - 1 / (1 + velocity_scale * |velocity|)``, where ``velocity`` is the distance
    travelled over the last up to ``window_size`` steps divided by their duration (seconds).
    Older steps are left out once the summed duration would exceed ``(1 + n) / 30`` s for
    ``n`` stored steps (MediaPipe assumes 30 fps). Distances are ``(x - x_prev) / scale`` when
    ``scale`` (the object size) is given, which makes the filter translation invariant and
    scale invariant (MediaPipe's ``kForceCurrentScale`` mode).

    The first sample passes through (alpha 1); a timestamp not later than the previous one
    passes the input through unfiltered and keeps the state; ``scale`` below
    :data:`MIN_OBJECT_SCALE` passes the input through.

    Args:
        window_size: how many past steps enter the velocity (MediaPipe: 5).
        velocity_scale: higher = less smoothing when moving (MediaPipe uses 10-20).

    Example:
        >>> f = RelativeVelocityFilter(window_size=5, velocity_scale=10.0)
        >>> f([0.0], 0.0).tolist()
        [0.0]
        >>> v = 1.0 / 0.1; a = 1 - 1 / (1 + 10.0 * v)  # moved 1 in 0.1 s
        >>> bool(abs(f([1.0], 0.1)[0] - a) < 1e-12)
        True
    """

    #: MediaPipe's assumed longest useful duration of one window step (1/30 s).
    MAX_STEP_DURATION = 1.0 / 30.0

    def __init__(self, window_size: int = 5, velocity_scale: float = 10.0) -> None:
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
            raise InputError(f"window_size={window_size!r} must be an int >= 1 (MediaPipe: 5)")
        if not (math.isfinite(velocity_scale) and velocity_scale > 0):
            raise InputError(f"velocity_scale={velocity_scale!r} must be > 0 (MediaPipe: 10-20)")
        self.window_size = window_size
        self.velocity_scale = float(velocity_scale)
        self._warned = False
        self.reset()

    def reset(self) -> None:
        self._distances: list[NDArray[np.float64]] = []  # newest first
        self._durations: list[float] = []
        self._raw: NDArray[np.float64] | None = None
        self._out: NDArray[np.float64] | None = None
        self._t: float | None = None

    def __call__(
        self, values: ArrayLike, timestamp: float, scale: float | None = None
    ) -> NDArray[np.float64]:
        x = np.array(values, dtype=np.float64)
        t = float(timestamp)
        if self._raw is None or self._out is None or self._t is None:
            self._raw, self._out, self._t = x.copy(), x.copy(), t
            return x
        if self._skip(self._raw, x, t, self._t):
            return x
        if scale is not None and scale < MIN_OBJECT_SCALE:
            return x
        distance = x - self._raw
        if scale is not None:
            distance /= scale
        duration = t - self._t
        total_distance = distance.copy()
        total_duration = duration
        limit = (1 + len(self._durations)) * self.MAX_STEP_DURATION
        for past_distance, past_duration in zip(self._distances, self._durations, strict=True):
            if total_duration + past_duration > limit:
                break
            total_distance += past_distance
            total_duration += past_duration
        speed = np.abs(total_distance) / total_duration
        alpha = 1.0 - 1.0 / (1.0 + self.velocity_scale * speed)
        self._distances.insert(0, distance)
        self._durations.insert(0, duration)
        del self._distances[self.window_size :], self._durations[self.window_size :]
        out: NDArray[np.float64] = self._out + alpha * (x - self._out)
        self._raw, self._out, self._t = x, out, t
        return np.array(out, dtype=np.float64)


#: MediaPipe's pose graph mixes at most this share of the previous mask into the new one
#: (``combine_with_previous_ratio`` in ``pose_segmentation_filtering.pbtxt``).
SEGMENTATION_PREVIOUS_RATIO = 0.7

# Polynomial in x = (p - 0.5)^2 approximating 1 - squared binary-entropy uncertainty of p
# (MediaPipe's segmentation_smoothing_calculator.cc; Horner order, highest power first).
_MASK_POLY = (-624.717, 291.309, -57.8051, -0.748699, 5.68842)


class SegmentationSmoother:
    """Temporal smoothing of a person mask, as MediaPipe's SegmentationSmoothingCalculator.

    Each pixel of the new mask ``p`` keeps its value where the model is sure (``p`` near 0 or
    1) and moves towards the previous output where it is unsure (``p`` near 0.5):
    ``out = p + (prev - p) * u(p) * ratio``, with ``u(p) = 1 - min(1, x * poly(x))``,
    ``x = (p - 0.5)^2`` (a polynomial fit of the squared binary-entropy uncertainty). The
    first mask, the first after :meth:`reset`, and a mask of another shape pass through.
    One new array per frame (the returned mask); the working buffers are reused. Cost: about
    1 ms for a 1080 x 608 mask on the 2-core benchmark machine (the mask's warp costs 0.5 ms).

    Example:
        >>> import numpy as np
        >>> sm = SegmentationSmoother()
        >>> sm(np.array([[0.5, 1.0]], np.float32)).tolist()  # first mask passes through
        [[0.5, 1.0]]
        >>> out = sm(np.array([[0.9, 1.0]], np.float32))
        >>> 0.5 < float(out[0, 0]) < 0.9, float(out[0, 1])  # unsure pixel pulled back
        (True, 1.0)
    """

    def __init__(self, ratio: float = SEGMENTATION_PREVIOUS_RATIO) -> None:
        if not 0.0 <= float(ratio) <= 1.0:
            raise InputError(f"ratio={ratio} is outside [0, 1]: pass a share of the previous mask")
        self.ratio = float(ratio)
        self._prev: NDArray[np.float32] | None = None
        self._work: NDArray[np.float32] | None = None

    def reset(self) -> None:
        """Forget the previous mask (the next one passes through)."""
        self._prev = None

    def __call__(self, mask: NDArray[np.float32]) -> NDArray[np.float32]:
        """The smoothed mask: a new float32 array the caller owns (a pass-through returns
        ``mask`` itself when it already is float32). ``mask`` is not modified."""
        new = np.asarray(mask, dtype=np.float32)
        prev = self._prev
        if prev is None or prev.shape != new.shape or self.ratio == 0.0:
            self._prev = np.array(new, dtype=np.float32, copy=True)  # private: callers may edit
            return new
        work = self._work
        if work is None or work.shape != new.shape:
            work = self._work = np.empty_like(new)
        out = np.empty_like(new)
        # x = (p - 0.5)^2 in ``work``; out = x * (c1 + x * (c2 + ...)) by Horner, in place
        np.subtract(new, np.float32(0.5), out=work)
        np.multiply(work, work, out=work)
        np.multiply(work, np.float32(_MASK_POLY[0]), out=out)
        for c in _MASK_POLY[1:]:
            out += np.float32(c)
            out *= work
        # weight = (1 - min(1, out)) * ratio;  out = p + (prev - p) * weight
        np.minimum(out, np.float32(1.0), out=out)
        np.subtract(np.float32(1.0), out, out=out)
        out *= np.float32(self.ratio)
        np.subtract(prev, new, out=work)
        work *= out
        np.add(new, work, out=out)
        np.copyto(prev, out)
        return out


def pose_object_scale(pose: Pose) -> float:
    """The object size (pixels) of a pose: the mean of its landmarks' bounding-box sides.

    This is MediaPipe's ``GetObjectScale`` for landmarks without a ROI (the tracker itself uses
    the auxiliary ROI, which the pose does not carry).

    Example:
        >>> import numpy as np
        >>> xy = np.zeros((33, 2)); xy[1] = (100.0, 300.0)
        >>> pose_object_scale(Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0))
        200.0
    """
    xy = pose.xy
    extent = xy.max(axis=0) - xy.min(axis=0)
    return float(extent[0] + extent[1]) * 0.5


class PoseFilter(ABC):
    """A stateful transform of a pose stream: ``filter(pose, timestamp) -> Pose``.

    The plugin pipeline (:class:`posekit.analyzers.Pipeline`) calls every pose filter on each
    frame's pose in order, and :meth:`reset` when the person is lost or a stream starts.
    Write your own by implementing both methods.

    Example:
        >>> class Mirror(PoseFilter):
        ...     def __call__(self, pose: Pose, timestamp: float) -> Pose:
        ...         return pose.flipped()
        ...     def reset(self) -> None:
        ...         pass
    """

    @abstractmethod
    def __call__(self, pose: Pose, timestamp: float) -> Pose:
        """The transformed pose observed at ``timestamp`` seconds."""

    @abstractmethod
    def reset(self) -> None:
        """Forget all history (person lost, new stream)."""

    def apply(self, pose: Pose, timestamp: float, object_scale: float | None = None) -> Pose:
        """The filtered pose, given the person's size in pixels when the caller knows it.

        ``object_scale`` is MediaPipe's smoothing scale: the mean side of the ROI built from
        the auxiliary points 33/34 (``FrameResult.object_scale``). The tracker and the pipeline
        call this; the default ignores the scale and calls the filter.
        """
        return self(pose, timestamp)


class PoseSmoother(PoseFilter):
    """Smooth a whole :class:`~posekit.pose.Pose` with swappable :class:`Filter` strategies.

    One strategy instance per stream: ``image`` filters the ``(33, 3)`` pixel ``[x, y, z]``,
    ``world`` the metric world landmarks (when the pose has them), ``visibility`` the
    visibilities (clipped to [0, 1] afterwards). ``None`` leaves that part unchanged; presence
    and score are passed through. With ``scale_by_object`` the image strategy gets the pose's
    object size (:func:`pose_object_scale`) as its ``scale``, so its speed is measured in object
    sizes per second (MediaPipe's value scaling); the world strategy never gets a scale.
    The object size is MediaPipe's ``LandmarksSmoothingCalculator``'s: the ``object_scale``
    passed to :meth:`apply` (the tracker and the pipeline pass the auxiliary-point ROI's mean
    side, as MediaPipe's pose graph does), else the landmarks' own bounding box
    (:func:`pose_object_scale`, the calculator without a ROI input).

    Pass a fresh strategy instance to each argument (they hold state). The constructors
    :meth:`mediapipe` and :meth:`relative_velocity` build MediaPipe's settings.

    Example:
        >>> import numpy as np
        >>> smoother = PoseSmoother.mediapipe()  # MediaPipe's pose smoothing
        >>> swap = PoseSmoother(image=RelativeVelocityFilter(5, 10.0), world=None)
        >>> xy = np.random.default_rng(0).uniform(0, 400, (33, 2))
        >>> p = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
        >>> smoother(p, 0.0) == p  # the first pose passes through
        True
        >>> q = smoother(Pose(xy + 5, np.zeros(33), np.ones(33), np.ones(33), score=1.0), 0.04)
        >>> bool(np.all((q.xy > xy) & (q.xy < xy + 5)))
        True
    """

    def __init__(
        self,
        image: Filter | None = None,
        world: Filter | None = None,
        visibility: Filter | None = None,
        *,
        scale_by_object: bool = True,
    ) -> None:
        strategies = [s for s in (image, world, visibility) if s is not None]
        if len({id(s) for s in strategies}) != len(strategies):
            raise InputError(
                "PoseSmoother got the same filter instance twice: a filter holds the state of "
                "one stream, pass a separate instance to image, world and visibility"
            )
        self.image = image
        self.world = world
        self.visibility = visibility
        self.scale_by_object = bool(scale_by_object)

    @classmethod
    def mediapipe(cls, derivative: Derivative = "raw") -> PoseSmoother:
        """MediaPipe's pose smoothing (``pose_landmark_filtering.pbtxt``), the tracker's
        ``smoother="mediapipe"``: One Euro presets :data:`IMAGE_LANDMARKS` (by object scale)
        and :data:`WORLD_LANDMARKS`, visibility low-pass :data:`VISIBILITY_ALPHA`."""
        return cls(
            IMAGE_LANDMARKS.make(derivative),
            WORLD_LANDMARKS.make(derivative),
            LowPassFilter(VISIBILITY_ALPHA),
        )

    @classmethod
    def relative_velocity(cls, window_size: int = 5, velocity_scale: float = 10.0) -> PoseSmoother:
        """The velocity-filter alternative for image and world landmarks (visibility low-pass
        :data:`VISIBILITY_ALPHA`)."""
        return cls(
            RelativeVelocityFilter(window_size, velocity_scale),
            RelativeVelocityFilter(window_size, velocity_scale),
            LowPassFilter(VISIBILITY_ALPHA),
        )

    def reset(self) -> None:
        for strategy in (self.image, self.world, self.visibility):
            if strategy is not None:
                strategy.reset()

    def __call__(self, pose: Pose, timestamp: float) -> Pose:
        return self.apply(pose, timestamp)

    def apply(self, pose: Pose, timestamp: float, object_scale: float | None = None) -> Pose:
        scale = None
        if self.image is not None and self.scale_by_object:
            scale = pose_object_scale(pose) if object_scale is None else object_scale
        xyz, world, visibility = self.smooth_arrays(
            pose.xyz, pose.world, pose.visibility, timestamp, scale
        )
        return Pose(
            xyz[:, :2],
            xyz[:, 2],
            np.minimum(np.maximum(visibility, 0.0), 1.0),
            pose.presence,
            score=pose.score,
            world=world,
            image_size=pose.image_size,
        )

    def smooth_arrays(
        self,
        xyz: NDArray[Any],
        world: NDArray[Any] | None,
        visibility: NDArray[Any],
        timestamp: float,
        scale: float | None,
    ) -> tuple[NDArray[Any], NDArray[Any] | None, NDArray[Any]]:
        """The arrays behind :meth:`apply` (the tracker's per-frame path, no Pose built):
        ``xyz (N, 3)`` pixels, ``world (N, 3)`` or None, ``visibility (N,)`` (not clipped),
        ``scale`` the object size for the image strategy (None: no value scaling). Parts
        without a strategy come back as given."""
        out_xyz: NDArray[Any] = xyz if self.image is None else self.image(xyz, timestamp, scale)
        if world is not None and self.world is not None:
            world = self.world(world, timestamp)
        if self.visibility is not None:
            visibility = self.visibility(visibility, timestamp)
        return out_xyz, world, visibility

    def __repr__(self) -> str:
        return (
            f"PoseSmoother(image={type(self.image).__name__}, world={type(self.world).__name__}, "
            f"visibility={type(self.visibility).__name__}, scale_by_object={self.scale_by_object})"
        )
