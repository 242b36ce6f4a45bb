"""Drawing only what changed: dirty rectangles, cheap idle animation, the clock, rotation, and no
member data left behind after a session."""

from __future__ import annotations

import datetime as dt

import pygame

from screens import samples, widgets
from screens.idle import RIPPLE_FPS
from tests.screens.imagecompare import differing_pixels, to_image

STATES = samples.all_states()


def test_first_draw_is_the_whole_screen_and_then_nothing(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["member"])
    assert ui.draw() == [pygame.Rect(0, 0, 800, 480)]
    assert ui.draw() == []


def test_showing_the_same_state_again_redraws_nothing(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["member"])
    ui.draw()
    ui.show(samples.all_states()["member"])  # equal, not identical
    assert ui.draw() == []


def test_idle_animation_repaints_only_a_small_region_a_few_times_a_second(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["idle"])
    ui.draw()
    now, flips, area = 100.0, 0, 0
    while now < 102.0:
        ui.update(now)
        rects = ui.draw()
        flips += bool(rects)
        area = max([area] + [r.w * r.h for r in rects])
        now = ui.next_wakeup(now)
    assert flips <= 2 * RIPPLE_FPS + 2
    assert area < 800 * 480 * 0.4


def test_the_idle_clock_is_repainted_when_the_minute_changes(make_ui):
    moment = [samples.NOW]
    ui = make_ui((800, 480), clock=lambda: moment[0])
    ui.show(STATES["notice_out_of_service"])  # no animation here: only the clock could change
    ui.draw()
    ui.show(STATES["idle"])
    ui.draw()
    clock_rect = ui.screen.clock_rect
    ui.update(0.0)
    ui.draw()
    ui.update(0.01)
    assert all(not r.colliderect(clock_rect) for r in ui.draw())
    moment[0] = samples.NOW + dt.timedelta(minutes=1)
    ui.update(1.0)  # the clock's text is looked at once a second (of the monotonic clock)
    assert clock_rect in ui.draw()


def test_a_screen_without_animation_has_nothing_to_wake_up_for(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["member"])
    assert ui.next_wakeup(5.0) == float("inf")


def test_rotated_display_shows_the_logical_picture_turned(make_ui):
    ui = make_ui((800, 480), rotation=90)
    ui.show(STATES["member"])
    ui.draw()
    turned = pygame.transform.rotate(ui.logical_surface, -90)
    count, _ = differing_pixels(to_image(turned), to_image(ui._display))
    assert count == 0


def test_partial_redraws_on_a_rotated_display_land_in_the_right_place(make_ui):
    ui = make_ui((800, 480), rotation=270)
    ui.show(STATES["idle"])
    ui.draw()
    for now in (0.0, 0.3, 0.7, 1.1):
        ui.update(now)
        ui.draw()
    turned = pygame.transform.rotate(ui.logical_surface, -270)
    count, _ = differing_pixels(to_image(turned), to_image(ui._display))
    assert count == 0


def test_no_member_data_remains_after_the_session(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["voucher"])
    ui.draw()
    ui.show(STATES["idle"])
    ui.draw()
    fresh = make_ui((800, 480))
    fresh.show(STATES["idle"])
    fresh.draw()
    count, _ = differing_pixels(to_image(fresh.logical_surface), to_image(ui.logical_surface))
    assert count == 0
    cached_texts = {key[1] for key in widgets._TEXT_CACHE}
    assert not any("张*明" in text for text in cached_texts)
    assert widgets.qr_surface.cache_info().currsize == 0


def test_render_png_writes_the_upright_picture(make_ui, tmp_path):
    ui = make_ui((800, 480), rotation=90)
    ui.show(STATES["reading"])
    path = ui.render_png(tmp_path / "shot.png")
    assert pygame.image.load(str(path)).get_size() == (480, 800)


def test_the_screenshot_tool_writes_the_main_screens_in_both_locales(tmp_path):
    from screens import shots

    assert shots.main([str(tmp_path), "--size", "800x480"]) == 0
    written = sorted(p.name for p in tmp_path.glob("*.png"))
    assert len(written) == 2 * len(shots.MAIN_SCREENS)
    assert "voucher_zh_CN_800x480.png" in written and "voucher_en_800x480.png" in written
