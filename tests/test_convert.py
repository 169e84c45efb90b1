"""Tests of the TFLite -> ONNX converter's structure, determinism, storage and refusals.

Besides the 8 official models, the tests build tiny ``.tflite`` flatbuffers themselves with the
flatbuffers Builder and the ``tflite`` schema builder functions: to prove that unsupported
operators, options and formats are refused, and to check option/shape combinations the official
models do not exercise (odd sizes under SAME padding, other resize modes, layout-sensitive
reshapes) against the TFLite interpreter.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tflite.ActivationFunctionType import ActivationFunctionType as Act
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.BuiltinOptions import BuiltinOptions as Opts
from tflite.DimensionType import DimensionType
from tflite.SparseIndexVector import SparseIndexVector
from tflite.TensorType import TensorType

from posekit.convert import (
    CONVERTER_VERSION,
    SUPPORTED_OPS,
    ConversionReport,
    convert_file,
    convert_tflite,
)
from posekit.errors import ConversionError, PosekitError, UnsupportedOpError

REPO = Path(__file__).resolve().parents[1]
MODELS = [
    "pose_detection",
    "pose_landmark_lite",
    "pose_landmark_full",
    "pose_landmark_heavy",
    "hand_landmark_full",
    "palm_detection_full",
    "face_landmark",
    "face_detection_short_range",
]

# Model boundary from shared/reference/blazepose.md section 1: names and NHWC shapes.
_POSE_LANDMARK_IO = (
    [("input_1", [1, 256, 256, 3])],
    [
        ("Identity", [1, 195]),
        ("Identity_1", [1, 1]),
        ("Identity_2", [1, 256, 256, 1]),
        ("Identity_3", [1, 64, 64, 39]),
        ("Identity_4", [1, 117]),
    ],
)
EXPECTED_IO: dict[str, tuple[list[tuple[str, list[int]]], list[tuple[str, list[int]]]]] = {
    "pose_detection": (
        [("input_1", [1, 224, 224, 3])],
        [("Identity", [1, 2254, 12]), ("Identity_1", [1, 2254, 1])],
    ),
    "pose_landmark_lite": _POSE_LANDMARK_IO,
    "pose_landmark_full": _POSE_LANDMARK_IO,
    "pose_landmark_heavy": _POSE_LANDMARK_IO,
    "hand_landmark_full": (
        [("input_1", [1, 224, 224, 3])],
        [
            ("Identity", [1, 63]),
            ("Identity_1", [1, 1]),
            ("Identity_2", [1, 1]),
            ("Identity_3", [1, 63]),
        ],
    ),
    "palm_detection_full": (
        [("input_1", [1, 192, 192, 3])],
        [("Identity", [1, 2016, 18]), ("Identity_1", [1, 2016, 1])],
    ),
    "face_landmark": (
        [("input_1", [1, 192, 192, 3])],
        [("conv2d_21", [1, 1, 1, 1404]), ("conv2d_31", [1, 1, 1, 1])],
    ),
    "face_detection_short_range": (
        [("input", [1, 128, 128, 3])],
        [("regressors", [1, 896, 16]), ("classificators", [1, 896, 1])],
    ),
}


@pytest.fixture(scope="module")
def converted(models_src: Path) -> dict[str, onnx.ModelProto]:
    """Every official model converted once (fp16 weights, the default)."""
    return {name: convert_tflite(models_src / f"{name}.tflite") for name in MODELS}


def _io(values: Sequence[onnx.ValueInfoProto]) -> list[tuple[str, list[int]]]:
    out = []
    for v in values:
        assert v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT, v.name
        out.append((v.name, [d.dim_value for d in v.type.tensor_type.shape.dim]))
    return out


def _session(model: onnx.ModelProto | bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    blob = model if isinstance(model, bytes) else model.SerializeToString()
    return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------------------------- official models
@pytest.mark.parametrize("name", MODELS)
def test_io_names_and_shapes_preserved(converted: dict[str, onnx.ModelProto], name: str) -> None:
    model = converted[name]
    onnx.checker.check_model(model, full_check=True)
    inputs, outputs = EXPECTED_IO[name]
    assert _io(model.graph.input) == inputs
    assert _io(model.graph.output) == outputs
    session = _session(model)
    assert [(i.name, i.shape) for i in session.get_inputs()] == inputs
    assert [(o.name, o.shape) for o in session.get_outputs()] == outputs
    assert model.graph.name == name


def test_conversion_is_byte_identical_across_runs_and_processes(
    converted: dict[str, onnx.ModelProto], models_src: Path
) -> None:
    """Same bytes in, same bytes out: twice in this process and once in a fresh interpreter
    with a different hash seed (no dependence on set/dict iteration, time or addresses)."""
    here = {}
    for name in MODELS:
        first = converted[name].SerializeToString()
        again = convert_tflite(models_src / f"{name}.tflite").SerializeToString()
        assert first == again, name
        here[name] = hashlib.sha256(first).hexdigest()
    code = (
        "import hashlib, sys\n"
        "from posekit.convert import convert_tflite\n"
        "for name in sys.argv[2:]:\n"
        "    blob = convert_tflite(f'{sys.argv[1]}/{name}.tflite').SerializeToString()\n"
        "    print(name, hashlib.sha256(blob).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(models_src), *MODELS],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=300,
    )
    there = dict(line.split() for line in proc.stdout.splitlines())
    assert there == here


@pytest.mark.parametrize("name", ["pose_detection", "pose_landmark_full", "face_landmark"])
def test_fp16_storage_is_exact_and_half_size(
    converted: dict[str, onnx.ModelProto], models_src: Path, name: str
) -> None:
    fp16 = converted[name]
    fp32 = convert_tflite(models_src / f"{name}.tflite", fp16_weights=False)
    F16, F32 = onnx.TensorProto.FLOAT16, onnx.TensorProto.FLOAT
    half = [t for t in fp16.graph.initializer if t.data_type == F16]
    float_fp16 = [t for t in fp16.graph.initializer if t.data_type == F32]
    # every weight is float16; the only float32 initializers left are scalars (Clip bounds)
    assert half
    assert all(int(np.prod(t.dims)) == 1 for t in float_fp16)
    casts = [n for n in fp16.graph.node if n.op_type == "Cast"]
    assert sorted(n.input[0] for n in casts) == sorted(t.name for t in half)
    assert all(a.i == F32 for n in casts for a in n.attribute if a.name == "to")
    # the float32 variant has no float16 data and no Cast
    assert not any(t.data_type == F16 for t in fp32.graph.initializer)
    assert not any(n.op_type == "Cast" for n in fp32.graph.node)
    size16, size32 = fp16.ByteSize(), fp32.ByteSize()
    assert size16 < 0.55 * size32
    # float16 -> float32 is exact, so both files compute bit-identical outputs
    s16, s32 = _session(fp16), _session(fp32)
    inp = s16.get_inputs()[0]
    x = np.random.default_rng(7).uniform(0, 1, size=inp.shape).astype(np.float32)
    for a, b in zip(s16.run(None, {inp.name: x}), s32.run(None, {inp.name: x}), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", MODELS)
def test_internal_layout_has_no_stray_transposes(
    converted: dict[str, onnx.ModelProto], name: str
) -> None:
    """Transposes appear only at the model boundary or right before a flattening Reshape
    (a TFLite RESHAPE of a rank-4 tensor, which is defined on NHWC element order)."""
    graph = converted[name].graph
    inputs = {i.name for i in graph.input}
    outputs = {o.name for o in graph.output}
    consumers: dict[str, list[str]] = {}
    for node in graph.node:
        for name_in in node.input:
            consumers.setdefault(name_in, []).append(node.op_type)
    for node in graph.node:
        if node.op_type != "Transpose":
            continue
        at_boundary = node.input[0] in inputs or node.output[0] in outputs
        before_flatten = consumers.get(node.output[0]) == ["Reshape"]
        assert at_boundary or before_flatten, f"{name}: stray Transpose {node.name}"


def test_convert_file_report(models_src: Path, tmp_path: Path) -> None:
    dst = tmp_path / "detector.onnx"
    report = convert_file(models_src / "pose_detection.tflite", dst)
    assert isinstance(report, ConversionReport)
    blob = dst.read_bytes()
    model = onnx.load_from_string(blob)
    assert report.model_name == "pose_detection" == model.graph.name
    assert report.converter_version == CONVERTER_VERSION
    props = {p.key: p.value for p in model.metadata_props}
    assert props["posekit.converter_version"] == CONVERTER_VERSION
    assert props["posekit.source_sha256"] == report.source_sha256
    assert report.output_sha256 == hashlib.sha256(blob).hexdigest()
    assert report.file_bytes == len(blob)
    src = (models_src / "pose_detection.tflite").read_bytes()
    assert report.source_sha256 == hashlib.sha256(src).hexdigest()
    assert report.num_nodes == len(model.graph.node) == sum(report.onnx_ops.values())
    assert report.num_initializers == len(model.graph.initializer)
    assert 0 < report.weight_bytes < report.file_bytes
    # reference section 1: 38 sparse weight tensors behind DENSIFY, all weights behind DEQUANTIZE
    assert report.tflite_ops["DENSIFY"] == 38
    assert set(report.tflite_ops) <= set(SUPPORTED_OPS)
    assert report.seconds > 0
    renamed = convert_file(models_src / "pose_detection.tflite", dst, model_name="detector")
    assert renamed.model_name == "detector" == onnx.load(dst).graph.name
    assert renamed.output_sha256 != report.output_sha256  # the graph name is in the file


# ---------------------------------------------------------------------------------- tiny models
@dataclass
class TensorSpec:
    """A tensor of a tiny test model."""

    name: str
    shape: Sequence[int]
    dtype: int = TensorType.FLOAT32
    data: npt.NDArray[Any] | None = None
    sparsity: dict[str, Any] | None = None
    quantized: bool = False


@dataclass
class OpSpec:
    """An operator of a tiny test model."""

    code: int | str  # builtin code, or the custom code of a CUSTOM op
    inputs: Sequence[int]
    outputs: Sequence[int]
    options: str | None = None  # options table name, e.g. "Conv2DOptions"
    fields: Mapping[str, int | bool] = field(default_factory=dict)
    version: int = 1


def _schema(module: str) -> Any:
    return importlib.import_module(f"tflite.{module}")


def _int_vector(
    b: flatbuffers.Builder, values: Sequence[int] | npt.NDArray[Any], dtype: str = "<i4"
) -> int:
    return int(b.CreateNumpyVector(np.asarray(values, dtype=dtype)))


def _offset_vector(b: flatbuffers.Builder, offsets: Sequence[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return int(b.EndVector())


def _index_vector(b: flatbuffers.Builder, values: npt.NDArray[Any], kind: int) -> int:
    module, dtype = {
        SparseIndexVector.Int32Vector: ("Int32Vector", "<i4"),
        SparseIndexVector.Uint16Vector: ("Uint16Vector", "<u2"),
        SparseIndexVector.Uint8Vector: ("Uint8Vector", "u1"),
    }[kind]
    m = _schema(module)
    vec = _int_vector(b, values, dtype)
    getattr(m, f"{module}Start")(b)
    getattr(m, f"{module}AddValues")(b, vec)
    return int(getattr(m, f"{module}End")(b))


def _sparsity(b: flatbuffers.Builder, sp: dict[str, Any]) -> int:
    dm, spm = _schema("DimensionMetadata"), _schema("SparsityParameters")
    metas = []
    for fmt, dense_size, segments, indices, kind in sp["dims"]:
        seg = _index_vector(b, segments, kind) if segments is not None else None
        idx = _index_vector(b, indices, kind) if indices is not None else None
        dm.DimensionMetadataStart(b)
        dm.DimensionMetadataAddFormat(b, fmt)
        dm.DimensionMetadataAddDenseSize(b, dense_size)
        if seg is not None and idx is not None:
            dm.DimensionMetadataAddArraySegmentsType(b, kind)
            dm.DimensionMetadataAddArraySegments(b, seg)
            dm.DimensionMetadataAddArrayIndicesType(b, kind)
            dm.DimensionMetadataAddArrayIndices(b, idx)
        metas.append(dm.DimensionMetadataEnd(b))
    traversal = _int_vector(b, sp["traversal"])
    block_map = _int_vector(b, sp["block_map"]) if sp.get("block_map") else None
    dims = _offset_vector(b, metas)
    spm.SparsityParametersStart(b)
    spm.SparsityParametersAddTraversalOrder(b, traversal)
    if block_map is not None:
        spm.SparsityParametersAddBlockMap(b, block_map)
    spm.SparsityParametersAddDimMetadata(b, dims)
    return int(spm.SparsityParametersEnd(b))


def _aligned_bytes(b: flatbuffers.Builder, raw: bytes) -> int:
    b.StartVector(1, len(raw), 16)
    b.head = b.head - len(raw)
    b.Bytes[b.head : b.head + len(raw)] = raw
    b.vectorNumElems = len(raw)
    return int(b.EndVector())


def tiny_tflite(
    tensors: Sequence[TensorSpec],
    ops: Sequence[OpSpec],
    inputs: Sequence[int],
    outputs: Sequence[int],
    *,
    subgraphs: int = 1,
) -> bytes:
    """Serialize a one-subgraph (or repeated-subgraph) TFLite model."""
    b = flatbuffers.Builder(1024)
    tm, bm, om, ocm, sgm, mm, qm = (
        _schema(n)
        for n in (
            "Tensor",
            "Buffer",
            "Operator",
            "OperatorCode",
            "SubGraph",
            "Model",
            "QuantizationParameters",
        )
    )
    # buffers: 0 is the empty sentinel
    buffer_index: dict[int, int] = {}
    buffers = []
    bm.BufferStart(b)
    buffers.append(bm.BufferEnd(b))
    for i, t in enumerate(tensors):
        if t.data is not None:
            data = _aligned_bytes(b, np.ascontiguousarray(t.data).tobytes())
            bm.BufferStart(b)
            bm.BufferAddData(b, data)
            buffer_index[i] = len(buffers)
            buffers.append(bm.BufferEnd(b))
    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.name)
        shape = _int_vector(b, t.shape)
        sparsity = _sparsity(b, t.sparsity) if t.sparsity else None
        quant = None
        if t.quantized:
            scale = b.CreateNumpyVector(np.asarray([0.5], dtype="<f4"))
            zero = b.CreateNumpyVector(np.asarray([0], dtype="<i8"))
            qm.QuantizationParametersStart(b)
            qm.QuantizationParametersAddScale(b, scale)
            qm.QuantizationParametersAddZeroPoint(b, zero)
            quant = qm.QuantizationParametersEnd(b)
        tm.TensorStart(b)
        tm.TensorAddShape(b, shape)
        tm.TensorAddType(b, t.dtype)
        tm.TensorAddBuffer(b, buffer_index.get(i, 0))
        tm.TensorAddName(b, name)
        if sparsity is not None:
            tm.TensorAddSparsity(b, sparsity)
        if quant is not None:
            tm.TensorAddQuantization(b, quant)
        tensor_offsets.append(tm.TensorEnd(b))
    codes: list[tuple[int | str, int]] = []
    op_offsets = []
    for o in ops:
        key = (o.code, o.version)
        if key not in codes:
            codes.append(key)
        ins, outs = _int_vector(b, o.inputs), _int_vector(b, o.outputs)
        opts = None
        table = o.options
        if table is not None:
            m = _schema(table)
            getattr(m, f"{table}Start")(b)
            for fname, value in o.fields.items():
                getattr(m, f"{table}Add{fname}")(b, value)
            opts = getattr(m, f"{table}End")(b)
        om.OperatorStart(b)
        om.OperatorAddOpcodeIndex(b, codes.index(key))
        om.OperatorAddInputs(b, ins)
        om.OperatorAddOutputs(b, outs)
        if opts is not None and table is not None:
            om.OperatorAddBuiltinOptionsType(b, getattr(Opts, table))
            om.OperatorAddBuiltinOptions(b, opts)
        op_offsets.append(om.OperatorEnd(b))
    code_offsets = []
    for code, version in codes:
        custom = b.CreateString(code) if isinstance(code, str) else None
        builtin = Op.CUSTOM if isinstance(code, str) else code
        ocm.OperatorCodeStart(b)
        ocm.OperatorCodeAddDeprecatedBuiltinCode(b, min(builtin, 127))
        ocm.OperatorCodeAddBuiltinCode(b, builtin)
        ocm.OperatorCodeAddVersion(b, version)
        if custom is not None:
            ocm.OperatorCodeAddCustomCode(b, custom)
        code_offsets.append(ocm.OperatorCodeEnd(b))
    tensors_vec = _offset_vector(b, tensor_offsets)
    ops_vec = _offset_vector(b, op_offsets)
    in_vec, out_vec = _int_vector(b, inputs), _int_vector(b, outputs)
    sg_name = b.CreateString("main")
    sgm.SubGraphStart(b)
    sgm.SubGraphAddTensors(b, tensors_vec)
    sgm.SubGraphAddInputs(b, in_vec)
    sgm.SubGraphAddOutputs(b, out_vec)
    sgm.SubGraphAddOperators(b, ops_vec)
    sgm.SubGraphAddName(b, sg_name)
    subgraph = sgm.SubGraphEnd(b)
    subgraphs_vec = _offset_vector(b, [subgraph] * subgraphs)
    codes_vec = _offset_vector(b, code_offsets)
    buffers_vec = _offset_vector(b, buffers)
    description = b.CreateString("posekit test model")
    mm.ModelStart(b)
    mm.ModelAddVersion(b, 3)
    mm.ModelAddOperatorCodes(b, codes_vec)
    mm.ModelAddSubgraphs(b, subgraphs_vec)
    mm.ModelAddDescription(b, description)
    mm.ModelAddBuffers(b, buffers_vec)
    b.Finish(mm.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


_RNG = np.random.default_rng(1234)


def _w(*shape: int) -> npt.NDArray[np.float32]:
    return _RNG.uniform(-1, 1, size=shape).astype(np.float32)


def _i32(*values: int) -> npt.NDArray[np.int32]:
    return np.asarray(values, dtype=np.int32)


def conv_model(
    *,
    h: int = 7,
    w: int = 9,
    c: int = 3,
    k: int = 3,
    stride: int = 2,
    padding: int = 0,
    activation: int = Act.RELU6,
    dilation: int = 1,
    depthwise: bool = False,
    out_c: int = 4,
) -> bytes:
    """x -> CONV_2D / DEPTHWISE_CONV_2D(filter, bias) -> y."""
    if padding == 0:
        oh, ow = -(-h // stride), -(-w // stride)
    else:
        oh, ow = (
            (h - (k - 1) * dilation - 1) // stride + 1,
            (w - (k - 1) * dilation - 1) // stride + 1,
        )
    fields: dict[str, int | bool] = {
        "Padding": padding,
        "StrideH": stride,
        "StrideW": stride,
        "FusedActivationFunction": activation,
        "DilationHFactor": dilation,
        "DilationWFactor": dilation,
    }
    if depthwise:
        filt = _w(1, k, k, out_c)
        code, options = Op.DEPTHWISE_CONV_2D, "DepthwiseConv2DOptions"
        fields["DepthMultiplier"] = out_c // c
    else:
        filt = _w(out_c, k, k, c)
        code, options = Op.CONV_2D, "Conv2DOptions"
    tensors = [
        TensorSpec("x", (1, h, w, c)),
        TensorSpec("filter", filt.shape, data=filt),
        TensorSpec("bias", (out_c,), data=_w(out_c)),
        TensorSpec("y", (1, oh, ow, out_c)),
    ]
    return tiny_tflite(tensors, [OpSpec(code, [0, 1, 2], [3], options, fields)], [0], [3])


def unary_model(code: int, shape: Sequence[int] = (1, 4, 5, 3)) -> bytes:
    return tiny_tflite(
        [TensorSpec("x", shape), TensorSpec("y", shape)], [OpSpec(code, [0], [1])], [0], [1]
    )


def resize_model(align: bool, half: bool, size: tuple[int, int] = (8, 7)) -> bytes:
    tensors = [
        TensorSpec("x", (1, 5, 3, 2)),
        TensorSpec("size", (2,), TensorType.INT32, _i32(*size)),
        TensorSpec("y", (1, *size, 2)),
    ]
    fields = {"AlignCorners": align, "HalfPixelCenters": half}
    op = OpSpec(Op.RESIZE_BILINEAR, [0, 1], [2], "ResizeBilinearOptions", fields, version=3)
    return tiny_tflite(tensors, [op], [0], [2])


def max_pool_model(h: int = 7, w: int = 6, k: int = 3, stride: int = 2) -> bytes:
    oh, ow = -(-h // stride), -(-w // stride)
    fields = {
        "Padding": 0,
        "StrideH": stride,
        "StrideW": stride,
        "FilterHeight": k,
        "FilterWidth": k,
        "FusedActivationFunction": Act.NONE,
    }
    tensors = [TensorSpec("x", (1, h, w, 3)), TensorSpec("y", (1, oh, ow, 3))]
    return tiny_tflite(
        tensors, [OpSpec(Op.MAX_POOL_2D, [0], [1], "Pool2DOptions", fields)], [0], [1]
    )


def reshape_model(src: Sequence[int], dst: Sequence[int]) -> bytes:
    tensors = [
        TensorSpec("x", src),
        TensorSpec("shape", (len(dst),), TensorType.INT32, _i32(*dst)),
        TensorSpec("y", dst),
    ]
    return tiny_tflite(tensors, [OpSpec(Op.RESHAPE, [0, 1], [2], "ReshapeOptions")], [0], [2])


def mean_model(axes: Sequence[int], keep: bool) -> bytes:
    src = (1, 4, 5, 3)
    norm = {a % len(src) for a in axes}
    kept = [1 if i in norm else d for i, d in enumerate(src)]
    dst = kept if keep else [d for i, d in enumerate(src) if i not in norm]
    tensors = [
        TensorSpec("x", src),
        TensorSpec("axes", (len(axes),), TensorType.INT32, _i32(*axes)),
        TensorSpec("y", dst),
    ]
    op = OpSpec(Op.MEAN, [0, 1], [2], "ReducerOptions", {"KeepDims": keep})
    return tiny_tflite(tensors, [op], [0], [2])


def concat_model(axis: int, activation: int = Act.NONE) -> bytes:
    a, b = [1, 3, 4, 2], [1, 3, 4, 2]
    norm = axis % 4
    out = list(a)
    out[norm] = a[norm] + b[norm]
    tensors = [TensorSpec("a", a), TensorSpec("b", b), TensorSpec("y", out)]
    op = OpSpec(
        Op.CONCATENATION,
        [0, 1],
        [2],
        "ConcatenationOptions",
        {"Axis": axis, "FusedActivationFunction": activation},
    )
    return tiny_tflite(tensors, [op], [0, 1], [2])


def fully_connected_model(keep_dims: bool = False) -> bytes:
    x = (1, 2, 2, 3)
    out = (1, 2, 2, 5) if keep_dims else (1, 5)
    if keep_dims:
        x, wshape = (1, 2, 2, 3), (5, 3)
    else:
        wshape = (5, 12)
    tensors = [
        TensorSpec("x", x),
        TensorSpec("w", wshape, data=_w(*wshape)),
        TensorSpec("b", (5,), data=_w(5)),
        TensorSpec("y", out),
    ]
    op = OpSpec(
        Op.FULLY_CONNECTED,
        [0, 1, 2],
        [3],
        "FullyConnectedOptions",
        {"FusedActivationFunction": Act.RELU, "KeepNumDims": keep_dims},
    )
    return tiny_tflite(tensors, [op], [0], [3])


def pad_model(pads: Sequence[int] = (0, 0, 1, 2, 0, 3, 1, 1)) -> bytes:
    src = (1, 3, 4, 2)
    dst = [n + pads[2 * i] + pads[2 * i + 1] for i, n in enumerate(src)]
    tensors = [
        TensorSpec("x", src),
        TensorSpec("pads", (4, 2), TensorType.INT32, _i32(*pads)),
        TensorSpec("y", dst),
    ]
    return tiny_tflite(tensors, [OpSpec(Op.PAD, [0, 1], [2], "PadOptions")], [0], [2])


def prelu_model(alpha_shape: Sequence[int]) -> bytes:
    shape = (1, 4, 5, 3)
    tensors = [
        TensorSpec("x", shape),
        TensorSpec("alpha", alpha_shape, data=_w(*alpha_shape)),
        TensorSpec("y", shape),
    ]
    return tiny_tflite(tensors, [OpSpec(Op.PRELU, [0, 1], [2])], [0], [2])


def prelu_add_model() -> bytes:
    """PRELU with a [1,1,C] alpha, then ADD of a [C] constant (NHWC broadcasting)."""
    tensors = [
        TensorSpec("x", (1, 4, 5, 3)),
        TensorSpec("alpha", (1, 1, 3), data=_w(1, 1, 3)),
        TensorSpec("p", (1, 4, 5, 3)),
        TensorSpec("c", (3,), data=_w(3)),
        TensorSpec("y", (1, 4, 5, 3)),
    ]
    ops = [
        OpSpec(Op.PRELU, [0, 1], [2]),
        OpSpec(Op.ADD, [2, 3], [4], "AddOptions", {"FusedActivationFunction": Act.NONE}),
    ]
    return tiny_tflite(tensors, ops, [0], [4])


def depth_to_space_model() -> bytes:
    tensors = [TensorSpec("x", (1, 3, 2, 8)), TensorSpec("y", (1, 6, 4, 2))]
    op = OpSpec(Op.DEPTH_TO_SPACE, [0], [1], "DepthToSpaceOptions", {"BlockSize": 2})
    return tiny_tflite(tensors, [op], [0], [1])


def _csr(dense: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    rows = dense.reshape(-1, dense.shape[-1])
    segments = np.concatenate([[0], np.cumsum((rows != 0).sum(axis=1))])
    cols = np.nonzero(rows)[1]
    return rows[rows != 0], segments, cols


def sparse_conv_model(
    *,
    block_map: Sequence[int] = (),
    traversal: Sequence[int] = (0, 1, 2, 3),
    formats: Sequence[int] | None = None,
    kind: int = SparseIndexVector.Uint8Vector,
) -> bytes:
    """x -> CONV_2D whose float16 filter is CSR-sparse behind DENSIFY + DEQUANTIZE."""
    filt = _w(4, 1, 1, 6)
    filt[np.abs(filt) < 0.5] = 0.0
    half = filt.astype(np.float16)
    values, segments, cols = _csr(half)
    formats = formats or [DimensionType.DENSE] * 3 + [DimensionType.SPARSE_CSR]
    dims: list[tuple[int, int, npt.NDArray[Any] | None, npt.NDArray[Any] | None, int]] = []
    for axis, fmt in enumerate(formats):
        if fmt == DimensionType.SPARSE_CSR:
            dims.append((fmt, 0, segments, cols, kind))
        else:
            dims.append((fmt, half.shape[axis], None, None, kind))
    sparsity = {"traversal": list(traversal), "block_map": list(block_map), "dims": dims}
    tensors = [
        TensorSpec("x", (1, 3, 3, 6)),
        TensorSpec("filter_sparse", half.shape, TensorType.FLOAT16, values, sparsity=sparsity),
        TensorSpec("filter_f16", half.shape, TensorType.FLOAT16),
        TensorSpec("filter", half.shape),
        TensorSpec("y", (1, 3, 3, 4)),
        TensorSpec("bias", (4,), data=_w(4)),
    ]
    fields = {
        "Padding": 0,
        "StrideH": 1,
        "StrideW": 1,
        "FusedActivationFunction": Act.NONE,
        "DilationHFactor": 1,
        "DilationWFactor": 1,
    }
    ops = [
        OpSpec(Op.DENSIFY, [1], [2]),
        OpSpec(Op.DEQUANTIZE, [2], [3], version=2),
        OpSpec(Op.CONV_2D, [0, 3, 5], [4], "Conv2DOptions", fields),
    ]
    return tiny_tflite(tensors, ops, [0], [4])


def quantized_dequantize_model() -> bytes:
    q = np.arange(12, dtype=np.int8).reshape(3, 4)
    tensors = [
        TensorSpec("wq", (3, 4), TensorType.INT8, q, quantized=True),
        TensorSpec("w", (3, 4)),
        TensorSpec("x", (3, 4)),
        TensorSpec("y", (3, 4)),
    ]
    ops = [
        OpSpec(Op.DEQUANTIZE, [0], [1]),
        OpSpec(Op.ADD, [2, 1], [3], "AddOptions", {"FusedActivationFunction": Act.NONE}),
    ]
    return tiny_tflite(tensors, ops, [2], [3])


def quantized_add_model() -> bytes:
    tensors = [
        TensorSpec("a", (1, 4), TensorType.UINT8, quantized=True),
        TensorSpec("b", (1, 4), TensorType.UINT8, quantized=True),
        TensorSpec("y", (1, 4), TensorType.UINT8, quantized=True),
    ]
    op = OpSpec(Op.ADD, [0, 1], [2], "AddOptions", {"FusedActivationFunction": Act.NONE})
    return tiny_tflite(tensors, [op], [0, 1], [2])


def add_model(activation: int, shape: Sequence[int] = (1, 4)) -> bytes:
    tensors = [TensorSpec("a", shape), TensorSpec("b", shape), TensorSpec("y", shape)]
    op = OpSpec(Op.ADD, [0, 1], [2], "AddOptions", {"FusedActivationFunction": activation})
    return tiny_tflite(tensors, [op], [0, 1], [2])


def custom_model() -> bytes:
    tensors = [TensorSpec("x", (1, 4)), TensorSpec("y", (1, 4))]
    return tiny_tflite(tensors, [OpSpec("MyCustomOp", [0], [1])], [0], [1])


def dangling_index_model() -> bytes:
    tensors = [TensorSpec("x", (1, 4)), TensorSpec("y", (1, 4))]
    return tiny_tflite(tensors, [OpSpec(Op.RELU, [0], [7])], [0], [1])


def unwritten_input_model() -> bytes:
    tensors = [TensorSpec("x", (1, 4)), TensorSpec("never", (1, 4)), TensorSpec("y", (1, 4))]
    op = OpSpec(Op.ADD, [0, 1], [2], "AddOptions", {"FusedActivationFunction": Act.NONE})
    return tiny_tflite(tensors, [op], [0], [2])


# Models the converter must translate exactly (checked against the TFLite interpreter).
SUPPORTED_TINY: dict[str, Callable[[], bytes]] = {
    "conv_same_stride2_odd_relu6": lambda: conv_model(),
    "conv_valid_relu": lambda: conv_model(padding=1, activation=Act.RELU, stride=1),
    "conv_same_stride2_even": lambda: conv_model(h=8, w=6, activation=Act.NONE),
    "depthwise_same_stride2_multiplier2": lambda: conv_model(depthwise=True, out_c=6),
    "depthwise_same_stride1_k5": lambda: conv_model(depthwise=True, out_c=3, k=5, stride=1),
    "max_pool_same_odd": lambda: max_pool_model(),
    "resize_half_pixel": lambda: resize_model(align=False, half=True),
    "resize_align_corners": lambda: resize_model(align=True, half=False),
    "resize_asymmetric": lambda: resize_model(align=False, half=False),
    "reshape_4d_to_4d": lambda: reshape_model((1, 2, 3, 4), (1, 4, 3, 2)),
    "reshape_4d_to_3d": lambda: reshape_model((1, 3, 4, 6), (1, 24, 3)),
    "reshape_2d_to_4d": lambda: reshape_model((1, 24), (1, 2, 3, 4)),
    "mean_h_dropdims": lambda: mean_model([1], keep=False),
    "mean_hw_keepdims": lambda: mean_model([1, 2], keep=True),
    "mean_c_dropdims": lambda: mean_model([-1], keep=False),
    "concat_channels": lambda: concat_model(3),
    "concat_height_negative_axis": lambda: concat_model(-3),
    "fully_connected_from_4d": lambda: fully_connected_model(),
    "fully_connected_keep_dims": lambda: fully_connected_model(keep_dims=True),
    "pad_spatial_and_channel": pad_model,
    "pad_channels_only": lambda: pad_model((0, 0, 0, 0, 0, 0, 2, 3)),
    "prelu_scalar_alpha": lambda: prelu_model((1,)),
    "prelu_spatial_alpha": lambda: prelu_model((1, 4, 5, 3)),
    "prelu_then_broadcast_add": prelu_add_model,
    "depth_to_space": depth_to_space_model,
    "add_relu6_4d": lambda: add_model(Act.RELU6, (1, 3, 5, 4)),
    "add_relu_4d": lambda: add_model(Act.RELU, (1, 3, 5, 4)),
    "add_relu_2d": lambda: add_model(Act.RELU),
    "logistic": lambda: unary_model(Op.LOGISTIC),
    "relu": lambda: unary_model(Op.RELU),
    "densify_csr_uint8": lambda: sparse_conv_model(),
    "densify_csr_int32": lambda: sparse_conv_model(kind=SparseIndexVector.Int32Vector),
}


@pytest.mark.parametrize("case", list(SUPPORTED_TINY))
def test_tiny_model_matches_tflite(case: str) -> None:
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    blob = SUPPORTED_TINY[case]()
    interpreter = litert.Interpreter(
        model_content=blob,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF,
    )
    interpreter.allocate_tensors()
    session = _session(convert_tflite(blob, model_name=case))
    rng = np.random.default_rng(99)
    feeds = {}
    for detail in interpreter.get_input_details():
        x = rng.uniform(-2, 2, size=detail["shape"]).astype(np.float32)
        interpreter.set_tensor(detail["index"], x)
        feeds[detail["name"]] = x
    interpreter.invoke()
    expected = {
        d["name"]: interpreter.get_tensor(d["index"]) for d in interpreter.get_output_details()
    }
    got = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds), strict=True))
    assert set(got) == set(expected)
    for name, value in expected.items():
        assert got[name].shape == value.shape, name
        np.testing.assert_allclose(got[name], value, rtol=1e-5, atol=1e-5, err_msg=f"{case}:{name}")


# ---------------------------------------------------------------------------------- refusals
def _official(name: str, edit: Callable[[bytes], bytes]) -> Callable[[Path], bytes]:
    def make(models_src: Path) -> bytes:
        return edit((models_src / f"{name}.tflite").read_bytes())

    return make


def _tiny(build: Callable[[], bytes]) -> Callable[[Path], bytes]:
    return lambda _models_src: build()


def _garbage(_models_src: Path) -> bytes:
    rng = np.random.default_rng(5)
    return b"\x10\x00\x00\x00TFL3" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()


# (case, source bytes, expected exception (exact class) or None, fragments the message names)
REFUSALS: list[tuple[str, Callable[[Path], bytes], type[Exception] | None, list[str]]] = [
    ("supported_conv", _tiny(conv_model), None, []),
    ("square_op", _tiny(lambda: unary_model(Op.SQUARE)), UnsupportedOpError, ["SQUARE", "tiny"]),
    ("custom_op", _tiny(custom_model), UnsupportedOpError, ["MyCustomOp", "custom", "tiny"]),
    (
        "fused_tanh",
        _tiny(lambda: conv_model(activation=Act.TANH)),
        UnsupportedOpError,
        ["CONV_2D", "TANH", "tiny"],
    ),
    (
        "fused_relu_n1_to_1",
        _tiny(lambda: add_model(Act.RELU_N1_TO_1)),
        UnsupportedOpError,
        ["ADD", "RELU_N1_TO_1", "tiny"],
    ),
    (
        "concat_fused_relu",
        _tiny(lambda: concat_model(3, Act.RELU)),
        UnsupportedOpError,
        ["CONCATENATION", "RELU", "tiny"],
    ),
    (
        "dilated_conv",
        _tiny(lambda: conv_model(dilation=2, padding=1, stride=1)),
        UnsupportedOpError,
        ["CONV_2D", "DilationHFactor=2", "tiny"],
    ),
    (
        "resize_align_and_half",
        _tiny(lambda: resize_model(align=True, half=True)),
        UnsupportedOpError,
        ["RESIZE_BILINEAR", "align_corners", "tiny"],
    ),
    (
        "sparse_block_map",
        _tiny(lambda: sparse_conv_model(block_map=[3])),
        UnsupportedOpError,
        ["DENSIFY", "block", "tiny"],
    ),
    (
        "sparse_traversal_order",
        _tiny(lambda: sparse_conv_model(traversal=[1, 0, 2, 3])),
        UnsupportedOpError,
        ["DENSIFY", "traversal order", "tiny"],
    ),
    (
        "sparse_csr_not_last",
        _tiny(
            lambda: sparse_conv_model(
                formats=[DimensionType.SPARSE_CSR] + [DimensionType.DENSE] * 3
            )
        ),
        UnsupportedOpError,
        ["DENSIFY", "sparsity format", "tiny"],
    ),
    (
        "int8_dequantize",
        _tiny(quantized_dequantize_model),
        UnsupportedOpError,
        ["DEQUANTIZE", "INT8", "tiny"],
    ),
    ("quantized_uint8_add", _tiny(quantized_add_model), UnsupportedOpError, ["UINT8", "tiny"]),
    (
        "two_subgraphs",
        _tiny(
            lambda: tiny_tflite(
                [TensorSpec("x", (1, 4)), TensorSpec("y", (1, 4))],
                [OpSpec(Op.RELU, [0], [1])],
                [0],
                [1],
                subgraphs=2,
            )
        ),
        UnsupportedOpError,
        ["2 subgraphs", "tiny"],
    ),
    (
        "tensor_index_out_of_range",
        _tiny(dangling_index_model),
        ConversionError,
        ["refers to tensor 7", "tiny"],
    ),
    (
        "input_never_written",
        _tiny(unwritten_input_model),
        ConversionError,
        ["'never'", "before any operator writes it", "tiny"],
    ),
    ("empty_file", lambda _p: b"", ConversionError, ["not a TFLite model", "tiny"]),
    (
        "wrong_identifier",
        _official("pose_detection", lambda d: d[:4] + b"ONNX" + d[8:]),
        ConversionError,
        ["file identifier", "tiny"],
    ),
    (
        "truncated_half",
        _official("pose_detection", lambda d: d[: len(d) // 2]),
        ConversionError,
        ["corrupt or truncated", "tiny"],
    ),
    (
        "truncated_tail",
        _official("pose_landmark_full", lambda d: d[:-4096]),
        ConversionError,
        ["corrupt or truncated", "tiny"],
    ),
    (
        "header_only",
        _official("pose_detection", lambda d: d[:64]),
        ConversionError,
        ["corrupt or truncated", "tiny"],
    ),
    ("garbage_with_identifier", _garbage, ConversionError, ["corrupt or truncated", "tiny"]),
]


@pytest.mark.parametrize(
    ("case", "make", "expected", "fragments"), REFUSALS, ids=[row[0] for row in REFUSALS]
)
def test_refusals(
    models_src: Path,
    case: str,
    make: Callable[[Path], bytes],
    expected: type[Exception] | None,
    fragments: list[str],
) -> None:
    data = make(models_src)
    if expected is None:
        model = convert_tflite(data, model_name="tiny")
        onnx.checker.check_model(model, full_check=True)
        return
    with pytest.raises(expected) as info:
        convert_tflite(data, model_name="tiny")
    assert type(info.value) is expected  # corrupt files are ConversionError, not Unsupported
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file_is_a_conversion_error(tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match=r"nothing: cannot read the TFLite file"):
        convert_tflite(tmp_path / "nothing.tflite")
    with pytest.raises(ConversionError, match="cannot read"):
        convert_file(tmp_path / "nothing.tflite", tmp_path / "out.onnx")
    assert not (tmp_path / "out.onnx").exists()


def test_unwritable_destination_is_a_conversion_error(models_src: Path, tmp_path: Path) -> None:
    with pytest.raises(ConversionError, match="cannot write the ONNX model"):
        convert_file(models_src / "face_detection_short_range.tflite", tmp_path / "no" / "x.onnx")


def test_model_name_defaults(models_src: Path) -> None:
    data = (models_src / "face_detection_short_range.tflite").read_bytes()
    assert convert_tflite(data).graph.name == "model"
    assert convert_tflite(models_src / "face_detection_short_range.tflite").graph.name == (
        "face_detection_short_range"
    )
    with pytest.raises(ConversionError, match=r"^mine: "):
        convert_tflite(data[:100], model_name="mine")


_FUZZ_BASES = {
    "conv": conv_model(),
    "sparse": sparse_conv_model(),
    "fully_connected": fully_connected_model(),
    "resize": resize_model(align=False, half=True),
}


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    base=st.sampled_from(sorted(_FUZZ_BASES)),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
)
def test_corrupted_bytes_never_escape_as_raw_errors(
    base: str, edits: list[tuple[int, int]]
) -> None:
    """Random byte edits of a valid model either still convert or raise a posekit error."""
    data = bytearray(_FUZZ_BASES[base])
    for position, value in edits:
        data[position % len(data)] = value
    try:
        convert_tflite(bytes(data), model_name="fuzz")
    except PosekitError as exc:
        assert isinstance(exc, ConversionError)
        assert "fuzz" in str(exc)
