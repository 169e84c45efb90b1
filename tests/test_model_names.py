"""The one model-name table (posekit.models.manifest) and the import direction of models/ and
convert/ (issue 16: one model-name table; models/ imports point down, runtime never installs)."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from posekit.errors import InputError, ModelError
from posekit.models import load_manifest, store
from posekit.models.manifest import (
    ALIASES,
    DEFAULT_LANDMARK_MODEL,
    DEFAULT_MODELS,
    LANDMARK_MODELS,
    MODEL_NAMES,
    MODEL_TABLE,
    UnknownModelError,
    model_entry,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("given", "role", "expected", "error"),
    [
        ("detector", None, "pose_detection", None),
        ("lite", None, "pose_landmark_lite", None),
        (" Heavy ", None, "pose_landmark_heavy", None),
        ("pose_landmark_full.onnx", None, "pose_landmark_full", None),
        ("face_landmark", None, "face_landmark", None),
        ("0", "pose_landmarks", "pose_landmark_lite", None),
        (1, "pose_landmarks", "pose_landmark_full", None),
        (2, "pose_landmarks", "pose_landmark_heavy", None),
        ("pose_landmark_heavy", "pose_landmarks", "pose_landmark_heavy", None),
        ("full", "pose_landmarks", "pose_landmark_full", None),
        ("detector", "pose_landmarks", None, "is not a pose landmark model: choose 'lite'"),
        ("hand_landmark_full", "pose_landmarks", None, "is not a pose landmark model"),
        ("medium", "pose_landmarks", None, "unknown model 'medium'; choose 'lite', 'full'"),
        ("medium", None, None, "unknown model 'medium'; valid names: pose_detection"),
        ("", None, None, "unknown model ''"),
        ("all", None, None, "unknown model 'all'"),
        (3, "pose_landmarks", None, "unknown model 3"),
    ],
)
def test_model_entry(given: str | int, role: str | None, expected: str | None, error: str) -> None:
    if error is None:
        assert model_entry(given, role=role).name == expected  # type: ignore[arg-type]
        return
    with pytest.raises(UnknownModelError, match=error) as info:
        model_entry(given, role=role)  # type: ignore[arg-type]
    assert isinstance(info.value, InputError) and isinstance(info.value, ModelError)


def test_table_is_the_manifest_and_the_derived_names() -> None:
    assert tuple(load_manifest().models) == MODEL_NAMES == tuple(m.name for m in MODEL_TABLE)
    assert dict(load_manifest().aliases) == dict(ALIASES)
    assert LANDMARK_MODELS == ("lite", "full", "heavy")
    assert DEFAULT_LANDMARK_MODEL == "full"
    assert DEFAULT_MODELS == ("pose_detection", "pose_landmark_full")
    assert all(m.purpose for m in MODEL_TABLE)


def _choices(parser: argparse.ArgumentParser, *words: str) -> tuple[object, object]:
    """``choices`` and ``default`` of ``--model`` of the sub-command reached through ``words``."""
    for word in words:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[word]
    action = next(a for a in parser._actions if "--model" in a.option_strings)
    return tuple(action.choices or ()), action.default


@pytest.mark.parametrize("words", [("run",), ("eval",), ("yoga", "fit")])
def test_cli_model_choices_come_from_the_table(words: tuple[str, ...]) -> None:
    from posekit.cli import build_parser

    assert _choices(build_parser(), *words) == (LANDMARK_MODELS, DEFAULT_LANDMARK_MODEL)


@pytest.mark.parametrize(
    ("model", "error"),
    [("ultra", "unknown model 'ultra'"), ("detector", "is not a pose landmark model")],
)
def test_landmark_model_resolves_through_the_table(model: str, error: str) -> None:
    from posekit.landmarks import LandmarkModel

    with pytest.raises(InputError, match=error):
        LandmarkModel(model=model)


def test_runtime_loads_only_what_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, models_src: Path
) -> None:
    """A source is configured, so an install would succeed: the runtime must refuse instead."""
    from posekit.models.runtime import load_runtime_session

    monkeypatch.setenv("POSEKIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSEKIT_MODEL_SOURCE", str(models_src))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "cache,local")
    with pytest.raises(ModelError, match=r"is not installed .*posekit models install"):
        load_runtime_session("detector", num_threads=1)
    assert store.tree_size(tmp_path / "home") == 0


# -- import direction ---------------------------------------------------------------------------
def _imports(path: Path) -> set[str]:
    """posekit modules ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return {m for m in found if m == "posekit" or m.startswith("posekit.")}


def _graph(*packages: str) -> dict[str, set[str]]:
    modules = {
        f"posekit.{pkg}.{p.stem}".removesuffix(".__init__"): p
        for pkg in packages
        for p in sorted((REPO / "posekit" / pkg).glob("*.py"))
    }
    return {name: _imports(path) & set(modules) - {name} for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_models_and_convert_have_no_import_cycle() -> None:
    graph = _graph("models", "convert")
    graph = {k: {v for v in vs if not v.endswith(("models", "convert"))} for k, vs in graph.items()}
    assert _cycle(graph) == []


@pytest.mark.parametrize(
    ("module", "must_not_import"),
    [
        ("models.manifest", ("posekit.models.",)),
        ("models.store", ("posekit.models.manager", "posekit.models.runtime")),
        ("models.variants", ("posekit.models.manager", "posekit.models.runtime")),
        ("models.runtime", ("posekit.models.manager", "posekit.models.sources")),
        ("models.cleanup", ("posekit.models.manager", "posekit.models.runtime")),
        ("models.archives", ("posekit.models.sources", "posekit.models.manager")),
        ("models.packages", ("posekit.models.sources", "posekit.models.manager")),
        ("convert._api", ("posekit.models", "posekit.tracker")),
    ],
)
def test_imports_point_down(module: str, must_not_import: tuple[str, ...]) -> None:
    imported = _imports(REPO / "posekit" / (module.replace(".", "/") + ".py"))
    allowed = {"posekit.models.manifest"} if module == "models.manifest" else set()
    assert "posekit" not in imported  # the package itself (for __version__: posekit._version)
    bad = sorted(m for m in imported - allowed if m.startswith(must_not_import))
    assert bad == []
