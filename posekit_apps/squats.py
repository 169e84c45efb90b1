"""``posekit-squats``: a live rep counter with form feedback (squats, push-ups, lunges, curls,
jumping jacks).

Usage::

    posekit-squats                              # camera 0, live window; q or Ctrl-C stops
    posekit-squats squat.mp4 --no-show --output annotated.mp4 --json summary.json --plot angle.png
    posekit-squats 1 --exercise pushup          # camera 1, push-ups

The window (or the ``--output`` video) shows the skeleton, the joint angle the counter follows,
the phase of the current rep, the count and feedback on the last rep: whether it reached the
target depth (``--target``) and its tempo (seconds down / up), and a depth gauge that fills as
the rep deepens, with the rest, bottom and target thresholds marked. Phases are named as in
``posekit run --count`` (:class:`posekit.analyzers.reps.PhaseWords`: standing, going down,
bottom, coming up for squats). Without a display, or with an OpenCV build without GUI support
(``opencv-python-headless``), it runs headless and says so in one warning line. At the end
a summary (reps, per-rep depth and duration) is printed, and written as JSON with ``--json``;
``--plot`` draws the angle over time with the reps marked.

Bad input (missing file, a photo or other non-video, no such camera, unwritable output, an
output that is the input, unknown exercise) is reported as one line on stderr with exit code 2.
Warnings are ``posekit-squats: warning: ...`` lines; ``-v`` adds info lines (one per rep),
``-vv`` debug. Every file is written to a temporary file and renamed into place when complete
(all of them or none), and each one written is printed. Ctrl-C stops after the current frame:
the summary and the files cover the frames done, and the exit code is 130, as for every posekit
command; q in the window, ``--max-frames`` or the end of the video exit 0.

Example:
    >>> args = build_parser().parse_args(["clip.mp4", "--exercise", "lunge", "--no-show"])
    >>> args.source, args.exercise, args.show
    ('clip.mp4', 'lunge', False)
    >>> EXERCISES["squat"].target
    100.0
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import sys
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from posekit.analyzers.exercises import EXERCISES, Exercise
from posekit.cli import OneLineParser, add_common_options, image_file, setup_logging
from posekit.errors import InputError, PosekitError

__all__ = ["RepFeedback", "build_parser", "feedback", "main", "run"]

logger = logging.getLogger("posekit_apps.squats")

PROG = "posekit-squats"


@dataclass(frozen=True, slots=True)
class RepFeedback:
    """What the app says about one rep."""

    number: int
    depth: float
    depth_reached: bool
    duration: float
    down: float
    up: float
    too_fast: bool

    def lines(self, preset: Exercise) -> list[str]:
        """Two short lines for the screen."""
        depth = (
            f"rep {self.number}: depth {self.depth:.0f} deg - good depth"
            if self.depth_reached
            else f"rep {self.number}: depth {self.depth:.0f} deg - go deeper "
            f"(target {preset.target:.0f})"
        )
        tempo = f"tempo {self.down:.1f} s down / {self.up:.1f} s up"
        if self.too_fast:
            tempo += " - slow down"
        return [depth, tempo]


def feedback(rep: Any, preset: Exercise, rest: str) -> RepFeedback:
    """Judge one :class:`~posekit.analyzers.reps.Rep` against ``preset``.

    Example:
        >>> from posekit.analyzers.reps import Rep
        >>> r = Rep(1, start=0.0, bottom=1.2, end=2.0, depth=95.0, start_index=0,
        ...         bottom_index=30, end_index=50)
        >>> f = feedback(r, EXERCISES["squat"], "up")
        >>> f.depth_reached, f.lines(EXERCISES["squat"])[1]
        (True, 'tempo 1.2 s down / 0.8 s up')
    """
    reached = rep.depth <= preset.target if rest == "up" else rep.depth >= preset.target
    tempo = rep.tempo
    return RepFeedback(
        number=rep.number,
        depth=float(rep.depth),
        depth_reached=bool(reached),
        duration=float(rep.duration),
        down=float(tempo.to_bottom),
        up=float(tempo.from_bottom),
        too_fast=rep.duration < preset.min_tempo,
    )


# ---------------------------------------------------------------------------------- CLI
def build_parser() -> argparse.ArgumentParser:
    """The ``posekit-squats`` argument parser."""
    from posekit.analyzers.exercises import exercise_name
    from posekit.cli.run_cmd import add_tracker_options

    p = OneLineParser(
        prog=PROG,
        description=(
            "Count squats (or push-ups, lunges, curls, jumping jacks) from a camera or a video, "
            "with the skeleton, the joint angle, the phase, the count and feedback on each rep "
            "(depth reached or not, tempo) drawn live. q or Ctrl-C stops. Prints a summary at "
            "the end."
        ),
        epilog=(
            "examples:\n"
            f"  {PROG}                       camera 0 in a window\n"
            f"  {PROG} squat.mp4 --no-show --output annotated.mp4 --json reps.json "
            "--plot angle.png\n"
            f"  {PROG} 1 --exercise pushup   camera 1, push-ups"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "source",
        nargs="?",
        default="0",
        metavar="SOURCE",
        help="camera index (default 0) or a video file / URL",
    )
    p.add_argument(
        "-e",
        "--exercise",
        type=exercise_name,
        choices=tuple(EXERCISES),
        default="squat",
        metavar="EXERCISE",
        help=f"what to count: {', '.join(EXERCISES)} (default squat)",
    )
    p.add_argument(
        "--target",
        type=float,
        default=None,
        metavar="DEG",
        help="depth a good rep reaches, in degrees (default: squat/lunge 100, push-up 90, "
        "curl 50, jumping jack 150)",
    )
    p.add_argument("--no-show", dest="show", action="store_false", help="no window (headless)")
    p.add_argument("-o", "--output", metavar="VIDEO", help="write the annotated video (.mp4/.avi)")
    p.add_argument("--json", metavar="FILE", help="write the summary as JSON")
    p.add_argument("--plot", metavar="PNG", help="plot the angle over time with the reps marked")
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="stop after N frames")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (video files)")
    add_common_options(p)
    add_tracker_options(p)
    return p


def _error(message: str, code: int = 2) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``posekit-squats`` console script; returns the exit code."""
    args = build_parser().parse_args(argv)
    setup_logging(PROG, args.verbose)
    try:
        _check_not_an_image(args.source)
        return run(args)
    except PosekitError as exc:
        return _error(str(exc))


def _check_not_an_image(source: str) -> None:
    """A photo would run as a 1-frame video and count 0 reps: say so and what to use."""
    if image_file(source):
        raise InputError(
            f"{source} is a still image: counting reps needs a video file or a camera index "
            f"(e.g. {PROG} squat.mp4, or {PROG} 0 for camera 0); for the pose in one photo use "
            f"`posekit run {source} --jsonl pose.jsonl`"
        )


# ---------------------------------------------------------------------------------- the app
class _Overlay:
    """Skeleton, joint angles, the count panel, the rep feedback and a depth gauge."""

    def __init__(
        self, preset: Exercise, up: float, down: float, rest: str, space: Any = "image"
    ) -> None:
        from posekit.draw import AngleAnnotator, KeypointAnnotator, SkeletonAnnotator, TextPanel

        self.preset = preset
        self.up, self.down, self.rest = up, down, rest
        angles = AngleAnnotator(preset.joints, space=space)  # what the counter measures
        self.skeleton = SkeletonAnnotator() + KeypointAnnotator() + angles
        self.panel = TextPanel(corner="top-left", title_scale=1.6)
        self.good = TextPanel(corner="bottom-left", color=(120, 255, 120))
        self.bad = TextPanel(corner="bottom-left", color=(80, 180, 255))
        self.notice = TextPanel(corner="top-right", color=(80, 180, 255))
        self._history: deque[tuple[float, float]] = deque()
        # the gauge runs from the rest side (top) to the far side (bottom): it fills as the
        # rep deepens
        self._scale = (180.0, 30.0) if rest == "up" else (0.0, 180.0)

    def phase_text(self, state: Any, timestamp: float) -> str:
        """Where the person is in the rep, in the counter's words (``state.phase_text``),
        refined by the direction the angle moves (degrees per second over the last ~0.2 s):
        going down / coming up while moving, the turning point only when still there."""
        phase, value = state.phase.value, state.value
        words = self.preset.words
        if value is not None:
            self._history.append((timestamp, value))
            while len(self._history) > 2 and timestamp - self._history[0][0] > 0.2:
                self._history.popleft()
        if phase in ("unknown", "rest") or value is None or not self._history:
            return str(state.phase_text)
        t_old, v_old = self._history[0]
        speed = (value - v_old) / (timestamp - t_old) if timestamp > t_old else 0.0
        towards_turn = -speed if self.rest == "up" else speed  # deg/s towards the turn
        if towards_turn > 20.0:
            return words.leaving
        if towards_turn < -20.0:
            return words.returning
        return str(state.phase_text)

    def draw(
        self,
        frame: npt.NDArray[np.uint8],
        result: Any,
        state: Any,
        last: RepFeedback | None,
    ) -> None:
        self.skeleton.annotate(frame, result.pose)
        value = "--" if state.value is None else f"{state.value:.0f} deg"
        phase = self.phase_text(state, result.timestamp)
        self.panel.annotate(
            frame,
            [f"{self.preset.title}: {state.count}", f"{self.preset.label}: {value}", phase],
        )
        if result.pose is None:
            self.notice.annotate(frame, ["no person in view"])
        if last is not None:
            (self.good if last.depth_reached and not last.too_fast else self.bad).annotate(
                frame, last.lines(self.preset)
            )
        self._gauge(frame, state.value)

    def _gauge(self, frame: npt.NDArray[np.uint8], value: float | None) -> None:
        """A vertical depth bar on the right, titled with the signal: the rest side at the
        top, the far side at the bottom, filled from the top down to the current angle (it
        grows as the rep deepens); the rest and far thresholds and the target are marked and
        labelled in the exercise's words."""
        import cv2

        from posekit.draw import put_label

        h, w = int(frame.shape[0]), int(frame.shape[1])
        s = max(0.5, min(h, w) / 720)
        bw, top, bottom = round(22 * s), round(h * 0.25), round(h * 0.85)
        x1 = w - round(30 * s)
        x0 = x1 - bw
        start, end = self._scale  # degrees at the top and at the bottom

        def y_of(deg: float) -> int:
            frac = min(max((deg - start) / (end - start), 0.0), 1.0)
            return round(top + frac * (bottom - top))

        region = frame[top:bottom, x0:x1]
        cv2.convertScaleAbs(region, dst=region, alpha=0.35)
        if value is not None:
            reached = (
                value <= self.preset.target if self.rest == "up" else value >= self.preset.target
            )
            at_rest = value >= self.up if self.rest == "up" else value <= self.down
            color = (80, 220, 80) if reached else (200, 160, 90) if at_rest else (0, 170, 255)
            cv2.rectangle(frame, (x0, top), (x1, y_of(value)), color, -1)
        cv2.rectangle(frame, (x0, top), (x1, bottom), (20, 20, 20), max(3, round(3 * s)))
        cv2.rectangle(frame, (x0, top), (x1, bottom), (235, 235, 235), max(1, round(s)))
        font = cv2.FONT_HERSHEY_SIMPLEX
        fs, tk = 0.6 * s, max(1, round(1.5 * s))
        title = self.preset.label
        (tw, th), _ = cv2.getTextSize(title, font, fs, tk)
        put_label(
            frame, title, (min(x1 - tw, w - tw - 4), top - round(12 * s)), scale=fs, thickness=tk
        )
        words = self.preset.words
        rest_deg, far_deg = (self.up, self.down) if self.rest == "up" else (self.down, self.up)
        marks = sorted(
            (
                (y_of(rest_deg), f"{words.rest} {rest_deg:.0f}", (255, 255, 255)),
                (y_of(far_deg), f"{words.turn} {far_deg:.0f}", (80, 200, 255)),
                (y_of(self.preset.target), f"target {self.preset.target:.0f}", (80, 230, 80)),
            ),
            key=lambda m: m[0],
        )
        below = -(10**6)  # lowest label baseline so far: labels never overlap
        for y, label, color in marks:
            cv2.line(frame, (x0 - round(6 * s), y), (x1, y), (20, 20, 20), max(3, round(4 * s)))
            cv2.line(frame, (x0 - round(6 * s), y), (x1, y), color, max(1, round(2 * s)))
            (tw, th), _ = cv2.getTextSize(label, font, fs, tk)
            base = max(y + th // 2, below + round(th * 1.8))
            below = base
            put_label(
                frame, label, (x0 - round(12 * s) - tw, base), color=color, scale=fs, thickness=tk
            )


def run(args: argparse.Namespace) -> int:
    """Run the app with parsed ``args``; returns the exit code (130 after Ctrl-C)."""
    from posekit.analyzers import Pipeline
    from posekit.analyzers.exercises import make_counter
    from posekit.cli.run_cmd import (
        INTERRUPTED_EXIT,
        FrameProgress,
        StopOnInterrupt,
        build_tracker,
        ensure_models,
        open_input,
        options_from_args,
        parse_source,
    )
    from posekit.draw import Window
    from posekit.outputs import AtomicOutput, check_outputs, write_atomic
    from posekit.sinks import VideoSink, check_writable, codec_name

    preset = EXERCISES[args.exercise]
    if args.target is not None:
        if not (math.isfinite(args.target) and 0 < args.target < 180):
            raise InputError(f"--target {args.target}: give an angle in degrees between 0 and 180")
        preset = dataclasses.replace(preset, target=float(args.target))
    if args.max_frames is not None and args.max_frames < 1:
        raise InputError(f"--max-frames {args.max_frames}: give a positive number of frames")
    wanted = [("--output", args.output), ("--json", args.json), ("--plot", args.plot)]
    source = parse_source(args.source)
    check_outputs([] if isinstance(source, int) or "://" in source else [source], wanted)
    for what, path in wanted:
        if path is not None:
            check_writable(path, what)
    if args.plot is not None and Path(args.plot).suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise InputError(f"--plot {args.plot}: use a .png or .jpg file name")
    options = options_from_args(args)
    counter = make_counter(args.exercise)
    pipeline = Pipeline(analyzers=[counter])
    src = open_input(source)  # fails early, one line, on a missing file / camera
    is_camera = isinstance(source, int)
    name = f"camera {source}" if is_camera else str(source)
    window = Window(f"{PROG} ({preset.title})", enabled=args.show)
    ensure_models(options, progress=not args.no_progress)
    overlay = _Overlay(preset, counter.up, counter.down, counter.rest, counter.space)
    video = None if args.output is None else VideoSink(args.output, src.fps)
    total = src.frame_count if not is_camera else None
    if args.max_frames is not None:
        total = min(total or args.max_frames, args.max_frames)
    bar = None
    if not args.no_progress and (not is_camera or not window.active):
        bar = FrameProgress(sys.stderr, Path(name).name if not is_camera else name, total)
    times: list[float] = []
    values: list[float] = []
    last: RepFeedback | None = None
    judged: list[RepFeedback] = []
    frames = poses = 0
    interrupted = False
    t0 = time.perf_counter()
    t_first: float | None = None
    pending: list[AtomicOutput] = []
    written: list[str] = []
    completed = False
    try:
        with StopOnInterrupt() as stop:
            with build_tracker(options) as tracker, window:
                stream = pipeline.stream(tracker.stream(src))
                try:
                    for result in stream:
                        state = result.results[counter.name]
                        if t_first is None:
                            t_first = result.timestamp
                        times.append(result.timestamp - t_first)
                        values.append(math.nan if state.value is None else state.value)
                        if state.new_rep is not None:
                            last = feedback(state.new_rep, preset, counter.rest)
                            judged.append(last)
                            logger.info(
                                "rep %d: %s",
                                last.number,
                                "; ".join(last.lines(preset)).split(": ", 1)[1],
                            )
                        frames += 1
                        poses += result.pose is not None
                        if video is not None or window.active:
                            frame = result.frame
                            assert frame is not None  # tracker streams carry their frames
                            overlay.draw(frame, result, state, last)
                            if video is not None:
                                stop.writing = True  # the video and the summary agree
                                video.write_image(frame)
                                stop.done_writing()
                            if not window.show(frame):
                                break
                        if bar is not None:
                            bar.update(frames, total)
                        if stop.stop_requested():
                            interrupted = True
                            break
                        if args.max_frames is not None and frames >= args.max_frames:
                            break
                except KeyboardInterrupt:  # a second Ctrl-C: stop at once
                    interrupted = True
                finally:
                    stream.close()  # type: ignore[attr-defined]
            if bar is not None:
                bar.close()
                bar = None
            seconds = time.perf_counter() - t0
            stop.writing = True  # from here on a Ctrl-C only marks the run interrupted
            if video is not None:
                video.finish()  # closed and checked; renamed with the other files below
            summary = _summary(
                name, args.exercise, preset, counter, judged, frames, poses, times, seconds,
                interrupted,
            )  # fmt: skip
            summary["ended_early"] = src.end_reason if src.ended_early else None
            print(_format_summary(summary))
            if args.json is not None:
                text = json.dumps(summary, indent=1) + "\n"
                pending.append(write_atomic(args.json, "--json", _text(text)))
            if args.plot is not None:
                pending.append(_plot(args.plot, name, preset, counter, judged, times, values,
                                     t_first))  # fmt: skip
            if video is not None:
                for path in video.commit():
                    written.append(
                        f"annotated video {path} ({video.frames} frames, {codec_name(video.codec)})"
                    )
            for out, label in zip(pending, _labels(args), strict=True):
                written.append(f"{label} {out.commit()}")
            interrupted |= stop.done_writing(raise_pending=False)
            completed = True
    finally:
        if bar is not None:
            bar.close()
        if not completed:
            if video is not None:
                video.abort()
            for out in pending:
                out.discard()
        src.release()
    for line in written:
        print(f"wrote {line}")
    if interrupted:
        print(f"{PROG}: interrupted: what is listed above is complete", file=sys.stderr)
        return INTERRUPTED_EXIT
    return 0


def _labels(args: argparse.Namespace) -> list[str]:
    return [label for label, path in (("summary", args.json), ("plot", args.plot)) if path]


def _text(text: str) -> Any:
    def fill(path: Path) -> None:
        with path.open("w", encoding="utf-8") as fh:
            fh.write(text)

    return fill


def _plot(
    path: str,
    name: str,
    preset: Exercise,
    counter: Any,
    judged: list[RepFeedback],
    times: list[float],
    values: list[float],
    t_first: float | None,
) -> Any:
    """The angle-over-time plot, encoded to a temporary file beside ``path`` (not committed)."""
    from posekit_apps.plot import RepSpan, plot_output, plot_signal

    t0 = t_first or 0.0
    spans = [
        RepSpan(r.number, r.start - t0, r.end - t0, r.bottom - t0, r.depth, f.depth_reached)
        for r, f in zip(counter.reps, judged, strict=True)
    ]
    rest_level, far_level = (
        (counter.up, counter.down) if counter.rest == "up" else (counter.down, counter.up)
    )
    cmp_rest, cmp_far = (">", "<") if counter.rest == "up" else ("<", ">")
    thresholds = [
        (f"{preset.words[0]} {cmp_rest}", rest_level),
        (f"{preset.words[2]} {cmp_far}", far_level),
        ("target", preset.target),
    ]
    title = (
        f"{Path(name).name}: {preset.label} over time, {counter.count} "
        f"{preset.title if counter.count != 1 else preset.title.rstrip('s')}"
    )
    image = plot_signal(
        times, values, title=title, y_label=f"{preset.label} (deg)",
        thresholds=thresholds, reps=spans,
    )  # fmt: skip
    return plot_output(image, path)


def _summary(
    name: str,
    exercise: str,
    preset: Exercise,
    counter: Any,
    judged: list[RepFeedback],
    frames: int,
    poses: int,
    times: list[float],
    seconds: float,
    interrupted: bool,
) -> dict[str, Any]:
    reps = []
    for rep, f in zip(counter.reps, judged, strict=True):
        reps.append(
            {
                "number": rep.number,
                "depth_deg": round(rep.depth, 3),
                "depth_reached": f.depth_reached,
                "duration_s": round(rep.duration, 3),
                "down_s": round(f.down, 3),
                "up_s": round(f.up, 3),
                "start_s": round(rep.start, 3),
                "bottom_s": round(rep.bottom, 3),
                "end_s": round(rep.end, 3),
                "start_frame": rep.start_index,
                "bottom_frame": rep.bottom_index,
                "end_frame": rep.end_index,
            }
        )
    return {
        "source": name,
        "exercise": exercise,
        "reps": counter.count,
        "reps_at_target_depth": sum(f.depth_reached for f in judged),
        "rep_details": reps,
        "signal": counter.signal if isinstance(counter.signal, str) else list(counter.signal),
        "thresholds_deg": {"up": counter.up, "down": counter.down, "target": preset.target},
        "frames": frames,
        "frames_with_pose": poses,
        "video_seconds": round(times[-1], 3) if times else 0.0,
        "processing_seconds": round(seconds, 3),
        "processing_fps": round(frames / seconds, 1) if seconds > 0 else 0.0,
        "interrupted": interrupted,
    }


def _format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"{s['source']}: {s['reps']} {s['exercise']} rep{'' if s['reps'] == 1 else 's'} "
        f"({s['reps_at_target_depth']} at target depth {s['thresholds_deg']['target']:.0f} deg), "
        f"{s['frames']} frames, pose on {s['frames_with_pose']}, "
        f"{s['processing_fps']:.1f} frames/s"
    ]
    for r in s["rep_details"]:
        lines.append(
            f"  rep {r['number']}: depth {r['depth_deg']:.0f} deg "
            f"({'reached' if r['depth_reached'] else 'not reached'}), "
            f"{r['duration_s']:.2f} s ({r['down_s']:.1f} s down, {r['up_s']:.1f} s up), "
            f"frames {r['start_frame']}-{r['end_frame']}"
        )
    if s["interrupted"]:
        lines.append("  (stopped early)")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
