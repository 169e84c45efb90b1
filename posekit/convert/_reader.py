"""Read a TFLite flatbuffer into a small, fully materialised graph description.

Everything that touches the flatbuffer lives here, behind one guarded entry point
(:func:`read_tflite`): the generated ``tflite`` bindings read lazily and fail with ``IndexError``,
``struct.error`` and friends on corrupt input, so the whole model is decoded eagerly and any such
failure becomes a :class:`~posekit.errors.ConversionError` that names the model. The graph builder
then works on plain dataclasses and numpy arrays only.
"""

from __future__ import annotations

import importlib
import inspect
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt
import tflite
from tflite.BuiltinOperator import BuiltinOperator
from tflite.BuiltinOptions import BuiltinOptions
from tflite.DimensionType import DimensionType
from tflite.SparseIndexVector import SparseIndexVector
from tflite.TensorType import TensorType

from posekit.errors import ConversionError, UnsupportedOpError

__all__ = [
    "DimMetadata",
    "GraphInfo",
    "OperatorInfo",
    "OptionValue",
    "SparsityInfo",
    "TensorInfo",
    "read_tflite",
]

OptionValue = int | float | bool | str | tuple[int, ...]

_FILE_IDENTIFIER = b"TFL3"
_SCHEMA_VERSION = 3


def _enum_names(enum_cls: type) -> dict[int, str]:
    return {v: k for k, v in vars(enum_cls).items() if not k.startswith("_") and isinstance(v, int)}


_OP_NAMES = _enum_names(BuiltinOperator)
_OPTION_TABLES = _enum_names(BuiltinOptions)
_TYPE_NAMES = {k: v.lower() for k, v in _enum_names(TensorType).items()}
_INDEX_VECTOR_NAMES = _enum_names(SparseIndexVector)

#: numpy dtype of every TFLite tensor type the reader can materialise as a constant.
_NUMPY_DTYPES: dict[str, np.dtype[Any]] = {
    "float32": np.dtype("<f4"),
    "float16": np.dtype("<f2"),
    "float64": np.dtype("<f8"),
    "int32": np.dtype("<i4"),
    "int64": np.dtype("<i8"),
    "int16": np.dtype("<i2"),
    "int8": np.dtype("i1"),
    "uint8": np.dtype("u1"),
    "bool": np.dtype("?"),
}

#: exceptions the generated bindings and numpy raise on a corrupt flatbuffer.
_PARSE_ERRORS = (
    IndexError,
    struct.error,
    ValueError,
    TypeError,
    AttributeError,
    UnicodeDecodeError,
    OverflowError,
    KeyError,
    MemoryError,
)


@dataclass(frozen=True)
class DimMetadata:
    """One dimension of a sparse tensor's storage (TFLite ``DimensionMetadata``)."""

    format: str
    """``"DENSE"`` or ``"SPARSE_CSR"``."""
    dense_size: int
    segments: npt.NDArray[np.int64] | None
    segments_type: str
    indices: npt.NDArray[np.int64] | None
    indices_type: str


@dataclass(frozen=True)
class SparsityInfo:
    """TFLite ``SparsityParameters`` of a constant tensor."""

    traversal_order: tuple[int, ...]
    block_map: tuple[int, ...]
    dims: tuple[DimMetadata, ...]


@dataclass(frozen=True)
class TensorInfo:
    """A TFLite tensor with its constant data (if any) already decoded."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    """Lower-case TFLite type name: ``"float32"``, ``"float16"``, ``"int32"``..."""
    data: npt.NDArray[Any] | None
    """Constant value shaped like the tensor; for a sparse tensor the flat stored values."""
    sparsity: SparsityInfo | None
    quantized: bool
    """The tensor carries quantisation parameters (scale / zero point)."""
    variable: bool


@dataclass(frozen=True)
class OperatorInfo:
    """A TFLite operator with its builtin options decoded into a mapping."""

    index: int
    op: str
    """Builtin operator name (``"CONV_2D"``), or ``"CUSTOM"``."""
    custom_code: str | None
    version: int
    inputs: tuple[int, ...]
    """Tensor indices; ``-1`` marks an omitted optional input."""
    outputs: tuple[int, ...]
    options_table: str | None
    options: Mapping[str, OptionValue]
    """Option fields by schema accessor name (``"StrideH"``, ``"FusedActivationFunction"``)."""
    has_custom_options: bool
    has_options2: bool


@dataclass(frozen=True)
class GraphInfo:
    """The single subgraph of a TFLite model."""

    tensors: tuple[TensorInfo, ...]
    operators: tuple[OperatorInfo, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


def read_tflite(data: bytes, model_name: str) -> GraphInfo:
    """Decode ``data`` (a ``.tflite`` file's bytes) into a :class:`GraphInfo`.

    Raises:
        ConversionError: the bytes are not a readable TFLite flatbuffer.
        UnsupportedOpError: the model is valid but uses a structure the converter does not
            implement (several subgraphs, external buffers, another schema version).
    """
    if len(data) < 8 or data[4:8] != _FILE_IDENTIFIER:
        raise ConversionError(
            f"{model_name}: not a TFLite model (the flatbuffer file identifier at bytes 4..8 is "
            f"{data[4:8]!r}, expected {_FILE_IDENTIFIER!r}); pass the original .tflite file"
        )
    try:
        return _read(data, model_name)
    except (ConversionError, UnsupportedOpError):
        raise
    except _PARSE_ERRORS as exc:
        raise ConversionError(
            f"{model_name}: the TFLite flatbuffer is corrupt or truncated "
            f"({type(exc).__name__}: {exc}); download the model file again"
        ) from exc


def _read(data: bytes, model_name: str) -> GraphInfo:
    model = tflite.Model.GetRootAs(data, 0)
    version = model.Version()
    if version != _SCHEMA_VERSION:
        raise UnsupportedOpError(
            f"{model_name}: TFLite schema version {version} is not supported (only version "
            f"{_SCHEMA_VERSION}); re-export the model with a current TFLite converter"
        )
    n_subgraphs = model.SubgraphsLength()
    if n_subgraphs != 1:
        raise UnsupportedOpError(
            f"{model_name}: the model has {n_subgraphs} subgraphs; the converter supports exactly "
            "one (no control flow such as WHILE / IF / CALL_ONCE)"
        )
    graph = model.Subgraphs(0)
    n_buffers = model.BuffersLength()
    tensors = tuple(
        _read_tensor(model, graph.Tensors(i), i, n_buffers, data, model_name)
        for i in range(graph.TensorsLength())
    )
    n_tensors = len(tensors)
    codes = [model.OperatorCodes(i) for i in range(model.OperatorCodesLength())]
    operators = tuple(
        _read_operator(graph.Operators(i), i, codes, n_tensors, model_name)
        for i in range(graph.OperatorsLength())
    )
    inputs = tuple(
        _check_index(graph.Inputs(i), n_tensors, model_name, "graph input")
        for i in range(graph.InputsLength())
    )
    outputs = tuple(
        _check_index(graph.Outputs(i), n_tensors, model_name, "graph output")
        for i in range(graph.OutputsLength())
    )
    if not inputs or not outputs:
        raise ConversionError(
            f"{model_name}: the graph declares {len(inputs)} inputs and {len(outputs)} outputs; "
            "a usable model needs at least one of each"
        )
    return GraphInfo(tensors=tensors, operators=operators, inputs=inputs, outputs=outputs)


def _check_index(index: int, n_tensors: int, model_name: str, what: str) -> int:
    if not 0 <= index < n_tensors:
        raise ConversionError(
            f"{model_name}: {what} refers to tensor {index} but the graph has {n_tensors} tensors; "
            "the file is corrupt, download it again"
        )
    return int(index)


def _read_tensor(
    model: Any, tensor: Any, index: int, n_buffers: int, raw: bytes, model_name: str
) -> TensorInfo:
    name = tensor.Name().decode("utf-8") if tensor.Name() is not None else f"tensor_{index}"
    shape = tuple(int(d) for d in _as_array(tensor.ShapeAsNumpy()))
    type_code = tensor.Type()
    dtype = _TYPE_NAMES.get(type_code, f"type_{type_code}")
    quant = tensor.Quantization()
    quantized = quant is not None and (quant.ScaleLength() > 0 or quant.ZeroPointLength() > 0)
    buffer_index = tensor.Buffer()
    if not 0 <= buffer_index < max(n_buffers, 1):
        raise ConversionError(
            f"{model_name}: tensor {name!r} refers to buffer {buffer_index} but the model has "
            f"{n_buffers} buffers; the file is corrupt, download it again"
        )
    payload = _buffer_bytes(model, buffer_index, n_buffers, raw, name, model_name)
    sparsity = _read_sparsity(tensor.Sparsity(), len(shape)) if tensor.Sparsity() else None
    array: npt.NDArray[Any] | None = None
    if payload is not None:
        np_dtype = _NUMPY_DTYPES.get(dtype)
        if np_dtype is None:
            raise UnsupportedOpError(
                f"{model_name}: constant tensor {name!r} has type {dtype.upper()}, which the "
                "converter cannot read; only float and integer constants are supported"
            )
        if len(payload) % np_dtype.itemsize:
            raise ConversionError(
                f"{model_name}: constant tensor {name!r} holds {len(payload)} bytes, not a "
                f"multiple of its {dtype} element size; the file is corrupt"
            )
        flat = np.frombuffer(payload, dtype=np_dtype)
        if sparsity is None:
            expected = int(np.prod(shape, dtype=np.int64))
            if flat.size != expected:
                raise ConversionError(
                    f"{model_name}: constant tensor {name!r} of shape {list(shape)} needs "
                    f"{expected} values but its buffer holds {flat.size}; the file is corrupt"
                )
            array = flat.reshape(shape)
        else:
            array = flat
    return TensorInfo(
        index=index,
        name=name,
        shape=shape,
        dtype=dtype,
        data=array,
        sparsity=sparsity,
        quantized=bool(quantized),
        variable=bool(tensor.IsVariable()),
    )


def _buffer_bytes(
    model: Any, buffer_index: int, n_buffers: int, raw: bytes, tensor_name: str, model_name: str
) -> bytes | None:
    if n_buffers == 0:
        return None
    buffer = model.Buffers(buffer_index)
    # Offset/Size exist in schema bindings from TF 2.14 on; older bindings cannot express them.
    offset = int(buffer.Offset()) if hasattr(buffer, "Offset") else 0
    size = int(buffer.Size()) if hasattr(buffer, "Size") else 0
    if offset > 1:
        # Models above 2 GB keep tensor data after the flatbuffer; none of ours do.
        raise UnsupportedOpError(
            f"{model_name}: tensor {tensor_name!r} stores its data outside the flatbuffer "
            f"(offset {offset}, size {size}); such large-model files are not supported"
        )
    if buffer.DataLength() == 0:
        return None
    return bytes(buffer.DataAsNumpy())


def _read_index_vector(table: Any, type_code: int) -> tuple[str, npt.NDArray[np.int64] | None]:
    kind = _INDEX_VECTOR_NAMES.get(type_code, f"type_{type_code}")
    if table is None or kind == "NONE":
        return kind, None
    cls = {
        "Int32Vector": tflite.Int32Vector,
        "Uint16Vector": tflite.Uint16Vector,
        "Uint8Vector": tflite.Uint8Vector,
    }.get(kind)
    if cls is None:
        return kind, None
    vec = cls()
    vec.Init(table.Bytes, table.Pos)
    return kind, _as_array(vec.ValuesAsNumpy()).astype(np.int64)


def _read_sparsity(sparsity: Any, rank: int) -> SparsityInfo:
    dims = []
    for i in range(sparsity.DimMetadataLength()):
        meta = sparsity.DimMetadata(i)
        fmt = {DimensionType.DENSE: "DENSE", DimensionType.SPARSE_CSR: "SPARSE_CSR"}.get(
            meta.Format(), f"format_{meta.Format()}"
        )
        seg_type, segments = _read_index_vector(meta.ArraySegments(), meta.ArraySegmentsType())
        idx_type, indices = _read_index_vector(meta.ArrayIndices(), meta.ArrayIndicesType())
        dims.append(
            DimMetadata(
                format=fmt,
                dense_size=int(meta.DenseSize()),
                segments=segments,
                segments_type=seg_type,
                indices=indices,
                indices_type=idx_type,
            )
        )
    return SparsityInfo(
        traversal_order=tuple(int(v) for v in _as_array(sparsity.TraversalOrderAsNumpy())),
        block_map=tuple(int(v) for v in _as_array(sparsity.BlockMapAsNumpy())),
        dims=tuple(dims),
    )


def _read_operator(
    op: Any, index: int, codes: list[Any], n_tensors: int, model_name: str
) -> OperatorInfo:
    opcode_index = op.OpcodeIndex()
    if not 0 <= opcode_index < len(codes):
        raise ConversionError(
            f"{model_name}: operator {index} refers to operator code {opcode_index} but the model "
            f"has {len(codes)}; the file is corrupt, download it again"
        )
    code = codes[opcode_index]
    # Schema rule: the real code is the larger of the deprecated int8 field and the int32 one.
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    op_name = _OP_NAMES.get(builtin, f"BUILTIN_{builtin}")
    custom = code.CustomCode()
    custom_code = custom.decode("utf-8", "replace") if custom is not None else None
    inputs = tuple(int(v) for v in _as_array(op.InputsAsNumpy()))
    outputs = tuple(int(v) for v in _as_array(op.OutputsAsNumpy()))
    for t in (*inputs, *outputs):
        if not -1 <= t < n_tensors:
            raise ConversionError(
                f"{model_name}: operator {index} ({op_name}) refers to tensor {t} but the graph "
                f"has {n_tensors} tensors; the file is corrupt, download it again"
            )
    table_name, options = _read_options(op)
    return OperatorInfo(
        index=index,
        op=op_name,
        custom_code=custom_code,
        version=int(code.Version()),
        inputs=inputs,
        outputs=outputs,
        options_table=table_name,
        options=options,
        has_custom_options=bool(op.CustomOptionsLength()),
        has_options2=bool(getattr(op, "BuiltinOptions2Type", lambda: 0)()),
    )


def _read_options(op: Any) -> tuple[str | None, Mapping[str, OptionValue]]:
    type_code = op.BuiltinOptionsType()
    table_name = _OPTION_TABLES.get(type_code)
    if type_code == 0 or table_name is None:
        return (None if type_code == 0 else f"options_{type_code}"), MappingProxyType({})
    table = op.BuiltinOptions()
    if table is None:
        return table_name, MappingProxyType({})
    cls, scalars, vectors = _option_accessors(table_name)
    obj = cls()
    obj.Init(table.Bytes, table.Pos)
    values: dict[str, OptionValue] = {}
    for name in scalars:
        value = getattr(obj, name)()
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        values[name] = value
    for name in vectors:
        values[name] = tuple(int(v) for v in _as_array(getattr(obj, name + "AsNumpy")()))
    return table_name, MappingProxyType(dict(sorted(values.items())))


@cache
def _option_accessors(table_name: str) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    """Scalar and vector field accessors of a generated options class."""
    module = importlib.import_module(f"tflite.{table_name}")
    cls = getattr(module, table_name)
    scalars: list[str] = []
    vectors: list[str] = []
    for name, member in sorted(vars(cls).items()):
        if not name[:1].isupper() or not callable(member) or name == "Init":
            continue
        if name.startswith("GetRootAs") or name.endswith(("IsNone", "Length", "AsNumpy")):
            continue
        if "BufferHasIdentifier" in name:
            continue
        params = list(inspect.signature(member).parameters)
        if params == ["self"]:
            scalars.append(name)
        elif params == ["self", "j"] and hasattr(cls, name + "AsNumpy"):
            vectors.append(name)
    return cls, tuple(scalars), tuple(vectors)


def _as_array(value: Any) -> npt.NDArray[Any]:
    """The generated ``...AsNumpy`` accessors return ``0`` for an absent vector."""
    if isinstance(value, np.ndarray):
        return value
    return np.zeros(0, dtype=np.int64)
