"""Every screen, in both locales, on the official 7" panel (800x480) and in portrait (the same
panel turned, 480x800), looks like its reference picture."""

from __future__ import annotations

import pytest

from screens import samples
from tests.screens.imagecompare import assert_matches_reference

STATES = samples.all_states()
PANELS = {"800x480": ((800, 480), 0), "480x800": ((800, 480), 90)}


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("name", STATES)
def test_screen_matches_reference(make_ui, name, locale, panel):
    size, rotation = PANELS[panel]
    ui = make_ui(size, rotation=rotation, locale=locale)
    ui.show(STATES[name])
    ui.draw()
    assert ui.logical_surface.get_size() == tuple(int(v) for v in panel.split("x"))
    assert_matches_reference(ui.logical_surface, f"{name}_{locale}_{panel}")
