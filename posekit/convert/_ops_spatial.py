"""Spatial operators: convolutions, pooling, resizing, depth-to-space, padding.

TFLite SAME/VALID arithmetic becomes explicit ONNX pads (:meth:`GraphBuilder.spatial`); a
channel-only PAD becomes a 1x1 Conv with identity rows (it stays in onnxruntime's blocked layout).

Example:
    >>> from posekit.convert._ops_spatial import OPS
    >>> "CONV_2D" in OPS
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from posekit.convert._graph import NHWC_TO_NCHW, GraphBuilder, Translator, nchw
from posekit.convert._reader import OperatorInfo

__all__ = ["OPS"]


def conv(gb: GraphBuilder, op: OperatorInfo) -> None:
    depthwise = op.op == "DEPTHWISE_CONV_2D"
    x = gb.act_in(op, 0)
    if x.rank != 4:
        raise gb.corrupt(op, f"the input has rank {x.rank}, expected 4")
    for key in ("DilationHFactor", "DilationWFactor"):
        gb.require(op, key, (1,), 1)
    activation = gb.activation(op)
    w = gb.weight(op, 1, "filter")
    out_index, out_tensor = gb.out(op)
    c_in = x.shape[3]
    if w.ndim != 4:
        raise gb.corrupt(op, f"the filter has rank {w.ndim}, expected 4")
    if depthwise:
        c_out = w.shape[3]
        if w.shape[0] != 1 or c_out % c_in:
            raise gb.corrupt(op, f"depthwise filter {list(w.shape)} for {c_in} channels")
        # The multiplier is c_out / c_in; like TFLite's kernel, trust the shapes rather
        # than the DepthMultiplier option, which some converters leave unset.
        weight = w.transpose(3, 0, 1, 2)  # [1,KH,KW,C*M] -> [C*M,1,KH,KW]
        group = c_in
    else:
        c_out = w.shape[0]
        if w.shape[3] != c_in:
            raise gb.unsupported(
                op, f"grouped convolution (filter {list(w.shape)} on {c_in} channels)"
            )
        weight = w.transpose(0, 3, 1, 2)  # OHWI -> OIHW
        group = 1
    kernel = (int(w.shape[1]), int(w.shape[2]))
    strides, pads = gb.spatial(op, x.shape, out_tensor.shape, kernel, c_out)
    inputs = [
        x.name,
        gb.float_init(("w", op.inputs[1], op.op), f"{gb.tensor(op.inputs[1]).name}/oihw", weight),
    ]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = gb.weight(op, 2, "bias")
        if bias.shape != (c_out,):
            raise gb.corrupt(op, f"bias shape {list(bias.shape)} for {c_out} channels")
        inputs.append(gb.float_init(("b", op.inputs[2]), gb.tensor(op.inputs[2]).name, bias))
    gb.check_float(op, out_index, "output")
    out = gb.define(out_index)
    gb.emit_activated(
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


def max_pool(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    if x.rank != 4:
        raise gb.corrupt(op, f"the input has rank {x.rank}, expected 4")
    activation = gb.activation(op)
    kernel = (gb.int_opt(op, "FilterHeight", 1), gb.int_opt(op, "FilterWidth", 1))
    out_index, out_tensor = gb.out(op)
    strides, pads = gb.spatial(op, x.shape, out_tensor.shape, kernel, x.shape[3])
    gb.check_float(op, out_index, "output")
    out = gb.define(out_index)
    # ONNX MaxPool ignores padded cells, like TFLite's SAME max pooling.
    gb.emit_activated(
        "MaxPool",
        [x.name],
        out.name,
        activation,
        kernel_shape=list(kernel),
        strides=strides,
        pads=pads,
    )


def pad(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    pads = gb.int_values(op, 1, "paddings")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        raise gb.unsupported(op, "an explicit padding value")
    if pads.shape != (x.rank, 2):
        raise gb.corrupt(op, f"paddings of shape {list(pads.shape)} for rank {x.rank}")
    if np.any(pads < 0):
        raise gb.unsupported(op, f"negative paddings {pads.tolist()}")
    out = gb.float_out(op)
    expected = tuple(int(n + p[0] + p[1]) for n, p in zip(x.shape, pads.tolist(), strict=True))
    if out.shape != expected:
        raise gb.corrupt(op, f"output shape {list(out.shape)} != {list(expected)}")
    if x.rank == 4 and not pads[:3].any():
        # Zero channels appended / prepended (BlazeFace-style residual widening): a 1x1 Conv
        # with identity rows and zero rows is exact and, unlike Pad, stays in onnxruntime's
        # blocked NCHWc layout (a Pad there forces layout reorders down the residual chain).
        c_in, (before, after) = x.shape[3], (int(v) for v in pads[3])
        eye = np.zeros((c_in + before + after, c_in, 1, 1), dtype=np.float16)
        eye[np.arange(c_in) + before, np.arange(c_in), 0, 0] = 1.0
        w = gb.float_init(
            ("channel_pad", c_in, before, after), f"channel_pad_{c_in}_{before}_{after}", eye
        )
        gb.node(
            "Conv",
            [x.name, w],
            [out.name],
            kernel_shape=[1, 1],
            strides=[1, 1],
            pads=[0, 0, 0, 0],
        )
        return
    if x.rank == 4:
        pads = pads[list(NHWC_TO_NCHW)]
    onnx_pads = [int(v) for v in pads[:, 0]] + [int(v) for v in pads[:, 1]]
    gb.node("Pad", [x.name, gb.int64_init(onnx_pads, "pads")], [out.name], mode="constant")


def resize_bilinear(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    if x.rank != 4:
        raise gb.corrupt(op, f"the input has rank {x.rank}, expected 4")
    size = gb.int_values(op, 1, "size").reshape(-1)
    align = bool(gb.opt(op, "AlignCorners", False))
    half = bool(gb.opt(op, "HalfPixelCenters", False))
    if align and half:
        raise gb.unsupported(op, "align_corners together with half_pixel_centers")
    mode = "align_corners" if align else "half_pixel" if half else "asymmetric"
    out = gb.float_out(op)
    if size.shape != (2,) or out.shape != (x.shape[0], int(size[0]), int(size[1]), x.shape[3]):
        raise gb.corrupt(op, f"size {size.tolist()} and output shape {list(out.shape)}")
    sizes = gb.int64_init(nchw(out.shape), "sizes")
    gb.node(
        "Resize",
        [x.name, "", "", sizes],
        [out.name],
        mode="linear",
        coordinate_transformation_mode=mode,
    )


def depth_to_space(gb: GraphBuilder, op: OperatorInfo) -> None:
    x = gb.act_in(op, 0)
    block = gb.int_opt(op, "BlockSize", 0)
    out = gb.float_out(op)
    n, h, w, c = x.shape if x.rank == 4 else (0, 0, 0, 0)
    if (
        block < 1
        or out.shape != (n, h * block, w * block, c // (block * block))
        or c % (block * block)
    ):
        raise gb.corrupt(op, f"block size {block}, input {list(x.shape)}, output {list(out.shape)}")
    # TensorFlow's channel order (row offset, column offset, channel) is ONNX's DCR mode.
    gb.node("DepthToSpace", [x.name], [out.name], blocksize=block, mode="DCR")


OPS: Mapping[str, Translator] = {
    "CONV_2D": conv,
    "DEPTHWISE_CONV_2D": conv,
    "MAX_POOL_2D": max_pool,
    "PAD": pad,
    "RESIZE_BILINEAR": resize_bilinear,
    "DEPTH_TO_SPACE": depth_to_space,
}
"""The TFLite operators this family translates."""
