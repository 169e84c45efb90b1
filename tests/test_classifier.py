"""Pose classifier (posekit.analyzers.classifier): embedding, k-NN votes, persistence, streams,
the classifier-driven rep counter, and a train/holdout check on the real yoga images."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA

from posekit.analyzers.base import OfflineFrame
from posekit.analyzers.classifier import (
    EMBEDDING_PAIRS,
    FORMAT_NAME,
    FORMAT_VERSION,
    ClassRepCounter,
    EMAVoteSmoother,
    PoseClassifier,
    PoseClassifierAnalyzer,
    extract_folder_samples,
    mirror_landmarks,
    pose_embedding,
)
from posekit.analyzers.reps import Phase
from posekit.errors import InputError, TimestampError
from posekit.pose import Pose
from posekit.topology import Keypoint

YOGA = DATA / "yoga"


def _standing(rng: np.random.Generator | None = None, arm: float = 0.0) -> np.ndarray:
    """A rough upright body (33, 3) in pixels; ``arm`` raises the left arm (degrees)."""
    lm = np.zeros((33, 3), np.float32)
    K = Keypoint
    spots = {
        K.NOSE: (100, 40), K.LEFT_SHOULDER: (115, 70), K.RIGHT_SHOULDER: (85, 70),
        K.LEFT_ELBOW: (120, 100), K.RIGHT_ELBOW: (80, 100), K.LEFT_WRIST: (122, 130),
        K.RIGHT_WRIST: (78, 130), K.LEFT_HIP: (110, 140), K.RIGHT_HIP: (90, 140),
        K.LEFT_KNEE: (111, 185), K.RIGHT_KNEE: (89, 185), K.LEFT_ANKLE: (112, 230),
        K.RIGHT_ANKLE: (88, 230),
    }  # fmt: skip
    for k, xy in spots.items():
        lm[k, :2] = xy
    for k in range(33):
        if not lm[k].any():
            lm[k, :2] = (100, 60)
    if arm:
        a = np.radians(arm)
        sh = lm[K.LEFT_SHOULDER, :2]
        lm[K.LEFT_ELBOW, :2] = sh + 30 * np.array([np.sin(a), np.cos(a)])
        lm[K.LEFT_WRIST, :2] = sh + 60 * np.array([np.sin(a), np.cos(a)])
    if rng is not None:
        lm += rng.normal(0, 1.0, lm.shape).astype(np.float32)
    return lm


# ----------------------------------------------------------------------------- embedding
def test_embedding_has_23_features() -> None:
    assert len(EMBEDDING_PAIRS) == 23
    assert pose_embedding(_standing()).shape == (23, 3)
    assert pose_embedding(np.stack([_standing(), _standing()])).shape == (2, 23, 3)


@pytest.mark.parametrize(
    ("scale", "shift"),
    [(1.0, (0, 0, 0)), (2.5, (0, 0, 0)), (0.3, (500, -200, 7)), (1.0, (-40, 1000, 0))],
)
def test_embedding_translation_and_scale_invariant(scale: float, shift: tuple[float, ...]) -> None:
    lm = _standing(np.random.default_rng(3))
    moved = lm * np.float32(scale) + np.float32(shift)
    np.testing.assert_allclose(pose_embedding(moved), pose_embedding(lm), atol=2e-3)


def test_embedding_of_mirror_is_permuted_and_x_negated() -> None:
    lm = _standing(np.random.default_rng(4), arm=60)
    emb, emb_m = pose_embedding(lm), pose_embedding(mirror_landmarks(lm))
    # x of every left/right feature pair swaps and changes sign; y, z are kept.
    assert not np.allclose(emb, emb_m, atol=1e-3)  # the arm pose is asymmetric
    pairs = {p: i for i, p in enumerate(EMBEDDING_PAIRS)}
    for i, (a, b) in enumerate(EMBEDDING_PAIRS):
        if a >= 33:
            continue
        ma, mb = int(Keypoint(a).mirror), int(Keypoint(b).mirror)
        cross = (ma, mb) not in pairs  # left-right pairs map onto themselves, reversed
        j = pairs[(mb, ma)] if cross else pairs[(ma, mb)]
        sign = -1.0 if cross else 1.0
        np.testing.assert_allclose(emb_m[j, 0], -sign * emb[i, 0], atol=1e-3)
        np.testing.assert_allclose(emb_m[j, 1:], sign * emb[i, 1:], atol=1e-3)


def test_classifier_distance_is_mirror_invariant() -> None:
    rng = np.random.default_rng(5)
    clf = PoseClassifier(np.stack([_standing(rng, arm=a) for a in (0, 45, 90, 135)]), "abcd")
    q = _standing(rng, arm=70)
    for got, want in zip(clf.distances(mirror_landmarks(q)), clf.distances(q), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.zeros((32, 3)), "shape"),
        (np.full((33, 3), np.nan), "NaN"),
        (np.zeros((33, 3)), "degenerate"),
        ("not landmarks", "numeric"),
    ],
)
def test_embedding_bad_input(value: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        pose_embedding(value)


# ----------------------------------------------------------------------------- k-NN votes
def _two_class_set() -> tuple[np.ndarray, list[str]]:
    # Only the left arm moves, so distances grow with the angle between arms.
    down = [_standing(arm=a) for a in (0.5, 1, 2, 3, 4, 5)]
    up = [_standing(arm=a) for a in (170, 171, 172, 173)]
    side = [_standing(arm=a) for a in (88, 89, 90, 91, 92)]
    return np.stack(down + up + side), ["down"] * 6 + ["up"] * 4 + ["side"] * 5


@pytest.mark.parametrize(
    ("arm", "top_mean", "expected"),
    [
        # 15 samples: the 10 voters take the nearest class whole, then the next nearest.
        (0, 10, {"down": 6, "side": 4, "up": 0}),
        (170, 10, {"down": 1, "side": 5, "up": 4}),
        (90, 5, {"down": 0, "side": 5, "up": 0}),
        (175, 3, {"down": 0, "side": 0, "up": 3}),
    ],
)
def test_vote_table(arm: float, top_mean: int, expected: dict[str, int]) -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(lm, labels, top_n_by_mean_distance=top_mean)
    votes = clf.classify(_standing(arm=arm))
    assert votes.votes == {k: float(v) for k, v in sorted(expected.items())}
    assert votes.k == top_mean
    assert sum(votes.votes.values()) == top_mean


def test_votes_accept_pose_and_mirror_matches() -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(lm, labels, top_n_by_mean_distance=4)
    q = _standing(np.random.default_rng(11), arm=170)
    pose = Pose(q[:, :2], q[:, 2], np.ones(33), np.ones(33), score=1.0)
    assert clf.classify(pose).label == "up"
    assert clf.classify(mirror_landmarks(q)).label == "up"  # the other arm raised


def test_first_stage_limits_the_candidates() -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(lm, labels, top_n_by_max_distance=2, top_n_by_mean_distance=10)
    assert clf.k == 2
    assert len(clf.neighbours(_standing(arm=0))) == 2


def test_small_class_warning(caplog: pytest.LogCaptureFixture) -> None:
    lm, labels = _two_class_set()
    with caplog.at_level(logging.WARNING, logger="posekit.analyzers.classifier"):
        PoseClassifier(lm, labels, top_n_by_mean_distance=10)  # smallest class has 4
    assert "smallest class" in caplog.text


def test_default_voters_capped_at_smallest_class() -> None:
    lm, labels = _two_class_set()
    smallest = min(labels.count(c) for c in set(labels))
    assert PoseClassifier(lm, labels).k == min(10, smallest)
    counter = ClassRepCounter(PoseClassifier(lm, labels), "up")
    assert (counter.enter_votes, counter.exit_votes) == pytest.approx(
        (0.6 * min(10, smallest), 0.4 * min(10, smallest))
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ["a"]}, "one label per"),
        ({"top_n_by_max_distance": 0}, "positive int"),
        ({"top_n_by_mean_distance": True}, "positive int"),
        ({"axis_weights": (1, 1)}, "three finite"),
        ({"axis_weights": (1, -1, 0)}, "three finite"),
        ({"names": ["x"]}, "names"),
    ],
)
def test_classifier_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    lm, labels = _two_class_set()
    args: dict[str, Any] = {"landmarks": lm, "labels": labels, **kwargs}
    with pytest.raises(InputError, match=message):
        PoseClassifier(**args)


# ----------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_save_load_round_trip(tmp_path: Path, suffix: str) -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(
        lm, labels, top_n_by_max_distance=12, top_n_by_mean_distance=3, axis_weights=(1, 0.5, 0)
    )
    path = clf.save(tmp_path / f"model{suffix}")
    back = PoseClassifier.load(path)
    assert back.labels == clf.labels and back.names == clf.names
    np.testing.assert_array_equal(back.landmarks, clf.landmarks)
    q = _standing(np.random.default_rng(1), arm=100)
    assert back.classify(q) == clf.classify(q)
    np.testing.assert_array_equal(back.distances(q)[1], clf.distances(q)[1])


def _write_npz(path: Path, **arrays: Any) -> Path:
    with path.open("wb") as fh:
        np.savez(fh, **arrays)
    return path


def _good_npz_arrays() -> dict[str, Any]:
    lm, labels = _two_class_set()
    return {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(FORMAT_VERSION),
        "landmarks": lm,
        "labels": np.array(labels),
        "top_n": np.array([30, 3]),
        "axis_weights": np.array([1.0, 1.0, 0.2]),
    }


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.json", None, "does not exist"),
        ("model.txt", "hello", "expected .json or .npz"),
        ("bad.json", "{not json", "not valid JSON"),
        ("other.json", json.dumps({"format": "x", "format_version": 1}), "not a posekit"),
        ("v2.json", json.dumps({"format": FORMAT_NAME, "format_version": 2}), "version 2"),
        (
            "empty.json",
            json.dumps({"format": FORMAT_NAME, "format_version": 1, "params": {}, "samples": []}),
            "non-empty 'samples'",
        ),
        (
            "nolabel.json",
            json.dumps(
                {
                    "format": FORMAT_NAME,
                    "format_version": 1,
                    "params": {},
                    "samples": [{"landmarks": [[0, 0, 0]] * 33}],
                }
            ),
            "'label'",
        ),
        (
            "badparam.json",
            json.dumps(
                {
                    "format": FORMAT_NAME,
                    "format_version": 1,
                    "params": {"k": 3},
                    "samples": [{"label": "a", "landmarks": [[0, 0, 0]] * 33}],
                }
            ),
            "unknown classifier params",
        ),
        ("garbage.npz", b"PK\x03\x04 definitely not a zip", "not a readable .npz"),
    ],
)
def test_load_bad_files(
    tmp_path: Path, name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    elif isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        PoseClassifier.load(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": np.array(99)}, "version 99"),
        ({"format": np.array("something.else")}, "not a posekit"),
        ({"top_n": np.array([1.5, 2.0])}, "two ints"),
        ({"labels": np.arange(15)}, "string arrays"),
        ({"landmarks": np.zeros((15, 33, 2))}, "shape"),
    ],
)
def test_load_bad_npz(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    path = _write_npz(tmp_path / "m.npz", **{**_good_npz_arrays(), **change})
    with pytest.raises(InputError, match=message):
        PoseClassifier.load(path)


def test_npz_with_pickled_object_is_refused(tmp_path: Path) -> None:
    arrays = _good_npz_arrays()
    arrays["labels"] = np.array(arrays["labels"].tolist(), dtype=object)
    path = _write_npz(tmp_path / "pickled.npz", **arrays)
    with pytest.raises(InputError, match="pickled"):
        PoseClassifier.load(path)


def test_load_good_npz_written_by_hand(tmp_path: Path) -> None:
    path = _write_npz(tmp_path / "m.npz", **_good_npz_arrays())
    assert PoseClassifier.load(path).classes == ("down", "side", "up")


# ----------------------------------------------------------------------------- streams
def test_ema_smoother_matches_reference_formula() -> None:
    s = EMAVoteSmoother(2, window=3, alpha=0.5)
    history = [[10.0, 0.0], [0.0, 10.0], [4.0, 6.0], [8.0, 2.0]]
    for n, v in enumerate(history, start=1):
        got = s(v)
        last = history[max(0, n - 3) : n][::-1]  # newest first, at most 3
        w = 0.5 ** np.arange(len(last))
        np.testing.assert_allclose(got, w @ np.array(last) / w.sum())
    s.reset()
    np.testing.assert_allclose(s([1.0, 2.0]), [1.0, 2.0])


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"window": 0}, "window"), ({"alpha": 0.0}, "alpha")]
)
def test_ema_smoother_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        EMAVoteSmoother(2, **kwargs)


def _pose(lm: np.ndarray) -> Pose:
    return Pose(lm[:, :2], lm[:, 2], np.ones(33), np.ones(33), score=1.0)


def test_classifier_analyzer_smooths_and_skips_missing_pose() -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(lm, labels, top_n_by_mean_distance=4)
    an = PoseClassifierAnalyzer(clf)
    up, down = _pose(_standing(arm=170)), _pose(_standing(arm=0))
    first = an.update(OfflineFrame(up, 0.0, 0))
    assert first is not None and first.votes["up"] == 4.0
    second = an.update(OfflineFrame(down, 0.1, 1))
    assert second is not None and 0.0 < second.votes["up"] < 4.0 < second.votes["down"] + 2
    assert an.update(OfflineFrame(None, 0.2, 2)) is None
    raw = PoseClassifierAnalyzer(clf, smooth=False).update(OfflineFrame(down, 0.0, 0))
    assert raw is not None and raw.votes["down"] == 4.0


def _counter() -> ClassRepCounter:
    lm, labels = _two_class_set()
    # 10 voters as in the reference, so the default thresholds are the reference's 6 and 4
    return ClassRepCounter(PoseClassifier(lm, labels, top_n_by_mean_distance=10), "up")


@pytest.mark.parametrize(
    ("votes", "expected"),
    [
        ([0, 7, 8, 3, 0], 1),
        ([0, 7, 5, 4.5, 7, 2, 7, 9, 1], 2),  # dips to 4.5 do not count
        ([0, 6, 6, 6, 2, 2], 0),  # never above 6
        ([5, 6.5, 5, 6.5, 5, 6.5], 0),  # oscillating around the enter threshold
        ([3.9, 4.1, 3.9, 4.1], 0),  # oscillating around the exit threshold
    ],
)
def test_rep_counter_hysteresis(votes: list[float], expected: int) -> None:
    c = _counter()
    states = [c.update_votes(v, float(i)) for i, v in enumerate(votes)]
    assert states[-1].count == expected == c.count
    assert sum(s.new_rep is not None for s in states) == expected


def test_rep_counter_records_and_lost_person() -> None:
    c = _counter()
    c.update_votes(7.0, 1.0)
    c.update_votes(9.0, 1.5)
    rep = c.update_votes(3.0, 2.0).reps[0]
    assert (rep.start, rep.end, rep.duration, rep.depth) == (1.0, 2.0, 1.0, 9.0)
    c.update_votes(8.0, 3.0)
    lost = c.update(OfflineFrame(None, 3.1, 9))
    assert lost.count == 1 and lost.phase is Phase.UNKNOWN and lost.value is None
    assert c.update_votes(0.0, 3.2).count == 1  # leaving the frame did not count


def test_rep_counter_on_poses() -> None:
    lm, labels = _two_class_set()
    clf = PoseClassifier(lm, labels, top_n_by_mean_distance=10)
    # 'up' reaches 4 of 10 votes here (4 samples): count 'down' (6 samples) instead.
    counter = ClassRepCounter(clf, "down", enter_votes=5.5, exit_votes=3.0)
    seq = ([0] * 12 + [170] * 12) * 3
    states = [
        counter.update(OfflineFrame(_pose(_standing(arm=a)), i / 30, i)) for i, a in enumerate(seq)
    ]
    assert states[-1].count == 3


BAD_TIMESTAMPS = [(1.5, "same"), (1.0, "earlier"), (math.nan, "nan"), (math.inf, "inf")]


@pytest.mark.parametrize(("bad", "why"), BAD_TIMESTAMPS)
def test_rep_counter_in_a_pipeline_refuses_non_increasing_timestamps(bad: float, why: str) -> None:
    from posekit.analyzers import Pipeline

    counter = _counter()
    pipe = Pipeline(analyzers=[counter])
    up = _pose(_standing(arm=170))
    pipe.process(OfflineFrame(up, 1.0, 0))
    pipe.process(OfflineFrame(up, 1.5, 1))
    with pytest.raises(TimestampError):
        pipe.process(OfflineFrame(_pose(_standing(arm=0)), bad, 2))
    assert counter.count == 0


@pytest.mark.parametrize(("bad", "why"), BAD_TIMESTAMPS)
def test_rep_counter_refuses_non_increasing_timestamps_like_the_angle_counters(
    bad: float, why: str
) -> None:
    c = _counter()
    c.update_votes(7.0, 1.0)
    c.update_votes(8.0, 1.5)
    with pytest.raises(TimestampError):
        c.update_votes(2.0, bad)  # would end the repetition before it started
    assert c.count == 0 and c.update_votes(2.0, 2.0).count == 1  # untouched, and it goes on


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"target": "nope"}, "not one of"), ({"enter_votes": 3, "exit_votes": 5}, "must not exceed")],
)
def test_rep_counter_bad_arguments(kwargs: dict[str, Any], message: str) -> None:
    lm, labels = _two_class_set()
    args: dict[str, Any] = {"target": "up", **kwargs}
    with pytest.raises(InputError, match=message):
        ClassRepCounter(PoseClassifier(lm, labels), **args)


# ----------------------------------------------------------------------------- real yoga images
@pytest.fixture(scope="session")
def yoga_samples(models_src: Path) -> Any:
    from posekit.models import install
    from posekit.tracker import Tracker

    install(["pose_detection", "pose_landmark_full"], source=models_src, progress=False)
    with Tracker(mode="image", num_threads=1) as tracker:
        return extract_folder_samples(YOGA, tracker)


def test_yoga_holdout_accuracy(yoga_samples: Any) -> None:
    """Train on 3 images per class, classify the 4th, for each of the 4 folds."""
    s = yoga_samples
    labels = np.array(s.labels)
    classes = sorted(set(labels))
    assert len(labels) >= 0.9 * 32, f"pose missing in {s.missing}"
    position = np.zeros(len(labels), int)
    for c in classes:
        idx = np.flatnonzero(labels == c)
        position[idx] = np.arange(len(idx))
    correct = total = 0
    for fold in range(4):
        test = position == fold
        # 3 voters: the reference's 10 would exceed the 3 training samples per class.
        clf = PoseClassifier(s.landmarks[~test], labels[~test].tolist(), top_n_by_mean_distance=3)
        for i in np.flatnonzero(test):
            correct += clf.classify(s.landmarks[i]).label == labels[i]
            total += 1
    chance = 1.0 / len(classes)
    assert correct / total >= 4 * chance, f"{correct}/{total} correct, chance {chance:.2f}"


def test_from_image_folder_trains(tmp_path: Path, yoga_samples: Any) -> None:
    from posekit.tracker import Tracker

    # Two classes, two images each, plus an unreadable "image" that must be reported.
    for cls in ("downward_dog", "vrukshasana"):
        (tmp_path / cls).mkdir()
        for src in sorted((YOGA / cls).glob("*.jpg"))[:2]:
            (tmp_path / cls / src.name).write_bytes(src.read_bytes())
    (tmp_path / "vrukshasana" / "broken.jpg").write_bytes(b"not an image")
    with Tracker(mode="image", num_threads=1) as tracker:
        clf = PoseClassifier.from_image_folder(tmp_path, tracker, top_n_by_mean_distance=1)
    assert clf.classes == ("downward_dog", "vrukshasana")
    assert clf.skipped == ("vrukshasana/broken.jpg",)
    held_out = sorted(p.name for p in (YOGA / "downward_dog").glob("*.jpg"))[3]
    i = yoga_samples.names.index(f"downward_dog/{held_out}")
    assert clf.classify(yoga_samples.landmarks[i]).label == "downward_dog"


@pytest.mark.parametrize(
    ("make", "message"),
    [("missing", "does not exist"), ("flat", "no class sub-folders"), ("video", "image mode")],
)
def test_from_image_folder_bad_input(tmp_path: Path, make: str, message: str) -> None:
    from posekit.tracker import Tracker

    folder = tmp_path / "data"
    tracker = None
    if make != "missing":
        folder.mkdir()
    if make == "video":
        (folder / "a").mkdir()
        tracker = Tracker(mode="video", num_threads=1)
    with pytest.raises(InputError, match=message):
        extract_folder_samples(folder, tracker)
