"""A member snapshot in parts, at the kiosk: signed parts are held until the set is complete and
then applied at once over the real Ledger; a partial set is never applied, parts of two snapshots
are never mixed, the retained parts of the applied set are "current" after a reconnect, and the
kiosk's unacknowledged redemptions keep counting on top of the new snapshot."""

from __future__ import annotations

import pytest

from kiosk.ledger.demo import demo_rules
from sync.envelope import EnvelopeVerifier
from sync.errors import TopicError
from sync.inbound import PushHandler
from sync.state import VersionStore
from sync.topics import HqTopics, KioskTopics, Scope
from tests.sync.conftest import PREFIX, STORE, member_entry
from tests.sync.test_pushes import signed


@pytest.fixture
def kiosk(tmp_path, open_ledger, clock, hq_key):
    ledger = open_ledger("K001")
    ledger.apply_rules(1, demo_rules())
    handler = PushHandler(
        verifier=EnvelopeVerifier([hq_key.public_key()], device_id="K001", store_id=STORE),
        versions=VersionStore(tmp_path / "K001" / "sync-state.sqlite"),
        ledger=ledger,
        clock=clock,
    )
    return handler, ledger


def part(key, first: int, number: int, parts: int, members: list, acked: tuple = (), scope=Scope.fleet()) -> bytes:
    payload = {
        "first_version": first, "part": number, "parts": parts,
        "members": members, "acknowledged_event_ids": list(acked),
    }  # fmt: skip
    return signed(key, "members_part", first + number, payload, scope=scope)


def send(handler, raw: bytes, number: int, scope=Scope.fleet()) -> tuple[str, str | None]:
    result = handler.handle("members_part", scope, raw, part=number)
    return result.status, result.reason


def members_of(ledger) -> set[str]:
    return {row[0] for row in ledger.conn.execute("SELECT member_id FROM members")}


def test_a_snapshot_in_parts_is_applied_once_its_last_part_arrives(kiosk, hq_key):
    handler, ledger = kiosk
    assert send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 0) == ("applied", None)
    assert ledger.member_snapshot_version() is None and members_of(ledger) == set()
    assert send(handler, part(hq_key, 10, 1, 2, [member_entry("M2", 900)]), 1) == ("applied", None)
    assert members_of(ledger) == {"M1", "M2"}
    assert ledger.member_snapshot_version() == 11 and handler.current_version("members") == 11


def test_a_partial_newer_snapshot_is_never_applied_over_the_one_in_force(kiosk, hq_key):
    handler, ledger = kiosk
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 0)
    send(handler, part(hq_key, 10, 1, 2, [member_entry("M2", 900)]), 1)
    assert send(handler, part(hq_key, 20, 0, 2, [member_entry("M3", 100)]), 0) == ("applied", None)
    assert members_of(ledger) == {"M1", "M2"} and ledger.member_snapshot_version() == 11


def test_parts_of_two_snapshots_are_never_mixed(kiosk, hq_key):
    handler, ledger = kiosk
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 0)
    send(handler, part(hq_key, 20, 1, 2, [member_entry("M4", 400)]), 1)  # the newer set's other half
    assert members_of(ledger) == set()
    send(handler, part(hq_key, 20, 0, 2, [member_entry("M3", 300)]), 0)
    assert members_of(ledger) == {"M3", "M4"} and ledger.member_snapshot_version() == 21


def test_a_stale_part_of_an_older_snapshot_is_refused_while_a_newer_one_is_collected(kiosk, hq_key):
    handler, _ = kiosk
    send(handler, part(hq_key, 20, 0, 2, [member_entry("M3", 300)]), 0)
    assert send(handler, part(hq_key, 10, 1, 2, [member_entry("M2", 900)]), 1) == ("rejected", "not_newer")


def test_the_retained_parts_of_the_applied_snapshot_are_current_after_a_reconnect(kiosk, hq_key):
    handler, _ = kiosk
    first, second = part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), part(hq_key, 10, 1, 2, [])
    send(handler, first, 0)
    send(handler, second, 1)
    assert [send(handler, first, 0), send(handler, second, 1)] == [("current", None), ("current", None)]


def test_a_snapshot_older_than_an_update_already_applied_is_not_newer(kiosk, hq_key):
    handler, ledger = kiosk
    update = {"members": [member_entry("M9", 100)], "acknowledged_event_ids": []}
    assert handler.handle("members_update", Scope.fleet(), signed(hq_key, "members_update", 30, update)).status == (
        "applied"
    )
    assert send(handler, part(hq_key, 10, 0, 1, [member_entry("M1", 500)]), 0) == ("rejected", "not_newer")
    assert members_of(ledger) == {"M9"}


def test_a_part_on_another_parts_topic_is_malformed(kiosk, hq_key):
    handler, _ = kiosk
    assert send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 1) == ("rejected", "malformed")


def test_a_part_whose_version_is_not_first_plus_part_is_malformed(kiosk, hq_key):
    handler, _ = kiosk
    payload = {"first_version": 10, "part": 1, "parts": 2, "members": [], "acknowledged_event_ids": []}
    assert send(handler, signed(hq_key, "members_part", 15, payload), 1) == ("rejected", "malformed")


def test_a_part_beyond_the_count_is_malformed(kiosk, hq_key):
    handler, _ = kiosk
    payload = {"first_version": 10, "part": 2, "parts": 2, "members": [], "acknowledged_event_ids": []}
    assert send(handler, signed(hq_key, "members_part", 12, payload), 2) == ("rejected", "malformed")


def test_the_same_part_with_other_content_is_a_conflict(kiosk, hq_key):
    handler, _ = kiosk
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 0)
    assert send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 501)]), 0) == ("rejected", "version_conflict")


def test_an_invalid_member_in_any_part_refuses_the_whole_set(kiosk, hq_key):
    handler, ledger = kiosk
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 500)]), 0)
    assert send(handler, part(hq_key, 10, 1, 2, [{"member_id": "M2"}]), 1) == ("rejected", "invalid_payload")
    assert members_of(ledger) == set() and ledger.member_snapshot_version() is None


def test_an_unacknowledged_redemption_keeps_counting_on_top_of_a_snapshot_in_parts(kiosk, hq_key):
    handler, ledger = kiosk
    ledger.apply_member_snapshot(1, [member_entry("M1", 1_000)], (), full=True)
    ledger.redeem("intent-1", "M1", "off-5", online=False)  # 500 points, not yet acknowledged by HQ
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M1", 2_000)]), 0)
    send(handler, part(hq_key, 10, 1, 2, [member_entry("M2", 900)]), 1)
    assert ledger.member_view("M1").points == 1_500


def test_the_redemption_acknowledged_in_a_part_stops_counting(kiosk, hq_key):
    handler, ledger = kiosk
    ledger.apply_member_snapshot(1, [member_entry("M1", 1_000)], (), full=True)
    ledger.redeem("intent-1", "M1", "off-5", online=False)
    [event] = [e for e in ledger.outbox_pending(10) if e.type == "redemption"]
    send(handler, part(hq_key, 10, 0, 2, [member_entry("M2", 900)]), 0)
    send(handler, part(hq_key, 10, 1, 2, [member_entry("M1", 500)], acked=(event.event_id,)), 1)
    assert ledger.member_view("M1").points == 500


def test_part_topics_parse_to_their_number_and_hq_builds_the_same():
    kiosk = KioskTopics(PREFIX, "K001", STORE)
    topic = HqTopics(PREFIX).member_part(Scope.store(STORE), 3)
    assert topic == f"{PREFIX}/hq/store/{STORE}/members-part/3"
    inbound = kiosk.parse(topic)
    assert (inbound.kind, inbound.doc_type, inbound.part) == ("document", "members_part", 3)
    assert inbound.scope == Scope.store(STORE)


@pytest.mark.parametrize("level", ["03", "-1", "x", "256", "٣"])
def test_part_numbers_outside_the_contract_are_unexpected_topics(level):
    with pytest.raises(TopicError):
        KioskTopics(PREFIX, "K001", STORE).parse(f"{PREFIX}/hq/fleet/members-part/{level}")
