"""Issue #14 items 1, 2 and 12 (outputs) and issue #15 item 6 (video codec, files printed).

* An output that names an input (same path, ``..`` in the path, a symbolic link, a hard link)
  is refused with one line and exit 2 by every command and output flag, and the input's sha256
  is unchanged; two outputs that are one file are refused likewise.
* Outputs are atomic: on a full disk (a small tmpfs) every command fails with one line naming
  the output, leaves no partial or temporary file and keeps what the path held before.
* Ctrl-C: exit 130 in every command, the summary of what was done, outputs that agree on the
  frame count, no worker traceback with ``--jobs``.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA, MODELS_SRC

from posekit.analyzers.base import OfflineFrame
from posekit.cli import main as posekit_main
from posekit.cli.run_cmd import StopOnInterrupt
from posekit.errors import InputError, OutputError
from posekit.outputs import AtomicOutput, check_outputs, write_text_atomic
from posekit.sinks import (
    CsvSink,
    JsonlSink,
    VideoSink,
    can_write_h264,
    close_sinks,
)
from posekit_apps.squats import main as squats_main

VIDEO = DATA / "videos" / "squat_workouttracker_17.mp4"  # 110 frames, one person


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _synthetic_video(path: Path, frames: int = 6, size: int = 96) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 25.0, (size, size))
    for i in range(frames):
        img = np.zeros((size, size, 3), np.uint8)
        img[:, :, 0] = np.linspace(0, 255, size, dtype=np.uint8)[None, :]
        img[:, :, 1] = (40 * i) % 255
        writer.write(img)
    writer.release()
    return path


def _image(path: Path) -> Path:
    img = np.full((64, 64, 3), 200, np.uint8)
    cv2.rectangle(img, (10, 10), (50, 50), (20, 90, 160), -1)
    assert cv2.imwrite(str(path), img)
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with every kind of input the commands read; the current folder."""
    from posekit.analyzers.classifier import PoseClassifier

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(MODELS_SRC))
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    (tmp_path / "sub").mkdir()
    _synthetic_video(tmp_path / "in.avi")
    _synthetic_video(tmp_path / "b.avi", frames=4)
    for cls in ("tree", "warrior"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        _image(tmp_path / "imgs" / cls / "1.png")
    rng = np.random.default_rng(0)
    lm = rng.normal(100, 20, size=(4, 33, 3)).astype(np.float32)
    PoseClassifier(lm, ["tree", "tree", "warrior", "warrior"]).save(tmp_path / "model.npz")
    coco = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    return tmp_path


def _call(argv: list[str]) -> int:
    if argv[0] == "posekit-squats":
        return squats_main(argv[1:])
    return posekit_main(argv[1:])


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


# ----------------------------------------------------------------------------- item 1
# (command with {out} where the output goes, the input it must not overwrite, the name a link to
# the input gets: it needs the extension the output option accepts)
COMMANDS: list[tuple[str, list[str], str, str]] = [
    ("run --output", ["posekit", "run", "in.avi", "--output", "{out}"], "in.avi", "l.avi"),
    ("run --jsonl", ["posekit", "run", "in.avi", "--jsonl", "{out}"], "in.avi", "l.jsonl"),
    ("run --csv", ["posekit", "run", "in.avi", "--csv", "{out}"], "in.avi", "l.csv"),
    (
        "run --jobs {stem}",
        ["posekit", "run", "b.avi", "in.avi", "--jobs", "2", "--output", "{out}"],
        "in.avi",
        "",
    ),
    (
        "squats --output",
        ["posekit-squats", "in.avi", "--no-show", "-o", "{out}"],
        "in.avi",
        "l.avi",
    ),
    (
        "squats --json",
        ["posekit-squats", "in.avi", "--no-show", "--json", "{out}"],
        "in.avi",
        "l.js",
    ),
    (
        "squats --plot",
        ["posekit-squats", "in.avi", "--no-show", "--plot", "{out}"],
        "in.avi",
        "l.png",
    ),
    (
        "yoga fit --out",
        ["posekit", "yoga", "fit", "imgs", "--out", "{out}"],
        "imgs/tree/1.png",
        "l.npz",
    ),
    (
        "yoga predict --json (model)",
        ["posekit", "yoga", "predict", "model.npz", "imgs", "--json", "{out}"],
        "model.npz",
        "l.json",
    ),
    (
        "yoga predict --json (image)",
        ["posekit", "yoga", "predict", "model.npz", "imgs", "--json", "{out}"],
        "imgs/warrior/1.png",
        "l.json",
    ),
    (
        "yoga predict --output",
        ["posekit", "yoga", "predict", "model.npz", "in.avi", "--no-show", "-o", "{out}"],
        "in.avi",
        "l.avi",
    ),
    (
        "eval --json",
        ["posekit", "eval", "--coco", "ann.json", "--images", "imgs", "--json", "{out}"],
        "ann.json",
        "l.json",
    ),
]


KINDS = ["same path", "..", "absolute", "symlink", "hard link"]


def _as_output(kind: str, victim: str, link_name: str, work: Path) -> str:
    """An output path that names ``victim``, spelled as ``kind`` says."""
    if kind == "same path":
        return victim
    if kind == "..":
        return f"sub/../{victim}"
    if kind == "absolute":
        return str(work / victim)
    if kind == "symlink":
        (work / link_name).symlink_to(work / victim)
    else:
        os.link(work / victim, work / link_name)
    return link_name


# every command x output option x way of naming the input (links need a name the option takes;
# a {stem} template cannot spell a link)
DATA_LOSS = [
    pytest.param(argv, victim, link_name, kind, id=f"{name}-{kind}")
    for name, argv, victim, link_name in COMMANDS
    for kind in KINDS
    if link_name or kind not in ("symlink", "hard link")
]


@pytest.mark.parametrize(("argv", "victim", "link_name", "kind"), DATA_LOSS)
def test_an_output_that_names_an_input_is_refused(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    victim: str,
    link_name: str,
    kind: str,
) -> None:
    if "{stem}" in " ".join(argv) or "--jobs" in argv:
        out = {"same path": "{stem}.avi", "..": "sub/../{stem}.avi"}.get(
            kind, str(workdir / "{stem}.avi")
        )
    else:
        out = _as_output(kind, victim, link_name, workdir)
    before = sha256(workdir / victim)
    code = _call([a.replace("{out}", out) for a in argv])
    err = capsys.readouterr().err
    assert sha256(workdir / victim) == before, "the input was overwritten"
    assert code == 2, err
    (line,) = _errors(err)
    assert "is the same file as the input" in line and "choose another output path" in line
    assert "Traceback" not in err
    assert not list(workdir.glob(".*.part*")), "a temporary file was left behind"


TWO_OUTPUTS = [
    (
        ["posekit", "run", "in.avi", "--jsonl", "x.txt", "--csv", "x.txt"],
        "--jsonl x.txt and --csv x.txt",
    ),
    (
        ["posekit", "run", "in.avi", "--jsonl", "x.txt", "--csv", "./sub/../x.txt"],
        "--csv ./sub/../x.txt",
    ),
    (["posekit", "run", "in.avi", "--jsonl", "p.jsonl", "--csv", "p.schema.json"], "schema file"),
    (
        ["posekit", "run", "in.avi", "-o", "v.avi", "--csv", "v.avi"],
        "--output v.avi and --csv v.avi",
    ),
    (["posekit", "run", "in.avi", "b.avi", "--jsonl", "{stem}.t", "--csv", "{stem}.t"], "in.t"),
    (
        ["posekit-squats", "in.avi", "--no-show", "--json", "s.png", "--plot", "s.png"],
        "--plot s.png",
    ),
    (
        ["posekit", "yoga", "predict", "model.npz", "in.avi", "-o", "v.avi", "--json", "v.avi"],
        "--json v.avi",
    ),
]


@pytest.mark.parametrize(("argv", "names"), TWO_OUTPUTS, ids=range(len(TWO_OUTPUTS)))
@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_two_outputs_that_are_one_file_are_refused(
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    names: str,
    existing: bool,
) -> None:
    if existing:
        for a in argv:
            if a.endswith((".txt", ".json", ".png", ".t")) or a == "v.avi":
                with contextlib.suppress(OSError):
                    (workdir / a.replace("{stem}", "in")).write_text("earlier\n")
    code = _call(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = _errors(err)
    assert "are the same file: give each output its own path" in line and names in line


def _touch(p: Path) -> Path:
    p.write_text("x")
    return p


CHECKS: list[tuple[str, Callable[[Path], tuple[list[Any], list[tuple[str, Any]]]], str | None]] = [
    ("new output", lambda d: ([_touch(d / "a")], [("--csv", d / "b")]), None),
    ("existing other file", lambda d: ([_touch(d / "a")], [("--csv", _touch(d / "b"))]), None),
    ("missing input (a URL)", lambda d: (["http://x/a.mp4"], [("--csv", d / "a.mp4")]), None),
    ("same path", lambda d: ([_touch(d / "a")], [("--csv", d / "a")]), "same file as the input"),
    (
        "case of . and ..",
        lambda d: ([_touch(d / "a")], [("--csv", d / "." / "sub" / ".." / "a")]),
        "same file as the input",
    ),
    (
        "file in an input folder",
        lambda d: ([d], [("--csv", _touch(d / "x.png"))]),
        "same file as the input",
    ),
    (
        "other extension in an input folder",
        lambda d: ([d], [("--json", _touch(d / "x.json"))]),
        None,
    ),
    (
        "two new outputs",
        lambda d: ([], [("--a", d / "o"), ("--b", d / "sub" / ".." / "o")]),
        "are the same file",
    ),
    ("two outputs, one None", lambda d: ([], [("--a", d / "o"), ("--b", None)]), None),
]


@pytest.mark.parametrize(("case", "make", "expected"), CHECKS, ids=[c[0] for c in CHECKS])
def test_check_outputs(tmp_path: Path, case: str, make: Any, expected: str | None) -> None:
    (tmp_path / "sub").mkdir()
    inputs, outputs = make(tmp_path)
    if expected is None:
        check_outputs(inputs, outputs, folder_suffixes=(".png",))
    else:
        with pytest.raises(InputError, match=expected):
            check_outputs(inputs, outputs, folder_suffixes=(".png",))


# ----------------------------------------------------------------------------- item 2
def _fill(folder: Path) -> None:
    """Fill the file system of ``folder`` to the last byte."""
    with (folder / "filler").open("wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * chunk)


@pytest.fixture
def full_disk(workdir: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs in the work folder, filled up (an old file ``old.txt`` on it first)."""
    mount = workdir / "full"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {proc.stderr.strip()}")
    try:
        for name in ("old.txt", "old.avi", "old.mp4", "old.png", "old.npz"):
            (mount / name).write_text("what was there before\n")
        _fill(mount)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


FULL: list[tuple[str, list[str]]] = [
    ("run --output", ["posekit", "run", "in.avi", "-o", "{out}.avi"]),
    ("run --output mp4", ["posekit", "run", "in.avi", "-o", "{out}.mp4"]),
    ("run --jsonl", ["posekit", "run", "in.avi", "--jsonl", "{out}.txt"]),
    ("run --csv", ["posekit", "run", "in.avi", "--csv", "{out}.txt"]),
    ("run --jobs", ["posekit", "run", "in.avi", "b.avi", "--jobs", "2", "--csv", "{out}.txt"]),
    ("squats --output", ["posekit-squats", "in.avi", "--no-show", "-o", "{out}.avi"]),
    ("squats --output mp4", ["posekit-squats", "in.avi", "--no-show", "-o", "{out}.mp4"]),
    ("squats --json", ["posekit-squats", "in.avi", "--no-show", "--json", "{out}.txt"]),
    ("squats --plot", ["posekit-squats", "in.avi", "--no-show", "--plot", "{out}.png"]),
    (
        "yoga predict --json",
        ["posekit", "yoga", "predict", "model.npz", "imgs", "--json", "{out}.txt"],
    ),
]


@pytest.mark.parametrize("target", ["new", "old"], ids=["new-file", "replacing-a-file"])
@pytest.mark.parametrize(("name", "argv"), FULL, ids=[f[0] for f in FULL])
def test_a_full_disk_fails_in_one_line_and_leaves_nothing(
    full_disk: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    argv: list[str],
    target: str,
) -> None:
    stem = str(full_disk / target)
    before = {p.name: p.read_bytes() for p in full_disk.iterdir() if p.name != "filler"}
    code = _call([a.replace("{out}", stem) for a in argv])
    err = capsys.readouterr().err
    after = {p.name: p.read_bytes() for p in full_disk.iterdir() if p.name != "filler"}
    assert code == 2, err
    assert "Traceback" not in err
    lines = _errors(err)
    assert len(lines) == (2 if "--jobs" in argv else 1), err  # one line per failed output
    for line in lines:
        assert "was not written" in line and str(full_disk) in line, line
    assert after == before, "a partial or temporary file was left, or an old file changed"


def test_yoga_fit_on_a_full_disk(
    full_disk: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """yoga fit with poses found (the synthetic images hold no person: the extraction is
    replaced), saving over an old file on a full disk."""
    from posekit.analyzers import classifier

    rng = np.random.default_rng(1)
    found = classifier.FolderSamples(
        rng.normal(100, 20, size=(4, 33, 3)).astype(np.float32),
        ("a", "a", "b", "b"),
        ("1", "2", "3", "4"),
        (),
    )
    monkeypatch.setattr(classifier, "extract_folder_samples", lambda *a, **k: found)
    code = _call(["posekit", "yoga", "fit", "imgs", "--out", str(full_disk / "old.npz")])
    err = capsys.readouterr().err
    assert code == 2, err
    (line,) = _errors(err)
    assert "--out" in line and "was not written" in line
    assert (full_disk / "old.npz").read_text() == "what was there before\n"
    assert sorted(p.name for p in full_disk.iterdir()) == [
        "filler", "old.avi", "old.mp4", "old.npz", "old.png", "old.txt"
    ]  # fmt: skip


SINKS: list[tuple[str, Callable[[Path], Any]]] = [
    ("jsonl", lambda d: JsonlSink(d / "o.jsonl", schema=True)),
    ("csv", lambda d: CsvSink(d / "o.csv")),
]


@pytest.mark.parametrize(("kind", "make"), SINKS, ids=[s[0] for s in SINKS])
@pytest.mark.parametrize(
    ("exc", "kept"),
    [(None, True), (KeyboardInterrupt, True), (RuntimeError, False)],
    ids=["ok", "ctrl-c", "error"],
)
def test_sinks_publish_only_complete_files(
    tmp_path: Path, kind: str, make: Any, exc: type[BaseException] | None, kept: bool
) -> None:
    frame = OfflineFrame(pose=None, timestamp=0.0, index=0)
    with contextlib.suppress(KeyboardInterrupt, RuntimeError), make(tmp_path) as sink:
        sink.write(frame)
        assert not sink.path.exists(), "the target holds a file that is still being written"
        if exc is not None:
            raise exc
    names = sorted(p.name for p in tmp_path.iterdir())
    if kept:
        assert sink.path.is_file() and sink.path.read_text().count("\n") == 1 + (kind == "csv")
        assert not [n for n in names if n.startswith(".")]
    else:
        assert names == [], names


def test_a_write_error_mid_run_is_one_output_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = JsonlSink(tmp_path / "o.jsonl")
    assert sink._file is not None

    def full(_text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sink._file, "write", full)
    with pytest.raises(OutputError, match=r"--jsonl .*o.jsonl was not written: No space left"):
        sink.write(OfflineFrame(pose=None, timestamp=0.0, index=0))
    assert list(tmp_path.iterdir()) == []


def test_close_sinks_is_all_or_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import posekit.sinks as sinks_mod

    monkeypatch.setattr(sinks_mod, "_check_video", lambda path, frames: "the video is broken")
    video = VideoSink(tmp_path / "v.avi")
    video.write_image(np.zeros((32, 32, 3), np.uint8))
    jsonl = JsonlSink(tmp_path / "p.jsonl")
    jsonl.write(OfflineFrame(pose=None, timestamp=0.0, index=0))
    with pytest.raises(OutputError, match=r"--output .*v\.avi was not written: the video"):
        close_sinks([jsonl, video])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("write", "error"),
    [(lambda p: p.write_text("ok"), None), (lambda p: False, "the encoder wrote nothing")],
    ids=["ok", "encoder-failed"],
)
def test_atomic_output_keeps_the_old_file_until_complete(
    tmp_path: Path, write: Any, error: str | None
) -> None:
    from posekit.outputs import write_atomic

    target = tmp_path / "t.png"
    target.write_text("old")
    if error is None:
        write_atomic(target, "--plot", write).commit()
        assert target.read_text() == "ok"
    else:
        with pytest.raises(OutputError, match=error):
            write_atomic(target, "--plot", write)
        assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.png"]


def test_atomic_output_writes_through_a_symlink_and_keeps_the_mode(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("old")
    real.chmod(0o640)
    (tmp_path / "link.txt").symlink_to(real)
    write_text_atomic(tmp_path / "link.txt", "new", "--json")
    assert (tmp_path / "link.txt").is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640
    with AtomicOutput(tmp_path / "fresh.txt", "--json") as out:
        assert out.temp is not None
        out.temp.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "fresh.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_the_video_check_catches_a_truncated_video(tmp_path: Path) -> None:
    from posekit.sinks import _check_video

    path = _synthetic_video(tmp_path / "v.avi", frames=6)
    assert _check_video(path, 6) is None
    assert _check_video(path, 7) == "the finished video holds 6 of 7 frames"
    data = path.read_bytes()
    mp4 = tmp_path / "v.mp4"
    w = cv2.VideoWriter(str(mp4), cv2.VideoWriter.fourcc(*"mp4v"), 25.0, (64, 64))
    for _ in range(5):
        w.write(np.zeros((64, 64, 3), np.uint8))
    w.release()
    mp4.write_bytes(mp4.read_bytes()[: len(mp4.read_bytes()) // 2])  # no moov atom
    assert _check_video(mp4, 5) is not None
    path.write_bytes(b"")
    assert _check_video(path, 6) == "the video file is empty"
    assert data


# ----------------------------------------------------------------------------- issue 15 item 6
def test_mp4_is_h264_where_opencv_can_and_says_so_otherwise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import posekit.sinks as sinks_mod

    monkeypatch.setattr(sinks_mod, "_warned_no_h264", False)
    with caplog.at_level(logging.WARNING, logger="posekit.sinks"):
        for name in ("a.mp4", "b.mp4"):
            sink = VideoSink(tmp_path / name, 25.0)
            for _ in range(3):
                sink.write_image(np.zeros((64, 64, 3), np.uint8))
            sink.close()
    cap = cv2.VideoCapture(str(tmp_path / "a.mp4"))
    fourcc = (int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF).to_bytes(4, "little").decode()
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 3
    cap.release()
    warnings = [r.getMessage() for r in caplog.records]
    if can_write_h264():
        assert fourcc in ("avc1", "h264", "H264") and warnings == []
    else:
        assert fourcc == "FMP4"
        (line,) = warnings  # one line, once per process
        assert "MPEG-4 Part 2 (mp4v)" in line and "H.264" in line and "libx264" in line


def test_squats_prints_every_file_it_wrote(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = squats_main(
        [
            "in.avi",
            "--no-show",
            "--no-progress",
            "-o",
            "v.avi",
            "--json",
            "s.json",
            "--plot",
            "p.png",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    wrote = [line for line in out.splitlines() if line.startswith("wrote ")]
    assert wrote == [
        "wrote annotated video v.avi (6 frames, Motion JPEG (MJPG))",
        "wrote summary s.json",
        "wrote plot p.png",
    ]
    assert json.loads(Path("s.json").read_text())["frames"] == 6


# ----------------------------------------------------------------------------- item 12
def test_stop_on_interrupt() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with StopOnInterrupt() as stop:
        os.kill(os.getpid(), signal.SIGINT)  # first: a request
        assert stop.requested and stop.stop_requested()
        stop.writing = True
        os.kill(os.getpid(), signal.SIGINT)  # second, while writing: deferred
        with pytest.raises(KeyboardInterrupt):
            stop.done_writing()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)  # second, not writing: at once
            time.sleep(1)
    assert signal.getsignal(signal.SIGINT) is previous


def _interrupt(
    argv: list[str], cwd: Path, wait_for: str, timeout: float = 240
) -> tuple[int, str, str]:
    """Start a console command in a new process group, press Ctrl-C (SIGINT to the group, as a
    terminal does) when ``wait_for`` (a progress line) appears on stderr; (code, out, err)."""
    module = {"posekit": "posekit", "posekit-squats": "posekit_apps.squats"}[argv[0]]
    env = {**os.environ, "POSEKIT_MODEL_SOURCE": str(MODELS_SRC)}
    env.pop("DISPLAY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv[1:]],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    err_lines = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        err_lines.append(line)
        if wait_for in line:
            os.killpg(proc.pid, signal.SIGINT)
            break
        assert time.monotonic() < deadline, "no progress"
    out, rest = proc.communicate(timeout=timeout)
    return proc.returncode, out, "".join(err_lines) + rest


def _frames(video: Path) -> int:
    cap = cv2.VideoCapture(str(video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


@pytest.mark.parametrize(
    ("argv", "wait_for"),
    [
        (
            ["posekit", "run", str(VIDEO), "-o", "v.avi", "--jsonl", "p.jsonl", "--csv", "p.csv"],
            " %) ",
        ),
        (["posekit-squats", str(VIDEO), "--no-show", "-o", "v.avi", "--json", "p.json"], " %) "),
    ],
    ids=["run", "squats"],
)
def test_ctrl_c_exits_130_with_outputs_that_agree(
    tmp_path: Path, argv: list[str], wait_for: str
) -> None:
    code, out, err = _interrupt(argv, tmp_path, wait_for)
    assert code == 130, err
    assert "Traceback" not in err and "interrupted" in err
    n = _frames(tmp_path / "v.avi")
    assert 0 < n < 110
    if argv[0] == "posekit":
        assert f"{n} frames" in out and "[interrupted]" in out
        assert len((tmp_path / "p.jsonl").read_text().splitlines()) == n
        assert len((tmp_path / "p.csv").read_text().splitlines()) == n + 1
    else:
        summary = json.loads((tmp_path / "p.json").read_text())
        assert summary["interrupted"] is True and summary["frames"] == n
        assert "(stopped early)" in out and "wrote annotated video v.avi" in out


def test_ctrl_c_with_jobs_prints_the_summaries_and_no_traceback(tmp_path: Path) -> None:
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / name).symlink_to(VIDEO)
    code, out, err = _interrupt(
        [
            "posekit",
            "run",
            "a.mp4",
            "b.mp4",
            "--jobs",
            "2",
            "--jsonl",
            "{stem}.jsonl",
            "-o",
            "{stem}.avi",
        ],
        tmp_path,
        " %) ",
    )
    assert code == 130, err
    assert "Traceback" not in err, err
    assert "posekit: interrupted" in err
    for stem in ("a", "b"):
        (line,) = [s for s in out.splitlines() if s.startswith(f"{stem}.mp4: ")]
        n = _frames(tmp_path / f"{stem}.avi")
        assert f"{n} frames" in line
        assert len((tmp_path / f"{stem}.jsonl").read_text().splitlines()) == n
    assert "total: 2 inputs" in out
