"""Layout from proportions: every common panel gets targets of at least 9 mm, inside the screen,
not overlapping."""

from __future__ import annotations

import itertools

import pytest

from screens import samples
from screens.errors import LayoutError
from screens.layout import Layout

PANELS = [  # (display size, rotation, px per mm)
    ((800, 480), 0, 800 / 154.08),  # official 7" Pi touchscreen
    ((1024, 600), 0, 1024 / 154.2),  # common 7" HDMI panel
    ((1280, 800), 0, 1280 / 216.96),  # 10.1" panel
    ((800, 480), 90, 800 / 154.08),  # the 7" panel mounted upright
    ((1280, 800), 270, 1280 / 216.96),
]
STATES = samples.all_states()


@pytest.mark.parametrize("panel", PANELS, ids=lambda p: f"{p[0][0]}x{p[0][1]}r{p[1]}")
@pytest.mark.parametrize("name", STATES)
def test_targets_are_at_least_9mm_inside_the_screen_and_apart(make_ui, name, panel):
    size, rotation, px_per_mm = panel
    ui = make_ui(size, rotation=rotation, px_per_mm=px_per_mm)
    ui.show(STATES[name])
    ui.draw()
    bounds = ui.logical_surface.get_rect()
    buttons = ui.screen.buttons
    for button in buttons:
        assert min(button.rect.w, button.rect.h) >= ui.layout.mm(9.0), (button.key, button.rect)
        assert bounds.contains(button.rect), (button.key, button.rect)
    for a, b in itertools.combinations(buttons, 2):
        assert not a.rect.colliderect(b.rect), (a.key, b.key)


def test_list_rows_are_tall_enough_to_tap(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["rewards"])
    assert ui.screen.list.row_height >= ui.layout.mm(9.0)


def test_a_panel_too_small_for_the_ui_is_refused():
    with pytest.raises(LayoutError):
        Layout(200, 100)


def test_rotation_other_than_quarter_turns_is_refused(make_ui):
    with pytest.raises(LayoutError, match="rotation"):
        make_ui((800, 480), rotation=45)


def test_the_same_screen_scales_with_the_panel(make_ui):
    small = make_ui((800, 480))
    large = make_ui((1280, 800))
    for ui in (small, large):
        ui.show(STATES["member"])
    assert large.button("openrewards").rect.h > small.button("openrewards").rect.h
    assert large.layout.type_size("huge") > small.layout.type_size("huge")
