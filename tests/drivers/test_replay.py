"""Replaying a recorded register trace through the real driver (drivers/transport/replay.py).

The committed trace (traces/first-contact-emulator.trace) is the format's example: the
first-contact sequence (power-up, one idle poll, a tap) recorded from the emulator with the spy.
It is replayed here with no chip at all; a trace a technician sends back from a real board
(docs/hardware.md) is replayed the same way. When a deliberate driver change alters the exchange,
re-record it: KIOSK_UPDATE_TRACES=1 .venv/bin/pytest -n 0 tests/drivers/test_replay.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from drivers.emulator import Field, MFRC522Emulator, MifareClassic1K
from drivers.first_contact import FIRST_DATA_BLOCK, first_contact
from drivers.mfrc522 import Mfrc522
from drivers.transport.emulator import EmulatorTransport
from drivers.transport.replay import ReplayTransport, TraceFormatError, TraceMismatch, parse_trace
from drivers.transport.spy import SpyTransport

TRACE = Path(__file__).parent / "traces" / "first-contact-emulator.trace"
UID = bytes.fromhex("a1b2c3d4")
BLOCK = b"first contact!!!"
HEADER = """\
# kiosk reader trace, format: drivers/transport/replay.py (SpyTransport's lines)
# source: the register-level emulator, MFRC522 v2.0 (VersionReg 0x92), card MIFARE Classic 1K a1b2c3d4
# sequence: drivers.first_contact (power-up, one idle poll, tap: select, auth block 4 key FF, read, halt)
# re-record: KIOSK_UPDATE_TRACES=1 .venv/bin/pytest -n 0 tests/drivers/test_replay.py
"""


def _record() -> str:
    chip = MFRC522Emulator(Field())
    spy = SpyTransport(EmulatorTransport(chip), keep=100_000)
    card = MifareClassic1K(UID)
    card.set_block(FIRST_DATA_BLOCK, BLOCK)

    def put_card_down() -> bool:
        chip.field.present(card)
        chip.advance(0.01)  # past the card's power-up
        return True

    result = first_contact(Mfrc522(spy), card_present=put_card_down)
    assert result.block == BLOCK, result
    return HEADER + "\n".join(spy.trace) + "\n"


@pytest.fixture(scope="module")
def trace_text() -> str:
    if os.environ.get("KIOSK_UPDATE_TRACES") == "1":
        TRACE.write_text(_record(), encoding="utf-8")
    return TRACE.read_text(encoding="utf-8")


def _replay(text: str, **driver_args) -> tuple[ReplayTransport, object]:
    replay = ReplayTransport(parse_trace(text), source=TRACE.name)
    result = first_contact(Mfrc522(replay, **driver_args), wait_s=1.0, sleep=lambda s: None)
    return replay, result


def test_the_committed_trace_replays_through_the_real_driver_to_the_recorded_card_data(trace_text):
    replay, result = _replay(trace_text)
    replay.finish()  # every recorded step was used
    assert (result.version, result.idle_poll, result.uid, result.block) == (0x92, None, UID, BLOCK)


def test_the_committed_trace_holds_a_power_up_an_idle_poll_and_a_tap(trace_text):
    lines = [line for line in trace_text.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "R VERSION -> 92"
    assert "W COMMAND <- 0F" in lines  # soft reset at power-up
    assert sum(line == "W FIFO_DATA <- 52" for line in lines) >= 2  # the idle poll and the tap's WUPA
    assert any(line.startswith("W FIFO_DATA <- 60 04") for line in lines)  # AUTH A block 4


def test_a_write_the_trace_does_not_hold_names_the_step_and_both_sides(trace_text):
    with pytest.raises(TraceMismatch) as caught:
        _replay(trace_text, rx_gain=7)  # RFCfgReg gets another value than on the recorded board
    message = str(caught.value)
    assert "step " in message and "line " in message
    assert "the trace has 'W RF_CFG <- 48'" in message and "the driver did 'W RF_CFG <- 78'" in message


def test_a_driver_that_stops_early_or_runs_past_the_end_is_reported(trace_text):
    steps = parse_trace(trace_text)
    replay = ReplayTransport(steps[:5])
    with pytest.raises(TraceMismatch, match="the trace ended"):
        first_contact(Mfrc522(replay), wait_s=1.0, sleep=lambda s: None)
    short = ReplayTransport(steps)
    Mfrc522(short).read_version()
    with pytest.raises(TraceMismatch, match="stopped at step 2"):
        short.finish()


def test_lines_copied_from_the_kiosk_log_replay_like_the_trace_itself(trace_text):
    body = [line for line in trace_text.splitlines() if line and not line.startswith("#")]
    text_log = "\n".join(
        ["INFO app.bootstrap: reader ready"] + [f"DEBUG drivers.transport.spy: {line}" for line in body]
    )
    json_log = "\n".join(
        [json.dumps({"level": "INFO", "logger": "app.bootstrap", "msg": "reader ready"})]
        + [json.dumps({"level": "DEBUG", "logger": "drivers.transport.spy", "msg": line}) for line in body]
    )
    for log in (text_log, json_log):
        assert [step.text for step in parse_trace(log)] == [step.text for step in parse_trace("\n".join(body))]
        replay, result = _replay(log)
        replay.finish()
        assert result.block == BLOCK


def test_a_line_that_is_no_register_access_is_a_format_error_naming_the_line():
    with pytest.raises(TraceFormatError, match="trace line 2"):
        parse_trace("R VERSION -> 92\nR VERSION => 92\n")
