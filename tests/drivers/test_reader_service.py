"""Tap detection against the emulator, in modelled time: one event per presentation, clean
retries, removal after the cooldown, recovery of a hung chip."""

from __future__ import annotations

import pytest

from drivers.emulator import MifareClassic1K, ModelClock, Ntag213
from drivers.errors import CardTimeout
from drivers.events import CardPresented, CardRemoved, ReaderHealthChanged, ReadFailed
from drivers.reader_service import ReaderService
from tests.drivers.rigs import make_rig

POLL = 0.05
COOLDOWN = 0.5
FF = b"\xff" * 6
UID = bytes.fromhex("a1b2c3d4")


def read_member(session):
    """A member-record read: three blocks of sector 1 (or four NTAG pages)."""
    if session.card_type == "mifare_classic_1k":
        session.authenticate(4, FF)
        return b"".join(session.read_block(b) for b in (4, 5, 6))
    return session.read_pages(4)


def classic(uid: bytes = UID, fill: bytes = b"m") -> MifareClassic1K:
    card = MifareClassic1K(uid)
    for block in (4, 5, 6):
        card.set_block(block, fill * 16)
    return card


class Harness:
    def __init__(self, kind: str = "emulator") -> None:
        self.rig = make_rig(kind, init=False)
        self.field, self.chip = self.rig.field, self.rig.chip
        self.service = ReaderService(
            self.rig.driver, ModelClock(self.chip), poll_interval_s=POLL, cooldown_s=COOLDOWN, read_job=read_member
        )
        self.log: list = []

    def poll(self, times: int = 1) -> list:
        out = []
        for _ in range(times):
            out += self.service.poll_once()
            self.chip.advance(POLL)
        self.log += out
        return out

    def taps(self, events) -> list:
        return [e for e in events if isinstance(e, CardPresented)]


@pytest.fixture(params=["emulator", "spi", "uart"])
def h(request):
    harness = Harness(request.param)
    harness.poll()
    yield harness
    harness.rig.close()


def test_first_poll_reports_the_reader_ok():
    harness = Harness()
    events = harness.poll()
    assert [(e.state) for e in events if isinstance(e, ReaderHealthChanged)] == ["ok"]
    assert harness.service.health.version == 0x92


def test_a_presented_card_gives_exactly_one_tap_with_the_full_record(h):
    h.field.present(classic())
    events = h.poll(40)
    taps = h.taps(events)
    assert len(taps) == 1
    assert (taps[0].uid, taps[0].card_type, taps[0].result) == (UID, "mifare_classic_1k", b"m" * 48)
    assert taps[0].at.tzinfo is not None


def test_a_7_byte_uid_tag_is_one_tap(h):
    tag = Ntag213(bytes.fromhex("04112233445566"))
    tag.set_page(4, b"NTAG")
    h.field.present(tag)
    taps = h.taps(h.poll(20))
    assert len(taps) == 1 and taps[0].card_type == "ntag213" and taps[0].result[:4] == b"NTAG"


def test_a_card_left_on_the_reader_never_repeats(h):
    h.field.present(classic())
    h.poll(2)
    assert h.poll(200) == []


def test_removal_is_reported_once_after_the_cooldown(h):
    card = classic()
    h.field.present(card)
    h.poll(2)
    h.field.remove(card)
    removed_at = h.chip.model_time_s
    while h.chip.model_time_s - removed_at < 0.6 * COOLDOWN:  # modelled time: UART polls are slow
        assert h.poll() == []
    later = h.poll(int(COOLDOWN / POLL) + 5)
    assert [type(e) for e in later] == [CardRemoved] and later[0].uid == UID


def test_re_presenting_within_the_cooldown_is_the_same_tap(h):
    card = classic()
    h.field.present(card)
    h.poll(2)
    h.field.remove(card)
    removed_at = h.chip.model_time_s
    while h.chip.model_time_s - removed_at < 0.3 * COOLDOWN:
        h.poll()
    h.field.present(card)
    assert h.poll(40) == []


def test_re_presenting_after_the_cooldown_is_a_new_tap(h):
    card = classic()
    h.field.present(card)
    h.poll(2)
    h.field.remove(card)
    h.poll(20)
    h.field.present(card)
    assert len(h.taps(h.poll(3))) == 1


def test_a_damaged_frame_mid_read_is_retried_into_one_complete_result():
    h = Harness()
    runs = []

    def damaged_once(session):
        runs.append(session.uid)
        session.authenticate(4, FF)
        first = session.read_block(4)
        if len(runs) == 1:
            h.field.corrupt_next_frames(1)  # the second block of the first run arrives damaged
        return first + session.read_block(5) + session.read_block(6)

    h.service.read_job = damaged_once
    h.poll()
    h.field.present(classic())
    taps = h.taps(h.poll(3))
    assert [t.result for t in taps] == [b"m" * 48]
    assert len(runs) == 2 and h.service.health.counts["read_retries"] == 1


def test_card_pulled_mid_read_gives_read_failed_and_no_tap():
    h = Harness()
    h.poll()
    card = classic()
    h.field.present(card)
    h.field.remove_after_frames(card, 6)  # WUPA, anticollision, SELECT, AUTH x2, first READ
    events = h.poll(30)
    assert h.taps(events) == []
    failures = [e for e in events if isinstance(e, ReadFailed)]
    assert len(failures) == 1 and failures[0].uid == UID
    assert not any(isinstance(e, CardRemoved) for e in events)


def test_a_card_swapped_mid_read_never_mixes_two_cards_data():
    h = Harness()
    h.poll()
    first = classic(UID, b"a")
    h.field.present(first)
    h.field.remove_after_frames(first, 7)
    second = classic(bytes.fromhex("11223344"), b"b")
    h.poll(1)
    h.field.present(second)
    events = h.poll(30)
    results = [(e.uid, e.result) for e in h.taps(events)]
    assert results == [(bytes.fromhex("11223344"), b"b" * 48)]


def test_two_cards_at_once_are_reported_once_then_the_survivor_is_read():
    h = Harness()
    h.poll()
    first, second = classic(), classic(bytes.fromhex("11223344"))
    h.field.present(first)
    h.field.present(second)
    events = h.poll(20)
    assert [e.uid for e in events if isinstance(e, ReadFailed)] == [None]
    h.field.remove(second)
    taps = h.taps(h.poll(3))
    assert [t.uid for t in taps] == [UID]


def test_a_hung_chip_recovers_without_a_duplicate_tap(h):
    h.field.present(classic())
    h.poll(2)
    h.chip.hang("rf")
    events = h.poll(10)
    states = [e.state for e in events if isinstance(e, ReaderHealthChanged)]
    assert states == ["recovering", "ok"]
    assert h.taps(events) == []
    assert h.service.health.counts["recoveries"] == 1


def test_a_dead_bus_recovers_through_the_reset_pin(h):
    h.chip.hang("bus")
    events = h.poll(60)
    states = [e.state for e in events if isinstance(e, ReaderHealthChanged)]
    assert states == ["recovering", "ok"]
    assert h.chip.resets["hard"] >= 1


def test_a_chip_that_never_comes_back_is_reported_failed():
    h = Harness()
    h.poll()
    h.chip.hang("dead")
    h.poll(2000)
    health = h.service.health
    assert health.state == "failed"
    assert "recovery attempt" in health.last_error


def test_with_card_runs_a_job_on_the_presented_card(h):
    card = classic()
    h.field.present(card)
    h.poll(2)

    def write(session):
        session.authenticate(4, FF)
        session.write_block(4, b"w" * 16)
        return "done"

    assert h.service.with_card(write) == "done"
    assert card.block(4) == b"w" * 16
    assert h.poll(20) == []  # the write did not turn into a second tap


def test_with_card_when_the_card_has_gone_is_card_timeout(h):
    card = classic()
    h.field.present(card)
    h.poll(2)
    h.field.remove(card)
    with pytest.raises(CardTimeout):
        h.service.with_card(lambda session: None)


def test_health_counts_taps_and_removals():
    h = Harness()
    h.poll()
    card = classic()
    for _ in range(3):
        h.field.present(card)
        h.poll(3)
        h.field.remove(card)
        h.poll(20)
    counts = h.service.health.counts
    assert (counts["taps"], counts["removals"]) == (3, 3)
