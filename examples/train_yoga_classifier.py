"""Train a yoga pose classifier from a folder of labelled images and test it on held-out ones.

The folder holds one sub-folder per pose (``yoga/tree/*.jpg``, ``yoga/warrior/*.jpg``...).
Every 4th image of each class is held out for testing, the rest train a k-NN classifier
(MediaPipe's pose classification method), which is saved as ``.npz``.

Usage: python examples/train_yoga_classifier.py FOLDER [OUT.npz]   (or set POSEKIT_YOGA_DIR)
Then:  posekit yoga predict OUT.npz some_photo.jpg   (or a video, or 0 for the camera)
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

import posekit
from posekit.analyzers import PoseClassifier, extract_folder_samples


def main() -> int:
    folder = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("POSEKIT_YOGA_DIR")
    if not folder:
        print("usage: train_yoga_classifier.py FOLDER [OUT.npz] (or set POSEKIT_YOGA_DIR)")
        return 2
    out = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("yoga.npz")

    with posekit.Tracker(mode="image") as tracker:
        samples = extract_folder_samples(folder, tracker)
    print(f"{len(samples.labels)} poses found, {len(samples.missing)} images without a person")

    seen: Counter[str] = Counter()
    train, test = [], []
    for i, label in enumerate(samples.labels):
        seen[label] += 1
        (test if seen[label] % 4 == 0 else train).append(i)
    per_class = Counter(samples.labels[i] for i in train)
    clf = PoseClassifier(
        samples.landmarks[train],
        [samples.labels[i] for i in train],
        [samples.names[i] for i in train],
        top_n_by_mean_distance=min(10, min(per_class.values())),  # a few images per class
    )
    right = sum(clf.classify(samples.landmarks[i]).label == samples.labels[i] for i in test)
    print(f"held-out accuracy: {right}/{len(test)} over {len(clf.classes)} classes")
    clf.save(out)
    print(f"saved {out}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except posekit.PosekitError as exc:  # a missing file or folder, no camera: one line, exit 2
        print(f"train_yoga_classifier: error: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
