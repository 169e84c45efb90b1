"""The k-NN pose classifier (:class:`PoseClassifier`) and its votes (:class:`ClassVotes`).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> a = rng.normal(size=(33, 3)); b = rng.normal(size=(33, 3))
    >>> PoseClassifier(np.stack([a, b]), ["a", "b"]).classify(b).label
    'b'
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

import posekit.analyzers.classifier.fileformat as fileformat
from posekit.analyzers.classifier.embedding import (
    DEFAULT_AXIS_WEIGHTS,
    as_landmarks,
    mirror_landmarks,
    pose_embedding,
)
from posekit.analyzers.classifier.fileformat import file_sha256, is_digest
from posekit.analyzers.classifier.folder import extract_folder_samples
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.sequence import PoseSequence

if TYPE_CHECKING:
    from posekit.tracker import Tracker

__all__ = ["ClassVotes", "PoseClassifier"]

logger = logging.getLogger(__name__)

F32Array = npt.NDArray[np.float32]


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

    def to_record(self) -> dict[str, Any]:
        """``{votes, k, label}`` as JSON values.

        >>> ClassVotes({"a": 7.0, "b": 3.0}, k=10).to_record()
        {'votes': {'a': 7.0, 'b': 3.0}, 'k': 10, 'label': 'a'}
        """
        return {
            "votes": {str(n): float(v) for n, v in self.votes.items()},
            "k": int(self.k),
            "label": self.label,
        }


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
        lm = as_landmarks(landmarks)
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
        if len(digests) != len(lm) or not all(is_digest(h) for h in digests):
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
        lm = as_landmarks(landmarks)
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

    def _fields(self) -> dict[str, Any]:
        """The constructor arguments that rebuild this classifier."""
        p = self._params
        return {
            "landmarks": self._landmarks,
            "labels": self._labels,
            "names": self._names,
            "sha256": self._sha256,
            "top_n_by_max_distance": p.top_n_by_max_distance,
            "top_n_by_mean_distance": p.top_n_by_mean_distance,
            "axis_weights": p.axis_weights,
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document written by :meth:`save` for ``.json``."""
        return fileformat.to_document(self._fields())

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any], *, source: str = "document") -> PoseClassifier:
        """Rebuild a classifier from :meth:`to_dict`'s layout, validating it."""
        return cls(**fileformat.from_document(doc, source))

    def save(self, path: str | Path) -> Path:
        """Write the classifier to ``path``: ``.json`` (text) or ``.npz`` (numpy, no pickle).

        Example:
            >>> clf.save("yoga.npz")  # doctest: +SKIP
            >>> PoseClassifier.load("yoga.npz").classes  # doctest: +SKIP
        """
        return fileformat.save(path, self._fields())

    @classmethod
    def load(cls, path: str | Path) -> PoseClassifier:
        """Read a classifier written by :meth:`save` (``.json`` or ``.npz``; never unpickles).

        Raises:
            InputError: missing file, unknown extension, not a posekit classifier, another
                format version, or damaged contents (the message says which).
        """
        return cls(**fileformat.load(path))
