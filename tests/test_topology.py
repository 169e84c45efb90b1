"""Facts about the BlazePose keypoint topology (posekit.topology)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from posekit.errors import InputError
from posekit.topology import (
    COCO17_FLIP_PERMUTATION,
    COCO17_FROM_BLAZEPOSE,
    COCO17_NAMES,
    COCO17_SKELETON,
    FLIP_PERMUTATION,
    KEYPOINT_NAMES,
    LEFT_RIGHT_PAIRS,
    NUM_KEYPOINTS,
    SKELETON_EDGE_ARRAY,
    SKELETON_EDGES,
    Edge,
    Keypoint,
    MirrorPair,
)


def _reference_section8(shared_dir: Path) -> str:
    text = (shared_dir / "reference" / "blazepose.md").read_text(encoding="utf-8")
    start = text.index("## 8. BlazePose keypoints")
    return text[start:]


def _mirror_name(name: str) -> str:
    """LEFT <-> RIGHT in a keypoint name, computed from the text alone."""
    return name.replace("LEFT", "@").replace("RIGHT", "LEFT").replace("@", "RIGHT")


# ---------------------------------------------------------------------------- keypoints


def test_keypoints_match_the_reference_list(shared_dir: Path) -> None:
    section = _reference_section8(shared_dir)
    listing = section.split("COCO-17")[0]
    entries = re.findall(r"(\d+) ([a-z][a-z ]*[a-z])", listing)
    assert len(entries) == NUM_KEYPOINTS == len(Keypoint) == 33
    for index, words in entries:
        assert Keypoint(int(index)).name == words.upper().replace(" ", "_")
    assert [int(i) for i, _ in entries] == list(range(NUM_KEYPOINTS))


def test_keypoint_values_are_contiguous_and_names_in_order() -> None:
    assert [int(k) for k in Keypoint] == list(range(NUM_KEYPOINTS))
    assert tuple(k.name.lower() for k in Keypoint) == KEYPOINT_NAMES
    assert KEYPOINT_NAMES[0] == "nose"
    assert KEYPOINT_NAMES[-1] == "right_foot_index"
    assert all(Keypoint(i).label == KEYPOINT_NAMES[i] for i in range(NUM_KEYPOINTS))


@pytest.mark.parametrize(
    ("name", "expected", "error"),
    [
        ("left_knee", Keypoint.LEFT_KNEE, None),
        ("LEFT_KNEE", Keypoint.LEFT_KNEE, None),
        ("  Left Knee ", Keypoint.LEFT_KNEE, None),
        ("right-foot-index", Keypoint.RIGHT_FOOT_INDEX, None),
        ("mouth_left", Keypoint.MOUTH_LEFT, None),
        ("nose", Keypoint.NOSE, None),
        ("knee", None, "unknown keypoint name 'knee'"),
        ("left_mouth", None, "unknown keypoint name"),
        ("", None, "unknown keypoint name"),
        (25, None, "must be a str"),
        (None, None, "must be a str"),
    ],
)
def test_from_name(name: object, expected: Keypoint | None, error: str | None) -> None:
    if error is None:
        assert Keypoint.from_name(name) is expected  # type: ignore[arg-type]
    else:
        with pytest.raises(InputError, match=re.escape(error)) as info:
            Keypoint.from_name(name)  # type: ignore[arg-type]
        if isinstance(name, str):  # the message lists the valid names
            assert all(n in str(info.value) for n in KEYPOINT_NAMES)


def test_keypoint_mirror_and_label() -> None:
    assert Keypoint.NOSE.mirror is Keypoint.NOSE
    assert Keypoint.MOUTH_LEFT.mirror is Keypoint.MOUTH_RIGHT
    for k in Keypoint:
        assert k.mirror.name == _mirror_name(k.name)
        assert k.mirror.mirror is k
    assert Keypoint.LEFT_FOOT_INDEX.label == "left_foot_index"


# ---------------------------------------------------------------------------- skeleton

# Bones named independently of the index table in posekit.topology.
_NAMED_BONES = [
    ("NOSE", "LEFT_EYE_INNER"),
    ("LEFT_EYE_OUTER", "LEFT_EAR"),
    ("MOUTH_LEFT", "MOUTH_RIGHT"),
    ("LEFT_SHOULDER", "RIGHT_SHOULDER"),
    ("LEFT_SHOULDER", "LEFT_ELBOW"),
    ("LEFT_ELBOW", "LEFT_WRIST"),
    ("LEFT_WRIST", "LEFT_THUMB"),
    ("LEFT_PINKY", "LEFT_INDEX"),
    ("LEFT_SHOULDER", "LEFT_HIP"),
    ("LEFT_HIP", "RIGHT_HIP"),
    ("LEFT_HIP", "LEFT_KNEE"),
    ("LEFT_KNEE", "LEFT_ANKLE"),
    ("LEFT_ANKLE", "LEFT_HEEL"),
    ("LEFT_HEEL", "LEFT_FOOT_INDEX"),
    ("LEFT_ANKLE", "LEFT_FOOT_INDEX"),
]


def _undirected(edges: object) -> set[frozenset[int]]:
    return {frozenset((int(a), int(b))) for a, b in edges}  # type: ignore[attr-defined]


def test_skeleton_edges_are_valid_and_unique() -> None:
    assert len(SKELETON_EDGES) == 35  # MediaPipe POSE_CONNECTIONS
    for edge in SKELETON_EDGES:
        assert isinstance(edge, Edge)
        assert isinstance(edge.start, Keypoint)
        assert isinstance(edge.end, Keypoint)
        assert edge.start != edge.end
    assert len(_undirected(SKELETON_EDGES)) == len(SKELETON_EDGES)


@pytest.mark.parametrize(("a", "b"), _NAMED_BONES)
def test_named_bone_and_its_mirror_are_edges(a: str, b: str) -> None:
    edges = _undirected(SKELETON_EDGES)
    assert frozenset((Keypoint[a], Keypoint[b])) in edges
    assert frozenset((Keypoint[_mirror_name(a)], Keypoint[_mirror_name(b)])) in edges


def test_skeleton_is_mirror_symmetric() -> None:
    edges = _undirected(SKELETON_EDGES)
    mirrored = {frozenset(int(FLIP_PERMUTATION[i]) for i in e) for e in edges}
    assert mirrored == edges


def test_skeleton_components_are_face_mouth_and_body() -> None:
    parent = list(range(NUM_KEYPOINTS))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in SKELETON_EDGES:
        parent[find(a)] = find(b)
    groups: dict[int, set[int]] = {}
    for i in range(NUM_KEYPOINTS):
        groups.setdefault(find(i), set()).add(i)
    face = {k for k in Keypoint if k <= Keypoint.RIGHT_EAR}
    mouth = {Keypoint.MOUTH_LEFT, Keypoint.MOUTH_RIGHT}
    body = set(Keypoint) - face - mouth
    assert sorted(map(sorted, groups.values())) == sorted(map(sorted, [face, mouth, body]))


def test_skeleton_edge_array_matches_edges() -> None:
    assert SKELETON_EDGE_ARRAY.shape == (len(SKELETON_EDGES), 2)
    assert SKELETON_EDGE_ARRAY.tolist() == [[int(a), int(b)] for a, b in SKELETON_EDGES]


# ---------------------------------------------------------------------------- mirror pairs


def test_left_right_pairs_cover_every_sided_keypoint_once() -> None:
    assert len(LEFT_RIGHT_PAIRS) == 16
    seen: list[Keypoint] = []
    for pair in LEFT_RIGHT_PAIRS:
        assert isinstance(pair, MirrorPair)
        assert "LEFT" in pair.left.name
        assert pair.right.name == _mirror_name(pair.left.name)
        seen += [pair.left, pair.right]
    assert sorted(seen) == [k for k in Keypoint if k is not Keypoint.NOSE]


def test_flip_permutation_is_an_involution_swapping_sides() -> None:
    perm = FLIP_PERMUTATION
    assert perm.shape == (NUM_KEYPOINTS,)
    assert np.issubdtype(perm.dtype, np.integer)
    assert sorted(perm.tolist()) == list(range(NUM_KEYPOINTS))
    np.testing.assert_array_equal(perm[perm], np.arange(NUM_KEYPOINTS))
    assert np.flatnonzero(perm == np.arange(NUM_KEYPOINTS)).tolist() == [Keypoint.NOSE]
    for k in Keypoint:
        assert Keypoint(int(perm[k])).name == _mirror_name(k.name)


def test_flip_permutation_restores_a_mirrored_skeleton() -> None:
    """Mirroring x and re-labelling with the permutation is an exact involution on a pose."""
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 640, size=(NUM_KEYPOINTS, 2))
    mirrored = xy[FLIP_PERMUTATION] * [-1, 1] + [640, 0]
    back = mirrored[FLIP_PERMUTATION] * [-1, 1] + [640, 0]
    np.testing.assert_allclose(back, xy, atol=1e-9)
    # the mirrored LEFT_WRIST is where the original RIGHT_WRIST was, reflected
    lw, rw = Keypoint.LEFT_WRIST, Keypoint.RIGHT_WRIST
    np.testing.assert_allclose(mirrored[lw], [640 - xy[rw, 0], xy[rw, 1]])


# ---------------------------------------------------------------------------- COCO-17


def test_coco17_mapping_matches_reference(shared_dir: Path) -> None:
    section = _reference_section8(shared_dir)
    match = re.search(r"\[([\d,\s]+)\]", section.split("COCO-17", 1)[1])
    assert match is not None
    reference = [int(v) for v in match.group(1).split(",")]
    assert COCO17_FROM_BLAZEPOSE.tolist() == reference


def test_coco17_names_correspond_to_blazepose_keypoints() -> None:
    assert len(COCO17_NAMES) == len(set(COCO17_NAMES)) == 17
    assert COCO17_FROM_BLAZEPOSE.shape == (17,)
    assert np.issubdtype(COCO17_FROM_BLAZEPOSE.dtype, np.integer)
    for name, index in zip(COCO17_NAMES, COCO17_FROM_BLAZEPOSE.tolist(), strict=True):
        assert Keypoint(index).label == name
        assert Keypoint.from_name(name) == index


def test_coco17_skeleton_body_limbs_are_blazepose_edges() -> None:
    assert len(COCO17_SKELETON) == 19
    assert len(_undirected(COCO17_SKELETON)) == 19
    blaze = _undirected(SKELETON_EDGES)
    body_limbs = 0
    for a, b in COCO17_SKELETON:
        assert 0 <= a < 17 and 0 <= b < 17 and a != b
        if min(a, b) >= COCO17_NAMES.index("left_shoulder"):
            body_limbs += 1
            assert frozenset((COCO17_FROM_BLAZEPOSE[a], COCO17_FROM_BLAZEPOSE[b])) in blaze
    assert body_limbs == 12


def test_coco17_flip_permutation_agrees_with_blazepose() -> None:
    perm = COCO17_FLIP_PERMUTATION
    np.testing.assert_array_equal(perm[perm], np.arange(17))
    np.testing.assert_array_equal(
        COCO17_FROM_BLAZEPOSE[perm], FLIP_PERMUTATION[COCO17_FROM_BLAZEPOSE]
    )
    mirrored = {frozenset(int(perm[i]) for i in e) for e in _undirected(COCO17_SKELETON)}
    assert mirrored == _undirected(COCO17_SKELETON)


# ---------------------------------------------------------------------------- immutability


@pytest.mark.parametrize(
    "array",
    [FLIP_PERMUTATION, COCO17_FROM_BLAZEPOSE, COCO17_FLIP_PERMUTATION, SKELETON_EDGE_ARRAY],
    ids=["flip", "coco17_from_blazepose", "coco17_flip", "edge_array"],
)
def test_index_arrays_are_read_only(array: np.ndarray) -> None:
    before = array.copy()
    with pytest.raises(ValueError, match="read-only"):
        array[0] = 5
    np.testing.assert_array_equal(array, before)


def test_collections_are_immutable() -> None:
    for collection in (SKELETON_EDGES, LEFT_RIGHT_PAIRS, COCO17_NAMES, COCO17_SKELETON):
        assert isinstance(collection, tuple)
    with pytest.raises(AttributeError):
        SKELETON_EDGES[0].start = Keypoint.NOSE  # type: ignore[misc]
    with pytest.raises(AttributeError):
        Keypoint.NOSE = 5  # type: ignore[misc]
