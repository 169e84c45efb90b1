"""The ``posekit`` command line.

Each sub-command lives in its own module of this package and registers itself through a
``register(subparsers)`` function; :func:`main` wires them together. Errors that posekit raises
deliberately reach the user as one line on stderr and exit code 2, never a traceback.

Example:
    >>> from posekit.cli import build_parser
    >>> build_parser().prog
    'posekit'
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from posekit.errors import PosekitError

__all__ = ["OneLineParser", "build_parser", "main"]

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


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available sub-command."""
    import importlib

    parser = OneLineParser(
        prog="posekit",
        description="posekit: real-time BlazePose body tracking on onnxruntime.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``posekit`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
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
