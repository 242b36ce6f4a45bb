"""The screens' exception tree: everything the UI layer raises derives from `ScreensError`."""

from __future__ import annotations


class ScreensError(Exception):
    """Root of the errors raised by `screens/`."""


class FontNotFound(ScreensError, FileNotFoundError):
    """No font that can draw Chinese was found; the message says where we looked and what to install."""


class LayoutError(ScreensError, ValueError):
    """A panel size, rotation or density the UI cannot lay out on."""
