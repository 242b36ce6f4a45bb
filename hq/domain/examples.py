"""Two programmes from the domain notes, as documents: examples of the format, test fixtures and
the demo's seed. Each call returns a fresh document the caller may change.

- `supermarket_program()`: spend ladder 普通会员 / 银卡 / 金卡 / 钻石 at 0 / 1,000 / 5,000 /
  10,000 yuan, 95 / 90 / 85 / 80 % of the price, points x1 / 1.5 / 2 / 2.5, no downgrade; stored
  value with "pay 500 get 700", +20% from 10,000 yuan, and 60% spendable on the day of a top-up;
  a daily check-in worth 5 points, +50 on the 7th consecutive day.
- `courier_program()`: growth-points ladder 普通 / 银卡 / 金卡 / 钻石 at 0 / 1,000 / 5,000 /
  20,000 growth points (one per yuan of postage), re-evaluated yearly on the past 365 days, so a
  member who ships less moves down; no stored value.
"""

from __future__ import annotations

from typing import Any


def _L(zh: str, en: str) -> dict[str, str]:
    return {"zh_CN": zh, "en": en}


def supermarket_program() -> dict[str, Any]:
    """The supermarket's spend ladder (no downgrade) with stored-value terms."""
    return {
        "kiosk": {
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
                    "threshold": 100_000,  # fen: 1,000 yuan of cumulative spend
                    "discount_pct": 90,
                    "points_multiplier": "1.5",
                    "benefits": _L("消费9折，积分1.5倍", "10% off, 1.5x points"),
                },
                {
                    "code": "gold",
                    "name": _L("金卡", "Gold"),
                    "threshold": 500_000,
                    "discount_pct": 85,
                    "points_multiplier": "2",
                    "benefits": _L("消费85折，积分2倍", "15% off, 2x points"),
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
                    "reward_id": "off-10",
                    "name": _L("10元代金券", "¥10 off voucher"),
                    "kind": "money_off",
                    "cost_points": 1000,  # 100 points = 1 yuan off
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
                    "reward_id": "eggs",
                    "name": _L("鲜鸡蛋一盒", "A box of fresh eggs"),
                    "kind": "item",
                    "cost_points": 800,
                    "value_fen": 1500,
                    "validity_days": 14,
                    "stock": 200,
                },
            ],
            # 每日签到: 5 points a day, +50 on the 7th day in a row (a week's habit is the goal).
            "checkin": {"enabled": True, "points_per_day": 5, "streak_bonuses": {"7": 50}},
            # 幸运大转盘: a free spin a day, then 5 points a spin; eggs and coupons in store stock.
            # A PIN before silver members and above spend (a lost card cannot be drained by a tap).
            "pin": {"required": "tiers", "tiers": ["silver", "gold", "diamond"]},
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
                "free_spins_per_day": 1,
                "spin_cost_points": 5,
                "paid_spins_per_day": 10,
                "offline_spins_per_day": 1,
                "prizes": [
                    {"prize_id": "thanks", "kind": "nothing", "weight": 55, "name": _L("谢谢参与", "Try again")},
                    {
                        "prize_id": "pts-10",
                        "kind": "points",
                        "points": 10,
                        "weight": 30,
                        "name": _L("10积分", "10 points"),
                    },
                    {
                        "prize_id": "eggs",
                        "kind": "voucher",
                        "value_fen": 1500,
                        "validity_days": 7,
                        "stock_per_kiosk": 30,
                        "weight": 12,
                        "name": _L("鸡蛋一盒", "Box of eggs"),
                    },
                    {
                        "prize_id": "off-20",
                        "kind": "voucher",
                        "value_fen": 2000,
                        "validity_days": 30,
                        "stock_per_kiosk": 5,
                        "weight": 3,
                        "name": _L("20元券", "¥20 off"),
                    },
                ],
            },
        },
        "earning": {"points_per_yuan": "1", "lot_validity_days": 365, "growth_per_yuan": "1"},
        "reevaluation": None,
        "topup": {
            "bonuses": [
                {"min_fen": 50_000, "bonus_fen": 20_000},  # pay 500 yuan, get 700
                {"min_fen": 1_000_000, "bonus_pct": 20},  # deposit 10,000 yuan at +20% = 12,000
            ],
            "first_day_spend_pct": 60,
        },
    }


def courier_program() -> dict[str, Any]:
    """A courier's growth-points ladder with yearly re-evaluation that can move members down."""
    return {
        "kiosk": {
            "measure": "growth_points",
            "downgrade": True,
            "tiers": [
                {
                    "code": "regular",
                    "name": _L("普通", "Regular"),
                    "threshold": 0,
                    "discount_pct": 100,
                    "points_multiplier": "1",
                    "benefits": _L("每元运费积1分", "1 point per yuan of postage"),
                },
                {
                    "code": "silver",
                    "name": _L("银卡", "Silver"),
                    "threshold": 1_000,  # growth points over the last 365 days
                    "discount_pct": 98,
                    "points_multiplier": "1.2",
                    "benefits": _L("运费98折，积分1.2倍", "2% off, 1.2x points"),
                },
                {
                    "code": "gold",
                    "name": _L("金卡", "Gold"),
                    "threshold": 5_000,
                    "discount_pct": 95,
                    "points_multiplier": "1.5",
                    "benefits": _L("运费95折，积分1.5倍，优先揽收", "5% off, 1.5x points, priority pick-up"),
                },
                {
                    "code": "diamond",
                    "name": _L("钻石", "Diamond"),
                    "threshold": 20_000,
                    "discount_pct": 90,
                    "points_multiplier": "2",
                    "benefits": _L("运费9折，积分2倍，专属客服", "10% off, 2x points, dedicated service"),
                },
            ],
            "rewards": [
                {
                    "reward_id": "ship-5",
                    "name": _L("5元运费券", "¥5 postage voucher"),
                    "kind": "money_off",
                    "cost_points": 500,
                    "value_fen": 500,
                    "validity_days": 30,
                },
                {
                    "reward_id": "box",
                    "name": _L("免费包装箱", "Free shipping box"),
                    "kind": "service",
                    "cost_points": 200,
                    "value_fen": 300,
                    "validity_days": 30,
                },
                {
                    "reward_id": "insure",
                    "name": _L("免费保价一次", "One free insured shipment"),
                    "kind": "service",
                    "cost_points": 1500,
                    "value_fen": 2000,
                    "validity_days": 60,
                    "tiers": ["gold", "diamond"],
                    "per_member_limit": {"count": 1, "period_days": 30},
                },
            ],
        },
        "earning": {"points_per_yuan": "1", "lot_validity_days": 365, "growth_per_yuan": "1"},
        "reevaluation": {"window_days": 365},
        "topup": None,
    }
