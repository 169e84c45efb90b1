"""The core of the TFLite -> ONNX translation: graph state, layout, constants, the driver.

Contract: :class:`GraphBuilder` holds one translation (the ONNX nodes and initializers so far,
which TFLite tensor lives under which ONNX name, in which layout) and the checks every operator
needs; each operator family lives in its own ``_ops_*`` module as plain functions
(:data:`Translator`), and :mod:`posekit.convert._builder` assembles them. Why the split: the
per-operator rules grow with each model family, the bookkeeping does not. Layout rules and the
rewrites that keep onnxruntime's blocked layout are in ``docs/design/models.md``.

Example:
    >>> from posekit.convert._graph import layout_is_free
    >>> layout_is_free((1, 1, 1, 64)), layout_is_free((1, 8, 8, 64))
    (True, False)
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from posekit.convert._reader import GraphInfo, OperatorInfo, OptionValue, TensorInfo
from posekit.errors import ConversionError, UnsupportedOpError

__all__ = [
    "ACTIVATION_NAMES",
    "AXIS_NHWC_TO_NCHW",
    "NCHW_TO_NHWC",
    "NHWC_TO_NCHW",
    "ONNX_OPSET",
    "Act",
    "BuildResult",
    "Const",
    "GraphBuilder",
    "Translator",
    "layout_is_free",
    "nchw",
]

logger = logging.getLogger(__name__)

ONNX_OPSET = 17
"""ONNX opset of the generated models (onnxruntime >= 1.14 runs it)."""

NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)
AXIS_NHWC_TO_NCHW = (0, 2, 3, 1)  # NHWC axis a sits at position AXIS_NHWC_TO_NCHW[a] in NCHW

# tflite ActivationFunctionType
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
SUPPORTED_ACTIVATIONS = frozenset({0, 1, 3})
# tflite Padding
PADDING_NAMES = {0: "SAME", 1: "VALID"}


@dataclass(frozen=True)
class Act:
    """A computed (non-constant) value of the ONNX graph."""

    name: str
    shape: tuple[int, ...]
    """The TFLite (NHWC) shape; rank-4 values are stored NCHW under ``name``."""

    @property
    def rank(self) -> int:
        """Number of dimensions."""
        return len(self.shape)


@dataclass(frozen=True)
class Const:
    """A constant known at conversion time."""

    value: npt.NDArray[Any]
    """float16 for folded DEQUANTIZE outputs, else the tensor's own dtype."""


@dataclass(frozen=True)
class BuildResult:
    """The ONNX graph and the TFLite operator census of one conversion."""

    graph: onnx.GraphProto
    tflite_ops: dict[str, int]


def nchw(shape: Sequence[int]) -> tuple[int, ...]:
    """The NCHW order of an NHWC shape."""
    return tuple(shape[i] for i in NHWC_TO_NCHW)


def layout_is_free(shape: Sequence[int]) -> bool:
    """True when NHWC <-> NCHW of a tensor of NHWC ``shape`` does not move any element."""
    labelled = list(zip("NHWC", shape, strict=True))
    nhwc = [label for label, size in labelled if size != 1]
    order = dict(labelled)
    nchw = [label for label in "NCHW" if order[label] != 1]
    return nhwc == nchw


Translator = Callable[["GraphBuilder", OperatorInfo], None]
"""Emits the ONNX nodes of one TFLite operator (one per op family module)."""


class GraphBuilder:
    """The state of one translation and the helpers every operator translator uses.

    Translators (``_ops_*`` modules) read inputs in internal layout (:meth:`act_in`, constants
    through :meth:`weight`), emit nodes (:meth:`node`) and register outputs (:meth:`float_out`);
    :meth:`build` walks the operators in file order and returns the graph.
    """

    def __init__(
        self,
        graph: GraphInfo,
        model_name: str,
        fp16_weights: bool,
        ops: Mapping[str, Translator],
    ) -> None:
        self.g = graph
        self.model = model_name
        self.fp16 = fp16_weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.value_names: set[str] = set()
        self.node_names: set[str] = set()
        self.acts: dict[int, Act] = {}
        self.consts: dict[int, Const] = {}
        self.cache: dict[tuple[Any, ...], str] = {}
        self.flat_cache: dict[str, str] = {}
        self.internal_name: dict[int, str] = {}
        self.census: Counter[str] = Counter()
        self.op: OperatorInfo | None = None
        self.ops = ops

    # ------------------------------------------------------------------ naming / emission
    def fresh(self, base: str, pool: set[str] | None = None) -> str:
        pool = self.value_names if pool is None else pool
        name, k = base, 1
        while name in pool:
            name = f"{base}__{k}"
            k += 1
        pool.add(name)
        return name

    def node(
        self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], **attrs: Any
    ) -> None:
        label = f"{self.op.index:04d}_{self.op.op}" if self.op is not None else "io"
        name = self.fresh(f"{label}/{op_type}", self.node_names)
        self.nodes.append(
            helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs)
        )

    def tensor(self, index: int) -> TensorInfo:
        return self.g.tensors[index]

    def where(self, op: OperatorInfo) -> str:
        out = op.outputs[0] if op.outputs and op.outputs[0] >= 0 else None
        out_name = f", output {self.tensor(out).name!r}" if out is not None else ""
        return f"{self.model}: {op.op} (operator {op.index}{out_name})"

    def unsupported(self, op: OperatorInfo, what: str) -> UnsupportedOpError:
        return UnsupportedOpError(
            f"{self.where(op)}: {what}; the converter cannot translate this faithfully, so it "
            "refuses the model (use a model with supported operators or extend posekit.convert)"
        )

    def corrupt(self, op: OperatorInfo, what: str) -> ConversionError:
        return ConversionError(
            f"{self.where(op)}: {what}; the model file is inconsistent, download it again"
        )

    def value_name(self, index: int) -> str:
        """Name of the ONNX value holding TFLite tensor ``index`` in internal layout."""
        name = self.internal_name.get(index)
        if name is None:
            name = self.fresh(self.tensor(index).name)
            self.internal_name[index] = name
        return name

    # ------------------------------------------------------------------ constants
    def float_init(self, key: tuple[Any, ...], base: str, value: npt.NDArray[Any]) -> str:
        """A float32 value for ``value`` (an fp16 initializer plus Cast, or an fp32 one)."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        value = np.ascontiguousarray(value)
        if value.dtype == np.float16 and self.fp16:
            name = self.fresh(base)
            stored = self.fresh(f"{base}/fp16")
            self.inits.append(numpy_helper.from_array(value, stored))
            self.node("Cast", [stored], [name], to=TensorProto.FLOAT)
        elif value.dtype in (np.float16, np.float32, np.float64):
            name = self.fresh(base)
            self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        else:
            raise ConversionError(
                f"{self.model}: constant {base!r} of dtype {value.dtype} is not float"
            )
        self.cache[key] = name
        return name

    def int64_init(self, values: Sequence[int], hint: str) -> str:
        key = ("i64", tuple(int(v) for v in values))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        name = self.fresh(f"{hint}_" + "_".join(str(int(v)) for v in values))
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        self.cache[key] = name
        return name

    def f32_scalar(self, value: float) -> str:
        key = ("f32", float(value))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        name = self.fresh(f"scalar_{value:g}")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        self.cache[key] = name
        return name

    def const(self, op: OperatorInfo, pos: int, role: str) -> Const:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self.corrupt(op, f"the {role} input is missing")
        index = op.inputs[pos]
        const = self.consts.get(index)
        if const is None:
            raise self.unsupported(
                op,
                f"its {role} (tensor {self.tensor(index).name!r}) is computed at run time; "
                "only constant values are supported there",
            )
        return const

    def int_values(self, op: OperatorInfo, pos: int, role: str) -> npt.NDArray[np.int64]:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self.corrupt(op, f"the {role} input is missing")
        tensor = self.tensor(op.inputs[pos])
        if tensor.dtype not in ("int32", "int64"):
            raise self.unsupported(op, f"its {role} tensor has type {tensor.dtype.upper()}")
        return self.const(op, pos, role).value.astype(np.int64)

    def weight(self, op: OperatorInfo, pos: int, role: str) -> npt.NDArray[Any]:
        const = self.const(op, pos, role)
        self.check_float(op, op.inputs[pos], role)
        return const.value

    # ------------------------------------------------------------------ activations
    def check_float(self, op: OperatorInfo, index: int, role: str) -> None:
        tensor = self.tensor(index)
        if tensor.quantized or tensor.dtype != "float32":
            kind = "quantized " if tensor.quantized else ""
            raise self.unsupported(
                op,
                f"its {role} tensor {tensor.name!r} has {kind}type {tensor.dtype.upper()}; "
                "only float32 computation (float16 weights behind DEQUANTIZE) is supported",
            )
        if tensor.sparsity is not None:
            raise self.unsupported(
                op, f"its {role} tensor {tensor.name!r} is sparse without a DENSIFY operator"
            )

    def act_in(self, op: OperatorInfo, pos: int, role: str = "input") -> Act:
        """The value of input ``pos`` in internal layout (constants become initializers)."""
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self.corrupt(op, f"the {role} input is missing")
        index = op.inputs[pos]
        act = self.acts.get(index)
        if act is not None:
            return act
        self.check_float(op, index, role)
        const = self.consts.get(index)
        if const is None:
            raise self.corrupt(
                op, f"it reads tensor {self.tensor(index).name!r} before any operator writes it"
            )
        value = const.value
        if value.ndim == 4:
            value = value.transpose(NHWC_TO_NCHW)
        name = self.float_init(("act", index), self.tensor(index).name, value)
        act = Act(name, self.tensor(index).shape)
        self.acts[index] = act
        return act

    def broadcast_in(self, op: OperatorInfo, pos: int, out_rank: int, role: str) -> str:
        """Input ``pos`` of an elementwise op whose output has rank ``out_rank``."""
        index = op.inputs[pos] if pos < len(op.inputs) else -1
        if index < 0:
            raise self.corrupt(op, f"the {role} input is missing")
        tensor = self.tensor(index)
        if len(tensor.shape) == out_rank:
            return self.act_in(op, pos, role).name
        if index in self.consts and out_rank == 4 and len(tensor.shape) < 4:
            self.check_float(op, index, role)
            value = self.consts[index].value
            value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(NHWC_TO_NCHW)
            return self.float_init(("bcast4", index), f"{tensor.name}/nchw", value)
        if out_rank != 4:
            return self.act_in(op, pos, role).name
        raise self.unsupported(
            op,
            f"broadcasting its rank-{len(tensor.shape)} {role} {tensor.name!r} against a "
            f"rank-{out_rank} tensor is not supported",
        )

    def out(self, op: OperatorInfo, pos: int = 0) -> tuple[int, TensorInfo]:
        if pos >= len(op.outputs) or op.outputs[pos] < 0:
            raise self.corrupt(op, "an output is missing")
        index = op.outputs[pos]
        if index in self.acts or index in self.consts:
            raise self.corrupt(op, f"tensor {self.tensor(index).name!r} is written twice")
        if self.tensor(index).variable:
            raise self.unsupported(op, "it writes a variable tensor")
        return index, self.tensor(index)

    def define(self, index: int) -> Act:
        """Register TFLite tensor ``index`` as computed; returns its value (name + shape)."""
        shape = self.tensor(index).shape
        if any(d <= 0 for d in shape):
            raise ConversionError(
                f"{self.model}: tensor {self.tensor(index).name!r} has shape {list(shape)}; "
                "only static, non-empty shapes are supported"
            )
        act = Act(self.value_name(index), shape)
        self.acts[index] = act
        return act

    def float_out(self, op: OperatorInfo, pos: int = 0) -> Act:
        index, _ = self.out(op, pos)
        self.check_float(op, index, "output")
        return self.define(index)

    def flat(self, act: Act) -> str:
        """A name whose row-major element order is the TFLite (NHWC) order of ``act``."""
        if act.rank != 4 or layout_is_free(act.shape):
            return act.name
        cached = self.flat_cache.get(act.name)
        if cached is None:
            cached = self.fresh(f"{act.name}/nhwc")
            self.node("Transpose", [act.name], [cached], perm=list(NCHW_TO_NHWC))
            self.flat_cache[act.name] = cached
        return cached

    def from_flat(self, src: str, shape: tuple[int, ...], out: str) -> None:
        """Write ``src`` (elements in TFLite order) as a value of TFLite shape ``shape``."""
        if len(shape) == 4 and not layout_is_free(shape):
            tmp = self.fresh(f"{out}/nhwc")
            self.node("Reshape", [src, self.int64_init(shape, "shape")], [tmp])
            self.node("Transpose", [tmp], [out], perm=list(NHWC_TO_NCHW))
            return
        target = nchw(shape) if len(shape) == 4 else shape
        self.node("Reshape", [src, self.int64_init(target, "shape")], [out])

    # ------------------------------------------------------------------ options
    def opt(self, op: OperatorInfo, key: str, default: OptionValue) -> OptionValue:
        return op.options.get(key, default)

    def int_opt(self, op: OperatorInfo, key: str, default: int) -> int:
        value = self.opt(op, key, default)
        if not isinstance(value, (int, bool)):
            raise self.corrupt(op, f"option {key} is {value!r}, not an integer")
        return int(value)

    def require(self, op: OperatorInfo, key: str, allowed: Sequence[int], default: int) -> int:
        value = self.int_opt(op, key, default)
        if value not in allowed:
            raise self.unsupported(
                op, f"option {key}={value} is not supported (only {list(allowed)})"
            )
        return value

    def activation(self, op: OperatorInfo) -> int:
        code = self.int_opt(op, "FusedActivationFunction", 0)
        if code not in SUPPORTED_ACTIVATIONS:
            name = ACTIVATION_NAMES.get(code, str(code))
            raise self.unsupported(
                op, f"fused activation {name} is not supported (only NONE, RELU, RELU6)"
            )
        return code

    def emit_activated(
        self, op_type: str, inputs: Sequence[str], out: str, activation: int, **attrs: Any
    ) -> None:
        if activation == 0:
            self.node(op_type, inputs, [out], **attrs)
            return
        linear = self.fresh(f"{out}/linear")
        self.node(op_type, inputs, [linear], **attrs)
        if activation == 1:
            self.node("Relu", [linear], [out])
        else:  # RELU6
            self.node("Clip", [linear, self.f32_scalar(0.0), self.f32_scalar(6.0)], [out])

    def spatial(
        self,
        op: OperatorInfo,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        kernel: tuple[int, int],
        out_channels: int,
    ) -> tuple[list[int], list[int]]:
        """Strides and explicit ONNX pads reproducing TFLite's SAME/VALID arithmetic."""
        padding = self.require(op, "Padding", (0, 1), 0)
        strides = (self.int_opt(op, "StrideH", 1), self.int_opt(op, "StrideW", 1))
        if min(strides) < 1:
            raise self.corrupt(op, f"strides {list(strides)} are not positive")
        begin, end, size = [], [], []
        for axis in range(2):
            n, k, s = in_shape[1 + axis], kernel[axis], strides[axis]
            if padding == 0:  # SAME: TensorFlow puts the odd pixel at the end
                o = -(-n // s)
                total = max((o - 1) * s + k - n, 0)
                begin.append(total // 2)
                end.append(total - total // 2)
            else:  # VALID
                o = (n - k) // s + 1
                begin.append(0)
                end.append(0)
            size.append(o)
        expected = (in_shape[0], size[0], size[1], out_channels)
        if tuple(out_shape) != expected:
            raise self.corrupt(
                op,
                f"output shape {list(out_shape)} differs from {list(expected)} computed for "
                f"{PADDING_NAMES[padding]} padding",
            )
        return list(strides), begin + end

    # ------------------------------------------------------------------ driver
    def build(self) -> BuildResult:
        """Translate the whole graph: boundary layout, every operator, graph outputs."""
        g = self.g
        if len(set(g.inputs)) != len(g.inputs) or len(set(g.outputs)) != len(g.outputs):
            raise ConversionError(
                f"{self.model}: a tensor is listed twice as graph input or output"
            )
        if set(g.inputs) & set(g.outputs):
            raise UnsupportedOpError(
                f"{self.model}: a graph output is also a graph input; such pass-through models "
                "are not supported"
            )
        boundary = [self.tensor(i).name for i in (*g.inputs, *g.outputs)]
        if len(set(boundary)) != len(boundary):
            raise ConversionError(
                f"{self.model}: graph inputs/outputs have duplicate names {boundary}"
            )
        self.value_names.update(boundary)
        for index in g.outputs:
            tensor = self.tensor(index)
            if len(tensor.shape) == 4:
                self.internal_name[index] = self.fresh(f"{tensor.name}/nchw")
            else:
                self.internal_name[index] = tensor.name

        for index, tensor in enumerate(g.tensors):
            if tensor.data is not None and tensor.sparsity is None:
                self.consts[index] = Const(tensor.data)

        graph_inputs = []
        for index in g.inputs:
            tensor = self.tensor(index)
            if tensor.dtype != "float32" or tensor.quantized:
                raise UnsupportedOpError(
                    f"{self.model}: graph input {tensor.name!r} has type {tensor.dtype.upper()}"
                    f"{' (quantized)' if tensor.quantized else ''}; only float32 inputs are "
                    "supported"
                )
            if index in self.consts:
                raise ConversionError(f"{self.model}: graph input {tensor.name!r} is a constant")
            graph_inputs.append(
                helper.make_tensor_value_info(tensor.name, TensorProto.FLOAT, list(tensor.shape))
            )
            if len(tensor.shape) == 4:
                self.internal_name[index] = self.fresh(f"{tensor.name}/nchw")
                act = self.define(index)
                if layout_is_free(tensor.shape):
                    shape = self.int64_init(nchw(tensor.shape), "shape")
                    self.node("Reshape", [tensor.name, shape], [act.name])
                else:
                    self.node("Transpose", [tensor.name], [act.name], perm=list(NHWC_TO_NCHW))
            else:
                self.internal_name[index] = tensor.name
                self.define(index)

        for op in g.operators:
            self.op = op
            self._convert_op(op)
        self.op = None

        graph_outputs = []
        for index in g.outputs:
            tensor = self.tensor(index)
            if index not in self.acts:
                if index not in self.consts:
                    raise ConversionError(
                        f"{self.model}: graph output {tensor.name!r} is never computed; "
                        "the file is corrupt"
                    )
                raise UnsupportedOpError(
                    f"{self.model}: graph output {tensor.name!r} is a constant; not supported"
                )
            if tensor.dtype != "float32" or tensor.quantized:
                raise UnsupportedOpError(
                    f"{self.model}: graph output {tensor.name!r} has type {tensor.dtype.upper()}"
                )
            act = self.acts[index]
            if act.rank == 4:
                if layout_is_free(act.shape):
                    shape = self.int64_init(act.shape, "shape")
                    self.node("Reshape", [act.name, shape], [tensor.name])
                else:
                    self.node("Transpose", [act.name], [tensor.name], perm=list(NCHW_TO_NHWC))
            graph_outputs.append(
                helper.make_tensor_value_info(tensor.name, TensorProto.FLOAT, list(tensor.shape))
            )

        graph = helper.make_graph(
            self.nodes, self.model, graph_inputs, graph_outputs, initializer=self.inits
        )
        return BuildResult(graph=graph, tflite_ops=dict(sorted(self.census.items())))

    def _convert_op(self, op: OperatorInfo) -> None:
        if op.op == "CUSTOM":
            raise UnsupportedOpError(
                f"{self.model}: custom operator {op.custom_code!r} (operator {op.index}) is not "
                "supported; the converter handles builtin operators only"
            )
        handler = self.ops.get(op.op)
        if handler is None:
            raise UnsupportedOpError(
                f"{self.where(op)}: operator {op.op} is not supported; supported operators: "
                f"{', '.join(sorted(self.ops))}"
            )
        if op.has_options2 or op.has_custom_options:
            raise self.unsupported(op, "extra (custom / BuiltinOptions2) options")
        if len(op.outputs) != 1:
            raise self.corrupt(op, f"it has {len(op.outputs)} outputs, expected 1")
        self.census[op.op] += 1
        handler(self, op)
