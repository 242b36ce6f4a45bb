"""Soak: hours of simulated taps, wobbles, removals mid-read, damaged frames and chip hangs, in
modelled time. Invariants: exactly one CardPresented and one CardRemoved per presentation, never
two taps without a removal between them, and the reader always ends up ok.

KIOSK_SOAK_SECONDS sets the modelled duration (default 300 s for CI; 3600+ for a real soak).
"""

from __future__ import annotations

import os
import random

import pytest

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K, ModelClock, Ntag213
from drivers.events import CardPresented, CardRemoved, ReaderHealthChanged
from drivers.mfrc522 import Mfrc522
from drivers.reader_service import ReaderService
from drivers.transport.emulator import EmulatorTransport

FF = b"\xff" * 6
POLL = 0.02
COOLDOWN = 0.5


def read_member(session):
    if session.card_type == "mifare_classic_1k":
        session.authenticate(4, FF)
        return b"".join(session.read_block(b) for b in (4, 5, 6))
    return session.read_pages(4)


@pytest.mark.slow
def test_soak_no_stuck_state_and_no_duplicate_taps():
    seconds = float(os.environ.get("KIOSK_SOAK_SECONDS", "300"))
    rng = random.Random(int(os.environ.get("KIOSK_SOAK_SEED", "2024")))
    chip = MFRC522Emulator(Field())
    service = ReaderService(
        Mfrc522(EmulatorTransport(chip)),
        ModelClock(chip),
        poll_interval_s=POLL,
        cooldown_s=COOLDOWN,
        read_job=read_member,
    )
    events: list = []

    def run_for(duration: float) -> None:
        end = chip.model_time_s + duration
        while chip.model_time_s < end:
            events.extend(service.poll_once())
            chip.advance(POLL)

    cards = [MifareClassic1K(bytes([0x10 + i, 2, 3, 4])) for i in range(5)]
    cards += [Ntag213(bytes([4, 0x20 + i, 3, 4, 5, 6, 7])) for i in range(3)]
    for card in cards[:5]:
        for block in (4, 5, 6):
            card.set_block(block, card.uid * 4)
    run_for(0.1)
    presentations = 0
    while chip.model_time_s < seconds:
        card = rng.choice(cards)
        before = len(events)
        chip.field.present(card)
        presentations += 1
        fault = rng.random()
        if fault < 0.15:
            chip.field.corrupt_next_frames(rng.randint(1, 2), kind=rng.choice(["crc", "parity"]))
        elif fault < 0.25:
            chip.field.remove_after_frames(card, rng.randint(1, 8))  # pulled mid-read...
            run_for(0.05)
            if card not in chip.field.cards:
                chip.field.present(card)  # ...and pushed straight back
        run_for(rng.uniform(0.3, 1.5))
        if rng.random() < 0.15:
            chip.hang(rng.choice(["rf", "bus"]))
            run_for(0.3)
        if rng.random() < 0.2:  # wobble: out and back within the cooldown
            chip.field.remove(card)
            run_for(rng.uniform(0.02, COOLDOWN * 0.5))
            chip.field.present(card)
            run_for(0.2)
        chip.field.remove(card)
        run_for(COOLDOWN + rng.uniform(0.3, 1.0))
        cycle = events[before:]
        taps = [e for e in cycle if isinstance(e, CardPresented)]
        removals = [e for e in cycle if isinstance(e, CardRemoved)]
        assert [t.uid for t in taps] == [card.uid], f"presentation {presentations}: {cycle}"
        assert [r.uid for r in removals] == [card.uid], f"presentation {presentations}: {cycle}"
        expected = card.uid * 12 if isinstance(card, MifareClassic1K) else bytes(16)
        assert taps[0].result == expected, "a tap must carry one complete, unmixed record"
        assert service.health.state == "ok", service.health
    states = [e.state for e in events if isinstance(e, ReaderHealthChanged)]
    assert states[-1] == "ok"
    assert presentations > seconds / 4
