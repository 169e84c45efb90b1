"""The BlazePose keypoint topology: 33 named keypoints, skeleton edges, mirror pairs and COCO-17.

Everything here is immutable: enums, tuples of named tuples, and numpy arrays marked read-only.
Indices follow MediaPipe's ``PoseLandmark`` enum and its ``POSE_CONNECTIONS`` skeleton.

Example:
    >>> from posekit.topology import Keypoint, FLIP_PERMUTATION, SKELETON_EDGES
    >>> Keypoint.from_name("left knee")
    <Keypoint.LEFT_KNEE: 25>
    >>> Keypoint.LEFT_KNEE.mirror
    <Keypoint.RIGHT_KNEE: 26>
    >>> int(FLIP_PERMUTATION[Keypoint.LEFT_KNEE])
    26
    >>> len(SKELETON_EDGES)
    35
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from posekit.errors import InputError

__all__ = [
    "COCO17_FLIP_PERMUTATION",
    "COCO17_FROM_BLAZEPOSE",
    "COCO17_NAMES",
    "COCO17_SKELETON",
    "FLIP_PERMUTATION",
    "KEYPOINT_NAMES",
    "LEFT_RIGHT_PAIRS",
    "NUM_KEYPOINTS",
    "SKELETON_EDGES",
    "SKELETON_EDGE_ARRAY",
    "Edge",
    "IndexPair",
    "Keypoint",
    "MirrorPair",
]

NUM_KEYPOINTS = 33
"""Number of BlazePose keypoints (landmarks) per pose."""


class Keypoint(IntEnum):
    """The 33 BlazePose keypoints, numbered as in MediaPipe's ``PoseLandmark``.

    ``LEFT``/``RIGHT`` are the *person's* left and right, not the image's.

    Example:
        >>> Keypoint(25).name
        'LEFT_KNEE'
        >>> Keypoint.from_name("LEFT_KNEE") is Keypoint["LEFT_KNEE"] is Keypoint.LEFT_KNEE
        True
        >>> Keypoint.LEFT_KNEE.label
        'left_knee'
    """

    NOSE = 0
    LEFT_EYE_INNER = 1
    LEFT_EYE = 2
    LEFT_EYE_OUTER = 3
    RIGHT_EYE_INNER = 4
    RIGHT_EYE = 5
    RIGHT_EYE_OUTER = 6
    LEFT_EAR = 7
    RIGHT_EAR = 8
    MOUTH_LEFT = 9
    MOUTH_RIGHT = 10
    LEFT_SHOULDER = 11
    RIGHT_SHOULDER = 12
    LEFT_ELBOW = 13
    RIGHT_ELBOW = 14
    LEFT_WRIST = 15
    RIGHT_WRIST = 16
    LEFT_PINKY = 17
    RIGHT_PINKY = 18
    LEFT_INDEX = 19
    RIGHT_INDEX = 20
    LEFT_THUMB = 21
    RIGHT_THUMB = 22
    LEFT_HIP = 23
    RIGHT_HIP = 24
    LEFT_KNEE = 25
    RIGHT_KNEE = 26
    LEFT_ANKLE = 27
    RIGHT_ANKLE = 28
    LEFT_HEEL = 29
    RIGHT_HEEL = 30
    LEFT_FOOT_INDEX = 31
    RIGHT_FOOT_INDEX = 32

    @classmethod
    def from_name(cls, name: str) -> Keypoint:
        """Look a keypoint up by name, ignoring case; spaces and hyphens count as underscores.

        Raises:
            InputError: ``name`` is not a keypoint name (the message lists the valid ones).

        Example:
            >>> Keypoint.from_name("Right-Foot-Index")
            <Keypoint.RIGHT_FOOT_INDEX: 32>
        """
        if not isinstance(name, str):
            raise InputError(
                f"keypoint name must be a str, got {type(name).__name__}: pass e.g. 'left_knee' "
                "or use Keypoint(index) for an integer index"
            )
        member = _BY_NAME.get(_normalise_name(name))
        if member is None:
            raise InputError(
                f"unknown keypoint name {name!r}: use one of {', '.join(KEYPOINT_NAMES)} "
                "(case-insensitive)"
            )
        return member

    @property
    def label(self) -> str:
        """The lower-case snake-case name, e.g. ``'left_knee'`` (as used in JSON and plots)."""
        return self.name.lower()

    @property
    def mirror(self) -> Keypoint:
        """The keypoint's left/right partner (itself for the nose).

        Example:
            >>> Keypoint.MOUTH_LEFT.mirror, Keypoint.NOSE.mirror
            (<Keypoint.MOUTH_RIGHT: 10>, <Keypoint.NOSE: 0>)
        """
        return Keypoint(int(FLIP_PERMUTATION[self]))


def _normalise_name(name: str) -> str:
    return name.strip().upper().replace("-", "_").replace(" ", "_")


_BY_NAME: dict[str, Keypoint] = {k.name: k for k in Keypoint}

KEYPOINT_NAMES: tuple[str, ...] = tuple(k.label for k in Keypoint)
"""Lower-case keypoint names in index order: ``('nose', 'left_eye_inner', ...)``."""


class Edge(NamedTuple):
    """One bone of the skeleton: a pair of keypoints."""

    start: Keypoint
    end: Keypoint


class MirrorPair(NamedTuple):
    """A keypoint on the person's left side and its right-side partner."""

    left: Keypoint
    right: Keypoint


class IndexPair(NamedTuple):
    """A pair of 0-based keypoint indices (used for the COCO-17 skeleton)."""

    start: int
    end: int


def _edges(pairs: tuple[tuple[int, int], ...]) -> tuple[Edge, ...]:
    return tuple(Edge(Keypoint(a), Keypoint(b)) for a, b in pairs)


SKELETON_EDGES: tuple[Edge, ...] = _edges(
    (
        # face
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
        # torso and arms, hands
        (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
        (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
        (11, 23), (12, 24), (23, 24),
        # legs and feet
        (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31), (30, 32),
        (27, 31), (28, 32),
    )
)  # fmt: skip
"""The 35 bones of MediaPipe's ``POSE_CONNECTIONS``, as :class:`Edge` pairs."""


def _readonly(values: list[int] | list[list[int]]) -> npt.NDArray[np.intp]:
    array = np.array(values, dtype=np.intp)
    array.flags.writeable = False
    return array


SKELETON_EDGE_ARRAY: npt.NDArray[np.intp] = _readonly([[int(a), int(b)] for a, b in SKELETON_EDGES])
"""``SKELETON_EDGES`` as a read-only ``(35, 2)`` index array, for vectorised bone maths.

Example:
    >>> import numpy as np
    >>> xy = np.zeros((33, 2), np.float32)
    >>> bones = xy[SKELETON_EDGE_ARRAY[:, 1]] - xy[SKELETON_EDGE_ARRAY[:, 0]]
    >>> bones.shape
    (35, 2)
"""

LEFT_RIGHT_PAIRS: tuple[MirrorPair, ...] = tuple(
    MirrorPair(k, Keypoint[k.name.replace("LEFT", "RIGHT")]) for k in Keypoint if "LEFT" in k.name
)
"""The 16 (left, right) keypoint pairs, in index order of the left keypoint."""


def _flip_permutation() -> npt.NDArray[np.intp]:
    permutation = list(range(NUM_KEYPOINTS))
    for left, right in LEFT_RIGHT_PAIRS:
        permutation[left], permutation[right] = int(right), int(left)
    return _readonly(permutation)


FLIP_PERMUTATION: npt.NDArray[np.intp] = _flip_permutation()
"""Read-only ``(33,)`` array: index of each keypoint's mirror partner (nose maps to itself).

After mirroring an image horizontally, ``landmarks[FLIP_PERMUTATION]`` puts every mirrored
landmark back under its own name (horizontal-flip test-time augmentation).
"""

COCO17_NAMES: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
"""The 17 COCO keypoint names, in COCO order."""

COCO17_FROM_BLAZEPOSE: npt.NDArray[np.intp] = _readonly(
    [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
)
"""Read-only ``(17,)`` array: the BlazePose index of each COCO-17 keypoint.

Example:
    >>> Keypoint(int(COCO17_FROM_BLAZEPOSE[COCO17_NAMES.index("left_ankle")])).name
    'LEFT_ANKLE'
"""

COCO17_SKELETON: tuple[IndexPair, ...] = tuple(
    IndexPair(a - 1, b - 1)
    for a, b in (
        (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
        (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
    )
)  # fmt: skip
"""The 19 COCO-17 limbs as **0-based** index pairs (COCO's annotation files list them 1-based)."""

COCO17_FLIP_PERMUTATION: npt.NDArray[np.intp] = _readonly(
    [COCO17_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
     for n in COCO17_NAMES]
)  # fmt: skip
"""Read-only ``(17,)`` array: index of each COCO-17 keypoint's mirror partner."""
