"""The baseline for bench.kiosk: a membership kiosk built the way such kiosks usually are.

Tutorial-style code, on purpose: the `mfrc522` package's `SimpleMFRC522.read_no_block()` is called
once per frame of a pygame loop that redraws the whole screen every frame (fill, render and blit
the text, `pygame.display.flip()`, `clock.tick(30)`). A read card's text (blocks 8-10, as
`SimpleMFRC522.write()` leaves it) is a member id looked up in a dict; the member screen stays
until a "Done" touch or until no card was read for `MEMBER_HOLD_S`.

The reader is the same register-level emulator the real kiosk's simulation uses, behind the
spidev/RPi.GPIO look-alikes of drivers/emulator/pkg_shim.py. They are installed in sys.modules
before the package is imported, which is what the real modules are on a Pi; this file runs as its
own process (`python -m bench.baseline_kiosk --control PATH --font PATH`), so nothing else sees them.

Instrumentation only, not part of the kiosk being compared (and kept off the frame's path):
- a control socket speaking the simulation control protocol's "tap" / "remove" / "intent done"
  (JSON lines, see app/sim_control.py). A card enters the field from the socket's thread at
  whatever moment the command arrives, as a real card would, except while a read is in progress
  (the emulator is not thread-safe); the "tap" reply carries `at_monotonic`, the moment it entered.
- sd_notify datagrams to $NOTIFY_SOCKET: READY=1 after the first frame is flipped, and
  STATUS=<screen> right after the flip that first shows a new screen, like the real kiosk.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

FPS = 30
SIZE = (800, 480)
MEMBER_HOLD_S = 5.0
BLOCK_TEXT_LEN = 48  # SimpleMFRC522 writes blocks 8, 9 and 10

#: Demo members by the id written on their cards: name, tier, points, balance in fen.
MEMBERS: dict[str, tuple[str, str, int, int]] = {
    "M0001": ("王小明", "普通 regular", 1280, 5_000),
    "M0002": ("李娜", "银卡 silver", 5400, 12_050),
    "M0003": ("张伟", "金卡 gold", 22_000, 80_000),
    "M0004": ("陈静", "钻石 diamond", 150_000, 1_200_000),
    "M0005": ("刘洋", "普通 regular", 300, 0),
    "M0006": ("赵丽", "金卡 gold", 18_000, 30_000),
    "M0007": ("孙强", "银卡 silver", 4200, 2_500),
}


def install_emulated_hardware() -> tuple[Any, Any]:
    """Emulated RC522 behind spidev/RPi.GPIO modules; returns (chip, field)."""
    from drivers.emulator import Field, MFRC522Emulator
    from drivers.emulator.pkg_shim import gpio_module, spidev_module

    field = Field()
    chip = MFRC522Emulator(field)
    gpio = gpio_module(chip)
    rpi = types.ModuleType("RPi")
    rpi.GPIO = gpio  # type: ignore[attr-defined]  # a module built at run time: mypy cannot know its attributes
    sys.modules.update({"spidev": spidev_module(chip), "RPi": rpi, "RPi.GPIO": gpio})
    return chip, field


def member_cards() -> dict[int, Any]:
    """Plain MIFARE Classic 1K cards (transport keys), member id in blocks 8-10; keys 1-7."""
    from drivers.emulator import MifareClassic1K

    cards = {}
    for key, member_id in enumerate(MEMBERS, start=1):
        card = MifareClassic1K(bytes([0x3A, 0x00, 0x10, key]))
        text = member_id.ljust(BLOCK_TEXT_LEN).encode("ascii")
        for i, block in enumerate((8, 9, 10)):
            card.set_block(block, text[i * 16 : (i + 1) * 16])
        cards[key] = card
    return cards


class Notify:
    """sd_notify datagrams, like the real kiosk sends them (no-op without $NOTIFY_SOCKET)."""

    def __init__(self) -> None:
        self.address = os.environ.get("NOTIFY_SOCKET")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) if self.address else None

    def send(self, text: str) -> None:
        if self.sock is not None and self.address is not None:  # both set, or neither
            self.sock.sendto(text.encode(), self.address)


class Control:
    """Control socket: the card field is changed from here, under the lock the reads hold."""

    def __init__(self, path: Path, field: Any, cards: dict[int, Any], field_lock: threading.Lock):
        self.field, self.cards, self.field_lock = field, cards, field_lock
        self.done_requested = threading.Event()
        self.present: Any = None
        if path.exists():
            path.unlink()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(2)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def _client(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for raw in stream:
                try:
                    reply = self._run(json.loads(raw))
                except (ValueError, AttributeError, TypeError) as exc:
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                stream.write(json.dumps(reply).encode() + b"\n")
                stream.flush()

    def _run(self, command: dict[str, Any]) -> dict[str, Any]:
        cmd = command.get("cmd")
        if cmd == "tap":
            card = self.cards.get(command["key"]) if "key" in command else None
            if card is None:
                return {"ok": False, "error": f"no card {command.get('key')!r}"}
            with self.field_lock:
                self._take_away()
                self.field.present(card)
                self.present = card
                at = time.monotonic()
            return {"ok": True, "at_monotonic": at} if command.get("stamp") else {"ok": True}
        if cmd == "remove":
            with self.field_lock:
                self._take_away()
            return {"ok": True}
        if cmd == "intent" and command.get("intent") == "done":
            self.done_requested.set()  # what a touch on the member screen's Done button does
            return {"ok": True}
        return {"ok": False, "error": f"unsupported command {command}"}

    def _take_away(self) -> None:
        if self.present is not None:
            self.field.remove(self.present)
            self.present = None


def draw_idle(screen: Any, fonts: dict[str, Any]) -> None:
    screen.fill((20, 24, 40))
    screen.blit(fonts["big"].render("星河湾旗舰店", True, (255, 255, 255)), (60, 60))
    screen.blit(fonts["mid"].render("请刷会员卡  Please tap your card", True, (200, 200, 220)), (60, 200))
    screen.blit(fonts["small"].render(time.strftime("%Y-%m-%d %H:%M:%S"), True, (150, 150, 170)), (60, 400))


def draw_member(screen: Any, fonts: dict[str, Any], member: tuple[str, str, int, int]) -> None:
    name, tier, points, balance_fen = member
    screen.fill((30, 30, 30))
    screen.blit(fonts["big"].render(f"欢迎, {name}", True, (255, 255, 255)), (60, 50))
    screen.blit(fonts["mid"].render(f"等级 Tier: {tier}", True, (255, 215, 0)), (60, 150))
    screen.blit(fonts["mid"].render(f"积分 Points: {points}", True, (220, 220, 220)), (60, 220))
    screen.blit(
        fonts["mid"].render(f"余额 Balance: ¥{balance_fen // 100}.{balance_fen % 100:02d}", True, (220, 220, 220)),
        (60, 290),
    )
    draw_done_button(screen, fonts)


def draw_done_button(screen: Any, fonts: dict[str, Any]) -> None:
    import pygame

    pygame.draw.rect(screen, (70, 130, 180), (560, 380, 200, 70), border_radius=12)
    screen.blit(fonts["mid"].render("完成 Done", True, (255, 255, 255)), (590, 395))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control", type=Path, required=True)
    parser.add_argument("--font", type=Path, required=True)
    args = parser.parse_args(argv)

    _chip, field = install_emulated_hardware()
    import pygame
    from mfrc522 import SimpleMFRC522

    reader = SimpleMFRC522()
    field_lock = threading.Lock()
    control = Control(args.control, field, member_cards(), field_lock)
    notify = Notify()
    running = [True]
    signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))

    pygame.init()
    screen = pygame.display.set_mode(SIZE)
    fonts = {
        "big": pygame.font.Font(str(args.font), 56),
        "mid": pygame.font.Font(str(args.font), 36),
        "small": pygame.font.Font(str(args.font), 24),
    }
    clock = pygame.time.Clock()
    member: tuple[str, str, int, int] | None = None
    last_read = 0.0
    announced: str | None = None

    while running[0]:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                running[0] = False
        with field_lock:
            card_id, text = reader.read_no_block()
        now = time.monotonic()
        if card_id:
            member = MEMBERS.get((text or "").strip(), member)
            last_read = now
        if control.done_requested.is_set():
            control.done_requested.clear()
            member = None
        if member is not None and now - last_read > MEMBER_HOLD_S:
            member = None

        if member is None:
            draw_idle(screen, fonts)
        else:
            draw_member(screen, fonts, member)
        pygame.display.flip()

        shown = "idle" if member is None else "member"
        if announced is None:
            notify.send(f"READY=1\nSTATUS={shown}")
        elif shown != announced:
            notify.send(f"STATUS={shown}")
        announced = shown
        clock.tick(FPS)
    pygame.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
