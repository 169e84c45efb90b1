"""Drawing: composable annotators that each draw one thing on a BGR frame, and a preview window.

Every annotator draws **in place** on a ``uint8 (H, W, 3)`` BGR frame and returns it:

* :class:`SkeletonAnnotator`: the bones, the person's left side, right side and centre in three
  colours, bones with a keypoint below ``min_visibility`` left out;
* :class:`KeypointAnnotator`: a dot per visible keypoint;
* :class:`AngleAnnotator`: joint angles (degrees) written next to their vertex;
* :class:`RoiAnnotator`: a rotated region of interest (the box the landmark model looked at);
* :class:`HandAnnotator`, :class:`FaceAnnotator`, :class:`HolisticAnnotator`: hand and face
  landmarks from :mod:`posekit.analyzers.holistic`;
* :class:`TextPanel`: lines of text on a darkened panel in a corner.

Text is readable on any background: every annotator that writes text draws it on a darkened
backing box (:func:`put_label`, also for custom overlays; :class:`TextPanel` darkens its panel).

``annotator.annotate(frame, item)`` draws one item (a pose, a ROI, lines...); ``None`` draws
nothing. ``annotator(frame, result)`` picks its item out of a tracker / pipeline result
(:meth:`Annotator.select`) and draws it, so annotators compose: ``a + b`` or
:class:`Compose` draws several on each frame.

Drawing allocates nothing per frame beyond what OpenCV needs: coordinates go through
preallocated buffers, colours and edge lists are built once, panels are darkened in place.

:class:`Window` shows frames in an OpenCV window when the machine has a display and the OpenCV
build has GUI support, and does nothing otherwise (one warning says why).

Example:
    >>> import numpy as np
    >>> from posekit.pose import Pose
    >>> xy = np.stack([np.linspace(100, 300, 33), np.linspace(50, 400, 33)], 1)
    >>> pose = Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)
    >>> frame = np.zeros((480, 640, 3), np.uint8)
    >>> draw = SkeletonAnnotator() + KeypointAnnotator() + AngleAnnotator(["left_knee"])
    >>> out = draw.annotate(frame, pose)
    >>> out is frame and int(frame.max()) > 0
    True
    >>> TextPanel().annotate(frame, ["reps: 3"]) is frame
    True
"""

from __future__ import annotations

import logging
import math
import os
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Generic, Literal, NamedTuple, TypeVar

import cv2
import numpy as np
import numpy.typing as npt

from posekit.errors import InputError
from posekit.pose import Pose
from posekit.roi import RotatedRect
from posekit.topology import NUM_KEYPOINTS, SKELETON_EDGES, Edge, Keypoint

if TYPE_CHECKING:
    from posekit.analyzers.holistic import HolisticResult
    from posekit.face import FaceLandmarks
    from posekit.hands import HandLandmarks

__all__ = [
    "CENTER_COLOR",
    "HAND_CONNECTIONS",
    "LEFT_COLOR",
    "RIGHT_COLOR",
    "AngleAnnotator",
    "Annotator",
    "Color",
    "Compose",
    "FaceAnnotator",
    "GuiSupport",
    "HandAnnotator",
    "HolisticAnnotator",
    "KeypointAnnotator",
    "RoiAnnotator",
    "SkeletonAnnotator",
    "TextPanel",
    "Window",
    "gui_support",
    "put_label",
]

logger = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
"""A ``uint8 (H, W, 3)`` BGR frame."""

Color = tuple[int, int, int]
"""A BGR colour, each channel 0..255."""

LEFT_COLOR: Final[Color] = (0, 150, 255)
"""The person's left side: orange (BGR)."""
RIGHT_COLOR: Final[Color] = (255, 190, 0)
"""The person's right side: sky blue (BGR)."""
CENTER_COLOR: Final[Color] = (235, 235, 235)
"""Bones joining the two sides (shoulders, hips, mouth, nose): light grey (BGR)."""
OUTLINE_COLOR: Final[Color] = (20, 20, 20)

HAND_CONNECTIONS: Final[tuple[tuple[int, int], ...]] = (
    (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (5, 9), (9, 10), (10, 11),
    (11, 12), (9, 13), (13, 14), (14, 15), (15, 16), (13, 17), (0, 17), (17, 18), (18, 19),
    (19, 20),
)  # fmt: skip
"""The 21 bones of MediaPipe's hand topology (0 wrist, 4/8/12/16/20 finger tips)."""

_FONT: Final = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT: Final = 4  # sub-pixel bits for cv2 drawing (coordinates times 16)
_ONE: Final = 1 << _SHIFT

T = TypeVar("T")


def _side(k: Keypoint) -> int:
    """0 = the person's left, 1 = right, 2 = centre."""
    if "LEFT" in k.name:
        return 0
    if "RIGHT" in k.name:
        return 1
    return 2


def _edge_side(edge: Edge) -> int:
    a, b = _side(edge.start), _side(edge.end)
    return a if a == b else 2


def _check_color(name: str, color: Sequence[int]) -> Color:
    try:
        b, g, r = (int(c) for c in color)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a BGR triple like (0, 150, 255), got {color!r}") from exc
    if not all(0 <= c <= 255 for c in (b, g, r)):
        raise InputError(f"{name} channels must lie in 0..255, got {color!r}")
    return (b, g, r)


def _check_frame(frame: npt.NDArray[Any]) -> Image:
    if (
        not isinstance(frame, np.ndarray)
        or frame.dtype != np.uint8
        or frame.ndim != 3
        or frame.shape[2] != 3
    ):
        shape = getattr(frame, "shape", None)
        dtype = getattr(frame, "dtype", type(frame).__name__)
        raise InputError(
            f"annotators draw on uint8 (H, W, 3) BGR frames, got {dtype} {shape}: pass the "
            "frame from Tracker.stream (result.frame) or a cv2.imread image"
        )
    return frame


def _auto_thickness(frame: Image) -> int:
    return max(1, round(int(min(frame.shape[0], frame.shape[1])) / 300))


def _font_scale(frame: Image) -> float:
    return max(0.4, int(min(frame.shape[0], frame.shape[1])) / 900)


def _check_min_visibility(value: float) -> float:
    if not 0.0 <= float(value) <= 1.0:
        raise InputError(f"min_visibility={value} must lie in [0, 1]")
    return float(value)


class _PointBuffer:
    """Preallocated float and int buffers for ``(n, 2)`` points in cv2 sub-pixel units."""

    def __init__(self, n: int) -> None:
        self.scaled = np.empty((n, 2), np.float32)
        self.fixed = np.empty((n, 2), np.int32)
        self.ok = np.empty(n, bool)

    def load(
        self,
        xy: npt.NDArray[np.float32],
        visibility: npt.NDArray[np.float32] | None = None,
        min_visibility: float = 0.0,
    ) -> tuple[list[list[int]], list[bool]]:
        # Far-away points (a keypoint predicted well outside the frame) are clipped to what
        # cv2's sub-pixel int coordinates can hold.
        np.multiply(xy, np.float32(_ONE), out=self.scaled)
        np.clip(self.scaled, -(2**26), 2**26, out=self.scaled)
        np.rint(self.scaled, out=self.scaled)
        self.fixed[...] = self.scaled
        if visibility is None:
            self.ok.fill(True)
        else:
            np.greater_equal(visibility, min_visibility, out=self.ok)
        points: list[list[int]] = self.fixed.tolist()
        ok: list[bool] = self.ok.tolist()
        return points, ok


# ---------------------------------------------------------------------------------- base classes
class Annotator(ABC, Generic[T]):
    """Draws one kind of item on a frame.

    Subclasses implement :meth:`draw` (the item is never None there) and :meth:`select` (how
    to find the item in a tracker / pipeline result).
    """

    def annotate(self, frame: Image, item: T | None) -> Image:
        """Draw ``item`` on ``frame`` in place and return ``frame`` (nothing for ``None``).

        Raises:
            InputError: ``frame`` is not a ``uint8 (H, W, 3)`` image.
        """
        frame = _check_frame(frame)
        if item is not None:
            self.draw(frame, item)
        return frame

    @abstractmethod
    def draw(self, frame: Image, item: T) -> None:
        """Draw ``item`` on ``frame`` (in place)."""

    @abstractmethod
    def select(self, result: Any) -> T | None:
        """This annotator's item in a :class:`~posekit.tracker.FrameResult` (or any object
        with the same attributes), or None."""

    def __call__(self, frame: Image, result: Any) -> Image:
        """Draw this annotator's item from ``result`` on ``frame`` (in place); returns it."""
        return self.annotate(frame, self.select(result))

    def __add__(self, other: Annotator[Any]) -> Compose:
        return Compose(self, other)


class Compose(Annotator[Any]):
    """Several annotators drawn in order (later ones on top).

    ``compose(frame, result)`` lets each annotator pick its own item from the result;
    ``compose.annotate(frame, item)`` hands the same item to all of them.

    Example:
        >>> c = SkeletonAnnotator() + KeypointAnnotator() + RoiAnnotator()
        >>> [type(a).__name__ for a in c.annotators]
        ['SkeletonAnnotator', 'KeypointAnnotator', 'RoiAnnotator']
    """

    def __init__(self, *annotators: Annotator[Any]) -> None:
        flat: list[Annotator[Any]] = []
        for a in annotators:
            if not isinstance(a, Annotator):
                raise InputError(
                    f"Compose takes Annotator objects, got {type(a).__name__}: e.g. "
                    "Compose(SkeletonAnnotator(), RoiAnnotator())"
                )
            flat.extend(a.annotators if isinstance(a, Compose) else (a,))
        self.annotators: tuple[Annotator[Any], ...] = tuple(flat)

    def draw(self, frame: Image, item: Any) -> None:
        for a in self.annotators:
            a.draw(frame, item)

    def select(self, result: Any) -> Any:
        return result

    def __call__(self, frame: Image, result: Any) -> Image:
        frame = _check_frame(frame)
        for a in self.annotators:
            a(frame, result)
        return frame


def _pose_of(result: Any) -> Pose | None:
    pose = getattr(result, "pose", None)
    return pose if isinstance(pose, Pose) else None


# ---------------------------------------------------------------------------------- pose
class SkeletonAnnotator(Annotator[Pose]):
    """The skeleton's bones, left side / right side / centre in their own colours.

    Args:
        min_visibility: a bone is drawn only when both its keypoints reach this visibility.
        thickness: line width in pixels (None: scaled to the frame size).
        left_color, right_color, center_color: BGR colours of the person's left side, right
            side and the bones joining them.
        outline: draw a dark outline under each bone (readable on any background).
        face: include the face bones (eyes, ears, mouth).
        edges: the bones to draw (default: MediaPipe's 35).

    Example:
        >>> import numpy as np
        >>> p = Pose(np.full((33, 2), 10.0), np.zeros(33), np.zeros(33), np.ones(33), score=1.0)
        >>> img = np.zeros((20, 20, 3), np.uint8)
        >>> int(SkeletonAnnotator(min_visibility=0.5).annotate(img, p).max())  # all hidden
        0
    """

    def __init__(
        self,
        *,
        min_visibility: float = 0.5,
        thickness: int | None = None,
        left_color: Color = LEFT_COLOR,
        right_color: Color = RIGHT_COLOR,
        center_color: Color = CENTER_COLOR,
        outline: bool = True,
        face: bool = True,
        edges: Iterable[Edge | tuple[int, int]] = SKELETON_EDGES,
    ) -> None:
        self.min_visibility = _check_min_visibility(min_visibility)
        self.thickness = thickness
        colors = (
            _check_color("left_color", left_color),
            _check_color("right_color", right_color),
            _check_color("center_color", center_color),
        )
        self.outline = bool(outline)
        chosen: list[tuple[int, int, Color]] = []
        for a, b in edges:
            edge = Edge(Keypoint(int(a)), Keypoint(int(b)))
            if not face and (
                edge.start <= Keypoint.MOUTH_RIGHT or edge.end <= Keypoint.MOUTH_RIGHT
            ):
                continue
            chosen.append((int(edge.start), int(edge.end), colors[_edge_side(edge)]))
        self._edges: tuple[tuple[int, int, Color], ...] = tuple(chosen)
        self._buf = _PointBuffer(NUM_KEYPOINTS)

    def select(self, result: Any) -> Pose | None:
        return _pose_of(result)

    def draw(self, frame: Image, item: Pose) -> None:
        pts, ok = self._buf.load(item.xy, item.visibility, self.min_visibility)
        width = self.thickness or _auto_thickness(frame)
        if self.outline:
            for a, b, _ in self._edges:
                if ok[a] and ok[b]:
                    cv2.line(frame, pts[a], pts[b], OUTLINE_COLOR, width + 2, cv2.LINE_AA, _SHIFT)
        for a, b, color in self._edges:
            if ok[a] and ok[b]:
                cv2.line(frame, pts[a], pts[b], color, width, cv2.LINE_AA, _SHIFT)


class KeypointAnnotator(Annotator[Pose]):
    """A filled dot on every keypoint that reaches ``min_visibility``, coloured by side.

    Args:
        min_visibility: keypoints below this visibility are not drawn.
        radius: dot radius in pixels (None: scaled to the frame size).
        keypoints: which keypoints (default: all 33).
    """

    def __init__(
        self,
        *,
        min_visibility: float = 0.5,
        radius: int | None = None,
        left_color: Color = LEFT_COLOR,
        right_color: Color = RIGHT_COLOR,
        center_color: Color = CENTER_COLOR,
        keypoints: Iterable[Keypoint | int] = tuple(Keypoint),
    ) -> None:
        self.min_visibility = _check_min_visibility(min_visibility)
        self.radius = radius
        colors = (
            _check_color("left_color", left_color),
            _check_color("right_color", right_color),
            _check_color("center_color", center_color),
        )
        self._points: tuple[tuple[int, Color], ...] = tuple(
            (int(k), colors[_side(Keypoint(int(k)))]) for k in keypoints
        )
        self._buf = _PointBuffer(NUM_KEYPOINTS)

    def select(self, result: Any) -> Pose | None:
        return _pose_of(result)

    def draw(self, frame: Image, item: Pose) -> None:
        pts, ok = self._buf.load(item.xy, item.visibility, self.min_visibility)
        r = (self.radius or _auto_thickness(frame) + 2) * _ONE
        for k, color in self._points:
            if ok[k]:
                cv2.circle(frame, pts[k], r + 2 * _ONE, OUTLINE_COLOR, -1, cv2.LINE_AA, _SHIFT)
                cv2.circle(frame, pts[k], r, color, -1, cv2.LINE_AA, _SHIFT)


def _darken_box(frame: Image, x0: int, y0: int, x1: int, y1: int, keep: float) -> None:
    """Scale the pixels of a box (clipped to the frame) by ``keep``, in place."""
    fh, fw = frame.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(fw, x1), min(fh, y1)
    if x1 > x0 and y1 > y0:
        region = frame[y0:y1, x0:x1]
        cv2.convertScaleAbs(region, dst=region, alpha=keep)


def _put_text(
    frame: Image,
    text: str,
    origin: tuple[int, int],
    scale: float,
    color: Color,
    thickness: int,
    *,
    box: bool = True,
    extra_width: int = 0,
) -> None:
    """Text on a darkened box (readable on white and on black), or with a dark outline
    (``box=False``); ``extra_width``: pixels after the text the box also covers (a degree ring).

    The outline is the text drawn in the dark colour one pixel off in four directions, not a
    thicker stroke: OpenCV 5 draws a thicker stroke with wider letters, which drift apart.
    """
    x, y = origin
    if box:
        (w, h), base = cv2.getTextSize(text, _FONT, scale, thickness)
        pad = max(2, round(h * 0.3))
        _darken_box(
            frame, x - pad, y - h - pad, x + w + extra_width + pad, y + base + pad // 2, 0.3
        )
    else:
        for dx, dy in ((-1, -1), (1, -1), (-1, 1), (1, 1)):
            cv2.putText(
                frame, text, (x + dx, y + dy), _FONT, scale, OUTLINE_COLOR, thickness, cv2.LINE_AA
            )
    cv2.putText(frame, text, origin, _FONT, scale, color, thickness, cv2.LINE_AA)


def put_label(
    frame: Image,
    text: str,
    origin: tuple[int, int],
    *,
    color: Color = (255, 255, 255),
    scale: float | None = None,
    thickness: int | None = None,
    box: bool = True,
) -> Image:
    """Write ``text`` with its baseline starting at ``origin`` (x, y pixels), readable on any
    background: on a darkened box behind it (``box=False``: with a dark outline instead).
    Returns ``frame``.

    Example:
        >>> import numpy as np
        >>> white = np.full((60, 200, 3), 255, np.uint8)
        >>> _ = put_label(white, "target 100", (10, 40), color=(80, 220, 80))
        >>> int(white[40, 9].max()) < 255  # the box darkened the background
        True
    """
    frame = _check_frame(frame)
    scale = scale or _font_scale(frame)
    width = thickness or max(1, round(scale * 2))
    _put_text(frame, text, origin, scale, _check_color("color", color), width, box=box)
    return frame


def _put_degrees(
    frame: Image, value: float, origin: tuple[int, int], scale: float, color: Color, width: int
) -> None:
    """``123°``: Hershey fonts have no degree sign, so the ring is drawn as a circle."""
    text = f"{value:.0f}"
    (w, h), _ = cv2.getTextSize(text, _FONT, scale, width)
    r = max(2, round(h * 0.22))
    _put_text(frame, text, origin, scale, color, width, extra_width=2 * r + 4)
    centre = (origin[0] + w + r + 2, origin[1] - h + r)
    cv2.circle(frame, centre, r, OUTLINE_COLOR, width + 2, cv2.LINE_AA)
    cv2.circle(frame, centre, r, color, width, cv2.LINE_AA)


class AngleAnnotator(Annotator[Pose]):
    """Joint angles in degrees, written beside the joint (the angle's vertex).

    Args:
        names: joint angle names with a vertex keypoint (see
            :data:`posekit.analyzers.geometry.ANGLES`, e.g. ``"left_knee"``).
        min_visibility: an angle is shown only when its three keypoints reach this.
        color: text colour (BGR).
        scale: font scale (None: scaled to the frame size).
        space: measure the angle on the image keypoints (``"image"``, what the camera sees)
            or on the 3-D world landmarks (``"world"``, as the ``*_3d`` rep-counter signals
            do); the label is always placed at the joint in the image.

    Example:
        >>> AngleAnnotator(["left_knee", "right_elbow"]).names
        ('left_knee', 'right_elbow')
    """

    def __init__(
        self,
        names: Iterable[str] = ("left_knee", "right_knee"),
        *,
        min_visibility: float = 0.5,
        color: Color = (255, 255, 255),
        scale: float | None = None,
        space: Literal["image", "world"] = "image",
    ) -> None:
        from posekit.analyzers.geometry import ANGLES

        if space not in ("image", "world"):
            raise InputError(f"space={space!r}: use 'image' or 'world'")
        self.space = space

        self.names = tuple(names)
        unknown = [n for n in self.names if n not in ANGLES]
        if unknown:
            raise InputError(
                f"unknown joint angle names {unknown}: use names from "
                f"{', '.join(sorted(ANGLES))} (angles with a vertex keypoint)"
            )
        self.min_visibility = _check_min_visibility(min_visibility)
        self.color = _check_color("color", color)
        self.scale = scale
        self._triples = tuple(tuple(int(j) for j in ANGLES[n]) for n in self.names)

    def select(self, result: Any) -> Pose | None:
        return _pose_of(result)

    def draw(self, frame: Image, item: Pose) -> None:
        xy = item.xy
        vis = item.visibility
        pts = xy if self.space == "image" else item.world
        if pts is None:
            return  # no world landmarks: the 3-D angle is unknown
        scale = self.scale or _font_scale(frame)
        width = max(1, round(scale * 2))
        offset = round(12 * scale)
        placed: list[tuple[int, int]] = []
        for a, b, c in self._triples:
            if min(vis[a], vis[b], vis[c]) < self.min_visibility:
                continue
            u = pts[a] - pts[b]  # 2 or 3 components: a few tiny arrays, like cv2's own tuples
            v = pts[c] - pts[b]
            nu, nv = float(np.sqrt(u @ u)), float(np.sqrt(v @ v))
            if nu == 0 or nv == 0:
                continue
            deg = math.degrees(math.acos(max(-1.0, min(1.0, float(u @ v) / (nu * nv)))))
            ux, uy = xy[a, 0] - xy[b, 0], xy[a, 1] - xy[b, 1]
            vx, vy = xy[c, 0] - xy[b, 0], xy[c, 1] - xy[b, 1]
            nu, nv = math.hypot(ux, uy), math.hypot(vx, vy)
            if nu == 0 or nv == 0:
                continue
            # write on the outside of the joint: opposite the bisector of the two segments
            bx, by = ux / nu + vx / nv, uy / nu + vy / nv
            nb = math.hypot(bx, by)
            dx, dy = (-bx / nb, -by / nb) if nb > 1e-6 else (1.0, 0.0)
            x = round(float(xy[b, 0]) + dx * offset * 2 + (0 if dx >= 0 else -offset * 3))
            y = round(float(xy[b, 1]) + dy * offset * 2 + offset)
            for px, py in placed:  # two joints close together (knees side on): stack labels
                if abs(px - x) < 4 * offset and abs(py - y) < 2 * offset:
                    y = py + round(2.2 * offset)
            placed.append((x, y))
            _put_degrees(frame, deg, (x, y), scale, self.color, width)


# ---------------------------------------------------------------------------------- regions
class RoiAnnotator(Annotator[RotatedRect]):
    """A rotated region of interest (e.g. ``result.roi``, the landmark model's crop).

    Args:
        color: BGR line colour.
        thickness: line width (None: scaled to the frame size).
        label: text written at the box's first corner ("" for none).
    """

    def __init__(
        self, *, color: Color = (80, 220, 80), thickness: int | None = None, label: str = "ROI"
    ) -> None:
        self.color = _check_color("color", color)
        self.thickness = thickness
        self.label = label
        self._buf = _PointBuffer(4)

    def select(self, result: Any) -> RotatedRect | None:
        roi = getattr(result, "roi", None)
        return roi if isinstance(roi, RotatedRect) else None

    def draw(self, frame: Image, item: RotatedRect) -> None:
        if not item.is_valid():
            return
        self._buf.load(item.corners())  # type: ignore[arg-type]
        width = self.thickness or _auto_thickness(frame)
        cv2.polylines(frame, [self._buf.fixed], True, self.color, width, cv2.LINE_AA, _SHIFT)
        if self.label:
            x, y = (int(v) >> _SHIFT for v in self._buf.fixed[0])
            scale = _font_scale(frame) * 0.8
            _put_text(frame, self.label, (x + 4, y - 6), scale, self.color, max(1, width // 2))


# ---------------------------------------------------------------------------------- hands, face
class HandAnnotator(Annotator["HandLandmarks"]):
    """One hand's 21 landmarks and bones (:class:`posekit.analyzers.handoff.HandLandmarks`).

    Colours follow :attr:`HandLandmarks.side` (the person's left or right hand).
    """

    def __init__(
        self,
        *,
        thickness: int | None = None,
        left_color: Color = LEFT_COLOR,
        right_color: Color = RIGHT_COLOR,
    ) -> None:
        self.thickness = thickness
        self._colors = {
            "left": _check_color("left_color", left_color),
            "right": _check_color("right_color", right_color),
        }
        self._buf = _PointBuffer(21)

    def select(self, result: Any) -> HandLandmarks | None:
        return None  # two hands per frame: use HolisticAnnotator to pick them from results

    def draw(self, frame: Image, item: HandLandmarks) -> None:
        pts, _ = self._buf.load(item.xy)
        color = self._colors.get(item.side, CENTER_COLOR)
        width = max(1, (self.thickness or _auto_thickness(frame)) - 1)
        for a, b in HAND_CONNECTIONS:
            cv2.line(frame, pts[a], pts[b], color, width, cv2.LINE_AA, _SHIFT)
        r = (width + 1) * _ONE
        for p in pts:
            cv2.circle(frame, p, r, (255, 255, 255), -1, cv2.LINE_AA, _SHIFT)


class FaceAnnotator(Annotator["FaceLandmarks"]):
    """The 468 face-mesh points as small dots (:class:`posekit.analyzers.handoff.FaceLandmarks`)."""

    def __init__(self, *, color: Color = (200, 255, 200), radius: int = 1) -> None:
        self.color = _check_color("color", color)
        self.radius = int(radius)
        self._buf = _PointBuffer(468)

    def select(self, result: Any) -> FaceLandmarks | None:
        return None  # use HolisticAnnotator to pick the face from results

    def draw(self, frame: Image, item: FaceLandmarks) -> None:
        pts, _ = self._buf.load(item.xy)
        r = self.radius * _ONE
        for p in pts:
            cv2.circle(frame, p, r, self.color, -1, cv2.LINE_AA, _SHIFT)


class HolisticAnnotator(Annotator["HolisticResult"]):
    """Both hands and the face of a :class:`posekit.analyzers.holistic.HolisticResult`.

    Args:
        key: the analyzer name under which the result is found in ``result.results``.
        hands, face: which parts to draw.
    """

    def __init__(self, *, key: str = "holistic", hands: bool = True, face: bool = True) -> None:
        self.key = key
        self.hand = HandAnnotator() if hands else None
        self.face = FaceAnnotator() if face else None

    def select(self, result: Any) -> HolisticResult | None:
        results = getattr(result, "results", None)
        if isinstance(results, Mapping):
            item = results.get(self.key)
            if item is not None and hasattr(item, "left_hand"):
                return item  # type: ignore[no-any-return]
        return None

    def draw(self, frame: Image, item: HolisticResult) -> None:
        if self.face is not None and item.face is not None:
            self.face.draw(frame, item.face)
        if self.hand is not None:
            for hand in (item.left_hand, item.right_hand):
                if hand is not None:
                    self.hand.draw(frame, hand)


# ---------------------------------------------------------------------------------- text
Corner = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class TextPanel(Annotator[Sequence[str]]):
    """Lines of text on a darkened panel in a corner of the frame.

    Args:
        lines: how to get the lines from a result when used with ``annotator(frame, result)``
            (a function of the result); ``annotate(frame, lines)`` takes them directly.
        corner: where the panel sits.
        scale: font scale (None: scaled to the frame size); the first line can be larger
            (``title_scale`` times).
        color: text colour; ``darken``: how much of the background stays under the panel
            (0 black .. 1 unchanged).

    Example:
        >>> import numpy as np
        >>> img = np.full((200, 300, 3), 255, np.uint8)
        >>> _ = TextPanel(corner="bottom-right").annotate(img, ["squats", "reps 2"])
        >>> bool(img[-5, -5].max() < 255)  # the corner was darkened
        True
    """

    def __init__(
        self,
        lines: Callable[[Any], Sequence[str] | None] | None = None,
        *,
        corner: Corner = "top-left",
        scale: float | None = None,
        title_scale: float = 1.0,
        color: Color = (255, 255, 255),
        darken: float = 0.35,
    ) -> None:
        if corner not in ("top-left", "top-right", "bottom-left", "bottom-right"):
            raise InputError(
                f"corner={corner!r}: use 'top-left', 'top-right', 'bottom-left' or 'bottom-right'"
            )
        if not 0.0 <= darken <= 1.0:
            raise InputError(f"darken={darken} must lie in [0, 1]")
        self.lines = lines
        self.corner: Corner = corner
        self.scale = scale
        self.title_scale = float(title_scale)
        self.color = _check_color("color", color)
        self.darken = float(darken)

    def select(self, result: Any) -> Sequence[str] | None:
        return None if self.lines is None else self.lines(result)

    def draw(self, frame: Image, item: Sequence[str]) -> None:
        if isinstance(item, str):
            item = (item,)
        if not item:
            return
        base = self.scale or _font_scale(frame)
        scales = [base * (self.title_scale if i == 0 else 1.0) for i in range(len(item))]
        widths = [max(1, round(s * 2)) for s in scales]
        sizes = [
            cv2.getTextSize(t, _FONT, s, w)[0] for t, s, w in zip(item, scales, widths, strict=True)
        ]
        pad = round(10 * base)
        gap = round(8 * base)
        box_w = max(w for w, _ in sizes) + 2 * pad
        box_h = sum(h for _, h in sizes) + gap * (len(item) - 1) + 2 * pad
        fh, fw = frame.shape[:2]
        margin = round(8 * base)
        x0 = margin if self.corner.endswith("left") else max(0, fw - margin - box_w)
        y0 = margin if self.corner.startswith("top") else max(0, fh - margin - box_h)
        x1, y1 = min(fw, x0 + box_w), min(fh, y0 + box_h)
        region = frame[y0:y1, x0:x1]
        cv2.convertScaleAbs(region, dst=region, alpha=self.darken)  # darken in place
        y = y0 + pad
        for text, (_, h), s, w in zip(item, sizes, scales, widths, strict=True):
            y += h
            cv2.putText(frame, text, (x0 + pad, y), _FONT, s, self.color, w, cv2.LINE_AA)
            y += gap


# ---------------------------------------------------------------------------------- window
class GuiSupport(NamedTuple):
    """Whether OpenCV windows can be shown here, and why not."""

    available: bool
    reason: str


def gui_support() -> GuiSupport:
    """Can this process open an OpenCV window? (display present and cv2 built with a GUI).

    Example:
        >>> isinstance(gui_support().available, bool)
        True
    """
    info = cv2.getBuildInformation()
    for line in info.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "GUI" and value.strip().upper() in ("NONE", "NO", ""):
            return GuiSupport(
                False,
                "this OpenCV build has no GUI support (opencv-python-headless); "
                "`pip install opencv-python` for a live window",
            )
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return GuiSupport(False, "no display (DISPLAY / WAYLAND_DISPLAY are not set)")
    return GuiSupport(True, "")


class Window:
    """An OpenCV preview window that degrades to a no-op without a display.

    Args:
        title: the window title.
        enabled: False never opens a window (headless, e.g. ``--no-show``).

    :meth:`show` returns False once the user pressed ``q`` or Esc, or closed the window.

    Example:
        >>> import numpy as np
        >>> with Window("demo", enabled=False) as win:
        ...     win.show(np.zeros((4, 4, 3), np.uint8))
        True
    """

    def __init__(self, title: str = "posekit", *, enabled: bool = True) -> None:
        self.title = title
        self.reason = ""
        self.active = False
        if enabled:
            support = gui_support()
            self.active, self.reason = support.available, support.reason
            if not self.active:
                logger.warning("no live window, running headless: %s", self.reason)
        else:
            self.reason = "--no-show"
        self._opened = False

    def show(self, frame: Image) -> bool:
        """Show ``frame``; False when the user asked to stop (``q``, Esc, window closed)."""
        if not self.active:
            return True
        try:
            if not self._opened:
                cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
                self._opened = True
            elif cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
                return False  # closed with the mouse
            cv2.imshow(self.title, frame)
            key = cv2.waitKey(1) & 0xFF
        except cv2.error as exc:  # a GUI build without a usable display backend
            self.active = False
            self.reason = f"cannot open an OpenCV window ({str(exc).strip().splitlines()[-1]})"
            logger.warning("running headless: %s", self.reason)
            return True
        return key not in (ord("q"), ord("Q"), 27)

    def close(self) -> None:
        """Close the window (if one was opened)."""
        if self._opened:
            try:
                cv2.destroyWindow(self.title)
                cv2.waitKey(1)
            except cv2.error:
                pass
            self._opened = False

    def __enter__(self) -> Window:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
