"""Daily check-in (每日签到) at HQ, on SQLite and PostgreSQL: the first kiosk's check-in of a member's
store day earns the programme's points (and the streak bonus) into a lot with a `checkin` entry;
a second kiosk's check-in of that day is a duplicate with no points, and the member update that
follows corrects that kiosk's replica; the streak runs across kiosks and is HQ's, and the member
entries kiosks receive carry it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.feedback import prepare_member_update
from hq.service.kiosk_entry import member_entries
from hq.service.listener_store import SqlListenerStore
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.store import tables as t
from hq.store.migrations import MIGRATIONS, migrate
from kiosk.ledger import Ledger, OfflineLimits
from sync.schemas import EventMessage
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
DAY = dt.timedelta(days=1)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("acme/kiosk")


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明"), NOW)
    return engine


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


_seqs: dict[str, int] = {}


def checkin(day: dt.date, *, device="K001", points=5, streak=1, at=None, offline=False, member="M1"):
    seq = _seqs[device] = _seqs.get(device, 0) + 1
    payload = {"device_id": device, "member_id": member, "day": day.isoformat(), "points": points, "bonus": 0,
               "streak": streak, "rules_version": 1, "offline": offline}  # fmt: skip
    when = at or dt.datetime.combine(day, dt.time(10, 0), TZ)
    return EventMessage(device, seq, f"e-{device}-{seq}-{day}", "checkin", when, offline, False, payload)


def record(engine, *events):
    SqlListenerStore(engine, apply_event).record_events(list(events), NOW)


def outcomes(engine):
    with engine.connect() as conn:
        return [row.outcome for row in conn.execute(sa.select(t.kiosk_events).order_by(t.kiosk_events.c.received_at))]


def lots(engine):
    with engine.connect() as conn:
        return {r.lot_id: int(r.points_left) for r in conn.execute(sa.select(t.lots).where(t.lots.c.member_id == "M1"))}


def member(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.members).where(t.members.c.member_id == "M1")).one()


def test_a_check_in_earns_the_days_points_into_a_lot_with_a_checkin_entry_under_the_rules_version(hq):
    record(hq, checkin(NOW.date()))
    assert outcomes(hq) == ["applied"]
    assert lots(hq) == {"CI-M1-2026-12-03": 5}
    with hq.connect() as conn:
        entry = conn.execute(sa.select(t.entries).where(t.entries.c.kind == "checkin")).one()
        lot = conn.execute(sa.select(t.lots)).one()
    assert (entry.points_delta, entry.rules_version, entry.ref) == (5, 1, "checkin:M1:2026-12-03")
    assert entry.detail["device_id"] == "K001" and entry.detail["streak"] == 1
    assert lot.expires_at == (NOW + 365 * DAY).astimezone(dt.UTC)  # the programme's lot validity
    assert (member(hq).checkin_last_day, member(hq).checkin_streak) == ("2026-12-03", 1)


def test_a_second_kiosks_check_in_of_the_same_day_is_a_duplicate_with_no_points(hq):
    record(hq, checkin(NOW.date(), device="K001"))
    record(hq, checkin(NOW.date(), device="K002", offline=True))
    assert outcomes(hq) == ["applied", "duplicate"]
    assert sum(lots(hq).values()) == 5
    with hq.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.checkins)).scalar_one() == 1


def test_the_update_after_a_duplicate_acknowledges_it_so_the_second_kiosk_drops_its_points(hq, tmp_path):
    """The loop through a real kiosk ledger: K002 checked in offline after K001 had, online."""
    kiosk = Ledger.open(
        tmp_path / "k2.db", device_id="K002", clock=FixedClock(), tz=TZ, voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=1000, redemptions_per_day=3),
    )  # fmt: skip
    kiosk.apply_rules(1, supermarket_program()["kiosk"])
    with hq.connect() as conn:
        kiosk.apply_member_snapshot(1, member_entries(conn, ["M1"]), full=True)
    record(hq, checkin(NOW.date(), device="K001"))
    kiosk.check_in("M1", online=False)
    assert kiosk.member_view("M1").points == 5  # its own, until HQ says otherwise
    (event,) = kiosk.outbox_pending(10)
    record(
        hq, EventMessage("K002", event.seq, event.event_id, event.type, event.created_at, True, False, event.payload)
    )
    assert outcomes(hq) == ["applied", "duplicate"]
    with hq.begin() as conn:
        assert prepare_member_update(conn, KEY, TOPICS, NOW) is not None
        entries = member_entries(conn, ["M1"])
        acked = [r.event_id for r in conn.execute(sa.select(t.kiosk_events.c.event_id))]
    assert event.event_id in acked
    kiosk.apply_member_snapshot(2, entries, acked)
    view = kiosk.member_view("M1")
    assert view.points == 5 and view.checkin is not None and view.checkin.checked_in_today  # K001's, once
    kiosk.close()


def test_the_streak_runs_across_kiosks_and_the_seventh_day_earns_the_bonus(hq):
    start = NOW.date()
    for n in range(7):
        record(hq, checkin(start + n * DAY, device=f"K00{n % 3 + 1}", streak=99))  # the kiosks' claims differ
    assert (member(hq).checkin_last_day, member(hq).checkin_streak) == ((start + 6 * DAY).isoformat(), 7)
    assert lots(hq)[f"CI-M1-{(start + 6 * DAY).isoformat()}"] == 55  # 5 + the 7th day's 50
    assert sum(lots(hq).values()) == 6 * 5 + 55


def test_a_missed_day_starts_the_streak_again_and_a_late_check_in_keeps_the_latest_day(hq):
    record(hq, checkin(NOW.date()))
    record(hq, checkin(NOW.date() + 2 * DAY))
    assert member(hq).checkin_streak == 1
    record(hq, checkin(NOW.date() + DAY, device="K009", offline=True))  # an offline kiosk's, late
    assert (member(hq).checkin_last_day, member(hq).checkin_streak) == ((NOW.date() + 2 * DAY).isoformat(), 1)


def test_check_in_points_repay_an_overdraft_first(hq):
    with hq.begin() as conn:
        conn.execute(t.members.update().values(overdraft_points=3))
    record(hq, checkin(NOW.date()))
    assert (member(hq).overdraft_points, sum(lots(hq).values())) == (0, 2)


def test_the_member_entry_carries_the_streak_and_the_check_in_in_the_history(hq):
    with hq.begin() as conn:
        till.record_purchase(conn, till.Purchase("k1", "S01", "T1", "O1", "M1", 10_000, NOW - DAY), NOW)
    record(hq, checkin(NOW.date(), device="K001"))
    with hq.connect() as conn:
        (entry,) = member_entries(conn, ["M1"])
    assert (entry["checkin_last_day"], entry["checkin_streak"]) == ("2026-12-03", 1)
    assert entry["history"][0] == {
        "kind": "checkin",
        "points": 5,
        "at": "2026-12-03T02:00:00+00:00",
        "device_id": "K001",
    }


def test_migration_3_adds_the_checkin_columns_and_table_to_a_version_2_database(engine):
    # What version 2 had: no checkins table, no check-in columns. (Later steps add their own
    # things, so the step is run directly rather than by lowering the recorded version.)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE checkins"))
        conn.execute(sa.text("ALTER TABLE members DROP COLUMN checkin_last_day"))
        conn.execute(sa.text("ALTER TABLE members DROP COLUMN checkin_streak"))
    (step,) = [m for m in MIGRATIONS if m.version == 3]
    with engine.begin() as conn:
        step.apply(conn)
    with engine.begin() as conn:
        step.apply(conn)  # a database the initial step created with the columns: nothing to add
        columns = {c["name"] for c in sa.inspect(conn).get_columns("members")}
        assert {"checkin_last_day", "checkin_streak"} <= columns and sa.inspect(conn).has_table("checkins")
    assert migrate(engine) == []
