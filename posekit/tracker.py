"""Single-person pose tracking: detector -> ROI -> landmarks -> filters, frame after frame.

:class:`Tracker` is the heart of posekit. In **video** mode it runs MediaPipe's tracking loop:

1. no ROI from the previous frame -> run the detector (:mod:`posekit.detector`) on the whole
   frame and build the ROI from its keypoints 0/1 (:mod:`posekit.roi`);
2. crop the ROI and run the landmark model (:mod:`posekit.landmarks`);
3. pose presence below ``min_tracking_confidence`` -> the person is lost: no pose for this
   frame, filters reset, the detector runs on the next frame;
4. otherwise smooth the landmarks with MediaPipe's One Euro presets and the *real* timestamps
   (:mod:`posekit.filters`) and predict the next ROI from the smoothed auxiliary points 33/34,
   so the detector is skipped while tracking holds.

In **image** mode every call runs the detector and nothing is smoothed: frames are independent.

Accuracy (``Tracker(accuracy=...)``, :class:`AccuracyPolicy`): on a frame that runs the detector,
``"fast"`` is MediaPipe's single pass. ``"balanced"`` (the image-mode default) and ``"best"``
choose the most central, largest person instead of the best-scoring one, try the recovery
passes of :data:`RECOVERY_PASSES` in order when nobody passes the landmark presence gate, and in
image mode re-crop from the auxiliary points while the crop still moves (``flip=True`` also
averages with the mirrored crop). The cost is bounded by counting model runs: ``"balanced"``
never costs more than 2 single passes, ``"best"`` 4, and the budget cuts the pass list short:
in practice ``"balanced"`` reaches the lower threshold and the quarter turns, ``"best"`` also the
zoomed tiles; ``rotate180`` and ``flip`` need a custom :class:`AccuracyPolicy` (its
``recovery`` and budgets). A recovery candidate must also fill its crop (its landmarks span at
least 0.4 of the crop side), which rejects low-score detections with nonsense alignment.
``process(image, roi=...)`` takes the person's box (or ROI) from the application's own
detector instead (the top-down route). Tracking frames in video mode are always one landmark
run, whatever the setting.

Timestamp policy (video mode): timestamps are seconds on any clock (a finite real number), and
each must be at least :data:`MIN_TIMESTAMP_STEP` (1 µs, MediaPipe's timestamp unit) after the
previous one. A repeated timestamp is refused at any magnitude: the float rounding allowed for
is capped at half a step, so where float64 seconds cannot resolve 1 µs (beyond 2**33 s, e.g.
epoch microseconds passed as seconds) only a later representable value passes, and the message
says to pass seconds relative to the stream start. ``process(image)`` without a timestamp
uses ``time.monotonic()``. A timestamp that is not a finite number, or not later than the
previous one, raises :class:`~posekit.errors.TimestampError` naming both values and leaves the
tracker untouched (same ROI, same filter state), so the caller can skip the frame and go on.
:meth:`Tracker.reset` forgets the previous timestamp, the ROI and the filters. Image mode does
not check timestamp order (it only requires a finite number). :meth:`Tracker.stream` resets the
tracker when it starts and takes timestamps from the source (see :mod:`posekit.source`).

Frame size (video mode): the ROI and the filters are in the pixels of the previous frame, so a
frame of another size (``(H, W)``) than the previous one resets tracking: the detector runs on
it, the filters start afresh and an INFO line is logged (``posekit.tracker``); its result is
``DETECTED`` or ``LOST``, never ``TRACKING``.

Failure policy: a call that raises leaves no trace. Bad input (the image, the timestamp, the
colour name) is refused with an :class:`~posekit.errors.InputError` *before* any state changes,
so the next good frame gives exactly what it would have given without the bad call. If anything
fails later, while the models run on an accepted frame (a model runner error, for example), the
tracker forgets the person (ROI and filters, as after a lost frame; the frame's timestamp still
counts) and raises a :class:`~posekit.errors.PosekitError`: the next frame runs the detector
like a fresh tracker would. Errors that are not posekit's own are wrapped in
:class:`~posekit.errors.PosekitError` (the original is chained as ``__cause__``), so callers only
ever need to catch ``PosekitError``.

Threads: a tracker is **thread-safe** and serialises its calls with an internal lock:
:meth:`Tracker.process`, :meth:`Tracker.reset`, :meth:`Tracker.close` and each frame of
:meth:`Tracker.stream` run one at a time, so state and internal buffers are never shared by two
frames at once. A tracker is still *one sequence of frames*: frames from several threads are
tracked in the order they take the lock (in video mode their timestamps must interleave
increasingly), so use one tracker per camera/video and several trackers for parallel work.
Separate trackers share nothing mutable (they may even share injected model sessions, since
onnxruntime sessions may be run concurrently).

Example:
    >>> import posekit
    >>> with posekit.Tracker() as t:  # doctest: +SKIP
    ...     for r in t.stream("video.mp4"):
    ...         print(r.index, r.pose)
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import math
import numbers
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from posekit.detector import Detection, DetectorOutput, ModelRunner, PoseDetector
from posekit.errors import InputError, PosekitError, SourceError, TimestampError
from posekit.filters import (
    AUXILIARY_LANDMARKS,
    IMAGE_LANDMARKS,
    VISIBILITY_ALPHA,
    WORLD_LANDMARKS,
    LandmarksSmoother,
    SegmentationSmoother,
)
from posekit.image import Frame, as_frame
from posekit.inference import check_num_threads
from posekit.landmarks import MODEL_NAMES, LandmarkEstimate, LandmarkModel, average_estimates
from posekit.pose import Pose
from posekit.roi import BorderMode, RotatedRect, as_roi_hint, roi_change
from posekit.source import DEFAULT_PREFETCH, CaptureSource, FrameReader, open_source

__all__ = [
    "ACCURACY_POLICIES",
    "MIN_TIMESTAMP_STEP",
    "RECOVERY_PASSES",
    "AccuracyPolicy",
    "FrameResult",
    "Timings",
    "Tracker",
    "TrackingState",
]

MIN_TIMESTAMP_STEP = 1e-6
"""Smallest gap in seconds between consecutive video-mode timestamps (MediaPipe counts integer
microseconds). Gaps short of it by at most 1 ns or one float ulp of the previous timestamp, but
never by more than half a step, are accepted, so that ``previous + 1e-6`` computed in floating
point always passes while an equal timestamp never does, at any magnitude."""
_STEP_TOLERANCE = 1e-9
_MAX_STEP_TOLERANCE = 0.5 * MIN_TIMESTAMP_STEP
_UNIT_WARNING_S = 1e11  # ~3170 years: epoch milliseconds (1.7e12) or microseconds given as seconds


def _fmt_s(seconds: float) -> str:
    return f"{seconds:.6f}" if abs(seconds) < 1e9 else f"{seconds:.9g}"


def _magnitude_hint(last: float) -> str:
    """Extra advice when float64 seconds cannot resolve 1 µs at the magnitude of ``last``."""
    if math.ulp(last) <= MIN_TIMESTAMP_STEP:
        return ""
    return (
        f"; at {_fmt_s(last)} s a float64 cannot hold 1 µs steps (resolution "
        f"{math.ulp(last):.3g} s): pass seconds, not milliseconds or microseconds, and "
        "preferably relative to the first frame (timestamp - t0)"
    )


logger = logging.getLogger(__name__)

_NO_RESULTS: Mapping[str, Any] = MappingProxyType({})

_MODEL_ALIASES = {"lite": "lite", "full": "full", "heavy": "heavy", "0": "lite", "1": "full"}
_MODEL_ALIASES.update({"2": "heavy"})
_MODEL_ALIASES.update({v: k for k, v in MODEL_NAMES.items()})


class TrackingState(enum.Enum):
    """What happened on a frame.

    * ``DETECTED``: the detector ran on this frame and the landmark model confirmed a pose.
    * ``TRACKING``: the pose was found in the ROI predicted from the previous frame (the
      detector was skipped).
    * ``LOST``: no pose on this frame (the detector found nobody, or the pose presence fell
      below ``min_tracking_confidence``); in video mode the next frame runs the detector.
    """

    DETECTED = "detected"
    TRACKING = "tracking"
    LOST = "lost"


@dataclass(frozen=True, slots=True)
class Timings:
    """Milliseconds spent on one frame, by stage (0 for a stage that did not run)."""

    detector_ms: float = 0.0
    crop_ms: float = 0.0
    landmark_ms: float = 0.0
    decode_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class FrameResult:
    """The outcome of one frame.

    Attributes:
        pose: the tracked :class:`~posekit.pose.Pose` (pixels of this frame), or None.
        state: see :class:`TrackingState`.
        timestamp: seconds (the caller's, the source's or ``time.monotonic()``).
        index: 0-based frame number (per stream, or per tracker for :meth:`Tracker.process`).
        roi: the region the landmark model looked at, or None when it did not run.
        detection: the detector's person when the detector ran and found one, else None.
        segmentation: ``(H, W)`` float32 person probability when enabled and a pose was found.
        frame: the source frame (only from :meth:`Tracker.stream`; None from ``process``).
        timings: per-stage milliseconds.
        results: analyzer outputs by analyzer name (read-only), filled in by
            :class:`posekit.analyzers.Pipeline`; empty straight from the tracker.
        found_by: how the person was found on this frame: ``"tracking"`` (previous ROI),
            ``"detector"`` (the normal detector pass), ``"hint"`` (the caller's ``roi``), or the
            name of the recovery pass (see :data:`RECOVERY_PASSES`); None without a pose.
    """

    pose: Pose | None
    state: TrackingState
    timestamp: float
    index: int
    roi: RotatedRect | None = None
    detection: Detection | None = None
    segmentation: NDArray[np.float32] | None = None
    frame: NDArray[Any] | None = None
    timings: Timings = Timings()
    results: Mapping[str, Any] = field(default_factory=lambda: _NO_RESULTS)
    found_by: str | None = None

    @property
    def has_pose(self) -> bool:
        """True when a pose was found on this frame."""
        return self.pose is not None


Mode = Literal["video", "image"]
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


class Tracker:
    """Track one person's 33 BlazePose landmarks in a video, a camera feed or single images.

    Args:
        model: landmark model complexity: ``"lite"``, ``"full"`` (default) or ``"heavy"``.
        mode: ``"video"`` (tracking + smoothing, timestamps must increase) or ``"image"``
            (independent frames: detector every call, no smoothing).
        smooth: smooth landmarks, world landmarks and visibility (video mode).
        segmentation: also return a person mask per frame (costs a model output + a warp).
        smooth_segmentation: in video mode, blend each mask with the previous one where the
            model is unsure, as MediaPipe does (``smooth_segmentation=True`` there; see
            :class:`~posekit.filters.SegmentationSmoother`). Only with ``segmentation=True``.
        min_detection_confidence: detector score threshold in ``[0, 1]``.
        min_tracking_confidence: pose presence below this ends tracking, in ``[0, 1]``.
        num_threads: onnxruntime threads per model (None: posekit's default, 2 capped at the CPU
            count, adapted to the load; an explicit count, or ``$POSEKIT_NUM_THREADS``, is
            used as is).
        spin: whether onnxruntime's worker threads busy-wait between runs. ``None`` (default)
            chooses by mode, as measured on a 2-core machine: in video mode the landmark
            model spins (one model runs per frame; spinning saves about 1 ms per frame) and
            the detector does not; in image mode neither does, because two spinning thread
            pools (detector, then landmarks) steal each other's cores and OpenCV's (full model:
            12.5 ms per image without spinning vs 16 ms with).
        adaptive_threads: let the landmark model fall back to one thread (no spinning) while
            other work on the cores makes its threaded runs slower, and go back when they speed
            up again (:class:`~posekit.adaptive.AdaptiveSession`; results are identical bit for
            bit, only the timing changes). ``None`` (default): on when neither ``num_threads``
            nor ``spin`` is given. The one-thread session is only built the first time the
            model slows down.
        refine_heatmap: refine x/y with the landmark heatmap, as MediaPipe's graph always
            does (default True: it brings posekit within 0.2 px median of MediaPipe in image
            mode and lowers the error against annotations; costs about 0.3 ms per frame).
        detector_session, landmark_session: inject model runners (tests, custom providers);
            by default they are loaded with ``posekit.models.load_session``.
        border: pixels outside the frame in the landmark crop (``"replicate"``: MediaPipe).
        accuracy: how hard a detector frame looks for the person (:class:`AccuracyPolicy`):
            ``"fast"`` is MediaPipe's single pass (1 detector + 1 landmark run, best-scoring
            person); ``"balanced"`` (image-mode default) adds one ROI refinement from the
            auxiliary points, the central-person choice and detection recovery within twice
            the single-pass cost; ``"best"`` adds a second refinement and more
            recovery, within four times. ``None``: ``"balanced"`` in image mode,
            ``"fast"`` in video mode (so that a video with nobody in view costs one detector
            run per frame; tracking frames are single-pass whatever the setting).
        flip: image mode: average each pose with the pose of the mirrored crop (``None``: as
            the policy says; True adds one landmark run to the budget).
        person: ``"center"`` or ``"score"`` when several people are detected (``None``: as
            the policy says: ``"score"`` for ``"fast"``, ``"center"`` otherwise).

    Example:
        >>> import numpy as np, posekit
        >>> with posekit.Tracker(mode="image") as t:  # doctest: +SKIP
        ...     r = t.process(np.zeros((480, 640, 3), np.uint8))
        ...     r.state, r.pose
        (<TrackingState.LOST: 'lost'>, None)
        >>> with posekit.Tracker() as t:  # doctest: +SKIP
        ...     for r in t.stream("video.mp4"):
        ...         print(r.index, r.pose)
    """

    def __init__(
        self,
        model: str = "full",
        mode: Mode = "video",
        smooth: bool = True,
        segmentation: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        num_threads: int | None = None,
        refine_heatmap: bool = True,
        *,
        spin: bool | None = None,
        detector_session: ModelRunner | None = None,
        landmark_session: ModelRunner | None = None,
        border: BorderMode = "replicate",
        accuracy: AccuracyName | AccuracyPolicy | None = None,
        flip: bool | None = None,
        person: PersonChoice | None = None,
        smooth_segmentation: bool = True,
        adaptive_threads: bool | None = None,
    ) -> None:
        if num_threads is not None:
            check_num_threads(num_threads)  # before onnxruntime tries to start them
        complexity = _MODEL_ALIASES.get(str(model).lower())
        if complexity is None:
            raise InputError(
                f"model={model!r} is unknown: choose 'lite', 'full' (default) or 'heavy'"
            )
        if mode not in ("video", "image"):
            raise InputError(f"mode={mode!r} is unknown: choose 'video' or 'image'")
        for name, value in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise InputError(f"{name}={value} is outside [0, 1]: pass a probability")
        if accuracy is None:
            accuracy = "balanced" if mode == "image" else "fast"
        if isinstance(accuracy, AccuracyPolicy):
            policy = accuracy
        elif isinstance(accuracy, str) and accuracy in ACCURACY_POLICIES:
            policy = ACCURACY_POLICIES[accuracy]
        else:
            raise InputError(
                f"accuracy={accuracy!r} is unknown: choose 'fast', 'balanced', 'best' or pass "
                "a posekit.tracker.AccuracyPolicy"
            )
        if person is not None:
            if person not in ("center", "score"):
                raise InputError(f"person={person!r} is unknown: choose 'center' or 'score'")
            policy = dataclasses.replace(policy, person=person)
        if flip is not None and bool(flip) != policy.flip:
            extra = 1 if flip else 0  # a mirrored pass needs one more landmark run
            policy = dataclasses.replace(
                policy,
                flip=bool(flip),
                max_landmark_runs=policy.max_landmark_runs + extra,
                max_model_runs=policy.max_model_runs + extra,
            )
        #: The accuracy policy in force (see :class:`AccuracyPolicy`).
        self.accuracy: AccuracyPolicy = policy
        self.model = complexity
        self.mode: Mode = mode
        self.smooth = bool(smooth)
        self.segmentation = bool(segmentation)
        self.smooth_segmentation = bool(smooth_segmentation)
        self.min_tracking_confidence = float(min_tracking_confidence)
        self.detector = PoseDetector(
            detector_session,
            min_detection_confidence=min_detection_confidence,
            num_threads=num_threads,
            spin=False if spin is None else spin,
        )
        self.landmarks = LandmarkModel(
            landmark_session,
            model=complexity,
            num_threads=num_threads,
            spin=(mode == "video") if spin is None else spin,
            refine_heatmap=refine_heatmap,
            border=border,
            segmentation=self.segmentation,
            adaptive_threads=(spin is None) if adaptive_threads is None else adaptive_threads,
        )
        self._image_smoother = LandmarksSmoother(IMAGE_LANDMARKS, visibility_alpha=VISIBILITY_ALPHA)
        self._world_smoother = LandmarksSmoother(WORLD_LANDMARKS, visibility_alpha=None)
        self._aux_smoother = LandmarksSmoother(AUXILIARY_LANDMARKS, visibility_alpha=None)
        self._mask_smoother = SegmentationSmoother()
        self._lock = threading.RLock()
        self._readers: list[FrameReader] = []
        #: How many times the detector has run (since construction).
        self.detector_runs = 0
        #: How many times the landmark model has run (since construction).
        self.landmark_runs = 0
        #: How many frames have been processed (since construction).
        self.frames_processed = 0
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget the tracked person, the filters and the last timestamp."""
        with self._lock:
            self._next_roi: RotatedRect | None = None
            self._last_ts: float | None = None
            self._shape: tuple[int, ...] | None = None
            self._index = 0
            self._reset_filters()

    def _reset_filters(self) -> None:
        self._image_smoother.reset()
        self._world_smoother.reset()
        self._aux_smoother.reset()
        self._mask_smoother.reset()

    def _new_frame_size(self, shape: tuple[int, ...]) -> None:
        """The frame size changed (or this is the first frame): never carry the ROI or the
        filters, which are in the previous frame's pixels, across sizes."""
        old, self._shape = self._shape, shape
        if old is None:
            return
        if self._next_roi is not None:
            logger.info(
                "frame size changed from %dx%d to %dx%d: tracking reset, the detector runs on "
                "this frame",
                old[1],
                old[0],
                shape[1],
                shape[0],
            )
        self._next_roi = None
        self._reset_filters()

    @property
    def is_tracking(self) -> bool:
        """True when the next frame will reuse the ROI from the last landmarks."""
        return self._next_roi is not None

    # ------------------------------------------------------------------ per frame
    def process(
        self,
        image: NDArray[Any],
        timestamp: float | None = None,
        color: str = "bgr",
        *,
        roi: object | None = None,
    ) -> FrameResult:
        """Find the pose in one frame.

        Args:
            image: ``uint8 (H, W, 3)`` (or grayscale / 4-channel, see :mod:`posekit.image`).
            timestamp: seconds; must increase in video mode (see the module docstring).
                None: ``time.monotonic()``.
            color: ``"bgr"`` (OpenCV) or ``"rgb"``.
            roi: where the person is, from the application's own detector (the top-down
                route): a person box ``(x, y, w, h)`` in pixels, a
                :class:`~posekit.roi.PersonBox`, or a :class:`~posekit.roi.RotatedRect` used
                as the landmark ROI as is. BlazePose's detector is skipped on this frame; a box
                is turned into an upright square ROI (:meth:`RotatedRect.from_box`) that the
                policy's refinement passes then fit to the body. In video mode the next frames
                track from this pose as usual.

        Example:
            >>> with posekit.Tracker(mode="image") as t:  # doctest: +SKIP
            ...     r = t.process(frame, roi=(120, 40, 200, 420))  # x, y, w, h of a person

        Raises:
            InputError: the image or the ``roi`` is unusable (nothing changed in the tracker).
            TimestampError: ``timestamp`` is not a finite number, or (video mode) not at least
                :data:`MIN_TIMESTAMP_STEP` after the previous one (nothing changed).
            PosekitError: a model failed on this frame; the tracker forgot the person (see the
                module docstring's failure policy).
        """
        with self._lock:
            return self._process(image, timestamp, color, None, None, roi)

    def _check_timestamp(self, timestamp: float | None) -> float:
        if timestamp is None:
            ts = time.monotonic()
        else:
            if isinstance(timestamp, bool) or not isinstance(timestamp, numbers.Real):
                raise TimestampError(
                    f"timestamp must be a number of seconds (float), got "
                    f"{type(timestamp).__name__} {timestamp!r:.80}: pass e.g. frame_index / fps "
                    "or time.monotonic(), or None for the current time"
                )
            try:
                ts = float(timestamp)
            except (OverflowError, TypeError, ValueError) as exc:
                raise TimestampError(
                    f"timestamp {timestamp!r:.80} cannot be converted to float seconds: pass a "
                    "float such as frame_index / fps"
                ) from exc
        if not math.isfinite(ts):
            raise TimestampError(
                f"timestamp {timestamp!r} is not a finite number of seconds: pass real capture "
                "times (e.g. frame_index / fps) or None for the current time"
            )
        last = self._last_ts
        if self.mode == "video" and last is not None:
            tolerance = min(max(_STEP_TOLERANCE, math.ulp(last)), _MAX_STEP_TOLERANCE)
            if not ts - last >= MIN_TIMESTAMP_STEP - tolerance:
                raise TimestampError(
                    f"timestamp {_fmt_s(ts)} s is not later than the previous frame's "
                    f"{_fmt_s(last)} s (gap {ts - last:.3g} s): video-mode timestamps must "
                    "strictly increase, by at least 1 µs (pass real capture times in seconds, "
                    "skip the frame, or call reset() to start a new sequence)"
                    + _magnitude_hint(last)
                )
        elif last is None and abs(ts) >= _UNIT_WARNING_S:
            logger.warning(
                "timestamp %s s is over 3000 years: posekit timestamps are seconds; divide "
                "milliseconds by 1e3 and microseconds by 1e6 (smoothing uses the gaps)",
                _fmt_s(ts),
            )
        return ts

    def _process(
        self,
        image: NDArray[Any],
        timestamp: float | None,
        color: str,
        index: int | None,
        keep: NDArray[Any] | None,
        hint: object | None = None,
    ) -> FrameResult:
        t_start = time.perf_counter()
        frame = as_frame(image, color)
        hint_roi = None if hint is None else as_roi_hint(hint, frame.size)
        ts = self._check_timestamp(timestamp)
        # From here on the frame is accepted: state may change.
        shape = frame.pixels.shape
        if shape != self._shape:
            self._new_frame_size(shape)
        self._last_ts = ts
        idx = self._index if index is None else index
        self._index = idx + 1
        self.frames_processed += 1
        try:
            return self._track(frame, ts, idx, keep, t_start, hint_roi)
        except BaseException as exc:
            # Forget the person so that nothing half-updated survives this frame.
            self._next_roi = None
            self._reset_filters()
            if isinstance(exc, PosekitError) or not isinstance(exc, Exception):
                raise
            raise PosekitError(
                f"processing frame {idx} (timestamp {_fmt_s(ts)} s) failed with "
                f"{type(exc).__name__}: {exc}; the tracker forgot the person and will run the "
                "detector on the next frame (if this keeps happening with valid frames, please "
                "report it as a posekit bug)"
            ) from exc

    def _track(
        self,
        frame: Frame,
        ts: float,
        idx: int,
        keep: NDArray[Any] | None,
        t_start: float,
        hint: RotatedRect | None = None,
    ) -> FrameResult:
        detection: Detection | None = None
        det_ms = 0.0
        roi = self._next_roi if self.mode == "video" and hint is None else None
        if roi is None:
            search = _Search(self.accuracy)
            found: tuple[LandmarkEstimate, Detection | None, str] | None
            if hint is not None:
                found = self._from_hint(frame, hint, search)
            else:
                found = self._search(frame, search)
            found_by: str | None = None if found is None else found[2]
            state = TrackingState.DETECTED
            det_ms = search.det_ms
            if found is None:
                return self._lost(
                    ts,
                    idx,
                    search.first_roi,
                    search.first_detection,
                    keep,
                    t_start,
                    det_ms,
                    search.crop_ms,
                    search.lm_ms,
                )
            est, detection = found[0], found[1]
            if self.mode == "image":
                est = self._refine(frame, est, search)
            roi = est.roi
            crop_ms, lm_ms = search.crop_ms, search.lm_ms
            t2 = time.perf_counter()
        else:
            # Tracking: exactly one landmark pass on the ROI predicted from the last frame.
            state = TrackingState.TRACKING
            found_by = "tracking"
            t0 = time.perf_counter()
            tensor = self.landmarks.crop(frame, roi)
            t1 = time.perf_counter()
            raw = self.landmarks.infer(tensor, segmentation=self.segmentation)
            t2 = time.perf_counter()
            self.landmark_runs += 1
            crop_ms, lm_ms = (t1 - t0) * 1e3, (t2 - t1) * 1e3
            if not raw.presence >= self.min_tracking_confidence:
                return self._lost(ts, idx, roi, None, keep, t_start, 0.0, crop_ms, lm_ms)
            est = self.landmarks.decode(raw, roi, frame.size)

        points = est.landmarks
        world = est.world
        visibility = est.visibility
        mask = est.segmentation
        if self.mode == "video":
            aux_rect = RotatedRect.from_alignment_points(
                est.auxiliary[0, :2], est.auxiliary[1, :2], scale=1.0
            )
            scale = aux_rect.object_scale
            aux = self._aux_smoother(est.auxiliary, ts, object_scale=scale).points
            next_roi = RotatedRect.from_alignment_points(aux[0, :2], aux[1, :2])
            self._next_roi = next_roi if next_roi.is_valid() else None
            if self.smooth:
                sm = self._image_smoother(points, ts, object_scale=scale, visibility=visibility)
                points = sm.points
                visibility = sm.visibility if sm.visibility is not None else visibility
                world = self._world_smoother(world, ts).points
            if mask is not None and self.smooth_segmentation:
                mask = self._mask_smoother(mask)
        pose = Pose(
            np.ascontiguousarray(points[:, :2]),
            np.ascontiguousarray(points[:, 2]),
            np.minimum(np.maximum(visibility, 0.0), 1.0),  # ufuncs: np.clip's wrapper is 3x slower
            est.presence,
            score=min(max(est.score, 0.0), 1.0),
            world=world,
            image_size=frame.size,
        )
        t3 = time.perf_counter()
        return FrameResult(
            pose=pose,
            state=state,
            timestamp=ts,
            index=idx,
            roi=roi,
            detection=detection,
            segmentation=mask,
            frame=keep,
            timings=Timings(det_ms, crop_ms, lm_ms, (t3 - t2) * 1e3, (t3 - t_start) * 1e3),
            found_by=found_by,
        )

    # ------------------------------------------------------------------ detection search
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
        if not raw.presence >= self.min_tracking_confidence:
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

    def _lost(
        self,
        ts: float,
        idx: int,
        roi: RotatedRect | None,
        detection: Detection | None,
        keep: NDArray[Any] | None,
        t_start: float,
        det_ms: float,
        crop_ms: float = 0.0,
        lm_ms: float = 0.0,
    ) -> FrameResult:
        self._next_roi = None
        self._reset_filters()
        total = (time.perf_counter() - t_start) * 1e3
        return FrameResult(
            pose=None,
            state=TrackingState.LOST,
            timestamp=ts,
            index=idx,
            roi=roi,
            detection=detection,
            frame=keep,
            timings=Timings(det_ms, crop_ms, lm_ms, 0.0, total),
        )

    # ------------------------------------------------------------------ streams
    def stream(
        self,
        source: Any,
        *,
        fps: float | None = None,
        strict: bool = False,
        color: str = "bgr",
        prefetch: int | None = None,
    ) -> Iterator[FrameResult]:
        """Yield a :class:`FrameResult` (with ``.frame``) for every frame of ``source``.

        ``source``: a camera index, a video path or URL, a ``cv2.VideoCapture``, an iterable of
        frames or of ``(frame, timestamp_seconds)`` pairs, or a
        :class:`~posekit.source.FrameSource`. ``fps`` times bare frames from an iterable;
        ``strict`` turns a mid-stream source failure into :class:`~posekit.errors.SourceError`
        (default: the stream ends, see :mod:`posekit.source`).

        ``prefetch``: frames decoded ahead by a background thread while the current one is
        tracked (:class:`~posekit.source.FrameReader`). ``None`` (default):
        :data:`~posekit.source.DEFAULT_PREFETCH` for video files and URLs when the machine has
        a core the models do not use, else ``0``; always ``0`` (decode in the consumer's thread)
        for cameras, live captures and iterables, where reading ahead would only add latency or
        run the caller's generator in another thread. Measured on 2 cores
        (``benchmarks/bench_offline.py``, squat_rohanx01_x5.mp4): with the default 2 model
        threads the decoder thread only competes for the cores (full 213 fps with it, 218
        without); with ``num_threads=1`` it overlaps decoding (161 against 158 fps).

        The tracker is reset first. The decoder thread stops and a capture the tracker opened is
        released when the stream ends, when the consumer breaks out of the loop (the generator
        is closed), when processing raises, or at :meth:`close` (from any thread: the stream
        then simply ends). An exception raised by the source in the decoder thread is re-raised
        here, after the frames decoded before it.

        Raises:
            SourceError: the source cannot be opened (or fails, with ``strict=True``), or
                ``prefetch`` is not an integer in ``[0, 64]``.
            TimestampError: ``(frame, timestamp)`` pairs whose timestamps do not increase.
        """
        src = open_source(source, fps=fps, strict=strict)
        src.open()
        if prefetch is None:
            live = isinstance(src, CaptureSource) and src.is_camera
            threads = int(getattr(self.landmarks.session, "num_threads", 1) or 1)
            spare_core = (os.cpu_count() or 1) > threads
            file_like = isinstance(src, CaptureSource) and not live
            depth = DEFAULT_PREFETCH if file_like and spare_core else 0
        else:
            depth = prefetch
        try:
            reader = FrameReader(src, prefetch=depth, release_source=True)
        except SourceError:
            src.release()
            raise
        with self._lock:
            self._readers.append(reader)
            self.reset()
        try:
            for item in reader:
                with self._lock:
                    result = self._process(
                        item.image, item.timestamp, color, item.index, item.image
                    )
                yield result
        finally:
            reader.close()
            with self._lock:
                if reader in self._readers:
                    self._readers.remove(reader)

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Stop every :meth:`stream` (decoder threads joined, captures it opened released) and
        reset the tracker. Safe to call from any thread and more than once."""
        with self._lock:
            readers, self._readers = self._readers, []
        for reader in readers:
            reader.close()
        self.reset()

    def __enter__(self) -> Tracker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Tracker(model={self.model!r}, mode={self.mode!r}, smooth={self.smooth}, "
            f"segmentation={self.segmentation}, tracking={self.is_tracking})"
        )
