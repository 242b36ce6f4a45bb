"""Nothing HQ sends about a member is silently dropped from the member screen: on every supported
panel and in both locales each field is drawn whole, or counted on a "N more · Show all" button
that opens a sheet where it is drawn whole. Checked on the screen's record of the lines it drew
(`MemberScreen.shown` and `hidden`), for an ordinary member and for the longest realistic data
(`samples.long_member`: a long name and tier, long benefits text, six expiries, a birthday).

The reference images (test_reference_images.py) show what these lines look like."""

from __future__ import annotations

import itertools

import pygame
import pytest

from kiosk.model import MemberView, local
from kiosk.ui_state import MemberHome, OpenHistory, OpenVouchers
from screens import member as m
from screens import samples
from screens.text import money, points
from tests.screens.conftest import finger, tap, tap_button

PANELS = {  # name: (display size, rotation, px per mm), the panels tests/screens/test_layout.py covers
    "800x480": ((800, 480), 0, 800 / 154.08),
    "1024x600": ((1024, 600), 0, 1024 / 154.2),
    "1280x800": ((1280, 800), 0, 1280 / 216.96),
    "480x800": ((800, 480), 90, 800 / 154.08),
    "800x1280": ((1280, 800), 270, 1280 / 216.96),
}
STATES = samples.all_states()
MEMBER_STATES = ["member", "member_birthday", "member_long"]


def member_of(name: str) -> MemberView:
    state = STATES[name]
    assert isinstance(state, MemberHome)
    return state.member


def expected_fields(screen: m.MemberScreen, member: MemberView) -> dict[str, str]:
    """What each field must say in full, in the screen's locale."""
    ctx = screen.ctx
    fields = {
        m.NAME: member.masked_name,
        m.TIER: local(member.tier.name, ctx.locale),
        m.POINTS: points(member.points),
        m.BALANCE: money(member.balance_fen),
        m.PROGRESS: m.progress_text(ctx, member),
        m.PERKS: m.perks_text(ctx, member),
        m.BENEFITS: local(member.tier.benefits, ctx.locale),
    }
    if member.birthday_today:
        fields[m.BIRTHDAY] = ctx.t("birthday")
    for i, text in enumerate(m.expiry_texts(ctx, member)):
        fields[m.expiry_field(i)] = text
    return {field: text for field, text in fields.items() if text}


def whole(lines: list[m.Line], field: str) -> str:
    """The field's text as drawn, lines joined, without the spaces wrapping may have eaten."""
    return "".join(line.text for line in lines if line.field == field).replace(" ", "")


def shown_whole(lines: list[m.Line], field: str, text: str) -> bool:
    """Drawn, uncut, and saying all of `text` (the name may sit inside the greeting)."""
    mine = [line for line in lines if line.field == field]
    return bool(mine) and all(line.complete for line in mine) and text.replace(" ", "") in whole(lines, field)


def show(make_ui, name: str, locale: str, panel: str):
    size, rotation, px_per_mm = PANELS[panel]
    ui = make_ui(size, rotation=rotation, px_per_mm=px_per_mm, locale=locale)
    ui.show(STATES[name])
    ui.draw()
    assert isinstance(ui.screen, m.MemberScreen)
    return ui, ui.screen


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("name", MEMBER_STATES)
def test_every_field_is_drawn_whole_or_counted_on_the_show_all_button(make_ui, name, locale, panel):
    ui, screen = show(make_ui, name, locale, panel)
    shown = screen.shown
    for field, text in expected_fields(screen, member_of(name)).items():
        assert shown_whole(shown, field, text) or field in screen.hidden, (field, text, whole(shown, field))
    for field in screen.hidden:
        # A field cut short says so on screen: its last visible line ends in "…".
        cut = [line for line in shown if line.field == field]
        assert not cut or cut[-1].text.endswith("…"), (field, cut[-1].text)
    if screen.hidden:
        more = ui.button(m.DETAILS_KEY)
        assert str(len(screen.hidden)) in more.label
    else:
        assert all(b.key != m.DETAILS_KEY for b in screen.buttons)


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("name", MEMBER_STATES)
def test_text_stays_inside_the_screen_and_clear_of_other_text_and_buttons(make_ui, name, locale, panel):
    ui, screen = show(make_ui, name, locale, panel)
    bounds = ui.logical_surface.get_rect()
    lines = screen.shown
    for line in lines:
        assert bounds.contains(line.rect), (line.field, line.text, line.rect)
        assert line.rect.collidelist([b.rect for b in screen.buttons]) < 0, (line.field, line.text)
    for a, b in itertools.combinations(lines, 2):
        assert not a.rect.colliderect(b.rect), (a.text, b.text)


@pytest.mark.parametrize("panel", ["800x480", "480x800"])
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
@pytest.mark.parametrize("name", ["member", "member_birthday"])
def test_a_member_with_two_expiries_shows_everything_including_the_benefits_text(make_ui, name, locale, panel):
    _, screen = show(make_ui, name, locale, panel)
    assert screen.hidden == []
    benefits = local(member_of(name).tier.benefits, locale)
    assert shown_whole(screen.shown, m.BENEFITS, benefits)


def test_the_longest_data_is_cut_where_it_matters_least(make_ui):
    _, screen = show(make_ui, "member_long", "en", "800x480")
    # The soonest expiries keep their lines; later ones wait behind the button.
    assert shown_whole(screen.shown, m.expiry_field(0), "1,200 on 31 Mar 2026")
    assert m.expiry_field(5) in screen.hidden
    assert {m.POINTS, m.BALANCE, m.BIRTHDAY, m.PROGRESS} & set(screen.hidden) == set()


def drag(ui, start: tuple[int, int], dy: int, monotonic) -> None:
    """A finger pressed at `start`, moved up by `dy` logical pixels, lifted."""
    end = (start[0], start[1] - dy)
    ui.handle_event(finger(pygame.FINGERDOWN, ui, start))
    monotonic.advance(0.05)
    ui.handle_event(finger(pygame.FINGERMOTION, ui, end))
    monotonic.advance(0.05)
    ui.handle_event(finger(pygame.FINGERUP, ui, end))
    ui.draw()


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_show_all_opens_a_sheet_that_scrolls_through_every_field_and_closes(make_ui, monotonic, locale, panel):
    ui, screen = show(make_ui, "member_long", locale, panel)
    assert screen.hidden, "the longest data must not fit, or this test proves nothing"
    monotonic.advance(1.0)
    assert tap_button(ui, m.DETAILS_KEY, monotonic) is None  # a view matter: the session hears nothing
    ui.draw()
    assert screen.sheet_open and ui.button(m.DETAILS_CLOSE_KEY)
    seen: list[m.Line] = list(screen.shown)
    for _ in range(20):
        monotonic.advance(1.0)
        drag(ui, screen.sheet.rect.center, screen.sheet.rect.h // 2, monotonic)
        seen += screen.shown
    assert screen.sheet.offset == screen.sheet.max_offset > 0, "the drags reached the end of the sheet"
    expected = expected_fields(screen, member_of("member_long"))
    del expected[m.POINTS], expected[m.BALANCE]  # never cut: big numbers only shrink
    for field, text in expected.items():
        assert text.replace(" ", "") in whole(seen, field).replace(" ", ""), field
    assert any(line.field == m.AS_OF for line in seen)
    for line in screen.shown:
        assert screen.sheet.rect.contains(line.rect) or line.field in (m.NAME, m.TIER), line.text

    monotonic.advance(1.0)
    assert tap_button(ui, m.DETAILS_CLOSE_KEY, monotonic) is None
    ui.draw()
    assert not screen.sheet_open
    assert ui.button(m.DETAILS_KEY)


@pytest.mark.parametrize("panel", PANELS)
@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_points_history_and_my_vouchers_are_one_tap_away(make_ui, monotonic, locale, panel):
    ui, _ = show(make_ui, "member", locale, panel)
    history = ui.button("openhistory")
    assert history.label == {"zh_CN": "积分明细", "en": "Points history"}[locale]
    monotonic.advance(1.0)
    assert tap_button(ui, "openhistory", monotonic) == OpenHistory()
    monotonic.advance(1.0)
    assert tap_button(ui, "openvouchers", monotonic) == OpenVouchers()


def test_a_tap_on_plain_text_does_nothing(make_ui, monotonic):
    ui, screen = show(make_ui, "member", "en", "800x480")
    monotonic.advance(1.0)
    progress = next(line for line in screen.shown if line.field == m.PROGRESS)
    assert tap(ui, progress.rect.center, monotonic) is None
    assert not screen.sheet_open
