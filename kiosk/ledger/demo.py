"""Demo data for simulation mode: a realistic rules document and a handful of members with cards.

`seed_demo(ledger, now)` loads the 普通/银卡/金卡/钻石 ladder (0 / 1,000 / 5,000 / 10,000 yuan,
95/90/85/80 %, points x1/1.5/2/2.5), six rewards, and six members across the tiers: one with
points about to lapse, one whose birthday is today (relative to `now`), one whose card was
reported lost (and who holds a replacement). `DEMO_CARDS` maps the simulation's number keys to
deterministic card UIDs. Seeding is skipped for whatever the ledger already has (idempotent).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kiosk.ledger.pin_kdf import hash_pin

DEMO_RULES_VERSION = 1
DEMO_SNAPSHOT_VERSION = 1
#: 李娜's (card 2's) PIN: the demo rules ask silver members and above for one (HQ's demo sets the same).
DEMO_PIN_MEMBER = "M0002"
DEMO_PIN = "2468"
#: The demo rules' PIN policy (HQ's example programme has the same): members with the most to lose.
DEMO_PIN_POLICY: dict[str, Any] = {"required": "tiers", "tiers": ["silver", "gold", "diamond"]}


@dataclass(frozen=True)
class DemoCard:
    key: int  # simulation key 1..9
    uid: bytes
    member_id: str
    issue_no: int
    label: str


def _uid(key: int) -> bytes:
    return bytes([0xDE, 0x70, 0x00, key])


DEMO_CARDS: list[DemoCard] = [
    DemoCard(1, _uid(1), "M0001", 1, "王小明 · 普通 · points expire soon"),
    DemoCard(2, _uid(2), "M0002", 1, "李娜 · 银卡 · birthday today"),
    DemoCard(3, _uid(3), "M0003", 1, "张伟 · 金卡"),
    DemoCard(4, _uid(4), "M0004", 1, "陈静 · 钻石"),
    DemoCard(5, _uid(5), "M0005", 1, "刘洋 · card reported lost"),
    DemoCard(6, _uid(6), "M0005", 2, "刘洋 · replacement card"),
    DemoCard(7, _uid(7), "M0006", 1, "赵丽 · 金卡 by HQ override"),
]


def _L(zh: str, en: str) -> dict[str, str]:
    return {"zh_CN": zh, "en": en}


def demo_rules(*, with_pin: bool = False) -> dict[str, Any]:
    """The demo rules + catalog document (also a realistic example of HQ's format).

    `with_pin`: with the PIN policy the simulation runs with (silver members and above are asked
    for their PIN); tests take the rules without it unless they are about the PIN."""
    document: dict[str, Any] = {
        "measure": "spend_fen",
        "downgrade": False,
        "tiers": [
            {
                "code": "regular",
                "name": _L("普通会员", "Regular"),
                "threshold": 0,
                "discount_pct": 95,
                "points_multiplier": "1",
                "benefits": _L("消费95折，每元积1分", "5% off, 1 point per yuan"),
            },
            {
                "code": "silver",
                "name": _L("银卡", "Silver"),
                "threshold": 100_000,
                "discount_pct": 90,
                "points_multiplier": "1.5",
                "benefits": _L("消费9折，积分1.5倍，生日礼", "10% off, 1.5x points, birthday gift"),
            },
            {
                "code": "gold",
                "name": _L("金卡", "Gold"),
                "threshold": 500_000,
                "discount_pct": 85,
                "points_multiplier": "2",
                "benefits": _L("消费85折，积分2倍，会员日专享", "15% off, 2x points, member-day offers"),
            },
            {
                "code": "diamond",
                "name": _L("钻石", "Diamond"),
                "threshold": 1_000_000,
                "discount_pct": 80,
                "points_multiplier": "2.5",
                "benefits": _L("消费8折，积分2.5倍，专属客服", "20% off, 2.5x points, dedicated service"),
            },
        ],
        "rewards": [
            {
                "reward_id": "off-5",
                "name": _L("5元代金券", "¥5 off voucher"),
                "kind": "money_off",
                "cost_points": 500,
                "value_fen": 500,
                "validity_days": 30,
            },
            {
                "reward_id": "off-10",
                "name": _L("10元代金券", "¥10 off voucher"),
                "kind": "money_off",
                "cost_points": 1000,
                "value_fen": 1000,
                "validity_days": 30,
                "per_member_limit": {"count": 3, "period_days": 30},
            },
            {
                "reward_id": "off-50",
                "name": _L("50元代金券", "¥50 off voucher"),
                "kind": "money_off",
                "cost_points": 5000,
                "value_fen": 5000,
                "validity_days": 60,
            },
            {
                "reward_id": "drink",
                "name": _L("招牌奶茶一杯", "Signature milk tea"),
                "kind": "item",
                "cost_points": 800,
                "value_fen": 1800,
                "validity_days": 14,
                "stock": 50,
            },
            {
                "reward_id": "gift-wrap",
                "name": _L("免费礼品包装", "Free gift wrapping"),
                "kind": "service",
                "cost_points": 300,
                "value_fen": 1000,
                "validity_days": 90,
            },
            {
                "reward_id": "lounge",
                "name": _L("贵宾休息室体验", "VIP lounge visit"),
                "kind": "service",
                "cost_points": 2000,
                "value_fen": 8800,
                "validity_days": 30,
                "tiers": ["gold", "diamond"],
                "per_member_limit": {"count": 1, "period_days": 30},
            },
        ],
        "checkin": {"enabled": True, "points_per_day": 5, "streak_bonuses": {"7": 50}},
        "birthday_gift": {
            "name": _L("生日蛋糕券", "Birthday cake voucher"),
            "value_fen": 3000,
            "validity_days": 30,
            "window_days": 7,
        },
        "member_day": {
            "weekdays": [3],
            "month_days": [8, 18, 28],
            "points_multiplier": "2",
            "name": _L("会员日", "Member day"),
        },
        "wheel": {
            "enabled": True,
            "free_spins_per_day": 1,
            "spin_cost_points": 5,
            "paid_spins_per_day": 10,
            "offline_spins_per_day": 1,
            "prizes": [
                {
                    "prize_id": "thanks",
                    "kind": "nothing",
                    "weight": 50,
                    "name": _L("谢谢参与", "Better luck next time"),
                },
                {"prize_id": "pts-10", "kind": "points", "points": 10, "weight": 30, "name": _L("10积分", "10 points")},
                {"prize_id": "pts-50", "kind": "points", "points": 50, "weight": 8, "name": _L("50积分", "50 points")},
                {
                    "prize_id": "tea",
                    "kind": "voucher",
                    "value_fen": 1800,
                    "validity_days": 14,
                    "stock_per_kiosk": 20,
                    "weight": 10,
                    "name": _L("奶茶一杯", "A milk tea"),
                },
                {
                    "prize_id": "off-20",
                    "kind": "voucher",
                    "value_fen": 2000,
                    "validity_days": 30,
                    "stock_per_kiosk": 5,
                    "weight": 2,
                    "name": _L("20元代金券", "¥20 voucher"),
                },
            ],
        },
    }
    if with_pin:
        document["pin"] = {**DEMO_PIN_POLICY, "tiers": list(DEMO_PIN_POLICY["tiers"])}
    return document


def _lot(lot_id: str, points: int, earned: dt.datetime, expires: dt.datetime) -> dict[str, Any]:
    return {"lot_id": lot_id, "points": points, "earned_at": earned.isoformat(), "expires_at": expires.isoformat()}


#: The store the built-in demo's purchases were made at (config.yaml's store id).
DEMO_STORE = "store-0001"


def _history(member: dict[str, Any], now: dt.datetime) -> list[dict[str, Any]]:
    """积分明细 as HQ would send it: each lot's purchase, plus one expiry so the list has a minus."""
    items = [
        {"kind": "earn", "points": lot["points"], "at": lot["earned_at"], "store_id": DEMO_STORE}
        for lot in member["lots"]
    ]
    lapsed = (now - dt.timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
    items.append({"kind": "expire", "points": -150, "at": lapsed.isoformat()})
    return sorted(items, key=lambda item: dt.datetime.fromisoformat(item["at"]), reverse=True)


def demo_members(now: dt.datetime) -> list[dict[str, Any]]:
    """Six members across the tiers, with point lots dated relative to `now` and their history."""
    members = _demo_members(now)
    for member in members:
        member["history"] = _history(member, now)
    return members


def _demo_members(now: dt.datetime) -> list[dict[str, Any]]:
    year = dt.timedelta(days=365)

    def earned(days_ago: int) -> dt.datetime:
        return (now - dt.timedelta(days=days_ago)).replace(microsecond=0)

    def card(key: int, status: str = "active") -> dict[str, Any]:
        demo = next(c for c in DEMO_CARDS if c.key == key)
        return {"uid": demo.uid.hex(), "issue_no": demo.issue_no, "status": status}

    soon = earned(362)
    birthday = now.date().replace(year=1992) if not (now.month == 2 and now.day == 29) else dt.date(1992, 2, 29)
    return [
        {
            "member_id": "M0001",
            "name": "王小明",
            "birthday": "1988-11-03",
            "balance_fen": 8_800,
            "spend_fen": 32_050,
            "cards": [card(1)],
            "lots": [_lot("L1", 300, soon, soon + year), _lot("L2", 520, earned(40), earned(40) + year)],
        },
        {
            "member_id": "M0002",
            "name": "李娜",
            "birthday": birthday.isoformat(),
            "balance_fen": 50_000,
            "spend_fen": 234_500,
            "cards": [card(2)],
            "lots": [
                _lot("L1", 1_100, earned(300), earned(300) + year),
                _lot("L2", 1_500, earned(20), earned(20) + year),
            ],
            "pin_hash": hash_pin(DEMO_PIN),
        },
        {
            "member_id": "M0003",
            "name": "张伟",
            "birthday": "1979-06-15",
            "balance_fen": 123_456,
            "spend_fen": 680_000,
            "cards": [card(3)],
            "lots": [
                _lot("L1", 2_000, earned(200), earned(200) + year),
                _lot("L2", 5_200, earned(10), earned(10) + year),
            ],
        },
        {
            "member_id": "M0004",
            "name": "陈静",
            "birthday": "1990-01-08",
            "balance_fen": 1_000_000,
            "spend_fen": 1_520_000,
            "cards": [card(4)],
            "lots": [
                _lot("L1", 4_000, earned(330), earned(330) + year),
                _lot("L2", 8_000, earned(60), earned(60) + year),
            ],
        },
        {
            "member_id": "M0005",
            "name": "刘洋",
            "birthday": "2001-09-30",
            "balance_fen": 2_000,
            "spend_fen": 45_000,
            "cards": [card(5, "lost"), card(6)],
            "lots": [_lot("L1", 1_200, earned(100), earned(100) + year)],
        },
        {
            "member_id": "M0006",
            "name": "欧阳赵丽",
            "birthday": None,
            "balance_fen": 0,
            "spend_fen": 80_000,
            "tier_override": "gold",
            "cards": [card(7)],
            "lots": [_lot("L1", 2_500, earned(15), earned(15) + year)],
        },
    ]


def seed_demo(ledger: Any, now: dt.datetime, *, with_pin: bool = False) -> None:
    """Load the demo rules and members into an empty ledger (parts already present are kept);
    `with_pin`: the rules ask silver members and above for their PIN (the simulation's)."""
    if ledger.rules_version() is None:
        ledger.apply_rules(DEMO_RULES_VERSION, demo_rules(with_pin=with_pin))
    if ledger.member_snapshot_version() is None:
        ledger.apply_member_snapshot(DEMO_SNAPSHOT_VERSION, demo_members(now), (), full=True)
