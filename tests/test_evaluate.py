"""Tests of the PCK evaluation protocol (posekit.eval) and the ``posekit eval`` command."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from posekit.cli import main as cli_main
from posekit.cli.eval_cmd import ProgressLine
from posekit.errors import InputError, SourceError
from posekit.eval import (
    CropBox,
    PckAccumulator,
    crop_box,
    evaluate,
    extract_crop,
    load_targets,
    score_person,
    torso_diagonal,
)
from posekit.topology import COCO17_NAMES

# ------------------------------------------------------------------------------ crop_box


@pytest.mark.parametrize(
    ("bbox", "expected", "error"),
    [
        # centre (30, 60); side 1.5 x 80 = 120; corner (30 - 60, 60 - 60)
        ([10, 20, 40, 80], CropBox(-30, 0, 120), None),
        # centre (140, 70); side 1.5 x 80 = 120 -> corner (80, 10)
        ([100, 50, 80, 40], CropBox(80, 10, 120), None),
        # side round(1.5 x 11) = round(16.5) = 16 (banker's rounding); centre (5.5, 5.5)
        # corner floor(5.5 - 8 + 0.5) = -2
        ([0, 0, 11, 11], CropBox(-2, -2, 16), None),
        # fractional bbox: centre (10.25, 10.25), side round(1.5 x 7.5) = 11 -> floor(5.25) = 5
        ([6.5, 6.5, 7.5, 7.5], CropBox(5, 5, 11), None),
        # tiny box still yields a 1-pixel crop
        ([3, 3, 0.2, 0.2], CropBox(3, 3, 1), None),
        ([0, 0, 0, 10], None, InputError),
        ([0, 0, 10, -1], None, InputError),
        ([0, 0, 10], None, InputError),
        ([0, 0, float("nan"), 10], None, InputError),
    ],
)
def test_crop_box(
    bbox: list[float], expected: CropBox | None, error: type[Exception] | None
) -> None:
    if error is not None:
        with pytest.raises(error):
            crop_box(bbox)
        return
    assert crop_box(bbox) == expected


def test_crop_box_is_centred_on_the_bbox() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, y = rng.uniform(-50, 500, 2)
        w, h = rng.uniform(1, 300, 2)
        box = crop_box([x, y, w, h])
        assert box.side == round(1.5 * max(w, h))
        # the crop centre is within half a pixel of the bbox centre on each axis
        assert abs(box.x0 + box.side / 2 - (x + w / 2)) <= 0.5
        assert abs(box.y0 + box.side / 2 - (y + h / 2)) <= 0.5


# ------------------------------------------------------------------------------ extract_crop


def _ramp(h: int, w: int) -> np.ndarray:
    """An image whose pixel (x, y) holds (x, y, 7) so crops can be checked pixel by pixel."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.arange(w, dtype=np.uint8)[None, :] + 1
    img[..., 1] = np.arange(h, dtype=np.uint8)[:, None] + 1
    img[..., 2] = 7
    return img


@pytest.mark.parametrize(
    "box",
    [
        CropBox(2, 3, 5),  # inside
        CropBox(-3, -2, 6),  # top-left outside
        CropBox(15, 8, 10),  # bottom-right outside
        CropBox(-5, -5, 40),  # larger than the image on every side
        CropBox(100, 100, 4),  # entirely outside: all zeros
    ],
)
def test_extract_crop_translates_and_zero_pads(box: CropBox) -> None:
    img = _ramp(12, 20)
    crop = extract_crop(img, box)
    assert crop.shape == (box.side, box.side, 3)
    assert crop.dtype == np.uint8 and crop.flags.c_contiguous
    for j in range(box.side):
        for i in range(box.side):
            x, y = box.x0 + i, box.y0 + j
            inside = 0 <= x < 20 and 0 <= y < 12
            expected = img[y, x] if inside else np.zeros(3, np.uint8)
            assert crop[j, i].tolist() == expected.tolist(), (i, j)


def test_extract_crop_does_not_alias_the_image() -> None:
    img = _ramp(10, 10)
    crop = extract_crop(img, CropBox(0, 0, 10))
    crop[:] = 0
    assert img[..., 2].min() == 7


def test_to_image_is_the_inverse_translation() -> None:
    box = CropBox(-7, 12, 30)
    assert box.to_image([[0.0, 0.0], [7.5, 1.0]]).tolist() == [[-7.0, 12.0], [0.5, 13.0]]


# ------------------------------------------------------------------------------ torso_diagonal


def _coco(points: dict[int, tuple[float, float]], v: float = 2) -> np.ndarray:
    k = np.zeros((17, 3))
    for i, (x, y) in points.items():
        k[i] = [x, y, v]
    return k


@pytest.mark.parametrize(
    ("points", "expected", "error"),
    [
        # upright rectangle 30 x 40: both diagonals 50
        ({5: (0, 0), 6: (30, 0), 11: (0, 40), 12: (30, 40)}, 50.0, None),
        # |LS - RH| = |(0,0) - (6,8)| = 10; |RS - LH| = |(6,0) - (6,8)| = 8 -> max 10
        ({5: (0, 0), 6: (6, 0), 11: (6, 8), 12: (6, 8)}, 10.0, None),
        # profile view: shoulders coincide, hips coincide: 3-4-5 triangle
        ({5: (1, 1), 6: (1, 1), 11: (4, 5), 12: (4, 5)}, 5.0, None),
        # other keypoints do not matter
        ({0: (999, 999), 5: (0, 0), 6: (0, 0), 11: (0, 2), 12: (0, 2)}, 2.0, None),
    ],
)
def test_torso_size(
    points: dict[int, tuple[float, float]], expected: float, error: type[Exception] | None
) -> None:
    assert torso_diagonal(_coco(points)) == pytest.approx(expected)
    assert torso_diagonal(_coco(points)[:, :2]) == pytest.approx(expected)


@pytest.mark.parametrize("shape", [(16, 3), (17,), (17, 1), (33, 2)])
def test_torso_size_rejects_bad_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputError):
        torso_diagonal(np.zeros(shape))


# ------------------------------------------------------------------------------ score_person

# torso 50 (30 x 40 rectangle) -> threshold 10 px
_GT = _coco({5: (0, 0), 6: (30, 0), 11: (0, 40), 12: (30, 40), 0: (15, -20), 9: (50, 50)})


@pytest.mark.parametrize(
    ("offset", "expected_correct"),
    [
        ((0.0, 0.0), 6),
        ((9.99, 0.0), 6),
        ((10.0, 0.0), 0),  # strictly below the threshold
        ((6.0, 8.0), 0),  # exactly 10 px diagonally
        ((6.0, 7.9), 6),
        ((0.0, -30.0), 0),
    ],
)
def test_score_person_threshold(offset: tuple[float, float], expected_correct: int) -> None:
    pred = _GT[:, :2] + np.array(offset)
    s = score_person(_GT, pred)
    assert s.detected and s.torso == pytest.approx(50.0)
    assert int(s.labelled.sum()) == 6
    assert int(s.correct.sum()) == expected_correct
    assert not s.correct[~s.labelled].any()
    np.testing.assert_allclose(s.error[s.labelled], math.hypot(*offset) / 50.0)
    assert np.isnan(s.error[~s.labelled]).all()


def test_score_person_per_keypoint() -> None:
    pred = _GT[:, :2].copy()
    pred[0] += [0, 12]  # nose 12 px off: wrong
    pred[9] += [-5, 5]  # wrist 7.07 px off: right
    pred[1] += [500, 0]  # unlabelled: ignored
    s = score_person(_GT, pred)
    assert s.labelled.nonzero()[0].tolist() == [0, 5, 6, 9, 11, 12]
    assert s.correct.nonzero()[0].tolist() == [5, 6, 9, 11, 12]


def test_score_person_no_detection_and_explicit_torso() -> None:
    s = score_person(_GT, None)
    assert not s.detected and not s.correct.any() and int(s.labelled.sum()) == 6
    # with a torso of 100 the threshold is 20 px: 15 px errors count as correct
    s2 = score_person(_GT, _GT[:, :2] + [15.0, 0.0], torso=100.0)
    assert int(s2.correct.sum()) == 6
    s3 = score_person(_GT, _GT[:, :2] + [15.0, 0.0])
    assert int(s3.correct.sum()) == 0


@pytest.mark.parametrize(
    ("gt_shape", "pred_shape"), [((17, 2), (17, 2)), ((17, 3), (16, 2)), ((17, 3), (17,))]
)
def test_score_person_rejects_bad_shapes(
    gt_shape: tuple[int, ...], pred_shape: tuple[int, ...]
) -> None:
    with pytest.raises(InputError):
        score_person(np.ones(gt_shape), np.ones(pred_shape))


# ------------------------------------------------------------------------------ accumulation


def test_accumulator_micro_and_macro_by_hand() -> None:
    acc = PckAccumulator()
    # person A: 6 labelled (nose, shoulders, wrist, hips), all correct
    acc.add(score_person(_GT, _GT[:, :2]))
    # person B: only the torso labelled, 3 of 4 correct (left shoulder 20 px off)
    gt_b = _coco({5: (0, 0), 6: (30, 0), 11: (0, 40), 12: (30, 40)})
    pred_b = gt_b[:, :2].copy()
    pred_b[5] += [20, 0]
    acc.add(score_person(gt_b, pred_b))
    # person C: missed
    acc.add(score_person(gt_b, None))
    s = acc.summary()
    assert (s.persons, s.detected) == (3, 2)
    assert s.detection_rate == pytest.approx(2 / 3)
    # labelled: nose 1, l_sho 3, r_sho 3, l_wrist 1, l_hip 3, r_hip 3 = 14; correct 6 + 3 = 9
    assert int(s.labelled.sum()) == 14 and int(s.correct.sum()) == 9
    assert s.pck_micro == pytest.approx(9 / 14)
    pk = s.per_keypoint
    assert pk[0] == 1.0 and pk[9] == 1.0
    assert pk[5] == pytest.approx(1 / 3) and pk[6] == pytest.approx(2 / 3)
    assert pk[11] == pytest.approx(2 / 3) and pk[12] == pytest.approx(2 / 3)
    assert np.isnan(pk[[1, 2, 3, 4, 7, 8, 10, 13, 14, 15, 16]]).all()
    assert s.pck_macro == pytest.approx((1 + 1 / 3 + 2 / 3 + 1 + 2 / 3 + 2 / 3) / 6)
    d = s.to_dict()
    assert d["per_keypoint"]["nose"] == {"labelled": 1, "correct": 1, "pck": 1.0}
    assert d["per_keypoint"]["left_eye"]["pck"] is None
    json.dumps(d)  # JSON-ready


def test_empty_accumulator() -> None:
    s = PckAccumulator().summary()
    assert s.persons == 0 and math.isnan(s.pck_micro) and math.isnan(s.pck_macro)
    assert math.isnan(s.detection_rate)
    json.dumps(s.to_dict())


# ------------------------------------------------------------------------------ COCO loading


def _ann(
    ann_id: int,
    image_id: int,
    kps: dict[int, tuple[float, float]],
    bbox: list[float],
    **extra: Any,
) -> dict[str, Any]:
    flat = _coco(kps).reshape(-1).tolist()
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
            "keypoints": flat, "bbox": bbox, **extra}  # fmt: skip


_TORSO = {5: (120.0, 70.0), 6: (140.0, 70.0), 11: (120.0, 100.0), 12: (140.0, 100.0)}


def _coco_file(tmp_path: Path, annotations: list[dict[str, Any]], **top: Any) -> Path:
    data = {
        "images": [
            {"id": 1, "file_name": "a.png", "source_dataset": "alpha"},
            {"id": 2, "file_name": "b.png", "source_dataset": "beta"},
        ],
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        **top,
    }
    path = tmp_path / "ann.json"
    path.write_text(json.dumps(data))
    return path


def test_load_targets_filters_and_orders(tmp_path: Path) -> None:
    no_hip = dict(_TORSO)
    del no_hip[12]
    anns = [
        _ann(10, 2, _TORSO, [100, 50, 40, 80]),  # image 2 listed second -> comes second
        _ann(11, 1, _TORSO, [100, 50, 40, 80]),
        _ann(12, 1, no_hip, [100, 50, 40, 80]),  # right hip unlabelled
        _ann(13, 1, _TORSO, [100, 50, 40, 80], iscrowd=1),
        _ann(14, 1, _TORSO, [100, 50, 40, 80], category_id=3),
        _ann(15, 1, _TORSO, [100, 50, 0, 80]),  # empty bbox
        _ann(16, 9, _TORSO, [100, 50, 40, 80]),  # unknown image
        {"id": 17, "image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5]},  # no keypoints
    ]
    path = _coco_file(tmp_path, anns)
    targets = load_targets(path)
    assert [t.annotation_id for t in targets] == [11, 10]
    assert [t.source_dataset for t in targets] == ["alpha", "beta"]
    t = targets[0]
    assert t.box == CropBox(60, 30, 120)
    assert t.torso == pytest.approx(math.hypot(20, 30))
    assert [x.annotation_id for x in load_targets(path, limit=1)] == [11]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        ("{not json", "not valid JSON"),
        (json.dumps({"images": []}), "annotations"),
        (json.dumps({"images": [{"id": "x"}], "annotations": []}), "images.0"),
        (
            json.dumps(
                {
                    "images": [{"id": 1, "file_name": "a.png"}],
                    "annotations": [
                        {"id": 1, "image_id": 1, "keypoints": [1, 2, 3], "bbox": [0, 0, 1, 1]}
                    ],
                }
            ),
            "51",
        ),
    ],
)
def test_bad_annotation_file_is_one_input_error(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    path = tmp_path / "ann.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=needle):
        load_targets(path)


# ------------------------------------------------------------------------------ evaluate()


def _spot_image(
    path: Path, spots: list[tuple[int, int]], size: tuple[int, int] = (200, 160)
) -> None:
    img = np.zeros((size[1], size[0], 3), np.uint8)
    for x, y in spots:
        img[y, x] = 255
    assert cv2.imwrite(str(path), img)


def _brightest_spot(crop: np.ndarray) -> np.ndarray | None:
    """A fake runtime: every keypoint at the brightest crop pixel; nothing when the crop is dark."""
    if crop.max() == 0:
        return None
    j, i = np.unravel_index(int(np.argmax(crop[..., 0])), crop.shape[:2])
    return np.tile(np.array([i, j], np.float64), (17, 1))


def test_evaluate_maps_crop_predictions_back_to_the_image(tmp_path: Path) -> None:
    # person 1 in a.png: bbox [100, 50, 40, 80] -> crop corner (60, 30), side 120.
    # The white spot at image (130, 85) sits at crop (70, 55); the fake runtime returns it for
    # every keypoint, which must come back as image (130, 85).
    # torso = hypot(20, 30) = 36.06 -> threshold 7.21 px.
    kps = dict(_TORSO)
    kps[0] = (130.0, 85.0)  # nose at the spot: correct
    kps[9] = (134.0, 90.0)  # left wrist 6.4 px away: correct
    # torso joints are 15.8 .. 18.0 px away from the spot: wrong
    # person 2 in b.png: image is dark -> no detection
    anns = [_ann(1, 1, kps, [100, 50, 40, 80]), _ann(2, 2, _TORSO, [100, 50, 40, 80])]
    path = _coco_file(tmp_path, anns)
    _spot_image(tmp_path / "a.png", [(130, 85)])
    _spot_image(tmp_path / "b.png", [])

    seen: list[tuple[int, ...]] = []

    def runtime(crop: np.ndarray) -> np.ndarray | None:
        seen.append(crop.shape)
        return _brightest_spot(crop)

    calls: list[tuple[int, int]] = []
    rep = evaluate(
        path, tmp_path, runtime, runtime="fake", progress=lambda d, t: calls.append((d, t))
    )
    assert seen == [(120, 120, 3), (120, 120, 3)]
    assert calls == [(1, 2), (2, 2)]
    s = rep.overall
    assert (s.persons, s.detected) == (2, 1)
    assert int(s.labelled.sum()) == 6 + 4 and int(s.correct.sum()) == 2
    assert s.pck_micro == pytest.approx(2 / 10)
    assert rep.per_dataset["alpha"].pck_micro == pytest.approx(2 / 6)
    assert rep.per_dataset["beta"].detected == 0 and rep.per_dataset["beta"].pck_micro == 0.0
    p0 = rep.persons[0]
    assert p0["correct"][0] == 1 and p0["correct"][9] == 1 and sum(p0["correct"]) == 2
    assert p0["error_over_torso"][0] == 0.0
    d = rep.to_dict()
    json.dumps(d)
    assert d["overall"]["persons"] == 2 and set(d["per_dataset"]) == {"alpha", "beta"}
    text = rep.format()
    assert "mean PCK micro" in text and "alpha" in text and "beta" in text


def test_evaluate_zero_pads_crops_at_the_border(tmp_path: Path) -> None:
    # bbox at the image corner: centre (20, 30), side 90 -> crop corner (-25, -15);
    # the spot at image (2, 3) is crop (27, 18); crop rows < 15 and columns < 25 are padding
    kps = {5: (2.0, 3.0), 6: (30.0, 3.0), 11: (2.0, 60.0), 12: (30.0, 60.0)}
    path = _coco_file(tmp_path, [_ann(1, 1, kps, [0, 0, 40, 60])])
    _spot_image(tmp_path / "a.png", [(2, 3)])
    crops: list[np.ndarray] = []

    def runtime(crop: np.ndarray) -> np.ndarray | None:
        crops.append(crop)
        return _brightest_spot(crop)

    rep = evaluate(path, tmp_path, runtime)
    assert crops[0].shape == (90, 90, 3)
    assert crops[0][18, 27, 0] == 255
    assert int(crops[0][:15].sum()) == 0 and int(crops[0][:, :25].sum()) == 0
    assert rep.persons[0]["correct"][5] == 1  # left shoulder at the spot


@pytest.mark.parametrize(
    ("setup", "error", "needle"),
    [
        ("no_dir", SourceError, "image folder"),
        ("missing_image", SourceError, "does not exist"),
        ("corrupt_image", SourceError, "cannot be decoded"),
        ("no_person", InputError, "nothing to evaluate"),
    ],
)
def test_evaluate_errors(tmp_path: Path, setup: str, error: type[Exception], needle: str) -> None:
    anns = [] if setup == "no_person" else [_ann(1, 1, _TORSO, [100, 50, 40, 80])]
    path = _coco_file(tmp_path, anns)
    images = tmp_path / "img"
    if setup != "no_dir":
        images.mkdir()
    if setup == "corrupt_image":
        (images / "a.png").write_bytes(b"not a png")
    with pytest.raises(error, match=needle):
        evaluate(path, images, _brightest_spot)


# ------------------------------------------------------------------------------ CLI


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda d: ["--coco", str(d / "missing.json"), "--images", str(d)], "does not exist"),
        (lambda d: ["--coco", str(d / "bad.json"), "--images", str(d)], "not valid JSON"),
        (lambda d: ["--coco", str(d / "ok.json"), "--images", str(d / "nope")], "image folder"),
    ],
)
def test_cli_errors_are_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], list[str]],
    needle: str,
) -> None:
    (tmp_path / "bad.json").write_text("{")
    _coco_file(tmp_path, []).rename(tmp_path / "ok.json")
    code = cli_main(["eval", *make(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("posekit: error:") and needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("arg", [["--limit", "0"], ["--model", "huge"], ["--limit", "x"]])
def test_cli_rejects_bad_options(arg: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli_main(["eval", "--coco", "a.json", "--images", ".", *arg])
    assert exc.value.code == 2


@pytest.mark.parametrize(("tty", "expected_lines"), [(False, 11), (True, 1)])
def test_progress_line(tty: bool, expected_lines: int) -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return tty

    buf = Stream()
    p = ProgressLine(buf, "eval")
    for i in range(1, 101):
        p(i, 100)
    out = buf.getvalue()
    assert out.count("\n") == expected_lines
    assert out.rstrip("\n").endswith("100/100 persons")


# ------------------------------------------------------------------------------ end to end


@pytest.mark.slow
def test_posekit_eval_end_to_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_dir: Path
) -> None:
    """The real tracker on the shared dev set: sane figures, consistent table and JSON."""
    KEYPOINTS = shared_dir / "data" / "keypoints"
    out = tmp_path / "eval.json"
    code = cli_main([
        "eval", "--coco", str(KEYPOINTS / "annotations.json"), "--images",
        str(KEYPOINTS / "images"), "--model", "full", "--json", str(out), "--no-progress",
    ])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    rep = json.loads(out.read_text())
    overall = rep["overall"]
    targets = load_targets(KEYPOINTS / "annotations.json")
    assert overall["persons"] == len(targets) == len(rep["persons"])
    # plausible ranges for BlazePose on single-person crops (not exact figures)
    assert 0.6 <= overall["detection_rate"] <= 1.0
    assert 0.4 <= overall["pck_micro"] <= 1.0
    assert 0.4 <= overall["pck_macro"] <= 1.0
    # the table is consistent: per-keypoint counts add up to the means
    per_kp = overall["per_keypoint"]
    assert list(per_kp) == list(COCO17_NAMES)
    labelled = sum(v["labelled"] for v in per_kp.values())
    correct = sum(v["correct"] for v in per_kp.values())
    assert overall["pck_micro"] == pytest.approx(correct / labelled)
    pcks = [v["pck"] for v in per_kp.values() if v["pck"] is not None]
    assert overall["pck_macro"] == pytest.approx(sum(pcks) / len(pcks))
    # ... the per-person records and per-dataset groups add up to the total
    assert sum(sum(p["correct"]) for p in rep["persons"]) == correct
    assert sum(p["detected"] for p in rep["persons"]) == overall["detected"]
    assert sum(d["persons"] for d in rep["per_dataset"].values()) == overall["persons"]
    assert sum(d["correct_keypoints"] for d in rep["per_dataset"].values()) == correct
    assert set(rep["per_dataset"]) == {t.source_dataset for t in targets}
    # each per-person verdict follows from its recorded error; missed persons score nothing
    for p in rep["persons"]:
        for lab, ok, err in zip(p["labelled"], p["correct"], p["error_over_torso"], strict=True):
            if not lab or not p["detected"]:
                assert not ok and err is None
            else:
                assert ok == (err < 0.2) or abs(err - 0.2) < 1e-3
    # the printed table carries the same figures
    assert f"{100 * overall['pck_micro']:.1f} ({labelled})" in printed
    for name in COCO17_NAMES:
        assert name in printed
