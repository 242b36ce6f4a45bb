"""`KioskUI`: the one object the app talks to. It draws the current `UiState` and turns touches
into intents, debounced.

Drawing happens on a logical surface of the upright size (portrait when the panel is rotated)
and only changed rectangles are copied, rotated if need be, to the display. Each screen's static
picture is rendered once into a back buffer; animations and the clock repaint small regions over
it, so `draw()` usually returns a tiny rectangle or nothing at all.

Debouncing, in order of the faults it stops:
- a tap counts only if it went down and up on the same target of the same screen;
- taps that started before the screen changed, or within `settle_s` after, are ignored (a shaky
  double touch on "redeem" must not land on the "confirm" button drawn in the same place);
- after an intent, taps are ignored for `debounce_s`;
- a `ConfirmRedeem` for a given intent id is emitted at most once (the ledger is idempotent too).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pygame

from kiosk.ui_state import (
    CheckedIn,
    Confirm,
    ConfirmRedeem,
    Idle,
    Intent,
    MemberHistory,
    MemberHome,
    MyVouchers,
    Notice,
    PinDelete,
    PinDigit,
    PinEntry,
    Reading,
    RedemptionAwaitingCard,
    Rewards,
    Scroll,
    ToggleLocale,
    UiState,
    VoucherIssued,
    WheelSpin,
)
from screens import widgets
from screens.base import Screen
from screens.checkin import CheckedInScreen
from screens.context import RenderContext
from screens.fonts import FontBook
from screens.history import HistoryScreen
from screens.idle import IdleScreen, ReadingScreen
from screens.layout import DEFAULT_PX_PER_MM, Layout
from screens.member import MemberScreen
from screens.notice import NoticeScreen
from screens.pending import PendingRedemptionScreen
from screens.pin import PinScreen
from screens.rewards import ConfirmScreen, RewardsScreen
from screens.text import LOCALES, check_locale
from screens.touch import Cancel, DragBy, Press, Rotation, Tap, TouchTracker
from screens.voucher import VoucherScreen, VouchersScreen
from screens.wheel import WheelScreen
from screens.widgets import Button, draw_button

_LOG = logging.getLogger(__name__)

DEBOUNCE_S = 0.5
KEYPAD_DEBOUNCE_S = 0.12
SETTLE_S = 0.3
TAP_SLOP_MM = 4.0
_CONFIRMED_MEMORY = 64


def build_screen(ctx: RenderContext, state: UiState) -> Screen:
    """The screen object for `state`."""
    if isinstance(state, Idle):
        return IdleScreen(ctx, state)
    if isinstance(state, Reading):
        return ReadingScreen(ctx)
    if isinstance(state, MemberHome):
        return MemberScreen(ctx, state)
    if isinstance(state, Rewards):
        return RewardsScreen(ctx, state)
    if isinstance(state, Confirm):
        return ConfirmScreen(ctx, state)
    if isinstance(state, PinEntry):
        return PinScreen(ctx, state)
    if isinstance(state, VoucherIssued):
        return VoucherScreen(ctx, state)
    if isinstance(state, MyVouchers):
        return VouchersScreen(ctx, state)
    if isinstance(state, RedemptionAwaitingCard):
        return PendingRedemptionScreen(ctx, state)
    if isinstance(state, MemberHistory):
        return HistoryScreen(ctx, state)
    if isinstance(state, CheckedIn):
        return CheckedInScreen(ctx, state)
    if isinstance(state, WheelSpin):
        return WheelScreen(ctx, state)
    if isinstance(state, Notice):
        return NoticeScreen(ctx, state)
    raise TypeError(f"no screen for state {type(state).__name__}")


class KioskUI:
    def __init__(
        self,
        surface: pygame.Surface,
        *,
        locale: str,
        tz: ZoneInfo,
        font_path: Path,
        clock: Callable[[], dt.datetime],
        rotation: int = 0,
        px_per_mm: float | None = None,
        dpi: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        debounce_s: float = DEBOUNCE_S,
        settle_s: float = SETTLE_S,
    ) -> None:
        if px_per_mm is None:
            px_per_mm = dpi / 25.4 if dpi else DEFAULT_PX_PER_MM
        self._display = surface
        self._rotation = Rotation(rotation, surface.get_size())
        logical = self._rotation.logical_size
        self._logical = surface if rotation == 0 else pygame.Surface(logical)
        self._static = pygame.Surface(logical)
        layout = Layout(logical[0], logical[1], px_per_mm)
        self._ctx = RenderContext(layout, FontBook(font_path), check_locale(locale), tz, clock)
        self._monotonic = monotonic
        self._debounce_s = debounce_s
        self._settle_s = settle_s
        self._touch = TouchTracker(self._rotation, layout.mm(TAP_SLOP_MM))
        self._state: UiState | None = None
        self._screen: Screen | None = None
        self._full = True
        self._dirty: list[pygame.Rect] = []
        self._pressed: Button | None = None
        self._shown_at = float("-inf")
        self._quiet_until = float("-inf")
        self._confirmed: deque[str] = deque(maxlen=_CONFIRMED_MEMORY)
        self.last_touch_at: float | None = None  # monotonic time of the last finger/mouse down

    # --- what is shown ---------------------------------------------------------------------
    @property
    def locale(self) -> str:
        return self._ctx.locale

    @property
    def state(self) -> UiState | None:
        return self._state

    @property
    def layout(self) -> Layout:
        return self._ctx.layout

    @property
    def screen(self) -> Screen | None:
        """The screen object for the current state (tests look at its buttons)."""
        return self._screen

    @property
    def logical_surface(self) -> pygame.Surface:
        return self._logical

    def set_locale(self, locale: str) -> None:
        if check_locale(locale) != self._ctx.locale:
            self._ctx = self._ctx.with_locale(locale)
            self._rebuild()

    def show(self, state: UiState) -> None:
        """Draw `state` from now on. Showing the state already shown changes nothing."""
        if state == self._state:
            return
        changed_screen = type(state) is not type(self._state)
        # A reshuffled keypad (after a wrong PIN) is a new screen for the finger: a tap aimed at
        # the old order must not land on whatever digit moved there.
        reshuffled = isinstance(state, PinEntry) and (
            not isinstance(self._state, PinEntry) or self._state.keys != state.keys
        )
        self._state = state
        if isinstance(state, (Idle, Notice)):
            # No member data may outlive the session, not even in the text and QR caches.
            widgets.forget_rendered()
        self._rebuild()
        if changed_screen or reshuffled or isinstance(state, Confirm):
            self._shown_at = self._monotonic()
            self._pressed = None

    def _rebuild(self) -> None:
        if self._state is None:
            return
        self._screen = build_screen(self._ctx, self._state)
        self._pressed = None
        self._full = True

    # --- input ------------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> Intent | None:
        """Turn one pygame event into an intent, or None. Safe to call with any event."""
        now = self._monotonic()
        intent: Intent | None = None
        for gesture in self._touch.feed(event, now):
            if isinstance(gesture, Press):
                self.last_touch_at = now
                self._on_press(gesture)
            elif isinstance(gesture, Cancel):
                self._release()
            elif isinstance(gesture, DragBy):
                intent = self._on_drag(gesture) or intent
            elif isinstance(gesture, Tap):
                intent = self._on_tap(gesture) or intent
        return intent

    def _on_press(self, press: Press) -> None:
        if self._screen is None or press.at < self._shown_at + self._settle_s:
            return
        button = self._screen.button_at(press.pos)
        if button is not None:
            self._pressed = button
            self._dirty.append(button.rect)

    def _release(self) -> None:
        if self._pressed is not None:
            self._dirty.append(self._pressed.rect)
            self._pressed = None

    def _on_drag(self, drag: DragBy) -> Intent | None:
        if self._screen is None:
            return None
        area = self._screen.scroll(drag.dy)
        if area is None:
            return None
        self._screen.draw_static(self._static)
        self._dirty.append(area)
        return Scroll(delta=drag.dy)

    def _on_tap(self, tap: Tap) -> Intent | None:
        self._release()
        screen = self._screen
        if screen is None:
            return None
        if tap.pressed_at < self._shown_at + self._settle_s:
            _LOG.debug("tap ignored: it began before or just after the screen changed")
            return None
        if tap.at < self._quiet_until:
            _LOG.debug("tap ignored: within %.2fs of the last intent", self._debounce_s)
            return None
        down_target = screen.button_at(tap.down)
        if down_target is not None and down_target is not screen.button_at(tap.pos):
            return None  # slid off the button before lifting: the usual way to back out
        intent = screen.tap(tap.pos)
        if screen.needs_redraw:
            screen.needs_redraw = False
            screen.draw_static(self._static)
            self._dirty.append(self.layout.content)
        if intent is None:
            return None
        if isinstance(intent, ConfirmRedeem):
            if intent.intent_id in self._confirmed:
                _LOG.info("confirm for intent %s already sent; ignoring the repeat", intent.intent_id)
                return None
            self._confirmed.append(intent.intent_id)
        if isinstance(intent, ToggleLocale):
            self.set_locale(LOCALES[(LOCALES.index(self.locale) + 1) % len(LOCALES)])
        # Digits follow each other quickly; a keypad that swallowed every tap within half a second
        # would drop digits. The settle time after a reshuffle still guards the keypad.
        quiet = KEYPAD_DEBOUNCE_S if isinstance(intent, (PinDigit, PinDelete)) else self._debounce_s
        self._quiet_until = tap.at + min(quiet, self._debounce_s)
        return intent

    # --- time and drawing -----------------------------------------------------------------
    def update(self, now_monotonic: float) -> None:
        """Advance animations and the clock to `now_monotonic`; marks what must be redrawn."""
        if self._screen is None:
            return
        for part in self._screen.dynamic:
            if part.advance(now_monotonic):
                self._dirty.append(part.rect)

    def input_hz(self) -> float | None:
        """The touch polling rate the current screen asks for (None: the loop's default)."""
        return self._screen.input_hz if self._screen is not None else None

    def next_wakeup(self, now_monotonic: float) -> float:
        """When `update` will next have something to do (monotonic seconds)."""
        if self._screen is None or not self._screen.dynamic:
            return float("inf")
        return min(part.next_change(now_monotonic) for part in self._screen.dynamic)

    def draw(self) -> list[pygame.Rect]:
        """Paint what changed; the display rectangles to flip (empty when nothing changed)."""
        screen = self._screen
        if screen is None:
            return []
        if self._full:
            self._full = False
            self._dirty.clear()
            screen.draw_static(self._static)
            self._logical.blit(self._static, (0, 0))
            for part in screen.dynamic:
                part.paint(self._logical)
            if self._pressed is not None:
                draw_button(self._logical, self._ctx, self._pressed, pressed=True)
            rects = [self._logical.get_rect()]
        elif self._dirty:
            rects = self._merge(self._dirty)
            self._dirty = []
            for rect in rects:
                if not any(part.covers and part.rect.contains(rect) for part in screen.dynamic):
                    self._logical.blit(self._static, rect, rect)
            for part in screen.dynamic:
                if part.rect.collidelist(rects) >= 0:
                    part.paint(self._logical)
            if self._pressed is not None and self._pressed.rect.collidelist(rects) >= 0:
                draw_button(self._logical, self._ctx, self._pressed, pressed=True)
        else:
            return []
        return self._to_display(rects)

    @staticmethod
    def _merge(rects: list[pygame.Rect]) -> list[pygame.Rect]:
        out: list[pygame.Rect] = []
        for rect in rects:
            for i, seen in enumerate(out):
                if seen.colliderect(rect):
                    out[i] = seen.union(rect)
                    break
            else:
                out.append(pygame.Rect(rect))
        return out

    def _to_display(self, rects: list[pygame.Rect]) -> list[pygame.Rect]:
        if self._rotation.degrees == 0:
            return rects
        bounds = self._logical.get_rect()
        out = []
        for rect in rects:
            rect = rect.clip(bounds)
            if not rect.w or not rect.h:
                continue
            turned = pygame.transform.rotate(self._logical.subsurface(rect), -self._rotation.degrees)
            target = self._rotation.rect_to_display(rect)
            self._display.blit(turned, target.topleft)
            out.append(target)
        return out

    def render_png(self, path: str | Path) -> Path:
        """Draw everything now and save the upright (logical) picture as PNG."""
        self._full = True
        self.draw()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pygame.image.save(self._logical, str(path))
        return path

    # --- for tests and tools ------------------------------------------------------------------
    def button(self, key: str) -> Button:
        """The visible button called `key` ("locale", "done", "back", "openrewards", ...)."""
        assert self._screen is not None, "nothing shown yet"
        for button in self._screen.buttons:
            if button.key == key:
                return button
        raise KeyError(
            f"no button {key!r} on {type(self._screen).__name__}; have {[b.key for b in self._screen.buttons]}"
        )

    def display_point(self, logical_pos: tuple[int, int]) -> tuple[int, int]:
        """Where on the display a logical point is (to aim synthetic touches)."""
        return self._rotation.to_display(*logical_pos)
