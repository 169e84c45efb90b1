"""The classifier file format: ``.json`` or ``.npz`` (never pickle), with a format version.

Functions here read and write the constructor arguments of
:class:`~posekit.analyzers.classifier.PoseClassifier` (``landmarks``, ``labels``, ``names``,
``sha256`` and the k-NN parameters) and validate every field of a file, so that a file that is
not a valid model raises :class:`~posekit.errors.InputError` naming the problem.

Example:
    >>> try:
    ...     load("no/such/model.npz")
    ... except InputError as exc:
    ...     print(exc)
    classifier file no/such/model.npz does not exist: train and save one first
"""

from __future__ import annotations

import json
import math
import numbers
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np

from posekit.analyzers.classifier.embedding import DEFAULT_AXIS_WEIGHTS
from posekit.errors import InputError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_FILE_BYTES",
    "file_sha256",
    "from_document",
    "is_digest",
    "load",
    "save",
    "to_document",
]

FORMAT_NAME: Final = "posekit.pose_classifier"
"""The ``format`` field of a saved classifier."""

FORMAT_VERSION: Final = 1
"""The format version written by :meth:`PoseClassifier.save` (and the only one read)."""


def to_document(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready document of a classifier's constructor arguments ``fields``."""
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "params": {
            "top_n_by_max_distance": fields["top_n_by_max_distance"],
            "top_n_by_mean_distance": fields["top_n_by_mean_distance"],
            "axis_weights": list(fields["axis_weights"]),
        },
        "samples": [
            {"name": n, "label": lab, "landmarks": lm.tolist(), "sha256": h}
            for n, lab, lm, h in zip(
                fields["names"], fields["labels"], fields["landmarks"], fields["sha256"],
                strict=True,
            )
        ],
    }  # fmt: skip


def from_document(doc: Mapping[str, Any], source: str = "document") -> dict[str, Any]:
    """The constructor arguments in a :func:`to_document` layout, validated.

    Raises:
    InputError: not a classifier document, or a damaged field (the message says which).
    """
    if not isinstance(doc, Mapping):
        raise InputError(f"{source} is not a posekit pose classifier (not a JSON object)")
    _check_header(doc.get("format"), doc.get("format_version"), source)
    params = doc.get("params")
    samples = doc.get("samples")
    if not isinstance(params, Mapping) or not isinstance(samples, list) or not samples:
        raise InputError(
            f"{source}: a classifier needs a 'params' object and a non-empty 'samples' "
            "list; re-save it with PoseClassifier.save()"
        )
    for i, s in enumerate(samples):
        if not isinstance(s, Mapping) or not isinstance(s.get("label"), str):
            raise InputError(
                f"{source}: sample {i} needs a string 'label' and 'landmarks' "
                "(33 x [x, y, z]); re-save the classifier with PoseClassifier.save()"
            )
        if not isinstance(s.get("name", ""), str):
            raise InputError(f"{source}: sample {i}: 'name' must be a string")
    try:
        lm = np.array([s["landmarks"] for s in samples], dtype=np.float32)
        labels = [str(s["label"]) for s in samples]
        names = [str(s.get("name", f"sample_{i}")) for i, s in enumerate(samples)]
        digests = [str(s.get("sha256") or "") for s in samples]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(
            f"{source}: every sample needs 'label' and 'landmarks' (33 x [x, y, z] numbers): {exc}"
        ) from exc
    return {
        "landmarks": lm,
        "labels": labels,
        "names": names,
        "sha256": digests,
        **_params_from(params, source),
    }


def save(path: str | Path, fields: Mapping[str, Any]) -> Path:
    """Write a classifier's constructor arguments ``fields`` to ``path``: ``.json`` (text) or
    ``.npz`` (numpy, no pickle).

    Raises:
    InputError: another file name extension.
    """
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix == ".json":
        out.write_text(json.dumps(to_document(fields)), encoding="utf-8")
    elif suffix == ".npz":
        with out.open("wb") as fh:
            np.savez_compressed(
                fh,
                format=np.array(FORMAT_NAME),
                format_version=np.array(FORMAT_VERSION, np.int64),
                landmarks=fields["landmarks"],
                labels=np.array(fields["labels"], dtype=np.str_),
                names=np.array(fields["names"], dtype=np.str_),
                sha256=np.array(fields["sha256"], dtype="<U64"),
                top_n=np.array(
                    [fields["top_n_by_max_distance"], fields["top_n_by_mean_distance"]], np.int64
                ),
                axis_weights=np.array(fields["axis_weights"], np.float64),
            )
    else:
        raise InputError(f"cannot save a classifier as {out.name!r}: use a .json or .npz file name")
    return out


def load(path: str | Path) -> dict[str, Any]:
    """The constructor arguments saved in ``path`` by :func:`save` (never unpickles).

    Raises:
    InputError: missing file, unknown extension, not a posekit classifier, another format
        version, or damaged contents (the message says which).
    """
    src = Path(path)
    if not src.is_file():
        raise InputError(f"classifier file {src} does not exist: train and save one first")
    suffix = src.suffix.lower()
    if suffix == ".json":
        size = src.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(
                f"{src} is {size:,} bytes, more than a classifier file may be "
                f"({MAX_FILE_BYTES:,} bytes): it is not a saved posekit classifier, or save "
                "a large one as .npz"
            )
        try:
            text = src.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{src} is not UTF-8 text ({exc}): it is not a saved posekit classifier"
            ) from exc
        from posekit.schema import parse_json

        doc = parse_json(text, str(src), what="a saved posekit classifier")
        return from_document(doc, str(src))
    if suffix == ".npz":
        return _load_npz(src)
    raise InputError(f"cannot load a classifier from {src.name!r}: expected .json or .npz")


def _load_npz(src: Path) -> dict[str, Any]:
    _check_npz(src)
    try:
        with np.load(src, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(
            f"{src} is not a readable .npz without pickled objects ({exc}): it is not a "
            "saved posekit classifier"
        ) from exc
    fmt = arrays.get("format")
    ver = arrays.get("format_version")
    _check_header(
        None if fmt is None or fmt.dtype.kind != "U" else str(fmt),
        None if ver is None or ver.dtype.kind not in "iu" or ver.ndim else int(ver),
        str(src),
    )
    missing = [k for k in ("landmarks", "labels", "top_n", "axis_weights") if k not in arrays]
    if missing:
        raise InputError(f"{src} lacks the arrays {missing}: re-save it with save()")
    top_n = arrays["top_n"]
    if top_n.shape != (2,) or top_n.dtype.kind not in "iu":
        raise InputError(f"{src}: 'top_n' must hold two ints, got {top_n!r}")
    labels = arrays["labels"]
    names = arrays.get("names")
    if labels.dtype.kind != "U" or (names is not None and names.dtype.kind != "U"):
        raise InputError(f"{src}: 'labels' and 'names' must be string arrays")
    if labels.ndim != 1 or (names is not None and names.ndim != 1):
        raise InputError(f"{src}: 'labels' and 'names' must be 1-D (one per sample)")
    for key in ("landmarks", "axis_weights"):
        if arrays[key].dtype.kind not in "fiu":
            raise InputError(
                f"{src}: {key!r} must be a numeric array, got dtype {arrays[key].dtype}; "
                "re-save the classifier with save()"
            )
    if arrays["axis_weights"].shape != (3,):
        raise InputError(
            f"{src}: 'axis_weights' must hold 3 numbers, got shape {arrays['axis_weights'].shape}"
        )
    digests = arrays.get("sha256")  # absent in files of older posekit versions
    if digests is not None and (digests.dtype.kind != "U" or digests.ndim != 1):
        raise InputError(f"{src}: 'sha256' must be a string array")
    return {
        "landmarks": arrays["landmarks"],
        "labels": labels.tolist(),
        "names": None if names is None else names.tolist(),
        "sha256": None if digests is None else digests.tolist(),
        "top_n_by_max_distance": int(top_n[0]),
        "top_n_by_mean_distance": int(top_n[1]),
        "axis_weights": arrays["axis_weights"].tolist(),
    }


MAX_FILE_BYTES: Final = 512 * 2**20
"""Largest classifier file :func:`load` reads: the declared (uncompressed) size of
all arrays of a ``.npz``, or a ``.json`` file's size (512 MiB: over a million training samples as
``.npz``). Checked from the zip and ``.npy`` headers before anything is decompressed, so a
file whose arrays would decompress to gigabytes is refused with an error instead of filling the
memory."""

_MAX_NPZ_MEMBERS: Final = 64


def _check_npz(src: Path) -> None:
    """Refuse a ``.npz`` whose declared contents exceed :data:`MAX_FILE_BYTES` (zip member sizes
    and ``.npy`` header shapes), before numpy decompresses or allocates anything."""

    def refuse(why: str) -> InputError:
        return InputError(
            f"{src}: {why}; a posekit classifier holds at most {MAX_FILE_BYTES:,} bytes of "
            "arrays: it is not a saved posekit classifier (or a damaged one)"
        )

    try:
        with zipfile.ZipFile(src) as zf:
            infos = zf.infolist()
            if len(infos) > _MAX_NPZ_MEMBERS:
                raise refuse(f"{len(infos)} members")
            total = sum(i.file_size for i in infos)
            if total > MAX_FILE_BYTES:
                raise refuse(f"its members would decompress to {total:,} bytes")
            for info in infos:
                with zf.open(info) as fh:
                    version = np.lib.format.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
                declared = math.prod(shape) * dtype.itemsize
                if declared > MAX_FILE_BYTES or declared > info.file_size:
                    raise refuse(
                        f"array {info.filename!r} declares shape {shape} of {dtype} "
                        f"({declared:,} bytes) in a member of {info.file_size:,} bytes"
                    )
    except InputError:
        raise
    except (
        OSError,
        ValueError,
        EOFError,
        RuntimeError,  # an encrypted member
        zipfile.BadZipFile,
        NotImplementedError,  # an unsupported compression method
    ) as exc:
        raise InputError(
            f"{src} is not a readable .npz ({type(exc).__name__}: {exc}): it is not a saved "
            "posekit classifier"
        ) from exc


def file_sha256(path: str | Path) -> str:
    """The hex sha256 of a file's bytes (``""`` when it cannot be read): the fingerprint a
    classifier keeps of each training image.

    Example:
        >>> import tempfile
        >>> with tempfile.NamedTemporaryFile(delete=False) as fh:
        ...     _ = fh.write(b"abc")
        >>> file_sha256(fh.name)[:12], file_sha256("/no/such/file")
        ('ba7816bf8f01', '')
    """
    import hashlib

    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def is_digest(text: str) -> bool:
    return text == "" or (len(text) == 64 and all(c in "0123456789abcdef" for c in text))


def _check_header(fmt: object, version: object, source: str) -> None:
    if fmt != FORMAT_NAME:
        raise InputError(
            f"{source} is not a posekit pose classifier (format {fmt!r}, expected "
            f"{FORMAT_NAME!r}): load a file written by PoseClassifier.save()"
        )
    if version != FORMAT_VERSION:
        raise InputError(
            f"{source} has classifier format version {version!r}; this posekit reads version "
            f"{FORMAT_VERSION}: re-train and save it with this posekit"
        )


def _params_from(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    known = {"top_n_by_max_distance", "top_n_by_mean_distance", "axis_weights"}
    unknown = set(params) - known
    if unknown:
        raise InputError(f"{source}: unknown classifier params {sorted(unknown)}")
    weights = params.get("axis_weights", DEFAULT_AXIS_WEIGHTS)
    if (
        not isinstance(weights, (list, tuple))
        or len(weights) != 3
        or not all(isinstance(w, numbers.Real) and not isinstance(w, bool) for w in weights)
    ):
        raise InputError(
            f"{source}: params.axis_weights must be a list of 3 numbers (x, y, z), got "
            f"{weights!r:.80}; re-save the classifier with PoseClassifier.save()"
        )
    return dict(params)
