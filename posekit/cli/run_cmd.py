"""``posekit run``: track videos or a camera and export overlays, JSON Lines and CSV.

Examples (shell)::

    posekit run squat.mp4 --output overlay.mp4 --jsonl poses.jsonl --csv poses.csv
    posekit run 0 --show --count squat                   # camera 0, live window, rep counter
    posekit run a.mp4 b.mp4 c.mp4 --jobs 3 --jsonl out/{stem}.jsonl
    posekit run --schema > frame.schema.json             # JSON Schema of a --jsonl line

With several inputs, every output is named per input: ``{stem}`` in the path is replaced by the
input's file name stem, otherwise ``-<stem>`` is added before the extension
(``poses.jsonl`` -> ``poses-squat.jsonl``). Inputs are processed in parallel by a process pool
(``--jobs``), each with ``cpu_count / jobs`` onnxruntime threads.

Outputs never overwrite an input and never hold a partial file (:mod:`posekit.outputs`). Ctrl-C
stops every input after its current frame; the summaries of what was done are printed and the
exit code is 130 (:data:`INTERRUPTED_EXIT`, the same for every posekit command).

Example:
    >>> from posekit.cli import build_parser
    >>> args = build_parser().parse_args(["run", "a.mp4", "--csv", "p.csv", "--angles", "knee"])
    >>> args.sources, args.csv, args.angles, args.model
    (['a.mp4'], 'p.csv', ['knee'], 'full')
    >>> output_for("out/poses.jsonl", "clips/squat.mp4", several=True)
    'out/poses-squat.jsonl'
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from posekit.errors import InputError, PosekitError

if TYPE_CHECKING:
    from posekit.analyzers.pipeline import Pipeline
    from posekit.draw import Annotator
    from posekit.source import CaptureSource
    from posekit.tracker import Tracker

__all__ = [
    "FrameProgress",
    "RunJob",
    "RunOptions",
    "RunSummary",
    "output_for",
    "parse_source",
    "register",
    "run",
    "run_job",
]

logger = logging.getLogger(__name__)

SMOOTHING = ("mediapipe", "one-euro", "relative-velocity", "none")


def parse_source(text: str) -> int | str:
    """A command-line SOURCE: digits are a camera index, anything else a path or URL.

    Example:
        >>> parse_source("0"), parse_source("clip.mp4")
        (0, 'clip.mp4')
    """
    digits = text.strip()
    digits = digits[1:] if digits.startswith("-") else digits
    # ASCII only ("²".isdigit() is True, int("²") fails); "-1" is a (refused) camera index
    return int(text) if digits.isascii() and digits.isdigit() else text


def source_stem(source: int | str) -> str:
    """A short name for outputs: the file stem, or ``camera<N>``."""
    if isinstance(source, int):
        return f"camera{source}"
    stem = Path(source.split("?", 1)[0].rstrip("/")).stem
    return stem or "stream"


def output_for(
    template: str, source: int | str, *, several: bool, taken: set[str] | None = None
) -> str:
    """The output path of one input: ``{stem}`` replaced, or ``-<stem>`` added when there are
    several inputs (a number is appended if two inputs share a stem)."""
    stem = source_stem(source)
    if "{stem}" in template:
        path = template.replace("{stem}", stem)
    elif several:
        p = Path(template)
        path = str(p.with_name(f"{p.stem}-{stem}{p.suffix}"))
    else:
        path = template
    if taken is not None:
        base, n = path, 2
        while path in taken:
            p = Path(base)
            path = str(p.with_name(f"{p.stem}-{n}{p.suffix}"))
            n += 1
        taken.add(path)
    return path


# ---------------------------------------------------------------------------------- progress
class FrameProgress:
    """Frames done, frame rate and ETA on a stream (stderr): a bar redrawn in place on a
    terminal (at most 10 times a second), a line every 10 % elsewhere (logs, CI).

    Example:
        >>> import io
        >>> buf = io.StringIO()
        >>> p = FrameProgress(buf, "clip.mp4", total=100)
        >>> for i in range(1, 101):
        ...     p.update(i)
        >>> p.close()
        >>> buf.getvalue().splitlines()[-1].startswith("clip.mp4 100/100 frames")
        True
    """

    def __init__(self, stream: TextIO, label: str, total: int | None = None) -> None:
        self.stream = stream
        self.label = label
        self.total = total if total and total > 0 else None
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        self._last_draw = 0.0
        self._last_decile = 0
        self._done = 0
        self._started = False

    def _line(self) -> str:
        elapsed = max(time.perf_counter() - self._t0, 1e-9)
        rate = self._done / elapsed
        if self.total is None:
            return f"{self.label} {self._done} frames {rate:.1f} fps"
        frac = min(1.0, self._done / self.total)
        eta = (self.total - self._done) / rate if rate > 0 else math.inf
        eta_s = f" ETA {eta:.0f} s" if math.isfinite(eta) and self._done < self.total else ""
        if self.tty:
            bar = "#" * int(24 * frac) + "." * (24 - int(24 * frac))
            return f"{self.label} [{bar}] {self._done}/{self.total} frames {rate:.1f} fps{eta_s}"
        return f"{self.label} {self._done}/{self.total} frames ({100 * frac:.0f} %) {rate:.1f} fps"

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` frames processed so far (``total`` may be updated)."""
        if total:
            self.total = total
        self._done = done
        self._started = True
        now = time.perf_counter()
        if self.tty:
            if now - self._last_draw >= 0.1:
                self._last_draw = now
                self.stream.write("\r" + self._line() + "\x1b[K")
                self.stream.flush()
            return
        if self.total is None:
            if now - self._last_draw >= 10.0:  # a camera: a line every 10 s
                self._last_draw = now
                self.stream.write(self._line() + "\n")
                self.stream.flush()
            return
        decile = 10 * done // self.total
        if decile > self._last_decile:
            self._last_decile = decile
            self.stream.write(self._line() + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Draw the final state (and end the in-place line); nothing if nothing was done."""
        if not self._started:
            return
        if self.tty:
            self.stream.write("\r" + self._line() + "\x1b[K\n")
        elif self.total is None or self._last_decile < 10:
            self.stream.write(self._line() + "\n")
        self.stream.flush()


# ---------------------------------------------------------------------------------- Ctrl-C
INTERRUPTED_EXIT = 130
"""Exit code of a run stopped by Ctrl-C, the same for every posekit command (128 + SIGINT):
what was complete is kept and summarised. Stopping with q in the window, --max-frames or the
end of the input exits 0."""


class StopOnInterrupt:
    """Turn the first Ctrl-C into a request to stop after the current frame.

    While active (a context manager), the first SIGINT sets :attr:`requested` and the loop ends
    after the frame in hand, so every output holds the same frames and is closed properly; a
    second Ctrl-C raises ``KeyboardInterrupt`` at once (deferred while :attr:`writing` is set, so
    one frame is written to all outputs or to none). In a thread other than the main thread
    (where Python cannot install signal handlers) it does nothing and Ctrl-C raises as usual.

    Args:
        poll: also stop when this returns True (:meth:`stop_requested`; e.g. a flag set by
            the parent of a worker process).

    Example:
        >>> import os, signal
        >>> with StopOnInterrupt() as stop:
        ...     os.kill(os.getpid(), signal.SIGINT)
        ...     stop.requested
        True
    """

    def __init__(self, poll: Callable[[], bool] | None = None) -> None:
        self.requested = False
        self.writing = False
        self._pending = False
        self._poll = poll
        self._previous: Any = None
        self._installed = False

    def _handler(self, signum: int, frame: Any) -> None:
        if not self.requested:
            self.requested = True
            logger.debug("Ctrl-C: stopping after this frame (Ctrl-C again stops at once)")
            return
        if self.writing:
            self._pending = True
            return
        raise KeyboardInterrupt

    def stop_requested(self) -> bool:
        """Ctrl-C was pressed (or ``poll`` says stop)."""
        if not self.requested and self._poll is not None and self._poll():
            self.requested = True
        return self.requested

    def done_writing(self, *, raise_pending: bool = True) -> bool:
        """End a :attr:`writing` section: raises (or with ``raise_pending=False`` returns
        True for) a second Ctrl-C that came during it."""
        self.writing = False
        pending, self._pending = self._pending, False
        if pending and raise_pending:
            raise KeyboardInterrupt
        return pending

    def __enter__(self) -> StopOnInterrupt:
        import signal
        import threading

        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        import signal

        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


# ---------------------------------------------------------------------------------- jobs
@dataclass(frozen=True, slots=True)
class RunOptions:
    """Tracker, plugin and drawing options shared by every input of one ``posekit run``."""

    model: str = "full"
    smoothing: str = "mediapipe"
    threads: int | None = None
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    refine_heatmap: bool = True
    angles: tuple[str, ...] = ()
    count: str | None = None
    hands_face: bool = False
    world: bool = False
    roi: bool = False
    max_frames: int | None = None


@dataclass(frozen=True, slots=True)
class RunJob:
    """One input and where its outputs go."""

    source: int | str
    output: str | None = None
    jsonl: str | None = None
    csv: str | None = None
    show: bool = False


@dataclass(frozen=True, slots=True)
class RunSummary:
    """What one input gave."""

    source: str
    frames: int
    poses: int
    seconds: float
    outputs: tuple[str, ...] = ()
    ended_early: str | None = None
    interrupted: bool = False
    reps: int | None = None
    rep_details: tuple[dict[str, float], ...] = field(default=())

    @property
    def fps(self) -> float:
        """Frames processed per second of wall time."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def format(self) -> str:
        """One line for the terminal."""
        line = (
            f"{self.source}: {self.frames} frames, pose on {self.poses} "
            f"({100 * self.poses / max(self.frames, 1):.0f} %), {self.seconds:.1f} s "
            f"({self.fps:.1f} frames/s)"
        )
        if self.reps is not None:
            line += f", {self.reps} rep{'' if self.reps == 1 else 's'}"
        if self.outputs:
            line += " -> " + ", ".join(self.outputs)
        if self.ended_early:
            line += f" [ended early: {self.ended_early}]"
        if self.interrupted:
            line += " [interrupted]"
        return line


def build_tracker(options: RunOptions) -> Tracker:
    """The tracker of ``options`` (smoothing ``mediapipe`` is the tracker's own)."""
    from posekit.tracker import Tracker

    return Tracker(
        model=options.model,
        smooth=options.smoothing == "mediapipe",
        min_detection_confidence=options.min_detection_confidence,
        min_tracking_confidence=options.min_tracking_confidence,
        num_threads=options.threads,
        refine_heatmap=options.refine_heatmap,
    )


def build_pipeline(options: RunOptions) -> Pipeline:
    """Filters and analyzers of ``options`` (the --smoothing, --angles, --count, --hands-face)."""
    from posekit.analyzers import AngleAnalyzer, Pipeline
    from posekit.analyzers.exercises import make_counter
    from posekit.filters import PoseFilter, PoseSmoother

    filters: list[PoseFilter] = []
    if options.smoothing == "one-euro":
        filters.append(PoseSmoother.mediapipe())
    elif options.smoothing == "relative-velocity":
        filters.append(PoseSmoother.relative_velocity())
    analyzers: list[Any] = []
    if options.angles:
        analyzers.append(AngleAnalyzer(options.angles))
    if options.count:
        analyzers.append(make_counter(options.count))
    if options.hands_face:
        from posekit.analyzers import HolisticAnalyzer

        analyzers.append(HolisticAnalyzer(num_threads=options.threads))
    return Pipeline(filters=filters, analyzers=analyzers)


def build_overlay(options: RunOptions, counter_name: str | None = None) -> Annotator[Any]:
    """The overlay drawn on ``--output`` / ``--show`` frames."""
    from posekit.analyzers.geometry import ANGLES
    from posekit.draw import (
        AngleAnnotator,
        Compose,
        HolisticAnnotator,
        KeypointAnnotator,
        RoiAnnotator,
        SkeletonAnnotator,
        TextPanel,
    )

    parts: list[Annotator[Any]] = []
    if options.roi:
        parts.append(RoiAnnotator())
    if options.hands_face:
        parts.append(HolisticAnnotator())
    parts += [SkeletonAnnotator(), KeypointAnnotator()]
    vertex_angles = []
    for name in options.angles:
        if name in ANGLES:
            vertex_angles.append(name)
        elif f"left_{name}" in ANGLES:
            vertex_angles += [f"left_{name}", f"right_{name}"]
    if vertex_angles:
        parts.append(AngleAnnotator(vertex_angles))

    def lines(result: Any) -> list[str]:
        state = getattr(getattr(result, "state", None), "value", "")
        out = [f"frame {result.index}  {result.timestamp:6.2f} s  {state}"]
        if counter_name is not None:
            reps = result.results.get(counter_name)
            if reps is not None:
                out.append(f"{counter_name}: {reps.count}  {reps.phase_text}")
        return out

    parts.append(TextPanel(lines, corner="top-left"))
    return Compose(*parts)


def _quiet_opencv() -> None:
    """OpenCV's and FFmpeg's own messages (probing a missing camera, "moov atom not found" for
    a file that is not a video) would duplicate posekit's one-line error; ``-v`` keeps them."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        return
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET, read at FFmpeg init
    import cv2

    with contextlib.suppress(AttributeError, cv2.error):
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)


def open_input(source: int | str) -> CaptureSource:
    """Open a camera index or a video path/URL (raises SourceError with a fix)."""
    from posekit.source import CaptureSource

    _quiet_opencv()
    src = CaptureSource(source)
    src.open()
    return src


ProgressFn = Callable[[int, "int | None"], None]


def job_outputs(job: RunJob) -> list[tuple[str, str | None]]:
    """Every file ``job`` writes, as ``(option, path)`` (the JSON schema beside ``--jsonl``
    included)."""
    from posekit.sinks import schema_path_for

    schema = None if job.jsonl is None else str(schema_path_for(job.jsonl))
    return [
        ("--output", job.output),
        ("--jsonl", job.jsonl),
        ("--jsonl's schema file", schema),
        ("--csv", job.csv),
    ]


def _local_inputs(sources: Sequence[int | str]) -> list[str]:
    return [s for s in sources if isinstance(s, str) and "://" not in s]


def run_job(
    job: RunJob,
    options: RunOptions,
    progress: ProgressFn | None = None,
    interrupt: StopOnInterrupt | None = None,
) -> RunSummary:
    """Track one input and write its outputs; ``progress(done, total)`` after frames.

    Every output is written to a temporary file and renamed into place at the end, all of them
    or none (:func:`~posekit.sinks.close_sinks`): a failure leaves no partial file. Ctrl-C stops
    the input after the current frame (``interrupt``, or a :class:`StopOnInterrupt` of its own):
    the outputs are closed, valid, hold the same frames, and the summary says it was interrupted.

    Raises:
        PosekitError: the source cannot be opened, an output cannot be written, bad options.
    """
    from posekit.draw import Window
    from posekit.outputs import check_outputs
    from posekit.sinks import (
        CsvSink,
        JsonlSink,
        Sink,
        VideoSink,
        abort_sinks,
        analyzer_columns,
        check_writable,
        close_sinks,
    )

    outputs = job_outputs(job)
    check_outputs(_local_inputs([job.source]), outputs)
    for what, path in outputs:
        if path is not None:
            check_writable(path, what)
    from posekit.analyzers.exercises import find_exercise

    stop = interrupt if interrupt is not None else StopOnInterrupt()
    pipeline = build_pipeline(options)
    counter_name = None if options.count is None else find_exercise(options.count).result_key
    src = open_input(job.source)
    name = source_stem(job.source) if isinstance(job.source, int) else str(job.source)
    sinks: list[Sink] = []
    frames = poses = 0
    interrupted = False
    overlay: Annotator[Any] | None = None
    t0 = time.perf_counter()
    completed = False
    try:
        with contextlib.ExitStack() as stack:
            if interrupt is None:
                stack.enter_context(stop)
            tracker = build_tracker(options)
            if job.output is not None or job.show:
                overlay = build_overlay(options, counter_name)
            if job.output is not None:
                sinks.append(VideoSink(job.output, src.fps))
            if job.jsonl is not None:
                sinks.append(JsonlSink(job.jsonl, schema=True))
            if job.csv is not None:
                sinks.append(
                    CsvSink(
                        job.csv,
                        world=options.world,
                        columns=analyzer_columns(pipeline.analyzers),
                    )
                )
            t0 = time.perf_counter()
            total = src.frame_count
            if options.max_frames is not None:
                total = min(total or options.max_frames, options.max_frames)
            with tracker, Window(f"posekit run: {name}", enabled=job.show) as window:
                stream = pipeline.stream(tracker.stream(src))
                with contextlib.closing(stream):  # type: ignore[type-var]
                    try:
                        for result in stream:
                            image = result.frame
                            assert image is not None  # tracker streams carry their frames
                            if overlay is not None:
                                overlay(image, result)
                            stop.writing = True  # a frame goes to every output or to none
                            for sink in sinks:
                                if isinstance(sink, VideoSink):
                                    sink.write_image(image)  # already annotated
                                else:
                                    sink.write(result)
                            frames += 1
                            poses += result.pose is not None
                            stop.done_writing()
                            if progress is not None:
                                progress(frames, total)
                            if stop.stop_requested():
                                interrupted = True
                                break
                            if job.show and not window.show(image):
                                break
                            if options.max_frames is not None and frames >= options.max_frames:
                                break
                    except KeyboardInterrupt:  # a second Ctrl-C, or outside the main thread
                        interrupted = True
            seconds = time.perf_counter() - t0
            stop.writing = True
            written = close_sinks(sinks)  # all outputs or none
            interrupted |= stop.done_writing(raise_pending=False)
            completed = True
    finally:
        if not completed:
            abort_sinks(sinks)
        src.release()
    reps = None
    details: tuple[dict[str, float], ...] = ()
    if counter_name is not None:
        counter = next(a for a in pipeline.analyzers if a.name == counter_name)
        reps = counter.count  # type: ignore[attr-defined]
        details = tuple(
            {"depth": r.depth, "duration": r.duration, "bottom": r.bottom}
            for r in counter.reps  # type: ignore[attr-defined]
        )
    done = set(written)
    outputs_written = tuple(
        p for p in (job.output, job.jsonl, job.csv) if p is not None and Path(p) in done
    )
    return RunSummary(
        source=name,
        frames=frames,
        poses=poses,
        seconds=seconds,
        outputs=outputs_written,
        ended_early=src.end_reason if src.ended_early else None,
        interrupted=interrupted,
        reps=reps,
        rep_details=details,
    )


# ---------------------------------------------------------------------------------- pool
_QUEUE: Any = None
_STOP: StopOnInterrupt | None = None


def _worker_init(queue: Any, verbose: bool, stop_event: Any = None) -> None:
    global _QUEUE, _STOP
    from posekit.sinks import quiet_codec_warning

    _QUEUE = queue
    quiet_codec_warning()  # the parent said it once for the run
    from posekit.cli import setup_logging

    setup_logging("posekit", int(verbose))
    # Ctrl-C reaches every process of the terminal's group: a worker finishes its current frame
    # and returns what it has (the parent prints the summaries), never a traceback.
    _STOP = StopOnInterrupt(None if stop_event is None else stop_event.is_set).__enter__()


def _worker(index: int, job: RunJob, options: RunOptions) -> RunSummary | None:
    queue = _QUEUE
    last = [0.0]
    if _STOP is not None and _STOP.stop_requested():
        return None  # queued before Ctrl-C: not started

    def report(done: int, total: int | None) -> None:
        now = time.perf_counter()
        if queue is not None and (now - last[0] >= 0.25 or (total and done >= total)):
            last[0] = now
            queue.put((index, done, total))

    return run_job(job, options, report, _STOP)


class _MultiProgress:
    def __init__(self, stream: TextIO, n: int) -> None:
        self.bar = FrameProgress(stream, f"{n} inputs")
        self.done = [0] * n
        self.totals: list[int | None] = [None] * n

    def update(self, index: int, done: int, total: int | None) -> None:
        self.done[index], self.totals[index] = done, total
        known = all(t is not None for t in self.totals)
        total_all = sum(t or 0 for t in self.totals) if known else None
        self.bar.update(sum(self.done), total_all)


def _run_parallel(
    jobs: list[RunJob],
    options: RunOptions,
    workers: int,
    progress: bool,
    verbose: bool,
    interrupt: StopOnInterrupt | None = None,
) -> tuple[list[RunSummary], list[str], list[str]]:
    """Run ``jobs`` in a process pool; ``(summaries, errors, not started)``."""
    import multiprocessing as mp
    import queue as queue_mod
    import signal
    import threading
    from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor
    from concurrent.futures import wait as wait_futures
    from concurrent.futures.process import BrokenProcessPool

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    stop_event = ctx.Event()
    bar = _MultiProgress(sys.stderr, len(jobs)) if progress else None
    summaries: list[RunSummary] = []
    errors: list[str] = []
    skipped: list[str] = []
    main_thread = threading.current_thread() is threading.main_thread()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=ctx,
        initializer=_worker_init,
        initargs=(q, verbose, stop_event),
    ) as pool:
        # workers start ignoring SIGINT (inherited) until their initializer installs the
        # stop-after-this-frame handler: a Ctrl-C while they import is no traceback
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main_thread else None
        try:
            futures: dict[Future[RunSummary | None], RunJob] = {
                pool.submit(_worker, i, job, options): job for i, job in enumerate(jobs)
            }
        finally:
            if main_thread:
                signal.signal(signal.SIGINT, previous)
        pending = set(futures)
        stopping = False
        while pending:
            done, pending = wait_futures(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            if interrupt is not None and interrupt.stop_requested() and not stopping:
                stopping = True
                stop_event.set()  # workers the terminal's Ctrl-C did not reach stop too
                for fut in pending:
                    fut.cancel()
            with contextlib.suppress(queue_mod.Empty):
                while True:
                    i, n, total = q.get_nowait()
                    if bar is not None:
                        bar.update(i, n, total)
            for fut in done:
                try:
                    summary = fut.result()
                except CancelledError:
                    skipped.append(str(futures[fut].source))
                    continue
                except PosekitError as exc:
                    errors.append(f"{futures[fut].source}: {exc}")
                    continue
                except BrokenProcessPool:
                    errors.append(f"{futures[fut].source}: its worker process died")
                    continue
                if summary is None:
                    skipped.append(str(futures[fut].source))
                else:
                    summaries.append(summary)
    if bar is not None:
        bar.bar.close()
    order = {str(j.source) if isinstance(j.source, str) else source_stem(j.source): n
             for n, j in enumerate(jobs)}  # fmt: skip
    summaries.sort(key=lambda s: order.get(s.source, len(jobs)))
    return summaries, errors, skipped


# ---------------------------------------------------------------------------------- CLI
def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _thread_count(text: str) -> int:
    from posekit.inference import max_num_threads

    value = _positive_int(text)
    if value > max_num_threads():
        raise argparse.ArgumentTypeError(
            f"at most {max_num_threads()} threads on this machine ({os.cpu_count() or 1} CPUs), "
            f"got {value}; these models gain nothing beyond 2"
        )
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must lie in [0, 1], got {value}")
    return value


def _names(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def add_tracker_options(p: argparse.ArgumentParser) -> None:
    """The model / smoothing / threads options shared by run, yoga and posekit-squats."""
    from posekit.models.manifest import DEFAULT_LANDMARK_MODEL, LANDMARK_MODELS

    g = p.add_argument_group("tracker")
    g.add_argument(
        "--model",
        choices=LANDMARK_MODELS,
        default=DEFAULT_LANDMARK_MODEL,
        help="landmark model: lite (fastest), full (default), heavy (most accurate)",
    )
    g.add_argument(
        "--smoothing",
        choices=SMOOTHING,
        default="mediapipe",
        help="landmark smoothing: the tracker's MediaPipe One Euro filter (default), the same "
        "as a pipeline filter (one-euro), the relative-velocity filter, or none",
    )
    g.add_argument(
        "--threads",
        type=_thread_count,
        metavar="N",
        default=None,
        help="onnxruntime threads per model (default: posekit's default)",
    )
    g.add_argument(
        "--min-detection-confidence",
        type=_probability,
        default=0.5,
        metavar="P",
        help="person detector threshold (default 0.5)",
    )
    g.add_argument(
        "--min-tracking-confidence",
        type=_probability,
        default=0.5,
        metavar="P",
        help="pose presence below this ends tracking and re-runs the detector (default 0.5)",
    )
    g.add_argument(
        "--refine-heatmap",
        choices=("on", "off"),
        default="on",
        help="refine keypoints with the heatmap as MediaPipe does (default on)",
    )


def register(subparsers: Any) -> None:
    """Add the ``run`` sub-command to ``posekit``'s sub-parsers."""
    from posekit.analyzers.exercises import EXERCISES, exercise_name
    from posekit.analyzers.geometry import ANGLE_NAMES

    p = subparsers.add_parser(
        "run",
        help="track videos or a camera; write an overlay video, JSON Lines and/or CSV",
        description=(
            "Track one person in each SOURCE (a video file, a URL, or a camera index such as 0) "
            "and write any of: an annotated overlay video, one JSON record per frame "
            "(--jsonl; its JSON Schema: posekit run --schema, also written beside the file as "
            "<name>.schema.json), one CSV row per frame (--csv). Several SOURCEs run in "
            "parallel (--jobs); outputs are then named per input: {stem} in a path is "
            "replaced by the input's name, otherwise -<stem> is added before the extension."
        ),
        epilog=(
            "examples:\n"
            "  posekit run squat.mp4 -o overlay.mp4 --jsonl poses.jsonl --csv poses.csv\n"
            "  posekit run 0 --show --count squat --angles knee,hip\n"
            "  posekit run clips/*.mp4 --jobs 4 --csv out/{stem}.csv\n"
            "  posekit run --schema\n"
            "\n"
            "Outputs are written to temporary files and renamed into place when complete; an\n"
            "output that is an input (or another output) is refused. Ctrl-C stops after the\n"
            "current frame, keeps the complete outputs, prints the summary and exits 130;\n"
            "q in the --show window, --max-frames or the end of the input exit 0."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "sources", nargs="*", metavar="SOURCE", help="video file, URL or camera index (e.g. 0)"
    )
    out = p.add_argument_group("outputs")
    out.add_argument("-o", "--output", metavar="VIDEO", help="annotated overlay video (.mp4/.avi)")
    out.add_argument("--jsonl", metavar="FILE", help="one JSON frame record per line")
    out.add_argument("--csv", metavar="FILE", help="one CSV row per frame, named columns")
    out.add_argument(
        "--world", action="store_true", help="CSV: add metric world coordinates per keypoint"
    )
    out.add_argument(
        "--schema",
        action="store_true",
        help="print the JSON Schema of a --jsonl line and exit",
    )
    out.add_argument("--show", action="store_true", help="show a live window (needs a display)")
    out.add_argument("--roi", action="store_true", help="overlay: draw the tracking ROI box")
    add_tracker_options(p)
    plug = p.add_argument_group("plugins")
    plug.add_argument(
        "--angles",
        type=_names,
        default=[],
        metavar="NAMES",
        help=f"comma-separated joint angles to compute (in JSONL, CSV, overlay): "
        f"{', '.join(ANGLE_NAMES)}",
    )
    plug.add_argument(
        "--count",
        type=exercise_name,
        choices=tuple(EXERCISES),
        default=None,
        metavar="EXERCISE",
        help=f"count repetitions: {', '.join(EXERCISES)}",
    )
    plug.add_argument(
        "--hands-face",
        action="store_true",
        help="also track both hands (21 points) and the face mesh (468 points): slower",
    )
    run_g = p.add_argument_group("running")
    run_g.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        default=None,
        help="inputs processed at once (default: min(inputs, CPU count)); each gets CPU "
        "count / jobs onnxruntime threads unless --threads is given",
    )
    run_g.add_argument(
        "--max-frames", type=_positive_int, metavar="N", default=None, help="stop after N frames"
    )
    run_g.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)


def options_from_args(args: argparse.Namespace) -> RunOptions:
    """:class:`RunOptions` from parsed arguments (validates the angle names)."""
    from posekit.analyzers.geometry import ANGLE_NAMES

    angles = tuple(getattr(args, "angles", ()) or ())
    unknown = [a for a in angles if a not in ANGLE_NAMES]
    if unknown:
        raise InputError(
            f"unknown angle names {', '.join(unknown)}: choose from {', '.join(ANGLE_NAMES)}"
        )
    return RunOptions(
        model=args.model,
        smoothing=args.smoothing,
        threads=args.threads,
        min_detection_confidence=args.min_detection_confidence,
        min_tracking_confidence=args.min_tracking_confidence,
        refine_heatmap=args.refine_heatmap == "on",
        angles=angles,
        count=getattr(args, "count", None),
        hands_face=getattr(args, "hands_face", False),
        world=getattr(args, "world", False),
        roi=getattr(args, "roi", False),
        max_frames=getattr(args, "max_frames", None),
    )


def ensure_models(options: RunOptions, *, progress: bool = True) -> None:
    """Install the models ``options`` need (once, before any worker starts)."""
    from posekit.models import install, installed_models, resolve_name

    names = ["detector", options.model]
    if options.hands_face:
        names += ["hand_landmark_full", "face_detection_short_range", "face_landmark"]
    have = set(installed_models())
    missing = [n for n in names if resolve_name(n) not in have]
    if missing:
        install(missing, progress=progress)


def run(args: argparse.Namespace) -> int:
    """Execute ``posekit run`` with parsed ``args``; returns the exit code."""
    if args.schema:
        from posekit.sinks import frame_json_schema

        print(json.dumps(frame_json_schema(), indent=1))
        return 0
    if not args.sources:
        raise InputError(
            "no SOURCE given: pass a video file, a URL or a camera index, e.g. "
            "`posekit run clip.mp4 --csv poses.csv` (posekit run --help)"
        )
    if not (args.output or args.jsonl or args.csv or args.show):
        logger.debug("no --output, --jsonl, --csv or --show: tracking only (prints a summary)")
    options = options_from_args(args)
    sources = [parse_source(s) for s in args.sources]
    several = len(sources) > 1
    if several and args.show:
        raise InputError("--show needs a single SOURCE: run the inputs one at a time to watch")
    taken: dict[str, set[str]] = {"o": set(), "j": set(), "c": set()}
    jobs = [
        RunJob(
            source=s,
            output=None
            if args.output is None
            else output_for(args.output, s, several=several, taken=taken["o"]),
            jsonl=None
            if args.jsonl is None
            else output_for(args.jsonl, s, several=several, taken=taken["j"]),
            csv=None
            if args.csv is None
            else output_for(args.csv, s, several=several, taken=taken["c"]),
            show=args.show,
        )
        for s in sources
    ]
    from posekit.cli import image_file
    from posekit.outputs import check_outputs
    from posekit.sinks import check_writable

    # no output may be an input or another output, over every input of the run
    check_outputs(_local_inputs(sources), [pair for job in jobs for pair in job_outputs(job)])
    for job in jobs:  # fail before any work on a bad input or output path
        if isinstance(job.source, str) and "://" not in job.source:
            _check_video_path(job.source)
        if options.count and image_file(job.source):
            raise InputError(
                f"{job.source} is a still image: --count needs a video file or a camera index "
                "(without --count, posekit run tracks the pose in a photo as one frame)"
            )
        for what, path in job_outputs(job):
            if path is not None:
                check_writable(path, what)
    progress = not args.no_progress
    ensure_models(options, progress=progress)
    cpus = os.cpu_count() or 1
    workers = min(args.jobs or min(len(jobs), cpus), len(jobs))
    t0 = time.perf_counter()
    summaries: list[RunSummary] = []
    errors: list[str] = []
    skipped: list[str] = []
    with StopOnInterrupt() as interrupt:
        if workers <= 1:
            for job in jobs:
                if interrupt.stop_requested():
                    skipped.append(str(job.source))
                    continue
                summaries.append(_run_one(job, options, progress, several, interrupt))
        else:
            from posekit.sinks import video_codec

            for job in jobs[:1]:
                if job.output is not None:
                    video_codec(job.output)  # says once, here, if H.264 is not available
            if options.threads is None:
                options = _with_threads(options, max(1, cpus // workers))
            summaries, errors, skipped = _run_parallel(
                jobs, options, workers, progress, args.verbose, interrupt
            )
    wall = time.perf_counter() - t0
    for s in summaries:
        print(s.format())
    if several:
        frames = sum(s.frames for s in summaries)
        print(
            f"total: {len(summaries)} inputs, {frames} frames in {wall:.1f} s "
            f"({frames / max(wall, 1e-9):.1f} frames/s, {workers} jobs)"
        )
    for line in errors:
        print(f"posekit: error: {line}", file=sys.stderr)
    interrupted = interrupt.requested or any(s.interrupted for s in summaries)
    if interrupted:
        what = f"; not started: {', '.join(skipped)}" if skipped else ""
        print(
            f"posekit: interrupted: the outputs listed above are complete{what}",
            file=sys.stderr,
        )
    if errors:
        return 2
    return INTERRUPTED_EXIT if interrupted else 0


def _with_threads(options: RunOptions, threads: int) -> RunOptions:
    import dataclasses

    return dataclasses.replace(options, threads=threads)


def _check_video_path(text: str) -> None:
    from posekit.errors import SourceError

    path = Path(text)
    if not path.exists():
        raise SourceError(
            f"video file {text!r} does not exist: check the path (relative paths are resolved "
            f"from {Path.cwd()})"
        )
    if path.is_dir():
        raise SourceError(f"{text!r} is a folder: pass the video files inside it")


def _run_one(
    job: RunJob,
    options: RunOptions,
    progress: bool,
    several: bool,
    interrupt: StopOnInterrupt | None = None,
) -> RunSummary:
    label = source_stem(job.source) if several else "tracking"
    bar = FrameProgress(sys.stderr, label) if progress else None
    try:
        return run_job(job, options, None if bar is None else bar.update, interrupt)
    finally:
        if bar is not None:
            bar.close()


def summaries_json(summaries: Sequence[RunSummary]) -> list[dict[str, Any]]:
    """Summaries as JSON-ready dicts."""
    return [
        {
            "source": s.source,
            "frames": s.frames,
            "poses": s.poses,
            "seconds": s.seconds,
            "frames_per_second": s.fps,
            "outputs": list(s.outputs),
            "reps": s.reps,
        }
        for s in summaries
    ]
