"""The demo data set: stores, members across the tiers and a year of purchase history, put through
HQ's real use cases (earning, top-ups with bonus, a lost card, a manual override), so what a
demo kiosk shows was computed by HQ, not typed in.

`kiosk-hq demo --out DIR` builds it in HQ's database and writes HQ's signed `rules`, `members` and
`denylist` documents to DIR, byte for byte what HQ would publish; `./run.sh` has the simulated kiosk import
them through the same verification as documents from the broker. The members, cards and card
issue numbers are the simulation's demo cards (kiosk/ledger/demo.py DEMO_CARDS).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy.engine import Engine

from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.denylist import block
from hq.service.denylist import entries as denylist_entries
from hq.service.feedback import next_version
from hq.service.kiosk_entry import member_entries
from hq.service.members import NewMember, add_card, enrol, override_tier
from hq.service.pins import set_pin
from hq.service.programs import add_program, current_program
from hq.service.voucher_keys import add_key, directory
from hq.service.vouchers import TillExists, add_till, new_till_token, token_digest
from hq.store import tables as t
from kiosk.ledger.demo import DEMO_PIN, DEMO_PIN_MEMBER
from sync.envelope import sign_envelope
from sync.schemas import dumps
from sync.topics import HqTopics, Scope

STORES = ("S01", "S02", "S03")


@dataclass(frozen=True)
class DemoMember:
    member_id: str
    name: str
    birthday: str | None
    cards: tuple[tuple[str, int], ...]  # (uid hex, issue_no)
    yearly_spend_fen: int  # spread over purchases in the past year
    topup_fen: int = 0
    expiring_purchase_fen: int = 0  # one purchase 362 days ago: points that lapse within days


def demo_members(now: dt.datetime) -> list[DemoMember]:
    birthday = now.date().replace(year=1992) if not (now.month == 2 and now.day == 29) else dt.date(1992, 2, 29)
    return [
        DemoMember("M0001", "王小明", "1988-11-03", (("de700001", 1),), 52_000, 5_000, expiring_purchase_fen=30_000),
        DemoMember("M0002", "李娜", birthday.isoformat(), (("de700002", 1),), 234_500, 50_000),
        DemoMember("M0003", "张伟", "1979-06-15", (("de700003", 1),), 680_000, 100_000),
        DemoMember("M0004", "陈静", "1990-01-08", (("de700004", 1),), 1_520_000, 1_000_000),
        DemoMember("M0005", "刘洋", "2001-09-30", (("de700005", 1), ("de700006", 2)), 45_000),
        DemoMember("M0006", "欧阳赵丽", None, (("de700007", 1),), 80_000),
    ]


def build_demo(engine: Engine, key: Ed25519PrivateKey, topics: HqTopics, now: dt.datetime) -> None:
    """Load the demo into an empty HQ database (a second call changes nothing)."""
    rng = random.Random(20261203)
    with engine.begin() as conn:
        if conn.execute(sa.select(t.programs.c.version)).first() is not None:
            return
        add_program(conn, supermarket_program(), key=key, topics=topics, now=now - dt.timedelta(days=400), by="demo")
        for member in demo_members(now):
            enrol(conn, NewMember(member.member_id, member.name, member.birthday, STORES[0]), now)
            for uid, issue_no in member.cards:
                add_card(conn, member.member_id, uid, issue_no, now)
    order = 0
    for member in demo_members(now):
        purchases: list[tuple[int, dt.datetime]] = []
        if member.expiring_purchase_fen:
            purchases.append((member.expiring_purchase_fen, now - dt.timedelta(days=362)))
        left = member.yearly_spend_fen
        while left > 0:
            amount = min(left, rng.randrange(5_000, 60_000))
            purchases.append((amount, now - dt.timedelta(days=rng.randrange(3, 300), minutes=rng.randrange(600))))
            left -= amount
        for amount, at in sorted(purchases, key=lambda p: p[1]):
            order += 1
            store = STORES[order % len(STORES)]
            request = till.Purchase(
                f"demo-{order}", store, f"{store}-T1", f"D{order:05d}", member.member_id, amount, at
            )
            with engine.begin() as conn:
                till.record_purchase(conn, request, at)
        if member.topup_fen:
            topped_at = now - dt.timedelta(days=5)
            topup_request = till.Topup(f"demo-topup-{member.member_id}", STORES[0], "S01-T1", member.member_id,
                                 member.topup_fen, topped_at)  # fmt: skip
            with engine.begin() as conn:
                till.topup(conn, topup_request, topped_at)
    with engine.begin() as conn:
        # 刘洋 reported card 5 lost and got card 6 (issue 2); 赵丽 was moved to gold by the manager.
        conn.execute(t.cards.update().where(t.cards.c.uid == "de700005").values(status="lost"))
        block(conn, "de700005", "lost", source="operator", ref="demo: member called", now=now)
        override_tier(conn, "M0006", "gold", by="store manager", reason="long-standing customer", now=now)
        # 李娜 set a PIN at the service desk (the demo rules ask silver members and above for one).
        set_pin(conn, DEMO_PIN_MEMBER, DEMO_PIN, by="demo: service desk", now=now)


@dataclass(frozen=True)
class DemoKiosk:
    """A kiosk whose voucher key the demo registers (the simulation's, from `kiosk keys init`)."""

    device_id: str
    store_id: str
    public_key_b64: str


def register_demo_kiosks(engine: Engine, kiosks: list[DemoKiosk], now: dt.datetime) -> None:
    """Put the kiosks' voucher keys into HQ's directory (again on a second call: no change)."""
    with engine.begin() as conn:
        for kiosk in kiosks:
            add_key(conn, kiosk.device_id, kiosk.store_id, kiosk.public_key_b64, valid_from=now - dt.timedelta(days=1),
                    now=now)  # fmt: skip


def demo_till_token(engine: Engine, store_id: str, now: dt.datetime) -> str | None:
    """A till for the cashier's page in the demo store; its token (None when it exists already)."""
    token = new_till_token()
    with engine.begin() as conn:
        try:
            add_till(conn, f"{store_id}-T1", store_id, token_digest(token), now)
        except TillExists:
            return None
    return token


def export_documents(engine: Engine, key: Ed25519PrivateKey, topics: HqTopics, folder: Path, now: dt.datetime) -> int:
    """Write HQ's signed rules, full member snapshot and deny-list to `folder`; returns the snapshot version."""
    folder.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        program = current_program(conn)
        rules = sign_envelope(
            key, doc_type="rules", scope=Scope.fleet(), version=program.version, issued_at=now,
            not_after=now + dt.timedelta(days=3650), payload={"document": program.kiosk_document},
        )  # fmt: skip
        members = conn.execute(sa.select(t.members.c.member_id).order_by(t.members.c.member_id)).scalars().all()
        version = next_version(conn, "members")
        snapshot = sign_envelope(
            key, doc_type="members", scope=Scope.fleet(), version=version, issued_at=now,
            not_after=now + dt.timedelta(days=3650),
            payload={"members": member_entries(conn, members), "acknowledged_event_ids": []},
        )  # fmt: skip
        denied = sign_envelope(
            key, doc_type="denylist", scope=Scope.fleet(), version=next_version(conn, "denylist"), issued_at=now,
            not_after=now + dt.timedelta(days=3650), payload={"entries": denylist_entries(conn)},
        )  # fmt: skip
        keys = sign_envelope(
            key, doc_type="voucher_keys", scope=Scope.fleet(), version=next_version(conn, "voucher_keys"),
            issued_at=now, not_after=now + dt.timedelta(days=3650), payload=directory(conn).as_payload(),
        )  # fmt: skip
    (folder / "voucher_keys.json").write_bytes(dumps(keys))
    (folder / "rules.json").write_bytes(dumps(rules))
    (folder / "members.json").write_bytes(dumps(snapshot))
    (folder / "denylist.json").write_bytes(dumps(denied))
    return version
