"""The pose sequence container (posekit.sequence): shapes, masks, slicing, combining,
normalisation (against the retired holistic function on real tracked frames), Pose round
trips, the live builder and the .npz format."""

from __future__ import annotations

import itertools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import DATA

from posekit.analyzers.body import torso_size
from posekit.analyzers.classifier import PoseClassifier
from posekit.analyzers.geometry import angle, stack_poses
from posekit.analyzers.holistic import HolisticResult
from posekit.errors import InputError
from posekit.pose import Pose
from posekit.sequence import (
    BODY_COMPONENTS,
    HOLISTIC_COMPONENTS,
    PoseSequence,
    PoseSequenceBuilder,
)

SIGN_VIDEO = DATA / "sign" / "02_rsl_slovo_woman_home_portrait_720x1280.mp4"
SIZE = (640, 480)


def make_pose(seed: int = 0, *, world: bool = True, size: tuple[int, int] | None = SIZE) -> Pose:
    rng = np.random.default_rng(seed)
    return Pose(
        rng.uniform(0, 600, (33, 2)),
        rng.normal(size=33),
        rng.uniform(0, 1, 33),
        rng.uniform(0, 1, 33),
        score=float(rng.uniform()),
        world=rng.normal(size=(33, 3)) if world else None,
        image_size=size,
    )


@dataclass(frozen=True)
class Part:
    """A stand-in for HandLandmarks / FaceLandmarks (xy, z, presence)."""

    xy: np.ndarray
    z: np.ndarray
    presence: float


def part(n: int, value: float = 7.0) -> Part:
    return Part(np.full((n, 2), value, np.float32), np.full(n, -1.0, np.float32), 0.75)


@dataclass(frozen=True)
class Frame:
    """A stand-in for a tracker FrameResult (pose + timestamp)."""

    pose: Pose | None
    timestamp: float


# ----------------------------------------------------------------------------- shapes, masks
@pytest.mark.parametrize(
    ("items", "kwargs", "shape", "components", "known_frames"),
    [
        ([make_pose(), None], {}, (2, 1, 66, 3), BODY_COMPONENTS, [True, False]),
        ([None, None], {}, (2, 1, 66, 3), BODY_COMPONENTS, [False, False]),
        ([], {}, (0, 1, 66, 3), BODY_COMPONENTS, []),
        ([make_pose()], {"components": ["body"]}, (1, 1, 33, 3), ("body",), [True]),
        ([None, HolisticResult(make_pose())], {}, (2, 1, 576, 3), HOLISTIC_COMPONENTS,
         [False, True]),
        ([HolisticResult(None)], {"face_points": 478}, (1, 1, 586, 3), HOLISTIC_COMPONENTS,
         [False]),
        ([[make_pose(), None], make_pose()], {}, (2, 2, 66, 3), BODY_COMPONENTS, [True, True]),
        ([Frame(make_pose(), 0.5)], {}, (1, 1, 66, 3), BODY_COMPONENTS, [True]),
    ],
)  # fmt: skip
def test_shapes_from_results(
    items: list[Any], kwargs: dict[str, Any], shape: tuple[int, ...], components: tuple[str, ...],
    known_frames: list[bool],
) -> None:  # fmt: skip
    seq = PoseSequence.from_results(items, **kwargs)
    assert seq.shape == shape and len(seq) == shape[0]
    assert tuple(seq.components) == components
    assert seq.data.dtype == np.float32 and seq.confidence.shape == shape[:3]
    assert seq.known[:, 0, 0].tolist() == known_frames
    stops = [c.stop for c in seq.components.values()]
    assert stops[-1] == shape[2] and [c.start for c in seq.components.values()][1:] == stops[:-1]


def test_component_table_and_point_names() -> None:
    seq = PoseSequence.from_results([None], components=HOLISTIC_COMPONENTS)
    table = {n: (c.slice, c.unit, len(c.points)) for n, c in seq.components.items()}
    assert table == {
        "body": (slice(0, 33), "px", 33),
        "left_hand": (slice(33, 54), "px", 21),
        "right_hand": (slice(54, 75), "px", 21),
        "face": (slice(75, 543), "px", 468),
        "body_world": (slice(543, 576), "m", 33),
    }
    assert seq.components["body"].points[11] == "left_shoulder"
    assert seq.components["left_hand"].points[8] == "index_finger_tip"


@pytest.mark.parametrize(
    ("item", "known"),
    [
        # component -> whether its points are known on the frame
        (make_pose(), {"body": True, "left_hand": False, "face": False, "body_world": True}),
        (make_pose(world=False), {"body": True, "left_hand": False, "body_world": False}),
        (HolisticResult(make_pose(), left_hand=part(21)), {"body": True, "left_hand": True,
                                                            "right_hand": False, "face": False}),
        (HolisticResult(make_pose(), face=part(468)), {"face": True, "left_hand": False}),
        (HolisticResult(None, left_hand=part(21)), {"body": False, "left_hand": True}),
        (None, {"body": False, "left_hand": False, "face": False, "body_world": False}),
    ],
)  # fmt: skip
def test_masks(item: Any, known: dict[str, bool]) -> None:
    seq = PoseSequence.from_results([item], components=HOLISTIC_COMPONENTS)
    for name, expected in known.items():
        sl = seq.components[name].slice
        assert seq.known[0, 0, sl].all() == expected and seq.known[0, 0, sl].any() == expected
        comp = seq.component(name)
        assert comp.mask.all() != expected  # the masked array agrees, on all 3 dims
    unknown = ~seq.known
    assert (seq.confidence[unknown] == 0).all() and (seq.data.data[unknown] == 0).all()
    if isinstance(item, HolisticResult) and item.left_hand is not None:
        assert seq.confidence[0, 0, 33] == np.float32(0.75)
        assert seq.component("left_hand")[0, 0, 0].tolist() == [7.0, 7.0, -1.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros((2, 1, 33, 2))}, "shape"),
        ({"data": np.zeros((2, 33, 3))}, "shape"),
        ({"data": np.zeros((2, 1, 34, 3))}, "points per person"),
        ({"data": np.full((1, 1, 33, 3), np.inf)}, "unmasked NaN, infinite"),
        ({"data": np.full((1, 1, 33, 3), 1e300)}, "out-of-float32-range"),
        ({"data": np.ma.MaskedArray(np.full((1, 1, 33, 3), np.nan))}, "unmasked NaN"),
        ({"data": np.full((1, 1, 33, 3), "x")}, "numeric"),
        ({"components": ["torso"]}, "unknown component"),
        ({"components": ["body", "body"], "data": np.zeros((1, 1, 66, 3))}, "twice"),
        ({"components": []}, "at least one"),
        ({"confidence": np.full((1, 1, 33), 1.5)}, "confidence must lie in"),
        ({"confidence": np.ones((1, 1, 32))}, "confidence must have shape"),
        ({"presence": np.ones((1, 1, 2))}, "presence must have shape"),
        ({"score": np.full((1, 1), np.nan)}, "score must lie in"),
        ({"fps": 0.0}, "fps"),
        ({"fps": "30"}, "fps"),
        ({"image_size": (640, 0)}, "image_size"),
        ({"image_size": (640.0, 480)}, "image_size"),
        ({"timestamps": [0.0, 1.0]}, "timestamps must be 1"),
        ({"timestamps": [np.nan]}, "timestamps must be 1 finite"),
    ],
)
def test_constructor_refuses(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {
        "data": np.zeros((1, 1, 33, 3)), "confidence": None, "components": ["body"],
    }  # fmt: skip
    args.update(kwargs)
    if args["confidence"] is None:
        args["confidence"] = np.ones(np.shape(args["data"])[:3]) if np.ndim(args["data"]) else 0
    data, conf, comps = args.pop("data"), args.pop("confidence"), args.pop("components")
    with pytest.raises(InputError, match=match):
        PoseSequence(data, conf, comps, **args)


def test_constructor_nan_and_mask_mean_unknown_and_arrays_are_read_only() -> None:
    data = np.ones((2, 1, 33, 3))
    data[0, 0, 5, 1] = np.nan  # one coordinate unknown: the whole point is
    masked = np.ma.MaskedArray(np.ones((2, 1, 33, 3)), np.zeros((2, 1, 33, 3), bool))
    masked[1, 0, 7, 2] = np.ma.masked
    for value, point in ((data, (0, 0, 5)), (masked, (1, 0, 7))):
        seq = PoseSequence(value, np.ones((2, 1, 33)), ["body"])
        assert (~seq.known).sum() == 1 and not seq.known[point]
        assert seq.confidence[point] == 0 and seq.data.mask[point].all()
        for array in (seq.data.data, seq.data.mask, seq.confidence, seq.presence, seq.score):
            with pytest.raises(ValueError, match="read-only"):
                array[0] = 0
    data[:] = 5.0  # the sequence copied its input
    assert seq.data.data.max() == 1.0


# ----------------------------------------------------------------------------- slicing
def _clip(frames: int = 10, *, fps: float | None = 10.0, timestamps: bool = False) -> PoseSequence:
    items = [Frame(make_pose(i), i * 0.25) if timestamps else make_pose(i) for i in range(frames)]
    return PoseSequence.from_results(items, fps=fps)


@pytest.mark.parametrize(
    ("make", "expected_frames"),
    [
        (lambda s: s[2:5], [2, 3, 4]),
        (lambda s: s[-2:], [8, 9]),
        (lambda s: s[::4], [0, 4, 8]),
        (lambda s: s[[7, 1]], [7, 1]),
        (lambda s: s[np.arange(10) % 5 == 0], [0, 5]),
        (lambda s: s[5:5], []),
        (lambda s: s.slice_time(0.2, 0.5), [2, 3, 4]),  # fps 10: frame t at t / 10 s
        (lambda s: s.slice_time(-5.0, 0.05), [0]),
    ],
)
def test_frame_slicing(make: Any, expected_frames: list[int]) -> None:
    seq = _clip()
    part = make(seq)
    assert len(part) == len(expected_frames) and part.fps == 10.0
    assert [p for p in part.poses()] == [seq.pose(i) for i in expected_frames]


def test_time_slicing_uses_timestamps_when_recorded() -> None:
    seq = _clip(timestamps=True, fps=None)  # timestamps 0, 0.25, 0.5, ...
    assert seq.times.tolist()[:3] == [0.0, 0.25, 0.5]
    assert len(seq.slice_time(0.5, 1.0)) == 2
    assert seq.slice_time(0.5, 1.0).timestamps.tolist() == [0.5, 0.75]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s[3], "ambiguous"),
        (lambda s: s[[0, 10]], "outside"),
        (lambda s: s[np.ones(3, bool)], "frame mask"),
        (lambda s: s[[[0]]], "1-D"),
        (lambda s: s[[0.5]], "1-D"),
        (lambda s: s.slice_time(0.0, np.inf), "finite"),
        (lambda s: _clip(fps=None).slice_time(0.0, 1.0), "no fps"),
        (lambda s: s.select(), "at least one"),
        (lambda s: s.select("face"), "no 'face' component"),
        (lambda s: s.select("body", "body"), "twice"),
        (lambda s: s.select_people(1), "people"),
        (lambda s: s.select_people(), "people"),
        (lambda s: s.pose(10), "outside"),
        (lambda s: s.pose(0, person=1), "outside"),
        (lambda s: s.select("body_world").pose(0), "no 'body' component"),
        (lambda s: s.nan_points("body", dims=4), "dims"),
    ],
)
def test_slicing_refuses(call: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        call(_clip())


def test_select_components_and_people() -> None:
    a, b = make_pose(1), make_pose(2)
    seq = PoseSequence.from_results([[a, b], [None, a]], fps=30.0)
    world = seq.select("body_world", "body")
    assert list(world.components) == ["body_world", "body"]
    np.testing.assert_array_equal(world.component("body_world")[0, 1], b.world)
    second = seq.select_people(1)
    assert second.num_people == 1 and second.pose(0) == b and second.pose(1) == a
    swapped = seq.select_people(1, 0)
    assert swapped.pose(1, person=1) is None and swapped.pose(0, person=1) == a


# ----------------------------------------------------------------------------- combining
def test_concatenate_pads_people_and_keeps_timestamps() -> None:
    one = PoseSequence.from_results([Frame(make_pose(1), 0.0)])
    two = PoseSequence.from_results([[Frame(make_pose(2), 5.0), Frame(make_pose(3), 5.0)]])
    both = PoseSequence.concatenate([one, two, one[0:0]])
    assert both.shape == (2, 2, 66, 3) and both.timestamps.tolist() == [0.0, 5.0]  # type: ignore[union-attr]
    assert both.pose(0) == make_pose(1) and both.pose(0, person=1) is None
    assert both.pose(1, person=1) == make_pose(3)


@pytest.mark.parametrize(
    ("other", "match"),
    [
        (lambda s: s.select("body"), "components"),
        (lambda s: PoseSequence.from_results([make_pose()], fps=25.0), "fps 25.0"),
        (lambda s: PoseSequence.from_results([make_pose(size=(1280, 720))], fps=10.0),
         "image_size"),
        (lambda s: PoseSequence.from_results([Frame(make_pose(), 0.0)], fps=10.0), "timestamps"),
        (lambda s: "not a sequence", "list of PoseSequence"),
    ],
)  # fmt: skip
def test_concatenate_refuses(other: Any, match: str) -> None:
    seq = _clip()
    with pytest.raises(InputError, match=match):
        PoseSequence.concatenate([seq, other(seq)])
    with pytest.raises(InputError, match="non-empty"):
        PoseSequence.concatenate([])


def test_merge_components() -> None:
    hands = PoseSequence.from_results(
        [HolisticResult(None, left_hand=part(21)), HolisticResult(None)],
        components=["left_hand", "right_hand"], fps=10.0,
    )  # fmt: skip
    body = _clip(2)
    merged = hands.merge(body)
    assert list(merged.components) == ["left_hand", "right_hand", "body", "body_world"]
    assert merged.pose(1) == body.pose(1)  # presence and score come from the body's side
    assert merged.known[:, 0, 0].tolist() == [True, False]
    for bad, match in (
        (body, "both have"),
        (_clip(3).select("body"), "frames"),
        (PoseSequence.from_results([None, None], components=["face"]), "fps"),
    ):
        with pytest.raises(InputError, match=match):
            (body if match == "both have" else hands).merge(bad)


# ----------------------------------------------------------------------------- normalisation
HOLISTIC_PARTS = {"pose": slice(0, 33), "left_hand": slice(33, 54), "right_hand": slice(54, 75),
                  "face": slice(75, 543)}  # fmt: skip


def old_to_array(res: HolisticResult) -> np.ma.MaskedArray[Any, Any]:
    """The retired ``HolisticResult.to_array()`` (posekit 0.1.0), verbatim in effect."""
    data = np.zeros((543, 3), np.float32)
    mask = np.ones((543, 3), bool)
    for key, value in (("pose", res.pose), ("left_hand", res.left_hand),
                       ("right_hand", res.right_hand), ("face", res.face)):  # fmt: skip
        if value is not None:
            data[HOLISTIC_PARTS[key], :2] = value.xy
            data[HOLISTIC_PARTS[key], 2] = value.z
            mask[HOLISTIC_PARTS[key]] = False
    return np.ma.MaskedArray(data, mask)


def old_normalize_sequence(seq: np.ma.MaskedArray[Any, Any]) -> np.ma.MaskedArray[Any, Any]:
    """The retired ``holistic.normalize_sequence`` (posekit 0.1.0), its computation verbatim."""
    seq = np.ma.asarray(seq, dtype=np.float32)
    left, right = seq[:, 11], seq[:, 12]
    centre = ((left + right) / 2.0).mean(axis=0)
    dist = np.sqrt(((left - right) ** 2).sum(axis=1)).mean()
    out = (seq - centre) * np.float32(1.0 / float(dist))
    return np.ma.MaskedArray(out, dtype=np.float32)


@pytest.fixture(scope="module")
def tracked_sign(models_src: Path) -> list[tuple[Any, HolisticResult]]:
    """12 real frames of a signer: the tracker's FrameResults and their holistic results."""
    from posekit.analyzers.holistic import Holistic
    from posekit.models import install
    from posekit.tracker import Tracker

    install(
        ["pose_detection", "pose_landmark_full", "hand_landmark_full", "face_landmark",
         "face_detection_short_range"],
        source=models_src, progress=False,
    )  # fmt: skip
    holistic = Holistic(num_threads=1)
    with Tracker(num_threads=1) as tracker:
        frames = list(itertools.islice(tracker.stream(str(SIGN_VIDEO)), 12))
    return [(f, holistic.process(f.frame, f.pose)) for f in frames]


def test_normalisation_matches_the_retired_function_on_real_frames(
    tracked_sign: list[tuple[Any, HolisticResult]],
) -> None:
    results = [r for _, r in tracked_sign]
    assert sum(r.pose is not None for r in results) >= 10
    assert sum(r.left_hand is not None for r in results) >= 10 and any(
        r.right_hand for r in results
    )
    assert any(r.face is not None for r in results)
    old = old_normalize_sequence(np.ma.stack([old_to_array(r) for r in results]))
    seq = PoseSequence.from_results(results, fps=30.0)
    new = seq.normalize().data[:, 0, :543]
    np.testing.assert_array_equal(np.ma.getmaskarray(new), np.ma.getmaskarray(old))
    known = ~np.ma.getmaskarray(old)
    np.testing.assert_allclose(new.data[known], old.data[known], rtol=1e-5, atol=1e-6)
    # body_world is normalised by its own shoulders (metres, origin between the hips)
    world = seq.normalize().component("body_world")[:, 0]
    width = np.linalg.norm(world[:, 11] - world[:, 12], axis=-1).mean()
    assert float(width) == pytest.approx(1.0, rel=1e-5)
    assert seq.normalize().image_size is None and seq.image_size == (720, 1280)


def test_normalisation_of_a_synthetic_sequence() -> None:
    def shoulders(left: tuple[float, float], right: tuple[float, float]) -> Pose:
        xy = np.full((33, 2), 50.0)
        xy[11], xy[12] = left, right
        return Pose(xy, np.zeros(33), np.ones(33), np.ones(33), score=1.0)

    # width 40 centre (100, 100); lost frame; width 60 centre (100, 110)
    seq = PoseSequence.from_results(
        [shoulders((120, 100), (80, 100)), None, shoulders((130, 110), (70, 110))],
        components=["body"],
    )
    out = seq.normalize()
    # pose_format: centre = mean shoulder midpoint (100, 105), scale = 1 / mean width (50)
    np.testing.assert_allclose(out.component("body")[0, 0, 11], [20 / 50, -5 / 50, 0.0])
    assert not out.known[1].any()
    np.testing.assert_allclose(seq.normalize(2.0).component("body")[0, 0, 11], [0.8, -0.2, 0])


@pytest.mark.parametrize(
    ("seq", "kwargs", "match"),
    [
        (PoseSequence.from_results([None], components=["left_hand"]), {}, "no 'body'"),
        (PoseSequence.from_results([None, None]), {}, "no frame has both shoulders"),
        (PoseSequence.from_results([make_pose()]), {"scale_factor": 0.0}, "scale_factor"),
        (PoseSequence.from_results([Pose(np.zeros((33, 2)), np.zeros(33), np.ones(33),
                                         np.ones(33), score=1.0)]), {}, "coincide"),
    ],
)  # fmt: skip
def test_normalisation_refuses(seq: PoseSequence, kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        seq.normalize(**kwargs)


# ----------------------------------------------------------------------------- round trips
@pytest.mark.parametrize(
    "poses",
    [
        [make_pose(0), None, make_pose(1, world=False), make_pose(2, size=None)],
        [None, None, make_pose(3)],
        [make_pose(4, size=None)],
    ],
)
def test_pose_round_trip_is_exact(poses: list[Pose | None]) -> None:
    sized = [p for p in poses if p is not None and p.image_size is not None]
    seq = PoseSequence.from_results(poses)
    back = list(seq.poses())
    for before, after in zip(poses, back, strict=True):
        if before is None:
            assert after is None
            continue
        assert after is not None
        assert after.image_size == (sized[0].image_size if sized else None)
        if before.image_size is not None or not sized:
            assert after == before  # every number, world (or its absence), score


def test_real_frames_round_trip(tracked_sign: list[tuple[Any, HolisticResult]]) -> None:
    frames = [f for f, _ in tracked_sign]
    seq = PoseSequence.from_results(frames)
    assert seq.timestamps is not None and seq.timestamps.tolist() == [f.timestamp for f in frames]
    assert list(seq.poses()) == [f.pose for f in frames]
    results = [r for _, r in tracked_sign]
    holo = PoseSequence.from_results(results)
    for t, r in enumerate(results):
        assert holo.pose(t) == r.pose
        if r.left_hand is not None:
            np.testing.assert_array_equal(holo.component("left_hand")[t, 0, :, :2], r.left_hand.xy)


def test_partly_masked_body_gives_zero_confidence() -> None:
    p = make_pose(5)
    seq = PoseSequence.from_results([p], components=["body"])
    data = seq.data.copy()
    data[0, 0, 3] = np.ma.masked
    masked = PoseSequence(data, seq.confidence, ["body"], presence=seq.presence, score=seq.score)
    q = masked.pose(0)
    assert q is not None and q.visibility[3] == 0 and q.presence[3] == 0
    assert q.visibility[4] == p.visibility[4] and q.xy[3].tolist() == [0.0, 0.0]


# ----------------------------------------------------------------------------- builder
def test_builder_grows_and_keeps_every_frame() -> None:
    builder = PoseSequenceBuilder(fps=30.0, capacity=1)
    poses = [make_pose(i) if i % 4 else None for i in range(70)]
    for i, p in enumerate(poses):
        builder.append(p if i != 50 else [p, make_pose(99)])  # a second person on frame 50
    first = builder.build()
    builder.append(make_pose(100))
    assert len(first) == 70 and len(builder) == 71  # build() copied: appending goes on
    assert first.num_people == 2 and first.pose(50, person=1) == make_pose(99)
    assert list(first.select_people(0).poses()) == poses
    assert builder.build().pose(70) == make_pose(100)


@pytest.mark.parametrize(
    ("first", "bad", "kwargs", "match"),
    [
        (make_pose(), make_pose(size=(1280, 720)), {}, "record each video size"),
        (Frame(make_pose(), 0.0), make_pose(), {}, "has no timestamp"),
        (make_pose(), make_pose(), {"timestamp": 1.0}, "has timestamp"),
        (Frame(make_pose(), 0.0), Frame(make_pose(), float("nan")), {}, "not finite"),
        (make_pose(), "pose", {}, "is not a Pose"),
        (make_pose(), Frame(np.zeros((33, 2)), 0.0), {}, "not a Pose"),  # type: ignore[arg-type]
        (HolisticResult(None), HolisticResult(None, face=part(478)), {}, "face_points=478"),
    ],
)
def test_builder_refuses_and_stays_unchanged(
    first: Any, bad: Any, kwargs: dict[str, Any], match: str
) -> None:
    builder = PoseSequenceBuilder(HOLISTIC_COMPONENTS)
    builder.append(first)
    before = builder.build()
    with pytest.raises(InputError, match=match):
        builder.append(bad, **kwargs)
    assert len(builder) == 1 and builder.build() == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"components": ["hands"]}, "unknown component"),
        ({"face_points": 470}, "face_points"),
        ({"capacity": 0}, "capacity"),
        ({"fps": -1.0}, "fps"),
    ],
)
def test_builder_options_are_checked(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        PoseSequenceBuilder(**kwargs)


# ----------------------------------------------------------------------------- files
def test_npz_round_trip(tmp_path: Path) -> None:
    holo = PoseSequence.from_results(
        [Frame(make_pose(1), 0.1), Frame(None, 0.2)], fps=30.0
    ).merge(PoseSequence.from_results([None, HolisticResult(None, face=part(478))],
                                      components=["face"], face_points=478, fps=30.0))  # fmt: skip
    for seq in (holo, _clip(fps=None), _clip(0), holo.normalize()):
        path = seq.to_npz(tmp_path / "clip.npz")
        assert path == tmp_path / "clip.npz" and list(tmp_path.iterdir()) == [path]
        back = PoseSequence.from_npz(path)
        assert back == seq and list(back.components) == list(seq.components)
        assert list(back.poses()) == list(seq.poses()) if "body" in seq.components else True


def _save_modified(tmp_path: Path, **changes: Any) -> Path:
    src = _clip(3).to_npz(tmp_path / "good.npz")
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    out = tmp_path / "bad.npz"
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda d: d / "missing.npz", "does not exist"),
        (lambda d: (d / "text.npz").write_text("hello") and d / "text.npz", "not a readable"),
        (lambda d: _save_modified(d, format=np.array("posekit.pose_classifier")),
         "not a posekit pose sequence"),
        (lambda d: _save_modified(d, format=None), "not a posekit pose sequence"),
        (lambda d: _save_modified(d, format_version=np.array(2)), "version 2"),
        (lambda d: _save_modified(d, confidence=None), "lacks the arrays"),
        (lambda d: _save_modified(d, data=np.zeros((3, 1, 66, 3))), "float32"),
        (lambda d: _save_modified(d, data=np.zeros((3, 1, 65, 3), np.float32)), "'mask'"),
        (lambda d: _save_modified(d, data=np.full((3, 1, 66, 3), np.nan, np.float32)),
         "unmasked NaN"),
        (lambda d: _save_modified(d, confidence=np.full((3, 1, 66), 2.0, np.float32)),
         "confidence must lie"),
        (lambda d: _save_modified(d, components=np.array(["body", "hands"])), "unknown component"),
        (lambda d: _save_modified(d, components=np.array([1, 2])), "list of names"),
        (lambda d: _save_modified(d, fps=np.array(-3.0)), "fps"),
        (lambda d: _save_modified(d, timestamps=np.zeros(2)), "timestamps"),
        (lambda d: _save_modified(d, image_size=np.array([0, 1])), "image_size"),
    ],
)  # fmt: skip
def test_npz_refuses_bad_files(tmp_path: Path, make: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PoseSequence.from_npz(make(tmp_path))


def test_npz_never_unpickles(tmp_path: Path) -> None:
    path = tmp_path / "pickled.npz"
    np.savez(path, format=np.array(["posekit.pose_sequence", {"x": 1}], dtype=object))
    with pytest.raises(InputError, match="pickled"):
        PoseSequence.from_npz(path)
    assert zipfile.is_zipfile(path)


# ----------------------------------------------------------------------------- consumers
def test_geometry_over_time_takes_the_container() -> None:
    poses = [make_pose(i) for i in range(4)] + [None]
    seq = stack_poses(poses, fps=30.0)
    knees = angle(seq, "left_knee", min_visibility=0.0)
    assert knees.shape == (5, 1) and np.isnan(knees[4, 0])
    for t, p in enumerate(poses[:4]):
        assert knees[t, 0] == pytest.approx(float(angle(p.xy, "left_knee")))  # type: ignore[union-attr]
    metric = torso_size(seq.select("body_world"), min_visibility=0.0)
    assert metric[0, 0] == pytest.approx(float(torso_size(poses[0].world)))  # type: ignore[union-attr]
    with pytest.raises(InputError, match="Pose or None"):
        stack_poses([make_pose(), np.zeros((33, 2))])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (["a"], "labels for 3 frames"),
        ("a", None),
        (["a", "b", "c"], None),
    ],
)
def test_classifier_trains_from_a_sequence(labels: Any, match: str | None) -> None:
    seq = PoseSequence.from_results([make_pose(1), None, make_pose(2)])
    if match is not None:
        with pytest.raises(InputError, match=match):
            PoseClassifier.from_sequence(seq, labels)
        return
    clf = PoseClassifier.from_sequence(seq, labels)
    assert clf.skipped == ("frame_1",) and clf.names == ("frame_0", "frame_2")
    np.testing.assert_array_equal(clf.landmarks[1], make_pose(2).xyz)
    same = PoseClassifier.from_poses([(clf.labels[0], make_pose(1)), (clf.labels[1], make_pose(2))])
    np.testing.assert_array_equal(same.landmarks, clf.landmarks)


@pytest.mark.parametrize(
    ("seq", "match"),
    [
        ("not a sequence", "needs a PoseSequence"),
        (PoseSequence.from_results([None, None]), "no frame of the sequence has a whole body"),
        (PoseSequence.from_results([None], components=["face"]), "no 'body' component"),
    ],
)
def test_classifier_from_sequence_refuses(seq: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        PoseClassifier.from_sequence(seq, "a")
