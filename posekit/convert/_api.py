"""Public entry points of the TFLite -> ONNX converter."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import onnx
from onnx import helper

from posekit._version import __version__
from posekit.convert._builder import ONNX_OPSET, build_onnx_graph
from posekit.convert._reader import read_tflite
from posekit.errors import ConversionError

__all__ = [
    "CONVERTER_VERSION",
    "ONNX_IR_VERSION",
    "ConversionReport",
    "convert_file",
    "convert_tflite",
]

logger = logging.getLogger(__name__)

ONNX_IR_VERSION = 8
"""IR version written into the models (the one that goes with opset 17; old runtimes load it)."""

CONVERTER_VERSION = "1"
"""Version of the translation rules. Bump it whenever the ONNX written for the same TFLite bytes
changes, so caches of converted models (the model manager's sidecars) know to convert again."""

_PRODUCER = "posekit.convert"


@dataclass(frozen=True)
class ConversionReport:
    """What :func:`convert_file` produced.

    Example:
        >>> report = convert_file("pose_detection.tflite", "pose_detection.onnx")  # doctest: +SKIP
        >>> report.model_name, report.tflite_ops["DENSIFY"]  # doctest: +SKIP
        ('pose_detection', 38)
    """

    model_name: str
    converter_version: str
    """:data:`CONVERTER_VERSION` of the converter that wrote the file."""
    source_sha256: str
    """sha256 of the ``.tflite`` bytes that were converted."""
    output_sha256: str
    """sha256 of the serialized ONNX model written to ``destination``."""
    destination: str
    num_nodes: int
    num_initializers: int
    weight_bytes: int
    """Bytes of initializer data in the ONNX file."""
    file_bytes: int
    fp16_weights: bool
    seconds: float
    """Wall time of parsing, translation and serialization (not the disk write)."""
    tflite_ops: Mapping[str, int] = field(hash=False)
    """TFLite operator census of the source: op name -> count."""
    onnx_ops: Mapping[str, int] = field(hash=False)
    """ONNX node census of the result: op type -> count."""


def _load_source(src: str | os.PathLike[str] | bytes, model_name: str | None) -> tuple[bytes, str]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src), model_name or "model"
    path = Path(src)
    name = model_name or path.stem
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise ConversionError(
            f"{name}: cannot read the TFLite file {str(path)!r} ({exc.strerror or exc}); "
            "check the path and permissions"
        ) from exc


def _convert(
    data: bytes, model_name: str, fp16_weights: bool
) -> tuple[onnx.ModelProto, dict[str, int]]:
    graph_info = read_tflite(data, model_name)
    try:
        result = build_onnx_graph(graph_info, model_name, fp16_weights)
    except (IndexError, KeyError, ValueError, TypeError, OverflowError, MemoryError) as exc:
        # The builder validates what it relies on; anything that still slips through comes
        # from a file that parses but does not describe a consistent graph.
        logger.debug("%s: conversion failed", model_name, exc_info=True)
        raise ConversionError(
            f"{model_name}: the TFLite graph is inconsistent ({type(exc).__name__}: {exc}); "
            "the file is probably corrupt, download it again (if it is an unmodified official "
            "model, report this as a posekit bug)"
        ) from exc
    model = helper.make_model(
        result.graph,
        opset_imports=[helper.make_opsetid("", ONNX_OPSET)],
        producer_name=_PRODUCER,
        producer_version=__version__,
        ir_version=ONNX_IR_VERSION,
        doc_string=f"{model_name}: converted from TFLite by posekit.convert",
    )
    helper.set_model_props(
        model,
        {
            "posekit.converter_version": CONVERTER_VERSION,
            "posekit.source_sha256": hashlib.sha256(data).hexdigest(),
            "posekit.fp16_weights": str(bool(fp16_weights)).lower(),
            "posekit.tflite_ops": ",".join(f"{k}={v}" for k, v in result.tflite_ops.items()),
        },
    )
    return model, result.tflite_ops


def convert_tflite(
    src: str | os.PathLike[str] | bytes,
    *,
    model_name: str | None = None,
    fp16_weights: bool = True,
) -> onnx.ModelProto:
    """Convert a float TFLite model (a path or the file's bytes) into an ONNX model.

    The ONNX graph keeps the TFLite input/output names and NHWC shapes; inside it runs NCHW.
    Weights stored as float16 in the TFLite file stay float16 (with an exact Cast to float32)
    when ``fp16_weights`` is true, else they are widened to float32 initializers. The result is
    deterministic: converting the same bytes twice gives byte-identical serializations.

    Args:
        src: path of a ``.tflite`` file, or its bytes.
        model_name: name used as graph name and in every error message; defaults to the file
            stem (``"model"`` for bytes).
        fp16_weights: keep float16 weights float16 in the ONNX file (half the size, same outputs).

    Raises:
        UnsupportedOpError: an operator, option, tensor type or format the converter does not
            implement; the message names the operator and the model.
        ConversionError: the file cannot be read or is not a consistent TFLite model.

    Example:
        >>> from posekit.convert import convert_tflite
        >>> model = convert_tflite("pose_detection.tflite")  # doctest: +SKIP
        >>> [i.name for i in model.graph.input]  # doctest: +SKIP
        ['input_1']
    """
    data, name = _load_source(src, model_name)
    return _convert(data, name, fp16_weights)[0]


def convert_file(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    model_name: str | None = None,
    fp16_weights: bool = True,
) -> ConversionReport:
    """Convert the TFLite file ``src`` and write the ONNX model to ``dst``.

    The write is a plain write; callers wanting atomic replacement pass a temporary path and
    rename it themselves. See :func:`convert_tflite` for arguments and errors.

    Example:
        >>> from posekit.convert import convert_file
        >>> report = convert_file("pose_landmark_full.tflite", "full.onnx")  # doctest: +SKIP
        >>> report.num_nodes > 0  # doctest: +SKIP
        True
    """
    start = time.perf_counter()
    data, name = _load_source(src, model_name)
    model, tflite_ops = _convert(data, name, fp16_weights)
    blob = model.SerializeToString()
    seconds = time.perf_counter() - start
    dst_path = Path(dst)
    try:
        dst_path.write_bytes(blob)
    except OSError as exc:
        raise ConversionError(
            f"{name}: cannot write the ONNX model to {str(dst_path)!r} "
            f"({exc.strerror or exc}); check that the folder exists and is writable"
        ) from exc
    onnx_ops = Counter(node.op_type for node in model.graph.node)
    report = ConversionReport(
        model_name=name,
        converter_version=CONVERTER_VERSION,
        source_sha256=hashlib.sha256(data).hexdigest(),
        output_sha256=hashlib.sha256(blob).hexdigest(),
        destination=str(dst_path),
        num_nodes=len(model.graph.node),
        num_initializers=len(model.graph.initializer),
        weight_bytes=sum(len(t.raw_data) for t in model.graph.initializer),
        file_bytes=len(blob),
        fp16_weights=fp16_weights,
        seconds=seconds,
        tflite_ops=MappingProxyType(tflite_ops),
        onnx_ops=MappingProxyType(dict(sorted(onnx_ops.items()))),
    )
    logger.info(
        "converted %s: %d nodes, %.1f MB, %.2f s",
        name,
        report.num_nodes,
        report.file_bytes / 1e6,
        seconds,
    )
    return report
