# ruff: noqa: E501 - the attack table reads best one attack per line
"""Attacks on what comes in (issue #14 items 3-10): frames, camera indices, threads, files,
frame sizes, timestamps, JSON Lines records and the errors they raise.

Each attack does what a hostile or careless user would and asserts the outcome: a posekit
error naming the problem (or, for the frame-size change, a correct result), never a crash, a
hang, a memory bomb or a foreign exception.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from attacks import SHARED, Attack, cli, one_line_error

SQUAT = SHARED / "data" / "videos" / "squat_workouttracker_17.mp4"


def _refused(call: Callable[[], Any], kind: str, needle: str) -> str:
    """Assert ``call`` raises the posekit error ``kind`` whose message contains ``needle``."""
    from posekit.errors import PosekitError

    try:
        result = call()
    except PosekitError as exc:
        assert type(exc).__name__ == kind or kind == "PosekitError", f"{type(exc).__name__}: {exc}"
        assert needle in str(exc), f"message lacks {needle!r}: {exc}"
        return f"refused: {type(exc).__name__}: {str(exc)[:100]}"
    except Exception as exc:
        raise AssertionError(f"not a posekit error: {type(exc).__name__}: {exc}"[:300]) from exc
    raise AssertionError(f"accepted: {result!r:.120}")


def _tracker(**kw: Any) -> Any:
    import posekit

    return posekit.Tracker(**kw)


# ----------------------------------------------------------------------------- 3 huge frame
def _huge(shape: tuple[int, ...], roi: Any = None) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        t = _tracker(mode="image")
        img = np.zeros(shape, np.uint8)  # not touched: the refusal comes first
        return _refused(lambda: t.process(img, roi=roi), "InputError", "715,827,882 pixels")

    return run


# ----------------------------------------------------------------------------- 4 camera index
def _camera(index: Any) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        t = _tracker()
        return _refused(lambda: next(t.stream(index)), "SourceError", "camera index")

    return run


def _cv_camera_cli(arg: str) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        proc = cli(["posekit", "run", arg, "--no-progress"], cwd=tmp)
        return one_line_error(proc)

    return run


# ----------------------------------------------------------------------------- 5 threads
def _threads_api(tmp: Path) -> str:
    return _refused(lambda: _tracker(num_threads=1_000_000), "InputError", "at most")


def _threads_cli(tmp: Path) -> str:
    return one_line_error(cli(["posekit", "run", str(SQUAT), "--threads", "1000000"], cwd=tmp))


def _threads_env(tmp: Path) -> str:
    proc = cli(
        ["posekit", "run", str(SQUAT), "--max-frames", "2", "--no-progress"],
        cwd=tmp,
        env={"POSEKIT_NUM_THREADS": "1000000"},
        timeout=60,
    )
    return one_line_error(proc)


# ----------------------------------------------------------------------------- 6 file bombs
def _good_classifier(tmp: Path) -> Path:
    from posekit.analyzers.classifier import PoseClassifier

    lm = np.random.default_rng(0).normal(size=(4, 33, 3)).astype(np.float32)
    return PoseClassifier(lm, ["a", "a", "b", "b"], top_n_by_max_distance=2).save(tmp / "c.npz")


def _member(dst: zipfile.ZipFile, name: str, shape: tuple[int, ...], body: Any) -> None:
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        head, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    with dst.open(name, "w", force_zip64=True) as out:
        out.write(head.getvalue())
        for chunk in body:
            out.write(chunk)


def _npz_bomb(gib: float) -> Callable[[Path], str]:
    """landmarks.npy really decompresses to ``gib`` GiB of zeros (a few MB on disk)."""

    def run(tmp: Path) -> str:
        from posekit.analyzers.classifier import PoseClassifier

        good = _good_classifier(tmp)
        bomb = tmp / "bomb.npz"
        rows_per_chunk = 2**16
        chunk = bytes(rows_per_chunk * 33 * 3 * 4)  # 26 MB of float32 zeros
        count = max(1, int(gib * 2**30) // len(chunk))
        with zipfile.ZipFile(good) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename != "landmarks.npy":
                    dst.writestr(info, src.read(info))
            _member(dst, "landmarks.npy", (count * rows_per_chunk, 33, 3), [chunk] * count)
        return _refused(lambda: PoseClassifier.load(bomb), "InputError", "would decompress")

    return run


def _npz_declared(tmp: Path) -> str:
    """A 369 GiB shape in the .npy header of a 1 kB member."""
    from posekit.analyzers.classifier import PoseClassifier

    good = _good_classifier(tmp)
    bad = tmp / "declared.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            if info.filename != "landmarks.npy":
                dst.writestr(info, src.read(info))
        _member(dst, "landmarks.npy", (10**9, 33, 3), [bytes(1024)])
    return _refused(lambda: PoseClassifier.load(bad), "InputError", "declares shape")


DEEP = "[" * 200_000 + "]" * 200_000


def _deep_classifier(tmp: Path) -> str:
    from posekit.analyzers.classifier import PoseClassifier

    (tmp / "deep.json").write_text(DEEP)
    return _refused(lambda: PoseClassifier.load(tmp / "deep.json"), "InputError", "nested")


def _deep_jsonl(tmp: Path) -> str:
    from posekit.sinks import read_jsonl

    (tmp / "deep.jsonl").write_text(DEEP + "\n")
    return _refused(lambda: list(read_jsonl(tmp / "deep.jsonl")), "InputError", "nested")


def _deep_coco_cli(tmp: Path) -> str:
    (tmp / "coco.json").write_text('{"images": ' + DEEP + "}")
    proc = cli(["posekit", "eval", "--coco", "coco.json", "--images", "."], cwd=tmp)
    out = one_line_error(proc)
    assert "nested" in out, out
    return out


# ----------------------------------------------------------------------------- 7 frame size
def _frame_size_change(crop: Callable[[np.ndarray], np.ndarray]) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        import cv2

        from posekit.results import TrackingState

        cap = cv2.VideoCapture(str(SQUAT))
        frames = [cap.read()[1] for _ in range(12)]
        cap.release()
        t = _tracker()
        states = [t.process(f, i / 30).state for i, f in enumerate(frames[:10])]
        assert TrackingState.TRACKING in states, f"never tracked: {states}"
        small = np.ascontiguousarray(crop(frames[10]))
        r = t.process(small, 10 / 30)
        assert r.state is not TrackingState.TRACKING, "tracked across a frame-size change"
        h, w = small.shape[:2]
        if r.pose is not None:
            hips = r.pose.xy[23:25]
            inside = (hips >= -0.05 * w).all() and (hips[:, 0] <= 1.05 * w).all()
            assert inside and (hips[:, 1] <= 1.05 * h).all(), f"hips {hips.tolist()} off {w}x{h}"
        return (
            f"reset: {r.state.value} on the {w}x{h} frame (was {frames[0].shape[1]}x"
            f"{frames[0].shape[0]})"
        )

    return run


# ----------------------------------------------------------------------------- 8 timestamps
def _equal_ts(value: float) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        t = _tracker()
        img = np.zeros((240, 320, 3), np.uint8)
        t.process(img, value)
        return _refused(lambda: t.process(img, value), "TimestampError", "not later")

    return run


# ----------------------------------------------------------------------------- 9 read_jsonl
def _jsonl(change: dict[str, Any], needle: str, drop: str | None = None) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        from posekit.analyzers.base import OfflineFrame
        from posekit.sinks import frame_record, read_jsonl

        rec = {**frame_record(OfflineFrame(None, 0.5, 3)), **change}
        if drop:
            rec.pop(drop)
        path = tmp / "poses.jsonl"
        path.write_text(json.dumps(rec) + "\n")
        return _refused(lambda: list(read_jsonl(path)), "InputError", needle)

    return run


# ----------------------------------------------------------------------------- 10 errors
def _stream_items(items: Any, needle: str, **kw: Any) -> Callable[[Path], str]:
    def run(tmp: Path) -> str:
        t = _tracker()
        return _refused(lambda: list(t.stream(items, **kw)), "PosekitError", needle)

    return run


def _jsonl_utf8(tmp: Path) -> str:
    from posekit.sinks import read_jsonl

    (tmp / "bad.jsonl").write_bytes(b'{"frame": "\xff\xfe"}\n')
    return _refused(lambda: list(read_jsonl(tmp / "bad.jsonl")), "InputError", "UTF-8")


def _coco_utf8_cli(tmp: Path) -> str:
    (tmp / "coco.json").write_bytes(b'{"images": "\xff"}')
    return one_line_error(cli(["posekit", "eval", "--coco", "coco.json", "--images", "."], cwd=tmp))


def _classifier_types(tmp: Path) -> str:
    from posekit.analyzers.classifier import PoseClassifier

    doc = PoseClassifier.load(_good_classifier(tmp)).to_dict()
    doc["params"]["axis_weights"] = "abc"
    (tmp / "c.json").write_text(json.dumps(doc))
    return _refused(lambda: PoseClassifier.load(tmp / "c.json"), "InputError", "axis_weights")


def _classifier_label_type(tmp: Path) -> str:
    from posekit.analyzers.classifier import PoseClassifier

    doc = PoseClassifier.load(_good_classifier(tmp)).to_dict()
    doc["samples"][0]["label"] = {"nested": [1]}
    (tmp / "c.json").write_text(json.dumps(doc))
    return _refused(lambda: PoseClassifier.load(tmp / "c.json"), "InputError", "label")


IMG = np.zeros((64, 64, 3), np.uint8)

ATTACKS: list[Attack] = [
    Attack("3 huge frame", "process 27000x27000x3 (segfaulted in warpAffine)", _huge((27000, 27000, 3))),
    Attack("3 huge frame", "26760x26760 with a bottom-right roi", _huge((26760, 26760, 3), (26460, 26460, 290, 290))),
    Attack("3 huge frame", "wide 21847x32767 (sides <= 32767)", _huge((21847, 32767, 3))),
    Attack("3 huge frame", "grayscale 32767x21847 (3 channels later)", _huge((32767, 21847))),
    Attack("4 camera index", "Tracker().stream(-1) (segfaulted)", _camera(-1)),
    Attack("4 camera index", "stream(np.int64(-7))", _camera(np.int64(-7))),
    Attack("4 camera index", "stream(10**20) (cv2.error)", _camera(10**20)),
    Attack("4 camera index", "stream(200) (a backend id, not a camera)", _camera(200)),
    Attack("4 camera index", "posekit run -1", _cv_camera_cli("-1")),
    Attack("4 camera index", "posekit run 99999999999999999999", _cv_camera_cli("99999999999999999999")),
    Attack("5 threads", "Tracker(num_threads=1000000) (hung)", _threads_api, timeout_s=60),
    Attack("5 threads", "posekit run --threads 1000000 (hung)", _threads_cli, timeout_s=60),
    Attack("5 threads", "POSEKIT_NUM_THREADS=1000000 posekit run", _threads_env, timeout_s=60),
    Attack("6 file bombs", "classifier .npz decompressing to 1 GiB", _npz_bomb(1.0), memory_gb=2.0),
    Attack("6 file bombs", "classifier .npz declaring 369 GiB", _npz_declared, memory_gb=2.0),
    Attack("6 file bombs", "classifier .json nested 200k deep", _deep_classifier),
    Attack("6 file bombs", "read_jsonl line nested 200k deep", _deep_jsonl),
    Attack("6 file bombs", "posekit eval --coco nested 200k deep", _deep_coco_cli),
    Attack("7 frame size change", "video frames, then the top-left half", _frame_size_change(lambda f: f[: f.shape[0] // 2, : f.shape[1] // 2])),
    Attack("7 frame size change", "video frames, then a 2x upscale", _frame_size_change(lambda f: np.repeat(np.repeat(f, 2, 0), 2, 1))),
    Attack("8 timestamps", "process(img, 1e10) twice", _equal_ts(1e10)),
    Attack("8 timestamps", "epoch microseconds 1.7e15 twice", _equal_ts(1.7e15)),
    Attack("8 timestamps", "2**53 s twice", _equal_ts(2.0**53)),
    Attack("9 read_jsonl schema", "schema_version 999", _jsonl({"schema_version": 999}, "newer posekit")),
    Attack("9 read_jsonl schema", "schema_version missing", _jsonl({}, "schema_version", drop="schema_version")),
    Attack("9 read_jsonl schema", 'frame: "abc"', _jsonl({"frame": "abc"}, "'frame'")),
    Attack("9 read_jsonl schema", 'state: "bogus"', _jsonl({"state": "bogus"}, "'state'")),
    Attack("9 read_jsonl schema", "NaN timestamp", _jsonl({"timestamp": float("nan")}, "not JSON")),
    Attack("9 read_jsonl schema", 'roi: "garbage"', _jsonl({"roi": "garbage"}, "'roi'")),
    Attack("10 posekit errors", 'stream([(img, "abc")])', _stream_items([(IMG, "abc")], "not a number")),
    Attack("10 posekit errors", 'stream(frames, fps="x")', _stream_items([IMG], "fps", fps="x")),
    Attack("10 posekit errors", "read_jsonl on invalid UTF-8", _jsonl_utf8),
    Attack("10 posekit errors", "posekit eval --coco invalid UTF-8", _coco_utf8_cli),
    Attack("10 posekit errors", 'classifier axis_weights "abc"', _classifier_types),
    Attack("10 posekit errors", "classifier label an object", _classifier_label_type),
]  # fmt: skip
