"""Translate a decoded TFLite graph (:mod:`posekit.convert._reader`) into an ONNX graph.

Contract: :func:`build_onnx_graph` translates exactly the operators of :data:`SUPPORTED_OPS`
(each family in its own ``_ops_*`` module, the shared bookkeeping in :mod:`posekit.convert._graph`)
and refuses anything else with :class:`~posekit.errors.UnsupportedOpError` naming the operator and
the model. Why refuse: a silently different graph would give silently wrong landmarks.

Example:
    >>> from posekit.convert._builder import SUPPORTED_OPS
    >>> "DEPTHWISE_CONV_2D" in SUPPORTED_OPS, "CUSTOM" in SUPPORTED_OPS
    (True, False)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from posekit.convert._graph import ONNX_OPSET, BuildResult, GraphBuilder, Translator
from posekit.convert._ops_const import OPS as CONST_OPS
from posekit.convert._ops_elementwise import OPS as ELEMENTWISE_OPS
from posekit.convert._ops_layout import OPS as LAYOUT_OPS
from posekit.convert._ops_spatial import OPS as SPATIAL_OPS
from posekit.convert._reader import GraphInfo

__all__ = ["ONNX_OPSET", "OPS", "SUPPORTED_OPS", "BuildResult", "build_onnx_graph"]

logger = logging.getLogger(__name__)

OPS: Mapping[str, Translator] = {
    **SPATIAL_OPS,
    **ELEMENTWISE_OPS,
    **LAYOUT_OPS,
    **CONST_OPS,
}
"""Every TFLite builtin operator the converter translates -> its translator."""

SUPPORTED_OPS: tuple[str, ...] = tuple(sorted(OPS))
"""TFLite builtin operators the converter translates (everything else is refused)."""


def build_onnx_graph(graph: GraphInfo, model_name: str, fp16_weights: bool) -> BuildResult:
    """Translate ``graph``; raises UnsupportedOpError / ConversionError naming ``model_name``.

    Example:
        >>> from posekit.convert._reader import read_tflite
        >>> data = open("pose_detection.tflite", "rb").read()  # doctest: +SKIP
        >>> build_onnx_graph(read_tflite(data, "det"), "det", True).tflite_ops  # doctest: +SKIP
        {'ADD': 40, 'CONCATENATION': 3, 'CONV_2D': 39, ...}
    """
    builder = GraphBuilder(graph, model_name, fp16_weights, OPS)
    result = builder.build()
    logger.debug(
        "%s: %d ONNX nodes, %d initializers",
        model_name,
        len(result.graph.node),
        len(result.graph.initializer),
    )
    return result
