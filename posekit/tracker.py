"""Single-person pose tracking: the state machine that drives the stages frame after frame.

:class:`Tracker` runs MediaPipe's loop. **Video** mode: search the person only when there is no
ROI from the previous frame (:class:`~posekit.accuracy.PersonFinder`), otherwise crop the ROI
predicted from the last pose, run the landmark model, smooth, predict the next ROI; presence
below ``min_tracking_confidence`` loses the person. **Image** mode: every call searches and
nothing is smoothed; ``process(image, roi=...)`` takes the box from the caller's own detector.

Contract:

* timestamps (video mode) follow :func:`posekit.timestamps.check_timestamp` (seconds, each at
  least 1 µs after the previous one; ``time.monotonic()`` when none is given); image mode only
  needs a finite number. :meth:`Tracker.reset` forgets the timestamp, the ROI and the filters;
  :meth:`Tracker.stream` resets first and takes timestamps from the source;
* a frame of another ``(H, W)`` than the previous one resets tracking (INFO log line); its
  result is ``DETECTED`` or ``LOST``;
* a call that raises leaves no trace: bad input raises :class:`~posekit.errors.InputError`
  (:class:`~posekit.errors.TimestampError` for a timestamp) before any state changes; a failure
  while the models run forgets the person and raises a :class:`~posekit.errors.PosekitError`
  (foreign errors wrapped, chained as ``__cause__``), so ``PosekitError`` is all to catch;
* thread-safe (one internal lock), but one sequence of frames: one tracker per camera/video.

Why the loop is built this way: ``docs/design/tracking.md``.

Example:
    >>> import posekit
    >>> with posekit.Tracker() as t:  # doctest: +SKIP
    ...     for r in t.stream("video.mp4"):
    ...         print(r.index, r.pose)
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from posekit.accuracy import (
    ACCURACY_POLICIES,
    AccuracyName,
    AccuracyPolicy,
    PersonChoice,
    PersonFinder,
)
from posekit.detector import Detection, PoseDetector
from posekit.errors import InputError, PosekitError, SourceError
from posekit.filters import AUXILIARY_LANDMARKS, PoseFilter, PoseSmoother, SegmentationSmoother
from posekit.image import Frame, as_frame
from posekit.inference import ModelRunner, check_num_threads
from posekit.landmarks import LandmarkModel, landmark_complexity
from posekit.pose import Pose
from posekit.results import FrameResult, Timings, TrackingState
from posekit.roi import BorderMode, RotatedRect, as_roi_hint
from posekit.source import FrameReader, open_source, prefetch_depth
from posekit.timestamps import check_timestamp, format_seconds

__all__ = ["Mode", "Tracker"]

logger = logging.getLogger(__name__)

Mode = Literal["video", "image"]
SmootherName = Literal["mediapipe"]

_TRACKER_ADVICE = (
    "pass real capture times in seconds, skip the frame, or call reset() to start a new sequence"
)


class Tracker:
    """Track one person's 33 BlazePose landmarks in a video, a camera feed or single images.

    Args:
        model: landmark model complexity: ``"lite"``, ``"full"`` (default) or ``"heavy"``.
        mode: ``"video"`` (tracking + smoothing, timestamps must increase) or ``"image"``
            (independent frames: detector every call, no smoothing).
        smooth: the older spelling of ``smoother``: True is ``"mediapipe"``, False is None
            (None: as ``smoother`` says).
        segmentation: also return a person mask per frame (costs a model output + a warp).
        smooth_segmentation: in video mode, blend each mask with the previous one where the
            model is unsure, as MediaPipe does (``smooth_segmentation=True`` there; see
            :class:`~posekit.filters.SegmentationSmoother`). Only with ``segmentation=True``.
        smoother: how video-mode poses are smoothed: ``"mediapipe"`` (default: MediaPipe's
            pose smoothing, :meth:`PoseSmoother.mediapipe <posekit.filters.PoseSmoother.mediapipe>`
            scaled by the auxiliary-point ROI), any :class:`~posekit.filters.PoseFilter` (the
            same classes as ``Pipeline(filters=...)``; the tracker owns and resets it), or None
            (raw landmarks). The ROI prediction has its own smoothing either way.
        min_detection_confidence: detector score threshold in ``[0, 1]``.
        min_tracking_confidence: pose presence below this ends tracking, in ``[0, 1]``.
        num_threads: onnxruntime threads per model (None: posekit's default, 2 capped at the CPU
            count, adapted to the load; an explicit count, or ``$POSEKIT_NUM_THREADS``, is
            used as is).
        spin: whether onnxruntime's worker threads busy-wait between runs. ``None`` (default)
            chooses by mode: in video mode the landmark model spins and the detector does not;
            in image mode neither does, because two spinning thread pools steal each other's
            cores (measured: ``docs/design/threads.md``).
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
        smooth: bool | None = None,
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
        smoother: SmootherName | PoseFilter | None = "mediapipe",
    ) -> None:
        if num_threads is not None:
            check_num_threads(num_threads)  # before onnxruntime tries to start them
        complexity = landmark_complexity(model)
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
                "a posekit.AccuracyPolicy"
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
        #: The pose smoothing in force (a :class:`~posekit.filters.PoseFilter`), or None.
        self.smoother: PoseFilter | None = _smoother(smoother, smooth)
        self._fast_smoother = self.smoother if type(self.smoother) is PoseSmoother else None
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
        self._aux_smoother = AUXILIARY_LANDMARKS.make()
        self._mask_smoother = SegmentationSmoother()
        self._lock = threading.RLock()
        self._readers: list[FrameReader] = []
        self._finder = PersonFinder(
            self.detector,
            self.landmarks,
            min_presence=self.min_tracking_confidence,
            segmentation=self.segmentation,
        )
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
        if self.smoother is not None:
            self.smoother.reset()
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

    @property
    def smooth(self) -> bool:
        """True when poses are smoothed (``smoother`` is not None)."""
        return self.smoother is not None

    @property
    def detector_runs(self) -> int:
        """How many times the detector has run (since construction)."""
        return self._finder.detector_runs

    @property
    def landmark_runs(self) -> int:
        """How many times the landmark model has run (since construction)."""
        return self._finder.landmark_runs

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
            return time.monotonic()
        return check_timestamp(
            timestamp, self._last_ts, ordered=self.mode == "video", advice=_TRACKER_ADVICE
        )

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
                f"processing frame {idx} (timestamp {format_seconds(ts)} s) failed with "
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
            found, search = self._finder.find(
                frame, self.accuracy, hint, refine=self.mode == "image"
            )
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
            self._finder.landmark_runs += 1
            crop_ms, lm_ms = (t1 - t0) * 1e3, (t2 - t1) * 1e3
            if not raw.presence >= self.min_tracking_confidence:
                return self._lost(ts, idx, roi, None, keep, t_start, 0.0, crop_ms, lm_ms)
            est = self.landmarks.decode(raw, roi, frame.size)

        points: NDArray[Any] = est.landmarks
        world: NDArray[Any] | None = est.world
        visibility: NDArray[Any] = est.visibility
        mask = est.segmentation
        scale: float | None = None
        smoother = None
        if self.mode == "video":
            aux_rect = RotatedRect.from_alignment_points(
                est.auxiliary[0, :2], est.auxiliary[1, :2], scale=1.0
            )
            scale = aux_rect.object_scale
            aux = self._aux_smoother(est.auxiliary, ts, scale).astype(np.float32)
            next_roi = RotatedRect.from_alignment_points(aux[0, :2], aux[1, :2])
            self._next_roi = next_roi if next_roi.is_valid() else None
            smoother, fast = self.smoother, self._fast_smoother
            if fast is not None:
                # PoseSmoother's own arrays, without building the raw Pose first
                xyz, world, visibility = fast.smooth_arrays(
                    points, world, visibility, ts, scale if fast.scale_by_object else None
                )
                points = xyz.astype(np.float32)
                smoother = None
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
        if smoother is not None:
            pose = smoother.apply(pose, ts, scale)
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
            object_scale=scale,
        )

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
            threads = int(getattr(self.landmarks.session, "num_threads", 1) or 1)
            depth = prefetch_depth(src, model_threads=threads)
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


def _smoother(smoother: object, smooth: bool | None) -> PoseFilter | None:
    """The tracker's pose filter from ``smoother=`` and the older ``smooth=`` alias."""
    if smooth is not None:
        wanted = "mediapipe" if smooth else None
        if smoother != "mediapipe" and (smoother is None) == bool(smooth):
            raise InputError(
                f"smooth={smooth!r} contradicts smoother={smoother!r}: pass only smoother= "
                "('mediapipe', a posekit.filters.PoseFilter or None)"
            )
        if smoother == "mediapipe":
            smoother = wanted
    if smoother is None:
        return None
    if isinstance(smoother, PoseFilter):
        return smoother
    if smoother == "mediapipe":
        return PoseSmoother.mediapipe()
    raise InputError(
        f"smoother={smoother!r} is unknown: pass 'mediapipe', a posekit.filters.PoseFilter "
        "(e.g. PoseSmoother.relative_velocity()) or None"
    )
