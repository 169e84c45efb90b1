"""Attacks on the model manager (issue #14 items 6, 10, 11, 12): archive bombs and huge or deep
records, damaged sources and records that are not objects, a read-only or full cache, stale
temporary files and installs on the tracking hot path.

Every attack installs what it needs from ``../shared/models-src`` into its own ``POSEKIT_HOME``
(network routes off), then does what a hostile or careless user would.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

from attacks import REPO, SHARED, Attack, cli, one_line_error

MODELS_SRC = SHARED / "models-src"
DETECTOR_IN_WHEEL = "mediapipe/modules/pose_detection/pose_detection.tflite"
FULL_IN_WHEEL = "mediapipe/modules/pose_landmark/pose_landmark_full.tflite"
FULL_IN_NPM = "package/pose_landmark_full.tflite"


def _home(tmp: Path, *, install: tuple[str, ...] = ()) -> Path:
    home = tmp / "home"
    os.environ.update(POSEKIT_HOME=str(home), POSEKIT_MODEL_ROUTES="cache,local", POSEKIT_QUIET="1")
    os.environ.pop("POSEKIT_MODEL_SOURCE", None)
    if install:
        proc = cli(["posekit", "models", "install", "-q", "--from", str(MODELS_SRC), *install])
        assert proc.returncode == 0, f"set-up install failed: {proc.stderr[-200:]}"
    return home


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def _python(code: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )


# -- 6: archive bombs and huge records ----------------------------------------------------------
def _deflate_bomb(path: Path, member: str, size: int) -> Path:
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open(member, "w", force_zip64=True) as fh,
    ):
        chunk = b"\0" * (4 << 20)
        for _ in range(size // len(chunk)):
            fh.write(chunk)
    return path


def _declared_bomb(path: Path, member: str) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, b"\0" * 1024)
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(sig)
        data[at + offset : at + offset + 4] = (4_000_000_000).to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def _tar_bomb(path: Path, member: str, size: int) -> Path:
    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, buf: memoryview) -> int:  # type: ignore[override]
            n = min(len(buf), self.left)
            buf[:n] = b"\0" * n
            self.left -= n
            return n

    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo(member)
        info.size = size
        tf.addfile(info, io.BufferedReader(Zeros(), 1 << 20))
    return path


def _sparse_folder(tmp: Path, size: int) -> Path:
    folder = tmp / "bomb-dir"
    folder.mkdir()
    with (folder / "pose_landmark_full.tflite").open("wb") as fh:
        fh.truncate(size)
    return folder


def _bomb(build: Callable[[Path], Path], model: str) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        home = _home(tmp)
        bomb = build(tmp)
        proc = cli(["posekit", "models", "install", "--from", str(bomb), model])
        refused = one_line_error(proc)
        assert "nothing was extracted" in proc.stderr, proc.stderr[-300:]
        written = _size(home)
        assert written < 8 << 20, f"{written} bytes written to the cache"
        ok = cli(
            ["posekit", "models", "install", "--from", str(bomb), "--from", str(MODELS_SRC), model]
        )
        assert ok.returncode == 0, f"the next source was not used: {ok.stderr[-200:]}"
        return f"refused ({written} B written), next source used: {refused}"

    return run


def _huge_sidecar(content: Callable[[], bytes]) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        home = _home(tmp, install=("detector",))
        (home / "models" / "pose_detection.json").write_bytes(content())
        listed = cli(["posekit", "models", "list"])
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr[-300:]
        row = next(ln for ln in listed.stdout.splitlines() if ln.startswith("pose_detection"))
        assert row.split()[2] == "no", row
        return "models list exit 0, the model counts as not installed"

    return run


# -- 10: damaged sources, records that are not objects ------------------------------------------
def _official_zip(tmp: Path, member: str, file: str) -> Path:
    path = tmp / "mediapipe.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.write(MODELS_SRC / file, member)
    return path


def _official_tgz(tmp: Path) -> Path:
    path = tmp / "pose.tgz"
    with tarfile.open(path, "w:gz") as tf:
        tf.add(MODELS_SRC / "pose_landmark_full.tflite", FULL_IN_NPM)
    return path


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _damaged(build: Callable[[Path], Path]) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        _home(tmp)
        bad = build(tmp)
        line = one_line_error(cli(["posekit", "models", "install", "--from", str(bad), "full"]))
        assert "no source could supply" in line, line
        both = ["--from", str(bad), "--from", str(MODELS_SRC)]
        ok = cli(["posekit", "models", "install", *both, "full"])
        assert ok.returncode == 0, f"the next source was not used: {ok.stderr[-200:]}"
        return f"skipped for the next source; alone: {line}"

    return run


def _not_an_object(content: bytes, where: str) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        home = _home(tmp, install=("detector", "full"))
        os.environ["POSEKIT_MODEL_SOURCE"] = str(MODELS_SRC)
        if where == "sidecar":
            (home / "models" / "pose_landmark_full.json").write_bytes(content)
        else:
            for meta in (home / "runtime").rglob("*.json"):
                meta.write_bytes(content)
        listed = cli(["posekit", "models", "list"])
        assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr[-300:]
        proc = _python(
            "import posekit, numpy as np\n"
            "posekit.Tracker().process(np.zeros((64, 64, 3), np.uint8))\n"
        )
        assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]
        return f"models list and Tracker() fine with a {where} of {content[:12]!r}"

    return run


# -- 11: read-only or full cache -------------------------------------------------------------------
@contextlib.contextmanager
def _mounted(*args: str, target: Path) -> Iterator[bool]:
    proc = subprocess.run(
        ["mount", *args, str(target)], capture_output=True, text=True, check=False
    )
    try:
        yield proc.returncode == 0
    finally:
        if proc.returncode == 0:
            subprocess.run(["umount", str(target)], check=False)


_TRACK = (
    "import posekit, numpy as np\n"
    "t = posekit.Tracker(model='full', segmentation={seg})\n"
    "t.process(np.zeros((120, 160, 3), np.uint8))\n"
    "print('ok')\n"
)


def _read_only(seg: bool) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        home = _home(tmp, install=("detector", "full"))
        for f in (home / "runtime").rglob("*"):
            if f.is_file():
                f.unlink()  # runtime copies gone (other onnxruntime), folder left
        with _mounted("--bind", str(home), target=home) as ok:
            if not ok:
                return "not run: mount refused here"
            subprocess.run(["mount", "-o", "remount,bind,ro", str(home)], check=True)
            proc = _python(_TRACK.format(seg=seg))
        assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]
        assert "from memory" in proc.stderr, proc.stderr[-200:]
        return "in-memory fallback with a warning"

    return run


def _full_disk(seg: bool) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        src = tmp / "src"
        _home(src, install=("detector", "full"))
        home = tmp / "home-full"
        home.mkdir()
        with _mounted("-t", "tmpfs", "-o", "size=24m", "tmpfs", target=home) as ok:
            if not ok:
                return "not run: mount refused here"
            for sub in ("models", "sources"):
                shutil.copytree(src / "home" / sub, home / sub)
            with (home / "filler").open("wb") as fh:
                fh.write(b"\0" * max(0, shutil.disk_usage(home).free - (1 << 20)))
            os.environ["POSEKIT_HOME"] = str(home)
            proc = _python(_TRACK.format(seg=seg))
            leftovers = [p.name for p in home.rglob("*.part")]
        assert proc.returncode == 0, proc.stderr.strip().splitlines()[-1:]
        assert "from memory" in proc.stderr and not leftovers, (proc.stderr[-200:], leftovers)
        return "in-memory fallback with a warning, no partial file left"

    return run


# -- 12: stale temporary files, installs on the hot path ---------------------------------------
def _stale_part(tmp: Path) -> str:
    home = _home(tmp, install=("detector",))
    (runtime,) = (home / "runtime").iterdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    try:
        stale = runtime / f".pose_detection.all.onnx.{dead.pid}.0badc0de.part"
        busy = runtime / f".pose_detection.all.onnx.{live.pid}.0badc0de.part"
        for part in (stale, busy):
            part.write_bytes(b"\0" * (1 << 20))
            os.utime(part, (time.time() - 300, time.time() - 300))
        proc = _python("from posekit.models import load_session; load_session('detector')")
        assert proc.returncode == 0, proc.stderr[-200:]
        assert not stale.exists(), "the killed writer's .part file is still there"
        assert busy.exists(), "a live writer's .part file was removed"
    finally:
        live.kill()
        live.wait()
    return "the dead writer's part removed at the next load, the live one's kept"


_HOT = """
import time, numpy as np
from posekit.adaptive import AdaptiveSession
from posekit.models import load_session
from posekit.models import store
store.remove_model("pose_landmark_full")
now = [0.0]
class Primary:
    num_threads = 2
    output_names = ["Identity"]
    calls = 0
    def run_outputs(self, names, feeds):
        now[0] += 0.006 if self.calls > 40 else 0.002
        self.calls += 1
        return [np.zeros(1)]
s = AdaptiveSession(Primary(), lambda: load_session("full", num_threads=1, spin=False),
                    clock=lambda: now[0], cpu_clock=lambda: 2 * now[0])
worst = 0.0
for _ in range(400):
    t0 = time.perf_counter()
    s.run_outputs(["Identity"], {"input_1": None})
    worst = max(worst, time.perf_counter() - t0)
ok = store.is_installed("pose_landmark_full")
print(f"worst {worst:.3f} s, fallback {s.fallback_built}, installed {ok}")
"""


def _hot_path(tmp: Path) -> str:
    _home(tmp, install=("full",))
    os.environ["POSEKIT_MODEL_SOURCE"] = str(MODELS_SRC)  # an install would succeed
    proc = _python(_HOT)
    assert proc.returncode == 0, proc.stderr[-300:]
    line = proc.stdout.strip().splitlines()[-1]
    assert line.endswith("installed False"), f"re-installed inside process(): {line}"
    assert float(line.split()[1]) < 1.0, f"a frame stalled: {line}"
    assert proc.stderr.count("could not build") == 1, proc.stderr[-300:]
    return f"{line}; one warning"


_FULL_WHEEL = "pose_landmark_full.tflite"

ATTACKS: list[Attack] = [
    Attack(
        "6 archive bomb",
        "wheel member inflating to 2 GiB (--from)",
        _bomb(lambda t: _deflate_bomb(t / "mp.whl", DETECTOR_IN_WHEEL, 2 << 30), "detector"),
        timeout_s=240,
    ),
    Attack(
        "6 archive bomb",
        "wheel member declaring 4 GB",
        _bomb(lambda t: _declared_bomb(t / "mp.whl", DETECTOR_IN_WHEEL), "detector"),
    ),
    Attack(
        "6 archive bomb",
        "npm tarball member of 1 GiB",
        _bomb(lambda t: _tar_bomb(t / "pose.tgz", FULL_IN_NPM, 1 << 30), "full"),
        timeout_s=240,
    ),
    Attack(
        "6 archive bomb",
        "sparse 8 GB .tflite in a --from folder",
        _bomb(lambda t: _sparse_folder(t, 8 << 30), "full"),
    ),
    Attack(
        "6 archive bomb",
        "sidecar JSON of 64 MB",
        _huge_sidecar(lambda: b" " * (64 << 20) + b"{}"),
    ),
    Attack(
        "6 archive bomb",
        "sidecar JSON nested 1M deep",
        _huge_sidecar(lambda: b"[" * 1_000_000 + b"]" * 1_000_000),
    ),
    Attack(
        "10 damaged source",
        "truncated wheel (--from)",
        _damaged(lambda t: _cut(_official_zip(t, FULL_IN_WHEEL, _FULL_WHEEL), 0.5)),
    ),
    Attack("10 damaged source", "empty wheel", _damaged(lambda t: _written(t / "x.whl", b""))),
    Attack("10 damaged source", "truncated .tgz", _damaged(lambda t: _cut(_official_tgz(t), 0.5))),
    Attack(
        "10 damaged source",
        ".tgz of random bytes",
        _damaged(lambda t: _written(t / "r.tgz", os.urandom(9000))),
    ),
    Attack("10 damaged source", "sidecar JSON that is a list", _not_an_object(b"[1]", "sidecar")),
    Attack("10 damaged source", "sidecar JSON that is null", _not_an_object(b"null", "sidecar")),
    Attack("10 damaged source", "runtime JSON that is null", _not_an_object(b"null", "runtime")),
    Attack("10 damaged source", "runtime JSON that is a list", _not_an_object(b"[]", "runtime")),
    Attack("11 read-only cache", "read-only mount, Tracker(model='full')", _read_only(False)),
    Attack("11 read-only cache", "read-only mount, segmentation=True", _read_only(True)),
    Attack("11 read-only cache", "full tmpfs, Tracker(model='full')", _full_disk(False)),
    Attack("11 read-only cache", "full tmpfs, segmentation=True", _full_disk(True)),
    Attack("12 stale part", "kill -9 leftover .part in runtime/", _stale_part),
    Attack("12 stale part", "adaptive fallback after the model was deleted", _hot_path),
]
