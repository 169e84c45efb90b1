"""``posekit yoga``: train a pose classifier from labelled images, classify images, a video or
a camera.

Examples (shell)::

    posekit yoga fit yoga_images/ --out yoga.npz          # yoga_images/<pose name>/*.jpg
    posekit yoga predict yoga.npz photo1.jpg photo2.jpg   # label and votes per image
    posekit yoga predict yoga.npz test_images/            # + accuracy when sub-folders are classes
    posekit yoga predict yoga.npz 0                       # camera 0, smoothed class in a window
    posekit yoga predict yoga.npz flow.mp4 --no-show --output labelled.mp4

The classifier is MediaPipe's k-NN pose classifier (:mod:`posekit.analyzers.classifier`):
poses are embedded (translation and scale invariant), every sample votes with its distance to
the pose and to its mirror image, and video votes are smoothed over time.

``fit`` keeps the sha256 of every training image in the classifier file; ``predict`` on images
marks those it was trained on, warns when there are any and reports the accuracy on all the
images and on the unseen ones only (a training image is its own nearest neighbour, so its
prediction says nothing about new photos). For a classifier file without fingerprints (older
posekit) a training image is recognised by its landmarks being those of a training sample.

Example:
    >>> from posekit.cli import build_parser
    >>> args = build_parser().parse_args(["yoga", "fit", "imgs", "--out", "m.npz"])
    >>> args.folder, args.out, args.voters
    ('imgs', 'm.npz', None)
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posekit.errors import InputError

if TYPE_CHECKING:
    from posekit.analyzers.classifier import ClassVotes, PoseClassifier

__all__ = ["ImagePrediction", "Segment", "fit", "leave_one_out", "predict", "register"]

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Add the ``yoga`` sub-command (``fit`` and ``predict``) to ``posekit``'s sub-parsers."""
    from posekit.cli.run_cmd import _positive_int, add_tracker_options

    parser = subparsers.add_parser(
        "yoga",
        help="train a pose classifier (e.g. yoga poses) and classify images, videos or a camera",
        description=(
            "k-NN pose classification (MediaPipe's method): `fit` builds a classifier from a "
            "folder with one sub-folder of images per class; `predict` classifies images "
            "(label and votes), a video or a camera (class smoothed over time, shown live or "
            "written with `predict --output`)."
        ),
    )
    actions = parser.add_subparsers(dest="yoga_command", metavar="ACTION")
    actions.required = True

    p_fit = actions.add_parser(
        "fit",
        help="train from FOLDER/<class>/*.jpg and save the classifier",
        description=(
            "Find the pose in every image of FOLDER/<class>/ (the sub-folder name is the "
            "class) and save a classifier (.npz or .json). Images without a person are "
            "listed and skipped. Prints the samples per class and the leave-one-out accuracy."
        ),
    )
    p_fit.add_argument("folder", metavar="FOLDER", help="one sub-folder of images per class")
    p_fit.add_argument(
        "--out", "-o", required=True, metavar="MODEL", help="where to save (.npz or .json)"
    )
    p_fit.add_argument(
        "--voters",
        type=_positive_int,
        default=None,
        metavar="K",
        help="neighbours that vote (default: 10, or the smallest class size if smaller)",
    )
    p_fit.add_argument("--no-validate", action="store_true", help="skip the leave-one-out check")
    add_tracker_options(p_fit)
    p_fit.set_defaults(func=fit)

    p_pred = actions.add_parser(
        "predict",
        help="classify images, a folder of images, a video or a camera",
        description=(
            "Classify each SOURCE with MODEL: image files or folders of images (prints the "
            "label and votes; with sub-folders named after classes, also the accuracy on all "
            "images and on those not used for training), or one video file / camera index "
            "(smoothed class per frame, in a window unless --no-show, and the time spent in "
            "each class)."
        ),
    )
    p_pred.add_argument("model_path", metavar="MODEL", help="a classifier saved by `yoga fit`")
    p_pred.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="images, folders, a video or a camera index"
    )
    p_pred.add_argument("--no-show", dest="show", action="store_false", help="no window")
    p_pred.add_argument("--output", "-o", metavar="VIDEO", help="annotated video (video input)")
    p_pred.add_argument("--json", metavar="FILE", help="write the predictions as JSON")
    p_pred.add_argument(
        "--max-frames", type=_positive_int, default=None, metavar="N", help="stop after N frames"
    )
    p_pred.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_tracker_options(p_pred)
    p_pred.set_defaults(func=predict)


# ---------------------------------------------------------------------------------- fit
@dataclass(frozen=True, slots=True)
class LeaveOneOut:
    """Leave-one-out accuracy of a classifier's training set."""

    correct: int
    total: int
    confusions: tuple[tuple[str, str], ...]  # (true, predicted) of each miss

    @property
    def accuracy(self) -> float:
        """Fraction right (0 with no samples)."""
        return self.correct / self.total if self.total else 0.0


def leave_one_out(clf: PoseClassifier) -> LeaveOneOut:
    """Classify every training sample with a classifier trained on all the others.

    Example:
        >>> import numpy as np
        >>> from posekit.analyzers.classifier import PoseClassifier
        >>> rng = np.random.default_rng(0)
        >>> a, b = rng.normal(size=(33, 3)), rng.normal(size=(33, 3))
        >>> lm = np.stack([a, a + 0.01, b, b + 0.01]).astype(np.float32)
        >>> clf = PoseClassifier(lm, ["a", "a", "b", "b"], top_n_by_mean_distance=1)
        >>> leave_one_out(clf).accuracy
        1.0
    """
    import numpy as np

    from posekit.analyzers.classifier import PoseClassifier

    lm, labels = clf.landmarks, clf.labels
    k = min(clf.k, max(1, min(Counter(labels).values()) - 1))
    correct = 0
    misses: list[tuple[str, str]] = []
    for i in range(len(labels)):
        keep = np.arange(len(labels)) != i
        rest = [lab for j, lab in enumerate(labels) if j != i]
        if len(set(rest)) < 1:
            continue
        sub = PoseClassifier(lm[keep], rest, top_n_by_mean_distance=k)
        got = sub.classify(lm[i]).label
        if got == labels[i]:
            correct += 1
        else:
            misses.append((labels[i], str(got)))
    return LeaveOneOut(correct, len(labels), tuple(misses))


def fit(args: argparse.Namespace) -> int:
    """Execute ``posekit yoga fit``; returns the exit code."""
    from posekit.analyzers.classifier import (
        IMAGE_EXTENSIONS,
        PoseClassifier,
        extract_folder_samples,
        file_sha256,
    )
    from posekit.cli.run_cmd import ensure_models, options_from_args
    from posekit.outputs import check_outputs, write_atomic
    from posekit.sinks import check_writable
    from posekit.tracker import Tracker

    check_outputs([args.folder], [("--out", args.out)], folder_suffixes=IMAGE_EXTENSIONS)
    out = check_writable(args.out, "--out")
    if out.suffix.lower() not in (".npz", ".json"):
        raise InputError(f"--out {out}: use a .npz or .json file name")
    options = options_from_args(args)
    ensure_models(options, progress=True)
    with Tracker(
        model=options.model,
        mode="image",
        min_detection_confidence=options.min_detection_confidence,
        num_threads=options.threads,
        refine_heatmap=options.refine_heatmap,
    ) as tracker:
        found = extract_folder_samples(args.folder, tracker)
    if not found.labels:
        raise InputError(
            f"no pose was found in any image under {args.folder} ({len(found.missing)} tried): "
            "the images must show one whole person"
        )
    per_class = Counter(found.labels)
    voters = args.voters or min(10, min(per_class.values()))
    digests = [file_sha256(Path(args.folder) / name) for name in found.names]  # predict's check
    clf = PoseClassifier(
        found.landmarks, found.labels, found.names, top_n_by_mean_distance=voters, sha256=digests
    )
    write_atomic(out, "--out", clf.save).commit()  # a full disk leaves no partial file
    print(f"{len(found.labels)} samples, {len(per_class)} classes, {voters} voters -> {out}")
    for name in clf.classes:
        print(f"  {name}: {per_class[name]}")
    if found.missing:
        print(f"no pose found in {len(found.missing)} image(s): {', '.join(found.missing)}")
    if not args.no_validate and len(per_class) > 1 and min(per_class.values()) > 1:
        loo = leave_one_out(clf)
        print(f"leave-one-out accuracy: {loo.correct}/{loo.total} ({100 * loo.accuracy:.0f} %)")
        if loo.confusions:
            common = Counter(loo.confusions).most_common(3)
            print("  most confused: " + ", ".join(f"{t} -> {p} ({n})" for (t, p), n in common))
    return 0


# ---------------------------------------------------------------------------------- predict
@dataclass(frozen=True, slots=True)
class ImagePrediction:
    """The classification of one image."""

    path: str
    label: str | None
    votes: dict[str, float]
    truth: str | None = None
    in_training: bool = False


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of video with one smoothed class (None: no person / no class)."""

    label: str | None
    start: float
    end: float


def _is_image(path: Path) -> bool:
    from posekit.analyzers.classifier import IMAGE_EXTENSIONS

    return path.suffix.lower() in IMAGE_EXTENSIONS


def _image_list(sources: list[str], classes: tuple[str, ...]) -> list[tuple[Path, str | None]]:
    items: list[tuple[Path, str | None]] = []
    for text in sources:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and _is_image(p))
            if not found:
                raise InputError(f"{path} holds no images ({', '.join(('.jpg', '.png'))}...)")
            for p in found:
                items.append((p, p.parent.name if p.parent.name in classes else None))
        elif not path.exists():
            raise InputError(f"{text} does not exist: check the path")
        else:
            items.append((path, path.parent.name if path.parent.name in classes else None))
    return items


def in_training_set(clf: PoseClassifier, digest: str, landmarks: Any) -> bool:
    """Was this image one of ``clf``'s training images? By the sha256 of its file when the
    classifier kept fingerprints; else (a file of an older posekit) by its landmarks matching
    a training sample's to a hundredth of a pixel (the tracker in image mode is deterministic,
    another photo never lands on all 33 points).

    Example:
        >>> import numpy as np
        >>> from posekit.analyzers.classifier import PoseClassifier
        >>> rng = np.random.default_rng(0)
        >>> lm = rng.normal(size=(2, 33, 3)).astype(np.float32)
        >>> clf = PoseClassifier(lm, ["a", "b"], sha256=["ab" * 32, ""])
        >>> in_training_set(clf, "ab" * 32, lm[1] + 5), in_training_set(clf, "cd" * 32, lm[1])
        (True, False)
        >>> in_training_set(PoseClassifier(lm, ["a", "b"]), "cd" * 32, lm[1])
        True
    """
    import numpy as np

    known = {h for h in clf.sha256 if h}
    if known:
        return digest in known
    diff = np.abs(clf.landmarks - np.asarray(landmarks, np.float32)).max(axis=(1, 2))
    return bool(diff.min() < 0.01)


def _accuracy(preds: list[ImagePrediction]) -> str:
    right = sum(p.label == p.truth for p in preds)
    return f"{right}/{len(preds)} ({100 * right / max(len(preds), 1):.0f} %)"


def _top_votes(votes: ClassVotes, n: int = 3) -> list[tuple[str, float]]:
    return sorted(votes.votes.items(), key=lambda kv: -kv[1])[:n]


def predict(args: argparse.Namespace) -> int:
    """Execute ``posekit yoga predict``; returns the exit code."""
    from posekit.analyzers.classifier import IMAGE_EXTENSIONS, PoseClassifier
    from posekit.cli.run_cmd import ensure_models, options_from_args
    from posekit.outputs import check_outputs
    from posekit.sinks import check_writable

    wanted = [("--output", args.output), ("--json", args.json)]
    check_outputs(
        [args.model_path, *args.sources], wanted, folder_suffixes=IMAGE_EXTENSIONS
    )  # before anything is read or written: no output may be an input
    clf = PoseClassifier.load(args.model_path)
    for what, path in wanted:
        if path is not None:
            check_writable(path, what)
    options = options_from_args(args)
    first = Path(args.sources[0])
    images = len(args.sources) > 1 or first.is_dir() or _is_image(first)
    if images:
        if args.output is not None:
            raise InputError("--output is for a video or camera SOURCE, not for images")
        ensure_models(options, progress=not args.no_progress)
        return _predict_images(clf, args, options)
    ensure_models(options, progress=not args.no_progress)
    return _predict_stream(clf, args, options)


def _predict_images(clf: PoseClassifier, args: argparse.Namespace, options: Any) -> int:
    import hashlib

    import cv2
    import numpy as np

    from posekit.tracker import Tracker

    items = _image_list(args.sources, clf.classes)
    preds: list[ImagePrediction] = []
    with Tracker(
        model=options.model,
        mode="image",
        min_detection_confidence=options.min_detection_confidence,
        num_threads=options.threads,
        refine_heatmap=options.refine_heatmap,
    ) as tracker:
        for path, truth in items:
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
            image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if image is None:
                raise InputError(f"{path} cannot be read as an image: is it a JPEG / PNG file?")
            pose = tracker.process(image, 0.0).pose
            if pose is None:
                preds.append(ImagePrediction(str(path), None, {}, truth))
                print(f"{path}: no person found")
                continue
            seen = in_training_set(clf, hashlib.sha256(data).hexdigest(), pose.xyz)
            votes = clf.classify(pose)
            preds.append(ImagePrediction(str(path), votes.label, dict(votes.votes), truth, seen))
            top = ", ".join(f"{name} {v:g}/{votes.k}" for name, v in _top_votes(votes))
            mark = "" if truth is None else ("  ok" if votes.label == truth else f"  (is {truth})")
            print(f"{path}: {votes.label}  [{top}]{mark}{'  [training image]' if seen else ''}")
    judged = [p for p in preds if p.truth is not None]
    trained = sum(p.in_training for p in preds)
    if trained:
        logger.warning(
            "%d of the %d images with a pose are training images of %s: a training image is "
            "its own nearest neighbour, so only the unseen images measure accuracy",
            trained,
            sum(p.label is not None for p in preds),
            args.model_path,
        )
    if judged:
        unseen = [p for p in judged if not p.in_training]
        line = f"accuracy: {_accuracy(judged)}"
        if trained:
            line += (
                f" on all images, {_accuracy(unseen)} on the {len(unseen)} not used for training"
                if unseen
                else " on all images, all of them training images: no accuracy on unseen images"
            )
        print(line)
    if args.json is not None:
        doc = [
            {"path": p.path, "label": p.label, "votes": p.votes, "truth": p.truth,
             "in_training": p.in_training}
            for p in preds
        ]  # fmt: skip
        _write(args.json, json.dumps(doc, indent=1) + "\n")
    return 0


def _write(path: str, text: str) -> None:
    from posekit.outputs import write_text_atomic

    write_text_atomic(path, text, "--json")


def _predict_stream(clf: PoseClassifier, args: argparse.Namespace, options: Any) -> int:
    from posekit.analyzers import Pipeline, PoseClassifierAnalyzer
    from posekit.cli.run_cmd import (
        INTERRUPTED_EXIT,
        FrameProgress,
        StopOnInterrupt,
        build_tracker,
        open_input,
        parse_source,
    )
    from posekit.draw import KeypointAnnotator, SkeletonAnnotator, TextPanel, Window
    from posekit.sinks import VideoSink

    if len(args.sources) != 1:
        raise InputError("give one video or camera SOURCE at a time (or several image files)")
    source = parse_source(args.sources[0])
    src = open_input(source)
    analyzer = PoseClassifierAnalyzer(clf, name="pose_class")
    pipeline = Pipeline(analyzers=[analyzer])
    draw = SkeletonAnnotator() + KeypointAnnotator()
    panel = TextPanel(corner="top-left", title_scale=1.5)
    window = Window("posekit yoga", enabled=args.show)
    video = None if args.output is None else VideoSink(args.output, src.fps)
    is_camera = isinstance(source, int)
    total = None if is_camera else src.frame_count
    if args.max_frames is not None:
        total = min(total or args.max_frames, args.max_frames)
    bar = None if args.no_progress else FrameProgress(sys.stderr, "yoga", total)
    segments: list[Segment] = []
    frames = 0
    per_frame: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    interrupted = completed = False
    stop = StopOnInterrupt()
    try:
        with stop, build_tracker(options) as tracker, window:
            stream = pipeline.stream(tracker.stream(src))
            try:
                for result in stream:
                    votes: ClassVotes | None = result.results["pose_class"]
                    label = None if votes is None else votes.label
                    t = result.timestamp
                    if segments and segments[-1].label == label:
                        segments[-1] = Segment(label, segments[-1].start, t)
                    else:
                        segments.append(Segment(label, t, t))
                    per_frame.append({"frame": result.index, "timestamp": t, "label": label})
                    frames += 1
                    if video is not None or window.active:
                        image = result.frame
                        assert image is not None
                        draw.annotate(image, result.pose)
                        lines = [label or "no person"]
                        if votes is not None:
                            lines += [f"{name}: {v / votes.k:.0%}" for name, v in _top_votes(votes)]
                        panel.annotate(image, lines)
                        if video is not None:
                            stop.writing = True  # the video and the JSON agree
                            video.write_image(image)
                            stop.done_writing()
                        if not window.show(image):
                            break
                    if bar is not None:
                        bar.update(frames, total)
                    if stop.stop_requested():
                        interrupted = True
                        break
                    if args.max_frames is not None and frames >= args.max_frames:
                        break
            except KeyboardInterrupt:  # a second Ctrl-C: at once
                interrupted = True
            finally:
                stream.close()  # type: ignore[attr-defined]
        if video is not None:
            video.finish()  # closed and checked; renamed with the JSON below
        completed = True
    finally:
        if bar is not None:
            bar.close()
        if video is not None and not completed:
            video.abort()
        src.release()
    seconds = time.perf_counter() - t0
    time_in: dict[str, float] = {}
    for seg in segments:
        key = seg.label or "(no person)"
        time_in[key] = time_in.get(key, 0.0) + seg.end - seg.start
    print(f"{frames} frames in {seconds:.1f} s ({frames / max(seconds, 1e-9):.1f} frames/s)")
    for seg in segments:
        if seg.end - seg.start >= 0.5 or len(segments) <= 20:
            print(f"  {seg.start:7.2f} - {seg.end:7.2f} s: {seg.label or '(no person)'}")
    ranked = sorted(time_in.items(), key=lambda kv: -kv[1])
    best = [f"{name} {secs:.1f} s" for name, secs in ranked if math.isfinite(secs)]
    print("time per class: " + ", ".join(best))
    try:
        if args.json is not None:
            doc = {
                "segments": [{"label": s.label, "start": s.start, "end": s.end} for s in segments],
                "frames": per_frame,
            }
            _write(args.json, json.dumps(doc, indent=1) + "\n")
    except BaseException:
        if video is not None:
            video.abort()
        raise
    if video is not None:
        video.commit()
    if interrupted:
        print("posekit: interrupted: the outputs are complete up to there", file=sys.stderr)
    return INTERRUPTED_EXIT if interrupted else 0
