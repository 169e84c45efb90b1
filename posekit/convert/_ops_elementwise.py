"""Elementwise operators: ADD, PRELU, LOGISTIC, RELU, and CONCATENATION.

A fused ADD+RELU and a per-channel PRELU are written as ops onnxruntime keeps in its blocked
NCHWc layout (exact for finite values).

Example:
    >>> from posekit.convert._ops_elementwise import OPS
    >>> "ADD" in OPS
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from posekit.convert._graph import (
    ACTIVATION_NAMES,
    AXIS_NHWC_TO_NCHW,
    Act,
    GraphBuilder,
    Translator,
)
from posekit.convert._reader import OperatorInfo

__all__ = ["OPS"]


def add(gb: GraphBuilder, op: OperatorInfo) -> None:
    activation = gb.activation(op)
    out_index, out_tensor = gb.out(op)
    rank = len(out_tensor.shape)
    a = gb.broadcast_in(op, 0, rank, "first input")
    b = gb.broadcast_in(op, 1, rank, "second input")
    gb.check_float(op, out_index, "output")
    out = gb.define(out_index)
    if activation != 0 and rank == 4:
        # ADD + RELU/RELU6 on a residual: onnxruntime can fuse neither the activation into
        # the Add (its output feeds two nodes) nor a standalone Clip into the NCHWc layout,
        # and reorders the tensor around it. An identity 1x1 depthwise Conv carrying the
        # activation (exact: one multiplication by 1) keeps the whole block blocked.
        c = out.shape[3]
        total = gb.fresh(f"{out.name}/sum")
        gb.node("Add", [a, b], [total])
        ones = gb.float_init(("ones", c), f"ones_{c}", np.ones((c, 1, 1, 1), np.float16))
        gb.emit_activated(
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
    gb.emit_activated("Add", [a, b], out.name, activation)


def prelu(gb: GraphBuilder, op: OperatorInfo) -> None:
    """PRELU. With a constant per-channel alpha on a rank-4 input it is emitted as
    ``Relu(x) + DWConv1x1(-alpha, Relu(DWConv1x1(-1, x)))``: exactly ``x`` for ``x >= 0`` and
    ``alpha * x`` (one rounding, like PRelu) otherwise, but made of ops onnxruntime keeps in
    its blocked NCHWc layout; a PRelu node forces a layout reorder before and after itself,
    which made the face and palm models 3x slower."""
    x = gb.act_in(op, 0)
    alpha_index = op.inputs[1] if len(op.inputs) > 1 else -1
    alpha_c = _per_channel(gb, x, alpha_index)
    if alpha_c is None:
        alpha = gb.broadcast_in(op, 1, x.rank, "alpha")
        out = gb.float_out(op)
        gb.node("PRelu", [x.name, alpha], [out.name])
        return
    gb.check_float(op, alpha_index, "alpha")
    out = gb.float_out(op)
    c = x.shape[3]
    minus_one = np.full((c, 1, 1, 1), -1.0, dtype=np.float16)
    w_neg = gb.float_init(("minus_one", c), f"minus_one_{c}", minus_one)
    w_alpha = gb.float_init(
        ("neg_alpha", alpha_index),
        f"{gb.tensor(alpha_index).name}/neg_dw",
        (-alpha_c).reshape(c, 1, 1, 1),
    )
    attrs: dict[str, Any] = {
        "kernel_shape": [1, 1],
        "strides": [1, 1],
        "pads": [0, 0, 0, 0],
        "group": c,
    }
    neg = gb.fresh(f"{out.name}/neg")
    gb.emit_activated("Conv", [x.name, w_neg], neg, 1, **attrs)  # Relu(-x)
    pos = gb.fresh(f"{out.name}/pos")
    gb.node("Relu", [x.name], [pos])
    scaled = gb.fresh(f"{out.name}/negative_part")
    gb.node("Conv", [neg, w_alpha], [scaled], **attrs)  # -alpha * Relu(-x)
    gb.node("Add", [scaled, pos], [out.name])


def _per_channel(gb: GraphBuilder, x: Act, index: int) -> npt.NDArray[Any] | None:
    """The constant ``index`` as a length-C vector if it broadcasts per channel over ``x``."""
    if x.rank != 4 or index < 0 or index not in gb.consts:
        return None
    value = gb.consts[index].value
    c = x.shape[3]
    if value.ndim > 4 or value.dtype not in (np.float16, np.float32):
        return None
    if value.size == 1:
        return np.full(c, value.reshape(()), dtype=value.dtype)
    if value.shape[-1] != c or value.size != c:
        return None
    return value.reshape(c)


def unary(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    out = gb.float_out(op)
    if out.shape != x.shape:
        raise gb.corrupt(op, f"output shape {list(out.shape)} != input {list(x.shape)}")
    gb.node({"LOGISTIC": "Sigmoid", "RELU": "Relu"}[op.op], [x.name], [out.name])


def concatenation(gb: GraphBuilder, op: OperatorInfo) -> None:
    # TFLite's own kernel rejects a fused activation on CONCATENATION; so do we.
    activation = gb.int_opt(op, "FusedActivationFunction", 0)
    if activation != 0:
        name = ACTIVATION_NAMES.get(activation, str(activation))
        raise gb.unsupported(op, f"fused activation {name} (TFLite allows only NONE here)")
    out_index, out_tensor = gb.out(op)
    rank = len(out_tensor.shape)
    axis = gb.int_opt(op, "Axis", 0)
    if not -rank <= axis < rank:
        raise gb.corrupt(op, f"axis {axis} for rank {rank}")
    axis %= rank
    inputs = []
    for pos in range(len(op.inputs)):
        act = gb.act_in(op, pos)
        if act.rank != rank:
            raise gb.corrupt(op, f"input {pos} has rank {act.rank}, output rank {rank}")
        inputs.append(act.name)
    if rank == 4:
        axis = AXIS_NHWC_TO_NCHW[axis]
    gb.check_float(op, out_index, "output")
    out = gb.define(out_index)
    gb.node("Concat", inputs, [out.name], axis=axis)


OPS: Mapping[str, Translator] = {
    "ADD": add,
    "CONCATENATION": concatenation,
    "LOGISTIC": unary,
    "PRELU": prelu,
    "RELU": unary,
}
"""The TFLite operators this family translates."""
