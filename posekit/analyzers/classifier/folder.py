"""Training poses from a folder of labelled images (``folder/<class>/*.jpg``).

Example:
    >>> try:
    ...     extract_folder_samples("no/such/folder")
    ... except InputError as exc:
    ...     print(str(exc).split(":")[0])
    training folder no/such/folder does not exist or is not a directory
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt

from posekit.errors import InputError
from posekit.topology import NUM_KEYPOINTS

if TYPE_CHECKING:
    from posekit.tracker import Tracker

__all__ = ["IMAGE_EXTENSIONS", "FolderSamples", "extract_folder_samples"]

logger = logging.getLogger(__name__)

F32Array = npt.NDArray[np.float32]

IMAGE_EXTENSIONS: Final = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
"""File name endings :meth:`PoseClassifier.from_image_folder` treats as images."""


@dataclass(frozen=True, slots=True)
class FolderSamples:
    """Poses extracted from a folder of labelled images.

    Attributes:
        landmarks: ``(N, 33, 3)`` float32 ``[x, y, z]`` pixels of the images with a pose.
        labels: class (sub-folder name) of each sample.
        names: path of each sample relative to the folder (POSIX separators).
        missing: relative paths of images where no pose was found (or that could not be read).
    """

    landmarks: F32Array
    labels: tuple[str, ...]
    names: tuple[str, ...]
    missing: tuple[str, ...] = ()


def extract_folder_samples(
    folder: str | Path,
    tracker: Tracker | None = None,
    *,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> FolderSamples:
    """Run the tracker in image mode on every image of ``folder/<class>/`` (sorted order).

    ``tracker`` defaults to ``posekit.tracker.Tracker(mode="image")``; a video-mode tracker is
    refused (frames of a folder are independent). Images where no pose is found are listed in
    :attr:`FolderSamples.missing` (and logged), not raised.

    Raises:
        InputError: ``folder`` is not a directory, has no class sub-folders, or ``tracker`` is in
            video mode.
    """
    import cv2

    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            f"training folder {root} does not exist or is not a directory: pass a folder with "
            "one sub-folder of images per class"
        )
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise InputError(
            f"{root} has no class sub-folders: put the images of each class in their own "
            "sub-folder (e.g. yoga/tree/*.jpg, yoga/warrior/*.jpg)"
        )
    own = tracker is None
    if tracker is None:
        from posekit.tracker import Tracker

        tracker = Tracker(mode="image")
    elif tracker.mode != "image":
        raise InputError(
            "extract_folder_samples needs a tracker in image mode (independent frames): pass "
            "Tracker(mode='image')"
        )
    exts = tuple(e.lower() for e in extensions)
    rows: list[F32Array] = []
    labels: list[str] = []
    names: list[str] = []
    missing: list[str] = []
    try:
        for class_dir in class_dirs:
            for path in sorted(class_dir.iterdir()):
                if not path.is_file() or not path.name.lower().endswith(exts):
                    continue
                rel = path.relative_to(root).as_posix()
                image = cv2.imread(str(path), cv2.IMREAD_COLOR)
                pose = None if image is None else tracker.process(image, 0.0).pose
                if pose is None:
                    logger.info(
                        "no pose found in %s (%s)",
                        rel,
                        "unreadable" if image is None else "no person detected",
                    )
                    missing.append(rel)
                    continue
                rows.append(pose.xyz)
                labels.append(class_dir.name)
                names.append(rel)
    finally:
        if own:
            tracker.close()
    # Independent images of different sizes: not one sequence (whose pixels share a frame).
    landmarks = np.stack(rows) if rows else np.empty((0, NUM_KEYPOINTS, 3), np.float32)
    return FolderSamples(landmarks, tuple(labels), tuple(names), tuple(missing))
