"""Writes ledger_schema1.sql and ledger_schema1_expected.json: a ledger made by the schema-1 code.

Run ONCE with the kiosk at commit 16d482a (the last commit whose ledger wrote schema 1), from the
repository root: `python -m tests.ledger.data.make_schema1_ledger`. Later code cannot produce a
schema-1 file any more; that is the point of keeping this one: the migration test opens it with
today's code and checks that nothing in it was lost. The scenario touches every table: one-step
and two-phase redemptions (with card counters), a prepared and an abandoned intent, an offline
redemption of a stock reward, acknowledged (deleted) outbox events, an HQ snapshot that
acknowledges an event and shrinks lots (re-allocation, a deficit), local denials, security events.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import demo_rules

HERE = Path(__file__).resolve().parent
TZ = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 1, 10, 0, 0, tzinfo=TZ)
DEVICE = "kiosk-01"
KEY_SEED = bytes(range(32))  # fixed, so the test can check the stored codes' signatures
UID1, UID2, UID3, UID4 = (bytes.fromhex(h) for h in ("04a1b2c3", "04d5e6f7", "0411223344556677", "04998877"))
MEMBERS = ("M1", "M2", "M3", "M4")


class Clock:
    def __init__(self) -> None:
        self.current = T0

    def now(self) -> dt.datetime:
        return self.current


def _lot(lot_id: str, points: int, days: int) -> dict[str, Any]:
    return {
        "lot_id": lot_id,
        "points": points,
        "earned_at": (T0 - dt.timedelta(days=30)).isoformat(),
        "expires_at": (T0 + dt.timedelta(days=days)).isoformat(),
    }


def _card(uid: bytes, counter: int = 0, status: str = "active") -> dict[str, Any]:
    return {"uid": uid.hex(), "issue_no": 1, "status": status, "last_counter": counter}


def expected_views(ledger: Ledger) -> dict[str, Any]:
    """What the ledger's public API says about the file; the migrated file must say the same."""

    def voucher(v: Any) -> dict[str, Any]:
        return {
            "voucher_id": v.voucher_id,
            "code": v.code,
            "short_code": v.short_code,
            "reward_name": v.reward_name,
            "value_fen": v.value_fen,
            "issued_at": v.issued_at.isoformat(),
            "expires_at": v.expires_at.isoformat(),
            "state": v.state.value,
            "offline": v.offline,
        }

    pending = ledger.pending_redemption_for_card(UID2)
    return {
        "members": {
            m: {
                "points": ledger.member_view(m).points,
                "expiries": [[e.points, e.expires_at.isoformat()] for e in ledger.member_view(m).expiries],
                "vouchers": [voucher(v) for v in ledger.vouchers(m)],
                "options": [
                    [o.reward_id, o.affordable, o.available, o.points_missing] for o in ledger.reward_options(m)
                ],
            }
            for m in MEMBERS
        },
        "outbox": [
            {
                "seq": e.seq,
                "event_id": e.event_id,
                "type": e.type,
                "payload": e.payload,
                "created_at": e.created_at.isoformat(),
                "offline": e.offline,
            }
            for e in ledger.outbox_pending(100)
        ],
        "pending_for_uid2": None
        if pending is None
        else {
            "intent_id": pending.intent_id,
            "card_counter": pending.card_counter,
            "cost_points": pending.cost_points,
            "points_before": pending.points_before,
            "points_after": pending.points_after,
        },
        "cards": {
            uid.hex(): None if (s := ledger.card_state(uid)) is None else [s.member_id, s.status, s.last_counter]
            for uid in (UID1, UID2, UID3, UID4)
        },
        "denials": {uid.hex(): ledger.denial(uid) for uid in (UID1, UID2, UID3, UID4)},
        "rules_version": ledger.rules_version(),
        "member_snapshot_version": ledger.member_snapshot_version(),
    }


def build(path: Path) -> Ledger:
    clock = Clock()
    ledger = Ledger.open(
        path,
        device_id=DEVICE,
        clock=clock,
        tz=TZ,
        voucher_key=Ed25519PrivateKey.from_private_bytes(KEY_SEED),
        offline_limits=OfflineLimits(points_per_day=5000, redemptions_per_day=3),
    )
    ledger.apply_rules(1, demo_rules())
    ledger.apply_member_snapshot(
        1,
        [
            {
                "member_id": "M1",
                "name": "张三明",
                "spend_fen": 600_000,
                "cards": [_card(UID1, 3)],
                "lots": [_lot("A", 600, 10), _lot("B", 2000, 200)],
            },
            {
                "member_id": "M2",
                "name": "李娜",
                "spend_fen": 120_000,
                "cards": [_card(UID2)],
                "lots": [_lot("L1", 5000, 300)],
            },
            {"member_id": "M3", "name": "Li Xiaoming", "lots": [_lot("X", 300, 40)]},
            {"member_id": "M4", "name": "欧阳小明", "birthday": "1990-03-01", "lots": [_lot("S", 150, 2)]},
        ],
        full=True,
    )
    tick = dt.timedelta(minutes=1)
    ledger.redeem("i1", "M1", "off-5", online=True)  # one step, no card
    clock.current += tick
    pending = ledger.prepare_redemption("i2", "M1", "off-10", UID1, online=True)
    ledger.confirm_redemption("i2", pending.card_counter)  # two phases, card counter 4
    clock.current += tick
    ledger.redeem("i3", "M2", "drink", online=False)  # offline, stock reward
    clock.current += tick
    ledger.prepare_redemption("i4", "M2", "off-5", UID2, online=True)  # left prepared (card pulled)
    ledger.prepare_redemption("i5", "M1", "gift-wrap", None, online=True)
    ledger.abandon_redemption("i5")
    ledger.deny_card(UID4, "rollback")
    ledger.record_security_event("tamper", UID1, {"sector": 4})
    ledger.outbox_ack([e.event_id for e in ledger.outbox_pending(2)])  # i1 and i2 reached HQ
    clock.current += tick
    i1_event = ledger.conn.execute("SELECT event_id FROM local_events WHERE intent_id = 'i1'").fetchone()[0]
    i1_voucher = ledger.conn.execute("SELECT voucher_id FROM vouchers WHERE intent_id = 'i1'").fetchone()[0]
    # HQ merged i1 (its lots already reflect it) and marked its voucher used; lot A shrank, so
    # i2's spends are re-allocated.
    ledger.apply_member_snapshot(
        2,
        [
            {
                "member_id": "M1",
                "name": "张三明",
                "spend_fen": 600_000,
                "cards": [_card(UID1, 4)],
                "lots": [_lot("A", 100, 10), _lot("B", 2000, 200)],
                "vouchers": [{"voucher_id": i1_voucher, "state": "used"}],
            },
        ],
        [i1_event],
    )
    clock.current += tick
    ledger.redeem("i6", "M3", "gift-wrap", online=True)
    # Another kiosk spent M3's points: HQ's lot shrinks below what i6 took -> a deficit.
    ledger.apply_member_snapshot(3, [{"member_id": "M3", "name": "Li Xiaoming", "lots": [_lot("X", 100, 40)]}])
    ledger.register_card(UID3, "M3", 1)
    ledger.note_card_counter(UID3, 2)
    clock.current += tick
    ledger.redeem("i7", "M2", "off-5", online=True)
    return ledger


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = build(Path(tmp) / "ledger.db")
        assert ledger.conn.execute("PRAGMA user_version").fetchone()[0] == 1, "run this at the schema-1 commit"
        expected = expected_views(ledger)
        expected["clock"] = ledger.clock.now().isoformat()
        ledger.close()
        conn = sqlite3.connect(Path(tmp) / "ledger.db")
        dump = "\n".join(conn.iterdump())
        conn.close()
    (HERE / "ledger_schema1.sql").write_text(dump + "\n", encoding="utf-8")
    (HERE / "ledger_schema1_expected.json").write_text(
        json.dumps(expected, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":
    main()
