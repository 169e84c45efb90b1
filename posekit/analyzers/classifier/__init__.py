"""k-NN pose classifier (yoga poses, exercise states) and a classifier-driven repetition counter.

This follows MediaPipe's pose classification guide (the ML Kit port uses the same numbers):

* **Embedding** (:func:`pose_embedding`): landmarks ``[x, y, z]`` in pixels (``z`` on the scale of
  ``x``) minus the hip centre, divided by the pose size ``max(2.5 * torso, max distance of any
  landmark from the hip centre)`` measured in 2D (torso = hip centre to shoulder centre), times
  100; the features are 23 difference vectors between joints (:data:`EMBEDDING_PAIRS`). The
  list is the reference's, including its hip-to-wrist pairs counted twice.
* **k-NN** (:meth:`PoseClassifier.classify`): keep the 30 samples nearest by the maximum
  per-coordinate absolute difference, then the 10 nearest of those by the mean absolute
  difference; the axes are weighted ``(1, 1, 0.2)`` (depth counts less); every distance is the
  smaller of the distance to the pose and to its **mirror image** (x negated and left/right
  swapped), so a pose done on the other side matches too. The result is a vote count out of 10
  per class (:class:`ClassVotes`).
* **Stream smoothing** (:class:`EMAVoteSmoother`, :class:`PoseClassifierAnalyzer`): exponential
  moving average of the vote vectors over the last 10 frames, ``alpha = 0.2``.
* **Repetition counter** (:class:`ClassRepCounter`): a repetition starts when the smoothed votes
  of the target class rise above 6 and is counted when they fall below 4 (hysteresis); its
  output is the :class:`~posekit.analyzers.reps.RepCount` of every rep counter.

Training: from a folder of labelled images, one sub-folder per class, poses extracted with the
tracker in image mode (:meth:`PoseClassifier.from_image_folder`), or from recorded poses
(:meth:`PoseClassifier.from_poses`). Models are saved as JSON or ``.npz`` (no pickle) with a
format version; :meth:`PoseClassifier.load` raises :class:`~posekit.errors.InputError` naming the
problem for a file that is not a valid model.

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> def stick(arm_y: float) -> Pose:
    ...     xy = np.tile(np.float32([100.0, 100.0]), (33, 1))
    ...     xy[[11, 12], 1] = 60.0; xy[[23, 24], 1] = 120.0      # shoulders, hips
    ...     xy[[11, 23, 13, 15, 25, 27], 0] = 110.0              # person's left side
    ...     xy[[12, 24, 14, 16, 26, 28], 0] = 90.0
    ...     xy[[13, 14], 1] = 60.0 + arm_y / 2; xy[[15, 16], 1] = 60.0 + arm_y
    ...     xy[[25, 26], 1] = 150.0; xy[[27, 28], 1] = 180.0
    ...     return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
    >>> samples = [("up", stick(-40.0)), ("down", stick(40.0))]
    >>> clf = PoseClassifier.from_poses(samples, top_n_by_mean_distance=1)  # 1 sample per class
    >>> clf.classify(stick(-35.0)).votes
    {'down': 0.0, 'up': 1.0}
"""

from posekit.analyzers.classifier.embedding import (
    DEFAULT_AXIS_WEIGHTS,
    EMBEDDING_PAIRS,
    mirror_landmarks,
    pose_embedding,
)
from posekit.analyzers.classifier.fileformat import (
    FORMAT_NAME,
    FORMAT_VERSION,
    MAX_FILE_BYTES,
    file_sha256,
)
from posekit.analyzers.classifier.folder import (
    IMAGE_EXTENSIONS,
    FolderSamples,
    extract_folder_samples,
)
from posekit.analyzers.classifier.model import ClassVotes, PoseClassifier
from posekit.analyzers.classifier.stream import (
    CLASS_REP_WORDS,
    ClassRepCounter,
    EMAVoteSmoother,
    PoseClassifierAnalyzer,
)

__all__ = [
    "CLASS_REP_WORDS",
    "DEFAULT_AXIS_WEIGHTS",
    "EMBEDDING_PAIRS",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "IMAGE_EXTENSIONS",
    "MAX_FILE_BYTES",
    "ClassRepCounter",
    "ClassVotes",
    "EMAVoteSmoother",
    "FolderSamples",
    "PoseClassifier",
    "PoseClassifierAnalyzer",
    "extract_folder_samples",
    "file_sha256",
    "mirror_landmarks",
    "pose_embedding",
]
