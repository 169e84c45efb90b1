"""k-NN pose classifier (yoga poses, exercise states) and a classifier-driven repetition counter.

This follows MediaPipe's pose classification guide (the ML Kit port uses the same numbers):

* **Embedding** (:func:`pose_embedding`): landmarks ``[x, y, z]`` in pixels (``z`` on the scale of
  ``x``) minus the hip centre, divided by the pose size ``max(2.5 * torso, max distance of any
  landmark from the hip centre)`` measured in 2D (torso = hip centre to shoulder centre), times
  100; the features are 23 difference vectors between joints (:data:`EMBEDDING_PAIRS`). The
  list is the reference's, including its hip-to-wrist pairs counted twice.
* **k-NN** (:meth:`PoseClassifier.classify`): keep the 30 samples nearest by the maximum
  per-coordinate absolute difference, then the 10 nearest of those by the mean absolute
  difference; the axes are weighted ``(1, 1, 0.2)`` (depth counts less); every distance is the
  smaller of the distance to the pose and to its **mirror image** (x negated and left/right
  swapped), so a pose done on the other side matches too. The result is a vote count out of 10
  per class (:class:`ClassVotes`).
* **Stream smoothing** (:class:`EMAVoteSmoother`, :class:`PoseClassifierAnalyzer`): exponential
  moving average of the vote vectors over the last 10 frames, ``alpha = 0.2``.
* **Repetition counter** (:class:`ClassRepCounter`): a repetition starts when the smoothed votes
  of the target class rise above 6 and is counted when they fall below 4 (hysteresis).

Training: from a folder of labelled images, one sub-folder per class, poses extracted with the
tracker in image mode (:meth:`PoseClassifier.from_image_folder`), or from recorded poses
(:meth:`PoseClassifier.from_poses`). Models are saved as JSON or ``.npz`` (no pickle) with a
format version; :meth:`PoseClassifier.load` raises :class:`~posekit.errors.InputError` naming the
problem for a file that is not a valid model.

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> def stick(arm_y: float) -> Pose:
    ...     xy = np.tile(np.float32([100.0, 100.0]), (33, 1))
    ...     xy[[11, 12], 1] = 60.0; xy[[23, 24], 1] = 120.0      # shoulders, hips
    ...     xy[[11, 23, 13, 15, 25, 27], 0] = 110.0              # person's left side
    ...     xy[[12, 24, 14, 16, 26, 28], 0] = 90.0
    ...     xy[[13, 14], 1] = 60.0 + arm_y / 2; xy[[15, 16], 1] = 60.0 + arm_y
    ...     xy[[25, 26], 1] = 150.0; xy[[27, 28], 1] = 180.0
    ...     return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
    >>> samples = [("up", stick(-40.0)), ("down", stick(40.0))]
    >>> clf = PoseClassifier.from_poses(samples, top_n_by_mean_distance=1)  # 1 sample per class
    >>> clf.classify(stick(-35.0)).votes
    {'down': 0.0, 'up': 1.0}
"""

from __future__ import annotations

import json
import logging
import math
import numbers
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import numpy.typing as npt

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.sequence import PoseSequence
from posekit.timestamps import check_timestamp
from posekit.topology import FLIP_PERMUTATION, NUM_KEYPOINTS, Keypoint

if TYPE_CHECKING:
    from posekit.tracker import Tracker

__all__ = [
    "DEFAULT_AXIS_WEIGHTS",
    "EMBEDDING_PAIRS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "IMAGE_EXTENSIONS",
    "ClassRep",
    "ClassRepCounter",
    "ClassRepState",
    "ClassVotes",
    "EMAVoteSmoother",
    "FolderSamples",
    "PoseClassifier",
    "PoseClassifierAnalyzer",
    "extract_folder_samples",
    "file_sha256",
    "mirror_landmarks",
    "pose_embedding",
]

logger = logging.getLogger(__name__)

_TIMESTAMP_ADVICE = "feed frames in time order, or reset() for a new sequence"

F32Array = npt.NDArray[np.float32]

FORMAT_NAME: Final = "posekit.pose_classifier"
"""The ``format`` field of a saved classifier."""

FORMAT_VERSION: Final = 1
"""The format version written by :meth:`PoseClassifier.save` (and the only one read)."""

IMAGE_EXTENSIONS: Final = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
"""File name endings :meth:`PoseClassifier.from_image_folder` treats as images."""

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
def _as_landmarks(value: Pose | npt.ArrayLike) -> F32Array:
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
    arr = _as_landmarks(landmarks).astype(np.float64)
    single = arr.ndim == 2
    batch = arr.reshape(-1, NUM_KEYPOINTS, 3)
    hips = batch[:, _HIPS, :].mean(axis=1)  # (N, 3)
    shoulders = batch[:, _SHOULDERS, :].mean(axis=1)
    centred = batch - hips[:, None, :]
    torso = np.linalg.norm(shoulders[:, :2] - hips[:, :2], axis=1)
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


# ---------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class ClassVotes:
    """Per-class votes of one classification.

    Attributes:
        votes: class name -> votes, for every class of the classifier (0 for none). Raw
            k-NN results are whole numbers out of ``k``; smoothed results are fractions.
        k: the number of neighbours that voted (10 unless the classifier holds fewer samples).

    >>> v = ClassVotes({"a": 7.0, "b": 3.0}, k=10)
    >>> v.label, v.fraction("a")
    ('a', 0.7)
    """

    votes: Mapping[str, float]
    k: int

    @property
    def label(self) -> str | None:
        """The class with the most votes (first in class order on a tie), None if no votes."""
        best: str | None = None
        best_v = 0.0
        for name, v in self.votes.items():
            if v > best_v:
                best, best_v = name, v
        return best

    def fraction(self, name: str) -> float:
        """Votes of ``name`` divided by ``k`` (0 for an unknown class)."""
        return float(self.votes.get(name, 0.0)) / self.k if self.k else 0.0


# ---------------------------------------------------------------------------------- classifier
@dataclass(frozen=True, slots=True)
class FolderSamples:
    """Poses extracted from a folder of labelled images.

    Attributes:
        landmarks: ``(N, 33, 3)`` float32 ``[x, y, z]`` pixels of the images with a pose.
        labels: class (sub-folder name) of each sample.
        names: path of each sample relative to the folder (POSIX separators).
        missing: relative paths of images where no pose was found (or that could not be read).
    """

    landmarks: F32Array
    labels: tuple[str, ...]
    names: tuple[str, ...]
    missing: tuple[str, ...] = ()


def extract_folder_samples(
    folder: str | Path,
    tracker: Tracker | None = None,
    *,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> FolderSamples:
    """Run the tracker in image mode on every image of ``folder/<class>/`` (sorted order).

    ``tracker`` defaults to ``posekit.tracker.Tracker(mode="image")``; a video-mode tracker is
    refused (frames of a folder are independent). Images where no pose is found are listed in
    :attr:`FolderSamples.missing` (and logged), not raised.

    Raises:
        InputError: ``folder`` is not a directory, has no class sub-folders, or ``tracker`` is in
            video mode.
    """
    import cv2

    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"training folder {root} does not exist or is not a directory: pass a folder with "
            "one sub-folder of images per class"
        )
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise InputError(
            f"{root} has no class sub-folders: put the images of each class in their own "
            "sub-folder (e.g. yoga/tree/*.jpg, yoga/warrior/*.jpg)"
        )
    own = tracker is None
    if tracker is None:
        from posekit.tracker import Tracker

        tracker = Tracker(mode="image")
    elif tracker.mode != "image":
        raise InputError(
            "extract_folder_samples needs a tracker in image mode (independent frames): pass "
            "Tracker(mode='image')"
        )
    exts = tuple(e.lower() for e in extensions)
    rows: list[F32Array] = []
    labels: list[str] = []
    names: list[str] = []
    missing: list[str] = []
    try:
        for class_dir in class_dirs:
            for path in sorted(class_dir.iterdir()):
                if not path.is_file() or not path.name.lower().endswith(exts):
                    continue
                rel = path.relative_to(root).as_posix()
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                pose = None if image is None else tracker.process(image, 0.0).pose
                if pose is None:
                    logger.info(
                        "no pose found in %s (%s)",
                        rel,
                        "unreadable" if image is None else "no person detected",
                    )
                    missing.append(rel)
                    continue
                rows.append(pose.xyz)
                labels.append(class_dir.name)
                names.append(rel)
    finally:
        if own:
            tracker.close()
    # Independent images of different sizes: not one sequence (whose pixels share a frame).
    landmarks = np.stack(rows) if rows else np.empty((0, NUM_KEYPOINTS, 3), np.float32)
    return FolderSamples(landmarks, tuple(labels), tuple(names), tuple(missing))


def _training_landmarks(seq: PoseSequence, person: int = 0) -> F32Array:
    """``(F, 33, 3)`` float32 ``[x, y, z]`` pixels of one person's body in a sequence."""
    return np.ascontiguousarray(seq.component("body").data[:, person], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Params:
    top_n_by_max_distance: int = 30
    top_n_by_mean_distance: int = 10
    axis_weights: tuple[float, float, float] = DEFAULT_AXIS_WEIGHTS


class PoseClassifier:
    """k-NN pose classifier on pose embeddings (see the module docstring).

    Args:
        landmarks: ``(N, 33, 3)`` training landmarks ``[x, y, z]`` in pixels (``Pose.xyz``).
        labels: the class of each sample.
        names: optional sample names (file names), kept in saved models.
        sha256: optional fingerprint of each sample's image file (hex sha256, ``""`` where
            unknown; :func:`file_sha256`), kept in saved models: ``posekit yoga predict``
            tells images of the training set apart from unseen ones with it.
        top_n_by_max_distance: first-stage neighbours (30).
        top_n_by_mean_distance: second-stage neighbours = voters. ``None`` (default): the
            reference's 10, lowered to the smallest class size when a class has fewer samples.
        axis_weights: x, y, z weights (1, 1, 0.2).

    The reference's ``10`` voters assume dozens of samples per class: with fewer samples per
    class than voters, whole small classes fall inside the vote and the larger classes win.
    The default therefore caps the voters at the smallest class size (on the 4-image-per-class
    dev yoga set, leave-one-out accuracy is 0 % with 10 voters and about 90 % with the cap); an
    explicit value larger than the smallest class is honoured with a logged warning.

    Raises:
        InputError: empty training set, mismatched lengths, bad shapes or NaN, non-positive
            ``top_n`` values, negative or non-finite weights.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> a = rng.normal(size=(33, 3)); b = rng.normal(size=(33, 3))
        >>> clf = PoseClassifier(np.stack([a, b]), ["a", "b"])
        >>> clf.classify(a + 0.01).votes  # one sample per class: one voter (see above)
        {'a': 1.0, 'b': 0.0}
        >>> clf.classes
        ('a', 'b')
    """

    def __init__(
        self,
        landmarks: npt.ArrayLike,
        labels: Sequence[str],
        names: Sequence[str] | None = None,
        *,
        top_n_by_max_distance: int = 30,
        top_n_by_mean_distance: int | None = None,
        axis_weights: Sequence[float] = DEFAULT_AXIS_WEIGHTS,
        sha256: Sequence[str] | None = None,
    ) -> None:
        lm = _as_landmarks(landmarks)
        if lm.ndim != 3:
            raise InputError(f"training landmarks must be (N, 33, 3), got {lm.shape}")
        labels = tuple(str(s) for s in labels)
        if len(labels) != len(lm) or len(lm) == 0:
            raise InputError(
                f"need one label per training sample and at least one sample, got "
                f"{len(lm)} samples and {len(labels)} labels"
            )
        if names is None:
            names = tuple(f"sample_{i}" for i in range(len(lm)))
        names = tuple(str(s) for s in names)
        if len(names) != len(lm):
            raise InputError(f"got {len(names)} names for {len(lm)} samples: pass one per sample")
        digests = ("",) * len(lm) if sha256 is None else tuple(str(h).lower() for h in sha256)
        if len(digests) != len(lm) or not all(_is_digest(h) for h in digests):
            raise InputError(
                f"sha256 must hold one hex sha256 (or '') per sample, got {len(digests)} values "
                f"for {len(lm)} samples"
            )
        self._sha256 = digests
        auto_voters = top_n_by_mean_distance is None
        if top_n_by_mean_distance is None:
            counts: dict[str, int] = {}
            for label in labels:
                counts[label] = counts.get(label, 0) + 1
            top_n_by_mean_distance = min(10, min(counts.values()) if counts else 10)
        for nm, value in (
            ("top_n_by_max_distance", top_n_by_max_distance),
            ("top_n_by_mean_distance", top_n_by_mean_distance),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{nm} must be a positive int, got {value!r}")
        weights = tuple(float(w) for w in axis_weights)
        if len(weights) != 3 or not all(math.isfinite(w) and w >= 0 for w in weights):
            raise InputError(
                f"axis_weights must be three finite non-negative numbers (x, y, z), got "
                f"{axis_weights!r}"
            )
        self._landmarks = np.ascontiguousarray(lm, dtype=np.float32)
        self._landmarks.setflags(write=False)
        self._labels = labels
        self._names = names
        self._params = _Params(
            top_n_by_max_distance,
            top_n_by_mean_distance,
            (weights[0], weights[1], weights[2]),
        )
        self._classes = tuple(dict.fromkeys(sorted(set(labels))))
        index = {c: i for i, c in enumerate(self._classes)}
        self._label_idx = np.array([index[c] for c in labels], np.intp)
        self._weights = np.array(weights, np.float32)
        smallest = int(np.bincount(self._label_idx).min())
        if top_n_by_mean_distance > smallest and not auto_voters:
            logger.warning(
                "top_n_by_mean_distance=%d exceeds the smallest class (%d samples): votes favour "
                "the larger classes; add samples or pass top_n_by_mean_distance<=%d",
                top_n_by_mean_distance,
                smallest,
                smallest,
            )
        # Pre-weighted embeddings: |a - b| * w == |a * w - b * w| for w >= 0.
        self._emb = pose_embedding(self._landmarks) * self._weights  # (N, 23, 3)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_poses(cls, samples: Iterable[tuple[str, Pose]], **params: Any) -> PoseClassifier:
        """Train from ``(label, pose)`` pairs (e.g. recorded tracker output).

        ``params`` are the keyword arguments of the constructor.
        """
        pairs = list(samples)
        if not pairs:
            raise InputError("no training samples given: pass (label, Pose) pairs")
        for label, pose in pairs:
            if not isinstance(pose, Pose):
                raise InputError(
                    f"training sample for {label!r} is {type(pose).__name__}, not a Pose: "
                    "skip frames whose pose is None"
                )
        lm = np.stack([p.xyz for _, p in pairs])  # poses of any images (sizes may differ)
        return cls(lm, [label for label, _ in pairs], **params)

    @classmethod
    def from_sequence(
        cls,
        sequence: PoseSequence,
        labels: str | Sequence[str],
        *,
        person: int = 0,
        **params: Any,
    ) -> PoseClassifier:
        """Train from the frames of a recorded :class:`~posekit.sequence.PoseSequence`.

        ``labels``: one class for every frame, or one per frame. Frames where some body point
        of ``person`` is unknown (no pose, masked points) are skipped and listed in
        :attr:`skipped` as ``"frame_<index>"``; samples are named ``frame_<index>``.

        Raises:
            InputError: not a sequence, no ``body`` component, a label count that is not the
                frame count, or no frame with a whole body.

        Example:
            >>> import numpy as np
            >>> rng = np.random.default_rng(2)
            >>> poses = [Pose(rng.uniform(0, 99, (33, 2)), np.zeros(33), np.ones(33),
            ...               np.ones(33), score=1.0) for _ in range(2)]
            >>> seq = PoseSequence.from_results([poses[0], None, poses[1]])
            >>> clf = PoseClassifier.from_sequence(seq, ["a", "a", "b"])
            >>> clf.names, clf.skipped, clf.classify(poses[1]).label
            (('frame_0', 'frame_2'), ('frame_1',), 'b')
        """
        if not isinstance(sequence, PoseSequence):
            raise InputError(
                f"from_sequence needs a PoseSequence, got {type(sequence).__name__}: build one "
                "with PoseSequence.from_results(...)"
            )
        names = [labels] * len(sequence) if isinstance(labels, str) else list(labels)
        if len(names) != len(sequence):
            raise InputError(
                f"got {len(names)} labels for {len(sequence)} frames: pass one label per frame "
                "(or one label for all)"
            )
        whole = sequence.select("body").select_people(person).known[:, 0].all(axis=1)
        kept = np.flatnonzero(whole)
        if kept.size == 0:
            raise InputError(
                "no frame of the sequence has a whole body to train on: record frames with a pose"
            )
        lm = _training_landmarks(sequence[kept], person)
        clf = cls(
            lm,
            [names[i] for i in kept],
            [f"frame_{i}" for i in kept],
            **params,
        )
        clf.skipped = tuple(f"frame_{i}" for i in np.flatnonzero(~whole))
        if clf.skipped:
            logger.info("from_sequence: skipped %d frames without a whole body", len(clf.skipped))
        return clf

    @classmethod
    def from_image_folder(
        cls, folder: str | Path, tracker: Tracker | None = None, **params: Any
    ) -> PoseClassifier:
        """Train from ``folder/<class>/*.jpg`` (see :func:`extract_folder_samples`).

        Images without a pose are skipped and listed in :attr:`skipped`.

        Raises:
            InputError: bad folder (see :func:`extract_folder_samples`) or no pose found at all.
        """
        found = extract_folder_samples(folder, tracker)
        if len(found.labels) == 0:
            raise InputError(
                f"no pose was found in any image under {folder} ({len(found.missing)} images "
                "tried): check the images show one whole person"
            )
        params.setdefault("sha256", [file_sha256(Path(folder) / n) for n in found.names])
        clf = cls(found.landmarks, found.labels, found.names, **params)
        clf.skipped = found.missing
        return clf

    #: Images a folder-trained classifier skipped because no pose was found.
    skipped: tuple[str, ...] = ()

    # ------------------------------------------------------------------ properties
    @property
    def classes(self) -> tuple[str, ...]:
        """Class names, sorted."""
        return self._classes

    @property
    def labels(self) -> tuple[str, ...]:
        """The class of each training sample."""
        return self._labels

    @property
    def names(self) -> tuple[str, ...]:
        """The name of each training sample."""
        return self._names

    @property
    def sha256(self) -> tuple[str, ...]:
        """The sha256 of each sample's image file (``""`` where unknown, e.g. a classifier
        saved by an older posekit)."""
        return self._sha256

    @property
    def landmarks(self) -> F32Array:
        """Read-only ``(N, 33, 3)`` training landmarks."""
        return self._landmarks

    @property
    def k(self) -> int:
        """Number of voters: ``min(top_n_by_mean_distance, top_n_by_max_distance, N)``."""
        p = self._params
        return min(p.top_n_by_mean_distance, p.top_n_by_max_distance, len(self._labels))

    def __len__(self) -> int:
        return len(self._labels)

    def __repr__(self) -> str:
        return f"PoseClassifier({len(self)} samples, classes={list(self._classes)})"

    # ------------------------------------------------------------------ classification
    def distances(self, landmarks: Pose | npt.ArrayLike) -> tuple[F32Array, F32Array]:
        """Mirror-aware ``(max, mean)`` weighted distances from a pose to every sample, ``(N,)``.

        Each is the smaller of the distance of the pose and of its mirror image.
        """
        lm = _as_landmarks(landmarks)
        if lm.ndim != 2:
            raise InputError(f"classify one pose at a time ((33, 3)), got {lm.shape}")
        q = pose_embedding(np.stack([lm, mirror_landmarks(lm)])) * self._weights  # (2, 23, 3)
        diff = np.abs(self._emb[None, :, :, :] - q[:, None, :, :])  # (2, N, 23, 3)
        flat = diff.reshape(2, len(self._labels), -1)
        return flat.max(axis=2).min(axis=0), flat.mean(axis=2).min(axis=0)

    def neighbours(self, landmarks: Pose | npt.ArrayLike) -> npt.NDArray[np.intp]:
        """Indices of the ``k`` voting samples, nearest first (stable on ties)."""
        d_max, d_mean = self.distances(landmarks)
        p = self._params
        first = np.argsort(d_max, kind="stable")[: p.top_n_by_max_distance]
        second = first[np.argsort(d_mean[first], kind="stable")][: p.top_n_by_mean_distance]
        return second

    def vote_vector(self, landmarks: Pose | npt.ArrayLike) -> F32Array:
        """Votes per class as a ``(C,)`` float32 array in :attr:`classes` order."""
        idx = self.neighbours(landmarks)
        return np.bincount(self._label_idx[idx], minlength=len(self._classes)).astype(np.float32)

    def classify(self, pose: Pose | npt.ArrayLike) -> ClassVotes:
        """Votes out of :attr:`k` per class for one pose (a Pose or ``(33, 3)`` landmarks).

        Raises:
            InputError: bad shape, NaN/inf, or a degenerate pose.
        """
        votes = self.vote_vector(pose)
        return ClassVotes(dict(zip(self._classes, votes.tolist(), strict=True)), self.k)

    def votes_from_vector(self, vector: npt.ArrayLike) -> ClassVotes:
        """Wrap a ``(C,)`` vote vector (e.g. smoothed) as :class:`ClassVotes`."""
        v = np.asarray(vector, dtype=np.float64).reshape(-1)
        if v.shape != (len(self._classes),):
            raise InputError(f"expected {len(self._classes)} votes, got shape {v.shape}")
        return ClassVotes(dict(zip(self._classes, v.tolist(), strict=True)), self.k)

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document written by :meth:`save` for ``.json``."""
        p = self._params
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "params": {
                "top_n_by_max_distance": p.top_n_by_max_distance,
                "top_n_by_mean_distance": p.top_n_by_mean_distance,
                "axis_weights": list(p.axis_weights),
            },
            "samples": [
                {"name": n, "label": lab, "landmarks": lm.tolist(), "sha256": h}
                for n, lab, lm, h in zip(
                    self._names, self._labels, self._landmarks, self._sha256, strict=True
                )
            ],
        }

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "document") -> PoseClassifier:
        """Rebuild a classifier from :meth:`to_dict`'s layout, validating it."""
        if not isinstance(doc, Mapping):
            raise InputError(f"{source} is not a posekit pose classifier (not a JSON object)")
        _check_header(doc.get("format"), doc.get("format_version"), source)
        params = doc.get("params")
        samples = doc.get("samples")
        if not isinstance(params, Mapping) or not isinstance(samples, list) or not samples:
            raise InputError(
                f"{source}: a classifier needs a 'params' object and a non-empty 'samples' "
                "list; re-save it with PoseClassifier.save()"
            )
        for i, s in enumerate(samples):
            if not isinstance(s, Mapping) or not isinstance(s.get("label"), str):
                raise InputError(
                    f"{source}: sample {i} needs a string 'label' and 'landmarks' "
                    "(33 x [x, y, z]); re-save the classifier with PoseClassifier.save()"
                )
            if not isinstance(s.get("name", ""), str):
                raise InputError(f"{source}: sample {i}: 'name' must be a string")
        try:
            lm = np.array([s["landmarks"] for s in samples], dtype=np.float32)
            labels = [str(s["label"]) for s in samples]
            names = [str(s.get("name", f"sample_{i}")) for i, s in enumerate(samples)]
            digests = [str(s.get("sha256") or "") for s in samples]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError(
                f"{source}: every sample needs 'label' and 'landmarks' (33 x [x, y, z] numbers): "
                f"{exc}"
            ) from exc
        return cls(lm, labels, names, sha256=digests, **_params_from(params, source))

    def save(self, path: str | Path) -> Path:
        """Write the classifier to ``path``: ``.json`` (text) or ``.npz`` (numpy, no pickle).

        Example:
            >>> clf.save("yoga.npz")  # doctest: +SKIP
            >>> PoseClassifier.load("yoga.npz").classes  # doctest: +SKIP
        """
        out = Path(path)
        suffix = out.suffix.lower()
        if suffix == ".json":
            out.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        elif suffix == ".npz":
            p = self._params
            with out.open("wb") as fh:
                np.savez_compressed(
                    fh,
                    format=np.array(FORMAT_NAME),
                    format_version=np.array(FORMAT_VERSION, np.int64),
                    landmarks=self._landmarks,
                    labels=np.array(self._labels, dtype=np.str_),
                    names=np.array(self._names, dtype=np.str_),
                    sha256=np.array(self._sha256, dtype="<U64"),
                    top_n=np.array([p.top_n_by_max_distance, p.top_n_by_mean_distance], np.int64),
                    axis_weights=np.array(p.axis_weights, np.float64),
                )
        else:
            raise InputError(
                f"cannot save a classifier as {out.name!r}: use a .json or .npz file name"
            )
        return out

    @classmethod
    def load(cls, path: str | Path) -> PoseClassifier:
        """Read a classifier written by :meth:`save` (``.json`` or ``.npz``; never unpickles).

        Raises:
            InputError: missing file, unknown extension, not a posekit classifier, another
                format version, or damaged contents (the message says which).
        """
        src = Path(path)
        if not src.is_file():
            raise InputError(f"classifier file {src} does not exist: train and save one first")
        suffix = src.suffix.lower()
        if suffix == ".json":
            size = src.stat().st_size
            if size > MAX_FILE_BYTES:
                raise InputError(
                    f"{src} is {size:,} bytes, more than a classifier file may be "
                    f"({MAX_FILE_BYTES:,} bytes): it is not a saved posekit classifier, or save "
                    "a large one as .npz"
                )
            try:
                text = src.read_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{src} is not UTF-8 text ({exc}): it is not a saved posekit classifier"
                ) from exc
            from posekit.schema import parse_json

            doc = parse_json(text, str(src), what="a saved posekit classifier")
            return cls.from_dict(doc, source=str(src))
        if suffix == ".npz":
            return cls._load_npz(src)
        raise InputError(f"cannot load a classifier from {src.name!r}: expected .json or .npz")

    @classmethod
    def _load_npz(cls, src: Path) -> PoseClassifier:
        _check_npz(src)
        try:
            with np.load(src, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
            raise InputError(
                f"{src} is not a readable .npz without pickled objects ({exc}): it is not a "
                "saved posekit classifier"
            ) from exc
        fmt = arrays.get("format")
        ver = arrays.get("format_version")
        _check_header(
            None if fmt is None or fmt.dtype.kind != "U" else str(fmt),
            None if ver is None or ver.dtype.kind not in "iu" or ver.ndim else int(ver),
            str(src),
        )
        missing = [k for k in ("landmarks", "labels", "top_n", "axis_weights") if k not in arrays]
        if missing:
            raise InputError(f"{src} lacks the arrays {missing}: re-save it with save()")
        top_n = arrays["top_n"]
        if top_n.shape != (2,) or top_n.dtype.kind not in "iu":
            raise InputError(f"{src}: 'top_n' must hold two ints, got {top_n!r}")
        labels = arrays["labels"]
        names = arrays.get("names")
        if labels.dtype.kind != "U" or (names is not None and names.dtype.kind != "U"):
            raise InputError(f"{src}: 'labels' and 'names' must be string arrays")
        if labels.ndim != 1 or (names is not None and names.ndim != 1):
            raise InputError(f"{src}: 'labels' and 'names' must be 1-D (one per sample)")
        for key in ("landmarks", "axis_weights"):
            if arrays[key].dtype.kind not in "fiu":
                raise InputError(
                    f"{src}: {key!r} must be a numeric array, got dtype {arrays[key].dtype}; "
                    "re-save the classifier with save()"
                )
        if arrays["axis_weights"].shape != (3,):
            raise InputError(
                f"{src}: 'axis_weights' must hold 3 numbers, got shape "
                f"{arrays['axis_weights'].shape}"
            )
        digests = arrays.get("sha256")  # absent in files of older posekit versions
        if digests is not None and (digests.dtype.kind != "U" or digests.ndim != 1):
            raise InputError(f"{src}: 'sha256' must be a string array")
        return cls(
            arrays["landmarks"],
            labels.tolist(),
            None if names is None else names.tolist(),
            sha256=None if digests is None else digests.tolist(),
            top_n_by_max_distance=int(top_n[0]),
            top_n_by_mean_distance=int(top_n[1]),
            axis_weights=arrays["axis_weights"].tolist(),
        )


MAX_FILE_BYTES: Final = 512 * 2**20
"""Largest classifier file :meth:`PoseClassifier.load` reads: the declared (uncompressed) size of
all arrays of a ``.npz``, or a ``.json`` file's size (512 MiB: over a million training samples as
``.npz``). Checked from the zip and ``.npy`` headers before anything is decompressed, so a
file whose arrays would decompress to gigabytes is refused with an error instead of filling the
memory."""

_MAX_NPZ_MEMBERS: Final = 64


def _check_npz(src: Path) -> None:
    """Refuse a ``.npz`` whose declared contents exceed :data:`MAX_FILE_BYTES` (zip member sizes
    and ``.npy`` header shapes), before numpy decompresses or allocates anything."""

    def refuse(why: str) -> InputError:
        return InputError(
            f"{src}: {why}; a posekit classifier holds at most {MAX_FILE_BYTES:,} bytes of "
            "arrays: it is not a saved posekit classifier (or a damaged one)"
        )

    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_NPZ_MEMBERS:
                raise refuse(f"{len(infos)} members")
            total = sum(i.file_size for i in infos)
            if total > MAX_FILE_BYTES:
                raise refuse(f"its members would decompress to {total:,} bytes")
            for info in infos:
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                declared = math.prod(shape) * dtype.itemsize
                if declared > MAX_FILE_BYTES or declared > info.file_size:
                    raise refuse(
                        f"array {info.filename!r} declares shape {shape} of {dtype} "
                        f"({declared:,} bytes) in a member of {info.file_size:,} bytes"
                    )
    except InputError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        RuntimeError,  # an encrypted member
        zipfile.BadZipFile,
        NotImplementedError,  # an unsupported compression method
    ) as exc:
        raise InputError(
            f"{src} is not a readable .npz ({type(exc).__name__}: {exc}): it is not a saved "
            "posekit classifier"
        ) from exc


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (``""`` when it cannot be read): the fingerprint a
    classifier keeps of each training image.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
        ...     _ = fh.write(b"abc")
        >>> file_sha256(fh.name)[:12], file_sha256("/no/such/file")
        ('ba7816bf8f01', '')
    """
    import hashlib

    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def _is_digest(text: str) -> bool:
    return text == "" or (len(text) == 64 and all(c in "0123456789abcdef" for c in text))


def _check_header(fmt: object, version: object, source: str) -> None:
    if fmt != FORMAT_NAME:
        raise InputError(
            f"{source} is not a posekit pose classifier (format {fmt!r}, expected "
            f"{FORMAT_NAME!r}): load a file written by PoseClassifier.save()"
        )
    if version != FORMAT_VERSION:
        raise InputError(
            f"{source} has classifier format version {version!r}; this posekit reads version "
            f"{FORMAT_VERSION}: re-train and save it with this posekit"
        )


def _params_from(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    known = {"top_n_by_max_distance", "top_n_by_mean_distance", "axis_weights"}
    unknown = set(params) - known
    if unknown:
        raise InputError(f"{source}: unknown classifier params {sorted(unknown)}")
    weights = params.get("axis_weights", DEFAULT_AXIS_WEIGHTS)
    if (
        not isinstance(weights, (list, tuple))
        or len(weights) != 3
        or not all(isinstance(w, numbers.Real) and not isinstance(w, bool) for w in weights)
    ):
        raise InputError(
            f"{source}: params.axis_weights must be a list of 3 numbers (x, y, z), got "
            f"{weights!r:.80}; re-save the classifier with PoseClassifier.save()"
        )
    return dict(params)


# ---------------------------------------------------------------------------------- streams
class EMAVoteSmoother:
    """Exponential moving average of vote vectors over a window (the reference's smoothing).

    ``smoothed = sum_i (1 - alpha)^i * v_i / sum_i (1 - alpha)^i`` over the last ``window``
    vectors, ``i = 0`` the newest.

    >>> s = EMAVoteSmoother(2, window=10, alpha=0.2)
    >>> s([10.0, 0.0]).tolist(), s([0.0, 10.0]).round(3).tolist()
    ([10.0, 0.0], [4.444, 5.556])
    """

    def __init__(self, num_classes: int, *, window: int = 10, alpha: float = 0.2) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise InputError(f"window must be a positive int, got {window!r}")
        if not 0.0 < float(alpha) <= 1.0:
            raise InputError(f"alpha must lie in (0, 1], got {alpha!r}")
        self.window = window
        self.alpha = float(alpha)
        self._buf = np.zeros((window, num_classes), np.float64)
        self._factors = (1.0 - self.alpha) ** np.arange(window, dtype=np.float64)
        self._cum = np.cumsum(self._factors)
        self._n = 0
        self._head = 0

    def reset(self) -> None:
        """Forget the window."""
        self._n = 0
        self._head = 0

    def __call__(self, votes: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Push one vote vector and return the smoothed vector (a new array)."""
        v = np.asarray(votes, dtype=np.float64).reshape(-1)
        if v.shape != self._buf.shape[1:]:
            raise InputError(f"expected {self._buf.shape[1]} votes, got shape {v.shape}")
        self._head = (self._head - 1) % self.window
        self._buf[self._head] = v
        self._n = min(self._n + 1, self.window)
        order = (self._head + np.arange(self._n)) % self.window  # newest first
        weights = self._factors[: self._n]
        return np.asarray(weights @ self._buf[order] / self._cum[self._n - 1], np.float64)


class PoseClassifierAnalyzer(Analyzer[ClassVotes | None]):
    """Classify every frame's pose and smooth the votes over time (EMA, window 10, alpha 0.2).

    Output: smoothed :class:`ClassVotes`, or ``None`` when the frame has no pose. A frame
    without a pose still enters the smoothing window as zero votes (the reference's behaviour),
    so the votes decay while the person is lost. Set ``smooth=False`` for raw k-NN votes.

    Example:
        >>> from posekit.analyzers.base import OfflineFrame
        >>> an = PoseClassifierAnalyzer(clf, name="yoga")  # doctest: +SKIP
        >>> an.update(OfflineFrame(pose, 0.0, 0)).label  # doctest: +SKIP
        'tree'
    """

    def __init__(
        self,
        classifier: PoseClassifier,
        *,
        name: str = "pose_class",
        smooth: bool = True,
        window: int = 10,
        alpha: float = 0.2,
    ) -> None:
        self.classifier = classifier
        self.name = name
        self.smooth = bool(smooth)
        self._smoother = EMAVoteSmoother(len(classifier.classes), window=window, alpha=alpha)
        self._zeros = np.zeros(len(classifier.classes), np.float32)

    def reset(self) -> None:
        self._smoother.reset()

    def update(self, frame: PoseFrame) -> ClassVotes | None:
        pose = frame.pose
        raw = self._zeros if pose is None else self.classifier.vote_vector(pose)
        votes = self._smoother(raw) if self.smooth else raw
        return None if pose is None else self.classifier.votes_from_vector(votes)


@dataclass(frozen=True, slots=True)
class ClassRep:
    """One repetition counted by :class:`ClassRepCounter` (times in seconds)."""

    start: float
    end: float
    peak_votes: float

    @property
    def duration(self) -> float:
        """``end - start`` in seconds."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class ClassRepState:
    """Output of :class:`ClassRepCounter` on one frame.

    Attributes:
        count: repetitions so far.
        in_pose: whether the target class is currently entered.
        votes: smoothed votes of the target class on this frame, None without a pose.
        reps: every counted repetition, oldest first.
        new_rep: True on the frame a repetition was counted.
    """

    count: int
    in_pose: bool
    votes: float | None
    reps: tuple[ClassRep, ...] = field(default=())
    new_rep: bool = False


class ClassRepCounter(Analyzer[ClassRepState]):
    """Count repetitions of a pose class with vote hysteresis (enter > 6, count when < 4).

    The classifier's votes are smoothed like :class:`PoseClassifierAnalyzer` does; a
    repetition starts when the target class's smoothed votes rise **above** ``enter_votes`` and
    is counted when they fall **below** ``exit_votes``. When the person is lost (no pose) an
    entered repetition is abandoned, not counted, and the smoothing restarts: leaving the frame
    never counts.

    Args:
        classifier: a trained :class:`PoseClassifier`.
        target: the class whose repetitions are counted (e.g. ``"squat_down"``).
        enter_votes, exit_votes: thresholds in votes out of ``classifier.k``; default 6 and 4
            out of 10 as in the reference, scaled to ``classifier.k`` (0.6 k and 0.4 k).

    Raises:
        InputError: unknown ``target`` or ``exit_votes > enter_votes``.

    Example:
        >>> counter = ClassRepCounter(clf, "pushups_down")  # doctest: +SKIP
        >>> for r in tracker.stream("pushups.mp4"):  # doctest: +SKIP
        ...     state = counter.update(r)
        >>> state.count  # doctest: +SKIP
        12
    """

    def __init__(
        self,
        classifier: PoseClassifier,
        target: str,
        *,
        enter_votes: float | None = None,
        exit_votes: float | None = None,
        window: int = 10,
        alpha: float = 0.2,
        name: str | None = None,
    ) -> None:
        if target not in classifier.classes:
            raise InputError(
                f"target class {target!r} is not one of the classifier's classes "
                f"{list(classifier.classes)}"
            )
        if enter_votes is None:
            enter_votes = 0.6 * classifier.k
        if exit_votes is None:
            exit_votes = 0.4 * classifier.k
        if not exit_votes <= enter_votes:
            raise InputError(
                f"exit_votes ({exit_votes}) must not exceed enter_votes ({enter_votes}): the "
                "gap between them is the hysteresis"
            )
        self.classifier = classifier
        self.target = target
        self.enter_votes = float(enter_votes)
        self.exit_votes = float(exit_votes)
        self.name = name if name is not None else f"{target}_reps"
        self._col = classifier.classes.index(target)
        self._smoother = EMAVoteSmoother(len(classifier.classes), window=window, alpha=alpha)
        self.reset()

    def reset(self) -> None:
        self._smoother.reset()
        self._reps: list[ClassRep] = []
        self._in_pose = False
        self._start = 0.0
        self._peak = 0.0
        self._last_t: float | None = None

    @property
    def count(self) -> int:
        """Repetitions counted so far."""
        return len(self._reps)

    def update(self, frame: PoseFrame) -> ClassRepState:
        pose = frame.pose
        t = check_timestamp(frame.timestamp, self._last_t, advice=_TIMESTAMP_ADVICE)
        if pose is None:
            self._last_t = t
            self._in_pose = False
            self._smoother.reset()
            return ClassRepState(self.count, False, None, tuple(self._reps))
        votes = float(self._smoother(self.classifier.vote_vector(pose))[self._col])
        return self.update_votes(votes, t)

    def update_votes(self, votes: float, timestamp: float) -> ClassRepState:
        """Advance the hysteresis with an already smoothed vote count (offline use).

        Raises:
            InputError: ``votes`` is not finite.
            TimestampError: ``timestamp`` breaks :func:`posekit.timestamps.check_timestamp`
                (the counter is left untouched).
        """
        if not math.isfinite(votes):
            raise InputError(f"votes must be a finite number, got {votes!r}")
        t = check_timestamp(timestamp, self._last_t, advice=_TIMESTAMP_ADVICE)
        self._last_t = t
        new_rep = False
        if not self._in_pose:
            if votes > self.enter_votes:
                self._in_pose = True
                self._start = t
                self._peak = votes
        else:
            self._peak = max(self._peak, votes)
            if votes < self.exit_votes:
                self._in_pose = False
                self._reps.append(ClassRep(self._start, t, self._peak))
                new_rep = True
        return ClassRepState(self.count, self._in_pose, votes, tuple(self._reps), new_rep)
