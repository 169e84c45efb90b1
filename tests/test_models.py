"""Model manager: manifest, name resolution, sources, atomic installs, verify and the cache.

Network routes are switched off by configuration (``POSEKIT_MODEL_ROUTES=cache,local``) and, as a
guard, the functions that would reach the network are replaced by ones that fail the test. The
end-to-end installs use the real converter on the official files in ``../shared/models-src``.
The registry route (PyPI + npm) is the ``network``-marked test at the end.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import posekit.convert
from posekit.errors import ChecksumError, ConversionError, ModelError, ModelSourceError
from posekit.models import (
    ALIASES,
    MODEL_NAMES,
    archives,
    cache_dir,
    get_spec,
    install,
    model_path,
    packages,
    resolve_name,
    store,
    verify,
)
from posekit.models import manifest as manifest_mod
from posekit.models import sources as sources_mod
from posekit.models.manager import _expand
from posekit.models.manifest import SourceSpec, load_manifest
from posekit.models.progress import Progress
from posekit.models.sources import Fetcher, SourcesExhaustedError, routes_from_env

REPO = Path(__file__).resolve().parents[1]
OFFLINE_ROUTES = ("cache", "local")
_REAL_PIP_DOWNLOAD = Fetcher._pip_download
_REAL_NPM_PACK = Fetcher._npm_pack


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly if anything tries the official URL, pip or npm."""

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a network route was used in an offline test")

    monkeypatch.setattr(sources_mod, "_open_url", boom)
    monkeypatch.setattr(Fetcher, "_pip_download", boom)
    monkeypatch.setattr(Fetcher, "_npm_pack", boom)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty POSEKIT_HOME with the network routes disabled by configuration."""
    root = tmp_path / "posekit-home"
    monkeypatch.setenv("POSEKIT_HOME", str(root))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    for var in ("POSEKIT_MODEL_SOURCE", "POSEKIT_OFFLINE", "POSEKIT_QUIET"):
        monkeypatch.delenv(var, raising=False)
    return root


@pytest.fixture
def home(isolated_home: Path, no_network: None) -> Path:
    """:func:`isolated_home` plus the guard against any network use."""
    return isolated_home


def _corrupt_copy(src: Path, dst_dir: Path) -> Path:
    dst_dir.mkdir(parents=True, exist_ok=True)
    dst = dst_dir / src.name
    data = bytearray(src.read_bytes())
    for i in range(1000, 1010):
        data[i] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# -- manifest ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_manifest_entry_is_complete(name: str) -> None:
    spec = get_spec(name)
    assert spec.file == f"{name}.tflite"
    assert spec.licence == "Apache-2.0"
    assert spec.description and spec.size > 0
    assert spec.sha256 and all(len(s) == 64 and int(s, 16) >= 0 for s in spec.sha256)
    assert set(spec.sha256_origin) == set(spec.sha256), "every accepted sha256 says where from"
    assert spec.inputs and spec.outputs
    assert all(t.dtype == "float32" and t.shape[0] == 1 for t in (*spec.inputs, *spec.outputs))
    kinds = [s.kind for s in spec.sources]
    assert kinds[0] == "url"
    assert spec.sources[0].url == f"https://storage.googleapis.com/mediapipe-assets/{spec.file}"
    in_wheel = name not in ("pose_landmark_lite", "pose_landmark_heavy")
    assert ("pypi" in kinds) == in_wheel
    assert ("npm" in kinds) == name.startswith("pose_landmark_")
    for s in spec.sources:
        if s.kind == "pypi":
            assert s.requirement == "mediapipe==0.10.21"
            assert s.path.startswith("mediapipe/modules/") and s.path.endswith(spec.file)
        if s.kind == "npm":
            assert s.package == "@mediapipe/pose@0.5.1675469404"
            assert s.path == f"package/{spec.file}"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_manifest_sha_matches_the_official_files(name: str, models_src: Path) -> None:
    spec = get_spec(name)
    path = models_src / spec.file
    assert store.file_sha256(path) in spec.sha256
    assert path.stat().st_size == spec.size


@pytest.mark.parametrize(
    ("name", "n_accepted"),
    [
        ("hand_landmark_full", 2),  # wheel copy + canonical modules/ copy (metadata differs)
        ("palm_detection_full", 2),
        ("face_landmark", 2),
        ("face_detection_short_range", 2),
        ("pose_landmark_full", 1),
        ("pose_landmark_heavy", 1),
    ],
)
def test_manifest_records_wheel_and_canonical_sha(name: str, n_accepted: int) -> None:
    spec = get_spec(name)
    assert len(spec.sha256) == n_accepted
    if n_accepted == 2:
        wheel, canonical = spec.sha256
        assert "wheel" in spec.sha256_origin[wheel]
        assert "modules/" in spec.sha256_origin[canonical]


def test_manifest_is_found_in_checkout_and_in_installed_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert manifest_mod.manifest_path() == REPO / "models" / "manifest.json"
    # An installed wheel carries it as posekit/models/manifest.json: that copy wins.
    pkg = tmp_path / "site" / "posekit" / "models"
    pkg.mkdir(parents=True)
    shutil.copy(REPO / "models" / "manifest.json", pkg / "manifest.json")
    monkeypatch.setattr("importlib.resources.files", lambda _: pkg)
    assert manifest_mod.manifest_path() == pkg / "manifest.json"


def test_pyproject_packages_the_manifest() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert '"models/manifest.json" = "posekit/models/manifest.json"' in text


# -- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected", "error"),
    [
        ("detector", "pose_detection", None),
        ("lite", "pose_landmark_lite", None),
        ("full", "pose_landmark_full", None),
        ("heavy", "pose_landmark_heavy", None),
        ("FULL", "pose_landmark_full", None),
        (" heavy ", "pose_landmark_heavy", None),
        ("pose_detection", "pose_detection", None),
        ("face_landmark", "face_landmark", None),
        ("pose_landmark_full.tflite", "pose_landmark_full", None),
        ("pose_landmark_full.onnx", "pose_landmark_full", None),
        ("medium", None, ModelError),
        ("", None, ModelError),
        ("all", None, ModelError),  # 'all' is a selector for install, not a model
    ],
)
def test_resolve_name(given: str, expected: str | None, error: type[Exception] | None) -> None:
    if error is None:
        assert resolve_name(given) == expected
    else:
        with pytest.raises(error, match="valid names: pose_detection"):
            resolve_name(given)


def test_aliases_and_all_selector() -> None:
    assert ALIASES == {
        "detector": "pose_detection",
        "lite": "pose_landmark_lite",
        "full": "pose_landmark_full",
        "heavy": "pose_landmark_heavy",
    }
    assert _expand("all") == list(MODEL_NAMES)
    assert _expand(["full", "pose_landmark_full", "detector"]) == [
        "pose_landmark_full",
        "pose_detection",
    ]


# -- cache location ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {"POSEKIT_HOME": "/data/pk"}, "/data/pk"),
        ("darwin", {"POSEKIT_HOME": "/data/pk"}, "/data/pk"),
        ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/posekit"),
        ("linux", {"XDG_CACHE_HOME": "relative"}, "~/.cache/posekit"),
        ("linux", {}, "~/.cache/posekit"),
        ("darwin", {}, "~/Library/Caches/posekit"),
        ("win32", {"LOCALAPPDATA": "/appdata"}, "/appdata/posekit/Cache"),
    ],
)
def test_cache_dir(
    platform: str, env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("POSEKIT_HOME", "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr("sys.platform", platform)
    assert cache_dir() == Path(expected).expanduser()


@pytest.mark.parametrize(
    ("env", "expected", "error"),
    [
        ({}, ("cache", "local", "url", "pypi", "npm"), None),
        ({"POSEKIT_OFFLINE": "1"}, ("cache", "local"), None),
        ({"POSEKIT_OFFLINE": "0"}, ("cache", "local", "url", "pypi", "npm"), None),
        ({"POSEKIT_MODEL_ROUTES": "local, pypi"}, ("local", "pypi"), None),
        ({"POSEKIT_MODEL_ROUTES": "npm,local", "POSEKIT_OFFLINE": "yes"}, ("local",), None),
        ({"POSEKIT_MODEL_ROUTES": "local,ftp"}, None, ModelSourceError),
    ],
)
def test_routes_from_env(
    env: dict[str, str], expected: tuple[str, ...] | None, error: type[Exception] | None
) -> None:
    if error is None:
        assert routes_from_env(env) == expected
    else:
        with pytest.raises(error, match="ftp"):
            routes_from_env(env)


# -- end-to-end install with the real converter ------------------------------------------------
def test_install_verify_and_reuse(home: Path, models_src: Path) -> None:
    results = install(["detector", "full"], source=models_src, progress=False)
    assert [r.name for r in results] == ["pose_detection", "pose_landmark_full"]
    assert all(r.status == "installed" for r in results)
    for r in results:
        spec = get_spec(r.name)
        assert r.path == home / "models" / f"{r.name}.onnx"
        assert r.source_sha256 in spec.sha256
        assert r.source == f"local {models_src / spec.file}"
        side = json.loads((home / "models" / f"{r.name}.json").read_text())
        assert side["onnx_sha256"] == store.file_sha256(r.path)
        assert side["onnx_size"] == r.path.stat().st_size
        assert side["source_sha256"] == store.file_sha256(models_src / spec.file)
        assert side["converter_version"] and side["created"]
        # the verified source is kept so that re-conversion needs no download
        assert store.file_sha256(home / "sources" / spec.file) == side["source_sha256"]
    assert _files(home / "models") == [
        "pose_detection.json",
        "pose_detection.onnx",
        "pose_landmark_full.json",
        "pose_landmark_full.onnx",
    ]
    checked = verify()
    assert [(v.name, v.ok, v.problems) for v in checked] == [
        ("pose_detection", True, ()),
        ("pose_landmark_full", True, ()),
    ]
    again = install("full", source=models_src, progress=False)
    assert [(r.name, r.status) for r in again] == [("pose_landmark_full", "present")]
    assert model_path("full", install=False) == home / "models" / "pose_landmark_full.onnx"


def test_force_reconverts_from_the_kept_source(home: Path, models_src: Path) -> None:
    install("detector", source=models_src, progress=False)
    before = (home / "models" / "pose_detection.json").read_text()
    # no --from this time: the cache route must supply the verified source
    (result,) = install("detector", force=True, progress=False)
    assert result.status == "installed"
    assert result.source == f"cache {home / 'sources' / 'pose_detection.tflite'}"
    after = json.loads((home / "models" / "pose_detection.json").read_text())
    assert after["onnx_sha256"] == json.loads(before)["onnx_sha256"]  # deterministic converter


def test_model_path_installs_on_first_use_with_visible_progress(
    home: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))
    path = model_path("detector")
    assert path == home / "models" / "pose_detection.onnx" and path.is_file()
    err = capsys.readouterr().err
    assert "posekit: installing pose_detection" in err
    assert "posekit: converting pose_detection.tflite" in err
    # second call: no conversion, no output
    monkeypatch.setattr(posekit.convert, "convert_file", _must_not_convert)
    assert model_path("pose_detection") == path
    assert capsys.readouterr().err == ""


def test_quiet_env_silences_progress(
    home: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSEKIT_QUIET", "1")
    model_path("detector", source=models_src)
    assert capsys.readouterr().err == ""


def _must_not_convert(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("converter called for an installed model")


def test_model_path_without_install_names_the_command(home: Path) -> None:
    with pytest.raises(ModelError, match=r"posekit models install pose_landmark_heavy"):
        model_path("heavy", install=False)


# -- sources and checksums ---------------------------------------------------------------------
def test_corrupted_source_is_rejected_and_nothing_is_cached(
    home: Path, models_src: Path, tmp_path: Path
) -> None:
    bad = _corrupt_copy(models_src / "pose_detection.tflite", tmp_path / "bad")
    with pytest.raises(ChecksumError) as info:
        install("detector", source=bad.parent, progress=False)
    assert isinstance(info.value, ModelSourceError)
    message = str(info.value)
    assert f"local {bad.parent}" in message and "sha256 mismatch" in message
    assert "posekit models install --from DIR pose_detection" in message
    assert "POSEKIT_MODEL_SOURCE" in message
    assert _files(home / "models") == [] and _files(home / "sources") == []


def test_wrong_sha_falls_through_to_the_next_source(
    home: Path, models_src: Path, tmp_path: Path
) -> None:
    bad = _corrupt_copy(models_src / "pose_detection.tflite", tmp_path / "bad")
    (result,) = install("detector", source=[bad.parent, models_src], progress=False)
    assert result.status == "installed"
    assert result.source == f"local {models_src / 'pose_detection.tflite'}"
    assert (
        store.file_sha256(home / "sources" / "pose_detection.tflite") in get_spec("detector").sha256
    )


def test_url_route_falls_through_on_mismatch(
    isolated_home: Path, models_src: Path, tmp_path: Path
) -> None:
    """The download path (streamed to a temp file, hashed, then kept) with file:// URLs."""
    home = isolated_home
    bad = _corrupt_copy(models_src / "pose_detection.tflite", tmp_path / "bad")
    spec = dataclasses.replace(
        get_spec("detector"),
        sources=(
            SourceSpec(kind="url", url=bad.as_uri()),
            SourceSpec(kind="url", url=(models_src / "pose_detection.tflite").as_uri()),
        ),
    )
    with Fetcher(routes=("url",)) as fetcher:
        fetched = fetcher.fetch(spec)
    assert fetched.origin == (models_src / "pose_detection.tflite").as_uri()
    assert [a.ok for a in fetched.attempts] == [False, True]
    assert "sha256 mismatch" in fetched.attempts[0].reason
    assert _files(home / "sources") == ["pose_detection.tflite"]


def test_unreachable_url_fails_fast_and_is_not_retried(isolated_home: Path) -> None:
    """``.invalid`` never resolves (RFC 2606): a stand-in for the unreachable official host."""
    home = isolated_home
    spec = dataclasses.replace(
        get_spec("detector"),
        sources=(
            SourceSpec(kind="url", url="https://posekit-test.invalid/a/pose_detection.tflite"),
            SourceSpec(kind="url", url="https://posekit-test.invalid/b/pose_detection.tflite"),
        ),
    )
    start = time.perf_counter()
    with (
        Fetcher(routes=("url",), url_timeout=3.0) as fetcher,
        pytest.raises(SourcesExhaustedError) as info,
    ):
        fetcher.fetch(spec)
    assert time.perf_counter() - start < 10.0
    first, second = info.value.attempts[:2]
    assert "unreachable" in first.reason
    assert "unreachable earlier" in second.reason
    assert not isinstance(info.value, ChecksumError)
    assert _files(home / "sources") == []


def test_every_failed_source_is_listed(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _: None)  # npm absent

    def url_fails(self: Fetcher, src: SourceSpec, spec: Any) -> Any:
        raise archives.RouteFailed("unreachable (Name or service not known)")

    def pip_fails(self: Fetcher, requirement: str, dest: Path) -> Path:
        raise archives.RouteFailed("pip failed (exit 1): no network")

    monkeypatch.setattr(Fetcher, "_from_url", url_fails)
    monkeypatch.setattr(Fetcher, "_pip_download", pip_fails)
    monkeypatch.setattr(Fetcher, "_npm_pack", _REAL_NPM_PACK)  # the real one: finds no npm
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local,url,pypi,npm")
    with pytest.raises(ModelSourceError) as info:
        install("full", progress=False)
    reasons = {a.source: a.reason for a in info.value.attempts}  # type: ignore[attr-defined]
    assert list(reasons) == [
        f"cache {home / 'sources'}",
        "local",
        "https://storage.googleapis.com/mediapipe-assets/pose_landmark_full.tflite",
        "https://storage.googleapis.com/mediapipe-assets/modules/pose_landmark/pose_landmark_full.tflite",
        "PyPI mediapipe==0.10.21 (mediapipe/modules/pose_landmark/pose_landmark_full.tflite)",
        "npm @mediapipe/pose@0.5.1675469404 (package/pose_landmark_full.tflite)",
    ]
    assert (
        "npm is not on PATH"
        in reasons["npm @mediapipe/pose@0.5.1675469404 (package/pose_landmark_full.tflite)"]
    )
    message = str(info.value)
    for source in reasons:
        assert source in message
    assert "--from DIR" in message and "POSEKIT_MODEL_SOURCE" in message
    assert "\n" not in message  # the CLI prints it as one line


def _fake_wheel(path: Path, models_src: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in names:
            (src,) = [s for s in get_spec(name).sources if s.kind == "pypi"]
            zf.write(models_src / get_spec(name).file, src.path)
    return path


def _fake_tgz(path: Path, models_src: Path, names: list[str]) -> Path:
    with tarfile.open(path, "w:gz", compresslevel=1) as tf:
        for name in names:
            tf.add(models_src / get_spec(name).file, f"package/{get_spec(name).file}")
        info = tarfile.TarInfo("package/package.json")
        data = b'{"name": "@mediapipe/pose"}'
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return path


def test_pypi_route_downloads_the_wheel_once(
    home: Path, models_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = _fake_wheel(
        tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
        models_src,
        ["pose_detection", "pose_landmark_full"],
    )
    calls: list[list[str]] = []

    def fake_tool(self: Fetcher, cmd: list[str], cwd: Path, what: str) -> str:
        calls.append(list(cmd))
        if "--platform" not in cmd:  # first attempt: no wheel for this interpreter
            raise packages.ToolFailed("pip failed", "ERROR: No matching distribution found")
        shutil.copy(wheel, cwd / wheel.name)
        return "Saved"

    monkeypatch.setattr(Fetcher, "_pip_download", _REAL_PIP_DOWNLOAD)
    monkeypatch.setattr(Fetcher, "_run_tool", fake_tool)
    with Fetcher(routes=("pypi",)) as fetcher:
        got = [fetcher.fetch(get_spec(n)) for n in ("detector", "full")]
        assert fetcher.package_downloads == {"pypi:mediapipe==0.10.21": 1}
        with pytest.raises(SourcesExhaustedError, match="no pypi package ships this model"):
            fetcher.fetch(get_spec("heavy"))
    assert all(
        g.sha256 in get_spec(n).sha256 for g, n in zip(got, ("detector", "full"), strict=True)
    )
    assert len(calls) == 2
    native, fallback = calls
    assert native[:5] == [sys.executable, "-m", "pip", "download", "mediapipe==0.10.21"]
    assert {"--no-deps", "--only-binary=:all:"} <= set(native)
    assert fallback[fallback.index("--platform") + 1] == "manylinux_2_28_x86_64"
    assert fallback[fallback.index("--python-version") + 1] == "3.11"


def test_npm_route_packs_once_and_is_skipped_without_npm(
    home: Path, models_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = _fake_tgz(
        tmp_path / "mediapipe-pose-0.5.1675469404.tgz",
        models_src,
        ["pose_landmark_lite", "pose_landmark_full"],
    )
    calls: list[list[str]] = []

    def fake_tool(self: Fetcher, cmd: list[str], cwd: Path, what: str) -> str:
        calls.append(list(cmd))
        shutil.copy(tgz, cwd / tgz.name)
        return tgz.name

    monkeypatch.setattr(Fetcher, "_npm_pack", _REAL_NPM_PACK)
    monkeypatch.setattr(Fetcher, "_run_tool", fake_tool)
    monkeypatch.setattr(shutil, "which", lambda _: "/usr/bin/npm")
    with Fetcher(routes=("npm",)) as fetcher:
        lite = fetcher.fetch(get_spec("lite"))
        full = fetcher.fetch(get_spec("full"))
    assert lite.origin.endswith(".tgz!package/pose_landmark_lite.tflite)")
    assert full.sha256 in get_spec("full").sha256
    assert len(calls) == 1 and calls[0][1:3] == ["pack", "@mediapipe/pose@0.5.1675469404"]

    monkeypatch.setattr(shutil, "which", lambda _: None)
    store.source_path("pose_landmark_lite.tflite").unlink()
    with Fetcher(routes=("npm",)) as fetcher, pytest.raises(SourcesExhaustedError) as info:
        fetcher.fetch(get_spec("lite"))
    assert "npm is not on PATH" in info.value.attempts[0].reason


def test_from_accepts_a_downloaded_wheel(home: Path, models_src: Path, tmp_path: Path) -> None:
    wheel = _fake_wheel(tmp_path / "mediapipe.whl", models_src, ["pose_detection"])
    (result,) = install("detector", source=wheel, progress=False)
    assert result.source.endswith("!mediapipe/modules/pose_detection/pose_detection.tflite")
    assert verify("detector")[0].ok


# -- interrupted installs and storage errors ---------------------------------------------------
def test_interrupt_during_conversion_leaves_nothing_loadable(
    home: Path, models_src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def half_then_interrupt(src: Any, dst: Any, **kwargs: Any) -> Any:
        Path(dst).write_bytes((models_src / "pose_detection.tflite").read_bytes()[:5000])
        raise KeyboardInterrupt

    monkeypatch.setattr(posekit.convert, "convert_file", half_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        install("detector", source=models_src, progress=False)
    assert _files(home / "models") == []  # no model, no sidecar, no temp file
    with pytest.raises(ModelError, match="not installed"):
        model_path("detector", install=False)
    (result,) = verify(["detector"])
    assert not result.ok and not result.installed


def test_conversion_error_leaves_previous_model_unloadable_not_half(
    home: Path, models_src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install("detector", source=models_src, progress=False)

    def broken(src: Any, dst: Any, **kwargs: Any) -> Any:
        Path(dst).write_bytes(b"partial")
        raise ConversionError("boom")

    monkeypatch.setattr(posekit.convert, "convert_file", broken)
    with pytest.raises(ConversionError, match="boom"):
        install("detector", force=True, progress=False)
    # the sidecar was withdrawn before converting: the old file no longer counts as installed
    assert _files(home / "models") == ["pose_detection.onnx"]
    assert not store.is_installed("pose_detection")


_KILL_CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    stage, source, marker = sys.argv[1:4]
    import posekit.convert
    from posekit.models import install, sources

    def stall(done_bytes):
        Path(marker).write_text("ready")
        time.sleep(120)

    if stage == "convert":
        def fake_convert(src, dst, **kwargs):
            Path(dst).write_bytes(b"\\x08" * 4096)
            stall(4096)
        posekit.convert.convert_file = fake_convert
    else:
        real = sources.copy_hashing
        def slow_copy(src, dst, progress=None):
            dst.write(src.read(100_000))
            dst.flush()
            stall(100_000)
        sources.copy_hashing = slow_copy
    install(["pose_detection"], source=source, routes=("cache", "local"), progress=False)
    """
)


@pytest.mark.parametrize("stage", ["download", "convert"])
def test_killed_install_leaves_nothing_loadable(
    stage: str, home: Path, models_src: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILL_CHILD, stage, str(models_src), str(marker)], env=env
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "child exited before reaching the stall"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    folder = home / ("sources" if stage == "download" else "models")
    leftovers = [p for p in folder.iterdir() if p.name.endswith(".part")]
    assert len(leftovers) == 1  # the killed writer's temp file ...
    assert not store.is_installed("pose_detection")  # ... is never taken for a model
    with pytest.raises(ModelError, match="not installed"):
        model_path("detector", install=False)
    assert not (home / "models" / "pose_detection.onnx").exists()
    assert not (home / "sources" / "pose_detection.tflite").exists() or stage == "convert"
    # the next install cleans the stale temp file up (writer dead, idle > 1 min) and succeeds
    (leftover,) = leftovers
    os.utime(leftover, (time.time() - 120, time.time() - 120))
    (result,) = install("detector", source=models_src, progress=False)
    assert result.status == "installed" and verify("detector")[0].ok
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")]


def test_stale_part_cleanup_spares_live_writers(tmp_path: Path) -> None:
    def part(name: str, pid: int, age_s: float) -> Path:
        p = tmp_path / f".{name}.{pid}.abcd1234.part"
        p.write_bytes(b"x")
        os.utime(p, (time.time() - age_s, time.time() - age_s))
        return p

    dead_pid = 999_999_999
    dead_idle = part("a.onnx", dead_pid, 120)  # writer gone, idle 2 min: stale
    dead_fresh = part("b.onnx", dead_pid, 5)  # maybe a writer in another PID namespace: kept
    mine = part("c.onnx", os.getpid(), 120)  # our own live writer: kept
    ancient = part("d.onnx", os.getpid(), 7 * 3600)  # older than 6 h: stale whoever wrote it
    model = tmp_path / "pose_detection.onnx"
    model.write_bytes(b"x")
    assert sorted(store.clean_stale_parts(tmp_path)) == sorted([dead_idle, ancient])
    assert _files(tmp_path) == sorted([dead_fresh.name, mine.name, model.name])


def test_cache_dir_that_cannot_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_src: Path, no_network: None
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("POSEKIT_HOME", str(blocker / "posekit"))
    with pytest.raises(ModelError) as info:
        install("detector", source=models_src, progress=False, routes=OFFLINE_ROUTES)
    message = str(info.value)
    assert str(blocker / "posekit") in message and "POSEKIT_HOME" in message


@pytest.mark.parametrize(
    ("err", "phrase"),
    [
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the file system is read-only"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_storage_errors_while_writing(
    err: int,
    phrase: str,
    home: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(src: Any, dst: Any, progress: Any = None) -> str:
        dst.write(b"some bytes")
        raise OSError(err, os.strerror(err))

    monkeypatch.setattr(sources_mod, "copy_hashing", fail)
    with pytest.raises(ModelError) as info:
        install("detector", source=models_src, progress=False)
    message = str(info.value)
    assert phrase in message and str(home) in message and "POSEKIT_HOME" in message
    assert _files(home / "sources") == [] and _files(home / "models") == []


def test_disk_full_during_conversion(
    home: Path, models_src: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = posekit.convert.convert_file

    def full_disk(src: Any, dst: Any, **kwargs: Any) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(
                Path, "write_bytes", lambda self, data: _raise(OSError(errno.ENOSPC, "full"))
            )
            return real(src, dst, **kwargs)

    monkeypatch.setattr(posekit.convert, "convert_file", full_disk)
    with pytest.raises(ModelError, match=r"the disk is full.*POSEKIT_HOME"):
        install("detector", source=models_src, progress=False)
    assert not store.is_installed("pose_detection")


def _raise(exc: BaseException) -> Any:
    raise exc


# -- verify ------------------------------------------------------------------------------------
@pytest.fixture
def installed_home(home: Path, models_src: Path) -> Iterator[Path]:
    install(["detector", "full"], source=models_src, progress=False)
    yield home


@pytest.mark.parametrize(
    ("damage", "expected_problem"),
    [
        ("flip", "sha256 of pose_detection.onnx"),
        ("truncate", "sha256 of pose_detection.onnx"),
        ("corrupt_sidecar", "no valid sidecar"),
        ("delete_onnx", "is missing"),
        ("delete_sidecar", "no valid sidecar"),
    ],
)
def test_verify_detects_damage(installed_home: Path, damage: str, expected_problem: str) -> None:
    onnx = installed_home / "models" / "pose_detection.onnx"
    side = installed_home / "models" / "pose_detection.json"
    if damage == "flip":
        data = bytearray(onnx.read_bytes())
        data[len(data) // 2] ^= 0x01
        onnx.write_bytes(bytes(data))
    elif damage == "truncate":
        onnx.write_bytes(onnx.read_bytes()[:1000])
    elif damage == "corrupt_sidecar":
        side.write_text("{not json")
    elif damage == "delete_onnx":
        onnx.unlink()
    else:
        side.unlink()
    results = {r.name: r for r in verify()}
    assert results["pose_landmark_full"].ok
    bad = results["pose_detection"]
    assert not bad.ok and any(expected_problem in p for p in bad.problems)
    assert any("posekit models install" in p for p in bad.problems)


def test_verify_flags_io_mismatch(installed_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = get_spec("detector")
    wrong = dataclasses.replace(
        spec, outputs=(dataclasses.replace(spec.outputs[0], shape=(1, 896, 16)), spec.outputs[1])
    )
    models = {**load_manifest().models, "pose_detection": wrong}
    fake = dataclasses.replace(load_manifest(), models=models)
    monkeypatch.setattr("posekit.models.manager.load_manifest", lambda: fake)
    (result,) = verify(["pose_detection"])
    assert not result.ok
    assert result.problems == (
        "output Identity has shape (1, 2254, 12), manifest says (1, 896, 16)",
    )


# -- registry route (real network: PyPI + npm) -------------------------------------------------
@pytest.mark.network
def test_install_through_the_package_registries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No local source: pose_detection and pose_landmark_full come from the mediapipe wheel."""
    monkeypatch.setenv("POSEKIT_HOME", str(tmp_path / "home"))
    for var in ("POSEKIT_MODEL_SOURCE", "POSEKIT_OFFLINE", "POSEKIT_MODEL_ROUTES"):
        monkeypatch.delenv(var, raising=False)
    results = install(["detector", "full"], routes=("pypi", "npm"), progress=True)
    assert [r.status for r in results] == ["installed", "installed"]
    assert all("mediapipe==0.10.21" in r.source or "@mediapipe/pose" in r.source for r in results)
    assert all(v.ok for v in verify())


def test_progress_lines_on_a_pipe() -> None:
    buf = io.StringIO()
    p = Progress(True, stream=buf)
    p.start_bytes()
    for done in range(0, 101, 5):
        p.bytes("x.tflite", done, 100)
    lines = buf.getvalue().splitlines()
    assert [line.split("(")[-1] for line in lines] == ["0 %)", "25 %)", "50 %)", "75 %)", "100 %)"]
    quiet = io.StringIO()
    Progress(False, stream=quiet).message("hidden")
    assert quiet.getvalue() == ""
