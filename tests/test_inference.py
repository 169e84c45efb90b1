"""InferenceSession: options, providers, input checks and load errors, on real converted models."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

import posekit.inference as inference
from posekit.errors import InputError, ModelError, ProviderError
from posekit.inference import (
    DEFAULT_NUM_THREADS,
    InferenceSession,
    default_num_threads,
    resolve_provider,
)
from posekit.models import get_spec, install, load_session


@pytest.fixture(scope="session")
def onnx_models(tmp_path_factory: pytest.TempPathFactory, models_src: Path) -> dict[str, Path]:
    """pose_detection and pose_landmark_full converted by the real converter, once per session."""
    home = tmp_path_factory.mktemp("inference-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("POSEKIT_HOME", str(home))
        results = install(
            ["pose_detection", "pose_landmark_full"],
            source=models_src,
            progress=False,
            routes=("cache", "local"),
        )
    return {r.name: r.path for r in results}


@pytest.fixture
def only_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend this onnxruntime build offers only the CPU provider (deterministic on GPU hosts)."""
    monkeypatch.setattr(inference, "available_providers", lambda: ["CPUExecutionProvider"])


def _zeros(sess: InferenceSession) -> dict[str, np.ndarray]:
    name = sess.input_names[0]
    shape = tuple(d or 1 for d in sess.input_shapes[name])
    return {name: np.zeros(shape, np.float32)}


# -- running -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_full"])
def test_run_returns_every_output_as_in_the_manifest(
    name: str, onnx_models: dict[str, Path]
) -> None:
    spec = get_spec(name)
    sess = InferenceSession(onnx_models[name], num_threads=1)
    assert sess.input_names == [t.name for t in spec.inputs]
    assert sess.input_shapes == {t.name: t.shape for t in spec.inputs}
    rng = np.random.default_rng(0)
    lo, hi = spec.inputs[0].value_range or (0.0, 1.0)
    x = rng.uniform(lo, hi, spec.inputs[0].shape).astype(np.float32)
    out = sess.run({spec.inputs[0].name: x})
    assert list(out) == [t.name for t in spec.outputs]
    for t in spec.outputs:
        assert out[t.name].shape == t.shape and out[t.name].dtype == np.float32
        assert np.isfinite(out[t.name]).all()
    # the hot-path variant returns the requested outputs, in the requested order
    names = [t.name for t in reversed(spec.outputs)]
    lean = sess.run_outputs(names, {spec.inputs[0].name: x})
    for n, arr in zip(names, lean, strict=True):
        np.testing.assert_array_equal(arr, out[n])


@pytest.mark.parametrize("threads", [1, 2])
def test_session_options(threads: int, onnx_models: dict[str, Path]) -> None:
    sess = InferenceSession(onnx_models["pose_landmark_full"], num_threads=threads)
    opts = sess._session.get_session_options()
    assert opts.intra_op_num_threads == threads
    assert opts.inter_op_num_threads == 1
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert sess.num_threads == threads and sess.providers == ["CPUExecutionProvider"]


def test_thread_counts_agree(onnx_models: dict[str, Path]) -> None:
    one = InferenceSession(onnx_models["pose_landmark_full"], num_threads=1)
    two = InferenceSession(onnx_models["pose_landmark_full"], num_threads=2)
    x = {"input_1": np.random.default_rng(1).random((1, 256, 256, 3), dtype=np.float32)}
    for a, b in zip(one.run_outputs(None, x), two.run_outputs(None, x), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("spin", [True, False])
def test_spin_option(spin: bool, onnx_models: dict[str, Path]) -> None:
    sess = InferenceSession(onnx_models["pose_detection"], num_threads=2, spin=spin)
    opts = sess._session.get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == str(int(spin))


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_num_threads_must_be_a_positive_int(bad: Any, onnx_models: dict[str, Path]) -> None:
    with pytest.raises(InputError, match="num_threads"):
        InferenceSession(onnx_models["pose_detection"], num_threads=bad)


@pytest.mark.parametrize(
    ("env", "cpus", "expected", "error"),
    [
        (None, 2, min(DEFAULT_NUM_THREADS, 2), None),
        (None, 1, 1, None),
        (None, 16, DEFAULT_NUM_THREADS, None),
        ("1", 2, 1, None),
        ("3", 2, 3, None),
        ("0", 2, None, InputError),
        ("many", 2, None, InputError),
    ],
)
def test_default_num_threads(
    env: str | None,
    cpus: int,
    expected: int | None,
    error: type[Exception] | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env is None:
        monkeypatch.delenv("POSEKIT_NUM_THREADS", raising=False)
    else:
        monkeypatch.setenv("POSEKIT_NUM_THREADS", env)
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    if error is None:
        assert default_num_threads() == expected
    else:
        with pytest.raises(error, match="POSEKIT_NUM_THREADS"):
            default_num_threads()


def test_session_uses_the_default_thread_count(
    onnx_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSEKIT_NUM_THREADS", "1")
    sess = InferenceSession(onnx_models["pose_detection"])
    assert sess.num_threads == 1
    assert sess._session.get_session_options().intra_op_num_threads == 1


# -- input checking ----------------------------------------------------------------------------
_OK = np.zeros((1, 224, 224, 3), np.float32)


@pytest.mark.parametrize(
    ("feeds", "message"),
    [
        ({"input_1": _OK.astype(np.float64)}, "must have dtype float32, got float64"),
        ({"input_1": (_OK * 255).astype(np.uint8)}, "must have dtype float32, got uint8"),
        ({"input_1": np.zeros((1, 256, 256, 3), np.float32)}, "must have shape (1, 224, 224, 3)"),
        ({"input_1": _OK[0]}, "got (224, 224, 3)"),
        ({"input_1": np.zeros((2, 224, 224, 3), np.float32)}, "got (2, 224, 224, 3)"),
        ({}, "missing ['input_1']"),
        ({"image": _OK}, "missing ['input_1']; unknown ['image']"),
        ({"input_1": _OK, "extra": _OK}, "unknown ['extra']"),
        ({"input_1": [[1.0, 2.0]]}, "must be a numpy array"),
    ],
)
@pytest.mark.parametrize("method", ["run", "run_outputs"])
def test_wrong_input_raises_input_error(
    feeds: dict[str, Any], message: str, method: str, onnx_models: dict[str, Path]
) -> None:
    sess = InferenceSession(onnx_models["pose_detection"], num_threads=1)
    with pytest.raises(InputError) as info:
        if method == "run":
            sess.run(feeds)
        else:
            sess.run_outputs(["Identity"], feeds)
    assert message in str(info.value)


def test_unknown_output_name(onnx_models: dict[str, Path]) -> None:
    sess = InferenceSession(onnx_models["pose_detection"], num_threads=1)
    with pytest.raises(InputError, match=r"unknown output\(s\) \['scores'\]"):
        sess.run_outputs(["scores"], {"input_1": _OK})


# -- load errors -------------------------------------------------------------------------------
def test_missing_file_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"posekit models install pose_landmark_full"):
        InferenceSession(tmp_path / "pose_landmark_full.onnx")


@pytest.mark.parametrize("corruption", ["garbage", "truncated", "empty", "tflite"])
def test_corrupt_file_raises_model_error(
    corruption: str, tmp_path: Path, onnx_models: dict[str, Path], models_src: Path
) -> None:
    path = tmp_path / "pose_detection.onnx"
    good = onnx_models["pose_detection"].read_bytes()
    path.write_bytes(
        {
            "garbage": np.random.default_rng(2).bytes(4096),
            "truncated": good[: len(good) // 3],
            "empty": b"",
            "tflite": (models_src / "pose_detection.tflite").read_bytes(),
        }[corruption]
    )
    with pytest.raises(ModelError) as info:
        InferenceSession(path)
    message = str(info.value)
    assert "corrupt" in message and "posekit models install --force pose_detection" in message
    assert type(info.value).__module__.startswith("posekit")


# -- providers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("cpu", "CPUExecutionProvider"),
        ("CUDA", "CUDAExecutionProvider"),
        ("gpu", "CUDAExecutionProvider"),
        ("coreml", "CoreMLExecutionProvider"),
        ("OpenVINO", "OpenVINOExecutionProvider"),
        ("dml", "DmlExecutionProvider"),
        ("tensorrt", "TensorrtExecutionProvider"),
        ("CPUExecutionProvider", "CPUExecutionProvider"),
        ("cudaexecutionprovider", "CUDAExecutionProvider"),
        ("MyVendorExecutionProvider", "MyVendorExecutionProvider"),
    ],
)
def test_resolve_provider(given: str, expected: str) -> None:
    assert resolve_provider(given) == expected


def test_unknown_provider_name() -> None:
    with pytest.raises(ProviderError, match=r"unknown execution provider 'warp'.*cuda"):
        resolve_provider("warp")


@pytest.mark.parametrize(
    ("requested", "full", "hint"),
    [
        ("cuda", "CUDAExecutionProvider", "pip install onnxruntime-gpu"),
        ("coreml", "CoreMLExecutionProvider", "macOS"),
        ("openvino", "OpenVINOExecutionProvider", "pip install onnxruntime-openvino"),
        ("DmlExecutionProvider", "DmlExecutionProvider", "pip install onnxruntime-directml"),
    ],
)
def test_unavailable_provider_raises(
    requested: str, full: str, hint: str, onnx_models: dict[str, Path], only_cpu: None
) -> None:
    with pytest.raises(ProviderError) as info:
        InferenceSession(onnx_models["pose_detection"], providers=[requested])
    message = str(info.value)
    assert full in message and "available: CPUExecutionProvider" in message
    assert hint in message and "allow_cpu_fallback=True" in message


def test_cpu_fallback_is_logged(
    onnx_models: dict[str, Path], only_cpu: None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="posekit.inference"):
        sess = InferenceSession(
            onnx_models["pose_detection"], providers=["cuda"], allow_cpu_fallback=True
        )
    assert sess.providers == ["CPUExecutionProvider"]
    assert any("CUDAExecutionProvider" in r.getMessage() for r in caplog.records)
    assert sess.run(_zeros(sess))["Identity"].shape == (1, 2254, 12)


@pytest.fixture
def cuda_listed_but_broken(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A provider onnxruntime lists but cannot start (e.g. CUDA libraries missing)."""
    monkeypatch.setattr(
        inference,
        "available_providers",
        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"],
    )
    yield


@pytest.mark.filterwarnings("ignore:Specified provider 'CUDAExecutionProvider':UserWarning")
def test_provider_that_fails_to_start(
    onnx_models: dict[str, Path], cuda_listed_but_broken: None, caplog: pytest.LogCaptureFixture
) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime really has CUDA; the simulation needs a CPU-only build")
    with (
        pytest.warns(UserWarning, match="CUDAExecutionProvider"),
        pytest.raises(ProviderError, match="CUDAExecutionProvider is installed but failed"),
    ):
        InferenceSession(onnx_models["pose_detection"], providers=["cuda"])
    with caplog.at_level(logging.WARNING, logger="posekit.inference"):
        sess = InferenceSession(
            onnx_models["pose_detection"], providers=["cuda"], allow_cpu_fallback=True
        )
    assert sess.providers == ["CPUExecutionProvider"]
    assert any("failed to initialise" in r.getMessage() for r in caplog.records)


def test_load_session_passes_options(
    onnx_models: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSEKIT_HOME", str(onnx_models["pose_detection"].parents[1]))
    sess = load_session("detector", num_threads=1, spin=False)
    # What is loaded is the runtime copy derived from the installed model (posekit.models.runtime).
    assert sess.path.name == "pose_detection.all.onnx" and sess.path.parent.parent.name == "runtime"
    assert sess.name == "pose_detection" and sess.num_threads == 1
    assert not sess.optimized_on_load
