"""PCK of posekit and MediaPipe side by side, with the exact protocol of ``posekit eval``.

Both runtimes go through :func:`posekit.eval.evaluate` (same persons, same crops, same
scoring); only the predictor differs. MediaPipe runs its legacy ``mp.solutions.pose`` in static
mode (``static_image_mode=True``, ``smooth_landmarks=False``, ``model_complexity`` 0/1/2), posekit
its tracker in image mode. Run in the benchmark environment (benchmarks/setup_bench_env.sh)::

    .venv-bench/bin/python benchmarks/eval_mediapipe.py \\
        --coco ../shared/data/keypoints/annotations.json --images ../shared/data/keypoints/images \\
        --models lite,full,heavy --json eval_side_by_side.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from posekit.eval import (
    EvalReport,
    Predictor,
    evaluate,
    format_pck_table,
    posekit_predictor,
)
from posekit.topology import COCO17_FROM_BLAZEPOSE

COMPLEXITY = {"lite": 0, "full": 1, "heavy": 2}


@contextmanager
def mediapipe_predictor(model: str) -> Iterator[Predictor]:
    """MediaPipe's legacy solution in static-image mode as a posekit.eval Predictor."""
    import mediapipe as mp

    with mp.solutions.pose.Pose(
        static_image_mode=True,
        model_complexity=COMPLEXITY[model],
        smooth_landmarks=False,
        enable_segmentation=False,
        min_detection_confidence=0.5,
    ) as pose:

        def predict(crop: NDArray[np.uint8]) -> NDArray[np.float64] | None:
            res = pose.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB))
            if res.pose_landmarks is None:
                return None
            h, w = crop.shape[:2]
            xy = np.array([(p.x * w, p.y * h) for p in res.pose_landmarks.landmark], np.float64)
            return xy[COCO17_FROM_BLAZEPOSE]

        yield predict


def _per_person_agreement(a: EvalReport, b: EvalReport) -> dict[str, Any]:
    """How often the two runtimes agree person by person (detection and per-keypoint verdict)."""
    both = sum(
        1 for p, q in zip(a.persons, b.persons, strict=True) if p["detected"] and q["detected"]
    )
    same = sum(
        int(x == y)
        for p, q in zip(a.persons, b.persons, strict=True)
        for x, y, lab in zip(p["correct"], q["correct"], p["labelled"], strict=True)
        if lab
    )
    return {
        "persons_both_detected": both,
        "same_verdict_keypoints": same,
        "labelled_keypoints": int(a.overall.labelled.sum()),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "keypoints"
    ap.add_argument("--coco", type=Path, default=shared / "annotations.json")
    ap.add_argument("--images", type=Path, default=shared / "images")
    ap.add_argument("--models", default="full")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None, help="posekit onnxruntime threads")
    ap.add_argument(
        "--refine-heatmap",
        choices=("default", "on", "off"),
        default="default",
        help="posekit's refine_heatmap (MediaPipe always refines)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    doc: dict[str, Any] = {"annotations": str(args.coco), "images": str(args.images), "models": {}}
    for model in [m.strip() for m in args.models.split(",") if m.strip()]:
        refine = None if args.refine_heatmap == "default" else args.refine_heatmap == "on"
        with posekit_predictor(model, args.threads, refine) as pk:
            rep_pk = evaluate(
                args.coco, args.images, pk, runtime=f"posekit-{model}", limit=args.limit
            )
        with mediapipe_predictor(model) as mp_pred:
            rep_mp = evaluate(
                args.coco, args.images, mp_pred, runtime=f"mediapipe-{model}", limit=args.limit
            )
        print(f"\n=== {model}: posekit (image mode) vs MediaPipe legacy (static_image_mode) ===")
        print(
            format_pck_table([(rep_pk.runtime, rep_pk.overall), (rep_mp.runtime, rep_mp.overall)])
        )
        print("\nper source dataset: mean PCK micro % / macro % / detection rate % (persons)")
        for ds in rep_pk.per_dataset:
            a, b = rep_pk.per_dataset[ds], rep_mp.per_dataset[ds]
            print(
                f"  {ds:10} posekit {100 * a.pck_micro:5.1f} / {100 * a.pck_macro:5.1f} / "
                f"{100 * a.detection_rate:5.1f}   mediapipe {100 * b.pck_micro:5.1f} / "
                f"{100 * b.pck_macro:5.1f} / {100 * b.detection_rate:5.1f}   ({a.persons})"
            )
        agree = _per_person_agreement(rep_pk, rep_mp)
        print(
            f"persons detected by both: {agree['persons_both_detected']}/{rep_pk.overall.persons}; "
            f"same correct/wrong verdict on {agree['same_verdict_keypoints']}/"
            f"{agree['labelled_keypoints']} labelled keypoints"
        )
        doc["models"][model] = {
            "posekit": rep_pk.to_dict(),
            "mediapipe": rep_mp.to_dict(),
            "agreement": agree,
            "posekit_refine_heatmap": args.refine_heatmap,
        }
    if args.json:
        args.json.write_text(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
