"""Touches become intents: fingers in normalised coordinates, the mouse, rotation, drags, and the
debouncing that keeps a shaky double touch from doing anything twice."""

from __future__ import annotations

import pygame
import pytest

from kiosk.ui_state import Back, ChooseReward, ConfirmRedeem, Done, OpenRewards, Scroll, ToggleLocale
from screens import samples
from tests.screens.conftest import finger, tap, tap_button

STATES = samples.all_states()


def mouse(kind: int, pos: tuple[int, int], touch: bool = False) -> pygame.event.Event:
    if kind == pygame.MOUSEMOTION:
        return pygame.event.Event(kind, pos=pos, rel=(0, 0), buttons=(1, 0, 0), touch=touch)
    return pygame.event.Event(kind, pos=pos, button=1, touch=touch)


@pytest.fixture
def member_ui(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATES["member"])
    ui.draw()
    monotonic.advance(1.0)
    return ui


def test_a_finger_tap_on_a_button_gives_its_intent(member_ui, monotonic):
    assert tap_button(member_ui, "openrewards", monotonic) == OpenRewards()


def test_a_mouse_click_gives_the_same_intent(member_ui):
    pos = member_ui.button("done").rect.center
    assert member_ui.handle_event(mouse(pygame.MOUSEBUTTONDOWN, pos)) is None
    assert member_ui.handle_event(mouse(pygame.MOUSEBUTTONUP, pos)) == Done()


def test_sdl_mouse_echo_of_a_finger_is_ignored(member_ui, monotonic):
    pos = member_ui.button("done").rect.center
    member_ui.handle_event(finger(pygame.FINGERDOWN, member_ui, pos))
    member_ui.handle_event(mouse(pygame.MOUSEBUTTONDOWN, pos, touch=True))
    assert member_ui.handle_event(finger(pygame.FINGERUP, member_ui, pos)) == Done()
    assert member_ui.handle_event(mouse(pygame.MOUSEBUTTONUP, pos, touch=True)) is None


def test_a_tap_outside_any_target_does_nothing(member_ui, monotonic):
    assert tap(member_ui, member_ui.layout.content.center, monotonic) is None


def test_sliding_off_a_button_before_lifting_cancels_it(member_ui):
    rect = member_ui.button("done").rect
    member_ui.handle_event(finger(pygame.FINGERDOWN, member_ui, rect.center))
    member_ui.handle_event(finger(pygame.FINGERMOTION, member_ui, (rect.centerx, rect.top - 60)))
    assert member_ui.handle_event(finger(pygame.FINGERUP, member_ui, (rect.centerx, rect.top - 60))) is None


def test_a_second_finger_does_not_start_a_second_tap(member_ui):
    done = member_ui.button("done").rect.center
    rewards = member_ui.button("openrewards").rect.center
    member_ui.handle_event(finger(pygame.FINGERDOWN, member_ui, done, finger_id=0))
    member_ui.handle_event(finger(pygame.FINGERDOWN, member_ui, rewards, finger_id=1))
    assert member_ui.handle_event(finger(pygame.FINGERUP, member_ui, rewards, finger_id=1)) is None
    assert member_ui.handle_event(finger(pygame.FINGERUP, member_ui, done, finger_id=0)) == Done()


def test_touches_are_mapped_through_the_rotation(make_ui, monotonic):
    ui = make_ui((800, 480), rotation=90)
    ui.show(STATES["member"])
    ui.draw()
    monotonic.advance(1.0)
    rect = ui.button("openrewards").rect
    x, y = ui.display_point(rect.center)
    # The portrait footer is along the display's left edge when turned clockwise.
    assert x < 200
    assert tap_button(ui, "openrewards", monotonic) == OpenRewards()


def test_a_double_touch_on_confirm_redeems_once(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATES["confirm"])
    ui.draw()
    monotonic.advance(1.0)
    first = tap_button(ui, "confirmredeem", monotonic)
    monotonic.advance(0.05)
    second = tap_button(ui, "confirmredeem", monotonic)
    monotonic.advance(2.0)  # even long after, the same intent id is never confirmed again
    third = tap_button(ui, "confirmredeem", monotonic)
    assert [first, second, third] == [ConfirmRedeem("I-0001"), None, None]


def test_a_busy_confirm_screen_takes_no_taps(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATES["confirm_busy"])
    ui.draw()
    monotonic.advance(1.0)
    assert tap_button(ui, "confirmredeem", monotonic) is None
    assert tap_button(ui, "back", monotonic) is None


def test_a_tap_that_began_on_the_previous_screen_is_ignored(make_ui, monotonic):
    # The finger lands on the rewards screen; the confirm button appears under it before it lifts.
    ui = make_ui((800, 480))
    ui.show(STATES["rewards"])
    ui.draw()
    monotonic.advance(1.0)
    probe = make_ui((800, 480))
    probe.show(STATES["confirm"])
    confirm_pos = probe.button("confirmredeem").rect.center
    ui.handle_event(finger(pygame.FINGERDOWN, ui, confirm_pos))
    ui.show(STATES["confirm"])
    monotonic.advance(0.5)
    assert ui.handle_event(finger(pygame.FINGERUP, ui, confirm_pos)) is None


def test_taps_right_after_the_screen_changed_are_ignored_then_accepted(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATES["confirm"])
    monotonic.advance(0.1)
    assert tap_button(ui, "back", monotonic) is None
    monotonic.advance(0.5)
    assert tap_button(ui, "back", monotonic) == Back()


def test_repeated_taps_within_the_debounce_time_give_one_intent(member_ui, monotonic):
    assert tap_button(member_ui, "done", monotonic) == Done()
    monotonic.advance(0.1)
    assert tap_button(member_ui, "done", monotonic) is None
    monotonic.advance(1.0)
    assert tap_button(member_ui, "done", monotonic) == Done()


def test_unaffordable_rewards_cannot_be_chosen(make_ui, monotonic):
    ui = make_ui((1280, 800))  # tall enough to show the greyed rows without scrolling far
    ui.show(STATES["rewards"])
    ui.draw()
    monotonic.advance(1.0)
    greyed = [i for i, o in enumerate(ui.screen.options) if not (o.affordable and o.available)]
    assert greyed and greyed == list(range(len(ui.screen.options) - len(greyed), len(ui.screen.options)))
    ui.screen.list.scroll(10_000)
    row = ui.screen.list.row_rect(greyed[-1])
    assert tap(ui, row.center, monotonic) is None


def test_dragging_the_list_scrolls_it_and_taps_nothing(make_ui, monotonic):
    ui = make_ui((800, 480))
    ui.show(STATES["rewards"])
    ui.draw()
    monotonic.advance(1.0)
    start = ui.screen.list.row_rect(1).center
    intents = [ui.handle_event(finger(pygame.FINGERDOWN, ui, start))]
    for step in range(1, 6):
        intents.append(ui.handle_event(finger(pygame.FINGERMOTION, ui, (start[0], start[1] - step * 20))))
    intents.append(ui.handle_event(finger(pygame.FINGERUP, ui, (start[0], start[1] - 100))))
    assert ui.screen.list.offset == pytest.approx(100, abs=1)
    assert all(isinstance(i, Scroll) for i in intents[2:-1]), intents
    assert intents[-1] is None and not any(isinstance(i, ChooseReward) for i in intents)
    assert ui.draw() == [ui.screen.list.rect]


def test_the_list_does_not_scroll_past_its_ends(make_ui):
    ui = make_ui((800, 480))
    ui.show(STATES["rewards"])
    ui.screen.scroll(-500)
    assert ui.screen.list.offset == 0
    ui.screen.scroll(100_000)
    assert ui.screen.list.offset == ui.screen.list.max_offset > 0


def test_the_language_button_switches_the_ui_and_reports_it(member_ui, monotonic):
    assert member_ui.locale == "zh_CN"
    assert tap_button(member_ui, "locale", monotonic) == ToggleLocale()
    assert member_ui.locale == "en"
    assert member_ui.button("openrewards").label == "Rewards"
    assert member_ui.draw() == [member_ui.logical_surface.get_rect()]


def test_pressing_a_button_shows_it_pressed_until_release(member_ui):
    rect = member_ui.button("done").rect
    spot = (rect.x + 6, rect.centery)  # button face, away from the label
    before = member_ui.logical_surface.get_at(spot)
    member_ui.handle_event(finger(pygame.FINGERDOWN, member_ui, spot))
    assert member_ui.draw() == [rect]
    pressed = member_ui.logical_surface.get_at(spot)
    member_ui.handle_event(finger(pygame.FINGERUP, member_ui, spot))
    member_ui.draw()
    assert pressed != before
    assert member_ui.logical_surface.get_at(spot) == before


def test_unrelated_events_are_ignored(member_ui):
    for event in (
        pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a, mod=0, unicode="a", scancode=4),
        pygame.event.Event(pygame.FINGERUP, touch_id=1, finger_id=3, x=0.5, y=0.5, dx=0, dy=0, pressure=0),
        pygame.event.Event(pygame.USEREVENT),
    ):
        assert member_ui.handle_event(event) is None
