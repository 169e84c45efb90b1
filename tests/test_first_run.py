"""What a new user sees first (issue 15), driven as a user would: console scripts in a
subprocess with a fresh ``POSEKIT_HOME``, no display.

* ``--version`` of every command comes from the package metadata; ``--help`` of every command
  and sub-command runs and mentions only options that exist;
* warnings and errors are ``PROG: warning: ...`` lines, ``-v`` / ``-vv`` add info and debug;
* a photo given to a video command says so (exit 2, one line);
* examples end without a traceback and say why there is no window / no camera;
* overlays: the depth gauge has a title, fills as the squat deepens and its labels are
  readable on white; angle labels are readable on white; one phase vocabulary;
* ``yoga predict`` tells training images from unseen ones and reports both accuracies.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA, MODELS_SRC

import posekit
from posekit.analyzers.classifier import PoseClassifier, file_sha256
from posekit.analyzers.counters import RepCounter
from posekit.analyzers.exercises import EXERCISES, make_counter
from posekit.analyzers.reps import Phase, PhaseWords
from posekit.cli import build_parser, image_file, setup_logging
from posekit.cli.run_cmd import RunOptions, build_overlay
from posekit.draw import AngleAnnotator, TextPanel, put_label
from posekit.errors import InputError
from posekit.pose import Pose
from posekit_apps.squats import _Overlay
from posekit_apps.squats import build_parser as squats_parser

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"
YOGA = DATA / "yoga"
VERSION = metadata.version("posekit")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return {**env, "POSEKIT_HOME": str(home), "POSEKIT_MODEL_SOURCE": str(MODELS_SRC), **extra}


def cli(argv: list[str], home: Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a console script (``posekit``, ``posekit-squats``) or ``python ...`` as a user."""
    exe = [sys.executable, *argv[1:]] if argv[0] == "python" else [str(BIN / argv[0]), *argv[1:]]
    return subprocess.run(
        exe, capture_output=True, text=True, env=_env(home), cwd=cwd, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One fresh POSEKIT_HOME for the tests that run the models (installed on first use)."""
    return tmp_path_factory.mktemp("posekit-home")


# ---------------------------------------------------------------------------------- --version
@pytest.mark.parametrize(
    ("argv", "prog"),
    [
        (["posekit", "--version"], "posekit"),
        (["posekit-squats", "--version"], "posekit-squats"),
        (["python", "-m", "posekit", "--version"], "posekit"),
    ],
    ids=["posekit", "posekit-squats", "python-m-posekit"],
)
def test_version_from_the_package_metadata(tmp_path: Path, argv: list[str], prog: str) -> None:
    proc = cli(argv, tmp_path / "home")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith(f"{prog} {VERSION} (Python "), proc.stdout
    assert "onnxruntime" in proc.stdout
    assert not (tmp_path / "home").exists()  # --version writes nothing


@pytest.mark.parametrize(
    ("found", "expected"),
    [("9.8.7", "9.8.7"), (metadata.PackageNotFoundError("posekit"), "0+unknown")],
    ids=["installed", "not-installed"],
)
def test_dunder_version_reads_the_metadata(
    monkeypatch: pytest.MonkeyPatch, found: str | Exception, expected: str
) -> None:
    def version(name: str) -> str:
        assert name == "posekit"
        if isinstance(found, Exception):
            raise found
        return found

    assert posekit.__version__ == VERSION
    monkeypatch.setattr(metadata, "version", version)
    assert posekit._version.package_version() == expected


# ---------------------------------------------------------------------------------- --help
def _commands() -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
    """Every command and sub-command: (argv prefix, its parser)."""

    def walk(
        argv: list[str], parser: argparse.ArgumentParser
    ) -> Iterator[tuple[list[str], argparse.ArgumentParser]]:
        yield argv, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk([*argv, name], child)

    yield from walk(["posekit"], build_parser())
    yield ["posekit-squats"], squats_parser()


COMMANDS = {" ".join(argv): parser for argv, parser in _commands()}
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def test_every_command_is_listed() -> None:
    names = set(COMMANDS)
    assert {"posekit", "posekit run", "posekit yoga fit", "posekit yoga predict"} <= names
    assert {"posekit models install", "posekit eval", "posekit-squats"} <= names


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_runs_and_mentions_only_existing_options(tmp_path: Path, command: str) -> None:
    proc = cli([*command.split(), "--help"], tmp_path / "home")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.startswith("usage: ")
    options = {o for a in COMMANDS[command]._actions for o in a.option_strings}
    text = " ".join(proc.stdout.split())  # help lines are wrapped anywhere
    missing = []
    for match in OPTION.finditer(text):
        # "`predict --output`" in the yoga help: an option of the sub-command just before it
        # (a child of this command, or a sibling: "`models install --force`" in models clean)
        before = [w.strip("`'\"(") for w in text[: match.start()].split()[-3:]]
        prefixes = [command, command.rsplit(" ", 1)[0], command.rsplit(" ", 2)[0]]
        subs = [f"{c} {w}" for w in before for c in prefixes if f"{c} {w}" in COMMANDS]
        owner = COMMANDS[subs[-1]] if subs else COMMANDS[command]
        if match.group() not in {o for a in owner._actions for o in a.option_strings}:
            missing.append(
                f"{match.group()} in ...{text[max(0, match.start() - 60) : match.end()]}"
            )
    assert missing == [], f"{command} --help mentions options that do not exist"
    assert {"--help", "--verbose"} <= options  # -v on every command and sub-command
    assert not (tmp_path / "home").exists()  # --help writes nothing


@pytest.mark.parametrize("command", ["posekit", "posekit-squats"])
def test_both_clis_share_version_and_verbose(command: str) -> None:
    parser = COMMANDS[command]
    (verbose,) = [a for a in parser._actions if "--verbose" in a.option_strings]
    assert verbose.option_strings == ["-v", "--verbose"]
    assert isinstance(verbose, argparse._CountAction)  # -v info, -vv debug
    assert any(a.option_strings == ["--version"] for a in parser._actions)


def test_squats_help_has_no_jobs_option(tmp_path: Path) -> None:
    """The issue's example: posekit-squats --help mentioned --jobs."""
    proc = cli(["posekit-squats", "--help"], tmp_path / "home")
    assert "--jobs" not in proc.stdout and "--threads" in proc.stdout


# ---------------------------------------------------------------------------------- logging
@pytest.mark.parametrize(
    ("prog", "verbosity", "level", "expected"),
    [
        ("posekit", 0, logging.WARNING, "posekit: warning: disk nearly full"),
        ("posekit-squats", 0, logging.ERROR, "posekit-squats: error: disk nearly full"),
        ("posekit", 0, logging.INFO, None),
        ("posekit", 1, logging.INFO, "posekit: info: disk nearly full"),
        ("posekit", 1, logging.DEBUG, None),
        ("posekit", 2, logging.DEBUG, "posekit: debug: posekit.test: disk nearly full"),
    ],
)
def test_log_lines_have_one_format(
    capsys: pytest.CaptureFixture[str], prog: str, verbosity: int, level: int, expected: str | None
) -> None:
    root = logging.getLogger()
    before = (root.level, list(root.handlers))
    try:
        setup_logging(prog, verbosity)
        setup_logging(prog, verbosity)  # twice: still one line per record
        logging.getLogger("posekit.test").log(level, "disk nearly full")
        err = capsys.readouterr().err
    finally:
        for h in list(root.handlers):
            if h not in before[1]:
                root.removeHandler(h)
        root.setLevel(before[0])
    assert err == ("" if expected is None else expected + "\n")


@pytest.mark.parametrize(
    ("argv", "expected", "absent"),
    [
        (
            ["posekit", "run", str(VIDEO), "--show", "--max-frames", "2", "--no-progress"],
            ["posekit: warning: no live window, running headless: "],
            ["INFO", "posekit: info:"],
        ),
        (
            ["posekit", "run", str(VIDEO), "--max-frames", "2", "--no-progress", "-vv"],
            ["posekit: debug: "],
            ["INFO", "DEBUG"],
        ),
        (
            ["posekit-squats", str(VIDEO), "--max-frames", "2", "--no-progress"],
            ["posekit-squats: warning: no live window, running headless: "],
            ["INFO", "posekit-squats: info:"],
        ),
    ],
    ids=["run-warning", "run-debug", "squats-warning"],
)
def test_cli_log_lines(home: Path, argv: list[str], expected: list[str], absent: list[str]) -> None:
    proc = cli(argv, home)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    for text in expected:
        assert any(line.startswith(text) for line in lines), proc.stderr
    for text in absent:
        assert text not in proc.stderr, proc.stderr
    prog = argv[0]
    for line in lines:  # every log line in the one format (models install lines included)
        assert line.startswith(f"{prog}: "), line


# ---------------------------------------------------------------------------------- images
def _photo(folder: Path, name: str) -> Path:
    path = folder / name
    img = np.full((64, 48, 3), 200, np.uint8)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    path.write_bytes(data.tobytes())  # a JPEG whatever the file name says
    return path


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["posekit-squats", "{photo}", "--no-show"], 2, "photo.jpg is a still image"),
        (["posekit-squats", "{renamed}", "--no-show"], 2, "shot.dat is a still image"),
        (["posekit", "run", "{photo}", "--count", "squat"], 2, "photo.jpg is a still image"),
        (["posekit", "run", "{photo}", "--jsonl", "{out}", "--no-progress"], 0, None),
    ],
    ids=["squats-jpg", "squats-jpeg-named-dat", "run-count", "run-track-a-photo"],
)
def test_a_photo_given_to_a_video_command(
    home: Path, tmp_path: Path, argv: list[str], code: int, message: str | None
) -> None:
    paths = {
        "photo": str(_photo(tmp_path, "photo.jpg")),
        "renamed": str(_photo(tmp_path, "shot.dat")),
        "out": str(tmp_path / "pose.jsonl"),
    }
    proc = cli([a.format(**paths) for a in argv], home)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    if message is not None:
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith(f"{argv[0]}: error: ") and message in line
        assert "video file or a camera index" in line
    else:
        assert len((tmp_path / "pose.jsonl").read_text().splitlines()) == 1


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: str(_photo(d, "a.JPG")), True),
        (lambda d: str(_photo(d, "a.bin")), True),
        (lambda d: str(VIDEO), False),
        (lambda d: str(d / "missing.jpg"), False),
        (lambda d: 0, False),
        (lambda d: "rtsp://camera/stream.jpg", False),
    ],
    ids=["jpg", "sniffed", "video", "missing", "camera", "url"],
)
def test_image_file(tmp_path: Path, make: Any, expected: bool) -> None:
    assert image_file(make(tmp_path)) is expected


# ---------------------------------------------------------------------------------- examples
@pytest.mark.parametrize(
    ("script", "args", "code", "message"),
    [
        ("webcam_quickstart.py", ["97"], 1, "quickstart: camera index 97 cannot be opened"),
        ("webcam_quickstart.py", ["nope.mp4"], 1, "quickstart: video file 'nope.mp4'"),
        ("calf_raise_counter.py", ["nope.mp4"], 2, "calf_raise_counter: error: video file"),
        ("train_yoga_classifier.py", ["nope"], 2, "train_yoga_classifier: error: training"),
        ("sign_language_recorder.py", ["97"], 2, "sign_language_recorder: error: camera"),
    ],
    ids=["quickstart-no-camera", "quickstart-no-file", "calf", "yoga", "sign"],
)
def test_examples_end_in_one_line_not_a_traceback(
    home: Path, tmp_path: Path, script: str, args: list[str], code: int, message: str
) -> None:
    proc = cli(["python", str(EXAMPLES / script), *args], home, cwd=tmp_path)
    assert proc.returncode == code, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith(message), proc.stderr


def test_quickstart_on_a_video_says_why_there_is_no_window(home: Path, tmp_path: Path) -> None:
    proc = cli(["python", str(EXAMPLES / "webcam_quickstart.py"), str(VIDEO)], home, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "no live window, running headless: " in proc.stderr
    assert len(proc.stdout.splitlines()) == 110


# ---------------------------------------------------------------------------------- overlays
def _knee_pose(knee: float, size: int = 720) -> Pose:
    """A pose whose image knee angle is ``knee`` degrees (hip above the knee)."""
    xy = np.full((33, 2), size / 2, np.float32)
    rad = np.radians(knee)
    for hip, kn, ankle, x in ((23, 25, 27, size * 0.45), (24, 26, 28, size * 0.5)):
        xy[hip] = (x, size * 0.35)
        xy[kn] = (x, size * 0.55)
        xy[ankle] = (x + np.sin(rad) * size * 0.2, size * 0.55 - np.cos(rad) * size * 0.2)
    return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)


def _gauge_frame(value: float | None, background: int = 255) -> tuple[np.ndarray, Any]:
    counter = make_counter("squat")
    overlay = _Overlay(EXERCISES["squat"], counter.up, counter.down, counter.rest)
    frame = np.full((720, 1280, 3), background, np.uint8)
    overlay._gauge(frame, value)
    return frame, overlay


def _fill(frame: np.ndarray) -> int:
    """Pixels of the gauge column coloured (not grey): the fill."""
    col = frame[:, 1250 - 11, :].astype(int)  # the bar's middle column (x1 = w - 30, width 22)
    return int(((col.max(axis=1) - col.min(axis=1)) > 60).sum())


@pytest.mark.parametrize(
    ("shallow", "deep"),
    [(170.0, 130.0), (130.0, 105.0), (105.0, 90.0)],
)
def test_gauge_fills_as_the_squat_deepens(shallow: float, deep: float) -> None:
    a, _ = _gauge_frame(shallow, background=128)
    b, _ = _gauge_frame(deep, background=128)
    assert _fill(b) > _fill(a) > 0


def test_gauge_has_a_title_and_dark_backed_labels_on_white() -> None:
    frame, overlay = _gauge_frame(120.0)
    top = round(720 * 0.25)
    above = frame[top - 40 : top - 2, 1150:1260]
    assert (above < 128).mean() > 0.3  # the title "knee angle" on its dark box
    for deg in (overlay.up, overlay.down, overlay.preset.target):
        y = round(top + (180.0 - deg) / 150.0 * (round(720 * 0.85) - top))
        left = frame[y - 8 : y + 8, 1090:1215]  # the tick label left of the bar
        assert (left < 128).mean() > 0.4, deg  # dark box, light text: readable on white


def test_angle_labels_are_readable_on_white() -> None:
    frame = np.full((720, 720, 3), 255, np.uint8)
    AngleAnnotator(["left_knee"]).annotate(frame, _knee_pose(95.0))
    changed = np.argwhere((frame != 255).any(axis=2))
    (y0, x0), (y1, x1) = changed.min(axis=0), changed.max(axis=0)
    box = frame[y0 : y1 + 1, x0 : x1 + 1]
    assert (box.max(axis=2) < 128).mean() > 0.5  # a dark backing box, not a thin outline


@pytest.mark.parametrize(
    ("background", "color"),
    [(255, (255, 255, 255)), (0, (255, 255, 255)), (255, (80, 220, 80))],
)
def test_put_label_contrasts_with_any_background(background: int, color: tuple[int, ...]) -> None:
    frame = np.full((80, 300, 3), background, np.uint8)
    put_label(frame, "standing 145", (20, 50), color=color, scale=0.8)  # type: ignore[arg-type]
    region = frame[30:56, 20:180].max(axis=2).astype(int)
    assert region.max() - region.min() > 150


# ---------------------------------------------------------------------------------- phases
def _phase_texts(counter: RepCounter, knees: list[float]) -> list[str]:
    words = []
    for i, k in enumerate(knees):
        text = counter.feed(k, i / 25, i).phase_text
        if not words or words[-1] != text:
            words.append(text)
    return words


def test_one_phase_vocabulary_across_the_clis() -> None:
    for exercise in EXERCISES:
        assert make_counter(exercise).words == EXERCISES[exercise].words
    knees = [170.0] * 10 + list(np.linspace(170, 90, 25)) + [90.0] * 5
    knees += list(np.linspace(90, 170, 25)) + [170.0] * 10
    assert _phase_texts(make_counter("squat"), knees) == [
        "get in position", "standing", "going down", "bottom", "coming up", "standing",
    ]  # fmt: skip


def test_run_overlay_says_the_squats_words() -> None:
    overlay = build_overlay(RunOptions(count="squat"), "squats")
    (panel,) = [a for a in overlay.annotators if isinstance(a, TextPanel)]
    counter = make_counter("squat")
    for i, knee in enumerate([170.0] * 5 + [90.0] * 5):
        state = counter.feed(knee, i / 25, i)
    result = SimpleNamespace(index=9, timestamp=0.36, state=None, results={"squats": state})
    assert panel.lines is not None
    assert panel.lines(result)[1] == "squats: 0  bottom"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (None, ["get in position", "at rest", "leaving rest", "turning point", "returning"]),
        (PhaseWords("up", "down", "low", "rise"), ["get in position", "up", "down", "low", "rise"]),
        (("up", "down"), InputError),
    ],
)
def test_phase_words_of_a_custom_counter(words: Any, expected: list[str] | type) -> None:
    if isinstance(expected, type):
        with pytest.raises(expected):
            RepCounter("knee", up=150, down=110, words=words)
        return
    c = RepCounter("knee", up=150, down=110, words=words, debounce=0)
    got = [c.feed(v, i * 0.1, i).phase_text for i, v in enumerate([None, 170, 130, 90, 130])]
    assert got == expected
    assert c.feed(170.0, 0.5).phase is Phase.REST  # the machine names stay as they were


# ---------------------------------------------------------------------------------- yoga
@pytest.fixture(scope="module")
def half_trained(tmp_path_factory: pytest.TempPathFactory, home: Path) -> tuple[Path, int]:
    """A classifier fit on 3 of the 4 images of each yoga class (the 4th is unseen)."""
    root = tmp_path_factory.mktemp("yoga-train")
    n = 0
    for class_dir in sorted(p for p in YOGA.iterdir() if p.is_dir()):
        (root / class_dir.name).mkdir()
        for img in sorted(class_dir.iterdir())[:3]:
            shutil.copy(img, root / class_dir.name / img.name)
            n += 1
    out = root.parent / "half.npz"
    proc = cli(["posekit", "yoga", "fit", str(root), "--out", str(out), "--no-validate"], home)
    assert proc.returncode == 0, proc.stderr
    return out, n


def _strip_fingerprints(src: Path, dst: Path) -> Path:
    with np.load(src) as data:
        arrays = {k: data[k] for k in data.files if k != "sha256"}
    np.savez_compressed(dst, **arrays)  # as an older posekit wrote it
    return dst


@pytest.mark.parametrize("old_file", [False, True], ids=["fingerprints", "older-file"])
def test_yoga_predict_tells_training_images_apart(
    home: Path, tmp_path: Path, half_trained: tuple[Path, int], old_file: bool
) -> None:
    model, n_train = half_trained
    if old_file:
        model = _strip_fingerprints(model, tmp_path / "old.npz")
        assert set(PoseClassifier.load(model).sha256) == {""}
    out = tmp_path / "p.json"
    proc = cli(["posekit", "yoga", "predict", str(model), str(YOGA), "--json", str(out)], home)
    assert proc.returncode == 0, proc.stderr
    preds = json.loads(out.read_text())
    clf = PoseClassifier.load(model)
    trained = {Path(p["path"]).relative_to(YOGA).as_posix() for p in preds if p["in_training"]}
    assert trained == set(clf.names) and len(trained) <= n_train
    (warning,) = [line for line in proc.stderr.splitlines() if "training images" in line]
    assert warning.startswith(f"posekit: warning: {len(trained)} of the ")
    unseen = [p for p in preds if not p["in_training"]]
    right = sum(p["label"] == p["truth"] for p in unseen)
    assert f"{right}/{len(unseen)} " in proc.stdout.split("accuracy: ")[1]
    assert f"on the {len(unseen)} not used for training" in proc.stdout


@pytest.mark.parametrize(
    ("sha256", "expected"),
    [
        (None, ("", "")),
        (["AB" * 32, ""], ("ab" * 32, "")),
        (["ab" * 32], InputError),
        (["xyz", ""], InputError),
    ],
    ids=["none", "kept-lowercase", "wrong-length", "not-hex"],
)
def test_classifier_keeps_fingerprints(
    tmp_path: Path, sha256: list[str] | None, expected: tuple[str, ...] | type
) -> None:
    lm = np.random.default_rng(0).normal(size=(2, 33, 3)).astype(np.float32)
    if isinstance(expected, type):
        with pytest.raises(expected):
            PoseClassifier(lm, ["a", "b"], sha256=sha256)
        return
    clf = PoseClassifier(lm, ["a", "b"], sha256=sha256)
    for name in ("c.npz", "c.json"):
        assert PoseClassifier.load(clf.save(tmp_path / name)).sha256 == expected


def test_file_sha256(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"abc")
    digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert file_sha256(tmp_path / "x") == digest and file_sha256(tmp_path / "y") == ""
