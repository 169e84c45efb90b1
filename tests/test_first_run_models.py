"""Issue #15, the model side of a first run: one download per source archive (across models and
processes), the bare ``posekit models install``, disk use in ``models list`` and ``models clean``.

The first-run test is the real download route: ``pip download mediapipe==0.10.21`` run by the
installer, pointed (``PIP_INDEX_URL``) at a package index served on 127.0.0.1 by the test, which
counts the wheel downloads. The wheel is built here from ``../shared/models-src``; CI has no
network beyond package registries, and nothing here needs more.
"""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from posekit.cli import main
from posekit.models import MODEL_NAMES, get_spec, install, installed_models, store
from posekit.models import runtime as rt
from posekit.models.manager import DEFAULT_MODELS, _expand, cache_usage, clean_cache

REPO = Path(__file__).resolve().parents[1]
WHEEL_NAME = "mediapipe-0.10.21-py3-none-any.whl"
IN_WHEEL = [n for n in MODEL_NAMES if any(s.kind == "pypi" for s in get_spec(n).sources)]


def _build_wheel(path: Path, models_src: Path) -> Path:
    """A wheel laid out as the official one, with the official files of every model it holds."""
    dist = "mediapipe-0.10.21.dist-info"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name in IN_WHEEL:
            (src,) = [s for s in get_spec(name).sources if s.kind == "pypi"]
            zf.write(models_src / get_spec(name).file, src.path)
        zf.writestr(
            f"{dist}/METADATA", "Metadata-Version: 2.1\nName: mediapipe\nVersion: 0.10.21\n"
        )
        zf.writestr(
            f"{dist}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: posekit-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n",
        )
        zf.writestr(f"{dist}/RECORD", "")
    return path


class _Index(http.server.ThreadingHTTPServer):
    """A PEP 503 index with one project (mediapipe) and one wheel; counts wheel downloads."""

    def __init__(self, wheel: Path) -> None:
        self.wheel = wheel
        self.downloads = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/simple/"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Index

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        wheel = self.server.wheel
        if self.path.rstrip("/") in ("/simple/mediapipe", "/simple/mediapipe/"):
            sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
            body = f'<a href="/files/{wheel.name}#sha256={sha}">{wheel.name}</a>'.encode()
            self._send(body, "text/html")
        elif self.path == f"/files/{wheel.name}":
            self.server.downloads += 1
            self._send(wheel.read_bytes(), "application/octet-stream")
        else:
            self.send_error(404)

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def index(models_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Index]:
    wheel = _build_wheel(tmp_path_factory.mktemp("index") / WHEEL_NAME, models_src)
    server = _Index(wheel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _env(home: Path, index: _Index, tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSEKIT_", "PIP_"))}
    env.update(
        POSEKIT_HOME=str(home),
        POSEKIT_MODEL_ROUTES="cache,pypi",  # the official URL is out of reach in CI
        PIP_INDEX_URL=index.url,
        PIP_NO_CACHE_DIR="1",  # every download must reach the index, to be counted
        PIP_CONFIG_FILE=os.devnull,
        PYTHONPATH=str(REPO),
        HOME=str(tmp),
    )
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


# (step, command, expected wheel downloads so far, models installed afterwards)
FIRST_RUN = [
    (
        "Tracker() on an empty cache (detector, then full)",
        ["-c", "import posekit; posekit.Tracker()"],
        1,
        {"pose_detection", "pose_landmark_full"},
    ),
    (
        "a second process installs two more models from the same wheel",
        ["-m", "posekit", "models", "install", "hand_landmark_full", "palm_detection_full"],
        1,
        {"pose_detection", "pose_landmark_full", "hand_landmark_full", "palm_detection_full"},
    ),
    (
        "a third process reinstalls one with --force",
        ["-m", "posekit", "models", "install", "--force", "-q", "face_landmark"],
        1,
        {
            "pose_detection",
            "pose_landmark_full",
            "hand_landmark_full",
            "palm_detection_full",
            "face_landmark",
        },
    ),
]


def test_first_run_downloads_each_source_archive_once(
    index: _Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    env = _env(home, index, tmp_path)
    index.downloads = 0
    for step, args, downloads, models in FIRST_RUN:
        proc = _run(args, env)
        assert proc.returncode == 0, f"{step}: {proc.stderr[-800:]}"
        assert "Traceback" not in proc.stderr
        assert index.downloads == downloads, f"{step}: {index.downloads} wheel downloads"
        monkeypatch.setenv("POSEKIT_HOME", str(home))
        assert set(installed_models()) == models, step
    # the kept wheel is listed, and `models clean` frees it without touching the models
    proc = _run(["-m", "posekit", "models", "list"], env)
    assert proc.returncode == 0
    disk = next(ln for ln in proc.stdout.splitlines() if " on disk: " in ln)
    assert "package archives" in disk and "`posekit models clean` frees" in disk
    wheel_mb = f"{index.wheel.stat().st_size / 1e6:.1f} MB"
    assert f"package archives {wheel_mb}" in disk
    proc = _run(["-m", "posekit", "models", "clean"], env)
    assert proc.returncode == 0 and WHEEL_NAME in proc.stdout
    assert not list(store.packages_dir().iterdir())
    assert set(installed_models()) == FIRST_RUN[-1][3]


def test_bare_install_on_an_empty_cache_fetches_the_wheel_once(
    index: _Index, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    index.downloads = 0
    proc = _run(["-m", "posekit", "models", "install"], _env(home, index, tmp_path))
    assert proc.returncode == 0, proc.stderr[-800:]
    assert index.downloads == 1
    monkeypatch.setenv("POSEKIT_HOME", str(home))
    assert installed_models() == list(DEFAULT_MODELS)
    assert "fetching mediapipe==0.10.21 from PyPI" in proc.stderr  # said once ...
    assert proc.stderr.count("fetching mediapipe==0.10.21") == 1  # ... not per model


# -- the bare `models install` and `all` ---------------------------------------------------
@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_src: Path) -> Path:
    root = tmp_path / "home"
    monkeypatch.setenv("POSEKIT_HOME", str(root))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))
    for var in ("POSEKIT_OFFLINE", "POSEKIT_QUIET", rt.RUNTIME_CACHE_ENV):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ["pose_detection", "pose_landmark_full"]),
        (["detector"], ["pose_detection"]),
        (["lite", "detector"], ["pose_landmark_lite", "pose_detection"]),
    ],
)
def test_install_without_a_name_installs_what_the_tracker_needs(
    argv: list[str], expected: list[str], home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "install", "-q", *argv]) == 0
    out = capsys.readouterr().out
    assert [ln.split(":")[0] for ln in out.splitlines()] == expected
    assert sorted(installed_models()) == sorted(expected)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (list(DEFAULT_MODELS), ["pose_detection", "pose_landmark_full"]),
        ("all", list(MODEL_NAMES)),
        (["all", "detector"], list(MODEL_NAMES)),
    ],
)
def test_model_selection(names: list[str] | str, expected: list[str]) -> None:
    assert _expand(names) == expected


def test_default_models_are_what_a_default_tracker_loads() -> None:
    import inspect

    from posekit import Tracker

    default = inspect.signature(Tracker).parameters["model"].default
    assert ("pose_detection", get_spec(default).name) == DEFAULT_MODELS


@pytest.mark.parametrize(
    ("argv", "expected_text"),
    [
        (["models", "install", "--help"], ["With no NAME", "detector", "full", "'all'"]),
        (["models", "clean", "--help"], ["--sources", "--dry-run", "Installed models"]),
        (["models", "--help"], ["clean", "default: detector + full"]),
    ],
)
def test_help_says_what_the_default_is(
    argv: list[str], expected_text: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in expected_text:
        assert phrase in text


# -- disk use and clean --------------------------------------------------------------------------
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _aged(path: Path, data: bytes = b"\0" * 1000, age_s: float = 120.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (time.time() - age_s, time.time() - age_s))
    return path


# (what is in the cache, how it is made, flags, expected: removed?)
CLEAN = [
    ("stale temp file of a killed install", "dead-part", [], True),
    ("temp file of this (live) process", "live-part", [], False),
    ("runtime copies of another onnxruntime", "foreign-runtime", [], True),
    ("runtime copy of an uninstalled model", "orphan-runtime", [], True),
    ("converted file without a sidecar", "orphan-onnx", [], True),
    ("downloaded package archive", "archive", [], True),
    ("verified .tflite source", "source", [], False),
    ("verified .tflite source, --sources", "source", ["--sources"], True),
    ("installed model", "model", ["--sources"], False),
    ("runtime copy of an installed model", "runtime", ["--sources"], False),
    ("stale temp file, --dry-run", "dead-part", ["--dry-run"], False),
]


def _make(kind: str) -> Path:
    runtime = rt.runtime_dir()
    if kind == "dead-part":
        return _aged(store.models_dir() / f".x.onnx.{_dead_pid()}.abcd1234.part")
    if kind == "live-part":
        return _aged(store.sources_dir() / f".x.tflite.{os.getpid()}.abcd1234.part")
    if kind == "foreign-runtime":
        return _aged(store.runtime_root() / "ort-0.0.1-deadbeef" / "pose_detection.all.onnx")
    if kind == "orphan-runtime":
        return _aged(runtime / "pose_landmark_heavy.all.onnx")
    if kind == "orphan-onnx":
        return _aged(store.models_dir() / "pose_landmark_heavy.onnx")
    if kind == "archive":
        return _aged(store.packages_dir() / WHEEL_NAME)
    if kind == "source":
        return store.source_path("pose_detection.tflite")
    if kind == "model":
        return store.onnx_path("pose_detection")
    assert kind == "runtime"
    return runtime / "pose_detection.all.onnx"


@pytest.fixture
def installed_home(home: Path) -> Path:
    install(["detector"], progress=False)
    return home


@pytest.mark.parametrize(("case", "kind", "flags", "removed"), CLEAN, ids=[c[0] for c in CLEAN])
def test_clean_frees_what_is_not_needed(
    case: str,
    kind: str,
    flags: list[str],
    removed: bool,
    installed_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _make(kind)
    assert path.exists()
    size = store.tree_size(path)
    assert main(["models", "clean", *flags]) == 0
    out = capsys.readouterr().out
    assert path.exists() is not removed
    listed = str(path) in out or str(path.parent) in out
    assert listed is (removed or "--dry-run" in flags)
    assert store.is_installed("pose_detection")  # the installed model always survives
    if "--dry-run" in flags:
        assert f"would free {size / 1e6:.1f} MB" in out


def test_list_shows_the_disk_used(installed_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _make("archive")
    use = cache_usage()
    assert main(["models", "list"]) == 0
    disk = next(ln for ln in capsys.readouterr().out.splitlines() if " on disk: " in ln)
    for label, value in (
        ("sources", use.sources),
        ("package archives", use.archives),
        ("models", use.models),
        ("runtime copies", use.runtime),
    ):
        assert value > 0 and f"{label} {value / 1e6:.1f} MB" in disk
    assert disk.startswith(f"cache: {use.total / 1e6:.1f} MB on disk")
    freeable = sum(s for _, s in clean_cache(dry_run=True))
    assert f"`posekit models clean` frees {freeable / 1e6:.1f} MB" in disk
