"""The kiosk's version, read from the installed package's metadata (pyproject.toml is its one source)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "membership-kiosk"


def software_version() -> str:
    """`project.version` of the installed kiosk, e.g. "0.1.0"; "0+unknown" when run from a bare tree."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree on sys.path without `pip install -e .`
        return "0+unknown"
