"""Exception hierarchy of posekit.

Every error posekit raises on purpose derives from :class:`PosekitError`, so an application can
catch one type. Messages name the problem *and* the fix.

Example:
    >>> from posekit.errors import PosekitError, InputError
    >>> issubclass(InputError, PosekitError) and issubclass(InputError, ValueError)
    True
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "ConversionError",
    "InputError",
    "ModelError",
    "ModelSourceError",
    "OutputError",
    "PosekitError",
    "ProviderError",
    "SourceError",
    "TimestampError",
    "UnsupportedOpError",
]


class PosekitError(Exception):
    """Base class of every error posekit raises deliberately."""


class InputError(PosekitError, ValueError):
    """A frame, array or argument handed to posekit is unusable (dtype, shape, range...)."""


class TimestampError(InputError):
    """Timestamps are not increasing where the caller asked for strict checking."""


class SourceError(PosekitError, OSError):
    """A video file, URL or camera cannot be opened or stopped delivering frames."""


class OutputError(PosekitError, OSError):
    """An output file could not be written completely (full disk, I/O error); nothing was left
    at its path (see :mod:`posekit.outputs`)."""


class ModelError(PosekitError):
    """A model is missing, corrupt or cannot be loaded."""


class ChecksumError(ModelError):
    """A model source file does not have the sha256 pinned in the manifest."""


class ModelSourceError(ModelError):
    """No source could supply a model file; the message lists every source tried."""


class ConversionError(ModelError):
    """The TFLite -> ONNX converter cannot convert a model faithfully."""


class UnsupportedOpError(ConversionError):
    """The model uses an operator, attribute or format the converter does not implement."""


class ProviderError(ModelError):
    """A requested onnxruntime execution provider is not available."""
