"""Colours of the kiosk: a dark, high-contrast palette readable from a step away.

Light text on deep navy keeps glare low under shop lighting; the one warm accent marks the action
the shopper most likely wants. Tier colours follow what members know from their cards.
"""

from __future__ import annotations

from dataclasses import dataclass

Color = tuple[int, int, int]

BACKGROUND: Color = (13, 24, 41)
PANEL: Color = (25, 41, 66)
PANEL_RAISED: Color = (36, 56, 88)
DIVIDER: Color = (52, 73, 107)
TEXT: Color = (255, 255, 255)
TEXT_SECONDARY: Color = (176, 192, 214)
TEXT_DISABLED: Color = (112, 128, 150)
TEXT_ON_ACCENT: Color = (24, 18, 4)
ACCENT: Color = (255, 184, 28)
ACCENT_PRESSED: Color = (214, 148, 0)
BUTTON: Color = (52, 76, 114)
BUTTON_DISABLED: Color = (40, 52, 72)
ONLINE: Color = (64, 214, 120)
OFFLINE: Color = (255, 150, 64)
ERROR: Color = (255, 92, 96)
WARNING: Color = (255, 184, 28)
INFO: Color = (96, 176, 255)
SUCCESS: Color = (64, 214, 120)
CELEBRATION: Color = (255, 120, 160)
QR_PAPER: Color = (255, 255, 255)
QR_INK: Color = (0, 0, 0)
PROGRESS_TRACK: Color = (44, 62, 92)


@dataclass(frozen=True)
class TierStyle:
    fill: Color
    text: Color
    edge: Color


TIER_STYLES: dict[str, TierStyle] = {
    "regular": TierStyle(fill=(150, 164, 186), text=(16, 24, 38), edge=(200, 210, 224)),
    "silver": TierStyle(fill=(206, 214, 226), text=(26, 32, 44), edge=(250, 252, 255)),
    "gold": TierStyle(fill=(236, 186, 52), text=(40, 26, 0), edge=(255, 226, 130)),
    "platinum": TierStyle(fill=(178, 196, 214), text=(20, 30, 44), edge=(236, 244, 252)),
    "diamond": TierStyle(fill=(84, 200, 250), text=(4, 30, 52), edge=(190, 240, 255)),
}
_UNKNOWN_TIER = TierStyle(fill=(120, 140, 170), text=(255, 255, 255), edge=(170, 186, 210))


def tier_style(code: str) -> TierStyle:
    """The badge colours for a tier code; HQ may invent tiers, which get a neutral badge."""
    return TIER_STYLES.get(code, _UNKNOWN_TIER)
