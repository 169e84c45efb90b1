"""Print posekit's import graph, read from the source with ``ast`` (nothing is imported).

Every import statement counts: top level, ``TYPE_CHECKING`` blocks and function bodies (lazy
imports); relative imports are resolved. Run from the repository root:

    python docs/design/imports.py            # each module -> the posekit modules it imports
    python docs/design/imports.py --layers   # each layer -> the layers it imports, and by whom

Both end with the import cycles between modules (a package importing its own submodules is not
one) and between layers. ``docs/design/architecture.md`` describes the result.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "posekit"

# the layer of each top-level module or package of posekit, listed bottom-up
LAYERS = {
    "errors": "base",
    "_version": "base",
    "topology": "base",
    "pose": "base",
    "schema": "base",
    "timestamps": "base",
    "outputs": "base",
    "inference": "inference",
    "convert": "convert",
    "models": "models",
    "adaptive": "adaptive",
    "source": "source",
    "image": "image",
    "roi": "roi",
    "detector": "detector",
    "landmarks": "landmarks",
    "hands": "hands/face",
    "face": "hands/face",
    "filters": "filters",
    "results": "results",
    "accuracy": "tracker",
    "tracker": "tracker",
    "sequence": "sequence",
    "analyzers": "analyzers",
    "draw": "sinks/draw",
    "sinks": "sinks/draw",
    "eval": "eval",
    "cli": "cli",
    "__main__": "cli",
    "__init__": "package",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports(path: Path, known: set[str]) -> set[str]:
    """The posekit modules ``path`` imports anywhere (``from m import name``: m, and m.name)."""
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {n for n in found if n in known and n != mod}


def layer(mod: str) -> str:
    parts = mod.split(".")
    return LAYERS.get(parts[1] if len(parts) > 1 else "__init__", "?")


def cycles(graph: dict[str, set[str]], skip_inner: bool) -> list[list[str]]:
    """One cycle through each node that lies on one (depth-first search)."""
    found: dict[frozenset[str], list[str]] = {}
    for start in graph:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for dep in sorted(graph.get(node, ())):
                if skip_inner and dep.startswith(node + "."):
                    continue
                if dep == start:
                    found.setdefault(frozenset(path), [*path, dep])
                elif dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*path, dep]))
    return sorted(found.values())


def main() -> None:
    files = sorted(ROOT.rglob("*.py"))
    known = {module_name(p) for p in files}
    graph = {module_name(p): imports(p, known) for p in files}
    edges: dict[str, dict[str, set[str]]] = {}
    for mod, deps in graph.items():
        for dep in deps:
            if layer(dep) != layer(mod):
                edges.setdefault(layer(mod), {}).setdefault(layer(dep), set()).add(mod)
    if "--layers" in sys.argv:
        for lay in dict.fromkeys(LAYERS.values()):
            print(f"{lay} -> {', '.join(sorted(edges.get(lay, {}))) or '-'}")
            for dep, by in sorted(edges.get(lay, {}).items()):
                print(f"    {dep:11} by {', '.join(sorted(by))}")
    else:
        for mod, deps in graph.items():
            print(f"{mod} -> {', '.join(sorted(deps)) or '-'}")
    module_cycles = cycles(graph, skip_inner=True)
    layer_cycles = cycles({k: set(v) for k, v in edges.items()}, skip_inner=False)
    print("module cycles:", "; ".join(" -> ".join(c) for c in module_cycles) or "none")
    print("layer cycles:", "; ".join(" -> ".join(c) for c in layer_cycles) or "none")


if __name__ == "__main__":
    main()
