"""Shared fixtures: where the third-party data lives (never inside the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("POSEKIT_SHARED", REPO.parent / "shared")).resolve()
MODELS_SRC = SHARED / "models-src"
DATA = SHARED / "data"
PEER_DATA = SHARED / "peer-data"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ``../shared`` folder beside the checkout (``POSEKIT_SHARED`` overrides)."""
    if not SHARED.is_dir():
        pytest.fail(
            f"third-party test data not found at {SHARED}: clone the project next to ../shared "
            "or set POSEKIT_SHARED"
        )
    return SHARED


@pytest.fixture(scope="session")
def models_src(shared_dir: Path) -> Path:
    """Folder of the official source ``.tflite`` files."""
    return shared_dir / "models-src"
