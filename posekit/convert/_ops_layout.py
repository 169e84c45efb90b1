"""Operators that read TFLite's NHWC element order: RESHAPE, FULLY_CONNECTED, MEAN.

The only Transposes inside a converted graph come from here (:meth:`GraphBuilder.flat`), where
a rank-4 tensor with real spatial extent is flattened.

Example:
    >>> from posekit.convert._ops_layout import OPS
    >>> "RESHAPE" in OPS
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from posekit.convert._graph import AXIS_NHWC_TO_NCHW, Act, GraphBuilder, Translator
from posekit.convert._reader import OperatorInfo

__all__ = ["OPS"]


def reshape(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    out_index, out_tensor = gb.out(op)
    shape = out_tensor.shape
    if int(np.prod(shape)) != int(np.prod(x.shape)):
        raise gb.corrupt(op, f"reshape of {list(x.shape)} into {list(shape)}")
    requested: tuple[int, ...] | None = None
    if len(op.inputs) > 1 and op.inputs[1] >= 0:
        requested = tuple(int(v) for v in gb.int_values(op, 1, "shape").reshape(-1))
    elif op.options.get("NewShape"):
        new_shape = op.options["NewShape"]
        assert isinstance(new_shape, tuple)
        requested = new_shape
    if requested is not None and not _shape_matches(requested, shape):
        raise gb.corrupt(
            op, f"the requested shape {list(requested)} does not match the output {list(shape)}"
        )
    gb.check_float(op, out_index, "output")
    out = gb.define(out_index)
    gb.from_flat(gb.flat(x), shape, out.name)


def fully_connected(gb: GraphBuilder, op: OperatorInfo) -> None:
    activation = gb.activation(op)
    gb.require(op, "WeightsFormat", (0,), 0)
    if gb.opt(op, "AsymmetricQuantizeInputs", False):
        raise gb.unsupported(op, "asymmetric input quantisation")
    x = gb.act_in(op, 0)
    w = gb.weight(op, 1, "weights")
    if w.ndim != 2:
        raise gb.corrupt(op, f"weights of shape {list(w.shape)}")
    units, depth = (int(d) for d in w.shape)
    total = int(np.prod(x.shape))
    if total % depth:
        raise gb.corrupt(op, f"input {list(x.shape)} does not split into rows of {depth}")
    rows = total // depth
    src = gb.flat(x)
    if x.shape != (rows, depth):
        flat = gb.fresh(f"{x.name}/rows")
        gb.node("Reshape", [src, gb.int64_init((rows, depth), "shape")], [flat])
        src = flat
    inputs = [src, gb.float_init(("w", op.inputs[1]), gb.tensor(op.inputs[1]).name, w)]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = gb.weight(op, 2, "bias")
        if bias.shape != (units,):
            raise gb.corrupt(op, f"bias shape {list(bias.shape)} for {units} units")
        inputs.append(gb.float_init(("b", op.inputs[2]), gb.tensor(op.inputs[2]).name, bias))
    out = gb.float_out(op)
    if int(np.prod(out.shape)) != rows * units:
        raise gb.corrupt(op, f"output shape {list(out.shape)} for {rows}x{units} values")
    if out.shape == (rows, units):
        gb.emit_activated("Gemm", inputs, out.name, activation, transB=1)
    else:  # keep_num_dims or an unusual output shape
        tmp = gb.fresh(f"{out.name}/rows")
        gb.emit_activated("Gemm", inputs, tmp, activation, transB=1)
        gb.from_flat(tmp, out.shape, out.name)


def mean(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    axes = sorted({int(a) % x.rank for a in gb.int_values(op, 1, "axes").reshape(-1)})
    if not axes:
        raise gb.unsupported(op, "an empty axes list")
    keep = bool(gb.opt(op, "KeepDims", False))
    out = gb.float_out(op)
    kept_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    expected = kept_shape if keep else tuple(d for i, d in enumerate(x.shape) if i not in axes)
    if out.shape != expected:
        raise gb.corrupt(op, f"output shape {list(out.shape)}, expected {list(expected)}")
    if x.rank != 4:
        gb.node("ReduceMean", [x.name], [out.name], axes=axes, keepdims=int(keep))
        return
    onnx_axes = sorted(AXIS_NHWC_TO_NCHW[a] for a in axes)
    if keep:
        gb.node("ReduceMean", [x.name], [out.name], axes=onnx_axes, keepdims=1)
        return
    kept = Act(gb.fresh(f"{out.name}/keepdims"), kept_shape)
    gb.node("ReduceMean", [x.name], [kept.name], axes=onnx_axes, keepdims=1)
    gb.from_flat(gb.flat(kept), out.shape, out.name)


def _shape_matches(requested: Sequence[int], shape: Sequence[int]) -> bool:
    if len(requested) != len(shape) or sum(1 for d in requested if d == -1) > 1:
        return False
    return all(r in (-1, s) for r, s in zip(requested, shape, strict=True))


OPS: Mapping[str, Translator] = {
    "FULLY_CONNECTED": fully_connected,
    "MEAN": mean,
    "RESHAPE": reshape,
}
"""The TFLite operators this family translates."""
