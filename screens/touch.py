"""Touch and mouse input turned into gestures in the UI's logical (upright) coordinates.

Real touchscreens deliver FINGERDOWN/FINGERMOTION/FINGERUP with coordinates normalised to 0..1 of
the display; SDL also synthesises mouse events from those, marked `touch=True`, which we drop so
one finger is one tap. A laptop's mouse gives the same gestures. Only the first finger counts.

`Rotation` maps between the display and the logical picture: `degrees` is how far the picture is
turned clockwise to sit on the panel (90 or 270 for a portrait kiosk on a landscape panel).
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from screens.errors import LayoutError

# --- rotation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    degrees: int
    display_size: tuple[int, int]

    def __post_init__(self) -> None:
        if self.degrees not in (0, 90, 180, 270):
            raise LayoutError(f"rotation must be 0, 90, 180 or 270 degrees, not {self.degrees!r}")

    @property
    def logical_size(self) -> tuple[int, int]:
        w, h = self.display_size
        return (h, w) if self.degrees in (90, 270) else (w, h)

    def to_logical(self, x: int, y: int) -> tuple[int, int]:
        lw, lh = self.logical_size
        if self.degrees == 90:
            return (y, lh - 1 - x)
        if self.degrees == 180:
            return (lw - 1 - x, lh - 1 - y)
        if self.degrees == 270:
            return (lw - 1 - y, x)
        return (x, y)

    def to_display(self, x: int, y: int) -> tuple[int, int]:
        lw, lh = self.logical_size
        if self.degrees == 90:
            return (lh - 1 - y, x)
        if self.degrees == 180:
            return (lw - 1 - x, lh - 1 - y)
        if self.degrees == 270:
            return (y, lw - 1 - x)
        return (x, y)

    def rect_to_display(self, rect: pygame.Rect) -> pygame.Rect:
        if self.degrees == 0:
            return pygame.Rect(rect)
        ax, ay = self.to_display(rect.left, rect.top)
        bx, by = self.to_display(rect.right - 1, rect.bottom - 1)
        return pygame.Rect(min(ax, bx), min(ay, by), abs(ax - bx) + 1, abs(ay - by) + 1)


# --- gestures ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Press:
    """A finger (or the mouse button) went down at `pos`."""

    pos: tuple[int, int]
    at: float


@dataclass(frozen=True)
class Tap:
    """Down and up close together: `down` is where it started, `pos` where it ended."""

    down: tuple[int, int]
    pos: tuple[int, int]
    pressed_at: float
    at: float


@dataclass(frozen=True)
class DragBy:
    """The content under the finger moved by `dy` pixels (positive = content moves up)."""

    dy: float


@dataclass(frozen=True)
class Cancel:
    """The press became a drag, or was abandoned: no tap will follow."""


Gesture = Press | Tap | DragBy | Cancel


class TouchTracker:
    """Feeds on pygame events, yields gestures; `slop_px` is how far a tap may wander."""

    def __init__(self, rotation: Rotation, slop_px: int) -> None:
        self.rotation = rotation
        self.slop_px = slop_px
        self._finger: int | None = None  # finger id, or -1 for the mouse
        self._down: tuple[int, int] | None = None
        self._down_at = 0.0
        self._last_y = 0
        self._dragging = False

    def _from_normalised(self, fx: float, fy: float) -> tuple[int, int]:
        w, h = self.rotation.display_size
        x = min(w - 1, max(0, int(fx * w)))
        y = min(h - 1, max(0, int(fy * h)))
        return self.rotation.to_logical(x, y)

    def _from_pixels(self, pos: tuple[int, int]) -> tuple[int, int]:
        w, h = self.rotation.display_size
        return self.rotation.to_logical(min(w - 1, max(0, int(pos[0]))), min(h - 1, max(0, int(pos[1]))))

    def feed(self, event: pygame.event.Event, now: float) -> list[Gesture]:
        kind = event.type
        if kind == pygame.FINGERDOWN:
            return self._down_at_pos(event.finger_id, self._from_normalised(event.x, event.y), now)
        if kind == pygame.FINGERMOTION:
            return self._move(event.finger_id, self._from_normalised(event.x, event.y))
        if kind == pygame.FINGERUP:
            return self._up(event.finger_id, self._from_normalised(event.x, event.y), now)
        if getattr(event, "touch", False):
            return []  # SDL's mouse echo of a finger we already handled
        if kind == pygame.MOUSEBUTTONDOWN and event.button == 1:
            return self._down_at_pos(-1, self._from_pixels(event.pos), now)
        if kind == pygame.MOUSEMOTION and event.buttons and event.buttons[0]:
            return self._move(-1, self._from_pixels(event.pos))
        if kind == pygame.MOUSEBUTTONUP and event.button == 1:
            return self._up(-1, self._from_pixels(event.pos), now)
        if kind == pygame.MOUSEWHEEL:
            return [DragBy(dy=-event.y * self.slop_px * 4)]
        return []

    def _down_at_pos(self, finger: int, pos: tuple[int, int], now: float) -> list[Gesture]:
        if self._finger is not None:
            return []  # a second finger while one is down: ignored
        self._finger, self._down, self._down_at = finger, pos, now
        self._last_y, self._dragging = pos[1], False
        return [Press(pos=pos, at=now)]

    def _move(self, finger: int, pos: tuple[int, int]) -> list[Gesture]:
        if finger != self._finger or self._down is None:
            return []
        out: list[Gesture] = []
        if not self._dragging and abs(pos[1] - self._down[1]) > self.slop_px:
            self._dragging = True
            out.append(Cancel())
        if self._dragging and pos[1] != self._last_y:
            out.append(DragBy(dy=self._last_y - pos[1]))
            self._last_y = pos[1]
        return out

    def _up(self, finger: int, pos: tuple[int, int], now: float) -> list[Gesture]:
        if finger != self._finger or self._down is None:
            return []
        down, dragging = self._down, self._dragging
        self._finger, self._down, self._dragging = None, None, False
        if dragging:
            return []
        if abs(pos[0] - down[0]) > self.slop_px or abs(pos[1] - down[1]) > self.slop_px:
            return [Cancel()]
        return [Tap(down=down, pos=pos, pressed_at=self._down_at, at=now)]
