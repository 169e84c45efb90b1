"""BlazePose landmark model: crop the ROI, run the model, decode 39 points back to the image.

:class:`LandmarkModel` follows MediaPipe's ``pose_landmark_by_roi_cpu`` graph: it crops the
:class:`~posekit.roi.RotatedRect` to 256x256 and returns, in image pixels, the 33 body points
(``z`` on the scale of ``x``), the auxiliary ROI points 33/34, visibility and presence
probabilities, world landmarks in metres (origin between the hips) and, when asked for, the
segmentation mask. Heatmap refinement is on by default (``refine_heatmap``). The decoding step
by step: ``docs/design/tracking.md``.

Example:
    >>> import numpy as np
    >>> from posekit.landmarks import LandmarkModel
    >>> from posekit.roi import RotatedRect
    >>> model = LandmarkModel(model="full")  # doctest: +SKIP
    >>> est = model.estimate(frame, RotatedRect(320, 240, 400, 400))  # doctest: +SKIP
    >>> est.landmarks.shape, est.score  # doctest: +SKIP
    ((33, 3), 0.99...)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from posekit.errors import InputError, ModelError
from posekit.image import Frame, as_frame, crop_to_tensor
from posekit.inference import ModelRunner
from posekit.roi import BorderMode, RoiCropper, RotatedRect
from posekit.topology import FLIP_PERMUTATION

__all__ = [
    "LANDMARK_INPUT_SIZE",
    "NUM_BODY_LANDMARKS",
    "NUM_MODEL_LANDMARKS",
    "LandmarkEstimate",
    "LandmarkModel",
    "LandmarkTensors",
    "average_estimates",
    "landmark_complexity",
    "refine_from_heatmap",
]

LANDMARK_INPUT_SIZE = 256
NUM_MODEL_LANDMARKS = 39
NUM_BODY_LANDMARKS = 33
_AUX = slice(33, 35)
_INPUT_NAME = "input_1"
_OUT_LANDMARKS = "Identity"
_OUT_PRESENCE = "Identity_1"
_OUT_SEGMENTATION = "Identity_2"
_OUT_HEATMAP = "Identity_3"
_OUT_WORLD = "Identity_4"

#: Left/right swap of the 39 model points (the 6 auxiliary/unused points map to themselves).
_FLIP39 = np.concatenate([FLIP_PERMUTATION, np.arange(NUM_BODY_LANDMARKS, NUM_MODEL_LANDMARKS)])


def landmark_complexity(model: object) -> str | None:
    """The complexity (``"lite"``, ``"full"``, ``"heavy"``) that ``model`` names, or None.

    Accepts every spelling of a pose landmark model the model-name table knows
    (:func:`posekit.models.model_entry`): the complexity, MediaPipe's ``model_complexity`` 0/1/2
    and the model manager name, in any case.

    >>> landmark_complexity("Pose_Landmark_Heavy"), landmark_complexity(0), landmark_complexity("x")
    ('heavy', 'lite', None)
    """
    from posekit.models.manifest import UnknownModelError, model_entry

    try:
        return model_entry(str(model), role="pose_landmarks").alias
    except UnknownModelError:
        return None


@dataclass(frozen=True, slots=True)
class LandmarkTensors:
    """Raw landmark-model outputs for one crop (batch dimension removed)."""

    landmarks: NDArray[np.float32]  # (39, 5)
    presence: float
    world: NDArray[np.float32]  # (39, 3)
    heatmap: NDArray[np.float32] | None = None  # (64, 64, 39) logits
    segmentation: NDArray[np.float32] | None = None  # (256, 256) logits


@dataclass(frozen=True, slots=True)
class LandmarkEstimate:
    """Decoded landmarks of one frame, in image pixels (before any temporal smoothing).

    Attributes:
        landmarks: ``(33, 3)`` float32 x, y, z in image pixels (z: depth relative to the hips,
            same scale as x, smaller = closer to the camera).
        visibility: ``(33,)`` probability that the point is visible (not occluded).
        presence: ``(33,)`` probability that the point is inside the image.
        auxiliary: ``(2, 3)`` the two ROI alignment points (hip centre, size/rotation point).
        world: ``(33, 3)`` metres, origin between the hips.
        score: pose presence in ``[0, 1]``.
        roi: the region the model looked at.
        segmentation: ``(H, W)`` float32 person probability, or None.
    """

    landmarks: NDArray[np.float32]
    visibility: NDArray[np.float32]
    presence: NDArray[np.float32]
    auxiliary: NDArray[np.float32]
    world: NDArray[np.float32]
    score: float
    roi: RotatedRect
    segmentation: NDArray[np.float32] | None = None


def _sigmoid(x: NDArray[Any]) -> NDArray[np.float32]:
    # In place on one float32 copy, with ufuncs (np.clip's Python wrapper costs ~2 us a call).
    z: NDArray[np.float32] = np.negative(x, dtype=np.float32)
    np.minimum(z, np.float32(80.0), out=z)
    np.maximum(z, np.float32(-80.0), out=z)
    np.exp(z, out=z)
    z += np.float32(1.0)
    np.reciprocal(z, out=z)
    return z


def refine_from_heatmap(
    xy_norm: NDArray[np.float32],
    heatmap: NDArray[np.float32],
    kernel_size: int = 7,
    min_confidence: float = 0.5,
) -> NDArray[np.float32]:
    """Refine normalised landmark x/y ``(N, 2)`` with heatmap logits ``(H, W, N)``.

    For each landmark: take the ``kernel_size`` window around cell
    ``(trunc(y * H), trunc(x * W))`` (cells outside the heatmap count as zero confidence),
    confidence = sigmoid(logit); when the window's peak confidence is ``>= min_confidence``
    the point becomes the confidence-weighted mean cell index divided by W (H). Points whose
    centre column or row is negative, or whose column is past the right edge, are kept as is.
    Returns a new ``(N, 2)`` array. Vectorised (one gather of ``N * k * k`` values).

    >>> import numpy as np
    >>> hm = np.full((8, 8, 1), -30.0, np.float32); hm[5, 2, 0] = 30.0
    >>> refine_from_heatmap(np.array([[0.3, 0.6]], np.float32), hm, 3).tolist()
    [[0.25, 0.625]]
    """
    h, w, n = heatmap.shape
    if xy_norm.shape != (n, 2):
        raise InputError(
            f"expected {n} landmarks for a heatmap of {n} channels, got {xy_norm.shape}"
        )
    off = (kernel_size - 1) // 2
    k = np.arange(-off, off + 1)
    col = np.trunc(xy_norm[:, 0] * w).astype(np.intp)
    row = np.trunc(xy_norm[:, 1] * h).astype(np.intp)
    # MediaPipe skips col < 0, col >= W and row < 0 (it does not test row >= H: such rows
    # simply see fewer, or no, cells). Cells outside the heatmap count as zero confidence.
    valid = (col >= 0) & (col < w) & (row >= 0)
    krow = np.minimum(np.maximum(row, 0), h + off)[:, None] + k  # (n, k)
    kcol = np.minimum(np.maximum(col, 0), w - 1)[:, None] + k
    # One flat gather of n * k * k logits: index ((row * W) + col) * N + channel.
    rows = np.minimum(np.maximum(krow, 0), h - 1) * (w * n)
    cols = np.minimum(np.maximum(kcol, 0), w - 1) * n + np.arange(n)[:, None]
    conf = _sigmoid(np.take(heatmap.reshape(-1), rows[:, :, None] + cols[:, None, :]))
    conf *= ((krow >= 0) & (krow < h))[:, :, None]
    conf *= ((kcol >= 0) & (kcol < w))[:, None, :]
    by_row = conf.sum(axis=2)  # (n, k)
    by_col = conf.sum(axis=1)
    total = by_row.sum(axis=1)
    peak = conf.reshape(n, -1).max(axis=1)
    update = valid & (peak >= min_confidence) & (total > 0)
    out = xy_norm.astype(np.float32, copy=True)
    if update.any():
        t = total[update]
        out[update, 0] = (by_col[update] * kcol[update]).sum(axis=1) / t / w
        out[update, 1] = (by_row[update] * krow[update]).sum(axis=1) / t / h
    return out


class LandmarkModel:
    """Crop a ROI, run ``pose_landmark_{lite,full,heavy}``, decode to image pixels.

    Args:
        session: a :class:`~posekit.inference.ModelRunner` for a pose landmark model (default:
            ``posekit.models.load_session(<the model>, num_threads=num_threads)``).
        model: ``"lite"``, ``"full"`` or ``"heavy"``, or any spelling
            :func:`posekit.models.model_entry` resolves (ignored when ``session`` is given).
        num_threads: onnxruntime intra-op threads when ``session`` is not given.
        spin: let onnxruntime's worker threads busy-wait between runs (``None``: its default).
        refine_heatmap: apply the 7x7 heatmap refinement (also requests ``Identity_3``).
        border: pixels outside the image in the crop: ``"replicate"`` (MediaPipe) or ``"zero"``.
        segmentation: load the model with its segmentation output (needed for
            ``infer(segmentation=True)``). Without it the mask decoder is not computed at all,
            which makes the model 1.3-3x faster (see :func:`posekit.convert.derive_model`).
        adaptive_threads: when ``session`` and ``num_threads`` are not given (nor
            ``$POSEKIT_NUM_THREADS``), wrap the multi-threaded session in an
            :class:`~posekit.adaptive.AdaptiveSession` that falls back to one thread while other
            work slows the model down (default True).

    The three stages are public so a caller can time them: :meth:`crop` -> :meth:`infer` ->
    :meth:`decode`; :meth:`estimate` chains them.
    """

    def __init__(
        self,
        session: ModelRunner | None = None,
        *,
        model: str = "full",
        num_threads: int | None = None,
        spin: bool | None = None,
        refine_heatmap: bool = True,
        border: BorderMode = "replicate",
        segmentation: bool = False,
        adaptive_threads: bool = True,
    ) -> None:
        self.refine_heatmap = bool(refine_heatmap)
        base = [_OUT_LANDMARKS, _OUT_PRESENCE, _OUT_WORLD]
        if self.refine_heatmap:
            base.append(_OUT_HEATMAP)
        with_mask = [*base, _OUT_SEGMENTATION]
        if session is None:
            from posekit.adaptive import AdaptiveSession
            from posekit.inference import InferenceSession, threads_pinned
            from posekit.models import load_session, model_entry

            name = model_entry(model, role="pose_landmarks").name  # InputError when unknown
            outputs = with_mask if segmentation else base
            session = load_session(name, outputs, num_threads=num_threads, spin=spin)
            if adaptive_threads and not threads_pinned(num_threads) and session.num_threads > 1:

                def one_thread() -> InferenceSession:
                    return load_session(name, outputs, num_threads=1, spin=False)

                session = AdaptiveSession(session, one_thread)
        self.session: ModelRunner = session
        available = getattr(session, "output_names", None)
        # Output lists per ``segmentation`` flag, built once (None: the session lacks one).
        self._outputs: dict[bool, list[str] | None] = {}
        for seg, names in ((False, base), (True, with_mask)):
            ok = available is None or set(names).issubset(available)
            self._outputs[seg] = names if ok else None
        size = LANDMARK_INPUT_SIZE
        self.input_size = (size, size)
        self._cropper = RoiCropper(size, size, border=border)
        self._tensor = np.empty((1, size, size, 3), np.float32)
        self._rgb = np.empty((size, size, 3), np.uint8)

    def crop(self, frame: Frame, roi: RotatedRect) -> NDArray[np.float32]:
        """The model input for ``roi``: ``(1, 256, 256, 3)`` RGB float32 in ``[0, 1]``.

        The returned array is an internal buffer, overwritten by the next call.
        """
        pixels = self._cropper.crop(frame.pixels, roi)
        return crop_to_tensor(
            pixels, frame.color, self._tensor, scale=1.0 / 255.0, offset=0.0, scratch=self._rgb
        )

    def infer(
        self, tensor: NDArray[np.float32], *, segmentation: bool = False, mirror: bool = False
    ) -> LandmarkTensors:
        """Run the model, requesting only the outputs that will be used.

        ``mirror=True`` runs the model on the horizontally mirrored ``tensor`` and mirrors the
        outputs back (x -> 256 - x, world x -> -x, left/right points swapped with
        :data:`~posekit.topology.FLIP_PERMUTATION`, heatmap and mask flipped), so the result
        describes the unmirrored crop: the second half of a test-time flip.
        """
        if mirror:
            tensor = np.ascontiguousarray(tensor[:, :, ::-1])
        raw = self._infer(tensor, segmentation)
        return _unmirror(raw) if mirror else raw

    def _infer(self, tensor: NDArray[np.float32], segmentation: bool) -> LandmarkTensors:
        names = self._outputs[bool(segmentation)]
        if names is None:
            raise InputError(
                "this landmark session was loaded without the "
                + ("segmentation output" if segmentation else "outputs it needs")
                + ": construct LandmarkModel / Tracker with segmentation=True to get masks"
            )
        outs = self.session.run_outputs(names, {_INPUT_NAME: tensor})
        if len(outs) != len(names):
            raise ModelError(
                f"the landmark session returned {len(outs)} outputs for {len(names)} requested "
                f"({names}): use a pose_landmark_* model (posekit.models.load_session)"
            )
        got = dict(zip(names, outs, strict=True))
        heat = got.get(_OUT_HEATMAP)
        seg = got.get(_OUT_SEGMENTATION)
        return LandmarkTensors(
            landmarks=np.asarray(got[_OUT_LANDMARKS], np.float32).reshape(NUM_MODEL_LANDMARKS, 5),
            presence=float(np.asarray(got[_OUT_PRESENCE]).reshape(-1)[0]),
            world=np.asarray(got[_OUT_WORLD], np.float32).reshape(NUM_MODEL_LANDMARKS, 3),
            heatmap=None if heat is None else np.asarray(heat, np.float32)[0],
            segmentation=None if seg is None else np.asarray(seg, np.float32)[0, :, :, 0],
        )

    def decode(
        self, raw: LandmarkTensors, roi: RotatedRect, image_size: tuple[int, int]
    ) -> LandmarkEstimate:
        """Project raw outputs for ``roi`` into an image of ``image_size`` = (width, height)."""
        size = self.input_size
        lm = raw.landmarks
        xy = lm[:, :2]
        if self.refine_heatmap and raw.heatmap is not None:
            xy = refine_from_heatmap(xy / np.float32(size[0]), raw.heatmap) * np.float32(size[0])
        m = roi.crop_to_image(size).astype(np.float32)
        points = np.empty((NUM_MODEL_LANDMARKS, 3), np.float32)
        points[:, :2] = xy @ m[:, :2].T + m[:, 2]
        points[:, 2] = lm[:, 2] * np.float32(roi.width / size[0])
        vis = _sigmoid(lm[:NUM_BODY_LANDMARKS, 3])
        pres = _sigmoid(lm[:NUM_BODY_LANDMARKS, 4])
        c, s = np.float32(np.cos(roi.rotation)), np.float32(np.sin(roi.rotation))
        w = raw.world[:NUM_BODY_LANDMARKS]
        world = np.empty((NUM_BODY_LANDMARKS, 3), np.float32)
        world[:, 0] = c * w[:, 0] - s * w[:, 1]
        world[:, 1] = s * w[:, 0] + c * w[:, 1]
        world[:, 2] = w[:, 2]
        mask = None
        if raw.segmentation is not None:
            mask = np.asarray(
                cv2.warpAffine(
                    _sigmoid(raw.segmentation),
                    roi.crop_to_image(size),
                    image_size,
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_CONSTANT,
                    borderValue=0.0,
                ),
                dtype=np.float32,
            )
        return LandmarkEstimate(
            landmarks=points[:NUM_BODY_LANDMARKS],
            visibility=vis,
            presence=pres,
            auxiliary=points[_AUX],
            world=world,
            score=raw.presence,
            roi=roi,
            segmentation=mask,
        )

    def estimate(
        self,
        image: Frame | NDArray[np.uint8],
        roi: RotatedRect,
        *,
        segmentation: bool = False,
        mirror: bool = False,
    ) -> LandmarkEstimate:
        """Crop, infer and decode in one call (``image`` is a Frame or a BGR array);
        ``mirror``: see :meth:`infer`."""
        frame = image if isinstance(image, Frame) else as_frame(image)
        raw = self.infer(self.crop(frame, roi), segmentation=segmentation, mirror=mirror)
        return self.decode(raw, roi, frame.size)


def _unmirror(raw: LandmarkTensors) -> LandmarkTensors:
    """Outputs of a horizontally mirrored crop, expressed for the original crop."""
    lm = raw.landmarks[_FLIP39]
    # The model reports x with pixel i spanning [i, i + 1), so the mirror is x -> 256 - x
    # (measured: over 49 images the mirrored pass then lies 0.1-0.3 crop px from the plain
    # one; 255 - x would leave a 1.3 px shift). The heatmap is flipped cell for cell (exact),
    # so its refinement keeps the convention of an unmirrored pass.
    lm[:, 0] = np.float32(LANDMARK_INPUT_SIZE) - lm[:, 0]
    world = raw.world[_FLIP39]
    np.negative(world[:, 0], out=world[:, 0])
    heat = None
    if raw.heatmap is not None:
        heat = np.ascontiguousarray(raw.heatmap[:, ::-1, _FLIP39])
    seg = None if raw.segmentation is None else np.ascontiguousarray(raw.segmentation[:, ::-1])
    return LandmarkTensors(lm, raw.presence, world, heat, seg)


def average_estimates(a: LandmarkEstimate, b: LandmarkEstimate) -> LandmarkEstimate:
    """The mean of two estimates of the same person (e.g. a crop and its mirror image).

    Positions, depths, world points, visibility and presence are averaged; the score is the
    mean presence; ROI and mask come from ``a`` (the mask averaged when both have one).

    >>> import numpy as np
    >>> from posekit.roi import RotatedRect
    >>> def est(v: float) -> LandmarkEstimate:
    ...     z = np.full((33, 3), v, np.float32); p = np.full(33, v, np.float32)
    ...     return LandmarkEstimate(z, p, p, z[:2], z, v, RotatedRect(0, 0, 1, 1))
    >>> average_estimates(est(1.0), est(3.0)).landmarks[0].tolist()
    [2.0, 2.0, 2.0]
    """
    mask = a.segmentation
    if mask is not None and b.segmentation is not None:
        mask = 0.5 * (mask + b.segmentation)
    half = np.float32(0.5)
    return LandmarkEstimate(
        landmarks=half * (a.landmarks + b.landmarks),
        visibility=half * (a.visibility + b.visibility),
        presence=half * (a.presence + b.presence),
        auxiliary=half * (a.auxiliary + b.auxiliary),
        world=half * (a.world + b.world),
        score=0.5 * (a.score + b.score),
        roi=a.roi,
        segmentation=mask,
    )
