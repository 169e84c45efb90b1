"""Densify TFLite sparse constant tensors (the detector's pruned weights).

Only the storage format the MediaPipe models use is implemented: identity traversal order, no
block map, every dimension DENSE except the last, which is SPARSE_CSR. Anything else is refused
with :class:`~posekit.errors.UnsupportedOpError` rather than guessed at.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from posekit.convert._reader import TensorInfo
from posekit.errors import ConversionError, UnsupportedOpError

__all__ = ["densify"]


def densify(tensor: TensorInfo, op_label: str, model_name: str) -> npt.NDArray[Any]:
    """Expand the sparse constant ``tensor`` into a dense array of its declared shape.

    ``op_label`` (e.g. ``"DENSIFY (operator 3)"``) and ``model_name`` go into error messages.
    """
    sp = tensor.sparsity
    values = tensor.data
    where = f"{model_name}: {op_label} on tensor {tensor.name!r}"
    if sp is None or values is None:
        raise ConversionError(f"{where}: the input is not a sparse constant; the file is corrupt")
    shape = tensor.shape
    rank = len(shape)
    if rank == 0:
        raise UnsupportedOpError(f"{where}: a sparse scalar is not a supported sparsity format")
    if sp.block_map:
        raise UnsupportedOpError(
            f"{where}: block-sparse storage (block_map {list(sp.block_map)}) is not supported; "
            "only CSR on the last dimension without blocks is"
        )
    if sp.traversal_order != tuple(range(rank)):
        raise UnsupportedOpError(
            f"{where}: traversal order {list(sp.traversal_order)} is not supported; only the "
            f"identity order {list(range(rank))} is"
        )
    if len(sp.dims) != rank:
        raise ConversionError(
            f"{where}: {len(sp.dims)} dimension metadata entries for a rank-{rank} tensor; "
            "the file is corrupt"
        )
    formats = [d.format for d in sp.dims]
    if formats != ["DENSE"] * (rank - 1) + ["SPARSE_CSR"]:
        raise UnsupportedOpError(
            f"{where}: sparsity format {formats} is not supported; only DENSE on every dimension "
            "but the last and SPARSE_CSR on the last is"
        )
    for axis, meta in enumerate(sp.dims[:-1]):
        if meta.dense_size != shape[axis]:
            raise ConversionError(
                f"{where}: dense dimension {axis} has size {meta.dense_size} but the tensor shape "
                f"is {list(shape)}; the file is corrupt"
            )
    csr = sp.dims[-1]
    segments, indices = csr.segments, csr.indices
    if segments is None or indices is None:
        raise UnsupportedOpError(
            f"{where}: CSR index vectors of type {csr.segments_type}/{csr.indices_type} are not "
            "supported (expected Int32Vector, Uint16Vector or Uint8Vector)"
        )
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    cols = shape[-1]
    nnz = values.size
    if (
        segments.size != rows + 1
        or segments[0] != 0
        or segments[-1] != nnz
        or np.any(np.diff(segments) < 0)
        or indices.size != nnz
        or (nnz and (indices.min() < 0 or indices.max() >= cols))
    ):
        raise ConversionError(
            f"{where}: inconsistent CSR data ({segments.size} segments for {rows} rows, "
            f"{indices.size} indices and {nnz} values for {cols} columns); the file is corrupt"
        )
    dense = np.zeros((rows, cols), dtype=values.dtype)
    row_of_value = np.repeat(np.arange(rows), np.diff(segments))
    dense[row_of_value, indices] = values
    return dense.reshape(shape)
