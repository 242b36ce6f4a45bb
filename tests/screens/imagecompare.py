"""Compare a rendered surface with a reference PNG kept in tests/screens/reference/.

Fonts rasterise the same way on the same machine, but not bit-for-bit across FreeType versions,
so a small budget of differing pixels is allowed. On a mismatch the actual image and a
side-by-side (reference | actual | differences in red) are written to tests/screens/_actual/.
References are rewritten only when KIOSK_UPDATE_REFERENCE=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pygame
from PIL import Image, ImageChops

HERE = Path(__file__).resolve().parent
REFERENCE_DIR = HERE / "reference"
ACTUAL_DIR = HERE / "_actual"

#: A pixel differs when one of its channels is off by more than this (anti-aliasing noise is less).
CHANNEL_TOLERANCE = 40
#: Share of pixels that may differ before the images count as different.
PIXEL_BUDGET = 0.002


def to_image(surface: pygame.Surface) -> Image.Image:
    return Image.frombytes("RGB", surface.get_size(), pygame.image.tobytes(surface, "RGB"))


def differing_pixels(a: Image.Image, b: Image.Image) -> tuple[int, Image.Image]:
    diff = ImageChops.difference(a, b)
    r, g, bl = diff.split()
    worst = ImageChops.lighter(ImageChops.lighter(r, g), bl)
    mask = worst.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    return mask.histogram()[255], mask


def side_by_side(reference: Image.Image, actual: Image.Image, mask: Image.Image) -> Image.Image:
    w, h = actual.size
    out = Image.new("RGB", (w * 3, h), (255, 0, 255))
    out.paste(reference, (0, 0))
    out.paste(actual, (w, 0))
    highlight = Image.composite(Image.new("RGB", (w, h), (255, 0, 0)), actual.convert("L").convert("RGB"), mask)
    out.paste(highlight, (w * 2, 0))
    return out


def assert_matches_reference(surface: pygame.Surface, name: str) -> None:
    actual = to_image(surface)
    reference_path = REFERENCE_DIR / f"{name}.png"
    if os.environ.get("KIOSK_UPDATE_REFERENCE") == "1":
        REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
        actual.save(reference_path, optimize=True)
        return
    ACTUAL_DIR.mkdir(parents=True, exist_ok=True)
    if not reference_path.exists():
        actual.save(ACTUAL_DIR / f"{name}.png")
        raise AssertionError(
            f"no reference image {reference_path.name}; look at _actual/{name}.png and "
            f"run with KIOSK_UPDATE_REFERENCE=1 to accept it"
        )
    reference = Image.open(reference_path).convert("RGB")
    if reference.size != actual.size:
        actual.save(ACTUAL_DIR / f"{name}.png")
        raise AssertionError(f"{name}: size {actual.size} differs from the reference {reference.size}")
    count, mask = differing_pixels(reference, actual)
    budget = int(PIXEL_BUDGET * actual.size[0] * actual.size[1])
    if count > budget:
        actual.save(ACTUAL_DIR / f"{name}.png")
        side_by_side(reference, actual, mask).save(ACTUAL_DIR / f"{name}_sidebyside.png")
        raise AssertionError(
            f"{name}: {count} pixels differ from the reference (budget {budget}); "
            f"see tests/screens/_actual/{name}_sidebyside.png"
        )
