"""The prize wheel (幸运大转盘) at HQ, on SQLite and PostgreSQL: a kiosk's `wheel_spin` event is
validated field by field and applied once (its cost debited oldest lot first, an overdraft
flagged; points won into a lot; a won voucher registered for the till; `wheel` entries in the
member's history); free spins are counted fleet-wide and sent to kiosks, a second free spin of
the day from another kiosk is kept and flagged; and HQ's member update brings a real kiosk ledger
to the right points after its own spin."""

from __future__ import annotations

import datetime as dt
from base64 import b64encode

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from hq.domain.examples import supermarket_program
from hq.service import till, voucher_keys, vouchers
from hq.service.feedback import prepare_member_update
from hq.service.kiosk_entry import member_entries
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.store import tables as t
from hq.store.migrations import MIGRATIONS, migrate
from kiosk.ledger import Ledger, OfflineLimits
from sync.schemas import EventMessage
from sync.topics import HqTopics
from tests.hq.wheel_events import EGGS, NOW, PTS_10, THANKS, TZ, kiosk_key, record, spin_event

pytestmark = pytest.mark.integration
DAY = dt.timedelta(days=1)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")


@pytest.fixture
def hq(engine):
    """The supermarket programme (version 1, with its wheel), member M1 with 100 points in two lots
    (40 older, 60 newer), kiosk K001's voucher key in store S1."""
    public = kiosk_key("K001").public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW - 400 * DAY, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW - 400 * DAY)
        voucher_keys.add_key(conn, "K001", "S1", b64encode(public).decode(), valid_from=NOW - 365 * DAY, now=NOW)
    for order, amount, at in (("old", 4_000, NOW - 300 * DAY), ("new", 6_000, NOW - 2 * DAY)):
        with engine.begin() as conn:
            till.record_purchase(conn, till.Purchase(f"k-{order}", "S01", "T1", order, "M1", amount, at), at)
    return engine


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


def outcomes(engine) -> list[str]:
    with engine.connect() as conn:
        e = t.kiosk_events.c
        return list(conn.execute(sa.select(e.outcome).order_by(e.received_at, e.seq)).scalars())


def lots(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.lots.c.lot_id, t.lots.c.points_left).where(t.lots.c.member_id == "M1"))
        return {lot_id: int(left) for lot_id, left in rows}


def member(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.members).where(t.members.c.member_id == "M1")).one()


def wheel_entries(engine) -> list[tuple[int, int]]:
    """(points_delta, overdraft_delta) of M1's `wheel` entries, in order."""
    e = t.entries.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(e.points_delta, e.overdraft_delta).where(e.kind == "wheel").order_by(e.entry_id))
        return [(int(a), int(b)) for a, b in rows]


def spins(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.wheel_spins).order_by(t.wheel_spins.c.at)).all()


def open_alarms(engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [(r.kind, r.subject) for r in conn.execute(sa.select(t.alarms).where(t.alarms.c.cleared_at.is_(None)))]


def alarm_detail(engine, kind: str) -> str:
    with engine.connect() as conn:
        return conn.execute(sa.select(t.alarms.c.detail).where(t.alarms.c.kind == kind)).scalar_one()


# --- applied once ----------------------------------------------------------------------------------


def test_a_spin_is_stored_for_the_audit_with_its_draw_and_weights(hq):
    event = spin_event(draw=PTS_10 + 100 * 7)
    record(hq, event)
    assert outcomes(hq) == ["applied"]
    (row,) = spins(hq)
    assert (row.event_id, row.device_id, row.member_id, row.day, row.free) == (event.event_id, "K001", "M1",
                                                                               "2026-12-03", True)  # fmt: skip
    assert (row.draw, row.prize_id, row.points, row.rules_version, row.mismatch) == (755, "pts-10", 10, 1, None)
    assert row.weights == [["thanks", 55], ["pts-10", 30], ["eggs", 12], ["off-20", 3]]


def test_the_same_event_resent_is_applied_once(hq):
    event = spin_event(free=False, draw=PTS_10)
    record(hq, event)
    record(hq, event)
    assert outcomes(hq) == ["applied"]
    assert wheel_entries(hq) == [(-5, 0), (10, 0)]


def test_the_same_spin_under_another_sequence_number_is_a_duplicate_that_changes_nothing(hq):
    event = spin_event(free=False, draw=PTS_10)
    record(hq, event)
    again = EventMessage(event.device_id, event.seq + 1, event.event_id, event.type, event.created_at, False, False,
                         event.payload)  # fmt: skip
    record(hq, again)
    assert outcomes(hq) == ["applied", "duplicate"]
    assert (len(spins(hq)), wheel_entries(hq), sum(lots(hq).values())) == (1, [(-5, 0), (10, 0)], 105)


# --- cost, points, voucher -------------------------------------------------------------------------


def test_a_paid_spin_debits_its_cost_from_the_oldest_lot_with_a_negative_wheel_entry(hq):
    record(hq, spin_event(free=False, draw=THANKS))
    assert lots(hq) == {"L-P-S01-old": 35, "L-P-S01-new": 60}
    assert wheel_entries(hq) == [(-5, 0)]


def test_a_paid_spin_beyond_what_hq_holds_becomes_an_overdraft_with_an_alarm(hq):
    with hq.begin() as conn:
        conn.execute(t.lots.update().values(points_left=2))
    record(hq, spin_event(free=False, offline=True, draw=THANKS, cost=5))
    assert outcomes(hq) == ["overdraft"]
    assert (sum(lots(hq).values()), member(hq).overdraft_points) == (0, 1)
    assert wheel_entries(hq) == [(-4, 1)]
    assert ("overdraft", "M1") in open_alarms(hq)


def test_points_won_are_a_new_lot_valid_for_the_programmes_lot_validity_with_the_rules_version(hq):
    event = spin_event(draw=PTS_10)
    record(hq, event)
    with hq.connect() as conn:
        lot = conn.execute(sa.select(t.lots).where(t.lots.c.lot_id == f"WH-{event.event_id}")).one()
        entry = conn.execute(sa.select(t.entries).where(t.entries.c.kind == "wheel")).one()
    assert (lot.points_left, lot.expires_at) == (10, (NOW + 365 * DAY).astimezone(dt.UTC))
    assert (entry.points_delta, entry.lot_id, entry.rules_version) == (10, lot.lot_id, 1)


def test_points_won_repay_an_overdraft_first(hq):
    with hq.begin() as conn:
        conn.execute(t.members.update().values(overdraft_points=4))
    record(hq, spin_event(draw=PTS_10))
    assert (member(hq).overdraft_points, wheel_entries(hq)) == (0, [(6, -4)])


def test_a_won_voucher_is_registered_like_a_redemptions_with_the_wheel_reward_and_no_cost(hq):
    event = spin_event(draw=EGGS)
    record(hq, event)
    voucher = event.payload["voucher"]
    with hq.connect() as conn:
        row = conn.execute(sa.select(t.vouchers).where(t.vouchers.c.voucher_id == voucher["voucher_id"])).one()
    assert (row.state, row.reward_id, row.value_fen, row.points) == ("issued", "wheel:eggs", 1500, 0)
    assert (row.member_id, row.store_id, row.event_id, row.code) == ("M1", "S1", event.event_id,
                                                                     voucher["voucher_code"])  # fmt: skip


def test_a_till_writes_a_won_voucher_off_once(hq):
    event = spin_event(draw=EGGS)
    record(hq, event)
    request = vouchers.ConsumeRequest("r1", "A-1", code=event.payload["voucher"]["voucher_code"])
    with hq.begin() as conn:
        done = vouchers.consume(conn, vouchers.Till("T1", "S1"), vouchers.VoucherPolicy(), request, NOW + DAY)
    assert (done.state, done.reward_id, done.value_fen) == ("used", "wheel:eggs", 1500)
    with pytest.raises(vouchers.AlreadyUsed), hq.begin() as conn:
        again = vouchers.ConsumeRequest("r2", "A-2", code=event.payload["voucher"]["voucher_code"])
        vouchers.consume(conn, vouchers.Till("T2", "S1"), vouchers.VoucherPolicy(), again, NOW + DAY)


# --- free spins fleet-wide -------------------------------------------------------------------------


def test_a_free_spin_counts_for_the_member_and_day_across_the_fleet(hq):
    record(hq, spin_event(device="K001"))
    assert (member(hq).wheel_day, member(hq).wheel_free_used) == ("2026-12-03", 1)


def test_a_second_free_spin_of_the_day_from_another_kiosk_is_accepted_and_flagged_duplicate_free(hq):
    record(hq, spin_event(device="K001", draw=THANKS))
    record(hq, spin_event(device="K002", draw=PTS_10, offline=True))
    assert outcomes(hq) == ["applied", "duplicate_free"]
    assert [row.duplicate_free for row in spins(hq)] == [False, True]
    assert sum(lots(hq).values()) == 110  # the member saw the prize: it stands
    assert member(hq).wheel_free_used == 2


def test_a_free_spin_the_next_day_starts_the_count_again(hq):
    record(hq, spin_event(day=NOW.date()))
    record(hq, spin_event(day=NOW.date() + DAY, at=NOW + DAY))
    assert outcomes(hq) == ["applied", "applied"]
    assert (member(hq).wheel_day, member(hq).wheel_free_used) == ("2026-12-04", 1)


def test_a_late_free_spin_of_an_earlier_day_leaves_the_latest_day(hq):
    record(hq, spin_event(day=NOW.date() + DAY, at=NOW + DAY))
    record(hq, spin_event(device="K009", day=NOW.date(), offline=True))
    assert outcomes(hq) == ["applied", "applied"]
    assert (member(hq).wheel_day, member(hq).wheel_free_used) == ("2026-12-04", 1)


def test_the_member_entry_carries_the_free_spins_and_the_spins_in_the_history(hq):
    record(hq, spin_event(draw=THANKS))
    record(hq, spin_event(free=False, draw=PTS_10, at=NOW + dt.timedelta(minutes=1)))
    with hq.connect() as conn:
        (entry,) = member_entries(conn, ["M1"])
    assert (entry["wheel_day"], entry["wheel_free_used"]) == ("2026-12-03", 1)
    assert [(item["kind"], item["points"], item.get("device_id")) for item in entry["history"][:2]] == [
        ("wheel", 10, "K001"),
        ("wheel", -5, "K001"),
    ]


def test_hqs_update_brings_the_kiosk_that_spun_to_hqs_points_once(hq, tmp_path):
    """The loop through a real kiosk ledger: K001 spins (paid, wins 10 points) and sends the event;
    HQ applies it; the member update acknowledges the event and carries HQ's lots and free spins."""
    kiosk = Ledger.open(
        tmp_path / "k1.db", device_id="K001", clock=FixedClock(), tz=TZ, voucher_key=kiosk_key("K001"),
        offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
    )  # fmt: skip
    kiosk.apply_rules(1, supermarket_program()["kiosk"])
    with hq.connect() as conn:
        kiosk.apply_member_snapshot(1, member_entries(conn, ["M1"]), full=True)
    kiosk.spin_wheel("s1", "M1", online=True, draw=THANKS)  # the day's free spin
    kiosk.spin_wheel("s2", "M1", online=True, draw=PTS_10)  # paid: -5, +10
    assert kiosk.member_view("M1").points == 105
    events = kiosk.outbox_pending(10)
    record(
        hq, *[EventMessage("K001", e.seq, e.event_id, e.type, e.created_at, False, False, e.payload) for e in events]
    )
    assert outcomes(hq) == ["applied", "applied"]
    with hq.begin() as conn:
        assert prepare_member_update(conn, KEY, TOPICS, NOW) is not None
        entries = member_entries(conn, ["M1"])
        acked = list(conn.execute(sa.select(t.kiosk_events.c.event_id)).scalars())
    kiosk.apply_member_snapshot(2, entries, acked)
    view = kiosk.member_view("M1")
    assert (view.points, sum(lots(hq).values())) == (105, 105)  # once, not 115 or 100
    assert view.wheel is not None and view.wheel.free_left == 0
    assert [(item.kind, item.points, item.pending) for item in kiosk.points_history("M1")][:2] == [
        ("wheel", 10, False),
        ("wheel", -5, False),
    ]
    kiosk.close()


# --- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, reason",
    [
        ({"draw": 2**63}, "draw: must be an integer from 0 to"),
        ({"draw": "12"}, "draw: must be an integer"),
        ({"day": "2026-13-01"}, "day: must be a store day as YYYY-MM-DD"),
        ({"free": 1}, "free: must be true or false"),
        ({"cost_points": 5}, "cost_points: must be an integer from 0 to 0"),  # a free spin costs nothing
        ({"weights": []}, "weights: must name 1 to 12 distinct prizes"),
        ({"weights": [["thanks", 0], ["pts-10", 30]]}, "weights[0][1]: must be an integer from 1"),
        ({"prize_id": "car"}, "prize_id: 'car' is not among the weights"),
        ({"prize_kind": "car"}, "prize_kind: must be one of nothing, points, voucher"),
        ({"points": 7}, "points: must be an integer from 0 to 0"),  # a "nothing" prize gives no points
        ({"member_id": "M" * 65}, "member_id: must be 1 to 64 printable characters"),
        ({"device_id": "K999"}, "device_id: 'K999' is not the sending kiosk"),
        ({"rules_version": None}, "payload.rules_version: is required"),
        ({"jackpot": True}, "payload.jackpot: unknown key"),
        ({"voucher": {}}, "voucher: is required for a voucher prize and only then"),
    ],
)
def test_a_malformed_spin_is_refused_with_a_bad_event_alarm_naming_the_field(hq, changes, reason):
    record(hq, spin_event(draw=THANKS, changes=changes))
    assert outcomes(hq) == ["malformed"]
    assert reason in alarm_detail(hq, "bad_event")
    assert (spins(hq), wheel_entries(hq)) == ([], [])


def test_a_voucher_whose_code_is_not_its_own_is_refused(hq):
    other = spin_event(draw=EGGS).payload["voucher"]["voucher_code"]
    event = spin_event(draw=EGGS)
    record(hq, spin_event(draw=EGGS, changes={"voucher": {**event.payload["voucher"], "voucher_code": other}}))
    assert outcomes(hq) == ["malformed"]
    assert "voucher.voucher_code: does not carry this voucher's id" in alarm_detail(hq, "bad_event")


def test_a_spin_under_a_rules_version_hq_never_published_is_refused(hq):
    record(hq, spin_event(rules_version=7))
    assert outcomes(hq) == ["malformed"]
    assert "rules_version 7 is no programme of HQ's with a wheel" in alarm_detail(hq, "bad_event")


# --- spins that disagree with the rules ------------------------------------------------------------


def test_a_spin_whose_prize_does_not_follow_its_draw_is_applied_and_flagged(hq):
    record(hq, spin_event(draw=THANKS, prize="pts-10"))
    assert outcomes(hq) == ["mismatch"]
    assert "the draw picks 'thanks', the kiosk gave 'pts-10'" in spins(hq)[0].mismatch
    assert ("wheel_mismatch", "K001") in open_alarms(hq)


def test_a_spin_claiming_more_points_than_the_rules_prize_is_credited_the_rules_points(hq):
    record(hq, spin_event(draw=PTS_10, points=500))
    assert outcomes(hq) == ["mismatch"]
    assert (wheel_entries(hq), spins(hq)[0].points) == ([(10, 0)], 10)


# --- migration -------------------------------------------------------------------------------------


def test_migration_6_adds_the_wheel_columns_and_table_to_a_version_5_database(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE wheel_spins"))
        conn.execute(sa.text("ALTER TABLE members DROP COLUMN wheel_day"))
        conn.execute(sa.text("ALTER TABLE members DROP COLUMN wheel_free_used"))
    (step,) = [m for m in MIGRATIONS if m.version == 6]
    with engine.begin() as conn:
        step.apply(conn)
    with engine.begin() as conn:
        step.apply(conn)  # a database the initial step created with the columns: nothing to add
        columns = {c["name"] for c in sa.inspect(conn).get_columns("members")}
        assert {"wheel_day", "wheel_free_used"} <= columns and sa.inspect(conn).has_table("wheel_spins")
    assert migrate(engine) == []
