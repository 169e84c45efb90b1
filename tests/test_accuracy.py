"""Accuracy policies of the tracker (posekit.tracker.AccuracyPolicy): detection recovery, person
choice, ROI refinement, test-time flip and the ROI hint, with fake models for the rules and the
real models on ../shared images for each recovery path."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import pytest
from conftest import DATA

from posekit.accuracy import ACCURACY_POLICIES, AccuracyPolicy
from posekit.detector import ssd_anchors
from posekit.errors import InputError
from posekit.results import TrackingState
from posekit.roi import PersonBox, RotatedRect, as_roi_hint, roi_change
from posekit.topology import FLIP_PERMUTATION
from posekit.tracker import Tracker

KEYPOINTS = DATA / "keypoints"
SQUAT = DATA / "videos" / "squat_workouttracker_17.mp4"
FRAME = np.zeros((480, 640, 3), np.uint8)
ANCHORS = ssd_anchors()


# ----------------------------------------------------------------------------- fakes
@dataclasses.dataclass
class Person:
    """A fake detection: hip centre (x, y) in the normalised 224 tensor, body radius, score."""

    x: float
    y: float
    radius: float
    score: float
    anchor: int


class FakeDetector:
    """Reports ``people`` (tensor units); ``when`` decides per input tensor whether they show."""

    def __init__(self, people: Sequence[Person], when: Any = None) -> None:
        self.people = list(people)
        self.when = when
        self.calls = 0

    def run_outputs(
        self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        self.calls += 1
        reg = np.zeros((1, 2254, 12), np.float32)
        logits = np.full((1, 2254, 1), -20.0, np.float32)
        if self.when is None or self.when(feeds["input_1"]):
            for p in self.people:
                a = ANCHORS[p.anchor]
                dx, dy = (p.x - a[0]) * 224, (p.y - a[1]) * 224
                reg[0, p.anchor, :4] = [dx, dy - p.radius * 224, 10, 10]
                reg[0, p.anchor, 4:8] = [dx, dy, dx, dy - p.radius * 224]
                logits[0, p.anchor, 0] = math.log(p.score / (1 - p.score))
        return [{"Identity": reg, "Identity_1": logits}[n] for n in output_names]


class FakeLandmarks:
    """A fixed pose in crop pixels (aux points reproduce the ROI); presence per call."""

    def __init__(self, presence: float = 0.95) -> None:
        self.presence = presence
        self.calls = 0
        self.mirrored = 0

    def run_outputs(
        self, output_names: Sequence[str], feeds: Mapping[str, np.ndarray]
    ) -> list[np.ndarray]:
        self.calls += 1
        raw = np.zeros((39, 5), np.float32)
        raw[:, 0] = np.linspace(60, 200, 39)
        raw[:, 1] = np.linspace(30, 230, 39)
        raw[:, 3:] = 5.0
        raw[33, :2] = (128, 128)
        raw[34, :2] = (128, 128 - 256 / 2.5)
        out = {
            "Identity": raw.reshape(1, 195),
            "Identity_1": np.array([[self.presence]], np.float32),
            "Identity_2": np.zeros((1, 256, 256, 1), np.float32),
            "Identity_3": np.zeros((1, 64, 64, 39), np.float32),
            "Identity_4": np.zeros((1, 117), np.float32),
        }
        return [out[n] for n in output_names]


def fake(people: Sequence[Person], presence: float = 0.95, when: Any = None, **kw: Any) -> Any:
    det, lm = FakeDetector(people, when), FakeLandmarks(presence)
    kw.setdefault("mode", "image")
    t = Tracker(detector_session=det, landmark_session=lm, refine_heatmap=False, **kw)
    return t, det, lm


CENTRAL = Person(0.5, 0.5, 0.2, 0.7, 1000)  # letterbox of 640x480: tensor y 0.5 = image y 240


# ----------------------------------------------------------------------------- policies (fakes)
@pytest.mark.parametrize(
    ("accuracy", "max_runs", "max_lm"),
    [("fast", 2, 1), ("balanced", 4, 2), ("best", 8, 4)],
)
def test_run_budget_bounds_the_cost_on_an_empty_frame(
    accuracy: str, max_runs: int, max_lm: int
) -> None:
    t, det, lm = fake([], accuracy=accuracy)
    r = t.process(FRAME)
    assert r.state is TrackingState.LOST and r.found_by is None
    assert det.calls + lm.calls <= max_runs and lm.calls <= max_lm
    assert (det.calls == 1) == (accuracy == "fast")  # only fast stays single-pass
    policy = ACCURACY_POLICIES[accuracy]
    assert policy.max_model_runs == 2 * policy.max_landmark_runs  # <= k single passes


@pytest.mark.parametrize(
    ("accuracy", "score", "presence", "found_by"),
    [
        ("fast", 0.3, 0.95, None),  # below the detector threshold: MediaPipe misses it
        ("balanced", 0.3, 0.95, "low_threshold"),  # found again, confirmed by the presence
        ("balanced", 0.3, 0.2, None),  # the presence gate refuses it
        ("balanced", 0.05, 0.95, None),  # below even the recovery threshold
        ("balanced", 0.7, 0.95, "detector"),
    ],
)
def test_low_threshold_pass_is_gated_by_presence(
    accuracy: str, score: float, presence: float, found_by: str | None
) -> None:
    t, _, _ = fake([dataclasses.replace(CENTRAL, score=score)], presence, accuracy=accuracy)
    r = t.process(FRAME)
    assert r.found_by == found_by and r.has_pose == (found_by is not None)


def test_flip_recovery_maps_the_mirrored_detection_back() -> None:
    """The fake detector only 'sees' a person when the bright half of the input is on the
    left, i.e. only in the mirrored pass; the detection must come back mirrored."""
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, 320:] = 200  # bright right half

    def left_bright(x: np.ndarray) -> bool:
        return float(x[0, :, :112].mean()) > float(x[0, :, 112:].mean())

    person = Person(0.3, 0.5, 0.2, 0.9, 1000)
    policy = AccuracyPolicy("flip-only", recovery=("flip",), max_landmark_runs=1, max_model_runs=3)
    plain, _, _ = fake([person], when=left_bright, accuracy="fast")
    assert not plain.process(frame).has_pose
    t, det, _ = fake([person], when=left_bright, accuracy=policy)
    r = t.process(frame)
    assert r.found_by == "flip" and det.calls == 2 and r.detection is not None
    # tensor x 0.3 in the mirrored 640-wide letterbox is image x (1 - 0.3) * 640
    assert r.detection.keypoints[0, 0] == pytest.approx(0.7 * 640, abs=1e-3)
    assert r.detection.box[0] < r.detection.box[2]


@pytest.mark.parametrize(
    ("person", "expected_x"),
    [("center", 0.5 * 640), ("score", 0.15 * 640), (None, 0.5 * 640)],
)
def test_person_choice(person: str | None, expected_x: float) -> None:
    central = Person(0.5, 0.5, 0.2, 0.6, 1000)
    sharp_edge = Person(0.15, 0.5, 0.1, 0.95, 300)
    t, _, _ = fake([central, sharp_edge], accuracy="balanced", person=person)
    r = t.process(FRAME)
    assert r.detection is not None
    assert r.detection.keypoints[0, 0] == pytest.approx(expected_x, abs=1e-3)


def test_fast_takes_the_best_score_like_mediapipe() -> None:
    people = [Person(0.5, 0.5, 0.2, 0.6, 1000), Person(0.15, 0.5, 0.1, 0.95, 300)]
    t, _, _ = fake(people, accuracy="fast")
    r = t.process(FRAME)
    assert r.detection is not None and r.detection.score == pytest.approx(0.95)


def test_defaults_by_mode_and_bad_policies() -> None:
    assert fake([], mode="image")[0].accuracy.name == "balanced"
    assert fake([], mode="video")[0].accuracy.name == "fast"
    assert fake([], accuracy="fast", flip=True)[0].accuracy.max_landmark_runs == 2
    with pytest.raises(InputError, match="accuracy"):
        fake([], accuracy="ultra")
    with pytest.raises(InputError, match="person"):
        fake([], person="tallest")
    with pytest.raises(InputError, match="recovery"):
        AccuracyPolicy("x", recovery=("teleport",))
    with pytest.raises(InputError, match="max_model_runs"):
        AccuracyPolicy("x", max_landmark_runs=3, max_model_runs=3)


def test_video_mode_tracking_frames_stay_single_pass() -> None:
    t, det, lm = fake([CENTRAL], mode="video", accuracy="best")
    for i in range(5):
        t.process(FRAME, i / 30)
    assert det.calls == 1 and lm.calls == 5  # no refinement or flip in video mode


# ----------------------------------------------------------------------------- ROI hint
@pytest.mark.parametrize(
    ("hint", "error"),
    [
        ((100, 50, 200, 300), None),
        ([100.0, 50.0, 200.0, 300.0], None),
        (np.array([100, 50, 200, 300]), None),
        (PersonBox(100, 50, 200, 300), None),
        (RotatedRect(320, 240, 300, 300, 0.3), None),
        ((100, 50, -200, 300), "no area"),
        ((100, 50, 200, 0), "no area"),
        ((100, math.nan, 200, 300), "not finite"),
        ((100, 50, 200), "4 numbers"),
        ((0.1, 0.1, 0.5, 0.5, 0.2), "4 numbers"),
        (("a", 1, 2, 3), "4 numbers"),
        ((True, 1, 2, 3), "4 numbers"),
        ("100,50,200,300", "not a person box"),
        ({"x": 1}, "not a person box"),
        ((5000, 5000, 100, 100), "outside"),
        ((-500, 0, 100, 100), "outside"),
        (RotatedRect(320, 240, 0, 300), "no area"),
        (RotatedRect(math.inf, 240, 300, 300), "no area"),
    ],
)
def test_roi_hint_validation(hint: Any, error: str | None) -> None:
    t, det, lm = fake([])
    if error is None:
        r = t.process(FRAME, roi=hint)
        assert r.found_by == "hint" and r.has_pose and det.calls == 0
        assert r.roi == as_roi_hint(hint, (640, 480))
    else:
        with pytest.raises(InputError, match=error):
            t.process(FRAME, roi=hint)
        assert det.calls == lm.calls == 0 and t.frames_processed == 0  # nothing happened


def test_box_hint_is_a_square_on_the_long_side() -> None:
    roi = as_roi_hint((100, 50, 200, 300), (640, 480))
    assert (roi.center_x, roi.center_y, roi.width, roi.height, roi.rotation) == (
        200,
        200,
        375,
        375,
        0,
    )
    assert roi_change(roi, roi) == 0.0


# ----------------------------------------------------------------------------- real models
@pytest.fixture(scope="session")
def sessions(pose_sessions: Any) -> tuple[Any, Any]:
    return pose_sessions("full")  # type: ignore[no-any-return]


def real(sessions: tuple[Any, Any], **kw: Any) -> Tracker:
    kw.setdefault("mode", "image")
    return Tracker(detector_session=sessions[0], landmark_session=sessions[1], **kw)


@pytest.fixture(scope="module")
def squat_frame() -> np.ndarray:
    cap = cv2.VideoCapture(str(SQUAT))
    ok, frame = cap.read()
    cap.release()
    assert ok
    return np.ascontiguousarray(frame)


def test_fast_is_the_single_pass_pipeline(sessions: tuple[Any, Any], squat_frame: Any) -> None:
    t = real(sessions, accuracy="fast")
    r = t.process(squat_frame)
    assert t.detector_runs == 1 and t.landmark_runs == 1 and r.found_by == "detector"
    det = t.detector.detect_one(squat_frame)
    assert det is not None
    est = t.landmarks.estimate(squat_frame, det.roi())
    assert r.pose is not None and r.roi == det.roi()
    np.testing.assert_array_equal(r.pose.xy, est.landmarks[:, :2])


def test_refinement_converges_within_its_bound(sessions: tuple[Any, Any], squat_frame: Any) -> None:
    policy = AccuracyPolicy(
        "refine", refine_iterations=8, max_landmark_runs=9, max_model_runs=10, person="center"
    )
    t = real(sessions, accuracy=policy)
    r = t.process(squat_frame)
    assert r.pose is not None and r.roi is not None
    # it stopped on its own, well before the bound, once the crop no longer moved
    assert 2 <= t.landmark_runs <= 4
    fast = real(sessions, accuracy="fast").process(squat_frame)
    assert fast.roi is not None and roi_change(fast.roi, r.roi) > policy.refine_tolerance


def test_box_hint_skips_the_detector(sessions: tuple[Any, Any], squat_frame: Any) -> None:
    ref = real(sessions, accuracy="fast").process(squat_frame)
    assert ref.pose is not None
    xy = ref.pose.xy
    x0, y0 = xy.min(axis=0)
    x1, y1 = xy.max(axis=0)
    t = real(sessions)  # balanced: the box ROI is refined from the auxiliary points
    r = t.process(squat_frame, roi=(float(x0), float(y0), float(x1 - x0), float(y1 - y0)))
    assert r.found_by == "hint" and t.detector_runs == 0 and r.pose is not None
    torso = float(np.linalg.norm(xy[11] - xy[24]))
    assert float(np.median(np.linalg.norm(r.pose.xy - xy, axis=1))) < 0.1 * torso
    r2 = t.process(squat_frame, roi=ref.roi)  # the detector's own ROI as a RotatedRect hint
    assert r2.pose is not None and t.detector_runs == 0
    assert float(np.median(np.linalg.norm(r2.pose.xy - xy, axis=1))) < 0.1 * torso


def test_test_time_flip_averages_with_the_mirror(
    sessions: tuple[Any, Any], squat_frame: Any
) -> None:
    plain = real(sessions, accuracy="balanced", flip=False)
    flipped = real(sessions, accuracy="balanced", flip=True)
    a, b = plain.process(squat_frame), flipped.process(squat_frame)
    assert a.pose is not None and b.pose is not None
    assert flipped.landmark_runs == plain.landmark_runs + 1
    torso = float(np.linalg.norm(a.pose.xy[11] - a.pose.xy[24]))
    # the mirrored pass, mapped back, agrees with the plain one: left/right were swapped back
    d = np.linalg.norm(a.pose.xy - b.pose.xy, axis=1)
    assert float(np.median(d)) < 0.05 * torso
    assert not np.array_equal(a.pose.xy, b.pose.xy)
    # the mirrored pass, mapped back, sits on the plain pass (no shift, sides swapped back)
    from posekit.image import as_frame

    roi = a.roi
    assert roi is not None
    plain.landmarks.refine_heatmap = False
    tensor = plain.landmarks.crop(as_frame(squat_frame), roi)
    p = plain.landmarks.infer(tensor).landmarks[:33, :2]
    m = plain.landmarks.infer(tensor, mirror=True).landmarks[:33, :2]
    assert abs(float(np.median(m[:, 0] - p[:, 0]))) < 0.75  # crop pixels
    apart = np.linalg.norm(p - p[FLIP_PERMUTATION], axis=1) > 8  # left/right well apart
    assert apart.sum() >= 4
    err = np.linalg.norm(p - m, axis=1)[apart]
    swapped = np.linalg.norm(p - m[FLIP_PERMUTATION], axis=1)[apart]
    assert float(np.median(err)) < 0.5 * float(np.median(swapped))
