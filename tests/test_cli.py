"""The ``posekit`` entry point: usage errors are one line and exit code 2, never a traceback."""

from __future__ import annotations

import pytest

from posekit.cli import build_parser, main


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["nope"], "posekit: error: argument COMMAND: invalid choice: 'nope'"),
        (["run", "--count", "burpee", "x.mp4"], "posekit run: error: argument --count"),
        # a bare `models install` installs the defaults (issue 15); `models path` needs a NAME
        (["models", "path"], "posekit models path: error: the following arguments"),
        ([], "posekit: error: the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(expected), err
    assert "Traceback" not in err


def test_every_subcommand_is_registered() -> None:
    parser = build_parser()
    help_text = parser.format_help()
    for name in ("run", "models", "eval", "yoga"):
        assert name in help_text
