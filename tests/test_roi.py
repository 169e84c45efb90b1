"""ROI geometry (posekit.roi) checked against MediaPipe's definitions and OpenCV's own maths."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posekit.errors import InputError
from posekit.roi import RoiCropper, RotatedRect, normalize_radians

PI = math.pi


@pytest.mark.parametrize(
    ("p0", "p1", "rotation", "side"),
    [
        ((100, 200), (100, 120), 0.0, 160 * 1.25),  # upright: kp1 above kp0
        ((100, 200), (180, 200), PI / 2, 160 * 1.25),  # lying, head to the right
        ((100, 200), (20, 200), -PI / 2, 160 * 1.25),  # lying, head to the left
        ((100, 200), (100, 280), -PI, 160 * 1.25),  # upside down (wraps to -pi)
        ((0, 0), (3, -4), math.atan2(3, 4), 10 * 1.25),  # leaning right
    ],
    ids=["upright", "right", "left", "upside-down", "3-4-5"],
)
def test_from_alignment_points(
    p0: tuple[float, float], p1: tuple[float, float], rotation: float, side: float
) -> None:
    r = RotatedRect.from_alignment_points(p0, p1)
    assert (r.center_x, r.center_y) == pytest.approx(p0)
    assert r.width == pytest.approx(side)
    assert r.height == pytest.approx(side)
    assert r.rotation == pytest.approx(rotation)


def test_scale_one_gives_raw_alignment_square() -> None:
    r = RotatedRect.from_alignment_points((0, 0), (0, -50), scale=1.0)
    assert (r.width, r.height, r.object_scale) == (100.0, 100.0, 100.0)


@pytest.mark.parametrize(
    ("angle", "expected"),
    [
        (0.0, 0.0),
        (PI, -PI),
        (-PI, -PI),
        (3 * PI / 2, -PI / 2),
        (-3 * PI / 2, PI / 2),
        (7.0, 7.0 - 2 * PI),
    ],
)
def test_normalize_radians(angle: float, expected: float) -> None:
    assert normalize_radians(angle) == pytest.approx(expected)
    assert -PI <= normalize_radians(angle) < PI


def _mediapipe_matrix(r: RotatedRect, size: int) -> np.ndarray:
    """MediaPipe's OpenCV converter: boxPoints of the rect -> tensor corners, perspective."""
    box = cv2.boxPoints(((r.center_x, r.center_y), (r.width, r.height), math.degrees(r.rotation)))
    dst = np.array([[0, size], [0, 0], [size, 0], [size, size]], np.float32)
    return np.asarray(cv2.getPerspectiveTransform(box.astype(np.float32), dst))


@pytest.mark.parametrize(
    "rect",
    [
        RotatedRect(320.0, 240.0, 300.0, 300.0, 0.0),
        RotatedRect(100.5, 50.25, 90.0, 90.0, 0.7),
        RotatedRect(400.0, 100.0, 512.0, 512.0, -2.5),
        RotatedRect(10.0, 700.0, 40.0, 120.0, PI / 2),
    ],
)
def test_image_to_crop_matches_mediapipe_box_points(rect: RotatedRect) -> None:
    ours = rect.image_to_crop((256, 256))
    theirs = _mediapipe_matrix(rect, 256)
    theirs = theirs / theirs[2, 2]
    np.testing.assert_allclose(theirs[2], [0, 0, 1], atol=1e-6)  # affine in fact
    np.testing.assert_allclose(ours, theirs[:2], rtol=1e-4, atol=1e-3)


@settings(max_examples=60, deadline=None)
@given(
    cx=st.floats(-500, 1500),
    cy=st.floats(-500, 1500),
    w=st.floats(1, 2000),
    h=st.floats(1, 2000),
    rot=st.floats(-PI, PI),
    pts=st.lists(st.tuples(st.floats(-300, 600), st.floats(-300, 600)), min_size=1, max_size=8),
)
def test_round_trip_crop_image_crop(
    cx: float, cy: float, w: float, h: float, rot: float, pts: list[tuple[float, float]]
) -> None:
    r = RotatedRect(cx, cy, w, h, rot)
    p = np.array(pts)
    back = r.to_crop(r.to_image(p, (256, 256)), (256, 256))
    np.testing.assert_allclose(back, p, atol=1e-6 * max(1.0, w, h))


def test_crop_corners_map_to_rect_corners_and_sides_have_rect_size() -> None:
    r = RotatedRect(200.0, 150.0, 120.0, 80.0, 0.5)
    crop_corners = np.array([[0, 0], [256, 0], [256, 256], [0, 256]], float)
    img = r.to_image(crop_corners, (256, 256))
    np.testing.assert_allclose(img, r.corners(), atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(img[1] - img[0]), 120.0)
    np.testing.assert_allclose(np.linalg.norm(img[3] - img[0]), 80.0)
    np.testing.assert_allclose(r.to_image([[128, 128]], (256, 256)), [[200.0, 150.0]])
    # rotation is clockwise on screen (y down): the crop's x axis points along (cos, sin)
    direction = (img[1] - img[0]) / 120.0
    np.testing.assert_allclose(direction, [math.cos(0.5), math.sin(0.5)])


@pytest.mark.parametrize(
    ("w", "h", "expected"),
    [
        (640, 480, (320.0, 240.0, 640.0, 640.0)),
        (480, 640, (240.0, 320.0, 640.0, 640.0)),
        (100, 100, (50.0, 50.0, 100.0, 100.0)),
    ],
)
def test_whole_image_letterbox(w: int, h: int, expected: tuple[float, ...]) -> None:
    r = RotatedRect.whole_image(w, h)
    assert (r.center_x, r.center_y, r.width, r.height) == expected
    # image corners land inside the tensor, centred, with symmetric padding
    tl = r.to_crop([[0, 0]], (224, 224))[0]
    br = r.to_crop([[w, h]], (224, 224))[0]
    np.testing.assert_allclose(tl + br, [224, 224])


def test_padded_to_aspect_rejects_empty_rect() -> None:
    with pytest.raises(InputError, match="> 0"):
        RotatedRect(0, 0, 0, 10).padded_to_aspect(1.0)


def test_cropper_matches_mediapipe_warp_perspective() -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    img = np.asarray(cv2.GaussianBlur(noise, (7, 7), 2), np.uint8)  # smooth: small rounding
    r = RotatedRect(210.0, 140.0, 180.0, 180.0, 0.3)
    ours = RoiCropper(256, 256, border="replicate").crop(img, r)
    theirs = cv2.warpPerspective(
        img,
        _mediapipe_matrix(r, 256),
        (256, 256),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    diff = np.abs(ours.astype(int) - theirs.astype(int))
    assert diff.max() <= 2
    assert diff.mean() < 0.1


def test_cropper_rotation_moves_content() -> None:
    img = np.zeros((200, 200, 3), np.uint8)
    img[90:110, 150:170] = 255  # a white square right of the centre
    upright = RoiCropper(100, 100).crop(img, RotatedRect(100, 100, 200, 200, 0.0)).copy()
    turned = RoiCropper(100, 100).crop(img, RotatedRect(100, 100, 200, 200, PI / 2))
    # rotation pi/2: the crop's "up" is the image's right, so the square appears at the top
    ys, xs = np.nonzero(upright[..., 0] > 128)
    assert xs.mean() > 70 and 45 < ys.mean() < 55
    ys, xs = np.nonzero(turned[..., 0] > 128)
    assert ys.mean() < 30 and 45 < xs.mean() < 55


@pytest.mark.parametrize(("border", "corner"), [("zero", 0), ("replicate", 77)])
def test_cropper_border_modes(border: str, corner: int) -> None:
    img = np.full((50, 50, 3), 77, np.uint8)
    out = RoiCropper(32, 32, border=border).crop(img, RotatedRect(0, 0, 50, 50, 0.0))  # type: ignore[arg-type]
    assert int(out[0, 0, 0]) == corner
    assert int(out[31, 31, 0]) == 77


def test_cropper_reuses_its_buffer_and_rejects_bad_rects() -> None:
    cropper = RoiCropper(16, 16)
    img = np.zeros((20, 20, 3), np.uint8)
    a = cropper.crop(img, RotatedRect(10, 10, 10, 10))
    b = cropper.crop(img, RotatedRect(5, 5, 10, 10))
    assert a is b
    with pytest.raises(InputError, match="invalid ROI"):
        cropper.crop(img, RotatedRect(10, 10, float("nan"), 10))
    with pytest.raises(InputError, match="border"):
        RoiCropper(16, 16, border="wrap")  # type: ignore[arg-type]
