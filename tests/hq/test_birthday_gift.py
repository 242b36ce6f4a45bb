"""The birthday gift (生日礼) at HQ, on SQLite and PostgreSQL: a kiosk's `birthday_gift` event is
validated field by field and applied once (the voucher registered for the till with reward
"birthday-gift" and no cost, the member's `birthday_gift_year`, a 0-point entry in HQ's history); a
second claim of the year from another kiosk is kept and flagged, never lost; claims that disagree
with the rules or the birthday are applied and flagged; and HQ's member update makes a real kiosk
ledger refuse a second claim that year.

The supermarket programme's gift: 3,000 fen, valid 30 days, claimable 7 days from the birthday.
M1's birthday is 1 December; NOW, 3 December 2026, is in its 2026 window."""

from __future__ import annotations

import datetime as dt
import itertools
from base64 import b64encode
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.domain.examples import supermarket_program
from hq.service import voucher_keys, vouchers
from hq.service.feedback import prepare_member_update
from hq.service.kiosk_entry import member_entries
from hq.service.listener_store import SqlListenerStore
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.store import tables as t
from hq.store.migrations import MIGRATIONS, migrate
from kiosk.ledger import BirthdayGiftRefused, Ledger, OfflineLimits
from kiosk.ledger.birthday import event_id_for
from kiosk.ledger.vouchers import encode_voucher_code, voucher_id
from sync.schemas import EventMessage
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
DAY = dt.timedelta(days=1)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")
KIOSK_KEYS = {device: Ed25519PrivateKey.generate() for device in ("K001", "K002", "K003")}
_serials = itertools.count(1)
_seqs = itertools.count(1)
_received = itertools.count()


@pytest.fixture
def hq(engine):
    """The supermarket programme (version 1, with its birthday gift), member M1 born 1 December,
    kiosks K001 and K002 with voucher keys in store S1."""
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW - 400 * DAY, by="test")
        enrol(conn, NewMember("M1", "王小明", birthday="1990-12-01"), NOW - 400 * DAY)
        for device in ("K001", "K002"):
            public = KIOSK_KEYS[device].public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            voucher_keys.add_key(conn, device, "S1", b64encode(public).decode(), valid_from=NOW - 365 * DAY, now=NOW)
    return engine


def gift_event(
    *,
    device: str = "K001",
    member: str = "M1",
    year: int = 2026,
    at: dt.datetime = NOW,
    value_fen: int = 3000,
    validity_days: int = 30,
    offline: bool = False,
    claim_id: str | None = None,
    changes: dict[str, Any] | None = None,
) -> EventMessage:
    """A `birthday_gift` event as kiosk/ledger/birthday.py writes it; `changes` replace payload
    fields as they are (None removes one)."""
    claim_id = claim_id or f"claim-{next(_serials)}"
    serial = next(_serials)
    expires = at + dt.timedelta(days=validity_days)
    code = encode_voucher_code(
        KIOSK_KEYS[device], device_id=device, serial=serial, issued_at=at, expires_at=expires,
        value_fen=value_fen, reward_id="birthday-gift",
    )  # fmt: skip
    payload: dict[str, Any] = {
        "device_id": device, "claim_id": claim_id, "member_id": member, "year": year,
        "voucher": {"voucher_id": voucher_id(device, serial), "voucher_code": code, "reward_id": "birthday-gift",
                    "value_fen": value_fen, "issued_at": at.isoformat(), "expires_at": expires.isoformat()},
        "rules_version": 1, "offline": offline,
    }  # fmt: skip
    for key, value in (changes or {}).items():
        if value is None:
            payload.pop(key, None)
        else:
            payload[key] = value
    return EventMessage(
        device, next(_seqs), event_id_for(device, claim_id), "birthday_gift", at, offline, False, payload
    )


def record(engine, *events: EventMessage) -> None:
    """Store events as HQ's listener does, each call a second after the last."""
    SqlListenerStore(engine, apply_event).record_events(list(events), NOW + dt.timedelta(seconds=next(_received)))


def outcomes(engine) -> list[str]:
    with engine.connect() as conn:
        e = t.kiosk_events.c
        return list(conn.execute(sa.select(e.outcome).order_by(e.received_at, e.seq)).scalars())


def member(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.members).where(t.members.c.member_id == "M1")).one()


def registered(engine, voucher: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher)).one()


def gifts(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.birthday_gifts).order_by(t.birthday_gifts.c.at)).all()


def write_off(conn, code: str, till_id: str = "T1", request_id: str = "r1") -> vouchers.Consumed:
    """A till in store S1 consumes the voucher `code`, a day after NOW."""
    request = vouchers.ConsumeRequest(request_id, f"A-{request_id}", code=code)
    return vouchers.consume(conn, vouchers.Till(till_id, "S1"), vouchers.VoucherPolicy(), request, NOW + DAY)


def open_alarms(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.kind, r.subject) for r in conn.execute(sa.select(t.alarms).where(t.alarms.c.cleared_at.is_(None)))]


def alarm_detail(engine, kind: str) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.alarms.c.detail).where(t.alarms.c.kind == kind)).scalar_one()


def kiosk(tmp_path, engine, device: str) -> Ledger:
    """A real kiosk ledger with HQ's rules and member M1 as HQ sends them."""
    ledger = Ledger.open(
        tmp_path / f"{device}.db", device_id=device, clock=FixedClock(), tz=TZ, voucher_key=KIOSK_KEYS[device],
        offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
    )  # fmt: skip
    ledger.apply_rules(1, supermarket_program()["kiosk"])
    with engine.connect() as conn:
        ledger.apply_member_snapshot(1, member_entries(conn, ["M1"]), full=True)
    return ledger


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


def sent(ledger: Ledger) -> list[EventMessage]:
    """The kiosk's pending events as its link sends them."""
    return [
        EventMessage(ledger.device_id, e.seq, e.event_id, e.type, e.created_at, e.offline, False, e.payload)
        for e in ledger.outbox_pending(10)
    ]


# --- applied once ----------------------------------------------------------------------------------


def test_a_claims_voucher_is_registered_for_the_till_with_the_birthday_reward_and_no_cost(hq):
    event = gift_event()
    record(hq, event)
    assert outcomes(hq) == ["applied"]
    voucher = event.payload["voucher"]
    row = registered(hq, voucher["voucher_id"])
    assert (row.state, row.reward_id, row.value_fen, row.points) == ("issued", "birthday-gift", 3000, 0)
    assert (row.member_id, row.store_id, row.event_id, row.code) == ("M1", "S1", event.event_id,
                                                                     voucher["voucher_code"])  # fmt: skip


def test_a_till_writes_a_birthday_voucher_off_once(hq):
    event = gift_event()
    record(hq, event)
    code = event.payload["voucher"]["voucher_code"]
    with hq.begin() as conn:
        done = write_off(conn, code)
    assert (done.state, done.reward_id, done.value_fen) == ("used", "birthday-gift", 3000)
    with pytest.raises(vouchers.AlreadyUsed), hq.begin() as conn:
        write_off(conn, code, "T2", "r2")


def test_a_claim_records_the_members_birthday_gift_year(hq):
    record(hq, gift_event())
    assert member(hq).birthday_gift_year == 2026


def test_a_late_claim_of_an_earlier_year_leaves_the_later_year(hq):
    record(hq, gift_event(year=2027, at=NOW + 365 * DAY))
    record(hq, gift_event(device="K002", year=2026, offline=True))
    assert outcomes(hq) == ["applied", "applied"]
    assert member(hq).birthday_gift_year == 2027


def test_the_same_claim_under_another_sequence_number_is_a_duplicate_that_changes_nothing(hq):
    event = gift_event()
    record(hq, event)
    again = EventMessage(event.device_id, event.seq + 1000, event.event_id, event.type, event.created_at, False,
                         False, event.payload)  # fmt: skip
    record(hq, again)
    assert outcomes(hq) == ["applied", "duplicate"]
    assert len(gifts(hq)) == 1 and open_alarms(hq) == []


def test_a_claim_is_a_zero_point_entry_in_hqs_history(hq):
    event = gift_event()
    record(hq, event)
    with hq.connect() as conn:
        entry = conn.execute(sa.select(t.entries).where(t.entries.c.kind == "birthday_gift")).one()
    assert (entry.points_delta, entry.ref, entry.rules_version) == (0, event.payload["voucher"]["voucher_id"], 1)
    assert (entry.detail["year"], entry.detail["device_id"], entry.detail["value_fen"]) == (2026, "K001", 3000)


def test_a_claim_is_not_a_point_movement_in_the_kiosks_history(hq):
    record(hq, gift_event())
    with hq.connect() as conn:
        (entry,) = member_entries(conn, ["M1"])
    assert entry["history"] == []


def test_a_claim_for_an_unknown_member_raises_an_alarm(hq):
    record(hq, gift_event(member="M404"))
    assert outcomes(hq) == ["unknown_member"]
    assert ("unknown_member", "M404") in open_alarms(hq)


# --- a second claim of the year --------------------------------------------------------------------


def test_a_second_claim_of_the_year_from_another_kiosk_is_kept_and_flagged(hq):
    first, second = gift_event(device="K001", offline=True), gift_event(device="K002", offline=True)
    record(hq, first)
    record(hq, second)
    assert outcomes(hq) == ["applied", "duplicate_year"]
    assert [row.duplicate for row in gifts(hq)] == [False, True]
    assert registered(hq, second.payload["voucher"]["voucher_id"]).state == "issued"  # the member holds it
    assert ("birthday_gift_duplicate", "M1") in open_alarms(hq)
    assert f"after event {first.event_id}" in alarm_detail(hq, "birthday_gift_duplicate")


def test_two_kiosks_offline_both_give_the_gift_and_hq_keeps_both_vouchers(hq, tmp_path):
    """Through real kiosk ledgers: K001 and K002 both hold M1 without a claim, both are offline,
    both give the gift; HQ applies both and flags the second."""
    k1, k2 = kiosk(tmp_path, hq, "K001"), kiosk(tmp_path, hq, "K002")
    v1 = k1.claim_birthday_gift("c1", "M1", online=False)
    v2 = k2.claim_birthday_gift("c2", "M1", online=False)
    record(hq, *sent(k1))
    record(hq, *sent(k2))
    assert outcomes(hq) == ["applied", "duplicate_year"]
    assert {registered(hq, v.voucher_id).reward_id for v in (v1, v2)} == {"birthday-gift"}
    k1.close()
    k2.close()


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"year": 1899}, "year: must be an integer from 1900 to 9999"),
        ({"year": "2026"}, "year: must be an integer"),
        ({"member_id": "M" * 65}, "member_id: must be 1 to 64 printable characters"),
        ({"claim_id": ""}, "claim_id: must be 1 to 100 printable characters"),
        ({"device_id": "K999"}, "device_id: 'K999' is not the sending kiosk"),
        ({"offline": 0}, "offline: must be true or false"),
        ({"rules_version": 0}, "rules_version: must be an integer from 1"),
        ({"voucher": None}, "payload.voucher: is required"),
        ({"cake": True}, "payload.cake: unknown key"),
        ({"voucher": "K001-1"}, "voucher must be an object"),
    ],
)
def test_a_malformed_claim_is_refused_with_a_bad_event_alarm_naming_the_field(hq, changes, reason):
    record(hq, gift_event(changes=changes))
    assert outcomes(hq) == ["malformed"]
    assert reason in alarm_detail(hq, "bad_event")
    assert (gifts(hq), member(hq).birthday_gift_year) == ([], None)


def test_a_voucher_with_another_reward_is_refused(hq):
    event = gift_event()
    record(hq, gift_event(changes={"voucher": {**event.payload["voucher"], "reward_id": "off-10"}}))
    assert "voucher.reward_id: must be 'birthday-gift', got 'off-10'" in alarm_detail(hq, "bad_event")


def test_a_voucher_whose_code_is_not_its_own_is_refused(hq):
    other = gift_event().payload["voucher"]["voucher_code"]
    event = gift_event()
    record(hq, gift_event(changes={"voucher": {**event.payload["voucher"], "voucher_code": other}}))
    assert "voucher.voucher_code: does not carry this voucher's id" in alarm_detail(hq, "bad_event")


def test_a_claim_under_a_rules_version_hq_never_published_is_refused(hq):
    record(hq, gift_event(changes={"rules_version": 7}))
    assert outcomes(hq) == ["malformed"]
    assert "rules_version 7 is no programme of HQ's with a birthday gift" in alarm_detail(hq, "bad_event")


# --- claims that disagree with the rules or the birthday -------------------------------------------


def test_a_claim_outside_the_members_birthday_window_is_applied_and_flagged(hq):
    event = gift_event(at=NOW + 10 * DAY)
    record(hq, event)
    assert outcomes(hq) == ["mismatch"]
    assert registered(hq, event.payload["voucher"]["voucher_id"]).state == "issued"
    assert "claimed on 2026-12-13 for 2026, outside the window of birthday 1990-12-01" in gifts(hq)[0].mismatch
    assert ("birthday_mismatch", "K001") in open_alarms(hq)


def test_a_claim_whose_voucher_is_not_the_rules_gift_is_applied_and_flagged(hq):
    record(hq, gift_event(value_fen=50_000, validity_days=365))
    assert outcomes(hq) == ["mismatch"]
    assert "voucher value 50000 fen, the rules say 3000" in gifts(hq)[0].mismatch
    assert "the rules say 30 days" in gifts(hq)[0].mismatch


# --- what kiosks are told --------------------------------------------------------------------------


def test_the_member_entry_carries_the_birthday_gift_year_and_the_vouchers_state(hq):
    event = gift_event()
    record(hq, event)
    with hq.begin() as conn:
        write_off(conn, event.payload["voucher"]["voucher_code"])
        (entry,) = member_entries(conn, ["M1"])
    assert entry["birthday_gift_year"] == 2026
    assert [(v["voucher_id"], v["state"]) for v in entry["vouchers"]] == [(event.payload["voucher"]["voucher_id"],
                                                                          "used")]  # fmt: skip


def test_hqs_update_makes_another_kiosk_refuse_a_second_claim_that_year(hq, tmp_path):
    """The loop through real kiosk ledgers: K001 gives the gift and sends the event; HQ applies it;
    K002, which never saw the claim, applies HQ's member update and refuses the member's claim."""
    k1, k2 = kiosk(tmp_path, hq, "K001"), kiosk(tmp_path, hq, "K002")
    k1.claim_birthday_gift("c1", "M1", online=True)
    record(hq, *sent(k1))
    with hq.begin() as conn:
        assert prepare_member_update(conn, KEY, TOPICS, NOW) is not None
        entries = member_entries(conn, ["M1"])
        acked = list(conn.execute(sa.select(t.kiosk_events.c.event_id)).scalars())
    k2.apply_member_snapshot(2, entries, acked)
    gift = k2.member_view("M1").birthday_gift
    assert gift is not None and gift.claimed
    with pytest.raises(BirthdayGiftRefused, match="claimed"):
        k2.claim_birthday_gift("c2", "M1", online=True)
    k1.close()
    k2.close()


def test_the_kiosk_that_gave_the_gift_still_refuses_it_after_hq_acknowledged_the_event(hq, tmp_path):
    k1 = kiosk(tmp_path, hq, "K001")
    k1.claim_birthday_gift("c1", "M1", online=True)
    record(hq, *sent(k1))
    with hq.begin() as conn:
        entries = member_entries(conn, ["M1"])
        acked = list(conn.execute(sa.select(t.kiosk_events.c.event_id)).scalars())
    k1.apply_member_snapshot(2, entries, acked)
    with pytest.raises(BirthdayGiftRefused, match="claimed"):
        k1.claim_birthday_gift("c2", "M1", online=True)
    k1.close()


# --- migration -------------------------------------------------------------------------------------


def test_migration_8_adds_the_birthday_gift_column_and_table_to_a_version_7_database(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE birthday_gifts"))
        conn.execute(sa.text("ALTER TABLE members DROP COLUMN birthday_gift_year"))
    (step,) = [m for m in MIGRATIONS if m.version == 8]
    with engine.begin() as conn:
        step.apply(conn)
    with engine.begin() as conn:
        step.apply(conn)  # a database the initial step created with the column: nothing to add
        columns = {c["name"] for c in sa.inspect(conn).get_columns("members")}
        assert "birthday_gift_year" in columns and sa.inspect(conn).has_table("birthday_gifts")
    assert migrate(engine) == []
