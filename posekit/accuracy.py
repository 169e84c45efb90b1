"""How hard the tracker looks for the person on a frame that runs the detector.

:class:`AccuracyPolicy` bounds the search by counting model runs; :class:`PersonFinder` runs it
on one frame (the detector pass, then the :data:`RECOVERY_PASSES` while nobody passes the
presence gate, then image-mode re-crops and the optional flip). ``"fast"`` is MediaPipe's single
pass; ``"balanced"`` costs at most 2 single passes, ``"best"`` 4. Tracking frames never come
here. Why: the search and its gates, ``docs/design/tracking.md``.

Example:
    >>> from posekit.accuracy import ACCURACY_POLICIES, AccuracyPolicy
    >>> ACCURACY_POLICIES["balanced"].max_landmark_runs
    2
    >>> AccuracyPolicy("mine", recovery=("rotate180",), max_landmark_runs=2, max_model_runs=4).flip
    False
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import numpy as np

from posekit.detector import Detection, DetectorOutput, PoseDetector
from posekit.errors import InputError
from posekit.image import Frame
from posekit.landmarks import LandmarkEstimate, LandmarkModel, average_estimates
from posekit.roi import RotatedRect, roi_change

__all__ = [
    "ACCURACY_POLICIES",
    "RECOVERY_PASSES",
    "AccuracyName",
    "AccuracyPolicy",
    "PersonChoice",
    "PersonFinder",
]

AccuracyName = Literal["fast", "balanced", "best"]
PersonChoice = Literal["center", "score"]

RECOVERY_PASSES: tuple[str, ...] = (
    "low_threshold",
    "rotate90",
    "rotate270",
    "zoom",
    "rotate180",
    "flip",
)
"""Recovery passes, in the order they are tried when the normal detector pass finds nobody
whose landmark presence reaches ``min_tracking_confidence``:

* ``low_threshold``: the same detector output decoded again at
  :attr:`AccuracyPolicy.low_threshold`; extra candidates are tried by score and must pass the
  landmark model's presence gate and fill their crop, so the lower threshold costs landmark runs
  only;
* ``rotate90`` / ``rotate270``: the detector on the frame turned by a quarter turn (people
  lying down become upright; the landmark ROI keeps the detection's rotation);
* ``zoom``: the detector on 4 overlapping sub-windows (2 x 2 tiles, each 0.6 of the
  letterboxed side, 1.67x zoom: any person up to 0.2 of the side lies wholly in one tile);
* ``rotate180``: the frame upside down (handstands, inverted people);
* ``flip``: the frame mirrored.

The order puts the free pass first, then orientations that are common in fitness material,
then small people, then the rarer cases; the run budget of the policy cuts the list short."""

_ROTATIONS = {"rotate90": math.pi / 2, "rotate180": math.pi, "rotate270": -math.pi / 2}
_ZOOM_SIDE = 0.6
_ZOOM_OFFSETS = ((-0.2, -0.2), (0.2, -0.2), (-0.2, 0.2), (0.2, 0.2))


@dataclass(frozen=True, slots=True)
class AccuracyPolicy:
    """How hard the tracker looks for the person and refines the landmarks on a frame that
    runs the detector (every image-mode frame; video-mode frames without a tracked person).

    The cost is bounded by counting model runs: at most ``max_landmark_runs`` landmark runs and
    ``max_model_runs`` runs in all (detector + landmark). The detector costs less than any
    landmark model, so a policy with ``max_model_runs = 2 k`` and ``max_landmark_runs = k``
    never costs more than ``k`` single passes (1 detector + 1 landmark run), whatever the model.

    Attributes:
        name: a label.
        refine_iterations: image mode: after a landmark pass, rebuild the ROI from the auxiliary
            points 33/34 and run the landmark model again while the ROI moves or rescales by
            more than ``refine_tolerance`` (see :func:`posekit.roi.roi_change`), at most this
            many times. A new pass replaces the previous one only when its presence passes.
        refine_tolerance: fraction of the ROI side below which the crop is left as it is (5 %:
            several times the model's own repeatability between passes, about 1 %).
        recovery: recovery passes to try, in order (names from :data:`RECOVERY_PASSES`).
        low_threshold: detector score threshold of the ``low_threshold`` pass.
        max_landmark_runs, max_model_runs: the run budget per frame (see above).
        flip: image mode: average the landmarks with those of the mirrored crop (test-time
            flip) when the budget allows it.
        person: which detection to take when several people are found: ``"center"`` (the
            person whose hip centre is nearest the image centre, measured in their own body
            radius, so large and central people win) or ``"score"`` (highest detector score:
            MediaPipe's choice).
    """

    name: str
    refine_iterations: int = 0
    refine_tolerance: float = 0.05
    recovery: tuple[str, ...] = ()
    low_threshold: float = 0.1
    max_landmark_runs: int = 1
    max_model_runs: int = 2
    flip: bool = False
    person: PersonChoice = "score"

    def __post_init__(self) -> None:
        unknown = [p for p in self.recovery if p not in RECOVERY_PASSES]
        if unknown:
            raise InputError(
                f"unknown recovery pass(es) {unknown}: choose from {', '.join(RECOVERY_PASSES)}"
            )
        if self.person not in ("center", "score"):
            raise InputError(f"person={self.person!r} is unknown: choose 'center' or 'score'")
        if self.max_landmark_runs < 1 or self.max_model_runs < self.max_landmark_runs + 1:
            raise InputError(
                "an accuracy policy needs max_landmark_runs >= 1 and max_model_runs >= "
                "max_landmark_runs + 1 (one detector run)"
            )
        if self.refine_iterations < 0 or not 0.0 <= self.low_threshold <= 1.0:
            raise InputError(
                "refine_iterations must be >= 0 and low_threshold a probability in [0, 1]"
            )


ACCURACY_POLICIES: Mapping[str, AccuracyPolicy] = MappingProxyType(
    {
        # MediaPipe's single pass: one detector run, the best-scoring person, one landmark run.
        "fast": AccuracyPolicy("fast"),
        # <= 2x a single pass: one refinement, central person, recovery within 4 runs.
        "balanced": AccuracyPolicy(
            "balanced",
            refine_iterations=1,
            recovery=RECOVERY_PASSES,
            max_landmark_runs=2,
            max_model_runs=4,
            person="center",
        ),
        # <= 4x a single pass: two refinements, every recovery pass the budget allows. The
        # test-time flip is left to flip=True: on ../shared/data/keypoints it changed PCK by
        # -1.0 to +0.5 points (noise) for +60-70 % time.
        "best": AccuracyPolicy(
            "best",
            refine_iterations=2,
            recovery=RECOVERY_PASSES,
            max_landmark_runs=4,
            max_model_runs=8,
            person="center",
        ),
    }
)
"""The named policies of ``Tracker(accuracy=...)``."""


@dataclass
class _Search:
    """Per-frame bookkeeping of the detection search: run budget and stage times."""

    policy: AccuracyPolicy
    det_runs: int = 0
    lm_runs: int = 0
    det_ms: float = 0.0
    crop_ms: float = 0.0
    lm_ms: float = 0.0
    first_roi: RotatedRect | None = None
    first_detection: Detection | None = None

    def can_landmark(self) -> bool:
        return (
            self.lm_runs < self.policy.max_landmark_runs
            and self.det_runs + self.lm_runs < self.policy.max_model_runs
        )

    def can_detect(self) -> bool:
        # keep one landmark run for whatever the detector pass finds
        return (
            self.lm_runs < self.policy.max_landmark_runs
            and self.det_runs + self.lm_runs + 2 <= self.policy.max_model_runs
        )


def _person_order(
    detections: Sequence[Detection], size: tuple[int, int], rule: PersonChoice
) -> list[Detection]:
    if rule == "score" or len(detections) < 2:
        return list(detections)
    cx, cy = 0.5 * size[0], 0.5 * size[1]

    def key(d: Detection) -> tuple[float, float]:
        kp = d.keypoints
        radius = math.hypot(float(kp[1, 0] - kp[0, 0]), float(kp[1, 1] - kp[0, 1]))
        dist = math.hypot(float(kp[0, 0]) - cx, float(kp[0, 1]) - cy)
        return (dist / max(radius, 1e-6), -d.score)

    return sorted(detections, key=key)


#: A recovery candidate's body (landmarks 0-32) must span at least this fraction of its crop
#: side (measured along the crop's axes). A crop built around a person spans about 0.8 of it
#: (the ROI is 1.25x the body's circle); on the annotated dev images every normal detection
#: spans >= 0.41, while the wrong finds of low-score detections (crops 2.5-4.6x too large,
#: upside down) spanned 0.23-0.31 although the landmark model reported a high presence.
_MIN_BODY_SPAN = 0.4


def _body_fills_crop(roi: RotatedRect, est: LandmarkEstimate) -> bool:
    """Whether the landmarks fill the crop they were predicted in (a self-consistency gate for
    recovery candidates, whose alignment keypoints can be nonsense: a crop several times the
    person's size, or upside down; the landmark model then still reports a high presence)."""
    xy = est.landmarks[:33, :2] - (roi.center_x, roi.center_y)
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    u = xy[:, 0] * c + xy[:, 1] * s  # coordinates along the crop's own axes
    v = -xy[:, 0] * s + xy[:, 1] * c
    span = max(float(np.ptp(u)), float(np.ptp(v)))
    return roi.width > 0 and span >= _MIN_BODY_SPAN * roi.width


def _recovery_windows(name: str, width: int, height: int) -> list[tuple[RotatedRect, bool]]:
    whole = RotatedRect.whole_image(width, height)
    if name in _ROTATIONS:
        return [(dataclasses.replace(whole, rotation=_ROTATIONS[name]), False)]
    if name == "flip":
        return [(whole, True)]
    side = whole.width * _ZOOM_SIDE
    return [
        (
            RotatedRect(
                whole.center_x + dx * whole.width, whole.center_y + dy * whole.width, side, side
            ),
            False,
        )
        for dx, dy in _ZOOM_OFFSETS
    ]


Found = tuple[LandmarkEstimate, Detection | None, str]
"""A found person: the landmark estimate, the detection (None from a hint), how it was found."""


class PersonFinder:
    """The detection search of one tracker: detector pass, recovery passes, refinement.

    Args:
        detector, landmarks: the tracker's models.
        min_presence: the landmark presence gate (``min_tracking_confidence``).
        segmentation: ask the landmark model for the mask.

    :attr:`detector_runs` and :attr:`landmark_runs` count the model runs since construction.
    """

    def __init__(
        self,
        detector: PoseDetector,
        landmarks: LandmarkModel,
        *,
        min_presence: float,
        segmentation: bool,
    ) -> None:
        self.detector = detector
        self.landmarks = landmarks
        self.min_presence = float(min_presence)
        self.segmentation = bool(segmentation)
        self.detector_runs = 0
        self.landmark_runs = 0

    def find(
        self,
        frame: Frame,
        policy: AccuracyPolicy,
        hint: RotatedRect | None = None,
        *,
        refine: bool = False,
    ) -> tuple[Found | None, _Search]:
        """The person on ``frame`` (from the caller's ``hint`` ROI when given, else the
        detector and the policy's recovery passes), refined when ``refine`` (image mode), and
        the search's bookkeeping (stage times, first ROI and detection tried)."""
        search = _Search(policy)
        found: Found | None = (
            self._from_hint(frame, hint, search)
            if hint is not None
            else self._search(frame, search)
        )
        if found is not None and refine:
            found = (self._refine(frame, found[0], search), found[1], found[2])
        return found, search

    def _landmarks(
        self, frame: Frame, roi: RotatedRect, search: _Search, *, mirror: bool = False
    ) -> LandmarkEstimate | None:
        """One landmark run on ``roi``; None when the presence is below the tracking
        threshold (or the ROI is unusable)."""
        if not roi.is_valid():
            return None
        if search.first_roi is None:
            search.first_roi = roi
        t0 = time.perf_counter()
        tensor = self.landmarks.crop(frame, roi)
        t1 = time.perf_counter()
        raw = self.landmarks.infer(tensor, segmentation=self.segmentation, mirror=mirror)
        t2 = time.perf_counter()
        search.lm_runs += 1
        self.landmark_runs += 1
        search.crop_ms += (t1 - t0) * 1e3
        search.lm_ms += (t2 - t1) * 1e3
        if not raw.presence >= self.min_presence:
            return None
        return self.landmarks.decode(raw, roi, frame.size)

    def _detect(
        self, frame: Frame, search: _Search, window: RotatedRect | None = None, mirror: bool = False
    ) -> DetectorOutput:
        t0 = time.perf_counter()
        out = self.detector.run(frame, window, mirror=mirror)
        search.det_ms += (time.perf_counter() - t0) * 1e3
        search.det_runs += 1
        self.detector_runs += 1
        return out

    def _verify(
        self,
        frame: Frame,
        candidates: Sequence[Detection],
        search: _Search,
        *,
        recovery: bool = False,
    ) -> tuple[LandmarkEstimate, Detection] | None:
        """The first candidate whose landmarks pass the presence gate (and, for recovery
        candidates, fill their crop: see :func:`_body_fills_crop`).
        Recovery candidates are tried by detector score: below the normal threshold the score
        is the only evidence that a candidate is a person at all."""
        order = (
            sorted(candidates, key=lambda d: -d.score)
            if recovery
            else _person_order(candidates, frame.size, search.policy.person)
        )
        for det in order:
            if search.first_detection is None:
                search.first_detection = det
            if not search.can_landmark():
                return None
            roi = det.roi()
            est = self._landmarks(frame, roi, search)
            if est is not None and (not recovery or _body_fills_crop(roi, est)):
                return est, det
        return None

    def _search(
        self, frame: Frame, search: _Search
    ) -> tuple[LandmarkEstimate, Detection, str] | None:
        """Detector pass, then the policy's recovery passes until a candidate passes the
        landmark presence gate or the run budget is spent."""
        policy = search.policy
        out = self._detect(frame, search)
        single = policy.person == "score" and policy.max_landmark_runs == 1
        primary = self.detector.decode_output(out, max_detections=1 if single else None)
        got = self._verify(frame, primary, search)
        if got is not None:
            return got[0], got[1], "detector"
        for name in policy.recovery:
            if not search.can_landmark():
                break
            if name == "low_threshold":
                if policy.low_threshold >= self.detector.min_detection_confidence:
                    continue
                low = self.detector.decode_output(out, min_confidence=policy.low_threshold)
                extra = [d for d in low if d.score < self.detector.min_detection_confidence]
                got = self._verify(frame, extra, search, recovery=True)
                if got is not None:
                    return got[0], got[1], name
                continue
            for window, mirror in _recovery_windows(name, frame.width, frame.height):
                if not search.can_detect():
                    break
                found = self.detector.decode_output(self._detect(frame, search, window, mirror))
                got = self._verify(frame, found, search, recovery=True)
                if got is not None:
                    return got[0], got[1], name
        return None

    def _from_hint(
        self, frame: Frame, hint: RotatedRect, search: _Search
    ) -> tuple[LandmarkEstimate, None, str] | None:
        est = self._landmarks(frame, hint, search)
        return None if est is None else (est, None, "hint")

    def _refine(self, frame: Frame, est: LandmarkEstimate, search: _Search) -> LandmarkEstimate:
        """Image mode: re-crop from the auxiliary points while the ROI moves materially, then
        the optional test-time flip, within the run budget."""
        policy = search.policy
        for _ in range(policy.refine_iterations):
            if not search.can_landmark():
                break
            roi = RotatedRect.from_alignment_points(est.auxiliary[0, :2], est.auxiliary[1, :2])
            if not roi.is_valid() or roi_change(est.roi, roi) <= policy.refine_tolerance:
                break
            better = self._landmarks(frame, roi, search)
            if better is None:
                break
            est = better
        if policy.flip and search.can_landmark():
            mirrored = self._landmarks(frame, est.roi, search, mirror=True)
            if mirrored is not None:
                est = average_estimates(est, mirrored)
        return est
