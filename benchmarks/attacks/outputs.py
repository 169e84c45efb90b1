"""Attacks on what posekit commands write (issue #14 items 1, 2 and 12).

* ``1 output overwrites input``: an output option that names an input (the same path, ``..``,
  a symbolic or a hard link, a ``{stem}`` template with ``--jobs``) or another output; the
  input's sha256 must not change and the command must refuse in one line with exit 2.
* ``2 atomic outputs``: outputs on a full disk (a small tmpfs, needs root): one line naming the
  output, exit non-zero, no partial or temporary file, an old file at the path left intact.
* ``12 interrupt``: Ctrl-C (SIGINT to the process group, as a terminal sends it) in
  ``posekit run``, ``posekit run --jobs 2`` and ``posekit-squats``: exit 130, no traceback, the
  summary printed, the video and the JSONL/CSV holding the same frames.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from attacks import SHARED, Attack, cli, one_line_error, sha256

VIDEO = SHARED / "data" / "videos" / "squat_workouttracker_17.mp4"  # 110 frames, one person
ENV = {"POSEKIT_MODEL_SOURCE": str(SHARED / "models-src")}


def _video(path: Path, frames: int = 8) -> Path:
    """A small synthetic video (no person): enough for a command to run and write."""
    import cv2
    import numpy as np

    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 25.0, (96, 96))
    for i in range(frames):
        w.write(np.full((96, 96, 3), (30 * i) % 255, np.uint8))
    w.release()
    return path


def _refused(
    tmp: Path, args: Callable[[Path], list[str]], victim: str, must: str = "same file"
) -> str:
    """Run ``args(tmp)`` in ``tmp``; the file ``victim`` must be unchanged and the command must
    refuse in one line containing ``must``."""
    _video(tmp / "in.mp4")
    _video(tmp / "b.mp4", 4)
    (tmp / "sub").mkdir()
    argv = args(tmp)  # prepares the victims and links
    target = tmp / victim
    if not target.exists():
        target.write_text("precious\n")
    before = sha256(target)
    proc = cli(argv, cwd=tmp, env=ENV)
    assert sha256(target) == before, f"{victim} was overwritten (exit {proc.returncode})"
    outcome = one_line_error(proc)
    assert must in outcome, outcome
    return f"refused, {victim} intact: {outcome}"


def _link(kind: str, src: str, name: str) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        if kind == "symlink":
            (tmp / name).symlink_to(tmp / src)
        else:
            os.link(tmp / src, tmp / name)
        return name

    return make


def _with(
    make: Callable[[Path], str], argv: Callable[[str], list[str]]
) -> Callable[[Path], list[str]]:
    def args(tmp: Path) -> list[str]:
        return argv(make(tmp))

    return args


def _same(path: str) -> Callable[[Path], str]:
    return lambda tmp: path


def _models(tmp: Path) -> None:
    """A classifier and a COCO file to be victims (yoga predict, eval)."""
    import numpy as np

    from posekit.analyzers.classifier import PoseClassifier

    (tmp / "imgs" / "a").mkdir(parents=True)
    import cv2

    cv2.imwrite(str(tmp / "imgs" / "a" / "1.png"), np.full((64, 64, 3), 128, np.uint8))
    lm = np.random.default_rng(0).normal(100, 20, size=(4, 33, 3)).astype(np.float32)
    PoseClassifier(lm, ["a", "a", "b", "b"]).save(tmp / "m.npz")
    (tmp / "ann.json").write_text(json.dumps({"images": [], "annotations": [], "categories": []}))


def _prepared(
    prepare: Callable[[Path], None], args: Callable[[Path], list[str]]
) -> Callable[[Path], list[str]]:
    def run(tmp: Path) -> list[str]:
        prepare(tmp)
        return args(tmp)

    return run


K1 = "1 output overwrites input"
RUN = ["posekit", "run", "in.mp4"]
SQUATS = ["posekit-squats", "in.mp4", "--no-show"]
ATTACKS: list[Attack] = [
    Attack(
        K1,
        "run in.mp4 --output in.mp4",
        lambda t: _refused(t, lambda d: [*RUN, "--output", "in.mp4"], "in.mp4"),
    ),
    Attack(
        K1,
        "run in.mp4 --jsonl in.mp4",
        lambda t: _refused(t, lambda d: [*RUN, "--jsonl", "in.mp4"], "in.mp4"),
    ),
    Attack(
        K1,
        "run in.mp4 --csv sub/../in.mp4",
        lambda t: _refused(t, lambda d: [*RUN, "--csv", "sub/../in.mp4"], "in.mp4"),
    ),
    Attack(
        K1,
        "run in.mp4 --output /abs/path/in.mp4",
        lambda t: _refused(t, lambda d: [*RUN, "-o", str(d / "in.mp4")], "in.mp4"),
    ),
    Attack(
        K1,
        "run --output a symlink to the input",
        lambda t: _refused(
            t, _with(_link("symlink", "in.mp4", "l.mp4"), lambda o: [*RUN, "-o", o]), "in.mp4"
        ),
    ),
    Attack(
        K1,
        "run --jsonl a hard link to the input",
        lambda t: _refused(
            t, _with(_link("hard", "in.mp4", "h.jsonl"), lambda o: [*RUN, "--jsonl", o]), "in.mp4"
        ),
    ),
    Attack(
        K1,
        "run a.mp4 b.mp4 --jobs 2 --output {stem}.mp4",
        lambda t: _refused(
            t,
            lambda d: [
                "posekit",
                "run",
                "in.mp4",
                "b.mp4",
                "--jobs",
                "2",
                "--output",
                "{stem}.mp4",
            ],
            "in.mp4",
        ),
    ),
    Attack(
        K1,
        "run x.mp4 out-x.mp4 --output out.mp4 (another job's input)",
        lambda t: _refused(
            t,
            _prepared(
                lambda d: _video(d / "out-in.mp4"),
                lambda d: ["posekit", "run", "in.mp4", "out-in.mp4", "--output", "out.mp4"],
            ),
            "out-in.mp4",
        ),
    ),
    Attack(
        K1,
        "posekit-squats in.mp4 --output in.mp4",
        lambda t: _refused(t, lambda d: [*SQUATS, "--output", "in.mp4"], "in.mp4"),
    ),
    Attack(
        K1,
        "posekit-squats --json a symlink to the input",
        lambda t: _refused(
            t,
            _with(_link("symlink", "in.mp4", "s.json"), lambda o: [*SQUATS, "--json", o]),
            "in.mp4",
        ),
    ),
    Attack(
        K1,
        "posekit-squats --plot a hard link to the input",
        lambda t: _refused(
            t, _with(_link("hard", "in.mp4", "p.png"), lambda o: [*SQUATS, "--plot", o]), "in.mp4"
        ),
    ),
    Attack(
        K1,
        "yoga fit --out a symlink to a training image",
        lambda t: _refused(
            t,
            _prepared(
                _models,
                _with(
                    _link("symlink", "imgs/a/1.png", "o.npz"),
                    lambda o: ["posekit", "yoga", "fit", "imgs", "--out", o],
                ),
            ),
            "imgs/a/1.png",
        ),
    ),
    Attack(
        K1,
        "yoga predict --json the classifier",
        lambda t: _refused(
            t,
            _prepared(
                _models,
                lambda d: ["posekit", "yoga", "predict", "m.npz", "imgs", "--json", "m.npz"],
            ),
            "m.npz",
        ),
    ),
    Attack(
        K1,
        "yoga predict --output the video",
        lambda t: _refused(
            t,
            _prepared(
                _models,
                lambda d: [
                    "posekit",
                    "yoga",
                    "predict",
                    "m.npz",
                    "in.mp4",
                    "--no-show",
                    "-o",
                    "./in.mp4",
                ],
            ),
            "in.mp4",
        ),
    ),
    Attack(
        K1,
        "eval --json the COCO annotations",
        lambda t: _refused(
            t,
            _prepared(
                _models,
                lambda d: [
                    "posekit",
                    "eval",
                    "--coco",
                    "ann.json",
                    "--images",
                    "imgs",
                    "--json",
                    "ann.json",
                ],
            ),
            "ann.json",
        ),
    ),
    Attack(
        K1,
        "run --jsonl x.txt --csv x.txt",
        lambda t: _refused(
            t, lambda d: [*RUN, "--jsonl", "x.txt", "--csv", "x.txt"], "x.txt", "are the same file"
        ),
    ),
    Attack(
        K1,
        "run --jsonl p.jsonl --csv p.schema.json",
        lambda t: _refused(
            t,
            lambda d: [*RUN, "--jsonl", "p.jsonl", "--csv", "p.schema.json"],
            "p.schema.json",
            "are the same file",
        ),
    ),
    Attack(
        K1,
        "posekit-squats --json x.png --plot x.png",
        lambda t: _refused(
            t,
            lambda d: [*SQUATS, "--json", "x.png", "--plot", "x.png"],
            "x.png",
            "are the same file",
        ),
    ),
]


# ----------------------------------------------------------------------------- 2 atomic
@contextlib.contextmanager
def _full_disk(tmp: Path, leave: int = 0) -> Iterator[Path | None]:
    """A 1 MiB tmpfs under ``tmp`` holding ``old.txt``, filled up but for ``leave`` bytes."""
    mount = tmp / "full"
    mount.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        yield None
        return
    try:
        (mount / "old.txt").write_text("kept\n")
        with (mount / "filler").open("wb", buffering=0) as f:
            if leave:
                f.write(b"\0" * ((1 << 20) - leave - 8192))
            for chunk in () if leave else (1 << 16, 1 << 12, 1 << 9, 1):
                with contextlib.suppress(OSError):
                    while True:
                        f.write(b"\0" * chunk)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _atomic(argv: Callable[[Path], list[str]], leave: int = 0) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        _video(tmp / "in.mp4")
        _video(tmp / "b.mp4", 4)
        with _full_disk(tmp, leave) as full:
            if full is None:
                return "not run: cannot mount a tmpfs here (needs root)"
            args = argv(full)
            proc = cli(args, cwd=tmp, env=ENV)
            left = sorted(p.name for p in full.iterdir())
            assert left == ["filler", "old.txt"], f"left on the full disk: {left}"
            assert (full / "old.txt").read_text() == "kept\n", "the old file changed"
            assert not (tmp / "ok.mp4").exists(), "an output of the failed run was published"
            err = proc.stderr.strip()
            assert proc.returncode != 0, f"exit 0 on a full disk: {proc.stdout[-200:]}"
            assert "Traceback" not in err, err[-300:]
            errors = [x for x in err.splitlines() if ": error: " in x]
            assert errors and all("was not written" in x for x in errors), err[-300:]
            return f"exit {proc.returncode}, nothing left: {errors[0][:110]}"

    return run


K2 = "2 atomic outputs"
ATTACKS += [
    Attack(
        K2,
        "run --output on a full disk (no moov atom)",
        _atomic(lambda f: [*RUN, "-o", str(f / "v.mp4")]),
    ),
    Attack(
        K2,
        "run --output: the disk fills up during the run",
        _atomic(lambda f: ["posekit", "run", str(VIDEO), "-o", str(f / "v.mp4")], 300_000),
    ),
    Attack(
        K2,
        "run --jsonl: the disk fills up during the run",
        _atomic(lambda f: ["posekit", "run", str(VIDEO), "--jsonl", str(f / "p.jsonl")], 60_000),
    ),
    Attack(
        K2, "run --output .avi on a full disk", _atomic(lambda f: [*RUN, "-o", str(f / "v.avi")])
    ),
    Attack(
        K2,
        "run --jsonl on a full disk (was an OSError traceback)",
        _atomic(lambda f: [*RUN, "--jsonl", str(f / "p.jsonl")]),
    ),
    Attack(
        K2,
        "run --csv over an old file on a full disk",
        _atomic(lambda f: [*RUN, "--csv", str(f / "old.txt")]),
    ),
    Attack(
        K2,
        "run --jobs 2 --csv on a full disk",
        _atomic(
            lambda f: [
                "posekit",
                "run",
                "in.mp4",
                "b.mp4",
                "--jobs",
                "2",
                "--csv",
                str(f / "{stem}.csv"),
            ]
        ),
    ),
    Attack(
        K2,
        "run: video fine, --csv on a full disk: neither published",
        _atomic(lambda f: [*RUN, "-o", "ok.mp4", "--csv", str(f / "p.csv")]),
    ),
    Attack(
        K2,
        "posekit-squats --output on a full disk",
        _atomic(lambda f: [*SQUATS, "-o", str(f / "v.mp4")]),
    ),
    Attack(
        K2,
        "posekit-squats --json on a full disk",
        _atomic(lambda f: [*SQUATS, "--json", str(f / "s.json")]),
    ),
    Attack(
        K2,
        "posekit-squats --plot on a full disk",
        _atomic(lambda f: [*SQUATS, "--plot", str(f / "p.png")]),
    ),
]


# ----------------------------------------------------------------------------- 12 interrupt
def _ctrl_c(argv: list[str], cwd: Path, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
    """Start a console command in its own process group and send SIGINT to the group (what a
    terminal's Ctrl-C does) at its first progress line (10 % or a little more)."""
    module = {"posekit": "posekit", "posekit-squats": "posekit_apps.squats"}[argv[0]]
    proc = subprocess.Popen(
        [sys.executable, "-m", module, *argv[1:]],
        cwd=cwd,
        env={**os.environ, **ENV},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stderr is not None
    seen = []
    deadline = time.monotonic() + timeout
    for line in proc.stderr:
        seen.append(line)
        if " %) " in line:  # the first progress line (10 % or a little more)
            os.killpg(proc.pid, signal.SIGINT)
            break
        assert time.monotonic() < deadline, "no progress"
    out, rest = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(argv, proc.returncode, out, "".join(seen) + rest)


def _frames(path: Path) -> int:
    import cv2

    cap = cv2.VideoCapture(str(path))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    return n


def _interrupt_run(tmp: Path) -> str:
    proc = _ctrl_c(
        ["posekit", "run", str(VIDEO), "-o", "v.mp4", "--jsonl", "p.jsonl", "--csv", "p.csv"], tmp
    )
    assert proc.returncode == 130, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    n = _frames(tmp / "v.mp4")
    jsonl = len((tmp / "p.jsonl").read_text().splitlines())
    csv_rows = len((tmp / "p.csv").read_text().splitlines()) - 1
    assert n == jsonl == csv_rows and 0 < n < 110, f"video {n}, jsonl {jsonl}, csv {csv_rows}"
    assert "[interrupted]" in proc.stdout, proc.stdout
    return f"exit 130, video = JSONL = CSV = {n} frames, summary printed"


def _interrupt_jobs(tmp: Path) -> str:
    for name in ("a.mp4", "b.mp4"):
        (tmp / name).symlink_to(VIDEO)
    proc = _ctrl_c(
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
            "out-{stem}.mp4",
        ],
        tmp,
    )
    assert "Traceback" not in proc.stderr, proc.stderr[-400:]
    assert proc.returncode == 130, f"exit {proc.returncode}: {proc.stderr[-300:]}"
    counts = []
    for stem in ("a", "b"):
        line = [s for s in proc.stdout.splitlines() if s.startswith(f"{stem}.mp4: ")]
        assert line, f"no summary for {stem}.mp4: {proc.stdout[-300:]}"
        n = _frames(tmp / f"out-{stem}.mp4")
        assert len((tmp / f"{stem}.jsonl").read_text().splitlines()) == n
        counts.append(n)
    return f"exit 130, no worker traceback, both summaries ({counts} frames, video = JSONL)"


def _interrupt_squats(tmp: Path) -> str:
    proc = _ctrl_c(
        ["posekit-squats", str(VIDEO), "--no-show", "-o", "v.mp4", "--json", "s.json"], tmp
    )
    assert proc.returncode == 130, f"exit {proc.returncode} (was 0): {proc.stderr[-300:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-300:]
    summary = json.loads((tmp / "s.json").read_text())
    n = _frames(tmp / "v.mp4")
    assert summary["interrupted"] and summary["frames"] == n, (summary["frames"], n)
    return f"exit 130, summary and video agree ({n} frames)"


K12 = "12 interrupt"
ATTACKS += [
    Attack(K12, "posekit run, Ctrl-C", _interrupt_run, timeout_s=180),
    Attack(
        K12, "posekit run --jobs 2, Ctrl-C (was a worker traceback)", _interrupt_jobs, timeout_s=180
    ),
    Attack(K12, "posekit-squats, Ctrl-C (exited 0)", _interrupt_squats, timeout_s=180),
]
