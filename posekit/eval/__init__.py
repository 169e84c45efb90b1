"""Keypoint accuracy on COCO-format annotations: PCK at 0.2 x torso size, one person per crop.

The protocol, fixed so that posekit and other BlazePose runtimes (MediaPipe) are scored
identically:

1. Every annotated person (category ``person``, not ``iscrowd``) with both shoulders and both
   hips labelled (``v > 0``) is evaluated; other annotations are skipped and counted.
2. The crop is a square around the centre of the annotation's ``bbox``, side
   ``round(1.5 x max(w, h))`` pixels, zero-padded where it leaves the image (:func:`crop_box`,
   :func:`extract_crop`). Because the crop is an integer translation of the image, points map
   back to image coordinates exactly by adding the crop's top-left corner.
3. The pose runtime runs on the crop in single-image mode (detector on every call, no
   smoothing); its 33 keypoints are mapped to COCO-17.
4. A labelled keypoint (``v > 0``) is correct when its pixel distance to the prediction, in
   image coordinates, is strictly below ``0.2 x torso``, where torso =
   ``max(|left shoulder - right hip|, |right shoulder - left hip|)`` from the annotation
   (:func:`torso_diagonal`, :func:`score_person`). No detection: every labelled keypoint of that
   person counts as wrong. The predicted visibility is not used.
5. Mean PCK is reported two ways (:class:`PckSummary`): *micro* = correct / labelled over all
   labelled keypoints pooled, and *macro* = the mean of the per-keypoint PCKs over keypoint types
   that have at least one label. They differ when keypoint types are labelled unequally often
   (MPII/AIC/CrowdPose have no face keypoints).

Example:
    >>> import numpy as np
    >>> from posekit.eval import PckAccumulator, crop_box, score_person, torso_diagonal
    >>> crop_box([10.0, 20.0, 40.0, 80.0])  # centre (30, 60), side 1.5 x 80
    CropBox(x0=-30, y0=0, side=120)
    >>> gt = np.zeros((17, 3))
    >>> gt[[5, 6, 11, 12]] = [[0, 0, 2], [30, 0, 2], [0, 40, 2], [30, 40, 2]]
    >>> torso_diagonal(gt)
    50.0
    >>> pred = gt[:, :2] + [9.0, 0.0]  # 9 px off: below 0.2 x 50 = 10 px
    >>> score = score_person(gt, pred)
    >>> int(score.correct.sum()), int(score.labelled.sum())
    (4, 4)
    >>> acc = PckAccumulator(); acc.add(score); acc.summary().pck_micro
    1.0
"""

from posekit.eval.coco import EvalTarget, load_targets
from posekit.eval.pck import (
    CROP_SCALE,
    PCK_THRESHOLD,
    CropBox,
    PckAccumulator,
    PckSummary,
    PersonScore,
    crop_box,
    extract_crop,
    format_pck_table,
    score_person,
    torso_diagonal,
)
from posekit.eval.run import (
    EvalReport,
    Predictor,
    ProgressCallback,
    evaluate,
    evaluate_posekit,
    posekit_predictor,
)

__all__ = [
    "CROP_SCALE",
    "PCK_THRESHOLD",
    "CropBox",
    "EvalReport",
    "EvalTarget",
    "PckAccumulator",
    "PckSummary",
    "PersonScore",
    "Predictor",
    "ProgressCallback",
    "crop_box",
    "evaluate",
    "evaluate_posekit",
    "extract_crop",
    "format_pck_table",
    "load_targets",
    "posekit_predictor",
    "score_person",
    "torso_diagonal",
]
