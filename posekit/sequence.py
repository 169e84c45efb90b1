"""The pose sequence container: ``[frames, people, points, dims]`` with named components.

:class:`PoseSequence` is the one offline format of posekit (classifier training, the
sign-language recorder, exporters, geometry over time), modelled on pose-format's
``NumPyPoseBody``: a masked float32 array ``data[frames, people, points, 3]`` (``x, y, z``;
masked where a point is unknown) and ``confidence[frames, people, points]``, whose points are
grouped in named components (:data:`COMPONENT_POINTS`) laid end to end. A
:class:`PoseSequenceBuilder` appends live frames in amortised O(1).

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> xy = np.zeros((33, 2), np.float32); xy[11], xy[12] = (120, 100), (80, 100)
    >>> pose = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=0.9, image_size=(640, 480))
    >>> seq = PoseSequence.from_results([pose, None, pose], fps=30.0)
    >>> seq
    PoseSequence(3 frames, 1 person, body[33] + body_world[33], fps=30.0, image_size=(640, 480))
    >>> seq.pose(0) == pose, seq.pose(1)
    (True, None)
    >>> seq.normalize().component("body")[0, 0, 11].tolist()  # shoulder width 1, centred
    [0.5, 0.0, 0.0]
"""

from __future__ import annotations

import math
import numbers
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from posekit.errors import InputError
from posekit.pose import Pose
from posekit.topology import KEYPOINT_NAMES, NUM_KEYPOINTS, Keypoint

__all__ = [
    "BODY_COMPONENTS",
    "COMPONENT_POINTS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "HAND_POINT_NAMES",
    "HOLISTIC_COMPONENTS",
    "Component",
    "PoseSequence",
    "PoseSequenceBuilder",
]


F32Array = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]

HAND_POINT_NAMES: Final[tuple[str, ...]] = (
    "wrist",
    *(f"thumb_{j}" for j in ("cmc", "mcp", "ip", "tip")),
    *(
        f"{finger}_{j}"
        for finger in ("index_finger", "middle_finger", "ring_finger", "pinky")
        for j in ("mcp", "pip", "dip", "tip")
    ),
)
"""The 21 MediaPipe hand landmarks (0 wrist, 4 thumb tip, 8 index tip, ..., 20 pinky tip)."""

FACE_POINTS: Final = 468
FACE_POINTS_WITH_IRISES: Final = 478

COMPONENT_POINTS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "body": KEYPOINT_NAMES,
        "left_hand": HAND_POINT_NAMES,
        "right_hand": HAND_POINT_NAMES,
        "face": tuple(str(i) for i in range(FACE_POINTS)),
        "body_world": KEYPOINT_NAMES,
    }
)
"""Point names of each known component. ``face`` may also have 478 points (``"0".."477"``:
the mesh plus 10 iris points). ``body_world`` is in metres (origin between the hips), every
other component in pixels of the frame (``z`` on the scale of ``x``)."""

BODY_COMPONENTS: Final = ("body", "body_world")
"""Components recorded from a stream of poses (the default for :class:`Pose` items)."""

HOLISTIC_COMPONENTS: Final = ("body", "left_hand", "right_hand", "face", "body_world")
"""Components recorded from holistic results: the first 543 points are pose-format's
MediaPipe holistic order pose, left hand, right hand, face (as the old ``(T, 543, 3)`` array)."""

FORMAT_NAME: Final = "posekit.pose_sequence"
"""The ``format`` array of a saved sequence (:meth:`PoseSequence.to_npz`)."""

FORMAT_VERSION: Final = 1
"""The format version written by :meth:`PoseSequence.to_npz` (and the only one read)."""

_LEFT_SHOULDER: Final = int(Keypoint.LEFT_SHOULDER)
_RIGHT_SHOULDER: Final = int(Keypoint.RIGHT_SHOULDER)
_WORLD: Final = "body_world"


@dataclass(frozen=True, slots=True)
class Component:
    """One named group of points of a :class:`PoseSequence` and where it lies.

    Example:
        >>> c = Component("left_hand", HAND_POINT_NAMES, 33)
        >>> c.slice, c.points[8], c.unit
        (slice(33, 54, None), 'index_finger_tip', 'px')
    """

    name: str
    points: tuple[str, ...]
    start: int

    @property
    def stop(self) -> int:
        """One past the last point index."""
        return self.start + len(self.points)

    @property
    def slice(self) -> slice:
        """The component's points: ``seq.data[:, :, component.slice]``."""
        return slice(self.start, self.stop)

    @property
    def unit(self) -> str:
        """``"m"`` for ``body_world``, else ``"px"`` (pixels of the frame)."""
        return "m" if self.name == _WORLD else "px"


def _layout(components: Iterable[str], face_points: int = FACE_POINTS) -> tuple[Component, ...]:
    """Components laid end to end; refuses unknown or repeated names."""
    out: list[Component] = []
    start = 0
    names = tuple(components)
    if not names:
        raise InputError(f"a sequence needs at least one component: use some of {_known()}")
    if face_points not in (FACE_POINTS, FACE_POINTS_WITH_IRISES):
        raise InputError(f"face_points={face_points!r}: use 468 (mesh) or 478 (with irises)")
    for name in names:
        if not isinstance(name, str) or name not in COMPONENT_POINTS:
            raise InputError(f"unknown component {name!r}: use some of {_known()}")
        if any(c.name == name for c in out):
            raise InputError(f"component {name!r} is given twice: name each component once")
        points = COMPONENT_POINTS[name]
        if name == "face":
            points = tuple(str(i) for i in range(face_points))
        out.append(Component(name, points, start))
        start += len(points)
    return tuple(out)


def _known() -> str:
    return ", ".join(COMPONENT_POINTS)


class PoseSequence:
    """Poses over time: masked ``data[frames, people, points, 3]`` plus confidence.

    Args:
        data: ``(F, P, N, 3)`` coordinates (a masked array: masked = unknown point; a plain
            array: NaN = unknown). A point is unknown if any of its 3 values is masked.
        confidence: ``(F, P, N)`` in [0, 1]: visibility for ``body``/``body_world``, the
            part's presence for hands and face; set to 0 where unknown.
        components: names from :data:`COMPONENT_POINTS` in storage order (``face`` takes 468
            or 478 points, whichever makes the point count add up).
        fps: frames per second, or ``None`` (unknown).
        image_size: ``(width, height)`` of the frames the pixel components refer to, or None.
        presence: ``(F, P, 33)`` body in-frame probabilities (default 0); with ``score``
            needed to give back :class:`~posekit.pose.Pose` values exactly.
        score: ``(F, P)`` pose presence scores (default 0), float64.
        timestamps: ``(F,)`` seconds of each frame (finite), or ``None``.

    The arrays are copied, validated and read-only: a sequence is a value (slices are views;
    every operation returns a new sequence). Build live recordings with
    :class:`PoseSequenceBuilder` or :meth:`from_results`.

    Raises:
        InputError: wrong shapes, unknown components, unmasked NaN/inf, confidence outside
            [0, 1], bad fps, image size or timestamps (the message names which).

    Example:
        >>> import numpy as np
        >>> data = np.full((4, 1, 21, 3), np.nan, np.float32); data[1:] = 5.0
        >>> seq = PoseSequence(data, np.ones((4, 1, 21)), ["left_hand"], fps=2.0)
        >>> seq.shape, seq.known[:, 0, 0].tolist(), seq.confidence[0, 0, 0]
        ((4, 1, 21, 3), [False, True, True, True], np.float32(0.0))
        >>> len(seq.slice_time(0.5, 1.5)), seq.components["left_hand"].slice
        (2, slice(0, 21, None))
    """

    __slots__ = (
        "_components",
        "_confidence",
        "_data",
        "_fps",
        "_image_size",
        "_presence",
        "_score",
        "_timestamps",
    )

    _data: np.ma.MaskedArray[Any, np.dtype[np.float32]]
    _confidence: F32Array
    _presence: F32Array
    _score: F64Array
    _timestamps: F64Array | None
    _components: tuple[Component, ...]
    _fps: float | None
    _image_size: tuple[int, int] | None

    def __init__(
        self,
        data: npt.ArrayLike,
        confidence: npt.ArrayLike,
        components: Sequence[str],
        *,
        fps: float | None = None,
        image_size: tuple[int, int] | None = None,
        presence: npt.ArrayLike | None = None,
        score: npt.ArrayLike | None = None,
        timestamps: npt.ArrayLike | None = None,
    ) -> None:
        values, mask = _masked_f32(data)
        n = values.shape[2]
        others = sum(len(COMPONENT_POINTS.get(c, ())) for c in components if c != "face")
        face = n - others if "face" in components else FACE_POINTS
        layout = _layout(components, face if face in (468, 478) else FACE_POINTS)
        if layout[-1].stop != n:
            raise InputError(
                f"data has {n} points per person but components {list(components)} have "
                f"{layout[-1].stop}: pass the components in the order the points are stored"
            )
        f, p = values.shape[:2]
        conf = _unit_array("confidence", confidence, (f, p, n), np.float32)
        pres = (
            np.zeros((f, p, NUM_KEYPOINTS), np.float32)
            if presence is None
            else _unit_array("presence", presence, (f, p, NUM_KEYPOINTS), np.float32)
        )
        sc = (
            np.zeros((f, p), np.float64)
            if score is None
            else _unit_array("score", score, (f, p), np.float64)
        )
        values[mask] = 0.0
        conf[mask] = 0.0
        self._set(values, mask, conf, pres, sc, _timestamps(timestamps, f), layout, fps, image_size)

    # ------------------------------------------------------------------ construction
    def _set(
        self,
        values: F32Array,
        mask: npt.NDArray[np.bool_],
        confidence: F32Array,
        presence: F32Array,
        score: F64Array,
        timestamps: F64Array | None,
        components: tuple[Component, ...],
        fps: float | None,
        image_size: tuple[int, int] | None,
    ) -> None:
        full = np.array(np.broadcast_to(mask[..., None], values.shape))
        for a in (values, full, confidence, presence, score, timestamps):
            if a is not None and a.flags.writeable:
                a.setflags(write=False)
        self._data = np.ma.MaskedArray(values, full, copy=False)
        self._confidence = confidence
        self._presence = presence
        self._score = score
        self._timestamps = timestamps
        self._components = components
        self._fps = _as_fps(fps)
        self._image_size = None if image_size is None else _as_image_size(image_size)

    @classmethod
    def _trusted(
        cls,
        values: F32Array,
        mask: npt.NDArray[np.bool_],
        confidence: F32Array,
        presence: F32Array,
        score: F64Array,
        timestamps: F64Array | None,
        components: tuple[Component, ...],
        fps: float | None,
        image_size: tuple[int, int] | None,
    ) -> PoseSequence:
        """A sequence from arrays already checked (no copy, no validation)."""
        seq = cls.__new__(cls)
        seq._set(values, mask, confidence, presence, score, timestamps, components, fps, image_size)
        return seq

    def _replace(self, **changes: Any) -> PoseSequence:
        fields: dict[str, Any] = {
            "values": self._data.data,
            "mask": self.unknown,
            "confidence": self._confidence,
            "presence": self._presence,
            "score": self._score,
            "timestamps": self._timestamps,
            "components": self._components,
            "fps": self._fps,
            "image_size": self._image_size,
        }
        fields.update(changes)
        return PoseSequence._trusted(**fields)

    @classmethod
    def from_results(
        cls,
        items: Iterable[Any],
        *,
        fps: float | None = None,
        components: Sequence[str] | None = None,
        image_size: tuple[int, int] | None = None,
        face_points: int = FACE_POINTS,
    ) -> PoseSequence:
        """A sequence from a stream of per-frame results (see :meth:`PoseSequenceBuilder.append`).

        Items are ``Pose | None``, tracker :class:`~posekit.tracker.FrameResult` s (their
        ``timestamp`` is kept), pipeline frames, or holistic results (pose, hands, face); a
        list or tuple per frame holds several people. ``components`` defaults to
        :data:`HOLISTIC_COMPONENTS` when the first result has hands, else
        :data:`BODY_COMPONENTS`.

        Raises:
            InputError: an item of another type, image sizes that differ between poses, or
                timestamps on some frames only.

        Example:
            >>> PoseSequence.from_results([None, None]).known.any()
            np.False_
        """
        pending: list[Any] = []
        builder: PoseSequenceBuilder | None = None
        for item in items:
            if builder is None:
                pending.append(item)
                first = _first_result(item)
                if first is None:
                    continue
                names = components
                if names is None:
                    names = HOLISTIC_COMPONENTS if hasattr(first, "left_hand") else BODY_COMPONENTS
                builder = PoseSequenceBuilder(
                    names, fps=fps, image_size=image_size, face_points=face_points
                )
                for earlier in pending:
                    builder.append(earlier)
                pending.clear()
            else:
                builder.append(item)
        if builder is None:
            builder = PoseSequenceBuilder(
                components or BODY_COMPONENTS, fps=fps, image_size=image_size,
                face_points=face_points,
            )  # fmt: skip
            for item in pending:
                builder.append(item)
        return builder.build()

    # ------------------------------------------------------------------ arrays and metadata
    @property
    def data(self) -> np.ma.MaskedArray[Any, np.dtype[np.float32]]:
        """Read-only masked float32 ``(frames, people, points, 3)`` ``[x, y, z]``."""
        return self._data

    @property
    def confidence(self) -> F32Array:
        """Read-only float32 ``(frames, people, points)``; 0 where unknown."""
        return self._confidence

    @property
    def presence(self) -> F32Array:
        """Read-only float32 ``(frames, people, 33)`` body in-frame probabilities."""
        return self._presence

    @property
    def score(self) -> F64Array:
        """Read-only float64 ``(frames, people)`` pose presence scores (0 without a pose)."""
        return self._score

    @property
    def known(self) -> npt.NDArray[np.bool_]:
        """A new ``(frames, people, points)`` bool array: True where the point is known."""
        return ~self.unknown

    @property
    def unknown(self) -> npt.NDArray[np.bool_]:
        """Read-only ``(frames, people, points)`` bool: the mask, one value per point."""
        mask: npt.NDArray[np.bool_] = np.ma.getmaskarray(self._data)[..., 0]
        return mask

    @property
    def timestamps(self) -> F64Array | None:
        """Read-only ``(frames,)`` float64 seconds as recorded, or None."""
        return self._timestamps

    @property
    def times(self) -> F64Array:
        """Seconds of each frame: the timestamps, else ``index / fps``.

        Raises:
            InputError: the sequence has neither timestamps nor fps.
        """
        if self._timestamps is not None:
            return self._timestamps
        if self._fps is None:
            raise InputError(
                "this sequence has no timestamps and no fps, so it has no time axis: build it "
                "with fps=... (e.g. the video's frame rate)"
            )
        return np.arange(len(self), dtype=np.float64) / self._fps

    @property
    def fps(self) -> float | None:
        """Frames per second, or None."""
        return self._fps

    @property
    def image_size(self) -> tuple[int, int] | None:
        """``(width, height)`` of the frames, or None (unknown, or after :meth:`normalize`)."""
        return self._image_size

    @property
    def components(self) -> Mapping[str, Component]:
        """The component table, in storage order: ``name -> Component`` (points, slice)."""
        return MappingProxyType({c.name: c for c in self._components})

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(frames, people, points, 3)``."""
        f, p, n, d = self._data.shape
        return (f, p, n, d)

    @property
    def num_people(self) -> int:
        """Size of the people axis."""
        return int(self._data.shape[1])

    def __len__(self) -> int:
        return int(self._data.shape[0])

    def _component(self, name: str) -> Component:
        for c in self._components:
            if c.name == name:
                return c
        raise InputError(
            f"this sequence has no {name!r} component (it has {[c.name for c in self._components]})"
        )

    def component(self, name: str) -> np.ma.MaskedArray[Any, np.dtype[np.float32]]:
        """The masked ``(frames, people, points, 3)`` view of one component.

        Raises:
            InputError: the sequence has no such component.
        """
        view: np.ma.MaskedArray[Any, np.dtype[np.float32]] = self._data[
            :, :, self._component(name).slice
        ]
        return view

    def nan_points(self, name: str, dims: int = 3) -> F64Array:
        """A new float64 ``(frames, people, points, dims)`` copy of a component, NaN where
        unknown: the input of numpy code that propagates NaN (e.g. the geometry functions).

        Example:
            >>> seq = PoseSequence.from_results([None])
            >>> seq.nan_points("body", dims=2).shape
            (1, 1, 33, 2)
        """
        if dims not in (1, 2, 3):
            raise InputError(f"dims={dims!r}: use 1, 2 or 3")
        part = self.component(name)[..., :dims]
        out: F64Array = np.ma.filled(part.astype(np.float64), np.nan)
        return out

    # ------------------------------------------------------------------ slicing
    def __getitem__(self, frames: slice | Sequence[int] | npt.NDArray[Any]) -> PoseSequence:
        """Frames ``seq[10:20]`` (views), or an index array / boolean mask (copies).

        Raises:
            InputError: an int (use ``seq[t:t + 1]`` or :meth:`pose`) or another key.
        """
        if isinstance(frames, numbers.Integral):
            raise InputError(
                f"seq[{frames}] is ambiguous: use seq[{frames}:{frames} + 1] for a one-frame "
                f"sequence or seq.pose({frames}) for its Pose"
            )
        if not isinstance(frames, slice):
            idx = np.asarray(frames)
            if idx.dtype == bool:
                if idx.shape != (len(self),):
                    raise InputError(
                        f"a frame mask must have shape ({len(self)},), got {idx.shape}"
                    )
            elif idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
                raise InputError(
                    f"frames must be a slice, a 1-D list of frame indices or a boolean mask, got "
                    f"{type(frames).__name__}"
                )
            elif idx.size and not (-len(self) <= idx.min() and idx.max() < len(self)):
                raise InputError(f"frame indices outside 0..{len(self) - 1}: {idx.tolist()}")
            frames = idx.astype(bool) if idx.dtype == bool else idx.astype(np.intp)
        ts = None if self._timestamps is None else self._timestamps[frames]
        return self._replace(
            values=self._data.data[frames],
            mask=self.unknown[frames],
            confidence=self._confidence[frames],
            presence=self._presence[frames],
            score=self._score[frames],
            timestamps=ts,
        )

    def slice_time(self, start: float, end: float) -> PoseSequence:
        """The frames whose time (:attr:`times`) lies in ``[start, end)`` seconds.

        Raises:
            InputError: non-finite bounds, or no time axis (no fps, no timestamps).
        """
        if not (math.isfinite(start) and math.isfinite(end)):
            raise InputError(f"start={start!r} and end={end!r} must be finite seconds")
        t = self.times
        return self[(t >= start) & (t < end)]

    def select(self, *names: str) -> PoseSequence:
        """The named components, in the order given (a new sequence; pose-format's
        ``get_components``).

        Raises:
            InputError: no names, an unknown or repeated one.

        Example:
            >>> seq = PoseSequence.from_results([None], components=HOLISTIC_COMPONENTS)
            >>> list(seq.select("right_hand", "body").components)
            ['right_hand', 'body']
        """
        chosen = [self._component(n) for n in names]
        layout = _layout(names, len(self.components["face"].points) if "face" in names else 468)
        idx = np.concatenate([np.arange(c.start, c.stop) for c in chosen])
        return self._replace(
            values=self._data.data[:, :, idx],
            mask=self.unknown[:, :, idx],
            confidence=self._confidence[:, :, idx],
            components=layout,
        )

    def select_people(self, *people: int) -> PoseSequence:
        """The given people (indices on the people axis), in that order.

        Raises:
            InputError: no index, or one outside ``0..num_people-1``.
        """
        bad = [
            i for i in people if not isinstance(i, numbers.Integral) or not 0 <= i < self.num_people
        ]
        if not people or bad:
            raise InputError(
                f"people {list(people)}: pass indices in 0..{self.num_people - 1} (bad: {bad})"
            )
        idx = np.array(people, np.intp)
        return self._replace(
            values=self._data.data[:, idx],
            mask=self.unknown[:, idx],
            confidence=self._confidence[:, idx],
            presence=self._presence[:, idx],
            score=self._score[:, idx],
        )

    def _with_people(self, people: int) -> PoseSequence:
        """The sequence padded with unknown people up to ``people``."""
        extra = people - self.num_people
        if extra <= 0:
            return self

        def pad(a: npt.NDArray[Any], value: Any) -> npt.NDArray[Any]:
            width = [(0, 0)] * a.ndim
            width[1] = (0, extra)
            return np.pad(a, width, constant_values=value)

        return self._replace(
            values=pad(self._data.data, 0.0),
            mask=pad(self.unknown, True),
            confidence=pad(self._confidence, 0.0),
            presence=pad(self._presence, 0.0),
            score=pad(self._score, 0.0),
        )

    # ------------------------------------------------------------------ combining
    @classmethod
    def concatenate(cls, sequences: Sequence[PoseSequence]) -> PoseSequence:
        """Sequences one after the other along the frames (people padded with unknowns).

        Raises:
            InputError: no sequence, or ones whose components, fps, image size or
                timestamp presence differ (the message names the first difference).

        Example:
            >>> a = PoseSequence.from_results([None], fps=30.0)
            >>> len(PoseSequence.concatenate([a, a[0:0], a]))
            2
        """
        seqs = list(sequences)
        if not seqs or not all(isinstance(s, PoseSequence) for s in seqs):
            raise InputError("concatenate needs a non-empty list of PoseSequence objects")
        first = seqs[0]
        for i, s in enumerate(seqs[1:], 1):
            checks: tuple[tuple[str, object, object], ...] = (
                ("components", first._layout_key(), s._layout_key()),
                ("fps", first._fps, s._fps),
                ("image_size", first._image_size, s._image_size),
                ("timestamps", first._timestamps is None, s._timestamps is None),
            )
            for what, mine, theirs in checks:
                if mine != theirs:
                    if what == "timestamps":
                        mine, theirs = ("absent" if v else "present" for v in (mine, theirs))
                    raise InputError(
                        f"cannot concatenate: sequence {i} has {what} {theirs} but sequence 0 "
                        f"has {mine}; select the same components (seq.select(...)) and record "
                        "at the same fps and image size"
                    )
        people = max(s.num_people for s in seqs)
        seqs = [s._with_people(people) for s in seqs]
        ts = None
        if first._timestamps is not None:
            ts = np.concatenate([s._timestamps for s in seqs if s._timestamps is not None])
        return first._replace(
            values=np.concatenate([s._data.data for s in seqs]),
            mask=np.concatenate([s.unknown for s in seqs]),
            confidence=np.concatenate([s._confidence for s in seqs]),
            presence=np.concatenate([s._presence for s in seqs]),
            score=np.concatenate([s._score for s in seqs]),
            timestamps=ts,
        )

    def merge(self, other: PoseSequence) -> PoseSequence:
        """This sequence's components followed by ``other``'s, frame by frame.

        Presence and scores come from the sequence that has ``body`` (this one if neither); an
        unknown image size (None) takes the other's.

        Raises:
            InputError: a component in both, different frame counts, fps, image sizes or
                timestamps.

        Example:
            >>> body = PoseSequence.from_results([None], components=["body"])
            >>> hands = PoseSequence.from_results([None], components=["left_hand"])
            >>> list(body.merge(hands).components)
            ['body', 'left_hand']
        """
        if not isinstance(other, PoseSequence):
            raise InputError(f"merge needs a PoseSequence, got {type(other).__name__}")
        both = sorted(set(self.components) & set(other.components))
        sizes = (self._image_size, other._image_size)
        problem = ""
        if both:
            problem = f"both have the components {both} (select the ones to keep first)"
        elif len(self) != len(other):
            problem = f"they have {len(self)} and {len(other)} frames"
        elif self._fps != other._fps or (None not in sizes and sizes[0] != sizes[1]):
            problem = (
                f"fps/image size differ ({self._fps}, {self._image_size} vs {other._fps}, "
                f"{other._image_size})"
            )
        elif (
            self._timestamps is not None
            and other._timestamps is not None
            and not np.array_equal(self._timestamps, other._timestamps)
        ):
            problem = "their timestamps differ"
        if problem:
            raise InputError(f"cannot merge the sequences: {problem}")
        people = max(self.num_people, other.num_people)
        a, b = self._with_people(people), other._with_people(people)
        owner = b if "body" in b.components and "body" not in a.components else a
        face = (
            len(a.components["face"].points)
            if "face" in a.components
            else (len(b.components["face"].points) if "face" in b.components else FACE_POINTS)
        )
        return a._replace(
            values=np.concatenate([a._data.data, b._data.data], axis=2),
            mask=np.concatenate([a.unknown, b.unknown], axis=2),
            confidence=np.concatenate([a._confidence, b._confidence], axis=2),
            presence=owner._presence,
            score=owner._score,
            timestamps=a._timestamps if a._timestamps is not None else b._timestamps,
            components=_layout([*a.components, *b.components], face),
            image_size=sizes[0] or sizes[1],
        )

    def _layout_key(self) -> tuple[tuple[str, int], ...]:
        return tuple((c.name, len(c.points)) for c in self._components)

    # ------------------------------------------------------------------ normalisation
    def normalize(self, scale_factor: float = 1.0) -> PoseSequence:
        """Shoulder-width normalisation, as pose-format's ``Pose.normalize`` with the shoulders.

        The pixel components are moved so that the mean (over frames and people) midpoint of
        the ``body`` shoulders is the origin, and scaled so that the mean shoulder distance
        (``|left - right|`` over x, y, z, where both are known) is ``scale_factor``.
        ``body_world`` (metres) is normalised the same way by its own shoulders. The result
        has no ``image_size`` (its coordinates are no longer pixels).

        Raises:
            InputError: no ``body`` component, no frame with both shoulders, or a bad factor.
        """
        if not (math.isfinite(scale_factor) and scale_factor > 0):
            raise InputError(f"scale_factor={scale_factor!r} must be finite and positive")
        body = self._component("body")
        values = self._data.data.copy()
        image = np.concatenate(
            [np.arange(c.start, c.stop) for c in self._components if c.name != _WORLD]
        )
        groups = [(body, image, True)]
        if _WORLD in self.components:
            world = self.components[_WORLD]
            groups.append((world, np.arange(world.start, world.stop), False))
        for comp, idx, required in groups:
            centre, factor = self._shoulder_frame(comp, scale_factor)
            if centre is None:
                if required:
                    raise InputError(
                        "cannot normalise: no frame has both shoulders (or they coincide); keep "
                        "frames with a pose"
                    )
                continue
            part = (values[:, :, idx] - centre) * factor
            values[:, :, idx] = part
        mask = self.unknown
        values[mask] = 0.0
        return self._replace(values=values, image_size=None)

    def _shoulder_frame(
        self, comp: Component, scale_factor: float
    ) -> tuple[F32Array | None, np.float32]:
        """Mean shoulder midpoint and ``scale_factor / mean shoulder distance`` (float32)."""
        left = self._data[:, :, comp.start + _LEFT_SHOULDER].reshape(-1, 3)
        right = self._data[:, :, comp.start + _RIGHT_SHOULDER].reshape(-1, 3)
        centre = ((left + right) / 2.0).mean(axis=0)
        dist = np.sqrt(((left - right) ** 2).sum(axis=1)).mean()
        if np.ma.getmaskarray(centre).any() or dist is np.ma.masked or not float(dist) > 0:
            return None, np.float32(0.0)
        return np.asarray(centre, np.float32), np.float32(scale_factor / float(dist))

    # ------------------------------------------------------------------ back to poses
    def pose(self, frame: int, person: int = 0) -> Pose | None:
        """The :class:`~posekit.pose.Pose` of one person on one frame, None if no body point
        is known.

        ``world`` comes from ``body_world`` when all its points are known on that frame.
        Unknown body points (a partly masked body) get visibility and presence 0. A sequence
        built from poses gives them back exactly.

        Raises:
            InputError: no ``body`` component, or an index out of range.
        """
        body = self._component("body")
        f, p = len(self), self.num_people
        if not (isinstance(frame, numbers.Integral) and -f <= frame < f):
            raise InputError(f"frame {frame!r} is outside this {f}-frame sequence")
        if not (isinstance(person, numbers.Integral) and 0 <= person < p):
            raise InputError(f"person {person!r} is outside 0..{p - 1}")
        mask = self.unknown
        unknown = mask[frame, person, body.slice]
        if unknown.all():
            return None
        values = self._data.data[frame, person]
        world = None
        if _WORLD in self.components:
            sl = self.components[_WORLD].slice
            if not mask[frame, person, sl].any():
                world = values[sl]
        presence = self._presence[frame, person]
        if unknown.any():
            presence = np.where(unknown, np.float32(0.0), presence)
        return Pose(
            values[body.slice, :2],
            values[body.slice, 2],
            self._confidence[frame, person, body.slice],
            presence,
            score=float(self._score[frame, person]),
            world=world,
            image_size=self._image_size,
        )

    def poses(self, person: int = 0) -> Iterator[Pose | None]:
        """:meth:`pose` of every frame, in order (the stream the sequence was built from)."""
        for t in range(len(self)):
            yield self.pose(t, person)

    # ------------------------------------------------------------------ files
    def to_npz(self, path: str | Path) -> Path:
        """Write the sequence to ``path`` (a compressed ``.npz``, no pickled objects;
        written to a temporary file beside it and renamed, so a crash leaves no half file).

        Example:
            >>> seq = PoseSequence.from_results([None], fps=25.0)
            >>> seq.to_npz("clip.npz")  # doctest: +SKIP
            >>> PoseSequence.from_npz("clip.npz") == seq  # doctest: +SKIP
            True
        """
        out = Path(path)
        arrays: dict[str, npt.NDArray[Any]] = {
            "format": np.array(FORMAT_NAME),
            "format_version": np.array(FORMAT_VERSION, np.int64),
            "components": np.array([c.name for c in self._components], np.str_),
            "face_points": np.array(
                len(self.components["face"].points) if "face" in self.components else 468, np.int64
            ),
            "data": np.ascontiguousarray(self._data.data),
            "mask": np.ascontiguousarray(self.unknown),
            "confidence": self._confidence,
            "presence": self._presence,
            "score": self._score,
            "fps": np.array(np.nan if self._fps is None else self._fps, np.float64),
        }
        if self._image_size is not None:
            arrays["image_size"] = np.array(self._image_size, np.int64)
        if self._timestamps is not None:
            arrays["timestamps"] = self._timestamps
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]  # no pickle
            Path(tmp).replace(out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return out

    @classmethod
    def from_npz(cls, path: str | Path) -> PoseSequence:
        """Read a sequence written by :meth:`to_npz` (never unpickles; validated).

        Raises:
            InputError: missing or unreadable file, not a posekit sequence, another format
                version, or inconsistent contents (the message names the array).
        """
        src = Path(path)
        if not src.is_file():
            raise InputError(f"sequence file {src} does not exist: write one with seq.to_npz()")
        try:
            with np.load(src, allow_pickle=False) as npz:
                arrays = {k: npz[k] for k in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise InputError(
                f"{src} is not a readable .npz without pickled objects ({exc}): it is not a "
                "saved posekit pose sequence"
            ) from exc
        fmt, ver = arrays.get("format"), arrays.get("format_version")
        if fmt is None or fmt.dtype.kind != "U" or fmt.shape != () or str(fmt) != FORMAT_NAME:
            raise InputError(
                f"{src} is not a posekit pose sequence (no format {FORMAT_NAME!r}): load a file "
                "written by PoseSequence.to_npz()"
            )
        if (
            ver is None
            or ver.dtype.kind not in "iu"
            or ver.shape != ()
            or int(ver) != FORMAT_VERSION
        ):
            raise InputError(
                f"{src} has sequence format version {None if ver is None else ver.tolist()!r}; "
                f"this posekit reads version {FORMAT_VERSION}: re-save it with this posekit"
            )
        needed = ("components", "face_points", "data", "mask", "confidence", "presence", "score")
        missing = [k for k in (*needed, "fps") if k not in arrays]
        if missing:
            raise InputError(f"{src} lacks the arrays {missing}: re-save it with to_npz()")
        names, face, mask = arrays["components"], arrays["face_points"], arrays["mask"]
        data = arrays["data"]
        if names.dtype.kind != "U" or names.ndim != 1 or face.shape != () or mask.dtype != bool:
            raise InputError(
                f"{src}: 'components' must be a list of names, 'face_points' an int and 'mask' "
                "booleans"
            )
        if data.dtype != np.float32 or data.ndim != 4 or mask.shape != data.shape[:3]:
            raise InputError(
                f"{src}: 'data' must be float32 (frames, people, points, 3) and 'mask' "
                f"(frames, people, points), got {data.dtype} {data.shape} and {mask.shape}"
            )
        layout = _layout(names.tolist(), int(face))
        fps = float(arrays["fps"]) if arrays["fps"].shape == () else -1.0
        size = arrays.get("image_size")
        try:
            values = np.ma.MaskedArray(data, np.broadcast_to(mask[..., None], data.shape))
            seq = cls(
                values,
                arrays["confidence"],
                [c.name for c in layout],
                fps=None if math.isnan(fps) else fps,
                image_size=None if size is None else tuple(size.tolist()),
                presence=arrays["presence"],
                score=arrays["score"],
                timestamps=arrays.get("timestamps"),
            )
        except (InputError, ValueError, TypeError) as exc:
            raise InputError(f"{src} has inconsistent contents: {exc}") from exc
        if seq._layout_key() != tuple((c.name, len(c.points)) for c in layout):
            raise InputError(f"{src}: the point count does not match the components {names}")
        return seq

    # ------------------------------------------------------------------ value semantics
    def __eq__(self, other: object) -> bool:
        """Same components, metadata, mask and the same numbers at the known points."""
        if not isinstance(other, PoseSequence):
            return NotImplemented
        ts_a, ts_b = self._timestamps, other._timestamps
        return (
            self._layout_key() == other._layout_key()
            and self._fps == other._fps
            and self._image_size == other._image_size
            and self.shape == other.shape
            and (ts_a is None) == (ts_b is None)
            and (ts_a is None or ts_b is None or np.array_equal(ts_a, ts_b))
            and np.array_equal(self.unknown, other.unknown)
            and np.array_equal(self._data.filled(0.0), other._data.filled(0.0))
            and np.array_equal(self._confidence, other._confidence)
            and np.array_equal(self._presence, other._presence)
            and np.array_equal(self._score, other._score)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        f, p = len(self), self.num_people
        parts = " + ".join(f"{c.name}[{len(c.points)}]" for c in self._components)
        return (
            f"PoseSequence({f} frame{'s' * (f != 1)}, {p} {'person' if p == 1 else 'people'}, "
            f"{parts}, fps={self._fps}, image_size={self._image_size})"
        )


class PoseSequenceBuilder:
    """Append frames live, then :meth:`build` a :class:`PoseSequence` (amortised O(1) per
    frame: capacity doubles, nothing is reallocated per frame).

    Args:
        components: the components to record (default :data:`BODY_COMPONENTS`).
        fps, image_size: as :class:`PoseSequence`; ``image_size`` defaults to the first pose's.
        face_points: 468 (mesh) or 478 (with irises).
        capacity: frames to allocate up front.

    Example:
        >>> import numpy as np
        >>> from posekit.pose import Pose
        >>> b = PoseSequenceBuilder(fps=30.0)
        >>> p = Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33), np.ones(33), score=1.0)
        >>> for item in (p, None, [p, p]):  # a list: several people on one frame
        ...     b.append(item)
        >>> seq = b.build()
        >>> seq.shape, seq.known[:, :, 0].tolist()
        ((3, 2, 66, 3), [[True, False], [False, False], [True, True]])
    """

    def __init__(
        self,
        components: Sequence[str] = BODY_COMPONENTS,
        *,
        fps: float | None = None,
        image_size: tuple[int, int] | None = None,
        face_points: int = FACE_POINTS,
        capacity: int = 64,
    ) -> None:
        self._values: F32Array
        self._mask: npt.NDArray[np.bool_]
        self._conf: F32Array
        self._pres: F32Array
        self._score: F64Array
        self._times: F64Array
        self._layout = _layout(components, face_points)
        self._fps = _as_fps(fps)
        self._image_size = None if image_size is None else _as_image_size(image_size)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise InputError(f"capacity must be a positive int, got {capacity!r}")
        self._n = 0
        self._people = 0
        self._timed: bool | None = None
        by_name = {c.name: c.slice for c in self._layout}
        self._body = by_name.get("body")
        self._world = by_name.get(_WORLD)
        self._parts = [(by_name[n], n) for n in ("left_hand", "right_hand", "face") if n in by_name]
        self._alloc(capacity, 1)

    def _alloc(self, capacity: int, people: int) -> None:
        n_pts = self._layout[-1].stop
        values: F32Array = np.zeros((capacity, people, n_pts, 3), np.float32)
        mask: npt.NDArray[np.bool_] = np.ones((capacity, people, n_pts), bool)
        conf: F32Array = np.zeros((capacity, people, n_pts), np.float32)
        pres: F32Array = np.zeros((capacity, people, NUM_KEYPOINTS), np.float32)
        score: F64Array = np.zeros((capacity, people), np.float64)
        times: F64Array = np.zeros(capacity, np.float64)
        if self._n:
            n, p = self._n, self._people
            values[:n, :p] = self._values[:n, :p]
            mask[:n, :p] = self._mask[:n, :p]
            conf[:n, :p] = self._conf[:n, :p]
            pres[:n, :p] = self._pres[:n, :p]
            score[:n, :p] = self._score[:n, :p]
            times[:n] = self._times[:n]
        self._values, self._mask, self._conf = values, mask, conf
        self._pres, self._score, self._times = pres, score, times
        self._capacity, self._cap_people = capacity, people

    def __len__(self) -> int:
        return self._n

    def append(self, item: Any, *, timestamp: float | None = None) -> None:
        """Add one frame.

        ``item``: a ``Pose``, None (nobody), an object with a ``pose`` attribute (a tracker
        ``FrameResult``, a pipeline frame; its ``timestamp`` is used unless one is given), a
        holistic result (``pose``, ``left_hand``, ``right_hand``, ``face``), or a list/tuple
        of those, one per person. Either every frame has a timestamp or none has.

        Raises:
            InputError: another type, a pose of another image size, a face of the wrong point
                count, or a timestamp missing (or extra) compared with the first frame. The
                builder is unchanged then.
        """
        people = list(item) if isinstance(item, (list, tuple)) else [item]
        if timestamp is None and people:
            timestamp = getattr(people[0], "timestamp", None)
        rows = [self._row(x, i) for i, x in enumerate(people)]
        timed = timestamp is not None
        if self._timed is not None and timed != self._timed:
            raise InputError(
                f"frame {self._n} {'has' if timed else 'has no'} timestamp but the first frame "
                f"{'had' if self._timed else 'had none'}: give every frame a timestamp or none"
            )
        seconds = 0.0
        if timestamp is not None:
            try:
                seconds = float(timestamp)
            except (TypeError, ValueError):
                seconds = math.nan
            if not math.isfinite(seconds):
                raise InputError(f"timestamp {timestamp!r} of frame {self._n} is not finite")
        size = next((r[0].image_size for r in rows if r[0] is not None and r[0].image_size), None)
        if size is not None and self._image_size is not None and size != self._image_size:
            raise InputError(
                f"frame {self._n}: a pose of a {size} frame in a sequence of {self._image_size} "
                "frames: record each video size in its own sequence"
            )
        if self._n == self._capacity or len(rows) > self._cap_people:
            self._alloc(
                self._capacity * 2 if self._n == self._capacity else self._capacity,
                max(self._cap_people, len(rows)),
            )
        if size is not None and self._image_size is None:
            self._image_size = size
        t = self._n
        for p, (pose, parts) in enumerate(rows):
            self._write(t, p, pose, parts)
        self._times[t] = seconds
        self._timed = timed
        self._people = max(self._people, len(rows))
        self._n = t + 1

    def _row(self, item: Any, person: int) -> tuple[Pose | None, list[Any]]:
        """The pose and the holistic parts of one person (validated before any write)."""
        if item is None or isinstance(item, Pose):
            return item, []
        if not hasattr(item, "pose"):
            raise InputError(
                f"frame {self._n}, person {person}: a {type(item).__name__} is not a Pose, None, "
                "a FrameResult or a holistic result"
            )
        pose = item.pose
        if pose is not None and not isinstance(pose, Pose):
            raise InputError(f"frame {self._n}: .pose is a {type(pose).__name__}, not a Pose")
        parts = []
        for sl, name in self._parts:
            part = getattr(item, name, None)
            if part is not None:
                n = sl.stop - sl.start
                if np.shape(part.xy) != (n, 2):
                    raise InputError(
                        f"frame {self._n}: {name} has {np.shape(part.xy)[0]} points, the "
                        f"sequence's {name} component {n}: pass face_points={len(part.xy)}"
                    )
                parts.append((sl, part))
        return pose, parts

    def _write(self, t: int, p: int, pose: Pose | None, parts: list[Any]) -> None:
        values, mask, conf = self._values[t, p], self._mask[t, p], self._conf[t, p]
        if pose is not None:
            body = self._body
            if body is not None:
                values[body, :2] = pose.xy
                values[body, 2] = pose.z
                conf[body] = pose.visibility
                mask[body] = False
            world = self._world
            if world is not None and pose.world is not None:
                values[world] = pose.world
                conf[world] = pose.visibility
                mask[world] = False
            self._pres[t, p] = pose.presence
            self._score[t, p] = pose.score
        for sl, part in parts:
            values[sl, :2] = part.xy
            values[sl, 2] = part.z
            conf[sl] = part.presence
            mask[sl] = False

    def build(self) -> PoseSequence:
        """The frames appended so far as a :class:`PoseSequence` (a copy: keep appending)."""
        n, p = self._n, max(self._people, 1)
        return PoseSequence._trusted(
            self._values[:n, :p].copy(),
            self._mask[:n, :p].copy(),
            self._conf[:n, :p].copy(),
            self._pres[:n, :p].copy(),
            self._score[:n, :p].copy(),
            self._times[:n].copy() if self._timed else None,
            self._layout,
            self._fps,
            self._image_size,
        )


# ---------------------------------------------------------------------- validation helpers
def _first_result(item: Any) -> Any:
    """The first non-None result of a frame item (None when the frame has nobody)."""
    if isinstance(item, (list, tuple)):
        return next((x for x in item if x is not None), None)
    return item


def _masked_f32(data: npt.ArrayLike) -> tuple[F32Array, npt.NDArray[np.bool_]]:
    """Float32 values (a new array) and the per-point mask of ``(F, P, N, 3)`` data.

    Masked entries of a masked array, and NaN in a plain array, are unknown; any other
    non-finite value (or one beyond the float32 range) is refused.
    """
    is_masked = isinstance(data, np.ma.MaskedArray)
    raw = np.asarray(data.data if isinstance(data, np.ma.MaskedArray) else data)
    if raw.dtype.kind not in "fiu":
        raise InputError(f"data must be a numeric (frames, people, points, 3) array: {raw.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        values = raw.astype(np.float32)  # a new array
    if values.ndim != 4 or values.shape[-1] != 3:
        raise InputError(
            f"data must have shape (frames, people, points, 3) (x, y, z), got {values.shape}"
        )
    unknown: npt.NDArray[np.bool_] = np.ma.getmaskarray(data) if is_masked else np.isnan(raw)  # type: ignore[arg-type]
    if unknown.shape != values.shape:
        raise InputError(f"the mask has shape {unknown.shape}, the data {values.shape}")
    if (~np.isfinite(values) & ~unknown).any():
        raise InputError(
            "data has unmasked NaN, infinite or out-of-float32-range coordinates: mask unknown "
            "points (np.ma.masked, or NaN in a plain array) instead"
        )
    per_point: npt.NDArray[np.bool_] = np.asarray(unknown.any(axis=-1), bool)
    return values, per_point


def _unit_array(
    name: str, value: npt.ArrayLike, shape: tuple[int, ...], dtype: type[np.generic]
) -> npt.NDArray[Any]:
    try:
        a = np.array(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be numeric: {exc}") from exc
    if a.shape != shape:
        raise InputError(f"{name} must have shape {shape}, got {a.shape}")
    if a.size and not (a.min() >= 0.0 and a.max() <= 1.0):  # NaN fails both
        raise InputError(f"{name} must lie in [0, 1] (probabilities), got values outside")
    return a


def _timestamps(value: npt.ArrayLike | None, frames: int) -> F64Array | None:
    if value is None:
        return None
    try:
        ts = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"timestamps must be numbers of seconds: {exc}") from exc
    if ts.shape != (frames,) or not np.isfinite(ts).all():
        raise InputError(f"timestamps must be {frames} finite seconds, got shape {ts.shape}")
    return ts


def _as_fps(fps: float | None) -> float | None:
    if fps is None:
        return None
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real):
        raise InputError(f"fps must be a number of frames per second, got {fps!r}")
    if not (math.isfinite(fps) and fps > 0):
        raise InputError(f"fps={fps!r} must be finite and positive (or None: unknown)")
    return float(fps)


def _as_image_size(size: Any) -> tuple[int, int]:
    try:
        w, h = size
    except (TypeError, ValueError) as exc:
        raise InputError(f"image_size must be (width, height), got {size!r}") from exc
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in (w, h)) or not (
        int(w) > 0 and int(h) > 0
    ):
        raise InputError(f"image_size must be two positive ints (width, height), got {size!r}")
    return (int(w), int(h))
