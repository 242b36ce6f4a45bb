"""Hypothesis stateful test of the ledger's invariants.

Random sequences of redemptions (online/offline, one- and two-phase, retried), abandons, clock
moves, outbox acks, HQ snapshots acknowledging events, and replays of all of these. Invariants:
points held = sum of live lots' remaining points; points never negative (no other kiosk here, so
no overdraft); each confirmed redemption has exactly one voucher and one local event and at most
one outbox event (exactly one until acked); replaying any call changes nothing.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kiosk.ledger import Ledger, LedgerError, OfflineLimits
from kiosk.ledger.db import ts
from kiosk.ledger.demo import demo_rules
from kiosk.ledger.points import live_lots
from tests.ledger.conftest import DAY, T0, TZ, SettableClock, lot, member

REWARDS = ["off-5", "off-10", "gift-wrap", "drink"]


def _state(ledger: Ledger) -> tuple:
    conn = ledger.conn
    return tuple(
        tuple(conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall())
        for t in ("vouchers", "local_events", "spends", "outbox", "intents", "lots", "members", "meta")
    )


class LedgerMachine(RuleBasedStateMachine):
    @initialize(lots=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 400)), min_size=1, max_size=4))
    def start(self, lots):
        self.dir = tempfile.TemporaryDirectory()
        self.clock = SettableClock(T0)
        self.ledger = Ledger.open(
            Path(self.dir.name) / "l.db",
            device_id="k1",
            clock=self.clock,
            tz=TZ,
            voucher_key=Ed25519PrivateKey.generate(),
            offline_limits=OfflineLimits(points_per_day=2500, redemptions_per_day=3),
        )
        self.ledger.apply_rules(1, demo_rules())
        self.lots = [lot(f"L{i}", pts, T0 + days * DAY) for i, (pts, days) in enumerate(lots)]
        self.snapshot = 1
        self.ledger.apply_member_snapshot(1, [member("M1", lots=self.lots)])
        self.intents: list[str] = []
        self.prepared: list[str] = []
        self.confirmed: set[str] = set()
        self.next_id = 0

    def teardown(self):
        if hasattr(self, "ledger"):
            self.ledger.close()
            self.dir.cleanup()

    def _new_intent(self) -> str:
        self.next_id += 1
        return f"i{self.next_id}"

    @rule(reward=st.sampled_from(REWARDS), online=st.booleans())
    def redeem(self, reward, online):
        intent = self._new_intent()
        try:
            self.ledger.redeem(intent, "M1", reward, online=online)
            self.confirmed.add(intent)
        except LedgerError:
            pass
        self.intents.append(intent)

    @rule(reward=st.sampled_from(REWARDS), online=st.booleans())
    def prepare(self, reward, online):
        intent = self._new_intent()
        try:
            self.ledger.prepare_redemption(intent, "M1", reward, None, online)
            self.prepared.append(intent)
        except LedgerError:
            pass

    @precondition(lambda self: self.prepared)
    @rule(data=st.data(), abandon=st.booleans())
    def finish_prepared(self, data, abandon):
        intent = data.draw(st.sampled_from(self.prepared))
        self.prepared.remove(intent)
        if abandon:
            self.ledger.abandon_redemption(intent)
            return
        try:
            self.ledger.confirm_redemption(intent, None)
            self.confirmed.add(intent)
        except LedgerError:
            self.ledger.abandon_redemption(intent)

    @precondition(lambda self: self.confirmed)
    @rule(data=st.data())
    def replay_confirm(self, data):
        intent = data.draw(st.sampled_from(sorted(self.confirmed)))
        before = _state(self.ledger)
        first = self.ledger.voucher(
            self.ledger.conn.execute("SELECT voucher_id FROM vouchers WHERE intent_id = ?", (intent,)).fetchone()[0]
        )
        assert self.ledger.confirm_redemption(intent, None) == first
        assert _state(self.ledger) == before

    @rule(hours=st.integers(1, 24 * 120))
    def advance_clock(self, hours):
        self.clock.advance(dt.timedelta(hours=hours))

    @rule(count=st.integers(0, 5), replay=st.booleans())
    def ack_outbox(self, count, replay):
        ids = [e.event_id for e in self.ledger.outbox_pending(count)]
        self.ledger.outbox_ack(ids)
        if replay:
            before = _state(self.ledger)
            assert self.ledger.outbox_ack(ids) == 0
            assert _state(self.ledger) == before

    @rule(replay=st.booleans())
    def hq_merges_everything(self, replay):
        """HQ applies all our unacknowledged events to its lots and sends a snapshot acknowledging them."""
        conn = self.ledger.conn
        remaining = {lt["lot_id"]: lt["points"] for lt in self.lots}
        for lot_id, pts in conn.execute(
            "SELECT lot_id, SUM(points) FROM spends WHERE lot_id IS NOT NULL GROUP BY lot_id"
        ):
            remaining[lot_id] -= pts
        events = [r[0] for r in conn.execute("SELECT event_id FROM local_events WHERE acked_version IS NULL")]
        self.lots = [dict(lt, points=remaining[lt["lot_id"]]) for lt in self.lots]
        self.snapshot += 1
        held_before = self.ledger.member_view("M1").points
        self.ledger.apply_member_snapshot(self.snapshot, [member("M1", lots=self.lots)], events)
        assert self.ledger.member_view("M1").points == held_before
        if replay:
            before = _state(self.ledger)
            try:
                self.ledger.apply_member_snapshot(self.snapshot, [member("M1", lots=self.lots)], events)
                raise AssertionError("replayed snapshot was accepted")
            except LedgerError:
                pass
            assert _state(self.ledger) == before

    @invariant()
    def points_equal_live_lots_and_are_never_negative(self):
        if not hasattr(self, "ledger"):
            return
        view = self.ledger.member_view("M1")
        live = live_lots(self.ledger.conn, "M1", ts(self.clock.now()))
        assert view.points == sum(lt.remaining for lt in live)
        assert all(lt.remaining >= 0 for lt in live)
        assert view.points >= 0
        assert view.points == sum(e.points for e in view.expiries)

    @invariant()
    def each_redemption_has_one_voucher_one_event_and_at_most_one_outbox_entry(self):
        if not hasattr(self, "ledger"):
            return
        conn = self.ledger.conn
        for intent in self.confirmed:
            assert conn.execute("SELECT COUNT(*) FROM vouchers WHERE intent_id = ?", (intent,)).fetchone()[0] == 1
            event_id = conn.execute("SELECT event_id FROM vouchers WHERE intent_id = ?", (intent,)).fetchone()[0]
            assert conn.execute("SELECT COUNT(*) FROM local_events WHERE event_id = ?", (event_id,)).fetchone()[0] == 1
            assert conn.execute("SELECT COUNT(*) FROM outbox WHERE event_id = ?", (event_id,)).fetchone()[0] <= 1
        assert conn.execute("SELECT COUNT(*) FROM vouchers").fetchone()[0] == len(self.confirmed)


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestLedgerInvariants = LedgerMachine.TestCase
