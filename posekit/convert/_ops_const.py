"""Operators folded at conversion time: DEQUANTIZE (float16 weights), DENSIFY (sparse).

Their outputs are constants: they emit no node, and the consumer reads an initializer.

Example:
    >>> from posekit.convert._ops_const import OPS
    >>> "DEQUANTIZE" in OPS
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from posekit.convert._graph import Const, GraphBuilder, Translator
from posekit.convert._reader import OperatorInfo
from posekit.convert._sparse import densify as densify_tensor

__all__ = ["OPS"]


def dequantize(gb: GraphBuilder, op: OperatorInfo) -> None:
    index = op.inputs[0] if op.inputs else -1
    if index < 0:
        raise gb.corrupt(op, "the input is missing")
    tensor = gb.tensor(index)
    if tensor.quantized or tensor.dtype != "float16":
        kind = "quantized " if tensor.quantized else ""
        raise gb.unsupported(
            op,
            f"dequantizing {kind}{tensor.dtype.upper()} tensor {tensor.name!r}; only "
            "float16 weights are supported (integer-quantized models are not)",
        )
    if tensor.sparsity is not None:
        raise gb.unsupported(op, f"tensor {tensor.name!r} is sparse without DENSIFY")
    const = gb.consts.get(index)
    if const is None:
        raise gb.unsupported(op, "dequantizing a tensor computed at run time")
    out_index, out_tensor = gb.out(op)
    gb.check_float(op, out_index, "output")
    if out_tensor.shape != tuple(const.value.shape):
        raise gb.corrupt(
            op, f"output shape {list(out_tensor.shape)} != input {list(const.value.shape)}"
        )
    # float16 -> float32 is exact: keep the float16 array, widen when it is stored.
    gb.consts[out_index] = Const(const.value.astype(np.float16, copy=False))


def densify(gb: GraphBuilder, op: OperatorInfo) -> None:
    index = op.inputs[0] if op.inputs else -1
    if index < 0:
        raise gb.corrupt(op, "the input is missing")
    tensor = gb.tensor(index)
    if tensor.quantized or tensor.dtype not in ("float16", "float32"):
        raise gb.unsupported(op, f"densifying a {tensor.dtype.upper()} tensor")
    label = f"DENSIFY (operator {op.index})"
    dense = densify_tensor(tensor, label, gb.model)
    out_index, out_tensor = gb.out(op)
    if out_tensor.dtype != tensor.dtype or out_tensor.shape != dense.shape:
        raise gb.corrupt(op, f"output {out_tensor.dtype} {list(out_tensor.shape)}")
    gb.consts[out_index] = Const(dense)


OPS: Mapping[str, Translator] = {
    "DENSIFY": densify,
    "DEQUANTIZE": dequantize,
}
"""The TFLite operators this family translates."""
