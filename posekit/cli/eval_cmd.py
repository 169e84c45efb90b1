"""``posekit eval``: keypoint accuracy (PCK@0.2 torso) on COCO-format annotations.

Example:
    >>> import argparse
    >>> from posekit.cli.eval_cmd import register
    >>> parser = argparse.ArgumentParser(prog="posekit")
    >>> register(parser.add_subparsers())
    >>> args = parser.parse_args(["eval", "--coco", "a.json", "--images", "img", "--limit", "5"])
    >>> (args.model, args.limit, args.json)
    ('full', 5, None)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

__all__ = ["ProgressLine", "register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``eval`` sub-command to ``posekit``'s sub-parsers."""
    from posekit.models.manifest import DEFAULT_LANDMARK_MODEL, LANDMARK_MODELS

    p = subparsers.add_parser(
        "eval",
        help="measure keypoint accuracy (PCK@0.2 torso) on COCO keypoint annotations",
        description=(
            "Crop every annotated person (both shoulders and hips labelled) to a square of "
            "1.5 x max(bbox w, h) around the bbox centre, run the tracker in image mode and "
            "score COCO-17 keypoints: correct when the error is below 0.2 x torso size. "
            "Prints per-keypoint PCK, micro and macro mean PCK and the detection rate, overall "
            "and per images[].source_dataset."
        ),
    )
    p.add_argument(
        "--coco",
        required=True,
        type=Path,
        metavar="ANNOTATIONS.json",
        help="COCO keypoint annotation file",
    )
    p.add_argument(
        "--images",
        required=True,
        type=Path,
        metavar="DIR",
        help="folder holding the images named in images[].file_name",
    )
    p.add_argument(
        "--model",
        choices=LANDMARK_MODELS,
        default=DEFAULT_LANDMARK_MODEL,
        help="landmark model (default: full)",
    )
    p.add_argument(
        "--json",
        type=Path,
        metavar="OUT",
        default=None,
        help="also write every figure (and per-person results) to this JSON file",
    )
    p.add_argument(
        "--limit",
        type=_positive_int,
        metavar="N",
        default=None,
        help="evaluate only the first N eligible persons",
    )
    p.add_argument(
        "--threads",
        type=_positive_int,
        metavar="N",
        default=None,
        help="onnxruntime threads (default: posekit's default)",
    )
    p.add_argument(
        "--refine-heatmap",
        choices=("on", "off"),
        default=None,
        help="refine landmark x/y from the heatmap as MediaPipe's graph does "
        "(default: the tracker's default)",
    )
    p.add_argument(
        "--accuracy",
        choices=("fast", "balanced", "best"),
        default=None,
        help="tracker accuracy policy: fast = MediaPipe's single pass; balanced (image-mode "
        "default) = ROI refinement, central person, detection recovery (<= 2x cost); best = "
        "more refinement and recovery (<= 4x cost)",
    )
    p.add_argument(
        "--flip",
        choices=("on", "off"),
        default=None,
        help="average each pose with the pose of the mirrored crop (default: as the accuracy "
        "policy says: off)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


class ProgressLine:
    """``done/total`` progress on a stream: a redrawn bar on a terminal, else a line per 10 %.

    Example:
        >>> import io
        >>> buf = io.StringIO()
        >>> p = ProgressLine(buf, "eval")
        >>> for i in range(1, 11):
        ...     p(i, 10)
        >>> buf.getvalue().splitlines()[-1]
        'eval 10/10 persons'
    """

    def __init__(self, stream: TextIO, label: str) -> None:
        self._stream = stream
        self._label = label
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._last_decile = -1

    def __call__(self, done: int, total: int) -> None:
        """Report that ``done`` of ``total`` persons are finished."""
        if self._tty:
            filled = int(30 * done / max(total, 1))
            bar = "#" * filled + "." * (30 - filled)
            end = "\n" if done >= total else ""
            self._stream.write(f"\r{self._label} [{bar}] {done}/{total} persons{end}")
            self._stream.flush()
            return
        decile = 10 * done // max(total, 1)
        if decile != self._last_decile or done >= total:
            self._last_decile = decile
            self._stream.write(f"{self._label} {done}/{total} persons\n")
            self._stream.flush()


def run(args: argparse.Namespace) -> int:
    """Execute ``posekit eval`` with parsed ``args``; returns the exit code."""
    from posekit.analyzers.classifier import IMAGE_EXTENSIONS
    from posekit.eval import evaluate_posekit
    from posekit.outputs import check_outputs, write_text_atomic

    if args.json is not None:
        from posekit.sinks import check_writable

        check_outputs(
            [args.coco, args.images], [("--json", args.json)], folder_suffixes=IMAGE_EXTENSIONS
        )
        check_writable(args.json, "--json")
    progress = None if args.no_progress else ProgressLine(sys.stderr, f"eval {args.model}")
    report = evaluate_posekit(
        args.coco,
        args.images,
        model=args.model,
        limit=args.limit,
        num_threads=args.threads,
        refine_heatmap=None if args.refine_heatmap is None else args.refine_heatmap == "on",
        progress=progress,
        accuracy=args.accuracy,
        flip=None if args.flip is None else args.flip == "on",
    )
    print(report.format())
    if args.json is not None:
        write_text_atomic(args.json, json.dumps(report.to_dict(), indent=1) + "\n", "--json")
    return 0
