"""Runtime copies of installed models (posekit.models.runtime, posekit.convert.derive_model):
outputs pruned, fp16 weights folded, optimised once per onnxruntime/CPU, checked at every load."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from posekit.convert import derive_model
from posekit.errors import ConversionError, InputError
from posekit.models import install, load_session, uninstall, variants
from posekit.models.store import onnx_path

LM_CORE = ["Identity", "Identity_1", "Identity_3", "Identity_4"]


@pytest.fixture(scope="module")
def installed(models_src: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("runtime-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSEKIT_HOME", str(home))
        install(["detector", "lite"], source=models_src, progress=False, routes=("local",))
    return home


@pytest.fixture
def home(installed: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("POSEKIT_HOME", str(installed))
    monkeypatch.setenv("POSEKIT_MODEL_ROUTES", "local")
    monkeypatch.delenv(variants.RUNTIME_CACHE_ENV, raising=False)
    return installed


def _ort(model: bytes | str) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=opts, providers=["CPUExecutionProvider"])


def _input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


# ----------------------------------------------------------------------------- derive_model
def test_derived_landmark_model_gives_the_same_outputs_without_the_mask(home: Path) -> None:
    full = onnx_path("pose_landmark_lite").read_bytes()
    small = derive_model(full, LM_CORE)
    a, b = _ort(full), _ort(small)
    assert [o.name for o in b.get_outputs()] == LM_CORE
    for seed in range(3):
        x = _input((1, 256, 256, 3), seed)
        want = a.run(LM_CORE, {"input_1": x})
        got = b.run(LM_CORE, {"input_1": x})
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-5)
    graph = onnx.load_from_string(small).graph
    fp16 = {i.name for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT16}
    assert not fp16  # every fp16 weight was folded to float32
    assert not any(n.op_type == "Cast" and n.input[0] in fp16 for n in graph.node)
    assert len(graph.node) < len(onnx.load_from_string(full).graph.node)


def test_derive_model_is_deterministic_and_keeps_all_outputs_by_default(home: Path) -> None:
    data = onnx_path("pose_detection").read_bytes()
    first, second = derive_model(data), derive_model(data)
    assert first == second
    names = [o.name for o in onnx.load_from_string(first).graph.output]
    assert names == [o.name for o in onnx.load_from_string(data).graph.output]


@pytest.mark.parametrize(
    ("outputs", "data", "error", "match"),
    [
        (["Identity_9"], None, InputError, "unknown output"),
        ([], None, InputError, "empty"),
        (None, b"not an onnx model at all", ConversionError, "cannot parse"),
    ],
)
def test_derive_model_refuses_bad_requests(
    home: Path,
    outputs: list[str] | None,
    data: bytes | None,
    error: type[Exception],
    match: str,
) -> None:
    model = data if data is not None else onnx_path("pose_landmark_lite").read_bytes()
    with pytest.raises(error, match=match):
        derive_model(model, outputs)


# ----------------------------------------------------------------------------- variant tags
@pytest.mark.parametrize(
    ("name", "outputs", "expected"),
    [
        ("detector", None, "all"),
        ("pose_detection", ["Identity", "Identity_1"], "all"),
        ("lite", LM_CORE, "o0-1-3-4"),
        ("full", ["Identity_4", "Identity"], "o0-4"),
        ("heavy", ["Identity", "Identity_2"], "o0-2"),
        ("lite", ["nope"], InputError),
        ("lite", [], InputError),
    ],
)
def test_variant_tag(name: str, outputs: list[str] | None, expected: Any) -> None:
    if isinstance(expected, str):
        assert variants.variant_tag(name, outputs) == expected
    else:
        with pytest.raises(expected):
            variants.variant_tag(name, outputs)


def test_tracker_variants_are_what_the_tracker_requests() -> None:
    from posekit import landmarks

    core = [landmarks._OUT_LANDMARKS, landmarks._OUT_PRESENCE, landmarks._OUT_WORLD]
    core.append(landmarks._OUT_HEATMAP)
    for name in ("pose_landmark_lite", "pose_landmark_full", "pose_landmark_heavy"):
        assert sorted(variants.TRACKER_VARIANTS[name] or ()) == sorted(core)


# ----------------------------------------------------------------------------- the cache
def test_install_prepares_the_tracker_variants_and_loads_reuse_them(home: Path) -> None:
    folder = variants.runtime_dir()
    copy = folder / "pose_landmark_lite.o0-1-3-4.onnx"
    assert copy.is_file() and (folder / "pose_detection.all.onnx").is_file()
    before = copy.stat().st_mtime_ns
    sess = load_session("lite", LM_CORE, num_threads=1)
    assert sess.path == copy and not sess.optimized_on_load
    assert sess.output_names == LM_CORE
    assert copy.stat().st_mtime_ns == before  # reused, not rebuilt
    x = _input((1, 256, 256, 3))
    want = _ort(onnx_path("pose_landmark_lite").read_bytes()).run(LM_CORE, {"input_1": x})
    for w, g in zip(want, sess.run_outputs(LM_CORE, {"input_1": x}), strict=True):
        np.testing.assert_allclose(g, w, rtol=0, atol=1e-5)


def test_a_copy_that_does_not_reproduce_its_reference_is_rebuilt(
    home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """As if the cache had been made on another CPU: the stored reference output does not
    match what the copy computes here, so the copy is rebuilt rather than trusted."""
    meta_path = variants.runtime_dir() / "pose_detection.all.json"
    meta = variants.read_meta(meta_path)
    assert meta is not None
    forged = {k: [v + 0.5 for v in vals] for k, vals in meta.reference.items()}
    meta_path.write_text(
        meta_path.read_text().replace(
            str(meta.reference["Identity"][0]), str(forged["Identity"][0]), 1
        )
    )
    with caplog.at_level(logging.WARNING, logger="posekit.models.runtime"):
        sess = load_session("detector", num_threads=1)
    assert any("reference output" in r.getMessage() for r in caplog.records)
    repaired = variants.read_meta(meta_path)
    assert repaired is not None and repaired.reference == meta.reference
    x = _input((1, 224, 224, 3))
    want = _ort(onnx_path("pose_detection").read_bytes()).run(None, {"input_1": x})
    for w, g in zip(want, sess.run_outputs(sess.output_names, {"input_1": x}), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4)


def test_cache_off_derives_in_memory_and_writes_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variants.RUNTIME_CACHE_ENV, "0")
    target = variants.runtime_dir() / "pose_landmark_lite.o0-1.onnx"
    sess = load_session("lite", ["Identity", "Identity_1"], num_threads=1)
    assert sess.output_names == ["Identity", "Identity_1"] and sess.optimized_on_load
    assert not target.exists()


def test_unwritable_cache_falls_back_to_an_in_memory_copy(
    home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import errno

    target = variants.runtime_dir() / "pose_landmark_lite.o0-4.onnx"

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Path, "mkdir", full_disk)
    with caplog.at_level(logging.WARNING, logger="posekit.models.runtime"):
        sess = load_session("lite", ["Identity", "Identity_4"], num_threads=1)
    assert sess.output_names == ["Identity", "Identity_4"]
    assert any("from memory" in r.getMessage() for r in caplog.records)
    assert not target.exists()


def test_uninstall_removes_the_runtime_copies(
    models_src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSEKIT_HOME", str(tmp_path))
    install(["detector"], source=models_src, progress=False, routes=("local",))
    assert (variants.runtime_dir() / "pose_detection.all.onnx").is_file()
    uninstall(["detector"])
    assert not list(variants.runtime_dir().glob("pose_detection.*"))


# ----------------------------------------------------------------------------- landmark model
def test_landmark_model_without_mask_output_says_how_to_get_masks(home: Path) -> None:
    from posekit.landmarks import LandmarkModel

    model = LandmarkModel(model="lite", num_threads=1)
    tensor = np.zeros((1, 256, 256, 3), np.float32)
    assert model.infer(tensor).segmentation is None
    with pytest.raises(InputError, match="segmentation=True"):
        model.infer(tensor, segmentation=True)
    with_mask = LandmarkModel(model="lite", num_threads=1, segmentation=True)
    mask = with_mask.infer(tensor, segmentation=True).segmentation
    assert mask is not None and mask.shape == (256, 256)
