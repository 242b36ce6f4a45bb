"""HQ's voucher registry (hq.service.vouchers), on SQLite and PostgreSQL: a kiosk's redemption
registers the voucher, a till writes it off once (idempotently, and exactly once when two tills
race), reverses it within the window or cancels it with the points going back where they came from,
and every refusal says why. docs/vouchers.md is the contract."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.engine import Engine

from hq.domain.examples import supermarket_program
from hq.service import till, voucher_keys, vouchers
from hq.service.errors import HqServiceError, IdempotencyConflict
from hq.service.feedback import prepare_member_update
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.service.publications import unsent
from hq.service.reconcile import apply_event
from hq.service.vouchers import AlreadyUsed, ConsumeRequest, Till, VoucherPolicy
from hq.store import tables as t
from kiosk.ledger.vouchers import encode_voucher_code, short_code
from sync.envelope import EnvelopeVerifier
from sync.schemas import EventMessage
from sync.topics import HqTopics, Scope

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
ISSUED = NOW - dt.timedelta(hours=1)
EXPIRES = NOW + dt.timedelta(days=30)
HQ_KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")
KIOSK_KEY = Ed25519PrivateKey.generate()  # kiosk K001's voucher key, store S1
KIOSK_PUBLIC = base64.b64encode(KIOSK_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()
POLICY = VoucherPolicy()
T1, T2 = Till("T1", "S1"), Till("T2", "S1")
OTHER_STORE = Till("T9", "S2")


@pytest.fixture
def hq(engine: Engine) -> Engine:
    """A programme, member M1 with 1,000 points in two lots (500 older, 500 newer), kiosk K001's key."""
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=HQ_KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        add_card(conn, "M1", "DE700001", 1, NOW)
        voucher_keys.add_key(conn, "K001", "S1", KIOSK_PUBLIC, valid_from=NOW - dt.timedelta(days=365), now=NOW)
    for order, at in (("old", NOW - dt.timedelta(days=300)), ("new", NOW - dt.timedelta(days=2))):
        with engine.begin() as conn:
            till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M1", 50_000, at), at)
    return engine


def voucher_code(
    serial: int,
    *,
    value_fen: int = 1_000,
    key: Ed25519PrivateKey = KIOSK_KEY,
    issued_at: dt.datetime = ISSUED,
    expires_at: dt.datetime = EXPIRES,
) -> str:
    return encode_voucher_code(
        key, device_id="K001", serial=serial, issued_at=issued_at, expires_at=expires_at, value_fen=value_fen,
        reward_id="off-10",
    )  # fmt: skip


def redemption(serial: int, points: int = 800, *, offline: bool = False) -> EventMessage:
    """K001's redemption event for voucher K001-<serial>, as kiosk/ledger/redemption.py writes it."""
    payload = {
        "device_id": "K001", "member_id": "M1", "reward_id": "off-10", "points": points,
        "voucher_id": f"K001-{serial}", "voucher_code": voucher_code(serial), "value_fen": 1_000,
        "issued_at": ISSUED.isoformat(), "expires_at": EXPIRES.isoformat(), "card_uid": None,
        "card_counter": None, "rules_version": 1, "offline": offline,
    }  # fmt: skip
    return EventMessage("K001", serial, f"e-K001-{serial}", "redemption", ISSUED, offline, False, payload)


def reconcile(engine: Engine, event: EventMessage) -> str:
    with engine.begin() as conn:
        return apply_event(conn, event, NOW)


def consume(
    engine: Engine,
    till_: Till = T1,
    *,
    code: str | None = None,
    short: str | None = None,
    request_id: str = "r1",
    order: str = "A-1",
    offline_at: dt.datetime | None = None,
    policy: VoucherPolicy = POLICY,
    now: dt.datetime = NOW,
) -> vouchers.Consumed:
    request = ConsumeRequest(request_id, order, code, short, offline_at)
    with engine.begin() as conn:
        return vouchers.consume(conn, till_, policy, request, now)


def refusal(call: Callable[[], object]) -> HqServiceError:
    with pytest.raises(HqServiceError) as refused:
        call()
    return refused.value


def lookup(engine: Engine, *, code: str | None = None, short: str | None = None) -> vouchers.VoucherStatus:
    with engine.connect() as conn:
        return vouchers.lookup(conn, T1, POLICY, NOW, code=code, short=short)


def reverse(
    engine: Engine, voucher_id: str, till_: Till = T1, *, now: dt.datetime = NOW, request_id: str = "v1"
) -> vouchers.VoucherStatus:
    with engine.begin() as conn:
        return vouchers.reverse(conn, till_, POLICY, voucher_id, request_id, "sale voided", now)


def cancel(engine: Engine, voucher_id: str, *, request_id: str = "c1") -> vouchers.VoucherStatus:
    with engine.begin() as conn:
        return vouchers.cancel(conn, Till("operator", None), POLICY, voucher_id, request_id, "member asked", NOW)


def registry_row(engine: Engine, voucher_id: str):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher_id)).first()


def history(engine: Engine, voucher_id: str) -> list[str]:
    h = t.voucher_history.c
    with engine.connect() as conn:
        return list(
            conn.execute(sa.select(h.action).where(h.voucher_id == voucher_id).order_by(h.history_id)).scalars()
        )


def count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def lots(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {lot: int(left) for lot, left in conn.execute(sa.select(t.lots.c.lot_id, t.lots.c.points_left))}


def log_and_tables(engine: Engine, member_id: str = "M1") -> tuple[int, int]:
    """bench/hq_audit.py's two views of a member's points: the event log, and the tables."""
    e, lot, m = t.entries.c, t.lots.c, t.members.c
    with engine.connect() as conn:
        log = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(e.points_delta - e.overdraft_delta), 0)).where(
                e.member_id == member_id
            )
        ).scalar_one()
        left = conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(lot.points_left), 0)).where(lot.member_id == member_id)
        ).scalar_one()
        overdraft = conn.execute(sa.select(m.overdraft_points).where(m.member_id == member_id)).scalar_one()
    return int(log), int(left) - int(overdraft)


def open_alarms(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.kind, r.subject) for r in conn.execute(sa.select(t.alarms).where(t.alarms.c.cleared_at.is_(None)))]


# --- registration from the kiosk's redemption ----------------------------------------------------


def test_a_kiosk_redemption_registers_its_voucher_as_issued_with_code_short_code_value_and_store(hq):
    assert reconcile(hq, redemption(1)) == "applied"
    row = registry_row(hq, "K001-1")
    assert (row.state, row.code, row.short_code) == ("issued", voucher_code(1), short_code(voucher_code(1)))
    assert (row.value_fen, row.store_id, row.member_id, row.points, row.source) == (1_000, "S1", "M1", 800, "kiosk")
    assert history(hq, "K001-1") == ["issued"]


def test_a_registered_voucher_looks_valid_by_its_code_and_by_its_short_code(hq):
    reconcile(hq, redemption(1))
    by_code = lookup(hq, code=voucher_code(1))
    by_short = lookup(hq, short=short_code(voucher_code(1)))
    for found in (by_code, by_short):
        assert (found.verdict, found.voucher_id, found.state, found.registered) == ("valid", "K001-1", "issued", True)
        assert (found.value_fen, found.issuing_store) == (1_000, "S1")


# --- consume -------------------------------------------------------------------------------------


def test_consume_marks_the_voucher_used_with_till_store_order_and_time(hq):
    reconcile(hq, redemption(1))
    done = consume(hq, code=voucher_code(1))
    assert (done.voucher_id, done.state, done.till_id, done.store_id, done.order_no) == (
        "K001-1", "used", "T1", "S1", "A-1",
    )  # fmt: skip
    assert (done.used_at, done.offline, done.replayed) == (NOW.isoformat(), False, False)
    row = registry_row(hq, "K001-1")
    assert (row.state, row.used_till, row.used_store, row.used_order, row.used_at) == ("used", "T1", "S1", "A-1", NOW)
    assert history(hq, "K001-1") == ["issued", "used"]


def test_a_retry_with_the_same_request_id_and_body_gets_the_first_answer_replayed_and_changes_nothing(hq):
    reconcile(hq, redemption(1))
    first = consume(hq, code=voucher_code(1))
    before = [count(hq, table) for table in (t.voucher_history, t.till_requests, t.member_changes)]
    again = consume(hq, code=voucher_code(1), now=NOW + dt.timedelta(minutes=1))
    assert again == dataclasses.replace(first, replayed=True)
    assert [count(hq, table) for table in (t.voucher_history, t.till_requests, t.member_changes)] == before
    assert registry_row(hq, "K001-1").used_at == NOW


def test_the_same_request_id_with_another_body_is_an_idempotency_conflict(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1), order="A-1")
    with pytest.raises(IdempotencyConflict) as refused:
        consume(hq, code=voucher_code(1), order="A-2")
    assert refused.value.code == "idempotency_conflict"
    assert registry_row(hq, "K001-1").used_order == "A-1"


def test_another_request_for_a_used_voucher_is_refused_already_used_at_till_t1(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    refused = refusal(lambda: consume(hq, T2, code=voucher_code(1), request_id="r2", order="B-7"))
    assert isinstance(refused, AlreadyUsed) and refused.code == "already_used"
    assert "already used at till T1" in refused.message
    assert (refused.used["till_id"], refused.used["order_no"]) == ("T1", "A-1")
    assert registry_row(hq, "K001-1").used_till == "T1"


def test_two_tills_racing_for_the_same_voucher_write_it_off_exactly_once(hq):
    # Separate transactions in separate threads, released together: on PostgreSQL a real race
    # for the row lock; on SQLite the write lock serialises them. Twenty vouchers, twenty races.
    serials = range(101, 121)
    for serial in serials:
        reconcile(hq, redemption(serial, points=10))
    start = threading.Barrier(2)

    def attempt(serial: int, till_: Till) -> str:
        start.wait()
        try:
            consume(hq, till_, code=voucher_code(serial), request_id=f"r-{serial}", order=f"{till_.till_id}-{serial}")
        except AlreadyUsed:
            return "already_used"
        return f"used by {till_.till_id}"

    with ThreadPoolExecutor(2) as pool:
        for serial in serials:
            outcomes = sorted(pool.map(attempt, [serial, serial], [T1, T2]))
            assert outcomes[0] == "already_used" and outcomes[1].startswith("used by "), (serial, outcomes)
            winner = outcomes[1].removeprefix("used by ")
            assert registry_row(hq, f"K001-{serial}").used_till == winner
            assert history(hq, f"K001-{serial}").count("used") == 1


# --- reverse -------------------------------------------------------------------------------------


def test_a_write_off_reversed_within_the_window_makes_the_voucher_valid_and_usable_again(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    reversed_ = reverse(hq, "K001-1", now=NOW + dt.timedelta(hours=23))
    assert (reversed_.state, reversed_.verdict, reversed_.used) == ("reversed", "valid", None)
    assert lookup(hq, code=voucher_code(1)).verdict == "valid"
    again = consume(hq, T2, code=voucher_code(1), request_id="r2", order="A-2")
    assert (again.state, again.till_id, again.replayed) == ("used", "T2", False)
    assert history(hq, "K001-1") == ["issued", "used", "reversed", "used"]


def test_reversing_after_the_window_is_refused_reverse_window_passed(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    refused = refusal(lambda: reverse(hq, "K001-1", now=NOW + POLICY.reverse_window + dt.timedelta(seconds=1)))
    assert refused.code == "reverse_window_passed"
    assert registry_row(hq, "K001-1").state == "used"


def test_reversing_a_voucher_that_was_not_used_is_refused_not_used(hq):
    reconcile(hq, redemption(1))
    assert refusal(lambda: reverse(hq, "K001-1")).code == "not_used"
    assert registry_row(hq, "K001-1").state == "issued"


def test_a_till_of_another_store_cannot_reverse_a_write_off_other_till(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    assert refusal(lambda: reverse(hq, "K001-1", OTHER_STORE)).code == "other_till"
    assert registry_row(hq, "K001-1").state == "used"


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_gives_the_redemptions_points_back_to_the_lots_they_came_from(hq):
    before = lots(hq)
    reconcile(hq, redemption(1, points=800))  # 500 from the older lot, 300 from the newer
    assert sorted(lots(hq).values()) == [0, 200]
    cancelled = cancel(hq, "K001-1")
    assert (cancelled.state, cancelled.verdict) == ("cancelled", "cancelled")
    assert lots(hq) == before


def test_cancel_writes_a_voucher_cancel_entry_so_the_log_still_equals_the_tables(hq):
    reconcile(hq, redemption(1, points=800))
    cancel(hq, "K001-1")
    with hq.connect() as conn:
        entry = conn.execute(sa.select(t.entries).where(t.entries.c.kind == "voucher_cancel")).one()
    assert (entry.member_id, entry.ref, entry.points_delta) == ("M1", "K001-1", 800)
    assert log_and_tables(hq) == (1_000, 1_000)


def test_a_used_voucher_cannot_be_cancelled(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    assert refusal(lambda: cancel(hq, "K001-1")).code == "already_used"
    assert registry_row(hq, "K001-1").state == "used" and sum(lots(hq).values()) == 200


def test_a_voucher_cannot_be_cancelled_before_its_kiosks_redemption_arrived(hq):
    consume(hq, code=voucher_code(1))  # HQ hears of it from the till first
    reverse(hq, "K001-1")
    assert refusal(lambda: cancel(hq, "K001-1")).code == "not_reconciled"
    assert registry_row(hq, "K001-1").state == "reversed" and sum(lots(hq).values()) == 1_000


def test_cancelling_a_redemption_whose_overdraft_was_repaid_leaves_no_negative_overdraft(hq):
    # 800 online, then 800 more offline: 200 covered, 600 overdraft, repaid by the next purchase.
    reconcile(hq, redemption(1, points=800))
    reconcile(hq, redemption(2, points=800, offline=True))
    with hq.begin() as conn:
        till.record_purchase(conn, till.Purchase("k-more", "S01", "T1", "more", "M1", 100_000, NOW), NOW)
    cancel(hq, "K001-2")  # the member gets the 800 points back: 200 to their lot, 600 repaid already
    log, tables = log_and_tables(hq)
    with hq.connect() as conn:
        overdraft = conn.execute(sa.select(t.members.c.overdraft_points)).scalar_one()
    assert overdraft == 0, f"overdraft_points is {overdraft} after the cancel"
    assert log == tables == sum(lots(hq).values())


# --- vouchers HQ never heard of ------------------------------------------------------------------


def test_a_signed_voucher_hq_never_heard_of_is_registered_at_consume_up_to_the_cap(hq):
    code = voucher_code(7, value_fen=POLICY.unregistered_cap_fen)
    done = consume(hq, code=code)
    assert (done.voucher_id, done.state, done.value_fen) == ("K001-7", "used", POLICY.unregistered_cap_fen)
    row = registry_row(hq, "K001-7")
    assert (row.source, row.member_id, row.points, row.store_id, row.short_code) == (
        "till", None, None, "S1", short_code(code),
    )  # fmt: skip
    assert history(hq, "K001-7") == ["registered", "used"]


def test_a_voucher_hq_never_heard_of_above_the_cap_is_refused_and_not_registered(hq):
    code = voucher_code(7, value_fen=POLICY.unregistered_cap_fen + 1)
    assert refusal(lambda: consume(hq, code=code)).code == "over_unregistered_cap"
    assert registry_row(hq, "K001-7") is None


def test_the_kiosks_later_redemption_fills_in_member_and_points_keeps_it_used_and_debits_once(hq):
    consume(hq, code=voucher_code(1))
    assert reconcile(hq, redemption(1, points=800)) == "applied"
    row = registry_row(hq, "K001-1")
    assert (row.state, row.used_till, row.member_id, row.points, row.event_id) == ("used", "T1", "M1", 800, "e-K001-1")
    assert sum(lots(hq).values()) == 200
    with hq.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(t.entries.c.kind == "redemption")).scalar_one() == 1
    assert history(hq, "K001-1") == ["registered", "used", "reconciled"]


def test_a_scanned_code_with_line_breaks_is_registered_under_the_kiosks_short_code(hq):
    # QR scanners may break the text into lines (hq/api/voucher_models.py); the code is the same.
    code = voucher_code(7)
    consume(hq, code=f"{code[:80]}\r\n{code[80:]}\n")
    assert registry_row(hq, "K001-7").short_code == short_code(code)
    assert lookup(hq, short=short_code(code)).voucher_id == "K001-7"


# --- codes that are not good vouchers ------------------------------------------------------------


def _edited(engine: Engine) -> str:
    code = voucher_code(1)
    middle = len(code) // 2  # inside the signature
    return code[:middle] + ("B" if code[middle] == "A" else "A") + code[middle + 1 :]


def _signed_by_a_key_hq_does_not_have(engine: Engine) -> str:
    return voucher_code(1, key=Ed25519PrivateKey.generate())


def _signed_by_a_revoked_key(engine: Engine) -> str:
    with engine.begin() as conn:
        voucher_keys.revoke(conn, "K001", "kiosk stolen", public_key_b64=None, now=NOW)
    return voucher_code(1)


def _expired(engine: Engine) -> str:
    return voucher_code(1, issued_at=NOW - dt.timedelta(days=40), expires_at=NOW - dt.timedelta(days=10))


def _malformed(engine: Engine) -> str:
    return "not-a-voucher!"


BAD_CODES = [
    pytest.param(_edited, "invalid", "signature does not match", id="edited"),
    pytest.param(_signed_by_a_key_hq_does_not_have, "invalid", "signature does not match", id="unregistered-key"),
    pytest.param(_signed_by_a_revoked_key, "invalid", "revoked", id="revoked-key"),
    pytest.param(_expired, "expired", "expired at", id="expired"),
    pytest.param(_malformed, "invalid", "base32", id="malformed"),
]


@pytest.mark.parametrize(("make_code", "word", "why"), BAD_CODES)
def test_a_bad_code_is_refused_at_consume_flagged_at_lookup_and_never_registered(hq, make_code, word, why):
    code = make_code(hq)
    refused = refusal(lambda: consume(hq, code=code))
    assert refused.code == word and why in refused.message
    found = lookup(hq, code=code)
    assert (found.verdict, found.registered) == (word, False) and why in found.reason
    assert count(hq, t.vouchers) == 0 and count(hq, t.voucher_history) == 0


def test_a_registered_voucher_of_a_revoked_key_looks_invalid_by_its_short_code_too(hq):
    # The cashier types the short code; consume would refuse it (the key was revoked after a theft),
    # so the lookup must not say valid.
    reconcile(hq, redemption(1))
    with hq.begin() as conn:
        voucher_keys.revoke(conn, "K001", "kiosk stolen", public_key_b64=None, now=NOW)
    assert refusal(lambda: consume(hq, short=short_code(voucher_code(1)))).code == "invalid"
    found = lookup(hq, short=short_code(voucher_code(1)))
    assert found.verdict == "invalid" and "revoked" in found.reason


# --- store scope ---------------------------------------------------------------------------------


def test_a_till_of_another_store_cannot_consume_a_voucher_under_the_store_policy(hq):
    reconcile(hq, redemption(1))
    refused = refusal(lambda: consume(hq, OTHER_STORE, code=voucher_code(1)))
    assert (refused.code, refused.status) == ("other_store", 403)
    assert registry_row(hq, "K001-1").state == "issued"


def test_under_the_fleet_policy_a_till_of_another_store_may_consume_it(hq):
    reconcile(hq, redemption(1))
    done = consume(hq, OTHER_STORE, code=voucher_code(1), policy=VoucherPolicy(till_scope="fleet"))
    assert (done.state, done.till_id, done.store_id) == ("used", "T9", "S2")
    assert registry_row(hq, "K001-1").used_store == "S2"


# --- offline write-offs replayed -----------------------------------------------------------------


def test_an_offline_write_off_of_a_voucher_used_elsewhere_is_refused_and_recorded_once(hq):
    reconcile(hq, redemption(1))
    consume(hq, code=voucher_code(1))
    offline = ConsumeRequest("r-off", "B-9", voucher_code(1), None, NOW - dt.timedelta(hours=2))
    for _ in range(2):  # the till agent replays its journal twice
        with pytest.raises(AlreadyUsed) as refused:
            consume(hq, T2, code=offline.code, request_id=offline.request_id, order=offline.order_no,
                    offline_at=offline.offline_at)  # fmt: skip
        with hq.begin() as conn:  # as the route does: its own transaction, after the refusal
            vouchers.record_offline_double_use(conn, T2, offline, refused.value, NOW)
    assert open_alarms(hq) == [("offline_double_use", "K001-1")]
    assert history(hq, "K001-1") == ["issued", "used", "double_use"]
    with hq.connect() as conn:
        assert vouchers.offline_double_uses(conn) == 1


def test_an_offline_write_off_older_than_seven_days_is_refused_offline_too_old(hq):
    reconcile(hq, redemption(1))
    old = NOW - vouchers.MAX_OFFLINE_AGE - dt.timedelta(minutes=1)
    assert refusal(lambda: consume(hq, code=voucher_code(1), offline_at=old)).code == "offline_too_old"
    assert registry_row(hq, "K001-1").state == "issued"


# --- what the kiosks hear ------------------------------------------------------------------------


def test_the_member_update_after_consume_carries_the_voucher_used_with_time_store_and_till(hq):
    reconcile(hq, redemption(1))
    with hq.begin() as conn:
        prepare_member_update(conn, HQ_KEY, TOPICS, NOW)  # the redemption's own update
    consume(hq, code=voucher_code(1))
    with hq.begin() as conn:
        assert prepare_member_update(conn, HQ_KEY, TOPICS, NOW) is not None
        update = unsent(conn)[-1]
    verifier = EnvelopeVerifier([HQ_KEY.public_key()], device_id="K001", store_id="S1")
    push = verifier.verify(update.payload, expected_type="members_update", topic_scope=Scope.fleet(), now=NOW)
    (entry,) = push.payload["members"]
    (voucher,) = entry["vouchers"]
    assert {k: v for k, v in voucher.items() if k != "at"} == {
        "voucher_id": "K001-1", "state": "used", "store_id": "S1", "till_id": "T1",
    }  # fmt: skip
    assert dt.datetime.fromisoformat(voucher["at"]) == NOW
