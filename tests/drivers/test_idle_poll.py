"""The idle poll (REQA/WUPA into an empty field): what it costs on the bus, and that it stays safe.

Dozens of these run every second on an idle kiosk, so each is kept to seven register accesses
and one wait, the Idle command and the FIFO flush included: they are what stops noise received
between polls from going out with the next request (tests/drivers/test_exchange_hygiene.py).
"""

from __future__ import annotations

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.mfrc522 import Mfrc522
from drivers.transport import open_transport

UID = bytes.fromhex("a1b2c3d4")


def _spied():
    field = Field()
    chip = MFRC522Emulator(field)
    transport = open_transport("emulator", chip=chip, spy=True)
    driver = Mfrc522(transport)
    driver.init()
    return field, chip, transport, driver


def _flushes(trace) -> int:
    return sum(1 for line in trace if line.startswith("W FIFO_LEVEL"))


def test_an_idle_poll_is_seven_register_accesses_and_one_wait():
    _, chip, transport, driver = _spied()
    assert driver.request(wake=True) is None  # the first one also sets the timer
    before = chip.bus_stats.register_accesses
    waits = []
    real_wait = transport.wait
    transport.wait = lambda s: (waits.append(s), real_wait(s))  # type: ignore[method-assign]
    assert driver.request(wake=True) is None
    assert chip.bus_stats.register_accesses - before == 7
    assert len(waits) == 1


def test_a_request_after_silence_still_stops_the_chip_and_flushes_the_fifo_first():
    _, _, transport, driver = _spied()
    driver.request(wake=True)
    transport.trace.clear()
    driver.request(wake=True)
    assert list(transport.trace)[:3] == ["W COMMAND <- 00", "W COM_IRQ <- 7F", "W FIFO_LEVEL <- 80"]


def test_an_answered_request_leaves_the_next_exchange_to_flush_the_fifo():
    field, _, transport, driver = _spied()
    driver.request(wake=True)
    field.present(MifareClassic1K(UID))
    assert driver.request(wake=True) == b"\x04\x00"
    transport.trace.clear()
    info = driver.reselect(UID)  # WUPA and SELECT, after an exchange that left the ATQA read
    assert info.uid == UID
    assert _flushes(transport.trace) >= 1


def test_a_card_that_arrives_during_idle_polling_is_found_by_the_next_poll():
    field, chip, _, driver = _spied()
    for _ in range(3):
        assert driver.activate(wake=True) is None
        chip.advance(0.028)
    field.present(MifareClassic1K(UID))
    chip.advance(0.01)  # past the card's power-up
    info = driver.activate(wake=True)
    assert info is not None and info.uid == UID
