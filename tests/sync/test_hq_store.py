"""HQ's event store: deduplication by (device_id, seq) forever; acks cover everything HQ holds."""

import datetime as dt

from sync.acks import AckedEvent
from sync.hq.store import HqStore
from sync.schemas import EventMessage

AT = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.UTC)


def event(seq, event_id=None, device="K001"):
    return EventMessage(device, seq, event_id or f"e-{device}-{seq}", "redemption", AT, False, False, {"points": 100})


def test_new_events_are_stored_and_acknowledged(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    result = store.record_events([event(1), event(2)], AT)
    assert len(result.new) == 2
    assert result.acknowledged_by_device() == {"K001": [AckedEvent(1, "e-K001-1"), AckedEvent(2, "e-K001-2")]}


def test_a_resent_event_is_a_duplicate_but_still_acknowledged(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    store.record_events([event(1)], AT)
    result = store.record_events([event(1)], AT)
    assert (len(result.new), len(result.duplicates)) == (0, 1)
    assert result.acknowledged_by_device() == {"K001": [AckedEvent(1, "e-K001-1")]}
    assert store.event_count() == 1


def test_deduplication_survives_reopening_the_database_whatever_time_passed(tmp_path):
    HqStore(tmp_path / "hq.sqlite").record_events([event(1)], AT)
    years_later = AT + dt.timedelta(days=3 * 365)
    result = HqStore(tmp_path / "hq.sqlite").record_events([event(1)], years_later)
    assert len(result.duplicates) == 1


def test_same_seq_from_another_device_is_a_different_event(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    result = store.record_events([event(1), event(1, device="K002")], AT)
    assert len(result.new) == 2


def test_a_reused_seq_with_another_event_id_is_kept_as_a_conflict(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    store.record_events([event(1)], AT)
    result = store.record_events([event(1, event_id="e-other")], AT)
    assert len(result.conflicts) == 1 and store.conflict_count() == 1
    assert store.events("K001")[0]["event_id"] == "e-K001-1"


def test_gaps_count_sequence_numbers_that_never_arrived(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    store.record_events([event(1), event(2), event(5)], AT)
    assert store.gaps("K001") == 2


def test_published_versions_only_go_up(tmp_path):
    store = HqStore(tmp_path / "hq.sqlite")
    assert store.next_version("rules") == 1
    store.record_published("rules", 4)
    store.record_published("rules", 2)
    assert store.next_version("rules") == 5 and store.next_version("rules", at_least=9) == 9
