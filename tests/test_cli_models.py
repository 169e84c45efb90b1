"""``posekit models list|install|verify|path`` via ``posekit.cli.main`` and once as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from posekit.cli import main
from posekit.models import MODEL_NAMES

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Empty cache; only the cache and --from routes are enabled (no network in these tests)."""
    root = tmp_path / "home"
    monkeypatch.setenv("POSEKIT_HOME", str(root))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    for var in ("POSEKIT_MODEL_SOURCE", "POSEKIT_OFFLINE", "POSEKIT_QUIET"):
        monkeypatch.delenv(var, raising=False)
    return root


def _table(out: str) -> dict[str, list[str]]:
    rows = [line.split() for line in out.splitlines() if line and not line.startswith("cache:")]
    return {r[0]: r[1:] for r in rows[1:]}


def test_list_shows_every_model(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["NAME", "ALIASES", "INSTALLED", "SIZE", "LICENCE"]
    table = _table(out)
    assert list(table) == list(MODEL_NAMES)
    assert table["pose_detection"] == ["detector", "no", "3.0", "MB", "Apache-2.0"]
    assert table["pose_landmark_heavy"] == ["heavy", "no", "27.7", "MB", "Apache-2.0"]
    assert table["face_landmark"][0] == "-"
    assert f"cache: {home}" in out


def test_install_path_verify_list(
    home: Path, models_src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "install", "--from", str(models_src), "detector", "full"]) == 0
    captured = capsys.readouterr()
    onnx = home / "models" / "pose_detection.onnx"
    assert f"pose_detection: installed from local {models_src / 'pose_detection.tflite'}" in (
        captured.out
    )
    assert "posekit: converting pose_landmark_full.tflite to ONNX" in captured.err

    assert main(["models", "path", "detector"]) == 0
    assert capsys.readouterr().out.strip() == str(onnx)

    assert main(["models", "verify"]) == 0
    out = capsys.readouterr().out
    assert f"pose_detection: ok ({onnx})" in out and "pose_landmark_full: ok" in out

    assert main(["models", "list"]) == 0
    table = _table(capsys.readouterr().out)
    assert [
        table[n][1] for n in ("pose_detection", "pose_landmark_full", "pose_landmark_lite")
    ] == [
        "yes",
        "yes",
        "no",
    ]

    assert main(["models", "install", "-q", "full"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == (
        f"pose_landmark_full: already installed: {home / 'models' / 'pose_landmark_full.onnx'}"
    )
    assert captured.err == ""


def test_verify_fails_on_damage_and_on_missing_models(
    home: Path, models_src: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "verify"]) == 1
    assert "no models installed" in capsys.readouterr().err
    assert main(["models", "install", "-q", "--from", str(models_src), "detector"]) == 0
    onnx = home / "models" / "pose_detection.onnx"
    data = bytearray(onnx.read_bytes())
    data[-100] ^= 0xFF
    onnx.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["models", "verify"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("pose_detection: FAILED: sha256 of pose_detection.onnx")
    assert main(["models", "verify", "heavy"]) == 1
    assert "pose_landmark_heavy: FAILED:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["models", "install", "medium"], "unknown model 'medium'"),
        (["models", "install", "--offline", "lite"], "--from DIR pose_landmark_lite"),
        (["models", "path", "--no-install", "heavy"], "posekit models install pose_landmark_heavy"),
        (["models", "verify", "nope"], "unknown model 'nope'"),
    ],
)
def test_errors_are_one_line(
    argv: list[str], expected: str, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err_lines = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("posekit: error")
    ]
    assert len(err_lines) == 1 and expected in err_lines[0]


def test_install_from_a_corrupt_folder_fails_cleanly(
    home: Path, models_src: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((models_src / "pose_detection.tflite").read_bytes())
    data[5000] ^= 0xFF
    (bad / "pose_detection.tflite").write_bytes(bytes(data))
    assert main(["models", "install", "-q", "--from", str(bad), "detector"]) == 2
    err = capsys.readouterr().err
    assert "sha256 mismatch" in err and "posekit models install --from DIR" in err
    assert not (home / "models" / "pose_detection.onnx").exists()


def test_path_installs_on_first_use(
    home: Path,
    models_src: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))
    assert main(["models", "path", "lite"]) == 0
    captured = capsys.readouterr()
    assert captured.out.strip() == str(home / "models" / "pose_landmark_lite.onnx")
    assert "posekit: installing pose_landmark_lite" in captured.err


def test_python_dash_m_models_list(home: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "posekit", "models", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert list(_table(proc.stdout)) == list(MODEL_NAMES)
    assert proc.stderr == ""
