"""The Pose value type, its Landmark view and its JSON form (posekit.pose, posekit.schema)."""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import pickle
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from posekit.errors import InputError
from posekit.pose import Landmark, Pose
from posekit.schema import FLOAT32_MAX, SCHEMA_VERSION, PoseModel, pose_json_schema
from posekit.topology import COCO17_NAMES, FLIP_PERMUTATION, NUM_KEYPOINTS, Keypoint

N = NUM_KEYPOINTS


def make_arrays(seed: int = 0, *, world: bool = True) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    arrays: dict[str, Any] = {
        "xy": rng.uniform(-20, 660, (N, 2)).astype(np.float32),
        "z": rng.uniform(-300, 300, N).astype(np.float32),
        "visibility": rng.uniform(0, 1, N).astype(np.float32),
        "presence": rng.uniform(0, 1, N).astype(np.float32),
    }
    if world:
        arrays["world"] = rng.uniform(-1, 1, (N, 3)).astype(np.float32)
    return arrays


def build(arrays: dict[str, Any], **kwargs: Any) -> Pose:
    a = dict(arrays)
    options = {"score": 0.9, "image_size": (640, 480), "world": a.pop("world", None)}
    options.update(kwargs)
    return Pose(a.pop("xy"), a.pop("z"), a.pop("visibility"), a.pop("presence"), **options)


@pytest.fixture
def arrays() -> dict[str, Any]:
    return make_arrays()


@pytest.fixture
def pose(arrays: dict[str, Any]) -> Pose:
    return build(arrays)


# ---------------------------------------------------------------------------- construction


def test_stores_read_only_float32(arrays: dict[str, Any], pose: Pose) -> None:
    for name in ("xy", "z", "visibility", "presence", "world"):
        stored = getattr(pose, name)
        assert stored.dtype == np.float32
        assert stored.flags.c_contiguous
        assert not stored.flags.writeable
        np.testing.assert_array_equal(stored, arrays[name])
        with pytest.raises(ValueError, match="read-only"):
            stored[0] = 1.0
    assert pose.score == 0.9 and isinstance(pose.score, float)
    assert pose.image_size == (640, 480)


def test_float32_contiguous_input_is_shared_not_copied(arrays: dict[str, Any]) -> None:
    pose = build(arrays)
    for name in ("xy", "z", "visibility", "presence", "world"):
        assert np.shares_memory(getattr(pose, name), arrays[name])
        assert arrays[name].flags.writeable, "the caller's array flags must be left alone"


@pytest.mark.parametrize(
    "transform",
    [
        lambda a: a.astype(np.float64),
        lambda a: a.astype(np.float16),
        lambda a: np.asfortranarray(a) if a.ndim == 2 else a[::-1].copy()[::-1],
        lambda a: a.astype(">f4"),
        lambda a: a.tolist(),
    ],
    ids=["float64", "float16", "non-contiguous", "big-endian", "lists"],
)
def test_other_inputs_are_converted_to_private_copies(
    arrays: dict[str, Any], transform: Any
) -> None:
    converted = {k: transform(v) for k, v in arrays.items()}
    pose = build(converted)
    for name in ("xy", "z", "visibility", "presence", "world"):
        stored = getattr(pose, name)
        assert stored.dtype == np.float32 and stored.flags.c_contiguous
        expected = np.asarray(converted[name]).astype(np.float32)
        np.testing.assert_array_equal(stored, expected)
        if isinstance(converted[name], np.ndarray):
            assert not np.shares_memory(stored, converted[name])


def test_integer_arrays_and_boundary_values_are_accepted() -> None:
    pose = Pose(
        np.zeros((N, 2), np.int64),
        np.full(N, -5, np.int32),
        np.zeros(N, np.uint8),
        np.ones(N, np.uint8),
        score=np.float32(1.0),
        image_size=(np.int64(1), np.int64(1)),
    )
    assert pose.z.tolist() == [-5.0] * N
    assert pose.visibility.max() == 0.0 and pose.presence.min() == 1.0
    assert pose.score == 1.0 and pose.image_size == (1, 1)
    assert all(type(v) is int for v in pose.image_size)
    assert (
        Pose(np.zeros((N, 2)), np.zeros(N), np.ones(N), np.ones(N), score=np.array(0.0)).score == 0
    )


def _nan_at(shape: tuple[int, ...], row: int, value: float = math.nan) -> np.ndarray:
    a = np.zeros(shape, np.float32)
    a[row] = value
    return a


_BAD_ARRAYS: list[tuple[str, str, Any, str]] = [
    # (id, argument, value, message fragment)
    ("xy-33x3", "xy", np.zeros((N, 3)), "xy must have shape (33, 2)"),
    ("xy-32x2", "xy", np.zeros((32, 2)), "got (32, 2)"),
    ("xy-transposed", "xy", np.zeros((2, N)), "got (2, 33)"),
    ("xy-flat", "xy", np.zeros(2 * N), "got (66,)"),
    ("xy-batched", "xy", np.zeros((1, N, 2)), "got (1, 33, 2)"),
    ("z-column", "z", np.zeros((N, 1)), "z must have shape (33,)"),
    ("visibility-34", "visibility", np.ones(N + 1), "visibility must have shape (33,)"),
    ("presence-scalar", "presence", 1.0, "presence must have shape (33,)"),
    ("world-33x2", "world", np.zeros((N, 2)), "world must have shape (33, 3)"),
    ("xy-strings", "xy", np.full((N, 2), "1.0"), "xy must hold numbers"),
    ("xy-str-list", "xy", [["1", "2"]] * N, "got dtype <U1"),
    ("z-object", "z", np.array([1.0] * N, dtype=object), "got dtype object"),
    ("z-none", "z", None, "got dtype object"),
    ("visibility-bool", "visibility", np.ones(N, bool), "got dtype bool"),
    ("xy-complex", "xy", np.zeros((N, 2), complex), "got dtype complex128"),
    ("xy-ragged", "xy", [[1.0, 2.0]] * (N - 1) + [[1.0]], "could not make an array"),
    ("xy-nan", "xy", _nan_at((N, 2), Keypoint.LEFT_KNEE), "xy has non-finite values"),
    (
        "z-inf",
        "z",
        _nan_at((N,), Keypoint.NOSE, math.inf),
        "z has non-finite values (NaN or inf) at NOSE",
    ),
    ("world-nan", "world", _nan_at((N, 3), Keypoint.RIGHT_HEEL), "at RIGHT_HEEL"),
    ("xy-overflow", "xy", np.full((N, 2), 1e39), "beyond float32 range"),
    ("visibility-negative", "visibility", _nan_at((N,), 3, -0.25), "visibility must lie in [0, 1]"),
    ("presence-above-one", "presence", np.full(N, 1.5, np.float32), "presence must lie in [0, 1]"),
    ("visibility-nan", "visibility", _nan_at((N,), 0), "got nan at NOSE"),
    ("presence-inf", "presence", _nan_at((N,), 0, math.inf), "presence must lie in [0, 1]"),
]


@pytest.mark.parametrize(
    ("argument", "value", "message"), [b[1:] for b in _BAD_ARRAYS], ids=[b[0] for b in _BAD_ARRAYS]
)
def test_bad_arrays_are_refused(
    arrays: dict[str, Any], argument: str, value: Any, message: str
) -> None:
    arrays[argument] = value
    with pytest.raises(InputError, match=re.escape(message)):
        build(arrays)


def test_nan_message_names_every_bad_keypoint(arrays: dict[str, Any]) -> None:
    arrays["xy"] = arrays["xy"].copy()
    arrays["xy"][[Keypoint.LEFT_KNEE, Keypoint.RIGHT_ANKLE], 1] = np.nan
    with pytest.raises(InputError, match=r"at LEFT_KNEE, RIGHT_ANKLE: .*visibility/presence"):
        build(arrays)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"score": 0.0}, None, None),
        ({"score": 1}, None, None),
        ({"score": np.float64(0.25)}, None, None),
        ({"score": 1.5}, InputError, "score must lie in [0, 1]"),
        ({"score": -0.01}, InputError, "score must lie in [0, 1]"),
        ({"score": math.nan}, InputError, "score must lie in [0, 1]"),
        ({"score": "0.5"}, InputError, "score must be a real number"),
        ({"score": True}, InputError, "score must be a real number"),
        ({"score": None}, InputError, "score must be a real number"),
        ({"score": np.array([0.5])}, InputError, "score must be a real number"),
        ({"image_size": None}, None, None),
        ({"image_size": [1920, 1080]}, None, None),
        ({"image_size": (640,)}, InputError, "image_size must be (width, height)"),
        ({"image_size": (640, 480, 3)}, InputError, "image_size must be (width, height)"),
        ({"image_size": (640.0, 480)}, InputError, "two ints"),
        ({"image_size": (True, 480)}, InputError, "two ints"),
        ({"image_size": "640x480"}, InputError, "two ints"),
        ({"image_size": (0, 480)}, InputError, "image_size must be positive"),
        ({"image_size": (640, -480)}, InputError, "image_size must be positive"),
    ],
)
def test_score_and_image_size(
    arrays: dict[str, Any],
    kwargs: dict[str, Any],
    error: type[Exception] | None,
    message: str | None,
) -> None:
    if error is None:
        pose = build(arrays, **kwargs)
        if "score" in kwargs:
            assert pose.score == float(kwargs["score"])
        else:
            expected = kwargs["image_size"]
            assert pose.image_size == (None if expected is None else tuple(expected))
    else:
        with pytest.raises(error, match=re.escape(message or "")):
            build(arrays, **kwargs)


def test_constructor_arguments_after_presence_are_keyword_only(arrays: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Pose(arrays["xy"], arrays["z"], arrays["visibility"], arrays["presence"], 0.9)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Pose(arrays["xy"], arrays["z"], arrays["visibility"], arrays["presence"])  # type: ignore[call-arg]


# ---------------------------------------------------------------------------- landmarks


def test_landmark_by_enum_int_name_and_numpy_int(arrays: dict[str, Any], pose: Pose) -> None:
    k = Keypoint.LEFT_KNEE
    expected = Landmark(
        keypoint=k,
        x=float(arrays["xy"][k, 0]),
        y=float(arrays["xy"][k, 1]),
        z=float(arrays["z"][k]),
        visibility=float(arrays["visibility"][k]),
        presence=float(arrays["presence"][k]),
        world=tuple(float(v) for v in arrays["world"][k]),  # type: ignore[arg-type]
    )
    for key in (k, 25, "left_knee", "LEFT KNEE", np.int64(25), np.uint8(25)):
        got = pose[key]
        assert got == expected
        assert type(got.x) is float and type(got.world[0]) is float  # type: ignore[index]
        assert got.keypoint is Keypoint.LEFT_KNEE
    assert expected.xy == (expected.x, expected.y)


def test_landmark_without_world(arrays: dict[str, Any]) -> None:
    arrays.pop("world")
    pose = build(arrays)
    assert pose.world is None
    assert pose[Keypoint.NOSE].world is None
    assert all(lm.world is None for lm in pose)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (33, "keypoint index 33 is out of range"),
        (-1, "negative indices are not supported"),
        (np.int64(100), "out of range"),
        ("knee", "unknown keypoint name 'knee'"),
        (2.0, "got float 2.0"),
        (None, "got NoneType"),
        (True, "got bool"),
        (slice(0, 5), "got slice"),
    ],
)
def test_bad_keys(pose: Pose, key: Any, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        pose[key]


def test_landmark_is_frozen_and_slotted(pose: Pose) -> None:
    lm = pose[Keypoint.NOSE]
    with pytest.raises(dataclasses.FrozenInstanceError):
        lm.x = 1.0  # type: ignore[misc]
    assert not hasattr(lm, "__dict__")
    assert hash(lm) == hash(pose[0])


def test_len_and_iteration_agree_with_indexing(pose: Pose) -> None:
    assert len(pose) == N
    landmarks = list(pose)
    assert len(landmarks) == N
    assert landmarks == [pose[k] for k in Keypoint]
    assert [lm.keypoint for lm in landmarks] == list(Keypoint)


def test_pose_attributes_cannot_be_set(pose: Pose) -> None:
    with pytest.raises(AttributeError):
        pose.xy = np.zeros((N, 2), np.float32)  # type: ignore[misc]
    with pytest.raises(AttributeError):
        pose.extra = 1  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------- conversions


def test_xyz_and_normalized(arrays: dict[str, Any], pose: Pose) -> None:
    xyz = pose.xyz
    assert xyz.shape == (N, 3) and xyz.dtype == np.float32
    np.testing.assert_array_equal(xyz[:, :2], arrays["xy"])
    np.testing.assert_array_equal(xyz[:, 2], arrays["z"])
    norm = pose.normalized()
    assert norm.dtype == np.float32
    np.testing.assert_allclose(norm[:, 0] * 640, arrays["xy"][:, 0], rtol=1e-6)
    np.testing.assert_allclose(norm[:, 1] * 480, arrays["xy"][:, 1], rtol=1e-6)


def test_normalized_needs_image_size(arrays: dict[str, Any]) -> None:
    pose = build(arrays, image_size=None)
    with pytest.raises(InputError, match=r"no image_size.*image_size=\(width, height\)"):
        pose.normalized()


def test_to_coco17_matches_named_lookup(pose: Pose) -> None:
    coco = pose.to_coco17()
    assert coco.shape == (17, 3) and coco.dtype == np.float32
    for row, name in zip(coco.tolist(), COCO17_NAMES, strict=True):
        lm = pose[name]
        assert row == [lm.x, lm.y, lm.visibility]


def test_flipped_mirrors_and_swaps_sides(arrays: dict[str, Any], pose: Pose) -> None:
    flipped = pose.flipped()
    left, right = Keypoint.LEFT_WRIST, Keypoint.RIGHT_WRIST
    assert flipped[left].x == pytest.approx(640 - pose[right].x, abs=1e-4)
    assert flipped[left].y == pose[right].y
    assert flipped[left].z == pose[right].z
    assert flipped[left].visibility == pose[right].visibility
    assert flipped[left].presence == pose[right].presence
    assert flipped[left].world == (-pose[right].world[0], *pose[right].world[1:])  # type: ignore[index]
    assert flipped[Keypoint.NOSE].x == pytest.approx(640 - pose[Keypoint.NOSE].x, abs=1e-4)
    assert flipped.score == pose.score and flipped.image_size == pose.image_size
    assert flipped.flipped().allclose(pose, atol=1e-4)
    np.testing.assert_array_equal(
        pose.flipped(1000).xy[:, 0], 1000 - arrays["xy"][FLIP_PERMUTATION, 0]
    )


@pytest.mark.parametrize(
    ("image_size", "width", "message"),
    [
        (None, None, "needs the frame width"),
        ((640, 480), math.nan, "finite and positive"),
        ((640, 480), -1, "finite and positive"),
        ((640, 480), "640", "must be a number"),
    ],
)
def test_flipped_bad_width(
    arrays: dict[str, Any], image_size: Any, width: Any, message: str
) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        build(arrays, image_size=image_size).flipped(width)


# ---------------------------------------------------------------------------- value semantics


def test_equality_and_hash(arrays: dict[str, Any], pose: Pose) -> None:
    twin = build({k: v.copy() for k, v in arrays.items()})
    assert twin == pose and hash(twin) == hash(pose)
    assert pose != build(arrays, score=0.5)
    assert pose != build(arrays, image_size=(641, 480))
    assert pose != build({k: v for k, v in arrays.items() if k != "world"})
    other = {k: v.copy() for k, v in arrays.items()}
    other["z"][5] += 1
    assert pose != build(other)
    assert pose != "not a pose"
    assert len({pose, twin, build(other)}) == 2


def test_signed_zero_poses_are_equal_and_hash_equal(arrays: dict[str, Any]) -> None:
    a = {k: v.copy() for k, v in arrays.items()}
    b = {k: v.copy() for k, v in arrays.items()}
    a["xy"][0, 0] = 0.0
    b["xy"][0, 0] = -0.0
    pa, pb = build(a), build(b)
    assert pa == pb and hash(pa) == hash(pb)


def test_allclose(arrays: dict[str, Any], pose: Pose) -> None:
    nudged = {k: v.copy() for k, v in arrays.items()}
    nudged["xy"] += np.float32(1e-3)
    other = build(nudged)
    assert not pose.allclose(other)
    assert pose.allclose(other, atol=2e-3)
    assert not pose.allclose(build(arrays, image_size=(1, 1)), atol=1e9)
    assert not pose.allclose(build({k: v for k, v in arrays.items() if k != "world"}), atol=1e9)
    assert not pose.allclose(build(arrays, score=0.8), atol=0.05)
    with pytest.raises(InputError, match="compares two Poses"):
        pose.allclose("pose")  # type: ignore[arg-type]


def test_repr_is_informative(pose: Pose) -> None:
    text = repr(pose)
    assert text.startswith("Pose(score=0.900, image_size=(640, 480), visible=")
    visible = int((pose.visibility >= 0.5).sum())
    assert f"visible={visible}/33" in text
    assert f"{pose.xy[:, 0].min():.1f}" in text and "world=True" in text


@pytest.mark.parametrize("world", [True, False])
def test_pickle_and_copy_keep_value_and_read_only(world: bool) -> None:
    pose = build(make_arrays(3, world=world))
    for clone in (pickle.loads(pickle.dumps(pose)), copy.copy(pose), copy.deepcopy(pose)):
        assert clone == pose
        assert not clone.xy.flags.writeable


# ---------------------------------------------------------------------------- JSON


def test_to_dict_layout(pose: Pose) -> None:
    d = pose.to_dict()
    assert list(d) == [
        "schema_version",
        "score",
        "image_size",
        "xy",
        "z",
        "visibility",
        "presence",
        "world",
    ]
    assert d["schema_version"] == SCHEMA_VERSION == 1
    assert d["image_size"] == [640, 480]
    assert d["xy"][Keypoint.LEFT_KNEE] == pose.xy[Keypoint.LEFT_KNEE].tolist()
    assert json.loads(pose.to_json()) == d
    assert json.loads(pose.to_json(indent=2)) == d


def _bits(pose: Pose) -> list[bytes | None]:
    return [
        None if a is None else a.tobytes()
        for a in (pose.xy, pose.z, pose.visibility, pose.presence, pose.world)
    ]


_finite32 = st.floats(width=32, allow_nan=False, allow_infinity=False)
_unit32 = st.floats(min_value=0.0, max_value=1.0, width=32)


@st.composite
def poses(draw: st.DrawFn) -> Pose:
    world = draw(st.none() | hnp.arrays(np.float32, (N, 3), elements=_finite32))
    image_size = draw(st.none() | st.tuples(st.integers(1, 10_000), st.integers(1, 10_000)))
    return Pose(
        draw(hnp.arrays(np.float32, (N, 2), elements=_finite32)),
        draw(hnp.arrays(np.float32, (N,), elements=_finite32)),
        draw(hnp.arrays(np.float32, (N,), elements=_unit32)),
        draw(hnp.arrays(np.float32, (N,), elements=_unit32)),
        score=draw(st.floats(0.0, 1.0)),
        world=world,
        image_size=image_size,
    )


@settings(max_examples=150, deadline=None)
@given(poses())
def test_json_round_trip_is_bit_exact(pose: Pose) -> None:
    back = Pose.from_json(pose.to_json())
    assert back == pose
    assert _bits(back) == _bits(pose)  # also keeps -0.0 and subnormals
    assert back.score == pose.score and back.image_size == pose.image_size


@settings(max_examples=100, deadline=None)
@given(poses())
def test_dict_round_trip_is_bit_exact(pose: Pose) -> None:
    back = Pose.from_dict(pose.to_dict())
    assert back == pose and _bits(back) == _bits(pose)


# A small validator for the JSON Schema keywords pydantic emits. jsonschema is not a dependency;
# unknown keywords fail loudly so that a schema this cannot check is never passed silently.
_ANNOTATIONS = {"title", "description", "default", "$schema"}


def _schema_errors(
    instance: Any, schema: dict[str, Any], root: dict[str, Any], path: str = "$"
) -> list[str]:
    errors: list[str] = []
    # "type" first: the other keywords assume the instance has the right type.
    for key, rule in sorted(schema.items(), key=lambda item: item[0] != "type"):
        if key in _ANNOTATIONS:
            continue
        if key == "$ref":
            target: Any = root
            for part in rule.removeprefix("#/").split("/"):
                target = target[part]
            errors += _schema_errors(instance, target, root, path)
        elif key == "$defs":
            continue
        elif key == "type":
            ok = {
                "object": isinstance(instance, dict),
                "array": isinstance(instance, list),
                "number": isinstance(instance, (int, float)) and not isinstance(instance, bool),
                "integer": isinstance(instance, int) and not isinstance(instance, bool),
                "null": instance is None,
                "string": isinstance(instance, str),
            }[rule]
            if not ok:
                errors.append(f"{path}: not {rule}")
                return errors
        elif key == "anyOf":
            if all(_schema_errors(instance, s, root, path) for s in rule):
                errors.append(f"{path}: matches no anyOf branch")
        elif key == "const":
            if instance != rule:
                errors.append(f"{path}: != {rule}")
        elif key == "properties":
            for name, sub in rule.items():
                if name in instance:
                    errors += _schema_errors(instance[name], sub, root, f"{path}.{name}")
        elif key == "required":
            errors += [f"{path}: missing {name}" for name in rule if name not in instance]
        elif key == "additionalProperties":
            assert rule is False, "only additionalProperties: false is supported"
            errors += [f"{path}: extra {n}" for n in instance if n not in schema["properties"]]
        elif key == "items":
            for i, item in enumerate(instance[len(schema.get("prefixItems", [])) :]):
                errors += _schema_errors(item, rule, root, f"{path}[{i}]")
        elif key == "prefixItems":
            for i, (item, sub) in enumerate(zip(instance, rule, strict=False)):
                errors += _schema_errors(item, sub, root, f"{path}[{i}]")
        elif key in ("minItems", "maxItems"):
            if (len(instance) < rule) if key == "minItems" else (len(instance) > rule):
                errors.append(f"{path}: {key} {rule}")
        elif key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            ok = {
                "minimum": instance >= rule,
                "maximum": instance <= rule,
                "exclusiveMinimum": instance > rule,
                "exclusiveMaximum": instance < rule,
            }[key]
            if not ok:
                errors.append(f"{path}: {key} {rule}")
        else:
            raise AssertionError(f"schema keyword {key!r} is not supported by this test validator")
    return errors


@settings(max_examples=60, deadline=None)
@given(poses())
def test_json_validates_against_published_schema(pose: Pose) -> None:
    schema = pose_json_schema()
    document = json.loads(pose.to_json())
    assert _schema_errors(document, schema, schema) == []
    PoseModel.model_validate_json(pose.to_json())  # pydantic agrees


def test_schema_is_published_draft_2020_12_and_strict() -> None:
    schema = pose_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"score", "xy", "z", "visibility", "presence"}
    json.dumps(schema)  # plain JSON


def _valid_document() -> dict[str, Any]:
    return build(make_arrays(1)).to_dict()


def _edit(**changes: Any) -> dict[str, Any]:
    document = _valid_document()
    for key, value in changes.items():
        if value is _DROP:
            del document[key]
        else:
            document[key] = value
    return document


_DROP = object()

_BAD_DOCUMENTS: list[tuple[str, dict[str, Any], str]] = [
    ("missing-xy", _edit(xy=_DROP), "xy"),
    ("32-keypoints", _edit(z=[0.0] * 32), "z"),
    ("xy-triples", _edit(xy=[[0.0, 0.0, 0.0]] * N), "xy"),
    ("version-2", _edit(schema_version=2), "schema_version"),
    ("extra-field", _edit(colour="red"), "colour"),
    ("visibility-1.5", _edit(visibility=[1.5] * N), "visibility"),
    ("score-negative", _edit(score=-0.5), "score"),
    ("string-number", _edit(z=["1.0"] * N), "z"),
    ("float32-overflow", _edit(world=[[1e39, 0.0, 0.0]] * N), "world"),
    ("zero-image-width", _edit(image_size=[0, 480]), "image_size"),
    ("float-image-width", _edit(image_size=[640.0, 480]), "image_size"),
    ("bool-score", _edit(score=True), "score"),
    ("string-version", _edit(schema_version="1"), "schema_version"),
]


@pytest.mark.parametrize(
    ("document", "field"), [b[1:] for b in _BAD_DOCUMENTS], ids=[b[0] for b in _BAD_DOCUMENTS]
)
def test_bad_documents_are_refused_by_loader_and_schema(
    document: dict[str, Any], field: str
) -> None:
    with pytest.raises(InputError, match=rf"not a valid posekit pose document(.|\n)*{field}"):
        Pose.from_dict(document)
    with pytest.raises(InputError, match="not a valid posekit pose document"):
        Pose.from_json(json.dumps(document))
    schema = pose_json_schema()
    assert _schema_errors(document, schema, schema) != []


@pytest.mark.parametrize(
    "text",
    ['{"score": 1.0', "", "[]", '{"score": NaN}', "null"],
    ids=["truncated", "empty", "array", "nan-literal", "null"],
)
def test_malformed_json_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="not a valid posekit pose document"):
        Pose.from_json(text)


def test_loader_accepts_minimal_document_and_bytes() -> None:
    document = _edit(world=_DROP, image_size=_DROP, schema_version=_DROP)
    pose = Pose.from_json(json.dumps(document).encode())
    assert pose.world is None and pose.image_size is None
    np.testing.assert_array_equal(pose.xy, np.asarray(document["xy"], np.float32))
    assert float(np.finfo(np.float32).max) == FLOAT32_MAX
