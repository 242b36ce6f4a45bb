"""积分明细 at HQ, on SQLite and PostgreSQL: the member entries HQ sends kiosks carry the member's
last point movements from its event log, newest first, with where each happened, and stay small.

Only movements of points count: a top-up (stored value) and a tier change are not in the list.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.domain.points import member_day_multiplier
from hq.domain.program import parse_program
from hq.service import till, vouchers
from hq.service.feedback import MAX_MEMBERS_PER_UPDATE, prepare_member_update
from hq.service.jobs import expire_due_lots
from hq.service.kiosk_entry import HISTORY_ITEMS, member_entries
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.service.publications import unsent
from hq.service.reconcile import apply_event
from hq.service.vouchers import Till, VoucherPolicy
from sync.envelope import EnvelopeVerifier
from sync.schemas import EventMessage
from sync.topics import HqTopics, Scope

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")
#: The kiosks' push limit (docs/mqtt.md, `max_push_bytes`).
MAX_PUSH_BYTES = 4 * 1024 * 1024


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        add_card(conn, "M1", "DE700001", 1, NOW)
    return engine


def days(n: float) -> dt.datetime:
    return NOW + dt.timedelta(days=n)


def buy(engine, order: str, amount_fen: int, at: dt.datetime, store: str = "S01") -> str:
    with engine.begin() as conn:
        purchase = till.Purchase(f"k-{order}", store, "T1", order, "M1", amount_fen, at, "cash")
        return till.record_purchase(conn, purchase, at).purchase_id


def redeem(engine, seq: int, points: int, at: dt.datetime, *, device: str = "K001") -> str:
    voucher_id = f"{device}-{seq}"
    payload = {
        "device_id": device, "member_id": "M1", "reward_id": "off-10", "points": points, "voucher_id": voucher_id,
        "expires_at": (at + dt.timedelta(days=30)).isoformat(), "card_uid": None, "card_counter": None,
        "rules_version": 1,
    }  # fmt: skip
    with engine.begin() as conn:
        apply_event(conn, EventMessage(device, seq, f"e-{device}-{seq}", "redemption", at, False, False, payload), at)
    return voucher_id


def history(engine, member_id: str = "M1") -> list[dict]:
    with engine.connect() as conn:
        (entry,) = member_entries(conn, [member_id])
    return entry["history"]


def test_a_years_point_movements_newest_first_with_where_each_happened(hq):
    buy(hq, "A1", 50_000, days(-300))  # 500 points at S01
    second = buy(hq, "B1", 1_200, days(-200), store="S02-万象城")  # 12 points
    with hq.begin() as conn:
        till.refund(conn, till.Refund("r-1", second, 600, days(-150)), days(-150))  # 6 points back
        till.topup(conn, till.Topup("t-1", "S01", "T1", "M1", 50_000, days(-120)), days(-120))  # stored value only
    voucher = redeem(hq, 1, 300, days(-100))
    with hq.begin() as conn:
        vouchers.cancel(conn, Till("operator", None), VoucherPolicy(), voucher, "c1", "member asked", days(-90))
    expire_due_lots(hq, days(66))  # the first purchase's lot (365 days) lapses with its 500 points

    assert history(hq) == [
        {"kind": "expire", "points": -500, "at": days(66).astimezone(dt.UTC).isoformat()},
        {"kind": "voucher_cancel", "points": 300, "at": days(-90).astimezone(dt.UTC).isoformat()},
        {"kind": "redemption", "points": -300, "at": days(-100).astimezone(dt.UTC).isoformat(),
         "device_id": "K001", "voucher_id": "K001-1"},
        {"kind": "refund", "points": -6, "at": days(-150).astimezone(dt.UTC).isoformat(), "store_id": "S02-万象城"},
        {"kind": "earn", "points": 12, "at": days(-200).astimezone(dt.UTC).isoformat(), "store_id": "S02-万象城"},
        {"kind": "earn", "points": 500, "at": days(-300).astimezone(dt.UTC).isoformat(), "store_id": "S01"},
    ]  # fmt: skip


def test_times_are_rfc3339_with_an_offset(hq):
    buy(hq, "A1", 10_000, NOW)
    (item,) = history(hq)
    assert dt.datetime.fromisoformat(item["at"]) == NOW  # aware, the same instant


def test_a_redemption_hq_could_only_partly_cover_reads_as_everything_the_member_spent(hq):
    buy(hq, "A1", 10_000, days(-10))  # 100 points
    redeem(hq, 1, 300, days(-1))  # offline at two kiosks: 200 of them are owed (overdraft)
    buy(hq, "A2", 5_000, NOW)  # 50 points, all of them repaying the overdraft first
    assert [(item["kind"], item["points"]) for item in history(hq)] == [
        ("earn", 50),
        ("redemption", -300),
        ("earn", 100),
    ]


def test_only_the_last_items_are_sent_newest_first(hq):
    for n in range(HISTORY_ITEMS + 5):
        buy(hq, f"A{n}", 1_000 + n * 100, days(-100 + n))
    items = history(hq)
    assert len(items) == HISTORY_ITEMS
    program = parse_program(1, supermarket_program())  # member days (会员日) earn double
    expected = [(10 + n) * int(member_day_multiplier(program, days(-100 + n)) or 1) for n in range(HISTORY_ITEMS + 5)]
    assert [item["points"] for item in items] == [expected[n] for n in reversed(range(5, HISTORY_ITEMS + 5))]


def test_a_member_without_point_movements_has_an_empty_history(hq):
    with hq.begin() as conn:
        till.topup(conn, till.Topup("t-1", "S01", "T1", "M1", 50_000, NOW), NOW)
    assert history(hq) == []


def test_the_signed_member_update_carries_the_history(hq):
    buy(hq, "A1", 10_000, NOW)
    with hq.begin() as conn:
        assert prepare_member_update(conn, KEY, TOPICS, NOW) is not None
        update = unsent(conn)[-1]
    verifier = EnvelopeVerifier([KEY.public_key()], device_id="K001", store_id="S01")
    push = verifier.verify(update.payload, expected_type="members_update", topic_scope=Scope.fleet(), now=NOW)
    (entry,) = push.payload["members"]
    assert entry["history"] == [{"kind": "earn", "points": 100, "at": NOW.astimezone(dt.UTC).isoformat(),
                                 "store_id": "S01"}]  # fmt: skip


def test_a_full_history_keeps_a_member_update_of_500_members_far_below_the_kiosks_push_limit(hq):
    # Realistic ids: a store code, a kiosk per store, voucher serials in the hundred thousands.
    for n in range(HISTORY_ITEMS // 2):
        buy(hq, f"A{n}", 123_456, days(-200 + n), store="store-0001")
    for n in range(HISTORY_ITEMS // 2):
        redeem(hq, 100_000 + n, 1_000, days(-50 + n), device="store-0001-kiosk-01")
    items = history(hq)
    assert len(items) == HISTORY_ITEMS
    per_member = len(json.dumps(items, ensure_ascii=False, separators=(",", ":")).encode())
    assert per_member < 2_500  # 86 bytes an earn, 145 a redemption: docs/mqtt.md's estimate
    assert per_member * MAX_MEMBERS_PER_UPDATE < MAX_PUSH_BYTES // 3  # leaves most of the limit to the rest
