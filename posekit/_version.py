"""posekit's version, read once from the installed package's metadata.

A module of its own at the bottom of the package, so that low modules (the converter, the model
manager) can name the version without importing :mod:`posekit` and everything it imports.

Example:
    >>> from importlib.metadata import version
    >>> from posekit._version import __version__
    >>> __version__ == version("posekit")
    True
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__", "package_version"]


def package_version() -> str:
    """The installed distribution's version (the one in pyproject.toml); ``0+unknown`` when
    posekit runs from a source tree that was never installed.

    Example:
        >>> package_version() != ""
        True
    """
    try:
        return metadata.version("posekit")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__version__: str = package_version()
"""posekit's version (``pip show posekit``)."""
