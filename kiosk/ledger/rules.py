"""HQ's tier rules and rewards catalog: validation, tier evaluation and progress.

The rules arrive as one versioned JSON document from HQ:

    {
      "measure": "spend_fen",            # or "growth_points": what the thresholds count
      "downgrade": false,                # true: HQ's periodic re-evaluation may move members down
      "tiers": [                         # ordered from the bottom; first threshold must be 0
        {"code": "regular", "name": {"zh_CN": "普通会员", "en": "Regular"}, "threshold": 0,
         "discount_pct": 95, "points_multiplier": "1",
         "benefits": {"zh_CN": "...", "en": "..."}},
        ...
      ],
      "rewards": [
        {"reward_id": "off-10", "name": {"zh_CN": "10元代金券", "en": "¥10 voucher"},
         "kind": "money_off",            # "money_off", "item" or "service"
         "cost_points": 1000, "value_fen": 1000, "validity_days": 30,
         "per_member_limit": {"count": 2, "period_days": 30},   # optional; period_days null = ever
         "stock": 100,                   # optional; null = unlimited
         "tiers": ["gold", "diamond"],   # optional; null = every tier
         "valid_from": "2026-01-01T00:00:00+08:00", "valid_until": null}   # optional, aware ISO
      ],
      "checkin": {                       # optional; absent or null = no daily check-in (每日签到)
        "enabled": true,                 # false: kept in the document, not offered
        "points_per_day": 5,             # every check-in, once per member per store calendar day
        "streak_bonuses": {"7": 50}      # optional: +50 on the 7th consecutive day (keys: day counts)
      },
      "pin": {                           # optional; absent = never (no PIN before spending)
        "required": "above_points",      # always | never | above_points | tiers
        "above_points": 5000,            # required with above_points: a reward costing more asks
        "tiers": ["gold", "diamond"],    # required with tiers: members of these tiers are asked
        "max_failures": 5                # optional (default 5, 1..20): wrong PINs before the lock
      },
      "wheel": {                         # optional; absent or null = no prize wheel (幸运大转盘)
        "enabled": true,                 # false: kept in the document, not offered
        "free_spins_per_day": 1,         # free spins per member per store day (0..10)
        "spin_cost_points": 5,           # points each further spin costs (0: no paid spins)
        "paid_spins_per_day": 10,        # optional (default 10): paid spins per member per day
        "offline_spins_per_day": 1,      # optional (default 1): spins a member may make offline a day
        "prizes": [                      # 2..12 segments, drawn in proportion to their weights
          {"prize_id": "thanks", "kind": "nothing", "weight": 60,
           "name": {"zh_CN": "谢谢参与", "en": "Try again"}},
          {"prize_id": "pts-20", "kind": "points", "points": 20, "weight": 30, "name": {...}},
          {"prize_id": "coffee", "kind": "voucher", "value_fen": 1200, "validity_days": 14,
           "stock_per_kiosk": 20,        # optional: this kiosk gives it at most 20 times per version
           "weight": 10, "name": {...}}
        ]
      },
      "birthday_gift": {                 # optional: a voucher claimed at a kiosk once a year (生日礼)
        "name": {"zh_CN": "生日蛋糕券", "en": "Birthday cake voucher"},
        "value_fen": 3000, "validity_days": 30,
        "window_days": 7                 # optional (default 7, 1..31): claimable from the birthday on
      },
      "member_day": {                    # optional: member day (会员日): more points on purchases
        "weekdays": [3],                 # ISO weekdays (1 = Monday) and/or
        "month_days": [8, 18, 28],       # days of the month, in the store's calendar
        "points_multiplier": "2",        # decimal string, above 1 and at most 10; HQ earns with it
        "name": {"zh_CN": "会员日", "en": "Member day"}
      }
    }

Unknown keys are errors (a typo must not silently drop a rule). Every error names the path of the
offending field, e.g. `tiers[2].threshold: must be greater than tiers[1].threshold (100000)`.

Tier evaluation: an HQ manual override wins; otherwise the highest tier whose threshold the
member's measure reaches. Without downgrade a member never falls below `tier_floor` (the tier HQ
last assigned), so a lowered measure after a re-evaluation cannot demote them; with downgrade the
measure alone decides.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from kiosk.ledger.errors import InvalidRules
from kiosk.model import LOCALES, TierInfo, TierProgress, local

MEASURES = ("spend_fen", "growth_points")
REWARD_KINDS = ("money_off", "item", "service")


@dataclass(frozen=True)
class Tier:
    code: str
    name: Mapping[str, str]
    threshold: int
    discount_pct: int
    points_multiplier: Decimal
    benefits: Mapping[str, str]

    def info(self) -> TierInfo:
        return TierInfo(
            code=self.code,
            name=dict(self.name),
            discount_pct=self.discount_pct,
            points_multiplier=str(self.points_multiplier),
            benefits=dict(self.benefits),
        )


@dataclass(frozen=True)
class MemberLimit:
    count: int
    period_days: int | None  # None: over the member's lifetime


@dataclass(frozen=True)
class Reward:
    reward_id: str
    name: Mapping[str, str]
    kind: str
    cost_points: int
    value_fen: int
    validity_days: int
    per_member_limit: MemberLimit | None
    stock: int | None
    tiers: frozenset[str] | None
    valid_from: dt.datetime | None
    valid_until: dt.datetime | None
    #: `name` as the JSON text each voucher row stores, encoded once rather than per redemption.
    name_json: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_json", json.dumps(dict(self.name), ensure_ascii=False))


@dataclass(frozen=True)
class Checkin:
    """Daily check-in (每日签到): points for the first check-in of a store day, bonuses on streak days."""

    enabled: bool
    points_per_day: int
    streak_bonuses: Mapping[int, int]  # consecutive day number -> bonus points that day

    def points_for(self, streak: int) -> tuple[int, int]:
        """(points in all, of which bonus) for a check-in that makes a streak of `streak` days."""
        bonus = self.streak_bonuses.get(streak, 0)
        return self.points_per_day + bonus, bonus


PIN_REQUIRED = ("always", "never", "above_points", "tiers")


@dataclass(frozen=True)
class PinPolicy:
    """When a member must enter their PIN before a redemption (kiosk.ledger.pin_lock applies it)."""

    required: str  # one of PIN_REQUIRED
    above_points: int | None = None  # with "above_points": a reward costing more than this asks
    tiers: frozenset[str] = frozenset()  # with "tiers": members in these tiers are asked
    max_failures: int = 5  # consecutive wrong PINs that lock the member's redemptions

    def asks(self, tier_code: str, cost_points: int) -> bool:
        """Whether a redemption of `cost_points` by a member of `tier_code` needs the PIN."""
        if self.required == "always":
            return True
        if self.required == "above_points":
            return self.above_points is not None and cost_points > self.above_points
        if self.required == "tiers":
            return tier_code in self.tiers
        return False


PRIZE_KINDS = ("nothing", "points", "voucher")
#: Reward ids of vouchers won on the wheel: "wheel:<prize_id>", apart from the catalog's rewards.
WHEEL_REWARD_PREFIX = "wheel:"


@dataclass(frozen=True)
class Prize:
    """One segment of the prize wheel: nothing, points into a lot, or a signed voucher."""

    prize_id: str
    kind: str  # one of PRIZE_KINDS
    name: Mapping[str, str]
    weight: int
    points: int = 0  # kind "points"
    value_fen: int = 0  # kind "voucher"
    validity_days: int = 0  # kind "voucher"
    stock_per_kiosk: int | None = None  # None: unlimited

    @property
    def reward_id(self) -> str:
        """The reward id a voucher of this prize carries (kiosk.ledger.vouchers encodes it)."""
        return WHEEL_REWARD_PREFIX + self.prize_id


@dataclass(frozen=True)
class Wheel:
    """The prize wheel (幸运大转盘): free spins a day, the price of more, and weighted prizes."""

    enabled: bool
    free_spins_per_day: int
    spin_cost_points: int
    paid_spins_per_day: int
    offline_spins_per_day: int
    prizes: tuple[Prize, ...]

    def prize(self, prize_id: str) -> Prize | None:
        return next((p for p in self.prizes if p.prize_id == prize_id), None)

    @property
    def max_points_prize(self) -> int:
        return max((p.points for p in self.prizes if p.kind == "points"), default=0)


#: The policy of rules without a "pin" section: spending needs no PIN (as before PINs existed).
PIN_NEVER = PinPolicy("never")


#: Reward id of birthday gift vouchers (the voucher code carries it).
BIRTHDAY_REWARD_ID = "birthday-gift"


@dataclass(frozen=True)
class BirthdayGift:
    """A voucher a member claims at a kiosk once a year, from their birthday for `window_days` days."""

    enabled: bool
    name: Mapping[str, str]
    value_fen: int
    validity_days: int
    window_days: int
    #: `name` as the JSON text the voucher row stores.
    name_json: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_json", json.dumps(dict(self.name), ensure_ascii=False))


@dataclass(frozen=True)
class MemberDay:
    """Member day (会员日): purchases on these store days earn `points_multiplier` times the points
    (HQ earns; the kiosk shows it)."""

    weekdays: frozenset[int]  # ISO, 1 = Monday
    month_days: frozenset[int]
    points_multiplier: Decimal
    name: Mapping[str, str]

    def includes(self, day: dt.date) -> bool:
        return day.isoweekday() in self.weekdays or day.day in self.month_days


@dataclass(frozen=True)
class Rules:
    version: int
    measure: str
    downgrade: bool
    tiers: tuple[Tier, ...]
    rewards: tuple[Reward, ...]
    checkin: Checkin | None = None  # None: the programme offers no check-in
    pin: PinPolicy = PIN_NEVER
    wheel: Wheel | None = None  # None: the programme has no prize wheel
    birthday_gift: BirthdayGift | None = None  # None: no birthday gift
    member_day: MemberDay | None = None  # None: no member day

    def tier(self, code: str) -> Tier | None:
        return next((t for t in self.tiers if t.code == code), None)

    def reward(self, reward_id: str) -> Reward | None:
        return next((r for r in self.rewards if r.reward_id == reward_id), None)


# --- validation -----------------------------------------------------------------------------


def _fail(path: str, message: str) -> InvalidRules:
    return InvalidRules(f"rules document: {path}: {message}")


def _keys(obj: Any, path: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _fail(path, f"must be an object, got {type(obj).__name__}")
    for key in obj:
        if key not in required | optional:
            raise _fail(
                f"{path}.{key}" if path else str(key), f"unknown key (known: {', '.join(sorted(required | optional))})"
            )
    for key in sorted(required):
        if key not in obj:
            raise _fail(f"{path}.{key}" if path else key, "is required")
    return obj


#: Whatever HQ signs must still fit a SQLite INTEGER when the kiosk stores or counts with it.
_INT_CEILING = 2**63 - 1
#: A voucher code carries its value in 32 bits (kiosk.ledger.vouchers).
_VOUCHER_VALUE_MAX = 2**32 - 1


def _int(value: Any, path: str, *, minimum: int | None = None, maximum: int = _INT_CEILING) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise _fail(path, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise _fail(path, f"must be at most {maximum}, got {value}")
    return value


def _text(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"must be a non-empty string, got {value!r}")
    return value


def _local_text(value: Any, path: str, *, required: bool = True) -> dict[str, str]:
    obj = _keys(value, path, set(LOCALES) if required else set(), set(LOCALES))
    return {loc: _text(obj[loc], f"{path}.{loc}") for loc in LOCALES if loc in obj}


def _when(value: Any, path: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(path, f"must be an ISO 8601 time or null, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _fail(path, f"is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise _fail(path, f"needs a UTC offset (e.g. +08:00): {value!r}")
    return parsed


def _tier(obj: Any, path: str) -> Tier:
    obj = _keys(obj, path, {"code", "name", "threshold", "discount_pct", "points_multiplier"}, {"benefits"})
    raw_mult = obj["points_multiplier"]
    if isinstance(raw_mult, bool) or not isinstance(raw_mult, (str, int, float)):
        raise _fail(f"{path}.points_multiplier", f"must be a decimal number, got {raw_mult!r}")
    try:
        multiplier = Decimal(str(raw_mult))
    except InvalidOperation:
        raise _fail(f"{path}.points_multiplier", f"must be a decimal number, got {raw_mult!r}") from None
    if not multiplier.is_finite() or multiplier <= 0 or multiplier > 100:
        raise _fail(f"{path}.points_multiplier", f"must be above 0 and at most 100, got {raw_mult!r}")
    return Tier(
        code=_text(obj["code"], f"{path}.code"),
        name=_local_text(obj["name"], f"{path}.name"),
        threshold=_int(obj["threshold"], f"{path}.threshold", minimum=0),
        discount_pct=_int(obj["discount_pct"], f"{path}.discount_pct", minimum=1, maximum=100),
        points_multiplier=multiplier,
        benefits=_local_text(obj.get("benefits", {}), f"{path}.benefits", required=False),
    )


def _reward(obj: Any, path: str, tier_codes: set[str]) -> Reward:
    obj = _keys(
        obj,
        path,
        {"reward_id", "name", "kind", "cost_points", "value_fen", "validity_days"},
        {"per_member_limit", "stock", "tiers", "valid_from", "valid_until"},
    )
    kind = obj["kind"]
    if kind not in REWARD_KINDS:
        raise _fail(f"{path}.kind", f"must be one of {', '.join(REWARD_KINDS)}, got {kind!r}")
    limit = None
    if obj.get("per_member_limit") is not None:
        lim = _keys(obj["per_member_limit"], f"{path}.per_member_limit", {"count"}, {"period_days"})
        period = lim.get("period_days")
        limit = MemberLimit(
            count=_int(lim["count"], f"{path}.per_member_limit.count", minimum=1),
            # Bounded like validity_days: a period of 10**12 days overflowed timedelta in every view.
            period_days=None
            if period is None
            else _int(period, f"{path}.per_member_limit.period_days", minimum=1, maximum=3660),
        )
    stock = obj.get("stock")
    if stock is not None:
        stock = _int(stock, f"{path}.stock", minimum=0)
    tiers = obj.get("tiers")
    if tiers is not None:
        if not isinstance(tiers, list) or not tiers:
            raise _fail(f"{path}.tiers", "must be a non-empty list of tier codes or null")
        for i, code in enumerate(tiers):
            if not isinstance(code, str) or code not in tier_codes:
                raise _fail(f"{path}.tiers[{i}]", f"unknown tier code {code!r}")
        tiers = frozenset(tiers)
    valid_from = _when(obj.get("valid_from"), f"{path}.valid_from")
    valid_until = _when(obj.get("valid_until"), f"{path}.valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        raise _fail(f"{path}.valid_until", "must be after valid_from")
    return Reward(
        reward_id=_text(obj["reward_id"], f"{path}.reward_id"),
        name=_local_text(obj["name"], f"{path}.name"),
        kind=kind,
        cost_points=_int(obj["cost_points"], f"{path}.cost_points", minimum=1),
        value_fen=_int(obj["value_fen"], f"{path}.value_fen", minimum=0, maximum=_VOUCHER_VALUE_MAX),
        validity_days=_int(obj["validity_days"], f"{path}.validity_days", minimum=1, maximum=3660),
        per_member_limit=limit,
        stock=stock,
        tiers=tiers,
        valid_from=valid_from,
        valid_until=valid_until,
    )


#: Check-in points are a gift per visit: bounded so a typo (5000000) cannot mint a fortune a day.
_CHECKIN_POINTS_MAX = 100_000
#: Streak days a bonus may name: a year, beyond which a streak bonus is a typo.
_STREAK_DAYS_MAX = 366


def _checkin(obj: Any, path: str) -> Checkin | None:
    if obj is None:
        return None
    obj = _keys(obj, path, {"points_per_day"}, {"enabled", "streak_bonuses"})
    enabled = obj.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(f"{path}.enabled", f"must be true or false, got {enabled!r}")
    per_day = _int(obj["points_per_day"], f"{path}.points_per_day", minimum=0, maximum=_CHECKIN_POINTS_MAX)
    raw = obj.get("streak_bonuses") or {}
    if not isinstance(raw, Mapping):
        raise _fail(f"{path}.streak_bonuses", f"must be an object of day -> points, got {type(raw).__name__}")
    bonuses: dict[int, int] = {}
    for key, value in raw.items():
        # JSON object keys are strings: "7" is the 7th consecutive day; "07" or "x" is a typo.
        if not isinstance(key, str) or not key.isdigit() or key != str(int(key)):
            raise _fail(f"{path}.streak_bonuses.{key}", 'must be a day count such as "7"')
        day = int(key)
        if not 2 <= day <= _STREAK_DAYS_MAX:
            raise _fail(f"{path}.streak_bonuses.{key}", f"day must be between 2 and {_STREAK_DAYS_MAX}, got {day}")
        bonuses[day] = _int(value, f"{path}.streak_bonuses.{key}", minimum=1, maximum=_CHECKIN_POINTS_MAX)
    if per_day == 0 and not bonuses:
        raise _fail(f"{path}.points_per_day", "must be above 0 when there are no streak_bonuses (nothing to earn)")
    return Checkin(enabled=enabled, points_per_day=per_day, streak_bonuses=dict(sorted(bonuses.items())))


def _pin(obj: Any, path: str, tier_codes: set[str]) -> PinPolicy:
    if obj is None:
        return PIN_NEVER
    obj = _keys(obj, path, {"required"}, {"above_points", "tiers", "max_failures"})
    required = obj["required"]
    if required not in PIN_REQUIRED:
        raise _fail(f"{path}.required", f"must be one of {', '.join(PIN_REQUIRED)}, got {required!r}")
    # The companion field must be present exactly when its mode is chosen: an "above_points" left
    # behind after switching to "always" would read as a rule that is not applied.
    for key, mode in (("above_points", "above_points"), ("tiers", "tiers")):
        if (key in obj) != (required == mode):
            needs = "is required when" if required == mode else "only applies when"
            raise _fail(f"{path}.{key}", f"{needs} {path}.required is {mode!r}")
    above = None
    if required == "above_points":
        above = _int(obj["above_points"], f"{path}.above_points", minimum=0)
    tiers: frozenset[str] = frozenset()
    if required == "tiers":
        if not isinstance(obj["tiers"], list) or not obj["tiers"]:
            raise _fail(f"{path}.tiers", "must be a non-empty list of tier codes")
        for i, code in enumerate(obj["tiers"]):
            if not isinstance(code, str) or code not in tier_codes:
                raise _fail(f"{path}.tiers[{i}]", f"unknown tier code {code!r}")
        tiers = frozenset(obj["tiers"])
    max_failures = _int(obj.get("max_failures", 5), f"{path}.max_failures", minimum=1, maximum=20)
    return PinPolicy(required=required, above_points=above, tiers=tiers, max_failures=max_failures)


#: Segments a wheel may have: fewer than 2 is no draw, more than 12 no longer reads on a 4" panel.
_WHEEL_PRIZES = (2, 12)
_WEIGHT_MAX = 1_000_000


def _prize(obj: Any, path: str) -> Prize:
    raw_kind = obj.get("kind") if isinstance(obj, Mapping) else None
    # A list or object here must be refused by name, not looked up (it is unhashable).
    kind = raw_kind if isinstance(raw_kind, str) else None
    extra = {"points": {"points"}, "voucher": {"value_fen", "validity_days"}}.get(kind, set()) if kind else set()
    optional = {"stock_per_kiosk"} if kind == "voucher" else set()
    obj = _keys(obj, path, {"prize_id", "kind", "name", "weight"} | extra, optional)
    if kind not in PRIZE_KINDS:
        raise _fail(f"{path}.kind", f"must be one of {', '.join(PRIZE_KINDS)}, got {raw_kind!r}")
    prize_id = _text(obj["prize_id"], f"{path}.prize_id")
    # The voucher code carries "wheel:<prize_id>" in at most 64 bytes (kiosk.ledger.vouchers).
    if len((WHEEL_REWARD_PREFIX + prize_id).encode()) > 64:
        raise _fail(f"{path}.prize_id", f"must be at most {64 - len(WHEEL_REWARD_PREFIX)} bytes, got {prize_id!r}")
    stock = obj.get("stock_per_kiosk")
    return Prize(
        prize_id=prize_id,
        kind=kind,
        name=_local_text(obj["name"], f"{path}.name"),
        weight=_int(obj["weight"], f"{path}.weight", minimum=1, maximum=_WEIGHT_MAX),
        points=_int(obj["points"], f"{path}.points", minimum=1, maximum=_CHECKIN_POINTS_MAX) if kind == "points" else 0,
        value_fen=_int(obj["value_fen"], f"{path}.value_fen", minimum=0, maximum=_VOUCHER_VALUE_MAX)
        if kind == "voucher"
        else 0,
        validity_days=_int(obj["validity_days"], f"{path}.validity_days", minimum=1, maximum=3660)
        if kind == "voucher"
        else 0,
        stock_per_kiosk=None if stock is None else _int(stock, f"{path}.stock_per_kiosk", minimum=0),
    )


def _wheel(obj: Any, path: str) -> Wheel | None:
    if obj is None:
        return None
    obj = _keys(
        obj,
        path,
        {"free_spins_per_day", "spin_cost_points", "prizes"},
        {"enabled", "paid_spins_per_day", "offline_spins_per_day"},
    )
    enabled = obj.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(f"{path}.enabled", f"must be true or false, got {enabled!r}")
    raw = obj["prizes"]
    low, high = _WHEEL_PRIZES
    if not isinstance(raw, list) or not low <= len(raw) <= high:
        raise _fail(f"{path}.prizes", f"must be a list of {low} to {high} prizes")
    prizes = [_prize(p, f"{path}.prizes[{i}]") for i, p in enumerate(raw)]
    seen: set[str] = set()
    for i, prize in enumerate(prizes):
        if prize.prize_id in seen:
            raise _fail(f"{path}.prizes[{i}].prize_id", f"duplicate prize id {prize.prize_id!r}")
        seen.add(prize.prize_id)
    free = _int(obj["free_spins_per_day"], f"{path}.free_spins_per_day", minimum=0, maximum=10)
    cost = _int(obj["spin_cost_points"], f"{path}.spin_cost_points", minimum=0, maximum=_CHECKIN_POINTS_MAX)
    paid = _int(obj.get("paid_spins_per_day", 10), f"{path}.paid_spins_per_day", minimum=0, maximum=100)
    if free == 0 and (cost == 0 or paid == 0):
        raise _fail(f"{path}.free_spins_per_day", "is 0 and there are no paid spins: the wheel could never turn")
    return Wheel(
        enabled=enabled,
        free_spins_per_day=free,
        spin_cost_points=cost,
        paid_spins_per_day=paid if cost > 0 else 0,
        offline_spins_per_day=_int(
            obj.get("offline_spins_per_day", 1), f"{path}.offline_spins_per_day", minimum=0, maximum=100
        ),
        prizes=tuple(prizes),
    )


def _birthday_gift(obj: Any, path: str) -> BirthdayGift | None:
    if obj is None:
        return None
    obj = _keys(obj, path, {"name", "value_fen", "validity_days"}, {"enabled", "window_days"})
    enabled = obj.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(f"{path}.enabled", f"must be true or false, got {enabled!r}")
    return BirthdayGift(
        enabled=enabled,
        name=_local_text(obj["name"], f"{path}.name"),
        value_fen=_int(obj["value_fen"], f"{path}.value_fen", minimum=0, maximum=_VOUCHER_VALUE_MAX),
        validity_days=_int(obj["validity_days"], f"{path}.validity_days", minimum=1, maximum=3660),
        window_days=_int(obj.get("window_days", 7), f"{path}.window_days", minimum=1, maximum=31),
    )


def _day_list(obj: Mapping[str, Any], key: str, path: str, low: int, high: int) -> frozenset[int]:
    raw = obj.get(key, [])
    if not isinstance(raw, list):
        raise _fail(f"{path}.{key}", f"must be a list of integers {low}..{high}")
    return frozenset(_int(v, f"{path}.{key}[{i}]", minimum=low, maximum=high) for i, v in enumerate(raw))


def _member_day(obj: Any, path: str) -> MemberDay | None:
    if obj is None:
        return None
    obj = _keys(obj, path, {"points_multiplier", "name"}, {"weekdays", "month_days"})
    weekdays = _day_list(obj, "weekdays", path, 1, 7)
    month_days = _day_list(obj, "month_days", path, 1, 31)
    if not weekdays and not month_days:
        raise _fail(f"{path}.weekdays", "or month_days must name at least one day")
    raw = obj["points_multiplier"]
    # A string, as HQ's programme insists: a JSON number such as 1.1 is not what it looks like.
    try:
        multiplier = Decimal(raw) if isinstance(raw, str) else None
    except InvalidOperation:
        multiplier = None
    if multiplier is None or not multiplier.is_finite() or not 1 < multiplier <= 10:
        raise _fail(f"{path}.points_multiplier", f'must be a decimal string above 1 and at most 10 ("2"), got {raw!r}')
    return MemberDay(
        weekdays=weekdays,
        month_days=month_days,
        points_multiplier=multiplier,
        name=_local_text(obj["name"], f"{path}.name"),
    )


def parse_rules(version: int, document: Any) -> Rules:
    """Validate HQ's rules document; raise InvalidRules naming the offending field."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidRules(f"rules document: version must be a positive integer, got {version!r}")
    doc = _keys(
        document,
        "",
        {"measure", "tiers", "rewards"},
        {"downgrade", "checkin", "pin", "wheel", "birthday_gift", "member_day"},
    )
    measure = doc["measure"]
    if measure not in MEASURES:
        raise _fail("measure", f"must be one of {', '.join(MEASURES)}, got {measure!r}")
    downgrade = doc.get("downgrade", False)
    if not isinstance(downgrade, bool):
        raise _fail("downgrade", f"must be true or false, got {downgrade!r}")
    if not isinstance(doc["tiers"], list) or not doc["tiers"]:
        raise _fail("tiers", "must be a non-empty list")
    tiers = [_tier(t, f"tiers[{i}]") for i, t in enumerate(doc["tiers"])]
    if tiers[0].threshold != 0:
        raise _fail("tiers[0].threshold", f"the lowest tier must start at 0, got {tiers[0].threshold}")
    seen: set[str] = set()
    for i, tier in enumerate(tiers):
        if tier.code in seen:
            raise _fail(f"tiers[{i}].code", f"duplicate tier code {tier.code!r}")
        seen.add(tier.code)
        if i and tier.threshold <= tiers[i - 1].threshold:
            raise _fail(
                f"tiers[{i}].threshold", f"must be greater than tiers[{i - 1}].threshold ({tiers[i - 1].threshold})"
            )
    if not isinstance(doc["rewards"], list):
        raise _fail("rewards", "must be a list")
    rewards = [_reward(r, f"rewards[{i}]", seen) for i, r in enumerate(doc["rewards"])]
    ids: set[str] = set()
    for i, reward in enumerate(rewards):
        if reward.reward_id in ids:
            raise _fail(f"rewards[{i}].reward_id", f"duplicate reward id {reward.reward_id!r}")
        ids.add(reward.reward_id)
    return Rules(
        version=version,
        measure=measure,
        downgrade=downgrade,
        tiers=tuple(tiers),
        rewards=tuple(rewards),
        checkin=_checkin(doc.get("checkin"), "checkin"),
        pin=_pin(doc.get("pin"), "pin", seen),
        wheel=_wheel(doc.get("wheel"), "wheel"),
        birthday_gift=_birthday_gift(doc.get("birthday_gift"), "birthday_gift"),
        member_day=_member_day(doc.get("member_day"), "member_day"),
    )


# --- evaluation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TierStanding:
    """A member's tier under one rules version, and how it was decided."""

    tier: Tier
    progress: TierProgress
    rules_version: int
    overridden: bool


def evaluate_tier(
    rules: Rules, *, spend_fen: int, growth_points: int, tier_floor: str | None = None, tier_override: str | None = None
) -> TierStanding:
    """Current tier, next tier and what is still needed, under `rules`."""
    current_measure = spend_fen if rules.measure == "spend_fen" else growth_points
    index = max(i for i, t in enumerate(rules.tiers) if t.threshold <= current_measure)
    if not rules.downgrade and tier_floor is not None:
        floor = next((i for i, t in enumerate(rules.tiers) if t.code == tier_floor), None)
        if floor is not None:
            index = max(index, floor)
    overridden = False
    if tier_override is not None:
        forced = next((i for i, t in enumerate(rules.tiers) if t.code == tier_override), None)
        if forced is not None:  # an override naming a tier these rules lack falls back to computing
            index, overridden = forced, True
    tier = rules.tiers[index]
    nxt = rules.tiers[index + 1] if index + 1 < len(rules.tiers) else None
    if nxt is None:
        progress = TierProgress(
            next_tier=None, measure=rules.measure, current=current_measure, threshold=None, still_needed=0
        )
    else:
        progress = TierProgress(
            next_tier=nxt.info(),
            measure=rules.measure,
            current=current_measure,
            threshold=nxt.threshold,
            still_needed=max(0, nxt.threshold - current_measure),
        )
    return TierStanding(tier=tier, progress=progress, rules_version=rules.version, overridden=overridden)


def format_yuan(fen: int) -> str:
    """123400 -> "¥1,234.00"."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def progress_text(progress: TierProgress, locale: str) -> str:
    """ "spend ¥1,234.00 more for 金卡" / "再消费¥1,234.00即可升级为金卡"; empty at the top."""
    if progress.next_tier is None:
        return ""
    name = local(progress.next_tier.name, locale)
    if progress.measure == "spend_fen":
        amount = format_yuan(progress.still_needed)
        return f"再消费{amount}即可升级为{name}" if locale == "zh_CN" else f"spend {amount} more for {name}"
    return (
        f"再获得{progress.still_needed}成长值即可升级为{name}"
        if locale == "zh_CN"
        else f"earn {progress.still_needed} more growth points for {name}"
    )
