"""The :class:`Pose` value type (one tracked body, 33 keypoints) and its per-keypoint view.

A :class:`Pose` holds read-only float32 numpy arrays; a :class:`Landmark` is the typed view of one
keypoint. Both are immutable values: equal when their numbers are equal, hashable, picklable.

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> from posekit.topology import Keypoint
    >>> xy = np.tile(np.float32([320.0, 240.0]), (33, 1))
    >>> ones = np.ones(33, np.float32)
    >>> pose = Pose(xy, np.zeros(33, np.float32), ones, ones, score=0.9, image_size=(640, 480))
    >>> pose[Keypoint.LEFT_KNEE].x, pose["left_knee"].visibility
    (320.0, 1.0)
    >>> pose.normalized()[0].tolist()
    [0.5, 0.5]
    >>> Pose.from_json(pose.to_json()) == pose
    True
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, NoReturn, SupportsFloat

import numpy as np
import numpy.typing as npt

from posekit.errors import InputError
from posekit.topology import COCO17_FROM_BLAZEPOSE, FLIP_PERMUTATION, NUM_KEYPOINTS, Keypoint

if TYPE_CHECKING:
    from posekit.schema import PoseModel

__all__ = ["F32Array", "KeypointKey", "Landmark", "Pose"]

F32Array = npt.NDArray[np.float32]
"""A numpy float32 array (the storage type of every :class:`Pose` array)."""

KeypointKey = Keypoint | int | str
"""What ``pose[key]`` accepts: a :class:`Keypoint`, an index 0..32 or a name like 'left_knee'."""

_F32: Final = np.dtype(np.float32)
_XY_SHAPE: Final = (NUM_KEYPOINTS, 2)
_VEC_SHAPE: Final = (NUM_KEYPOINTS,)
_WORLD_SHAPE: Final = (NUM_KEYPOINTS, 3)
_KEYPOINTS: Final = tuple(Keypoint)
_NUMERIC_KINDS: Final = "fiu"
_add_reduce = np.add.reduce
_min_reduce = np.minimum.reduce
_max_reduce = np.maximum.reduce


@dataclass(frozen=True, slots=True)
class Landmark:
    """One keypoint of a :class:`Pose`: pixel position, depth, confidences, metric position.

    Attributes:
        keypoint: Which of the 33 keypoints this is.
        x: Horizontal pixel coordinate in the frame (may lie outside it).
        y: Vertical pixel coordinate (downwards).
        z: Depth on the scale of ``x``; smaller is nearer the camera, origin at the hips.
        visibility: Probability in [0, 1] that the keypoint is visible (not occluded).
        presence: Probability in [0, 1] that the keypoint is inside the frame.
        world: Metric ``(x, y, z)`` in metres, origin between the hips, or ``None``.

    Example:
        >>> lm = Landmark(Keypoint.NOSE, 10.0, 20.0, -3.0, 0.9, 0.95)
        >>> lm.xy, lm.keypoint.label
        ((10.0, 20.0), 'nose')
    """

    keypoint: Keypoint
    x: float
    y: float
    z: float
    visibility: float
    presence: float
    world: tuple[float, float, float] | None = None

    @property
    def xy(self) -> tuple[float, float]:
        """``(x, y)`` in pixels."""
        return (self.x, self.y)


class Pose:
    """One detected body: 33 keypoints in pixels plus confidences, held in read-only arrays.

    Args:
        xy: ``(33, 2)`` pixel coordinates ``[x, y]`` of the keypoints in the frame.
        z: ``(33,)`` depth, same scale as x (MediaPipe convention: origin at the hips, smaller is
            nearer the camera).
        visibility: ``(33,)`` probability in [0, 1] that each keypoint is visible.
        presence: ``(33,)`` probability in [0, 1] that each keypoint is inside the frame.
        score: Overall pose presence score in [0, 1].
        world: ``(33, 3)`` metric coordinates in metres (origin between the hips), or ``None``.
        image_size: ``(width, height)`` of the frame the pixel coordinates refer to, or ``None``.

    Storage and ownership: arrays are stored as float32. An input that already is a C-contiguous
    float32 ndarray is *not copied*: the Pose keeps a read-only view of it, so the caller hands it
    over and must not write to it afterwards (pass ``a.copy()`` to keep writing to ``a``). Any
    other input (float64, int, lists, strided views) is converted, which copies.

    Validation policy (raises :class:`~posekit.errors.InputError`, whose message names the array
    and the offending keypoints):

    * shapes must be exactly as above; dtypes must be numeric (float, int, unsigned), so strings,
      objects, booleans and complex numbers are refused;
    * every value must be finite: NaN and inf are refused in all arrays. A keypoint the model
      is unsure of still has a position; its low ``visibility``/``presence`` say how much to
      trust it. Do not encode "missing" as NaN (that is how a bug would look);
    * ``visibility``, ``presence`` and ``score`` must lie in [0, 1] (probabilities, i.e. after the
      sigmoid); coordinates and depth may take any finite value (keypoints can lie outside the
      frame);
    * ``image_size`` must be two positive ints.

    Example:
        >>> import numpy as np
        >>> xy = np.zeros((33, 2), np.float32)
        >>> p = Pose(xy, np.zeros(33), np.full(33, 0.8), np.ones(33), score=0.97)
        >>> len(p), p.xy.dtype, p.xy.flags.writeable
        (33, dtype('float32'), False)
        >>> nan_xy = np.full((33, 2), np.nan)
        >>> Pose(nan_xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        posekit.errors.InputError: xy has non-finite values (NaN or inf) at NOSE, ...
    """

    __slots__ = ("_image_size", "_presence", "_score", "_visibility", "_world", "_xy", "_z")

    _xy: F32Array
    _z: F32Array
    _visibility: F32Array
    _presence: F32Array
    _world: F32Array | None
    _score: float
    _image_size: tuple[int, int] | None

    def __init__(
        self,
        xy: npt.ArrayLike,
        z: npt.ArrayLike,
        visibility: npt.ArrayLike,
        presence: npt.ArrayLike,
        *,
        score: SupportsFloat,
        world: npt.ArrayLike | None = None,
        image_size: tuple[int, int] | None = None,
    ) -> None:
        xy_a = _as_f32("xy", xy, _XY_SHAPE)
        z_a = _as_f32("z", z, _VEC_SHAPE)
        vis_a = _as_f32("visibility", visibility, _VEC_SHAPE)
        pres_a = _as_f32("presence", presence, _VEC_SHAPE)
        world_a = None if world is None else _as_f32("world", world, _WORLD_SHAPE)
        # Float32 sums taken in float64 cannot overflow (33 * 3 * 3.4e38 << 1.8e308), so the total
        # is finite exactly when every element is: one cheap test for all coordinate arrays.
        total = _add_reduce(xy_a, None, np.float64) + _add_reduce(z_a, None, np.float64)
        if world_a is not None:
            total += _add_reduce(world_a, None, np.float64)
        if not math.isfinite(total):
            _raise_non_finite(xy=xy_a, z=z_a, world=world_a)
        # NaN fails both comparisons, so this also rejects non-finite probabilities.
        if not (_min_reduce(vis_a, None) >= 0.0 and _max_reduce(vis_a, None) <= 1.0):
            _raise_not_unit("visibility", vis_a)
        if not (_min_reduce(pres_a, None) >= 0.0 and _max_reduce(pres_a, None) <= 1.0):
            _raise_not_unit("presence", pres_a)
        self._xy = xy_a
        self._z = z_a
        self._visibility = vis_a
        self._presence = pres_a
        self._world = world_a
        self._score = _as_score(score)
        self._image_size = None if image_size is None else _as_image_size(image_size)

    # ------------------------------------------------------------------ arrays and scalars
    @property
    def xy(self) -> F32Array:
        """Read-only ``(33, 2)`` float32 pixel coordinates ``[x, y]``."""
        return self._xy

    @property
    def z(self) -> F32Array:
        """Read-only ``(33,)`` float32 depth on the scale of x (smaller is nearer)."""
        return self._z

    @property
    def visibility(self) -> F32Array:
        """Read-only ``(33,)`` float32 visibility probabilities."""
        return self._visibility

    @property
    def presence(self) -> F32Array:
        """Read-only ``(33,)`` float32 in-frame probabilities."""
        return self._presence

    @property
    def world(self) -> F32Array | None:
        """Read-only ``(33, 3)`` float32 metric coordinates in metres, or ``None``."""
        return self._world

    @property
    def score(self) -> float:
        """Overall pose presence score in [0, 1]."""
        return self._score

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the frame the pixel coordinates refer to, or ``None``."""
        return self._image_size

    @property
    def xyz(self) -> F32Array:
        """A new ``(33, 3)`` float32 array ``[x, y, z]`` (pixels, z on the scale of x)."""
        return np.concatenate((self._xy, self._z[:, None]), axis=1)

    def normalized(self) -> F32Array:
        """A new ``(33, 2)`` float32 array of ``xy / (width, height)`` (0..1 inside the frame).

        Raises:
            InputError: the pose has no ``image_size``.

        Example:
            >>> import numpy as np
            >>> p = Pose(np.full((33, 2), 100.0), np.zeros(33), np.ones(33), np.ones(33),
            ...          score=1.0, image_size=(200, 400))
            >>> p.normalized()[0].tolist()
            [0.5, 0.25]
        """
        if self._image_size is None:
            raise InputError(
                "this Pose has no image_size, so its pixels cannot be normalised: construct it "
                "with image_size=(width, height)"
            )
        scale = np.array(self._image_size, dtype=np.float32)
        return np.divide(self._xy, scale).astype(np.float32, copy=False)

    def to_coco17(self) -> F32Array:
        """A new ``(17, 3)`` float32 array of ``[x, y, visibility]`` in COCO-17 keypoint order.

        Example:
            >>> import numpy as np
            >>> xy = np.arange(66, dtype=np.float32).reshape(33, 2)
            >>> p = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
            >>> p.to_coco17()[1].tolist()  # COCO left_eye = BlazePose LEFT_EYE (2)
            [4.0, 5.0, 1.0]
        """
        out = np.empty((len(COCO17_FROM_BLAZEPOSE), 3), dtype=np.float32)
        out[:, :2] = self._xy[COCO17_FROM_BLAZEPOSE]
        out[:, 2] = self._visibility[COCO17_FROM_BLAZEPOSE]
        return out

    def flipped(self, width: float | None = None) -> Pose:
        """The mirror image: ``x -> width - x``, world ``x -> -x``, left and right swapped.

        ``width`` defaults to ``image_size[0]``. Mirroring a pose of a mirrored frame gives the
        pose of the original frame (horizontal-flip test-time augmentation).

        Raises:
            InputError: no ``width`` given and the pose has no ``image_size``; bad ``width``.

        Example:
            >>> import numpy as np
            >>> from posekit.topology import Keypoint
            >>> xy = np.zeros((33, 2), np.float32); xy[Keypoint.LEFT_KNEE] = (10.0, 50.0)
            >>> p = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
            >>> p.flipped(640)[Keypoint.RIGHT_KNEE].xy
            (630.0, 50.0)
        """
        if width is None:
            if self._image_size is None:
                raise InputError(
                    "flipped() needs the frame width: pass flipped(width) or construct the Pose "
                    "with image_size=(width, height)"
                )
            width = self._image_size[0]
        if isinstance(width, bool) or not isinstance(width, numbers.Real):
            raise InputError(f"flip width must be a number of pixels, got {width!r}")
        if not (math.isfinite(width) and width > 0):
            raise InputError(f"flip width must be finite and positive, got {width!r}")
        xy = self._xy[FLIP_PERMUTATION]
        xy[:, 0] = np.float32(width) - xy[:, 0]
        world = None
        if self._world is not None:
            world = self._world[FLIP_PERMUTATION]
            np.negative(world[:, 0], out=world[:, 0])
        return Pose(
            xy,
            self._z[FLIP_PERMUTATION],
            self._visibility[FLIP_PERMUTATION],
            self._presence[FLIP_PERMUTATION],
            score=self._score,
            world=world,
            image_size=self._image_size,
        )

    # ------------------------------------------------------------------ per-keypoint access
    def __len__(self) -> int:
        return NUM_KEYPOINTS

    def __getitem__(self, key: KeypointKey) -> Landmark:
        """The :class:`Landmark` of one keypoint: ``pose[Keypoint.LEFT_KNEE]``, ``pose[25]``,
        ``pose["left_knee"]``.

        Raises:
            InputError: unknown name, index outside 0..32 (negative indices are refused: an index
                names a keypoint, it is not a position), or a key of another type.
        """
        i: int = key._value_ if type(key) is Keypoint else _keypoint_index(key)
        xy = self._xy
        world = self._world
        return Landmark(
            _KEYPOINTS[i],
            xy.item(i, 0),
            xy.item(i, 1),
            self._z.item(i),
            self._visibility.item(i),
            self._presence.item(i),
            None if world is None else (world.item(i, 0), world.item(i, 1), world.item(i, 2)),
        )

    def __iter__(self) -> Iterator[Landmark]:
        """The 33 landmarks in keypoint order."""
        worlds: list[list[float]] | list[None]
        worlds = [None] * NUM_KEYPOINTS if self._world is None else self._world.tolist()
        for k, (x, y), z, v, p, w in zip(
            _KEYPOINTS,
            self._xy.tolist(),
            self._z.tolist(),
            self._visibility.tolist(),
            self._presence.tolist(),
            worlds,
            strict=True,
        ):
            yield Landmark(k, x, y, z, v, p, None if w is None else (w[0], w[1], w[2]))

    # ------------------------------------------------------------------ value semantics
    def __eq__(self, other: object) -> bool:
        """Exact equality of every number (``0.0 == -0.0``), world presence and image size."""
        if not isinstance(other, Pose):
            return NotImplemented
        if self is other:
            return True
        world, other_world = self._world, other._world
        if world is None or other_world is None:
            if world is not other_world:
                return False
        elif not np.array_equal(world, other_world):
            return False
        return (
            self._score == other._score
            and self._image_size == other._image_size
            and np.array_equal(self._xy, other._xy)
            and np.array_equal(self._z, other._z)
            and np.array_equal(self._visibility, other._visibility)
            and np.array_equal(self._presence, other._presence)
        )

    def __hash__(self) -> int:
        # "+ 0" turns -0.0 into 0.0 so that equal poses hash equally.
        zero = np.float32(0.0)
        arrays = [self._xy, self._z, self._visibility, self._presence]
        if self._world is not None:
            arrays.append(self._world)
        return hash((self._score, self._image_size, *[(a + zero).tobytes() for a in arrays]))

    def allclose(self, other: Pose, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
        """Whether every array is ``numpy.allclose`` to ``other``'s (same ``rtol``/``atol``
        for all), the scores are close and the image sizes equal.

        Example:
            >>> import numpy as np
            >>> a = Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33), np.ones(33), score=0.5)
            >>> b = Pose(np.full((33, 2), 1e-3), np.zeros(33), np.ones(33), np.ones(33), score=0.5)
            >>> a.allclose(b), a.allclose(b, atol=1e-2)
            (False, True)
        """
        if not isinstance(other, Pose):
            raise InputError(f"allclose() compares two Poses, got {type(other).__name__}")
        if (self._world is None) != (other._world is None) or self._image_size != other._image_size:
            return False
        return (
            math.isclose(self._score, other._score, rel_tol=rtol, abs_tol=atol)
            and np.allclose(self._xy, other._xy, rtol=rtol, atol=atol)
            and np.allclose(self._z, other._z, rtol=rtol, atol=atol)
            and np.allclose(self._visibility, other._visibility, rtol=rtol, atol=atol)
            and np.allclose(self._presence, other._presence, rtol=rtol, atol=atol)
            and (
                self._world is None
                or other._world is None
                or bool(np.allclose(self._world, other._world, rtol=rtol, atol=atol))
            )
        )

    def __repr__(self) -> str:
        xmin, ymin = self._xy.min(axis=0).tolist()
        xmax, ymax = self._xy.max(axis=0).tolist()
        visible = int(np.count_nonzero(self._visibility >= 0.5))
        return (
            f"Pose(score={self._score:.3f}, image_size={self._image_size}, "
            f"visible={visible}/{NUM_KEYPOINTS}, "
            f"bbox=({xmin:.1f}, {ymin:.1f}, {xmax:.1f}, {ymax:.1f}), "
            f"world={self._world is not None})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_pose,
            (
                self._xy,
                self._z,
                self._visibility,
                self._presence,
                self._score,
                self._world,
                self._image_size,
            ),
        )

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict (plain lists and floats, see :mod:`posekit.schema` for the layout).

        Floats are the exact float32 values, so ``Pose.from_dict(p.to_dict()) == p``.
        """
        from posekit.schema import SCHEMA_VERSION

        return {
            "schema_version": SCHEMA_VERSION,
            "score": self._score,
            "image_size": None if self._image_size is None else list(self._image_size),
            "xy": self._xy.tolist(),
            "z": self._z.tolist(),
            "visibility": self._visibility.tolist(),
            "presence": self._presence.tolist(),
            "world": None if self._world is None else self._world.tolist(),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """Serialise to JSON text (compact unless ``indent``); exact for the float32 values.

        Example:
            >>> import numpy as np
            >>> p = Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33), np.ones(33), score=0.5)
            >>> p.to_json()[:40]
            '{"schema_version":1,"score":0.5,"image_s'
        """
        import pydantic_core

        return pydantic_core.to_json(self.to_dict(), indent=indent).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Pose:
        """Build a Pose from :meth:`to_dict`'s layout, validating it.

        Raises:
            InputError: the dict does not follow the schema (the message lists every problem).
        """
        from pydantic import ValidationError

        from posekit.schema import PoseModel

        try:
            model = PoseModel.model_validate(data)
        except ValidationError as exc:
            raise _schema_error(exc) from exc
        return cls._from_model(model)

    @classmethod
    def from_json(cls, text: str | bytes) -> Pose:
        """Parse JSON written by :meth:`to_json`, validating it against :class:`PoseModel`.

        Raises:
            InputError: malformed JSON or a document that does not follow the schema.
        """
        from pydantic import ValidationError

        from posekit.schema import PoseModel

        try:
            model = PoseModel.model_validate_json(text)
        except ValidationError as exc:
            raise _schema_error(exc) from exc
        return cls._from_model(model)

    @classmethod
    def _from_model(cls, model: PoseModel) -> Pose:
        return cls(
            np.array(model.xy, dtype=np.float32),
            np.array(model.z, dtype=np.float32),
            np.array(model.visibility, dtype=np.float32),
            np.array(model.presence, dtype=np.float32),
            score=model.score,
            world=None if model.world is None else np.array(model.world, dtype=np.float32),
            image_size=model.image_size,
        )


# ---------------------------------------------------------------------- helpers


def _rebuild_pose(
    xy: F32Array,
    z: F32Array,
    visibility: F32Array,
    presence: F32Array,
    score: float,
    world: F32Array | None,
    image_size: tuple[int, int] | None,
) -> Pose:
    return Pose(xy, z, visibility, presence, score=score, world=world, image_size=image_size)


def _as_f32(name: str, value: npt.ArrayLike, shape: tuple[int, ...]) -> F32Array:
    """A read-only float32 C-contiguous view of ``value`` (copying only when it must)."""
    if type(value) is np.ndarray and value.dtype is _F32 and value.flags.c_contiguous:
        array: F32Array = value
    else:
        array = _convert(name, value, shape)
    if array.shape != shape:
        raise InputError(
            f"{name} must have shape {shape} (one row per BlazePose keypoint), got {array.shape}: "
            "pass the arrays of a single pose in Keypoint order"
        )
    view: F32Array = array.view()
    view.setflags(write=False)
    return view


def _convert(name: str, value: object, shape: tuple[int, ...]) -> F32Array:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists, unconvertible objects
        raise InputError(
            f"{name} must be a numeric array of shape {shape}, could not make an array of it "
            f"({exc}): pass an ndarray or equal-length nested lists of numbers"
        ) from exc
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise InputError(
            f"{name} must hold numbers (float, int or unsigned dtype), got dtype {array.dtype}: "
            f"convert it first, e.g. np.asarray({name}, dtype=np.float32)"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is reported later
        converted: F32Array = np.ascontiguousarray(array, dtype=np.float32)
    return converted


def _describe_keypoints(rows: npt.NDArray[np.intp]) -> str:
    names = [Keypoint(int(i)).name for i in rows[:6]]
    more = f" and {len(rows) - 6} more" if len(rows) > 6 else ""
    return ", ".join(names) + more


def _raise_non_finite(**arrays: F32Array | None) -> NoReturn:
    for name, array in arrays.items():
        if array is None:
            continue
        bad = ~np.isfinite(array.reshape(NUM_KEYPOINTS, -1)).all(axis=1)
        if bad.any():
            raise InputError(
                f"{name} has non-finite values (NaN or inf) at "
                f"{_describe_keypoints(np.flatnonzero(bad))}: a Pose holds finite numbers only "
                "(values beyond float32 range become inf); give an unreliable keypoint a finite "
                "position and low visibility/presence instead of NaN"
            )
    raise AssertionError("unreachable: no non-finite value found")  # pragma: no cover


def _raise_not_unit(name: str, array: F32Array) -> NoReturn:
    bad = ~((array >= 0.0) & (array <= 1.0))
    rows = np.flatnonzero(bad)
    values = ", ".join(f"{array[i]:g}" for i in rows[:6])
    raise InputError(
        f"{name} must lie in [0, 1] (a probability), got {values} at {_describe_keypoints(rows)}: "
        "apply the sigmoid to the model's raw logits before building a Pose"
    )


def _as_score(value: SupportsFloat) -> float:
    if type(value) is float:
        score = value
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if isinstance(value, np.ndarray):
            ok = value.ndim == 0 and value.dtype.kind in _NUMERIC_KINDS
        if not ok:
            raise InputError(
                f"score must be a real number in [0, 1], got {type(value).__name__} {value!r}"
            )
        score = float(value)
    if not 0.0 <= score <= 1.0:
        raise InputError(
            f"score must lie in [0, 1] (the pose presence probability), got {score!r}: apply the "
            "sigmoid to the model's raw logit"
        )
    return score


def _as_image_size(value: object) -> tuple[int, int]:
    width: object
    height: object
    try:
        width, height = value  # type: ignore[misc]
        if isinstance(width, bool) or isinstance(height, bool):
            raise TypeError("bool is not a pixel count")
        size = (operator.index(width), operator.index(height))  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"image_size must be (width, height) as two ints, got {value!r}: e.g. "
            "image_size=(frame.shape[1], frame.shape[0])"
        ) from exc
    if size[0] <= 0 or size[1] <= 0:
        raise InputError(f"image_size must be positive (width, height), got {size}")
    return size


def _keypoint_index(key: object) -> int:
    if isinstance(key, str):
        return int(Keypoint.from_name(key))
    if isinstance(key, bool):
        raise InputError(f"a pose is indexed by Keypoint, int 0..32 or name, got bool {key!r}")
    try:
        index = operator.index(key)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(
            f"a pose is indexed by Keypoint, int 0..32 or a keypoint name like 'left_knee', got "
            f"{type(key).__name__} {key!r}"
        ) from None
    if not 0 <= index < NUM_KEYPOINTS:
        raise InputError(
            f"keypoint index {index} is out of range: use 0..{NUM_KEYPOINTS - 1} "
            "(negative indices are not supported)"
        )
    return index


def _schema_error(exc: Exception) -> InputError:
    return InputError(
        f"not a valid posekit pose document: {exc}\nWrite poses with Pose.to_json()/to_dict(); "
        "the expected layout is posekit.schema.pose_json_schema()"
    )
