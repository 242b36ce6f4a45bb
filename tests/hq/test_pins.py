"""A PIN before spending, at HQ, on SQLite and PostgreSQL: the service desk sets a PIN (HQ keeps and
sends only its salted scrypt hash, which a kiosk's ledger accepts and verifies), a kiosk's
`pin_locked` event locks the member for every kiosk, and an operator's unlock lifts it, also
against a lock event an offline kiosk sends late. The HTTP routes do the same over the API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.api.app import create_app
from hq.domain.examples import supermarket_program
from hq.service import pins
from hq.service.errors import NotFound
from hq.service.kiosk_entry import member_entries
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.store import tables as t
from kiosk.ledger.pin_kdf import parse_pin_hash, verify_pin
from sync.schemas import EventMessage
from sync.topics import HqTopics
from tests.hq.test_api import TOKEN, FixedClock, serving

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        enrol(conn, NewMember("M2", "李四"), NOW)
    return engine


def entry(engine, member_id="M1"):
    with engine.connect() as conn:
        (found,) = member_entries(conn, [member_id])
    return found


def lock_event(seq: int, at: dt.datetime, member_id: str = "M1", device: str = "K1") -> EventMessage:
    payload = {"device_id": device, "member_id": member_id, "failures": 5, "card_uid": "de700001"}
    return EventMessage(device, seq, f"e-{device}-{seq}", "pin_locked", at, False, False, payload)


def reconcile(engine, event):
    with engine.begin() as conn:
        return apply_event(conn, event, NOW)


def entry_kinds(engine, member_id="M1"):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.entries.c.kind, t.entries.c.detail)
            .where(t.entries.c.member_id == member_id, t.entries.c.kind.like("pin_%"))
            .order_by(t.entries.c.entry_id)
        )
        return [(r.kind, r.detail) for r in rows]


def test_hq_stores_and_sends_only_the_salted_hash_which_a_kiosk_verifies(hq):
    with hq.begin() as conn:
        pins.set_pin(conn, "M1", "482916", by="desk-ana", now=NOW)
    sent = entry(hq)
    assert "pin_locked" not in sent and parse_pin_hash(sent["pin_hash"]).n == 2**14
    assert verify_pin("482916", sent["pin_hash"]) and not verify_pin("482917", sent["pin_hash"])
    with hq.connect() as conn:
        stored = conn.execute(sa.select(t.member_pins)).one()
        changes = conn.execute(sa.select(t.member_changes.c.member_id)).scalars().all()
    assert stored.pin_hash == sent["pin_hash"] and "482916" not in repr(tuple(stored))
    assert "pin_hash" not in entry(hq, "M2")  # no PIN set: the key is left out, as for old kiosks
    assert changes.count("M1") == 2  # enrolment, then the PIN: kiosks are told
    assert entry_kinds(hq) == [("pin_set", {"by": "desk-ana", "unlocked": False})]  # who, never the PIN


def test_a_pin_must_be_four_to_six_digits_and_the_member_must_exist(hq):
    for bad in ("123", "1234567", "12a4", ""):
        with pytest.raises(pins.InvalidPin), hq.begin() as conn:
            pins.set_pin(conn, "M1", bad, by="desk", now=NOW)
    with pytest.raises(NotFound), hq.begin() as conn:
        pins.set_pin(conn, "M9", "1234", by="desk", now=NOW)


def test_a_kiosks_lock_reaches_every_kiosk_until_an_operator_unlocks(hq):
    with hq.begin() as conn:
        pins.set_pin(conn, "M1", "482916", by="desk", now=NOW)
    assert reconcile(hq, lock_event(1, NOW)) == "locked"
    assert entry(hq)["pin_locked"] is True
    assert reconcile(hq, lock_event(1, NOW, device="K2")) == "already_locked"  # a second kiosk's too
    with hq.connect() as conn:
        acked = conn.execute(sa.select(t.member_changes.c.event_id).where(t.member_changes.c.event_id.is_not(None)))
        alarms = conn.execute(sa.select(t.alarms.c.kind, t.alarms.c.subject)).all()
    assert sorted(acked.scalars()) == ["e-K1-1", "e-K2-1"]  # both kiosks stop holding their own lock
    assert [tuple(a) for a in alarms] == [("pin_locked", "M1")]  # the desk hears of it once

    with hq.begin() as conn:
        assert pins.unlock(conn, "M1", by="desk-ana", now=NOW + dt.timedelta(hours=1))
        assert not pins.unlock(conn, "M1", by="desk-ana", now=NOW + dt.timedelta(hours=1))  # nothing to lift
    assert "pin_locked" not in entry(hq) and verify_pin("482916", entry(hq)["pin_hash"])
    # An offline kiosk's lock from before the unlock arrives late: recorded, locks nothing.
    assert reconcile(hq, lock_event(2, NOW + dt.timedelta(minutes=30), device="K3")) == "stale"
    assert "pin_locked" not in entry(hq)
    # One made after the unlock is a new lock.
    assert reconcile(hq, lock_event(3, NOW + dt.timedelta(hours=2))) == "locked"
    assert entry(hq)["pin_locked"] is True
    assert [kind for kind, _ in entry_kinds(hq)] == ["pin_set", "pin_locked", "pin_unlocked", "pin_locked"]


def test_a_new_pin_at_the_desk_lifts_the_lock(hq):
    with hq.begin() as conn:
        pins.set_pin(conn, "M1", "482916", by="desk", now=NOW)
    reconcile(hq, lock_event(1, NOW))
    with hq.begin() as conn:
        pins.set_pin(conn, "M1", "111111", by="desk", now=NOW + dt.timedelta(hours=1))
    sent = entry(hq)
    assert "pin_locked" not in sent and verify_pin("111111", sent["pin_hash"])


def test_a_lock_event_for_an_unknown_member_is_an_alarm_not_a_failure(hq):
    assert reconcile(hq, lock_event(1, NOW, member_id="M404")) == "unknown_member"


def test_the_kiosks_ledger_takes_hqs_entries(hq, tmp_path):
    # HQ's own entry format, through the kiosk's snapshot validation: hash and lock arrive intact.
    from kiosk.ledger import Ledger, OfflineLimits
    from kiosk.ledger.demo import demo_rules
    from kiosk.model import PinRequirement

    with hq.begin() as conn:
        pins.set_pin(conn, "M1", "482916", by="desk", now=NOW)
    reconcile(hq, lock_event(1, NOW))

    class Clock:
        def now(self) -> dt.datetime:
            return NOW

    ledger = Ledger.open(
        tmp_path / "k.db", device_id="K1", clock=Clock(), tz=TZ, voucher_key=None,
        offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
    )  # fmt: skip
    try:
        ledger.apply_rules(1, demo_rules() | {"pin": {"required": "always"}})
        ledger.apply_member_snapshot(1, [entry(hq, "M1"), entry(hq, "M2")], full=True)
        assert ledger.pin_requirement("M1", "off-5") is PinRequirement.LOCKED
        assert ledger.pin_requirement("M2", "off-5") is PinRequirement.NOT_SET
    finally:
        ledger.close()


def test_the_http_routes_set_and_unlock(hq):
    app = create_app(hq, clock=FixedClock(), signing_key=KEY, topics=TOPICS, operator_token=TOKEN)
    with serving(app) as url, httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}) as api:
        # PUT a PIN -> 200 set; a PIN of letters -> 422 and nothing stored; no token -> 401.
        put = api.put("/v1/members/M1/pin", json={"pin": "482916", "by": "desk-ana"})
        assert put.status_code == 200, put.text
        assert put.json() == {"member_id": "M1", "pin_set": True, "pin_locked": False}
        assert api.put("/v1/members/M2/pin", json={"pin": "12ab"}).status_code == 422
        assert api.put("/v1/members/M9/pin", json={"pin": "1234"}).status_code == 404
        assert httpx.put(f"{url}/v1/members/M1/pin", json={"pin": "1234"}).status_code == 401
        assert "pin_hash" not in entry(hq, "M2")
        # A kiosk locks; POST unlock -> 200 unlocked, and kiosks are told.
        reconcile(hq, lock_event(1, NOW + dt.timedelta(minutes=1)))
        assert entry(hq)["pin_locked"] is True
        unlocked = api.post("/v1/members/M1/pin/unlock", json={"by": "desk-ana"})
        assert unlocked.status_code == 200, unlocked.text
        assert unlocked.json() == {"member_id": "M1", "pin_set": True, "pin_locked": False}
        assert "pin_locked" not in entry(hq)
        assert api.post("/v1/members/M9/pin/unlock", json={}).status_code == 404
