"""Leave-one-out accuracy of the k-NN pose classifier on the yoga images.

Reads ``index.json`` of the yoga folder (``images``: relative path -> ``{"class": ...}``),
extracts one pose per image with ``Tracker(mode="image")``, then for every image trains a
:class:`posekit.analyzers.classifier.PoseClassifier` on all the other images and classifies the
left-out one (top label of the k-NN votes). Images where no pose was found are listed and left
out of the accuracy.

The reference classifier lets 10 neighbours vote. With only a few images per class (4 in the dev
set, so 3 per class in each leave-one-out fold) 10 voters always include whole other classes of
4 samples, which then outvote the left-out image's class of 3: the accuracy for ``k = 10``
measures that bias, not the embedding. The script therefore reports several ``k``
(``--k 10 3 1`` by default).

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_yoga.py [--data DIR] [--k 10 3 1]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from posekit.analyzers.classifier import PoseClassifier
from posekit.tracker import Tracker

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "yoga"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="yoga folder with index.json")
    ap.add_argument(
        "--k",
        nargs="+",
        default=["default", "10", "3", "1"],
        help="voters to evaluate: integers, or 'default' (PoseClassifier's own choice)",
    )
    ap.add_argument("--model", default="full", help="landmark model: lite, full, heavy")
    ap.add_argument("--threads", type=int, default=1, help="onnxruntime threads")
    args = ap.parse_args(argv)
    # Each fold with k > 3 voters logs the small-class warning; the report below explains it.
    logging.getLogger("posekit.analyzers.classifier").setLevel(logging.ERROR)

    index = json.loads((args.data / "index.json").read_text(encoding="utf-8"))
    images: dict[str, dict[str, str]] = index["images"]
    t0 = time.perf_counter()
    rows: list[np.ndarray] = []
    labels: list[str] = []
    names: list[str] = []
    missing: list[str] = []
    with Tracker(model=args.model, mode="image", num_threads=args.threads) as tracker:
        for rel in sorted(images):
            image = cv2.imread(str(args.data / rel))
            pose = None if image is None else tracker.process(image, 0.0).pose
            if pose is None:
                missing.append(rel)
                continue
            rows.append(pose.xyz)
            labels.append(images[rel]["class"])
            names.append(rel)
    extract_s = time.perf_counter() - t0
    landmarks = np.stack(rows)
    n = len(labels)
    classes = sorted(set(labels))
    print(f"data: {args.data} ({len(images)} images, {len(classes)} classes)")
    print(f"pose extraction: {n} poses in {extract_s:.2f} s (model {args.model})")
    print(f"no pose found: {len(missing)}" + (": " + ", ".join(missing) if missing else ""))

    for k_arg in args.k:
        k = None if k_arg == "default" else int(k_arg)
        correct: dict[str, int] = defaultdict(int)
        total: dict[str, int] = defaultdict(int)
        wrong: list[str] = []
        for i in range(n):
            keep = np.arange(n) != i
            clf = PoseClassifier(
                landmarks[keep],
                [lab for j, lab in enumerate(labels) if j != i],
                top_n_by_mean_distance=k,
            )
            got = clf.classify(landmarks[i]).label
            total[labels[i]] += 1
            if got == labels[i]:
                correct[labels[i]] += 1
            else:
                wrong.append(f"{names[i]} -> {got}")
        acc = sum(correct.values()) / n
        print(
            f"\nleave-one-out, top_n_by_mean_distance={k_arg} (voters {clf.k}): "
            f"{sum(correct.values())}/{n} = {acc:.1%}"
        )
        for c in classes:
            print(f"  {c:<20} {correct[c]}/{total[c]}")
        if wrong:
            print("  misclassified:")
            for w in wrong:
                print(f"    {w}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
