"""Issue 16 (analyzers): the exercise table, the one rep result type, the two torso measures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from posekit.analyzers import (
    EXERCISES,
    BicepCurlCounter,
    ClassRepCounter,
    JumpingJackCounter,
    LungeCounter,
    PoseClassifier,
    PushUpCounter,
    RepCounter,
    SquatCounter,
    find_exercise,
    make_counter,
)
from posekit.analyzers.body import torso_size
from posekit.analyzers.classifier import pose_embedding
from posekit.analyzers.reps import Phase, Rep, RepCount
from posekit.cli import build_parser
from posekit.errors import InputError
from posekit.eval import torso_diagonal
from posekit.sinks import result_to_json
from posekit_apps.squats import build_parser as squats_parser


def _config(c: RepCounter) -> tuple[Any, ...]:
    fb = None if c.fallback is None else (c.fallback.signal, c.fallback.up, c.fallback.down)
    return (c.name, c.signal, c.up, c.down, c.rest, c.min_duration, c.debounce, c.words, fb)


@pytest.mark.parametrize(
    ("cls", "name", "result_key"),
    [
        (SquatCounter, "squat", "squats"),
        (PushUpCounter, "pushup", "pushups"),
        (LungeCounter, "lunge", "lunges"),
        (BicepCurlCounter, "curl", "curls"),
        (JumpingJackCounter, "jumping-jack", "jumping_jacks"),
    ],
)
def test_class_table_row_and_make_counter_are_one_counter(
    cls: type[RepCounter], name: str, result_key: str
) -> None:
    row = EXERCISES[name]
    assert row.result_key == result_key and row.name == name
    assert _config(cls()) == _config(make_counter(name)) == _config(make_counter(result_key))
    assert cls().words == row.words and cls().signal == row.signal


@pytest.mark.parametrize(
    ("spelling", "expected"),
    [
        ("squat", "squat"),
        ("Squats", "squat"),
        (" push-ups ", "pushup"),
        ("jumping_jacks", "jumping-jack"),
        ("bicep-curl", "curl"),
        ("yoga", InputError),
        ("", InputError),
    ],
)
def test_find_exercise(spelling: str, expected: str | type[Exception]) -> None:
    if isinstance(expected, str):
        assert find_exercise(spelling).name == expected
    else:
        with pytest.raises(expected, match="unknown exercise"):
            find_exercise(spelling)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "clip.mp4", "--count", "squats"], "squat"),
        (["run", "clip.mp4", "--count", "push-up"], "pushup"),
        (["run", "clip.mp4", "--count", "jumping-jack"], "jumping-jack"),
        (["run", "clip.mp4", "--count", "yoga"], SystemExit),
    ],
)
def test_posekit_run_count_reads_the_table(argv: list[str], expected: str | type) -> None:
    if isinstance(expected, str):
        assert build_parser().parse_args(argv).count == expected
    else:
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(argv)
        assert info.value.code == 2


@pytest.mark.parametrize(
    ("argv", "expected"),
    [(["clip.mp4"], "squat"), (["clip.mp4", "-e", "curls"], "curl"), (["-e", "x"], SystemExit)],
)
def test_posekit_squats_exercise_reads_the_table(argv: list[str], expected: str | type) -> None:
    if isinstance(expected, str):
        assert squats_parser().parse_args(argv).exercise == expected
    else:
        with pytest.raises(SystemExit):
            squats_parser().parse_args(argv)


def test_unknown_signal_thresholds_name_the_known_ones() -> None:
    with pytest.raises(InputError, match=r"no default thresholds.*knee_3d"):
        SquatCounter(signal="elbow")
    assert SquatCounter(signal="elbow", up=150, down=90).up == 150.0


# ------------------------------------------------------------------ one rep result type
def _classifier() -> PoseClassifier:
    rng = np.random.default_rng(0)
    lm = rng.normal(size=(10, 33, 3)) * 40 + 200
    return PoseClassifier(lm, ["up"] * 5 + ["down"] * 5, top_n_by_mean_distance=5)


def test_classifier_counter_returns_the_rep_count_of_every_counter() -> None:
    c = ClassRepCounter(_classifier(), "up", enter_votes=6, exit_votes=4)
    votes = [0, 7, 9, 3, 0, 8, 2]
    states = [c.update_votes(v, i * 0.5, i) for i, v in enumerate(votes)]
    assert all(isinstance(s, RepCount) for s in states)
    assert [s.phase for s in states[:4]] == [
        Phase.REST,
        Phase.RETURNING,
        Phase.RETURNING,
        Phase.REST,
    ]
    reps = [s.new_rep for s in states if s.new_rep is not None]
    assert reps == [
        Rep(1, start=0.5, bottom=1.0, end=1.5, depth=9.0, start_index=1, bottom_index=2,
            end_index=3),
        Rep(2, start=2.5, bottom=2.5, end=3.0, depth=8.0, start_index=5, bottom_index=5,
            end_index=6),
    ]  # fmt: skip
    assert states[-1].reps == tuple(reps) and states[-1].value == 2.0


def test_classifier_counter_records_stay_constant_size() -> None:
    """JSON Lines used to carry every ClassRep on every line (quadratic growth)."""
    c = ClassRepCounter(_classifier(), "up", enter_votes=6, exit_votes=4)
    records = [result_to_json(c.update_votes(v, float(i))) for i, v in enumerate([0, 7, 3] * 20)]
    assert c.count == 20
    assert len(str(records[-1])) - len(str(records[5])) < 20  # rep 20 vs rep 2: digits only
    assert set(records[-1]) == {"count", "phase", "value", "new_rep"}
    assert records[-1]["new_rep"]["number"] == 20


# ------------------------------------------------------------------ the two torso measures
def test_the_two_torso_measures_are_different_things() -> None:
    """geometry: hip centre to shoulder centre (BlazePose-33); eval: the longer torso diagonal
    (COCO-17), the PCK normaliser."""
    body = np.zeros((33, 2))
    body[[11, 12]] = [(0, 0), (30, 0)]  # shoulders
    body[[23, 24]] = [(0, 40), (30, 40)]  # hips
    coco = np.zeros((17, 2))
    coco[[5, 6, 11, 12]] = [(0, 0), (30, 0), (0, 40), (30, 40)]
    assert float(torso_size(body)) == 40.0
    assert torso_diagonal(coco) == 50.0


def test_pose_embedding_scale_is_the_geometry_torso() -> None:
    lm = (np.random.default_rng(3).normal(size=(33, 3)) * 20 + 100).astype(np.float32)
    xy = lm[:, :2].astype(np.float64)
    spread = np.linalg.norm(xy - xy[[23, 24]].mean(axis=0), axis=1).max()
    size = max(2.5 * float(torso_size(xy)), spread)
    expected = (lm[13] - lm[11]) * (100.0 / size)  # pair 1: left shoulder -> left elbow
    np.testing.assert_allclose(pose_embedding(lm)[1], expected, rtol=1e-5, atol=1e-4)
