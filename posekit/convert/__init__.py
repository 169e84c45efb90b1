"""TFLite -> ONNX conversion of the BlazePose family of models, without TensorFlow.

The converter reads the TFLite flatbuffer with the ``tflite`` schema bindings and writes ONNX with
``onnx.helper``. It implements exactly the operators the MediaPipe pose, hand, palm and face models
use (:data:`SUPPORTED_OPS`) and refuses anything else with
:class:`~posekit.errors.UnsupportedOpError` instead of producing a silently different graph.

Example:
    >>> from posekit.convert import SUPPORTED_OPS
    >>> "DEPTHWISE_CONV_2D" in SUPPORTED_OPS
    True
    >>> from posekit.convert import convert_file
    >>> report = convert_file("pose_detection.tflite", "pose_detection.onnx")  # doctest: +SKIP
"""

from __future__ import annotations

from posekit.convert._api import (
    CONVERTER_VERSION,
    ONNX_IR_VERSION,
    ConversionReport,
    convert_file,
    convert_tflite,
)
from posekit.convert._builder import ONNX_OPSET, SUPPORTED_OPS
from posekit.convert._derive import derive_model

__all__ = [
    "CONVERTER_VERSION",
    "ONNX_IR_VERSION",
    "ONNX_OPSET",
    "SUPPORTED_OPS",
    "ConversionReport",
    "convert_file",
    "convert_tflite",
    "derive_model",
]
