"""Frame validation (posekit.image): accepted layouts, conversions, refusals with fixes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.image import as_frame, check_color, crop_to_tensor


def test_uint8_bgr_passes_through_without_copy() -> None:
    img = np.zeros((48, 64, 3), np.uint8)
    frame = as_frame(img)
    assert frame.pixels is img
    assert (frame.width, frame.height, frame.size, frame.color) == (64, 48, (64, 48), "bgr")


@pytest.mark.parametrize(
    ("make", "expected_first_pixel"),
    [
        (lambda: np.full((5, 7), 9, np.uint8), [9, 9, 9]),
        (lambda: np.full((5, 7, 1), 9, np.uint8), [9, 9, 9]),
        (lambda: np.dstack([np.full((5, 7), v, np.uint8) for v in (1, 2, 3, 200)]), [1, 2, 3]),
        (lambda: np.full((5, 7, 3), 0.5, np.float32), [128, 128, 128]),
        (lambda: np.full((5, 7), 1.0, np.float64), [255, 255, 255]),
    ],
    ids=["gray2d", "gray3d", "bgra", "float32-unit", "float64-gray"],
)
def test_conversions(make: Any, expected_first_pixel: list[int]) -> None:
    frame = as_frame(make())
    assert frame.pixels.shape == (5, 7, 3)
    assert frame.pixels.dtype == np.uint8
    assert frame.pixels.flags.c_contiguous
    assert frame.pixels[0, 0].tolist() == expected_first_pixel


def test_rgb_colour_is_recorded_and_case_insensitive() -> None:
    assert as_frame(np.zeros((2, 2, 3), np.uint8), color="RGB").color == "rgb"


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ([[1, 2], [3, 4]], "numpy array"),
        (np.zeros((0, 10, 3), np.uint8), "empty"),
        (np.zeros((10, 0), np.uint8), "empty"),
        (np.zeros((4, 4, 3), np.uint16), "uint16"),
        (np.zeros((4, 4, 3), np.int32), "int32"),
        (np.zeros((4, 4, 3), bool), "bool"),
        (np.zeros((2, 4, 4, 3), np.uint8), "shape"),
        (np.zeros((4,), np.uint8), "shape"),
        (np.zeros((4, 4, 2), np.uint8), "shape"),
        (np.zeros((8, 8, 3), np.uint8)[:, ::-1], "contiguous"),
        (np.zeros((8, 8, 3), np.uint8)[::2], "contiguous"),
        (np.zeros((8, 8), np.uint8)[:, ::2], "contiguous"),
        (np.full((4, 4, 3), 255.0, np.float32), r"\[0, 1\]"),
        (np.full((4, 4, 3), -0.1, np.float32), r"\[0, 1\]"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
    ],
    ids=[
        "list",
        "empty-rows",
        "empty-cols",
        "uint16",
        "int32",
        "bool",
        "batch",
        "1d",
        "two-channels",
        "flipped-view",
        "strided-rows",
        "strided-gray",
        "float-0-255",
        "float-negative",
        "float-nan",
    ],
)
def test_bad_inputs_raise_input_error_with_fix(value: object, match: str) -> None:
    with pytest.raises(InputError, match=match) as info:
        as_frame(value)
    assert ":" in str(info.value)  # problem: fix


@pytest.mark.parametrize("color", ["bgra", "", "hsv", 3])
def test_bad_color_names(color: Any) -> None:
    with pytest.raises(InputError, match="color"):
        check_color(color)


@pytest.mark.parametrize(
    ("color", "scale", "offset", "expected"),
    [
        ("bgr", 1 / 255, 0.0, [30 / 255, 20 / 255, 10 / 255]),
        ("rgb", 1 / 255, 0.0, [10 / 255, 20 / 255, 30 / 255]),
        ("bgr", 2 / 255, -1.0, [60 / 255 - 1, 40 / 255 - 1, 20 / 255 - 1]),
    ],
)
def test_crop_to_tensor_swaps_to_rgb_and_scales(
    color: Any, scale: float, offset: float, expected: list[float]
) -> None:
    crop = np.zeros((3, 4, 3), np.uint8)
    crop[...] = (10, 20, 30)
    out = np.full((1, 3, 4, 3), 7.0, np.float32)
    res = crop_to_tensor(crop, color, out, scale=scale, offset=offset)
    assert res is out
    np.testing.assert_allclose(out[0, 2, 3], expected, rtol=1e-6)
