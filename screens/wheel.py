"""The prize wheel (幸运大转盘): the wheel, what the next spin costs, the spin, the prize.

The wheel is a ring of segments, one per prize, named in the member's language (greyed when this
kiosk has given its stock). A spin lights the segments one after another, fast then slower, and
stops on the prize the ledger already recorded: the animation only shows a result, it never
decides one. It runs on the UI's frame grid: one pre-rendered picture per segment ("segment i
lit"), and each step is one blit of the wheel's square, at most `FPS` a second, only while it
turns; before and after, the screen has nothing dynamic (no wake-ups, so an idle wheel screen
costs what any still screen costs).

The steps follow an ease-out curve: after t of T seconds the light has moved
S x (1 - (1 - t/T)^2) segments, S being three whole turns plus the way to the prize.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pygame

from kiosk.ui_state import SPIN_SECONDS, Back, Done, Intent, OpenVouchers, SpinWheel, WheelSpin
from screens import theme
from screens.base import Screen
from screens.context import RenderContext
from screens.grid import EPSILON_S, next_on_grid
from screens.layout import inset, split
from screens.member import draw_member_header
from screens.text import points
from screens.widgets import Button, ButtonKind, draw_text, footer_buttons

#: Frames a second at most while the wheel turns (the loop's frame grid divides it).
FPS = 30.0
#: Whole turns before the light settles on the prize.
TURNS = 3

_SEGMENT_COLORS: tuple[theme.Color, ...] = (
    (52, 76, 114),
    (36, 56, 88),
    (70, 98, 140),
    (44, 66, 100),
)
_LIT: theme.Color = theme.ACCENT
_GONE: theme.Color = theme.BUTTON_DISABLED


def steps_to(segment: int, count: int) -> int:
    """Segments the light moves from segment 0 to stop on `segment` after TURNS whole turns."""
    return TURNS * count + segment % count


def step_at(elapsed: float, total_steps: int, duration: float = SPIN_SECONDS) -> int:
    """How many segments the light has moved after `elapsed` seconds (ease-out; capped)."""
    if elapsed >= duration:
        return total_steps
    if elapsed <= 0:
        return 0
    progress = 1.0 - (1.0 - elapsed / duration) ** 2
    return min(total_steps, math.floor(total_steps * progress + EPSILON_S))


def time_of_step(step: int, total_steps: int, duration: float = SPIN_SECONDS) -> float:
    """Seconds after the start at which the light reaches `step` (the inverse of step_at)."""
    fraction = min(1.0, max(0.0, step / total_steps))
    return duration * (1.0 - math.sqrt(1.0 - fraction))


def render_wheel(ctx: RenderContext, state: WheelSpin, side: int, lit: int | None) -> pygame.Surface:
    """The wheel on a `side` x `side` square, segment `lit` highlighted (None: none)."""
    surface = pygame.Surface((side, side))
    surface.fill(theme.BACKGROUND)
    segments = state.status.segments
    n = len(segments)
    centre = (side / 2, side / 2)
    radius = side / 2 - 2
    for i, segment in enumerate(segments):
        start = -math.pi / 2 + 2 * math.pi * i / n
        end = start + 2 * math.pi / n
        arc = [centre] + [
            (centre[0] + radius * math.cos(a), centre[1] + radius * math.sin(a))
            for a in (start + (end - start) * k / 24 for k in range(25))
        ]
        shade = i % len(_SEGMENT_COLORS)
        if i == n - 1 and shade == 0 and n > 1:
            shade = 2  # the last segment touches the first: never the same shade side by side
        color = _LIT if i == lit else (_SEGMENT_COLORS[shade] if segment.available else _GONE)
        pygame.draw.polygon(surface, color, arc)
        pygame.draw.line(
            surface,
            theme.DIVIDER,
            centre,
            (centre[0] + radius * math.cos(start), centre[1] + radius * math.sin(start)),
            2,
        )
        mid = (start + end) / 2
        # Labels sit upright at 62% of the radius: readable without turning the head.
        label_w = round(min(radius * 0.9, 2 * math.pi * radius * 0.62 / n * 0.95))
        label_h = round(ctx.layout.type_size("small") * 1.3)
        cx = centre[0] + radius * 0.62 * math.cos(mid)
        cy = centre[1] + radius * 0.62 * math.sin(mid)
        rect = pygame.Rect(round(cx - label_w / 2), round(cy - label_h / 2), label_w, label_h)
        text_color = theme.TEXT_ON_ACCENT if i == lit else (theme.TEXT if segment.available else theme.TEXT_DISABLED)
        name = segment.name.get(ctx.locale) or next(iter(segment.name.values()), segment.prize_id)
        if not segment.available:
            name = f"{name} ({ctx.t('wheel_out_of_stock')})"
        draw_text(
            surface, ctx, name, rect, style="small", color=text_color, bold=i == lit, align="center", min_scale=0.5
        )
    pygame.draw.circle(surface, theme.DIVIDER, (round(centre[0]), round(centre[1])), round(radius), 3)
    pygame.draw.circle(surface, theme.PANEL_RAISED, (round(centre[0]), round(centre[1])), round(radius * 0.16))
    return surface


@dataclass
class WheelLight:
    """The turning light: frame i is the wheel with segment i lit; one blit per step."""

    rect: pygame.Rect
    frames: list[pygame.Surface]
    started: float
    total_steps: int
    step: int = -1
    covers: bool = field(default=True)

    def _step(self, now: float) -> int:
        return step_at(now - self.started, self.total_steps)

    def advance(self, now: float) -> bool:
        step = self._step(now)
        if step == self.step:
            return False
        self.step = step
        return True

    def paint(self, surface: pygame.Surface) -> None:
        surface.blit(self.frames[max(0, self.step) % len(self.frames)], self.rect)

    def next_change(self, now: float) -> float:
        step = self._step(now)
        if step >= self.total_steps:
            return float("inf")
        due = self.started + time_of_step(step + 1, self.total_steps)
        # On the frame grid: a step falls on the next frame, shared with anything else due then.
        return next_on_grid(max(due, now), 1.0 / FPS)


class WheelScreen(Screen):
    def __init__(self, ctx: RenderContext, state: WheelSpin) -> None:
        super().__init__(ctx, state.online)
        self.state = state
        lay = ctx.layout
        turning = state.result is not None and not state.revealed
        footer: list[tuple[str, Intent | None, ButtonKind, float]] = [(ctx.t("back"), Back(), "secondary", 1.0)]
        if state.revealed and state.result is not None and state.result.voucher is not None:
            footer.append((ctx.t("my_vouchers"), OpenVouchers(), "secondary", 1.2))
        footer.append((ctx.t("done"), Done(), "secondary", 0.9))
        if not turning:
            self.buttons += footer_buttons(ctx, footer)
        body = lay.content
        if lay.landscape:
            wheel_area, self.info = split(body, [1.0, 1.0], lay.gap * 2, horizontal=True)
        else:
            wheel_area, self.info = split(body, [1.3, 1.0], lay.gap * 2, horizontal=False)
        side = min(wheel_area.w, wheel_area.h) - lay.gap * 2
        self.wheel_rect = pygame.Rect(0, 0, side, side)
        self.wheel_rect.center = wheel_area.center
        self.spin_button: Button | None = None
        if not turning and state.status.can_spin:
            label = (
                ctx.t("wheel_spin_free")
                if state.status.cost_points == 0
                else ctx.t("wheel_spin_paid", points=points(state.status.cost_points))
            )
            height = max(lay.min_target, lay.button_height)
            rect = pygame.Rect(
                self.info.x + lay.margin, self.info.bottom - height, self.info.w - 2 * lay.margin, height
            )
            self.spin_button = Button(
                rect=rect, label=label, intent=SpinWheel(state.spin_id), kind="primary", key="spin"
            )
            self.buttons.append(self.spin_button)
        result = state.result
        lit = result.segment if result is not None and result.segment >= 0 and state.revealed else None
        self.still = render_wheel(ctx, state, side, lit)
        if turning and result is not None and state.spun_at is not None:
            count = len(state.status.segments)
            frames = [render_wheel(ctx, state, side, i) for i in range(count)]
            self.dynamic.append(
                WheelLight(self.wheel_rect, frames, state.spun_at, steps_to(max(0, result.segment), count))
            )

    def draw_header_left(self, surface: pygame.Surface, rect: pygame.Rect) -> None:
        draw_member_header(self, surface, rect, self.state.member)

    def lines(self) -> list[tuple[str, str, theme.Color]]:
        """(style, text, colour) of the info column, top to bottom."""
        ctx, state = self.ctx, self.state
        status, result = state.status, state.result
        out: list[tuple[str, str, theme.Color]] = [("title", ctx.t("wheel_title"), theme.TEXT)]
        if result is not None and not state.revealed:
            out.append(("big", ctx.t("wheel_spinning"), theme.ACCENT))
            return out
        if result is not None:
            name = result.name.get(ctx.locale) or next(iter(result.name.values()), result.prize_id)
            if result.kind == "nothing":
                out.append(("big", ctx.t("wheel_nothing"), theme.TEXT_SECONDARY))
            else:
                out.append(("body", ctx.t("wheel_won"), theme.CELEBRATION))
                out.append(("big", name, theme.ACCENT))
                if result.kind == "points":
                    out.append(("body", ctx.t("wheel_won_points", points=points(result.points)), theme.SUCCESS))
                else:
                    out.append(("body", ctx.t("wheel_won_voucher"), theme.SUCCESS))
            if result.offline:
                out.append(("small", ctx.t("wheel_offline"), theme.OFFLINE))
        out.append(("body", f"{ctx.t('points')}: {points(state.member.points)}", theme.TEXT_SECONDARY))
        if status.free_left > 0:
            out.append(("body", ctx.t("wheel_free_left", count=status.free_left), theme.TEXT))
        elif status.cost_points > 0 and status.can_spin:
            out.append(("body", ctx.t("wheel_next_cost", points=points(status.cost_points)), theme.TEXT))
        if not status.can_spin and status.reason is not None:
            out.append(("body", ctx.t(f"wheel_why_{status.reason}"), theme.WARNING))
        return out

    def draw_body(self, surface: pygame.Surface) -> None:
        ctx, lay = self.ctx, self.ctx.layout
        surface.blit(self.still, self.wheel_rect)
        area = inset(self.info, lay.margin, 0)
        if self.spin_button is not None:
            area.h = self.spin_button.rect.y - lay.gap * 2 - area.y
        lines = self.lines()
        heights = [round(lay.type_size(style) * 1.4) for style, _, _ in lines]
        # Every line shows: on a short panel they all shrink together rather than the last one going.
        total = sum(heights) + lay.gap * (len(lines) - 1)
        scale = min(1.0, area.h / total) if total else 1.0
        y = area.y
        self.drawn: list[str] = []
        for (style, text, color), h in zip(lines, heights):
            h = max(1, math.floor(h * scale))
            rect = pygame.Rect(area.x, y, area.w, h)
            draw_text(surface, ctx, text, rect, style=style, bold=style != "small", color=color, size=round(h / 1.4))
            self.drawn.append(text)
            y += h + math.floor(lay.gap * scale)
