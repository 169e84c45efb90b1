"""Translate a decoded TFLite graph (:mod:`posekit.convert._reader`) into an ONNX graph.

Layout: TFLite is NHWC. Inside the ONNX graph every rank-4 activation is NCHW (what onnxruntime's
CPU kernels and fusions want); the graph inputs and outputs keep TFLite's names and NHWC shapes,
with a Transpose only at the boundary, or a Reshape where the move is a no-op in memory (a
``[1, 1, 1, C]`` or ``[1, H, W, 1]`` tensor). Tensors of other ranks keep their TFLite layout. The
only Transposes inside the graph are the ones TFLite semantics force: a RESHAPE / FULLY_CONNECTED /
MEAN that flattens a rank-4 tensor with real spatial extent (the detector heads).

Three TFLite patterns are written in a form onnxruntime keeps in its blocked NCHWc layout (a node
it cannot block forces a layout reorder on either side, which cost up to 3x on the face and palm
models and ~10 % on the pose landmark models):

* a per-channel PRELU becomes two 1x1 depthwise Convs, two Relus and an Add;
* a channel-only PAD becomes a 1x1 Conv with identity rows;
* a rank-4 ADD with a fused RELU/RELU6 becomes Add followed by an identity 1x1 depthwise Conv
  that carries the activation.

All are exact for finite values: each output element is the input itself or one product, plus
exact zeros.

Constants: weights are ``float16`` behind DEQUANTIZE (and DENSIFY for sparse ones) in every source
model. They are folded at conversion time; with ``fp16_weights`` they stay ``float16`` in the file
and a ``Cast`` to ``float32`` feeds the consumer (exact, since every float16 is a float32), which
onnxruntime constant-folds when the session is created.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from posekit.convert._reader import GraphInfo, OperatorInfo, OptionValue, TensorInfo
from posekit.convert._sparse import densify
from posekit.errors import ConversionError, UnsupportedOpError

__all__ = ["ONNX_OPSET", "SUPPORTED_OPS", "BuildResult", "build_onnx_graph"]

logger = logging.getLogger(__name__)

ONNX_OPSET = 17
"""ONNX opset of the generated models (onnxruntime >= 1.14 runs it)."""

_NHWC_TO_NCHW = (0, 3, 1, 2)
_NCHW_TO_NHWC = (0, 2, 3, 1)
_AXIS_NHWC_TO_NCHW = (0, 2, 3, 1)  # NHWC axis a sits at position _AXIS_NHWC_TO_NCHW[a] in NCHW

# tflite ActivationFunctionType
_ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT"}
_SUPPORTED_ACTIVATIONS = frozenset({0, 1, 3})
# tflite Padding
_PADDING_NAMES = {0: "SAME", 1: "VALID"}


@dataclass(frozen=True)
class _Act:
    """A computed (non-constant) value of the ONNX graph."""

    name: str
    shape: tuple[int, ...]
    """The TFLite (NHWC) shape; rank-4 values are stored NCHW under ``name``."""

    @property
    def rank(self) -> int:
        return len(self.shape)


@dataclass(frozen=True)
class _Const:
    """A constant known at conversion time."""

    value: npt.NDArray[Any]
    """float16 for folded DEQUANTIZE outputs, else the tensor's own dtype."""


@dataclass(frozen=True)
class BuildResult:
    """The ONNX graph and the TFLite operator census of one conversion."""

    graph: onnx.GraphProto
    tflite_ops: dict[str, int]


def _nchw(shape: Sequence[int]) -> tuple[int, ...]:
    return tuple(shape[i] for i in _NHWC_TO_NCHW)


def _layout_is_free(shape: Sequence[int]) -> bool:
    """True when NHWC <-> NCHW of a tensor of NHWC ``shape`` does not move any element."""
    labelled = list(zip("NHWC", shape, strict=True))
    nhwc = [label for label, size in labelled if size != 1]
    order = dict(labelled)
    nchw = [label for label in "NCHW" if order[label] != 1]
    return nhwc == nchw


class _GraphBuilder:
    def __init__(self, graph: GraphInfo, model_name: str, fp16_weights: bool) -> None:
        self.g = graph
        self.model = model_name
        self.fp16 = fp16_weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[TensorProto] = []
        self.value_names: set[str] = set()
        self.node_names: set[str] = set()
        self.acts: dict[int, _Act] = {}
        self.consts: dict[int, _Const] = {}
        self.cache: dict[tuple[Any, ...], str] = {}
        self.flat_cache: dict[str, str] = {}
        self.internal_name: dict[int, str] = {}
        self.census: Counter[str] = Counter()
        self.op: OperatorInfo | None = None
        self.handlers: dict[str, Callable[[OperatorInfo], None]] = {
            "ADD": self._add,
            "CONCATENATION": self._concatenation,
            "CONV_2D": self._conv,
            "DENSIFY": self._densify,
            "DEPTHWISE_CONV_2D": self._conv,
            "DEPTH_TO_SPACE": self._depth_to_space,
            "DEQUANTIZE": self._dequantize,
            "FULLY_CONNECTED": self._fully_connected,
            "LOGISTIC": self._unary,
            "MAX_POOL_2D": self._max_pool,
            "MEAN": self._mean,
            "PAD": self._pad,
            "PRELU": self._prelu,
            "RELU": self._unary,
            "RESHAPE": self._reshape,
            "RESIZE_BILINEAR": self._resize_bilinear,
        }

    # ------------------------------------------------------------------ naming / emission
    def _fresh(self, base: str, pool: set[str] | None = None) -> str:
        pool = self.value_names if pool is None else pool
        name, k = base, 1
        while name in pool:
            name = f"{base}__{k}"
            k += 1
        pool.add(name)
        return name

    def _node(
        self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], **attrs: Any
    ) -> None:
        label = f"{self.op.index:04d}_{self.op.op}" if self.op is not None else "io"
        name = self._fresh(f"{label}/{op_type}", self.node_names)
        self.nodes.append(
            helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs)
        )

    def _tensor(self, index: int) -> TensorInfo:
        return self.g.tensors[index]

    def _where(self, op: OperatorInfo) -> str:
        out = op.outputs[0] if op.outputs and op.outputs[0] >= 0 else None
        out_name = f", output {self._tensor(out).name!r}" if out is not None else ""
        return f"{self.model}: {op.op} (operator {op.index}{out_name})"

    def _unsupported(self, op: OperatorInfo, what: str) -> UnsupportedOpError:
        return UnsupportedOpError(
            f"{self._where(op)}: {what}; the converter cannot translate this faithfully, so it "
            "refuses the model (use a model with supported operators or extend posekit.convert)"
        )

    def _corrupt(self, op: OperatorInfo, what: str) -> ConversionError:
        return ConversionError(
            f"{self._where(op)}: {what}; the model file is inconsistent, download it again"
        )

    def _value_name(self, index: int) -> str:
        """Name of the ONNX value holding TFLite tensor ``index`` in internal layout."""
        name = self.internal_name.get(index)
        if name is None:
            name = self._fresh(self._tensor(index).name)
            self.internal_name[index] = name
        return name

    # ------------------------------------------------------------------ constants
    def _float_init(self, key: tuple[Any, ...], base: str, value: npt.NDArray[Any]) -> str:
        """A float32 value for ``value`` (an fp16 initializer plus Cast, or an fp32 one)."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        value = np.ascontiguousarray(value)
        if value.dtype == np.float16 and self.fp16:
            name = self._fresh(base)
            stored = self._fresh(f"{base}/fp16")
            self.inits.append(numpy_helper.from_array(value, stored))
            self._node("Cast", [stored], [name], to=TensorProto.FLOAT)
        elif value.dtype in (np.float16, np.float32, np.float64):
            name = self._fresh(base)
            self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        else:
            raise ConversionError(
                f"{self.model}: constant {base!r} of dtype {value.dtype} is not float"
            )
        self.cache[key] = name
        return name

    def _int64_init(self, values: Sequence[int], hint: str) -> str:
        key = ("i64", tuple(int(v) for v in values))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        name = self._fresh(f"{hint}_" + "_".join(str(int(v)) for v in values))
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        self.cache[key] = name
        return name

    def _f32_scalar(self, value: float) -> str:
        key = ("f32", float(value))
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        name = self._fresh(f"scalar_{value:g}")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=np.float32), name))
        self.cache[key] = name
        return name

    def _const(self, op: OperatorInfo, pos: int, role: str) -> _Const:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self._corrupt(op, f"the {role} input is missing")
        index = op.inputs[pos]
        const = self.consts.get(index)
        if const is None:
            raise self._unsupported(
                op,
                f"its {role} (tensor {self._tensor(index).name!r}) is computed at run time; "
                "only constant values are supported there",
            )
        return const

    def _int_values(self, op: OperatorInfo, pos: int, role: str) -> npt.NDArray[np.int64]:
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self._corrupt(op, f"the {role} input is missing")
        tensor = self._tensor(op.inputs[pos])
        if tensor.dtype not in ("int32", "int64"):
            raise self._unsupported(op, f"its {role} tensor has type {tensor.dtype.upper()}")
        return self._const(op, pos, role).value.astype(np.int64)

    def _weight(self, op: OperatorInfo, pos: int, role: str) -> npt.NDArray[Any]:
        const = self._const(op, pos, role)
        self._check_float(op, op.inputs[pos], role)
        return const.value

    # ------------------------------------------------------------------ activations
    def _check_float(self, op: OperatorInfo, index: int, role: str) -> None:
        tensor = self._tensor(index)
        if tensor.quantized or tensor.dtype != "float32":
            kind = "quantized " if tensor.quantized else ""
            raise self._unsupported(
                op,
                f"its {role} tensor {tensor.name!r} has {kind}type {tensor.dtype.upper()}; "
                "only float32 computation (float16 weights behind DEQUANTIZE) is supported",
            )
        if tensor.sparsity is not None:
            raise self._unsupported(
                op, f"its {role} tensor {tensor.name!r} is sparse without a DENSIFY operator"
            )

    def _act_in(self, op: OperatorInfo, pos: int, role: str = "input") -> _Act:
        """The value of input ``pos`` in internal layout (constants become initializers)."""
        if pos >= len(op.inputs) or op.inputs[pos] < 0:
            raise self._corrupt(op, f"the {role} input is missing")
        index = op.inputs[pos]
        act = self.acts.get(index)
        if act is not None:
            return act
        self._check_float(op, index, role)
        const = self.consts.get(index)
        if const is None:
            raise self._corrupt(
                op, f"it reads tensor {self._tensor(index).name!r} before any operator writes it"
            )
        value = const.value
        if value.ndim == 4:
            value = value.transpose(_NHWC_TO_NCHW)
        name = self._float_init(("act", index), self._tensor(index).name, value)
        act = _Act(name, self._tensor(index).shape)
        self.acts[index] = act
        return act

    def _broadcast_in(self, op: OperatorInfo, pos: int, out_rank: int, role: str) -> str:
        """Input ``pos`` of an elementwise op whose output has rank ``out_rank``."""
        index = op.inputs[pos] if pos < len(op.inputs) else -1
        if index < 0:
            raise self._corrupt(op, f"the {role} input is missing")
        tensor = self._tensor(index)
        if len(tensor.shape) == out_rank:
            return self._act_in(op, pos, role).name
        if index in self.consts and out_rank == 4 and len(tensor.shape) < 4:
            self._check_float(op, index, role)
            value = self.consts[index].value
            value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(_NHWC_TO_NCHW)
            return self._float_init(("bcast4", index), f"{tensor.name}/nchw", value)
        if out_rank != 4:
            return self._act_in(op, pos, role).name
        raise self._unsupported(
            op,
            f"broadcasting its rank-{len(tensor.shape)} {role} {tensor.name!r} against a "
            f"rank-{out_rank} tensor is not supported",
        )

    def _out(self, op: OperatorInfo, pos: int = 0) -> tuple[int, TensorInfo]:
        if pos >= len(op.outputs) or op.outputs[pos] < 0:
            raise self._corrupt(op, "an output is missing")
        index = op.outputs[pos]
        if index in self.acts or index in self.consts:
            raise self._corrupt(op, f"tensor {self._tensor(index).name!r} is written twice")
        if self._tensor(index).variable:
            raise self._unsupported(op, "it writes a variable tensor")
        return index, self._tensor(index)

    def _define(self, index: int) -> _Act:
        """Register TFLite tensor ``index`` as computed; returns its value (name + shape)."""
        shape = self._tensor(index).shape
        if any(d <= 0 for d in shape):
            raise ConversionError(
                f"{self.model}: tensor {self._tensor(index).name!r} has shape {list(shape)}; "
                "only static, non-empty shapes are supported"
            )
        act = _Act(self._value_name(index), shape)
        self.acts[index] = act
        return act

    def _float_out(self, op: OperatorInfo, pos: int = 0) -> _Act:
        index, _ = self._out(op, pos)
        self._check_float(op, index, "output")
        return self._define(index)

    def _flat(self, act: _Act) -> str:
        """A name whose row-major element order is the TFLite (NHWC) order of ``act``."""
        if act.rank != 4 or _layout_is_free(act.shape):
            return act.name
        cached = self.flat_cache.get(act.name)
        if cached is None:
            cached = self._fresh(f"{act.name}/nhwc")
            self._node("Transpose", [act.name], [cached], perm=list(_NCHW_TO_NHWC))
            self.flat_cache[act.name] = cached
        return cached

    def _from_flat(self, src: str, shape: tuple[int, ...], out: str) -> None:
        """Write ``src`` (elements in TFLite order) as a value of TFLite shape ``shape``."""
        if len(shape) == 4 and not _layout_is_free(shape):
            tmp = self._fresh(f"{out}/nhwc")
            self._node("Reshape", [src, self._int64_init(shape, "shape")], [tmp])
            self._node("Transpose", [tmp], [out], perm=list(_NHWC_TO_NCHW))
            return
        target = _nchw(shape) if len(shape) == 4 else shape
        self._node("Reshape", [src, self._int64_init(target, "shape")], [out])

    # ------------------------------------------------------------------ options
    def _opt(self, op: OperatorInfo, key: str, default: OptionValue) -> OptionValue:
        return op.options.get(key, default)

    def _int_opt(self, op: OperatorInfo, key: str, default: int) -> int:
        value = self._opt(op, key, default)
        if not isinstance(value, (int, bool)):
            raise self._corrupt(op, f"option {key} is {value!r}, not an integer")
        return int(value)

    def _require(self, op: OperatorInfo, key: str, allowed: Sequence[int], default: int) -> int:
        value = self._int_opt(op, key, default)
        if value not in allowed:
            raise self._unsupported(
                op, f"option {key}={value} is not supported (only {list(allowed)})"
            )
        return value

    def _activation(self, op: OperatorInfo) -> int:
        code = self._int_opt(op, "FusedActivationFunction", 0)
        if code not in _SUPPORTED_ACTIVATIONS:
            name = _ACTIVATION_NAMES.get(code, str(code))
            raise self._unsupported(
                op, f"fused activation {name} is not supported (only NONE, RELU, RELU6)"
            )
        return code

    def _emit_activated(
        self, op_type: str, inputs: Sequence[str], out: str, activation: int, **attrs: Any
    ) -> None:
        if activation == 0:
            self._node(op_type, inputs, [out], **attrs)
            return
        linear = self._fresh(f"{out}/linear")
        self._node(op_type, inputs, [linear], **attrs)
        if activation == 1:
            self._node("Relu", [linear], [out])
        else:  # RELU6
            self._node("Clip", [linear, self._f32_scalar(0.0), self._f32_scalar(6.0)], [out])

    def _spatial(
        self,
        op: OperatorInfo,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        kernel: tuple[int, int],
        out_channels: int,
    ) -> tuple[list[int], list[int]]:
        """Strides and explicit ONNX pads reproducing TFLite's SAME/VALID arithmetic."""
        padding = self._require(op, "Padding", (0, 1), 0)
        strides = (self._int_opt(op, "StrideH", 1), self._int_opt(op, "StrideW", 1))
        if min(strides) < 1:
            raise self._corrupt(op, f"strides {list(strides)} are not positive")
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
            raise self._corrupt(
                op,
                f"output shape {list(out_shape)} differs from {list(expected)} computed for "
                f"{_PADDING_NAMES[padding]} padding",
            )
        return list(strides), begin + end

    # ------------------------------------------------------------------ operators
    def _conv(self, op: OperatorInfo) -> None:
        depthwise = op.op == "DEPTHWISE_CONV_2D"
        x = self._act_in(op, 0)
        if x.rank != 4:
            raise self._corrupt(op, f"the input has rank {x.rank}, expected 4")
        for key in ("DilationHFactor", "DilationWFactor"):
            self._require(op, key, (1,), 1)
        activation = self._activation(op)
        w = self._weight(op, 1, "filter")
        out_index, out_tensor = self._out(op)
        c_in = x.shape[3]
        if w.ndim != 4:
            raise self._corrupt(op, f"the filter has rank {w.ndim}, expected 4")
        if depthwise:
            c_out = w.shape[3]
            if w.shape[0] != 1 or c_out % c_in:
                raise self._corrupt(op, f"depthwise filter {list(w.shape)} for {c_in} channels")
            # The multiplier is c_out / c_in; like TFLite's kernel, trust the shapes rather
            # than the DepthMultiplier option, which some converters leave unset.
            weight = w.transpose(3, 0, 1, 2)  # [1,KH,KW,C*M] -> [C*M,1,KH,KW]
            group = c_in
        else:
            c_out = w.shape[0]
            if w.shape[3] != c_in:
                raise self._unsupported(
                    op, f"grouped convolution (filter {list(w.shape)} on {c_in} channels)"
                )
            weight = w.transpose(0, 3, 1, 2)  # OHWI -> OIHW
            group = 1
        kernel = (int(w.shape[1]), int(w.shape[2]))
        strides, pads = self._spatial(op, x.shape, out_tensor.shape, kernel, c_out)
        inputs = [
            x.name,
            self._float_init(
                ("w", op.inputs[1], op.op), f"{self._tensor(op.inputs[1]).name}/oihw", weight
            ),
        ]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = self._weight(op, 2, "bias")
            if bias.shape != (c_out,):
                raise self._corrupt(op, f"bias shape {list(bias.shape)} for {c_out} channels")
            inputs.append(
                self._float_init(("b", op.inputs[2]), self._tensor(op.inputs[2]).name, bias)
            )
        self._check_float(op, out_index, "output")
        out = self._define(out_index)
        self._emit_activated(
            "Conv",
            inputs,
            out.name,
            activation,
            kernel_shape=list(kernel),
            strides=strides,
            pads=pads,
            dilations=[1, 1],
            group=group,
        )

    def _max_pool(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        if x.rank != 4:
            raise self._corrupt(op, f"the input has rank {x.rank}, expected 4")
        activation = self._activation(op)
        kernel = (self._int_opt(op, "FilterHeight", 1), self._int_opt(op, "FilterWidth", 1))
        out_index, out_tensor = self._out(op)
        strides, pads = self._spatial(op, x.shape, out_tensor.shape, kernel, x.shape[3])
        self._check_float(op, out_index, "output")
        out = self._define(out_index)
        # ONNX MaxPool ignores padded cells, like TFLite's SAME max pooling.
        self._emit_activated(
            "MaxPool",
            [x.name],
            out.name,
            activation,
            kernel_shape=list(kernel),
            strides=strides,
            pads=pads,
        )

    def _add(self, op: OperatorInfo) -> None:
        activation = self._activation(op)
        out_index, out_tensor = self._out(op)
        rank = len(out_tensor.shape)
        a = self._broadcast_in(op, 0, rank, "first input")
        b = self._broadcast_in(op, 1, rank, "second input")
        self._check_float(op, out_index, "output")
        out = self._define(out_index)
        if activation != 0 and rank == 4:
            # ADD + RELU/RELU6 on a residual: onnxruntime can fuse neither the activation into
            # the Add (its output feeds two nodes) nor a standalone Clip into the NCHWc layout,
            # and reorders the tensor around it. An identity 1x1 depthwise Conv carrying the
            # activation (exact: one multiplication by 1) keeps the whole block blocked.
            c = out.shape[3]
            total = self._fresh(f"{out.name}/sum")
            self._node("Add", [a, b], [total])
            ones = self._float_init(("ones", c), f"ones_{c}", np.ones((c, 1, 1, 1), np.float16))
            self._emit_activated(
                "Conv",
                [total, ones],
                out.name,
                activation,
                kernel_shape=[1, 1],
                strides=[1, 1],
                pads=[0, 0, 0, 0],
                group=c,
            )
            return
        self._emit_activated("Add", [a, b], out.name, activation)

    def _prelu(self, op: OperatorInfo) -> None:
        """PRELU. With a constant per-channel alpha on a rank-4 input it is emitted as
        ``Relu(x) + DWConv1x1(-alpha, Relu(DWConv1x1(-1, x)))``: exactly ``x`` for ``x >= 0`` and
        ``alpha * x`` (one rounding, like PRelu) otherwise, but made of ops onnxruntime keeps in
        its blocked NCHWc layout; a PRelu node forces a layout reorder before and after itself,
        which made the face and palm models 3x slower."""
        x = self._act_in(op, 0)
        alpha_index = op.inputs[1] if len(op.inputs) > 1 else -1
        alpha_c = self._per_channel(x, alpha_index)
        if alpha_c is None:
            alpha = self._broadcast_in(op, 1, x.rank, "alpha")
            out = self._float_out(op)
            self._node("PRelu", [x.name, alpha], [out.name])
            return
        self._check_float(op, alpha_index, "alpha")
        out = self._float_out(op)
        c = x.shape[3]
        minus_one = np.full((c, 1, 1, 1), -1.0, dtype=np.float16)
        w_neg = self._float_init(("minus_one", c), f"minus_one_{c}", minus_one)
        w_alpha = self._float_init(
            ("neg_alpha", alpha_index),
            f"{self._tensor(alpha_index).name}/neg_dw",
            (-alpha_c).reshape(c, 1, 1, 1),
        )
        attrs: dict[str, Any] = {
            "kernel_shape": [1, 1],
            "strides": [1, 1],
            "pads": [0, 0, 0, 0],
            "group": c,
        }
        neg = self._fresh(f"{out.name}/neg")
        self._emit_activated("Conv", [x.name, w_neg], neg, 1, **attrs)  # Relu(-x)
        pos = self._fresh(f"{out.name}/pos")
        self._node("Relu", [x.name], [pos])
        scaled = self._fresh(f"{out.name}/negative_part")
        self._node("Conv", [neg, w_alpha], [scaled], **attrs)  # -alpha * Relu(-x)
        self._node("Add", [scaled, pos], [out.name])

    def _per_channel(self, x: _Act, index: int) -> npt.NDArray[Any] | None:
        """The constant ``index`` as a length-C vector if it broadcasts per channel over ``x``."""
        if x.rank != 4 or index < 0 or index not in self.consts:
            return None
        value = self.consts[index].value
        c = x.shape[3]
        if value.ndim > 4 or value.dtype not in (np.float16, np.float32):
            return None
        if value.size == 1:
            return np.full(c, value.reshape(()), dtype=value.dtype)
        if value.shape[-1] != c or value.size != c:
            return None
        return value.reshape(c)

    def _unary(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        out = self._float_out(op)
        if out.shape != x.shape:
            raise self._corrupt(op, f"output shape {list(out.shape)} != input {list(x.shape)}")
        self._node({"LOGISTIC": "Sigmoid", "RELU": "Relu"}[op.op], [x.name], [out.name])

    def _concatenation(self, op: OperatorInfo) -> None:
        # TFLite's own kernel rejects a fused activation on CONCATENATION; so do we.
        activation = self._int_opt(op, "FusedActivationFunction", 0)
        if activation != 0:
            name = _ACTIVATION_NAMES.get(activation, str(activation))
            raise self._unsupported(op, f"fused activation {name} (TFLite allows only NONE here)")
        out_index, out_tensor = self._out(op)
        rank = len(out_tensor.shape)
        axis = self._int_opt(op, "Axis", 0)
        if not -rank <= axis < rank:
            raise self._corrupt(op, f"axis {axis} for rank {rank}")
        axis %= rank
        inputs = []
        for pos in range(len(op.inputs)):
            act = self._act_in(op, pos)
            if act.rank != rank:
                raise self._corrupt(op, f"input {pos} has rank {act.rank}, output rank {rank}")
            inputs.append(act.name)
        if rank == 4:
            axis = _AXIS_NHWC_TO_NCHW[axis]
        self._check_float(op, out_index, "output")
        out = self._define(out_index)
        self._node("Concat", inputs, [out.name], axis=axis)

    def _pad(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        pads = self._int_values(op, 1, "paddings")
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            raise self._unsupported(op, "an explicit padding value")
        if pads.shape != (x.rank, 2):
            raise self._corrupt(op, f"paddings of shape {list(pads.shape)} for rank {x.rank}")
        if np.any(pads < 0):
            raise self._unsupported(op, f"negative paddings {pads.tolist()}")
        out = self._float_out(op)
        expected = tuple(int(n + p[0] + p[1]) for n, p in zip(x.shape, pads.tolist(), strict=True))
        if out.shape != expected:
            raise self._corrupt(op, f"output shape {list(out.shape)} != {list(expected)}")
        if x.rank == 4 and not pads[:3].any():
            # Zero channels appended / prepended (BlazeFace-style residual widening): a 1x1 Conv
            # with identity rows and zero rows is exact and, unlike Pad, stays in onnxruntime's
            # blocked NCHWc layout (a Pad there forces layout reorders down the residual chain).
            c_in, (before, after) = x.shape[3], (int(v) for v in pads[3])
            eye = np.zeros((c_in + before + after, c_in, 1, 1), dtype=np.float16)
            eye[np.arange(c_in) + before, np.arange(c_in), 0, 0] = 1.0
            w = self._float_init(
                ("channel_pad", c_in, before, after), f"channel_pad_{c_in}_{before}_{after}", eye
            )
            self._node(
                "Conv",
                [x.name, w],
                [out.name],
                kernel_shape=[1, 1],
                strides=[1, 1],
                pads=[0, 0, 0, 0],
            )
            return
        if x.rank == 4:
            pads = pads[list(_NHWC_TO_NCHW)]
        onnx_pads = [int(v) for v in pads[:, 0]] + [int(v) for v in pads[:, 1]]
        self._node(
            "Pad", [x.name, self._int64_init(onnx_pads, "pads")], [out.name], mode="constant"
        )

    def _reshape(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        out_index, out_tensor = self._out(op)
        shape = out_tensor.shape
        if int(np.prod(shape)) != int(np.prod(x.shape)):
            raise self._corrupt(op, f"reshape of {list(x.shape)} into {list(shape)}")
        requested: tuple[int, ...] | None = None
        if len(op.inputs) > 1 and op.inputs[1] >= 0:
            requested = tuple(int(v) for v in self._int_values(op, 1, "shape").reshape(-1))
        elif op.options.get("NewShape"):
            new_shape = op.options["NewShape"]
            assert isinstance(new_shape, tuple)
            requested = new_shape
        if requested is not None and not _shape_matches(requested, shape):
            raise self._corrupt(
                op, f"the requested shape {list(requested)} does not match the output {list(shape)}"
            )
        self._check_float(op, out_index, "output")
        out = self._define(out_index)
        self._from_flat(self._flat(x), shape, out.name)

    def _resize_bilinear(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        if x.rank != 4:
            raise self._corrupt(op, f"the input has rank {x.rank}, expected 4")
        size = self._int_values(op, 1, "size").reshape(-1)
        align = bool(self._opt(op, "AlignCorners", False))
        half = bool(self._opt(op, "HalfPixelCenters", False))
        if align and half:
            raise self._unsupported(op, "align_corners together with half_pixel_centers")
        mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
        out = self._float_out(op)
        if size.shape != (2,) or out.shape != (x.shape[0], int(size[0]), int(size[1]), x.shape[3]):
            raise self._corrupt(op, f"size {size.tolist()} and output shape {list(out.shape)}")
        sizes = self._int64_init(_nchw(out.shape), "sizes")
        self._node(
            "Resize",
            [x.name, "", "", sizes],
            [out.name],
            mode="linear",
            coordinate_transformation_mode=mode,
        )

    def _depth_to_space(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        block = self._int_opt(op, "BlockSize", 0)
        out = self._float_out(op)
        n, h, w, c = x.shape if x.rank == 4 else (0, 0, 0, 0)
        if (
            block < 1
            or out.shape != (n, h * block, w * block, c // (block * block))
            or c % (block * block)
        ):
            raise self._corrupt(
                op, f"block size {block}, input {list(x.shape)}, output {list(out.shape)}"
            )
        # TensorFlow's channel order (row offset, column offset, channel) is ONNX's DCR mode.
        self._node("DepthToSpace", [x.name], [out.name], blocksize=block, mode="DCR")

    def _fully_connected(self, op: OperatorInfo) -> None:
        activation = self._activation(op)
        self._require(op, "WeightsFormat", (0,), 0)
        if self._opt(op, "AsymmetricQuantizeInputs", False):
            raise self._unsupported(op, "asymmetric input quantisation")
        x = self._act_in(op, 0)
        w = self._weight(op, 1, "weights")
        if w.ndim != 2:
            raise self._corrupt(op, f"weights of shape {list(w.shape)}")
        units, depth = (int(d) for d in w.shape)
        total = int(np.prod(x.shape))
        if total % depth:
            raise self._corrupt(op, f"input {list(x.shape)} does not split into rows of {depth}")
        rows = total // depth
        src = self._flat(x)
        if x.shape != (rows, depth):
            flat = self._fresh(f"{x.name}/rows")
            self._node("Reshape", [src, self._int64_init((rows, depth), "shape")], [flat])
            src = flat
        inputs = [src, self._float_init(("w", op.inputs[1]), self._tensor(op.inputs[1]).name, w)]
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = self._weight(op, 2, "bias")
            if bias.shape != (units,):
                raise self._corrupt(op, f"bias shape {list(bias.shape)} for {units} units")
            inputs.append(
                self._float_init(("b", op.inputs[2]), self._tensor(op.inputs[2]).name, bias)
            )
        out = self._float_out(op)
        if int(np.prod(out.shape)) != rows * units:
            raise self._corrupt(op, f"output shape {list(out.shape)} for {rows}x{units} values")
        if out.shape == (rows, units):
            self._emit_activated("Gemm", inputs, out.name, activation, transB=1)
        else:  # keep_num_dims or an unusual output shape
            tmp = self._fresh(f"{out.name}/rows")
            self._emit_activated("Gemm", inputs, tmp, activation, transB=1)
            self._from_flat(tmp, out.shape, out.name)

    def _mean(self, op: OperatorInfo) -> None:
        x = self._act_in(op, 0)
        axes = sorted({int(a) % x.rank for a in self._int_values(op, 1, "axes").reshape(-1)})
        if not axes:
            raise self._unsupported(op, "an empty axes list")
        keep = bool(self._opt(op, "KeepDims", False))
        out = self._float_out(op)
        kept_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
        expected = kept_shape if keep else tuple(d for i, d in enumerate(x.shape) if i not in axes)
        if out.shape != expected:
            raise self._corrupt(op, f"output shape {list(out.shape)}, expected {list(expected)}")
        if x.rank != 4:
            self._node("ReduceMean", [x.name], [out.name], axes=axes, keepdims=int(keep))
            return
        onnx_axes = sorted(_AXIS_NHWC_TO_NCHW[a] for a in axes)
        if keep:
            self._node("ReduceMean", [x.name], [out.name], axes=onnx_axes, keepdims=1)
            return
        kept = _Act(self._fresh(f"{out.name}/keepdims"), kept_shape)
        self._node("ReduceMean", [x.name], [kept.name], axes=onnx_axes, keepdims=1)
        self._from_flat(self._flat(kept), out.shape, out.name)

    def _dequantize(self, op: OperatorInfo) -> None:
        index = op.inputs[0] if op.inputs else -1
        if index < 0:
            raise self._corrupt(op, "the input is missing")
        tensor = self._tensor(index)
        if tensor.quantized or tensor.dtype != "float16":
            kind = "quantized " if tensor.quantized else ""
            raise self._unsupported(
                op,
                f"dequantizing {kind}{tensor.dtype.upper()} tensor {tensor.name!r}; only "
                "float16 weights are supported (integer-quantized models are not)",
            )
        if tensor.sparsity is not None:
            raise self._unsupported(op, f"tensor {tensor.name!r} is sparse without DENSIFY")
        const = self.consts.get(index)
        if const is None:
            raise self._unsupported(op, "dequantizing a tensor computed at run time")
        out_index, out_tensor = self._out(op)
        self._check_float(op, out_index, "output")
        if out_tensor.shape != tuple(const.value.shape):
            raise self._corrupt(
                op, f"output shape {list(out_tensor.shape)} != input {list(const.value.shape)}"
            )
        # float16 -> float32 is exact: keep the float16 array, widen when it is stored.
        self.consts[out_index] = _Const(const.value.astype(np.float16, copy=False))

    def _densify(self, op: OperatorInfo) -> None:
        index = op.inputs[0] if op.inputs else -1
        if index < 0:
            raise self._corrupt(op, "the input is missing")
        tensor = self._tensor(index)
        if tensor.quantized or tensor.dtype not in ("float16", "float32"):
            raise self._unsupported(op, f"densifying a {tensor.dtype.upper()} tensor")
        label = f"DENSIFY (operator {op.index})"
        dense = densify(tensor, label, self.model)
        out_index, out_tensor = self._out(op)
        if out_tensor.dtype != tensor.dtype or out_tensor.shape != dense.shape:
            raise self._corrupt(op, f"output {out_tensor.dtype} {list(out_tensor.shape)}")
        self.consts[out_index] = _Const(dense)

    # ------------------------------------------------------------------ driver
    def build(self) -> BuildResult:
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
        boundary = [self._tensor(i).name for i in (*g.inputs, *g.outputs)]
        if len(set(boundary)) != len(boundary):
            raise ConversionError(
                f"{self.model}: graph inputs/outputs have duplicate names {boundary}"
            )
        self.value_names.update(boundary)
        for index in g.outputs:
            tensor = self._tensor(index)
            if len(tensor.shape) == 4:
                self.internal_name[index] = self._fresh(f"{tensor.name}/nchw")
            else:
                self.internal_name[index] = tensor.name

        for index, tensor in enumerate(g.tensors):
            if tensor.data is not None and tensor.sparsity is None:
                self.consts[index] = _Const(tensor.data)

        graph_inputs = []
        for index in g.inputs:
            tensor = self._tensor(index)
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
                self.internal_name[index] = self._fresh(f"{tensor.name}/nchw")
                act = self._define(index)
                if _layout_is_free(tensor.shape):
                    shape = self._int64_init(_nchw(tensor.shape), "shape")
                    self._node("Reshape", [tensor.name, shape], [act.name])
                else:
                    self._node("Transpose", [tensor.name], [act.name], perm=list(_NHWC_TO_NCHW))
            else:
                self.internal_name[index] = tensor.name
                self._define(index)

        for op in g.operators:
            self.op = op
            self._convert_op(op)
        self.op = None

        graph_outputs = []
        for index in g.outputs:
            tensor = self._tensor(index)
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
                if _layout_is_free(act.shape):
                    shape = self._int64_init(act.shape, "shape")
                    self._node("Reshape", [act.name, shape], [tensor.name])
                else:
                    self._node("Transpose", [act.name], [tensor.name], perm=list(_NCHW_TO_NHWC))
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
        handler = self.handlers.get(op.op)
        if handler is None:
            raise UnsupportedOpError(
                f"{self._where(op)}: operator {op.op} is not supported; supported operators: "
                f"{', '.join(SUPPORTED_OPS)}"
            )
        if op.has_options2 or op.has_custom_options:
            raise self._unsupported(op, "extra (custom / BuiltinOptions2) options")
        if len(op.outputs) != 1:
            raise self._corrupt(op, f"it has {len(op.outputs)} outputs, expected 1")
        self.census[op.op] += 1
        handler(op)


def _shape_matches(requested: Sequence[int], shape: Sequence[int]) -> bool:
    if len(requested) != len(shape) or sum(1 for d in requested if d == -1) > 1:
        return False
    return all(r in (-1, s) for r, s in zip(requested, shape, strict=True))


SUPPORTED_OPS: tuple[str, ...] = (
    "ADD",
    "CONCATENATION",
    "CONV_2D",
    "DENSIFY",
    "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE",
    "DEQUANTIZE",
    "FULLY_CONNECTED",
    "LOGISTIC",
    "MAX_POOL_2D",
    "MEAN",
    "PAD",
    "PRELU",
    "RELU",
    "RESHAPE",
    "RESIZE_BILINEAR",
)
"""TFLite builtin operators the converter translates (everything else is refused)."""


def build_onnx_graph(graph: GraphInfo, model_name: str, fp16_weights: bool) -> BuildResult:
    """Translate ``graph``; raises UnsupportedOpError / ConversionError naming ``model_name``."""
    builder = _GraphBuilder(graph, model_name, fp16_weights)
    result = builder.build()
    logger.debug(
        "%s: %d ONNX nodes, %d initializers",
        model_name,
        len(result.graph.node),
        len(result.graph.initializer),
    )
    return result
