"""``posekit models``: list, install, verify and locate the converted models.

Examples (shell)::

    posekit models list
    posekit models install                        # what Tracker() needs: detector + full
    posekit models install heavy                  # PyPI / npm / official URL
    posekit models install --from ~/tflite all    # offline, from a folder of official files
    posekit models verify
    posekit models path full
    posekit models clean                          # free what is not needed

Example:
    >>> from posekit.cli import build_parser
    >>> args = build_parser().parse_args(["models", "install", "--force", "full"])
    >>> args.names, args.force
    (['full'], True)
    >>> build_parser().parse_args(["models", "install"]).names
    []
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator

__all__ = ["register"]

_QUIET_LOGGERS = ("posekit.models", "posekit.convert")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``models`` sub-command and its actions to the ``posekit`` parser."""
    parser = subparsers.add_parser(
        "models",
        help="list, install, verify and locate the pose models",
        description=(
            "Manage posekit's models: the official MediaPipe .tflite files are fetched (a local "
            "folder, the official URL, PyPI or npm), checked against pinned sha256 values, "
            "converted to ONNX and cached ($POSEKIT_HOME overrides the cache folder)."
        ),
    )
    actions = parser.add_subparsers(dest="models_command", metavar="ACTION")
    actions.required = True

    p_list = actions.add_parser(
        "list",
        help="show every model, its aliases, whether installed, and the disk the cache uses",
    )
    p_list.set_defaults(func=_cmd_list)

    p_install = actions.add_parser(
        "install",
        help="fetch, verify and convert models (default: detector + full, what Tracker() needs)",
        description=(
            "Fetch, verify (sha256) and convert models into the cache. With no NAME it installs "
            "what a default Tracker() needs: the detector (pose_detection) and the full landmark "
            "model (pose_landmark_full); 'all' installs every model. A downloaded package (the "
            "mediapipe wheel, the @mediapipe/pose tarball) is kept in the cache, so one download "
            "serves every model it holds; `posekit models clean` frees it."
        ),
    )
    p_install.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help="model names or aliases, or 'all' (default: detector full)",
    )
    p_install.add_argument(
        "--from",
        dest="source",
        action="append",
        metavar="DIR",
        help=(
            "folder holding the official .tflite files (or a downloaded mediapipe .whl / "
            "@mediapipe/pose .tgz); tried before the network; repeatable. "
            "$POSEKIT_MODEL_SOURCE does the same"
        ),
    )
    p_install.add_argument(
        "--force", action="store_true", help="convert again even if already installed"
    )
    p_install.add_argument(
        "--offline", action="store_true", help="do not use the network (cache and --from only)"
    )
    p_install.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p_install.set_defaults(func=_cmd_install)

    p_verify = actions.add_parser(
        "verify",
        help="check installed models (sha256, loads, inputs/outputs); exit 1 on a problem",
    )
    p_verify.add_argument(
        "names", nargs="*", metavar="NAME", help="models to check (default: all installed)"
    )
    p_verify.set_defaults(func=_cmd_verify)

    p_path = actions.add_parser(
        "path", help="print the path of a model's ONNX file (installing it if needed)"
    )
    p_path.add_argument("name", metavar="NAME", help="model name or alias")
    p_path.add_argument(
        "--no-install", action="store_true", help="fail instead of installing a missing model"
    )
    p_path.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p_path.set_defaults(func=_cmd_path)

    p_clean = actions.add_parser(
        "clean",
        help="free the disk the cache does not need (installed models stay)",
        description=(
            "Free disk space in the model cache. Removes temporary files of killed installs "
            "(never those of a running one), runtime copies made for other onnxruntime versions "
            "or CPUs or for models no longer installed, leftovers of interrupted installs and "
            "downloaded package archives (wheel, npm tarball). Installed models and their "
            "runtime copies stay; the verified .tflite sources stay too (a "
            "`models install --force` then needs no download) unless --sources is given."
        ),
    )
    p_clean.add_argument(
        "--sources",
        action="store_true",
        help="also remove the verified .tflite sources (a later install downloads them again)",
    )
    p_clean.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    p_clean.set_defaults(func=_cmd_clean)


@contextlib.contextmanager
def _quiet_logs(args: argparse.Namespace) -> Iterator[None]:
    """Progress lines already tell the story; INFO log duplicates only with ``-v``."""
    saved = {name: logging.getLogger(name).level for name in _QUIET_LOGGERS}
    if not getattr(args, "verbose", False):
        for name in _QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def _cmd_list(args: argparse.Namespace) -> int:
    from posekit.models import cache_dir, installed_models
    from posekit.models.manager import cache_usage, clean_cache
    from posekit.models.manifest import load_manifest

    manifest = load_manifest()
    installed = set(installed_models())
    aliases: dict[str, list[str]] = {}
    for alias, target in manifest.aliases.items():
        aliases.setdefault(target, []).append(alias)
    rows = [("NAME", "ALIASES", "INSTALLED", "SIZE", "LICENCE")]
    for name, spec in manifest.models.items():
        rows.append(
            (
                name,
                ",".join(aliases.get(name, [])) or "-",
                "yes" if name in installed else "no",
                f"{spec.size / 1e6:.1f} MB",
                spec.licence,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    print(f"cache: {cache_dir()}  (SIZE is of the official .tflite download)")
    use = cache_usage()
    parts = [
        f"sources {_mb(use.sources)} (+ package archives {_mb(use.archives)})",
        f"models {_mb(use.models)}",
        f"runtime copies {_mb(use.runtime)}",
    ]
    if use.runtime_other:
        parts.append(f"runtime copies for other onnxruntime/CPU {_mb(use.runtime_other)}")
    if use.temporary:
        parts.append(f"temporary files {_mb(use.temporary)}")
    freeable = sum(size for _, size in clean_cache(dry_run=True))
    hint = f"; `posekit models clean` frees {_mb(freeable)}" if freeable else ""
    print(f"cache: {_mb(use.total)} on disk: {', '.join(parts)}{hint}")
    return 0


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _cmd_install(args: argparse.Namespace) -> int:
    from posekit.models import install
    from posekit.models.manager import DEFAULT_MODELS
    from posekit.models.sources import routes_from_env

    routes = routes_from_env()
    if args.offline:
        routes = tuple(r for r in routes if r in ("cache", "local"))
    with _quiet_logs(args):
        results = install(
            args.names or list(DEFAULT_MODELS),
            source=args.source,
            force=args.force,
            progress=not args.quiet,
            routes=routes,
        )
    for r in results:
        state = "already installed" if r.status == "present" else f"installed from {r.source}"
        print(f"{r.name}: {state}: {r.path}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from posekit.models import cache_dir, verify

    with _quiet_logs(args):
        results = verify(args.names or None)
    if not results:
        print(
            f"posekit: no models installed in {cache_dir()}; "
            "run `posekit models install all` (or NAME...)",
            file=sys.stderr,
        )
        return 1
    failed = 0
    for r in results:
        if r.ok:
            print(f"{r.name}: ok ({r.path})")
        else:
            failed += 1
            print(f"{r.name}: FAILED: {'; '.join(r.problems)}")
    if failed:
        print(f"posekit: {failed} of {len(results)} model(s) failed verification", file=sys.stderr)
        return 1
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from posekit.models.manager import cache_summary, clean_cache

    with _quiet_logs(args):
        removed = clean_cache(sources=args.sources, dry_run=args.dry_run)
    verb = "would remove" if args.dry_run else "removed"
    for path, size in removed:
        print(f"{verb} {path} ({_mb(size)})")
    total = sum(size for _, size in removed)
    what = "would free" if args.dry_run else "freed"
    print(f"posekit: {what} {_mb(total)} ({len(removed)} item(s)); {cache_summary()}")
    return 0


def _cmd_path(args: argparse.Namespace) -> int:
    from posekit.models import model_path

    with _quiet_logs(args):
        path = model_path(args.name, install=not args.no_install, progress=not args.quiet)
    print(path)
    return 0
