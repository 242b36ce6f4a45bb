"""Opening the display: a window of the asked size, or a clear error."""

from __future__ import annotations

import pytest

from screens.display import DisplayError, open_display


def test_a_window_of_the_requested_size_opens_headless():
    surface = open_display(fullscreen=False, size=(800, 480))
    assert surface.get_size() == (800, 480)


def test_a_window_without_a_size_is_a_clear_error():
    with pytest.raises(DisplayError, match="needs a size"):
        open_display(fullscreen=False)
