"""Drawing primitives shared by the screens: text that fits, buttons, badges, bars, QR, icons.

Everything takes rectangles computed by the caller from the layout; nothing here knows a panel
size. Text is rendered through a small cache because the same labels are drawn on every full
redraw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import pygame
import pygame.gfxdraw

from kiosk.model import TierInfo, local
from kiosk.ui_state import Intent
from screens import theme
from screens.context import RenderContext
from screens.layout import inset

Align = Literal["left", "center", "right"]
ButtonKind = Literal["primary", "secondary", "danger"]

# --- text --------------------------------------------------------------------------------

_TEXT_CACHE: dict[tuple, pygame.Surface] = {}
_TEXT_CACHE_LIMIT = 600


def render_text(ctx: RenderContext, text: str, size: int, color: theme.Color, bold: bool = False) -> pygame.Surface:
    key = (str(ctx.fonts.path), text, size, color, bold)
    surf = _TEXT_CACHE.get(key)
    if surf is None:
        if len(_TEXT_CACHE) >= _TEXT_CACHE_LIMIT:
            _TEXT_CACHE.clear()
        surf = ctx.fonts.get(size, bold).render(text, True, color)
        _TEXT_CACHE[key] = surf
    return surf


def forget_rendered() -> None:
    """Drop cached text and QR images: called when a session ends so no member data lingers."""
    _TEXT_CACHE.clear()
    qr_surface.cache_clear()


def fit_text(
    ctx: RenderContext,
    text: str,
    size: int,
    max_width: int,
    color: theme.Color,
    bold: bool = False,
    min_scale: float = 0.6,
) -> pygame.Surface:
    """Render `text` at `size`, shrinking to fit `max_width`, then cutting with an ellipsis."""
    surf = render_text(ctx, text, size, color, bold)
    if surf.get_width() <= max_width:
        return surf
    # Glyph widths do not scale exactly linearly with size, so step down until it fits.
    shrunk = int(size * max_width / surf.get_width())
    while shrunk >= max(8, size * min_scale):
        surf = render_text(ctx, text, shrunk, color, bold)
        if surf.get_width() <= max_width:
            return surf
        shrunk -= max(1, shrunk // 20)
    small = max(8, int(size * min_scale))
    for cut in range(len(text) - 1, 0, -1):
        surf = render_text(ctx, text[:cut].rstrip() + "…", small, color, bold)
        if surf.get_width() <= max_width:
            return surf
    return render_text(ctx, "…", small, color, bold)


def blit_aligned(
    surface: pygame.Surface,
    surf: pygame.Surface,
    rect: pygame.Rect,
    align: Align = "left",
    valign: Literal["top", "center", "bottom"] = "center",
) -> pygame.Rect:
    x = {"left": rect.x, "center": rect.centerx - surf.get_width() // 2, "right": rect.right - surf.get_width()}[align]
    y = {"top": rect.y, "center": rect.centery - surf.get_height() // 2, "bottom": rect.bottom - surf.get_height()}[
        valign
    ]
    return surface.blit(surf, (x, y))


def draw_text(
    surface: pygame.Surface,
    ctx: RenderContext,
    text: str,
    rect: pygame.Rect,
    *,
    style: str = "body",
    color: theme.Color = theme.TEXT,
    bold: bool = False,
    align: Align = "left",
    valign: Literal["top", "center", "bottom"] = "center",
    size: int | None = None,
    min_scale: float = 0.6,
) -> pygame.Rect:
    """Draw one line of text fitted into `rect`; returns the rectangle actually covered.

    Text that is too wide shrinks down to `min_scale` of its size, then is cut with "…"; give
    numbers a small `min_scale` so they are never cut.
    """
    px = size or ctx.layout.type_size(style)
    surf = fit_text(ctx, text, px, rect.w, color, bold, min_scale)
    return blit_aligned(surface, surf, rect, align, valign)


def _is_cjk(ch: str) -> bool:
    code = ord(ch)
    return 0x2E80 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0xFF00 <= code <= 0xFFEF


def wrap_lines(ctx: RenderContext, text: str, size: int, max_width: int, bold: bool = False) -> list[str]:
    """Break `text` into lines no wider than `max_width`: between words, or anywhere in Chinese."""
    font = ctx.fonts.get(size, bold)
    tokens: list[str] = []
    word = ""
    for ch in text:
        if _is_cjk(ch):
            if word:
                tokens.append(word)
                word = ""
            tokens.append(ch)
        elif ch == " ":
            tokens.append(word + " ")
            word = ""
        else:
            word += ch
    if word:
        tokens.append(word)
    lines, line = [], ""
    for token in tokens:
        candidate = line + token
        if line and font.size(candidate.rstrip())[0] > max_width:
            # Chinese punctuation must not start a line.
            if token in "，。！？、；：）》":
                lines.append(candidate.rstrip())
                line = ""
                continue
            lines.append(line.rstrip())
            line = token
        else:
            line = candidate
    if line.strip():
        lines.append(line.rstrip())
    return lines


def draw_paragraph(
    surface: pygame.Surface,
    ctx: RenderContext,
    text: str,
    rect: pygame.Rect,
    *,
    style: str = "body",
    color: theme.Color = theme.TEXT,
    align: Align = "center",
    max_lines: int = 3,
    bold: bool = False,
) -> pygame.Rect:
    """Wrapped text, vertically centred in `rect`; returns the area used."""
    size = ctx.layout.type_size(style)
    lines = wrap_lines(ctx, text, size, rect.w, bold)
    if 1 < len(lines) <= max_lines:
        # Balance the lines (no lone character on the last one): the narrowest width that
        # still needs no more lines.
        low, high = rect.w // len(lines), rect.w
        while high - low > 4:
            mid = (low + high) // 2
            if len(wrap_lines(ctx, text, size, mid, bold)) <= len(lines):
                high = mid
            else:
                low = mid
        lines = wrap_lines(ctx, text, size, high, bold)
    lines = lines[:max_lines]
    line_h = round(size * 1.35)
    top = rect.centery - line_h * len(lines) // 2
    used = pygame.Rect(rect.x, top, 0, 0)
    for i, line in enumerate(lines):
        row = pygame.Rect(rect.x, top + i * line_h, rect.w, line_h)
        used.union_ip(draw_text(surface, ctx, line, row, size=size, color=color, align=align, bold=bold))
    return used


# --- buttons -----------------------------------------------------------------------------


@dataclass
class Button:
    """A touch target: its rectangle, what it says and the intent a tap on it produces."""

    rect: pygame.Rect
    label: str
    intent: Intent | None
    kind: ButtonKind = "secondary"
    enabled: bool = True
    key: str = ""  # stable name for tests and for the UI's own actions (e.g. "locale")

    def hit(self, pos: tuple[int, int]) -> bool:
        return self.enabled and self.rect.collidepoint(pos)


def draw_button(surface: pygame.Surface, ctx: RenderContext, button: Button, pressed: bool = False) -> pygame.Rect:
    fill, text = {
        "primary": (theme.ACCENT, theme.TEXT_ON_ACCENT),
        "secondary": (theme.BUTTON, theme.TEXT),
        "danger": (theme.ERROR, theme.TEXT),
    }[button.kind]
    if not button.enabled:
        fill, text = theme.BUTTON_DISABLED, theme.TEXT_DISABLED
    elif pressed:
        fill = theme.ACCENT_PRESSED if button.kind == "primary" else theme.PANEL_RAISED
    rect = button.rect
    pygame.draw.rect(surface, fill, rect, border_radius=ctx.layout.radius * 2)
    if button.kind == "secondary" and button.enabled:
        pygame.draw.rect(
            surface, theme.DIVIDER, rect, width=max(1, int(ctx.layout.unit // 3)), border_radius=ctx.layout.radius * 2
        )
    size = min(ctx.layout.type_size("button"), int(rect.h * 0.5))
    label = fit_text(ctx, button.label, size, rect.w - 2 * ctx.layout.gap, text, bold=True)
    blit_aligned(surface, label, rect, "center", "center")
    return rect


def footer_buttons(
    ctx: RenderContext, specs: list[tuple[str, Intent | None, ButtonKind, float]], key_prefix: str = ""
) -> list[Button]:
    """Lay out footer buttons left to right with width weights; each at least the minimum target."""
    lay = ctx.layout
    band = inset(lay.footer, lay.margin, (lay.footer.h - lay.button_height) // 2)
    from screens.layout import split_columns  # local: keeps widgets' import list short

    cols = split_columns(band, [w for *_, w in specs], lay.gap * 2)
    out = []
    for (label, intent, kind, _), rect in zip(specs, cols):
        out.append(
            Button(
                rect=rect,
                label=label,
                intent=intent,
                kind=kind,
                key=key_prefix + type(intent).__name__.lower() if intent else key_prefix,
            )
        )
    return out


# --- status, badge, progress --------------------------------------------------------------


def status_width(ctx: RenderContext, online: bool) -> int:
    """How wide `draw_status` draws: screens lay out the header around it before drawing."""
    size = ctx.layout.type_size("small")
    label_w = ctx.fonts.get(size, True).size(ctx.t("online" if online else "offline"))[0]
    return max(4, size // 3) * 2 + ctx.layout.gap + label_w


def draw_status(
    surface: pygame.Surface, ctx: RenderContext, online: bool, rect: pygame.Rect, align: Align = "right"
) -> pygame.Rect:
    """A coloured dot and "在线"/"离线": offline is said in words, not colour alone."""
    size = ctx.layout.type_size("small")
    color = theme.ONLINE if online else theme.OFFLINE
    label = render_text(ctx, ctx.t("online" if online else "offline"), size, color, bold=True)
    dot_r = max(4, size // 3)
    width = status_width(ctx, online)
    x = rect.right - width if align == "right" else rect.x
    cy = rect.centery
    pygame.gfxdraw.filled_circle(surface, x + dot_r, cy, dot_r, color)
    pygame.gfxdraw.aacircle(surface, x + dot_r, cy, dot_r, color)
    if not online:
        pygame.gfxdraw.filled_circle(surface, x + dot_r, cy, max(1, dot_r // 2), theme.BACKGROUND)
    surface.blit(label, (x + dot_r * 2 + ctx.layout.gap, cy - label.get_height() // 2))
    return pygame.Rect(x, rect.y, width, rect.h)


def _badge_parts(ctx: RenderContext, tier: TierInfo, height: int) -> tuple[pygame.Surface, int, int, int]:
    style = theme.tier_style(tier.code)
    label = render_text(ctx, local(tier.name, ctx.locale), max(10, int(height * 0.56)), style.text, bold=True)
    pad = int(height * 0.5)
    gem = int(height * 0.22)
    return label, pad, gem, label.get_width() + pad * 2 + gem * 2 + pad // 2


def tier_badge_width(ctx: RenderContext, tier: TierInfo, height: int) -> int:
    return _badge_parts(ctx, tier, height)[3]


def draw_tier_badge(
    surface: pygame.Surface,
    ctx: RenderContext,
    tier: TierInfo,
    topleft: tuple[int, int],
    height: int,
    align: Align = "left",
) -> pygame.Rect:
    """A pill in the tier's colour with a gem mark and the tier's name."""
    style = theme.tier_style(tier.code)
    label, pad, gem, width = _badge_parts(ctx, tier, height)
    x = topleft[0] - width if align == "right" else topleft[0]
    rect = pygame.Rect(x, topleft[1], width, height)
    pygame.draw.rect(surface, style.fill, rect, border_radius=height // 2)
    pygame.draw.rect(surface, style.edge, rect, width=max(2, height // 18), border_radius=height // 2)
    # The gem before the name makes the badge read as a badge even in greyscale.
    cx, cy = rect.x + pad + gem, rect.centery
    pygame.draw.polygon(surface, style.text, [(cx, cy - gem), (cx + gem, cy), (cx, cy + gem), (cx - gem, cy)])
    surface.blit(label, (cx + gem + pad // 2, cy - label.get_height() // 2))
    return rect


def draw_progress(
    surface: pygame.Surface, rect: pygame.Rect, fraction: float, color: theme.Color = theme.ACCENT
) -> pygame.Rect:
    radius = rect.h // 2
    pygame.draw.rect(surface, theme.PROGRESS_TRACK, rect, border_radius=radius)
    fraction = max(0.0, min(1.0, fraction))
    if fraction > 0:
        filled = pygame.Rect(rect.x, rect.y, max(rect.h, round(rect.w * fraction)), rect.h)
        pygame.draw.rect(surface, color, filled, border_radius=radius)
    return rect


def draw_panel(
    surface: pygame.Surface, ctx: RenderContext, rect: pygame.Rect, color: theme.Color = theme.PANEL
) -> pygame.Rect:
    pygame.draw.rect(surface, color, rect, border_radius=ctx.layout.radius * 2)
    return rect


# --- QR ----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def qr_surface(code: str, max_side: int) -> pygame.Surface:
    """The voucher code as a QR symbol (never Micro QR: tills and phones cannot all read it).

    Modules are whole pixels (nearest-neighbour scaling) so the symbol stays crisp; the 4-module
    quiet zone is part of the surface.
    """
    import segno  # only the voucher screen needs it: ~2 MB less resident while idle

    qr = segno.make_qr(code, error="m")
    side_modules = qr.symbol_size(scale=1, border=4)[0]
    scale = max(1, max_side // side_modules)
    small = pygame.Surface((side_modules, side_modules))
    small.fill(theme.QR_PAPER)
    for y, row in enumerate(qr.matrix_iter(scale=1, border=4)):
        for x, dark in enumerate(row):
            if dark:
                small.set_at((x, y), theme.QR_INK)
    return pygame.transform.scale(small, (side_modules * scale, side_modules * scale))


# --- icons (supersampled once, then cached) ---------------------------------------------------

_SUPERSAMPLE = 3


def _smooth(draw, side: int) -> pygame.Surface:
    big = pygame.Surface((side * _SUPERSAMPLE, side * _SUPERSAMPLE), pygame.SRCALPHA)
    draw(big, side * _SUPERSAMPLE)
    return pygame.transform.smoothscale(big, (side, side))


@lru_cache(maxsize=32)
def notice_icon(symbol: str, color: theme.Color, side: int) -> pygame.Surface:
    """A filled disc with "!", "×", "i" or "⟳"-free simple glyphs drawn as shapes (font-independent)."""

    def draw(s: pygame.Surface, n: int) -> None:
        c = n // 2
        pygame.draw.circle(s, color, (c, c), c)
        ink = theme.BACKGROUND
        w = max(2, n // 11)
        if symbol == "!":
            pygame.draw.rect(
                s, ink, pygame.Rect(c - w // 2 - w // 4, int(n * 0.2), w + w // 2, int(n * 0.42)), border_radius=w
            )
            pygame.draw.circle(s, ink, (c, int(n * 0.75)), int(w * 0.8))
        elif symbol == "x":
            d = int(n * 0.2)
            pygame.draw.line(s, ink, (c - d, c - d), (c + d, c + d), w + w // 2)
            pygame.draw.line(s, ink, (c - d, c + d), (c + d, c - d), w + w // 2)
        elif symbol == "i":
            pygame.draw.circle(s, ink, (c, int(n * 0.27)), int(w * 0.8))
            pygame.draw.rect(
                s, ink, pygame.Rect(c - w // 2 - w // 4, int(n * 0.4), w + w // 2, int(n * 0.4)), border_radius=w
            )
        elif symbol == "ok":
            pts = [(int(n * 0.28), int(n * 0.52)), (int(n * 0.44), int(n * 0.68)), (int(n * 0.73), int(n * 0.36))]
            pygame.draw.lines(s, ink, False, pts, w + w // 2)

    return _smooth(draw, side)


@lru_cache(maxsize=8)
def card_icon(width: int) -> pygame.Surface:
    """A membership card seen at a slant: rounded card, chip and contactless waves."""
    height = int(width * 0.63)

    def draw(s: pygame.Surface, n: int) -> None:
        k = n / width
        card = pygame.Rect(0, int((n - height * k) / 2), n, int(height * k))
        pygame.draw.rect(s, theme.ACCENT, card, border_radius=int(n * 0.07))
        stripe = pygame.Rect(card.x, card.y + int(card.h * 0.62), card.w, int(card.h * 0.1))
        pygame.draw.rect(s, (255, 210, 110), stripe)
        chip = pygame.Rect(card.x + int(n * 0.12), card.y + int(card.h * 0.22), int(n * 0.17), int(card.h * 0.26))
        pygame.draw.rect(s, (120, 84, 10), chip, border_radius=int(n * 0.025))
        cx, cy = card.x + int(n * 0.72), card.y + int(card.h * 0.35)
        for i in range(3):
            r = int(n * (0.06 + 0.06 * i))
            pygame.draw.arc(
                s,
                theme.TEXT_ON_ACCENT,
                pygame.Rect(cx - r, cy - r, 2 * r, 2 * r),
                -math.pi / 4,
                math.pi / 4,
                max(2, int(n * 0.018)),
            )

    return _smooth(draw, width)
