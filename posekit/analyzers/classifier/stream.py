"""Classifiers on a stream: vote smoothing, a per-frame classifier and a rep counter.

Example:
    >>> s = EMAVoteSmoother(2, window=10, alpha=0.2)
    >>> s([10.0, 0.0]).tolist()
    [10.0, 0.0]
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

from posekit.analyzers.base import Analyzer, PoseFrame
from posekit.analyzers.classifier.model import ClassVotes, PoseClassifier
from posekit.analyzers.reps import Phase, PhaseWords, Rep, RepCount, rep_columns
from posekit.errors import InputError
from posekit.timestamps import check_timestamp

__all__ = ["CLASS_REP_WORDS", "ClassRepCounter", "EMAVoteSmoother", "PoseClassifierAnalyzer"]

_TIMESTAMP_ADVICE = "feed frames in time order, or reset() for a new sequence"

CLASS_REP_WORDS: Final = PhaseWords(
    rest="out of pose", leaving="entering pose", turn="in pose", returning="leaving pose"
)
"""What displays call the phases of a :class:`ClassRepCounter`."""


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

    def csv_columns(self) -> dict[str, str]:
        """CSV column ``<name>_label``: the winning class (see ``posekit.sinks``)."""
        return {f"{self.name}_label": "label"}

    def update(self, frame: PoseFrame) -> ClassVotes | None:
        pose = frame.pose
        raw = self._zeros if pose is None else self.classifier.vote_vector(pose)
        votes = self._smoother(raw) if self.smooth else raw
        return None if pose is None else self.classifier.votes_from_vector(votes)


class ClassRepCounter(Analyzer[RepCount]):
    """Count repetitions of a pose class with vote hysteresis (enter > 6, count when < 4).

    Output: the :class:`~posekit.analyzers.reps.RepCount` of every rep counter; ``value`` is
    the target class's smoothed votes (``None`` without a pose); ``phase`` is ``UNKNOWN``
    without a pose, ``REST`` out of the pose, ``RETURNING`` once entered (``at_turn`` while
    the votes are above ``enter_votes``); each :class:`~posekit.analyzers.reps.Rep` has the
    peak votes as its ``depth`` and their time as its ``bottom``; ``new_rep`` is the rep
    counted on this frame, else ``None``.

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
        self.words = CLASS_REP_WORDS
        self._col = classifier.classes.index(target)
        self._smoother = EMAVoteSmoother(len(classifier.classes), window=window, alpha=alpha)
        self.reset()

    def reset(self) -> None:
        self._smoother.reset()
        self._reps: tuple[Rep, ...] = ()
        self._in_pose = False
        self._start = 0.0
        self._start_i = 0
        self._peak = 0.0
        self._peak_t = 0.0
        self._peak_i = 0
        self._last_t: float | None = None

    @property
    def count(self) -> int:
        """Repetitions counted so far."""
        return len(self._reps)

    @property
    def reps(self) -> tuple[Rep, ...]:
        """The counted reps, oldest first."""
        return self._reps

    def csv_columns(self) -> dict[str, str]:
        """CSV columns of this counter's record (see :func:`posekit.sinks.analyzer_columns`)."""
        return rep_columns(self.name)

    def update(self, frame: PoseFrame) -> RepCount:
        pose = frame.pose
        t = check_timestamp(frame.timestamp, self._last_t, advice=_TIMESTAMP_ADVICE)
        if pose is None:
            self._last_t = t
            self._in_pose = False
            self._smoother.reset()
            return RepCount(self.count, Phase.UNKNOWN, None, self._reps, words=self.words)
        votes = float(self._smoother(self.classifier.vote_vector(pose))[self._col])
        return self.update_votes(votes, t, frame.index)

    def update_votes(self, votes: float, timestamp: float, index: int = -1) -> RepCount:
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
        new_rep: Rep | None = None
        if not self._in_pose:
            if votes > self.enter_votes:
                self._in_pose = True
                self._start, self._start_i = t, index
                self._peak, self._peak_t, self._peak_i = votes, t, index
        else:
            if votes > self._peak:
                self._peak, self._peak_t, self._peak_i = votes, t, index
            if votes < self.exit_votes:
                self._in_pose = False
                new_rep = Rep(
                    number=self.count + 1,
                    start=self._start,
                    bottom=self._peak_t,
                    end=t,
                    depth=self._peak,
                    start_index=self._start_i,
                    bottom_index=self._peak_i,
                    end_index=index,
                )
                self._reps = (*self._reps, new_rep)
        phase = Phase.RETURNING if self._in_pose else Phase.REST
        return RepCount(
            self.count, phase, votes, self._reps, new_rep, None, self.words,
            votes > self.enter_votes,
        )  # fmt: skip
