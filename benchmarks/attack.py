"""Attack posekit as a hostile or careless user would and print which defences held (issue #14).

Every attack in ``benchmarks/attacks/*.py`` runs in a child process of its own, with a
wall-clock timeout and an address-space limit, so a segfault, a hang or a memory bomb is
reported as a failed defence (``CRASH signal 11``, ``HANG``, ``MEMORY``) rather than ending the
script. The exit status is the number of attacks that were not held off (0: all held).

Usage (from the repository root, with posekit installed and ``../shared`` beside it)::

    python benchmarks/attack.py            # all attacks, a table on stdout
    python benchmarks/attack.py --list     # what would run
    python benchmarks/attack.py -k output  # only attacks whose class or name contains "output"
    python benchmarks/attack.py --json results.json
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from attacks import Attack


def discover() -> list[tuple[str, int, Attack]]:
    """Every attack as ``(module, index, attack)`` in module order."""
    import attacks

    found: list[tuple[str, int, Attack]] = []
    for info in sorted(pkgutil.iter_modules(attacks.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"attacks.{info.name}")
        for i, attack in enumerate(getattr(module, "ATTACKS", [])):
            found.append((info.name, i, attack))
    return found


def _child(module: str, index: int, tmp: str) -> int:
    attack = importlib.import_module(f"attacks.{module}").ATTACKS[index]
    try:
        outcome = attack.run(Path(tmp))
    except AssertionError as exc:
        print(f"FAILED {exc}".replace("\n", " ")[:300])
        return 1
    print(f"held {outcome}".replace("\n", " ")[:300])
    return 0


def run_one(module: str, index: int, attack: Attack) -> tuple[bool, str, float]:
    """Run one attack in a child; ``(held, what happened, seconds)``."""
    limit = int(attack.memory_gb * 2**30)

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="posekit-attack-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, __file__, "--child", module, str(index), tmp],
                capture_output=True,
                text=True,
                timeout=attack.timeout_s,
                preexec_fn=limits,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False, f"HANG: no result after {attack.timeout_s:.0f} s", attack.timeout_s
    seconds = time.perf_counter() - start
    lines = proc.stdout.strip().splitlines()
    last = lines[-1] if lines else ""
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        return False, f"CRASH: {name}", seconds
    if "MemoryError" in proc.stderr and not last:
        return False, f"MEMORY: over {attack.memory_gb:g} GB", seconds
    if proc.returncode == 0 and last.startswith("held "):
        return True, last[5:], seconds
    detail = last or (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return False, detail, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("-k", default="", help="only attacks whose class or name contains this")
    p.add_argument("--list", action="store_true", help="list the attacks and exit")
    p.add_argument("--json", type=Path, help="also write the results as JSON")
    p.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        return _child(args.child[0], int(args.child[1]), args.child[2])
    chosen = [
        (m, i, a) for m, i, a in discover() if args.k.lower() in f"{a.klass} {a.name}".lower()
    ]
    if args.list:
        for _, _, a in chosen:
            print(f"{a.klass:40} {a.name}")
        return 0
    failed = 0
    rows = []
    for module, index, attack in chosen:
        held, what, seconds = run_one(module, index, attack)
        failed += not held
        rows.append(
            {
                "class": attack.klass,
                "attack": attack.name,
                "held": held,
                "outcome": what,
                "seconds": round(seconds, 2),
            }
        )
        mark = "held " if held else "BROKE"
        print(
            f"{mark} {seconds:6.1f}s  {attack.klass[:34]:34}  {attack.name[:48]:48}  {what}",
            flush=True,
        )
    print(f"\n{len(rows) - failed} of {len(rows)} attacks held off")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return min(failed, 125)


if __name__ == "__main__":
    raise SystemExit(main())
