"""Attacks on posekit for ``benchmarks/attack.py`` (issue #14): one module per area.

Each module defines ``ATTACKS: list[Attack]``. An attack's ``run(tmp)`` gets an empty folder of
its own, does what a hostile or careless user would, and returns one line saying how posekit
held (``"refused: exit 2, posekit: ..."``); it raises ``AssertionError`` when the defence did
not hold. ``attack.py`` runs every attack in a child process with a time and memory limit, so a
segfault, a hang or a memory bomb shows up as a failed defence instead of ending the script.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("POSEKIT_SHARED", REPO.parent / "shared")).resolve()


@dataclass(frozen=True)
class Attack:
    """One attack: ``klass`` names the defect class of issue #14 it probes (``"1 output
    overwrites input"``), ``name`` the instance; ``timeout_s`` and ``memory_gb`` bound the child."""

    klass: str
    name: str
    run: Callable[[Path], str]
    timeout_s: float = 120.0
    memory_gb: float = 8.0


def sha256(path: Path) -> str:
    """Hex sha256 of a file (data-loss attacks compare an input before and after)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cli(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = 120.0,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a posekit console entry (``["posekit", "run", ...]`` or ``["posekit-squats", ...]``)
    with this interpreter, capturing text output."""
    module = {"posekit": "posekit", "posekit-squats": "posekit_apps.squats"}[args[0]]
    return subprocess.run(
        [sys.executable, "-m", module, *args[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def one_line_error(proc: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """Assert a refusal: exit ``code``, no traceback, and return the last stderr line."""
    err = proc.stderr.strip()
    assert proc.returncode == code, f"exit {proc.returncode} (wanted {code}): {err[-300:]}"
    assert "Traceback" not in err, f"traceback: {err[-300:]}"
    last = err.splitlines()[-1] if err else ""
    return f"exit {code}: {last[:120]}"
