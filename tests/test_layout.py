"""Import direction of the pipeline stages (issue 16): read from the source, every import
statement anywhere in the module (top level, TYPE_CHECKING blocks and function bodies)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import posekit

ROOT = Path(posekit.__file__).parent

STAGE_FORBIDDEN = (
    "posekit.tracker",
    "posekit.analyzers",
    "posekit.sinks",
    "posekit.draw",
    "posekit.cli",
)
PLUGIN_FORBIDDEN = ("posekit.tracker", "posekit.sinks", "posekit.cli", "posekit.draw")

# module, the packages it must never import
LAYERS = [
    *(
        (f"posekit.{m}", STAGE_FORBIDDEN)
        for m in (
            "timestamps",
            "source",
            "image",
            "inference",
            "detector",
            "roi",
            "landmarks",
            "hands",
            "face",
            "filters",
            "results",
            "accuracy",
        )
    ),
    ("posekit.tracker", ("posekit.analyzers", "posekit.sinks", "posekit.draw", "posekit.cli")),
    ("posekit.analyzers.pipeline", PLUGIN_FORBIDDEN),
    ("posekit.analyzers.handoff", PLUGIN_FORBIDDEN),
    ("posekit.analyzers.holistic", PLUGIN_FORBIDDEN),
]


def imported_modules(module: str) -> set[str]:
    path = ROOT.joinpath(*module.split(".")[1:]).with_suffix(".py")
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


@pytest.mark.parametrize(("module", "forbidden"), LAYERS, ids=[m for m, _ in LAYERS])
def test_no_upward_import(module: str, forbidden: tuple[str, ...]) -> None:
    bad = sorted(
        n for n in imported_modules(module) for f in forbidden if n == f or n.startswith(f + ".")
    )
    assert bad == [], f"{module} imports {bad}"


def test_import_posekit_leaves_the_plugins_and_drawing_unloaded() -> None:
    import subprocess
    import sys

    code = (
        "import sys, posekit; posekit.Tracker; "
        "print(sorted(m for m in ('posekit.analyzers', 'posekit.draw') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
