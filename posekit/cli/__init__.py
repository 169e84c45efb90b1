"""The ``posekit`` command line.

Each sub-command lives in its own module of this package and registers itself through a
``register(subparsers)`` function; :func:`main` wires them together. Errors that posekit raises
deliberately reach the user as one line on stderr and exit code 2, never a traceback.

The helpers shared with ``posekit-squats``: :func:`setup_logging` (log records as
``posekit: warning: ...`` lines on stderr; ``-v`` adds info, ``-vv`` debug),
:func:`version_text` (what ``--version`` prints, from the package metadata) and
:func:`image_file` (a video command given a photo says so instead of running a 1-frame video).

Example:
    >>> from posekit.cli import build_parser
    >>> build_parser().prog
    'posekit'
    >>> version_text("posekit").startswith("posekit ")
    True
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from posekit.errors import PosekitError

__all__ = [
    "IMAGE_SUFFIXES",
    "OneLineParser",
    "add_common_options",
    "build_parser",
    "image_file",
    "main",
    "setup_logging",
    "version_text",
]

_SUBCOMMAND_MODULES = (
    "posekit.cli.run_cmd",
    "posekit.cli.models_cmd",
    "posekit.cli.eval_cmd",
    "posekit.cli.yoga_cmd",
)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (``posekit run: error: ... (see posekit run --help)``), exit 2.

    Sub-command parsers inherit the class (argparse creates them with the parent's type).
    """

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _LogFormatter(logging.Formatter):
    """``prog: level: message`` (``prog: level: logger: message`` when verbose)."""

    def __init__(self, prog: str, verbose: bool) -> None:
        super().__init__()
        self.prog = prog
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        where = f"{record.name}: " if self.verbose else ""
        text = f"{self.prog}: {level}: {where}{record.getMessage()}"
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def setup_logging(prog: str, verbosity: int = 0) -> None:
    """Show log records on stderr as ``PROG: warning: ...`` lines; the CLIs' one log set-up.

    ``verbosity`` 0 shows warnings and errors, 1 (``-v``) adds info, 2 (``-vv``) debug (and
    the logger name of every line). Replaces the handlers of earlier calls, so calling it
    twice does not print lines twice.

    Example:
        >>> setup_logging("posekit", 1)
        >>> logging.getLogger().level == logging.INFO
        True
        >>> setup_logging("posekit")  # back to warnings and errors
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_posekit_cli", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._posekit_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(_LogFormatter(prog, verbosity >= 2))
    root.addHandler(handler)
    root.setLevel((logging.WARNING, logging.INFO)[verbosity] if verbosity < 2 else logging.DEBUG)


def version_text(prog: str) -> str:
    """What ``PROG --version`` prints: posekit's version from the installed package metadata,
    with the Python, onnxruntime and OpenCV versions (what a bug report needs).

    Example:
        >>> version_text("posekit-squats").split()[:2] == ["posekit-squats", _version()]
        True
    """
    from importlib import metadata

    parts = [f"Python {platform.python_version()}"]
    for label, dists in (
        ("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),
        ("OpenCV", ("opencv-python-headless", "opencv-python", "opencv-contrib-python")),
    ):
        for dist in dists:
            try:
                parts.append(f"{label} {metadata.version(dist)}")
                break
            except metadata.PackageNotFoundError:
                continue
    return f"{prog} {_version()} ({', '.join(parts)})"


def _version() -> str:
    import posekit

    return posekit.__version__


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``-v/--verbose`` (repeatable) and ``--version``, shared by ``posekit`` and
    ``posekit-squats``."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="show info messages (-vv: debug messages too); default: warnings and errors only",
    )
    parser.add_argument(
        "--version",
        action="version",
        version=version_text(parser.prog),
        help="show the posekit version (and Python, onnxruntime, OpenCV versions) and exit",
    )


IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
"""File name endings the video commands treat as still images."""

_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"BM", b"GIF8", b"II*\x00", b"MM\x00*")


def image_file(source: object) -> bool:
    """True when ``source`` names an existing still image (by its ending or its first bytes):
    video commands use it to say "this is a photo" instead of running a 1-frame video.

    Example:
        >>> image_file("clip.mp4"), image_file(0)
        (False, False)
    """
    if not isinstance(source, str) or "://" in source:
        return False
    path = Path(source)
    if not path.is_file():
        return False
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return head.startswith(_IMAGE_MAGIC) or (head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    import importlib

    parser = OneLineParser(
        prog="posekit",
        description="posekit: real-time BlazePose body tracking on onnxruntime.",
    )
    add_common_options(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a sub-command not built yet in this checkout
            if exc.name != name:
                raise
            continue
        module.register(sub)
    _add_verbose_everywhere(sub)
    return parser


def _add_verbose_everywhere(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``-v`` after a sub-command too (``posekit run clip.mp4 -v``), on every level."""
    for child in dict.fromkeys(sub.choices.values()):
        if not any("--verbose" in a.option_strings for a in child._actions):
            child.add_argument(
                "-v",
                "--verbose",
                action="count",
                default=argparse.SUPPRESS,
                help="show info messages (-vv: debug messages too)",
            )
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_verbose_everywhere(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``posekit`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging("posekit", args.verbose)
    try:
        code: int = args.func(args)
    except PosekitError as exc:
        print(f"posekit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("posekit: interrupted", file=sys.stderr)
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
