"""Before/after accuracy of the tracker's accuracy policies, with the ``posekit eval`` protocol.

For every landmark model and setting (``fast`` = MediaPipe's single pass, ``balanced``,
``best``, each with the test-time flip off and on) it prints PCK@0.2 (micro and macro), the
detection rate and the milliseconds per image spent in the tracker (the predictor call only:
image decoding and protocol cropping excluded), then, for one model (``--per-dataset``, default
full), the same figures per source dataset. Which recovery pass found the person is counted too.

The MediaPipe column comes from the benchmark environment (its own numbers do not depend on
posekit)::

    .venv-bench/bin/python benchmarks/eval_mediapipe.py --models lite,full,heavy

Run::

    PYTHONPATH=. .venv/bin/python benchmarks/bench_accuracy.py \\
        --coco ../shared/data/keypoints/annotations.json \\
        --images ../shared/data/keypoints/images --models lite,full,heavy --json acc.json
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from posekit.eval import EvalReport, evaluate
from posekit.tracker import Tracker

SETTINGS: list[tuple[str, str, bool]] = [
    ("fast", "fast", False),
    ("fast+flip", "fast", True),
    ("balanced", "balanced", False),
    ("balanced+flip", "balanced", True),
    ("best", "best", False),
    ("best+flip", "best", True),
]


def run_setting(
    coco: Path, images: Path, model: str, accuracy: str, flip: bool, threads: int | None
) -> tuple[EvalReport, float, dict[str, int]]:
    """Evaluate one setting; returns the report, ms per image and found-by counts."""
    found: collections.Counter[str] = collections.Counter()
    spent: list[float] = []
    with Tracker(
        model=model, mode="image", smooth=False, num_threads=threads, accuracy=accuracy, flip=flip
    ) as tracker:

        def predict(crop: NDArray[np.uint8]) -> NDArray[np.float64] | None:
            t0 = time.perf_counter()
            r = tracker.process(crop)
            spent.append(time.perf_counter() - t0)
            found[r.found_by or "none"] += 1
            if r.pose is None:
                return None
            return np.asarray(r.pose.to_coco17()[:, :2], dtype=np.float64)

        predict(np.zeros((256, 256, 3), np.uint8))  # warm-up, not counted
        spent.clear()
        found.clear()
        report = evaluate(coco, images, predict, runtime=f"{model}-{accuracy}")
    return report, 1e3 * float(np.median(spent)), dict(found)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "keypoints"
    ap.add_argument("--coco", type=Path, default=shared / "annotations.json")
    ap.add_argument("--images", type=Path, default=shared / "images")
    ap.add_argument("--models", default="lite,full,heavy")
    ap.add_argument("--settings", default=",".join(name for name, _, _ in SETTINGS))
    ap.add_argument("--per-dataset", default="full", help="model whose per-dataset rows print")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    wanted = [s.strip() for s in args.settings.split(",") if s.strip()]
    settings = [s for s in SETTINGS if s[0] in wanted]
    doc: dict[str, Any] = {"rows": []}
    print(
        f"{'model':6} {'setting':14} {'PCK micro':>9} {'macro':>6} {'det %':>6} "
        f"{'ms/img':>7}  found by"
    )
    per_ds: dict[str, EvalReport] = {}
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        for name, accuracy, flip in settings:
            rep, ms, found = run_setting(
                args.coco, args.images, model, accuracy, flip, args.threads
            )
            o = rep.overall
            print(
                f"{model:6} {name:14} {100 * o.pck_micro:9.1f} {100 * o.pck_macro:6.1f} "
                f"{100 * o.detection_rate:6.1f} {ms:7.1f}  "
                + ", ".join(f"{k} {v}" for k, v in sorted(found.items())),
                flush=True,
            )
            doc["rows"].append(
                {
                    "model": model,
                    "setting": name,
                    "accuracy": accuracy,
                    "flip": flip,
                    "ms_per_image_median": round(ms, 2),
                    "found_by": found,
                    "overall": o.to_dict(),
                    "per_dataset": {k: v.to_dict() for k, v in rep.per_dataset.items()},
                }
            )
            if model == args.per_dataset:
                per_ds[name] = rep
    if per_ds:
        print(f"\nper source dataset ({args.per_dataset}): PCK micro / macro / detection %")
        datasets = sorted({d for rep in per_ds.values() for d in rep.per_dataset})
        print(f"{'setting':14} " + " ".join(f"{d:>20}" for d in datasets))
        for name, rep in per_ds.items():
            cells = []
            for d in datasets:
                s = rep.per_dataset.get(d)
                cells.append(
                    "n/a".rjust(20)
                    if s is None
                    else f"{100 * s.pck_micro:5.1f}/{100 * s.pck_macro:5.1f}/"
                    f"{100 * s.detection_rate:5.1f} ({s.persons})".rjust(20)
                )
            print(f"{name:14} " + " ".join(cells))
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
