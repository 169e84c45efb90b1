"""Runtime variants of a converted model: only the outputs a caller needs, weights in float32.

Contract: :func:`derive_model` drops every node that feeds none of the kept outputs and folds the
float16 weights and their ``Cast`` nodes into float32 initializers; the kept outputs match the full
model's to within 1e-5 (``tests/test_runtime.py``). Why: onnxruntime runs every node whatever
outputs are asked for, and the landmark models' segmentation decoder is 21-65 % of their run time
(figures in ``docs/design/models.md``).

Example:
    >>> from posekit.convert import derive_model
    >>> small = derive_model(open("pose_landmark_full.onnx", "rb").read(),
    ...                      ["Identity", "Identity_1"])  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import numpy_helper

from posekit.errors import ConversionError, InputError

__all__ = ["derive_model"]


def derive_model(model: bytes, outputs: Sequence[str] | None = None) -> bytes:
    """A copy of the ONNX ``model`` computing only ``outputs``, with float16 weights folded.

    Args:
        model: a serialized ONNX model (as written by :func:`posekit.convert.convert_tflite`).
        outputs: graph outputs to keep, in any order (the model's order is kept); ``None``
            keeps them all and only folds the weights.

    Returns:
        the serialized variant; deterministic for the same input bytes and output set.

    Raises:
        InputError: an output name is not an output of the model, or ``outputs`` is empty.
        ConversionError: ``model`` is not a parseable ONNX model.
    """
    try:
        proto = onnx.load_from_string(model)
    except Exception as exc:  # protobuf raises its own DecodeError type
        raise ConversionError(
            f"cannot parse the ONNX model to derive a runtime variant ({type(exc).__name__}); "
            "reinstall the model with `posekit models install --force NAME`"
        ) from exc
    graph = proto.graph
    names = [o.name for o in graph.output]
    keep = list(names) if outputs is None else list(dict.fromkeys(outputs))
    if not keep:
        raise InputError("outputs is empty: name at least one model output to keep")
    unknown = [n for n in keep if n not in names]
    if unknown:
        raise InputError(f"unknown output(s) {unknown}: the model has {names}")

    # Reverse sweep: a node stays when one of its outputs is needed.
    needed: set[str] = set(keep)
    kept_nodes: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(out in needed for out in node.output):
            kept_nodes.append(node)
            needed.update(i for i in node.input if i)
    kept_nodes.reverse()

    # Fold Cast(float16 initializer -> float32) into a float32 initializer.
    inits = {init.name: init for init in graph.initializer}
    folded: dict[str, onnx.TensorProto] = {}
    nodes: list[onnx.NodeProto] = []
    for node in kept_nodes:
        src = inits.get(node.input[0]) if node.op_type == "Cast" and node.input else None
        to = next((a.i for a in node.attribute if a.name == "to"), None)
        if (
            src is not None
            and src.data_type == onnx.TensorProto.FLOAT16
            and to == onnx.TensorProto.FLOAT
        ):
            arr = numpy_helper.to_array(src).astype(np.float32)
            folded[node.output[0]] = numpy_helper.from_array(arr, node.output[0])
            continue
        nodes.append(node)
    used = {i for node in nodes for i in node.input if i} | set(keep)
    new_inits = [init for init in graph.initializer if init.name in used]
    new_inits.extend(folded[name] for name in sorted(folded) if name in used)

    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    kept_outputs = [o for o in graph.output if o.name in keep]
    del graph.output[:]
    graph.output.extend(kept_outputs)
    live = {i for node in nodes for i in node.input} | {o for node in nodes for o in node.output}
    value_info = [v for v in graph.value_info if v.name in live]
    del graph.value_info[:]
    graph.value_info.extend(value_info)
    return bytes(proto.SerializeToString(deterministic=True))
