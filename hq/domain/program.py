"""HQ's programme: the versioned document that decides tiers, earning, re-evaluation and top-ups.

    {
      "kiosk": { ... },                  # exactly kiosk.ledger.rules' document: measure, downgrade,
                                         #   tiers, rewards, checkin (optional: points per day and
                                         #   streak bonuses), pin (optional: when a PIN is asked
                                         #   before spending, and after how many wrong ones the
                                         #   member's redemptions lock), member_day (optional: the
                                         #   days purchases earn more, hq.domain.points) and
                                         #   birthday_gift (optional); published to kiosks as it is
      "earning": {
        "points_per_yuan": "1",          # decimal string; points = floor(yuan x this x tier multiplier)
        "lot_validity_days": 365,        # a lot earned at t expires at t + this many days
        "growth_per_yuan": "1"           # decimal string; growth points = floor(yuan x this)
      },
      "reevaluation": {"window_days": 365} | null,   # optional; required exactly when kiosk.downgrade
      "topup": {                                     # optional; null = no stored-value terms
        "bonuses": [                                 # ascending min_fen; the highest one reached applies
          {"min_fen": 50000, "bonus_fen": 20000},    #   pay 500 yuan, get 700
          {"min_fen": 1000000, "bonus_pct": 20}      #   from 10,000 yuan: +20% (floored to the fen)
        ],
        "first_day_spend_pct": 60                    # optional; see hq.domain.topup
      } | null
    }

The kiosk part is validated by kiosk's own `parse_rules`, so HQ and the kiosks share one rules
language; HQ is stricter in one respect: every multiplier, the tiers' and member day's included,
must be a plain decimal string with at most 6 places ("1.5"), never a JSON number, because a float
such as 1.1 is not what it looks like.

Unknown keys are errors and every error names the path of the offending field, e.g.
`programme document: topup.bonuses[1].min_fen: must be greater than topup.bonuses[0].min_fen (50000)`
or `programme document: kiosk.tiers[2].threshold: ...` for a fault kiosk's parser found.

One version line: the kiosk rules published from a programme carry the programme's version, so a
kiosk's `rules_version` names the programme that decided its tiers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hq.domain.errors import InvalidProgram
from kiosk.ledger.rules import InvalidRules, Rules, Tier, parse_rules  # HQ imports only rules and model

#: Largest integer HQ stores (a signed 64-bit column on both database backends).
INT_CEILING = 2**63 - 1
#: Bound on day counts, as in kiosk's rules: 10 years; 10**12 days would overflow timedelta.
MAX_DAYS = 3660
#: A plain decimal: no sign, exponent, NaN or spaces, at most 6 places ("1", "1.5", "0.01").
_DECIMAL = re.compile(r"(0|[1-9][0-9]{0,5})(\.[0-9]{1,6})?")


@dataclass(frozen=True)
class Earning:
    """How purchases turn into points and growth points."""

    points_per_yuan: Decimal
    lot_validity_days: int
    growth_per_yuan: Decimal


@dataclass(frozen=True)
class Reevaluation:
    """Downgrade programmes re-evaluate tiers on the measure of a trailing window."""

    window_days: int


@dataclass(frozen=True)
class TopupBonus:
    """From `min_fen` paid, a fixed `bonus_fen` or `bonus_pct` percent (floored); exactly one is set."""

    min_fen: int
    bonus_fen: int | None
    bonus_pct: int | None


@dataclass(frozen=True)
class Topup:
    bonuses: tuple[TopupBonus, ...]  # ascending min_fen
    first_day_spend_pct: int | None  # None: no limit on the day of a top-up


@dataclass(frozen=True)
class Program:
    """A validated programme. `rules` is kiosk's parsed view of the kiosk part."""

    version: int
    rules: Rules
    earning: Earning
    reevaluation: Reevaluation | None
    topup: Topup | None
    # The documents as JSON text: the object stays immutable and every caller gets its own copy.
    _document_json: str = field(repr=False, compare=False)

    @property
    def document(self) -> dict[str, Any]:
        """The whole programme document as it was validated (a fresh copy)."""
        document: dict[str, Any] = json.loads(self._document_json)
        return document

    @property
    def kiosk_document(self) -> dict[str, Any]:
        """The kiosk rules document to publish to kiosks, under `version` (a fresh copy)."""
        kiosk: dict[str, Any] = self.document["kiosk"]
        return kiosk

    def tier(self, code: str) -> Tier | None:
        return self.rules.tier(code)


# --- validation -----------------------------------------------------------------------------


def _fail(path: str, message: str) -> InvalidProgram:
    return InvalidProgram(f"programme document: {path}: {message}")


def _keys(obj: Any, path: str, required: set[str], optional: set[str]) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _fail(path or "(document)", f"must be an object, got {type(obj).__name__}")
    known = required | optional
    for key in obj:
        if key not in known:
            where = f"{path}.{key}" if path else str(key)
            raise _fail(where, f"unknown key (known: {', '.join(sorted(known))})")
    for key in sorted(required):
        if key not in obj:
            raise _fail(f"{path}.{key}" if path else key, "is required")
    return obj


def _int(value: Any, path: str, *, minimum: int, maximum: int = INT_CEILING) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, f"must be an integer, got {value!r}")
    if not minimum <= value <= maximum:
        raise _fail(path, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _decimal(value: Any, path: str, *, maximum: Decimal) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise _fail(path, f'must be a decimal string like "1.5" (at most 6 places), got {value!r}')
    parsed = Decimal(value)
    if parsed > maximum:
        raise _fail(path, f"must be at most {maximum}, got {value!r}")
    return parsed


def _kiosk(obj: Any, version: int) -> Rules:
    if not isinstance(obj, Mapping):
        raise _fail("kiosk", f"must be an object, got {type(obj).__name__}")
    try:
        rules = parse_rules(version, obj)
    except InvalidRules as exc:
        # kiosk says "rules document: tiers[2].threshold: ..."; HQ's path puts it under "kiosk".
        detail = str(exc).removeprefix("rules document: ")
        raise InvalidProgram(f"programme document: kiosk.{detail}") from exc
    for i, tier in enumerate(obj["tiers"]):
        _decimal(tier["points_multiplier"], f"kiosk.tiers[{i}].points_multiplier", maximum=Decimal(100))
    if rules.member_day is not None:  # kiosk's parser allows any decimal string; HQ earns with at most 6 places
        _decimal(obj["member_day"]["points_multiplier"], "kiosk.member_day.points_multiplier", maximum=Decimal(10))
    return rules


def _earning(obj: Any, rules: Rules) -> Earning:
    obj = _keys(obj, "earning", {"points_per_yuan", "lot_validity_days", "growth_per_yuan"}, set())
    earning = Earning(
        points_per_yuan=_decimal(obj["points_per_yuan"], "earning.points_per_yuan", maximum=Decimal(1000)),
        lot_validity_days=_int(obj["lot_validity_days"], "earning.lot_validity_days", minimum=1, maximum=MAX_DAYS),
        growth_per_yuan=_decimal(obj["growth_per_yuan"], "earning.growth_per_yuan", maximum=Decimal(1000)),
    )
    if rules.measure == "growth_points" and earning.growth_per_yuan == 0:
        raise _fail("earning.growth_per_yuan", "must be above 0 when kiosk.measure is growth_points")
    return earning


def _reevaluation(obj: Any, rules: Rules) -> Reevaluation | None:
    # Kiosks read downgrade=true as "HQ's re-evaluation may move members down": the two must agree.
    if obj is None:
        if rules.downgrade:
            raise _fail("reevaluation", "must be set when kiosk.downgrade is true (who else moves members down?)")
        return None
    if not rules.downgrade:
        raise _fail("reevaluation", "must be null when kiosk.downgrade is false (upgrades happen at once anyway)")
    obj = _keys(obj, "reevaluation", {"window_days"}, set())
    return Reevaluation(window_days=_int(obj["window_days"], "reevaluation.window_days", minimum=1, maximum=MAX_DAYS))


def _bonus(obj: Any, path: str) -> TopupBonus:
    obj = _keys(obj, path, {"min_fen"}, {"bonus_fen", "bonus_pct"})
    if ("bonus_fen" in obj) == ("bonus_pct" in obj):
        raise _fail(path, "needs exactly one of bonus_fen or bonus_pct")
    return TopupBonus(
        min_fen=_int(obj["min_fen"], f"{path}.min_fen", minimum=1),
        bonus_fen=_int(obj["bonus_fen"], f"{path}.bonus_fen", minimum=1) if "bonus_fen" in obj else None,
        bonus_pct=_int(obj["bonus_pct"], f"{path}.bonus_pct", minimum=1, maximum=100) if "bonus_pct" in obj else None,
    )


def _topup(obj: Any) -> Topup | None:
    if obj is None:
        return None
    obj = _keys(obj, "topup", {"bonuses"}, {"first_day_spend_pct"})
    if not isinstance(obj["bonuses"], list):
        raise _fail("topup.bonuses", f"must be a list, got {type(obj['bonuses']).__name__}")
    bonuses = [_bonus(b, f"topup.bonuses[{i}]") for i, b in enumerate(obj["bonuses"])]
    for i in range(1, len(bonuses)):
        # Ascending and distinct, so "the highest min_fen reached" is a single, visible rung.
        if bonuses[i].min_fen <= bonuses[i - 1].min_fen:
            raise _fail(
                f"topup.bonuses[{i}].min_fen",
                f"must be greater than topup.bonuses[{i - 1}].min_fen ({bonuses[i - 1].min_fen})",
            )
    pct = obj.get("first_day_spend_pct")
    return Topup(
        bonuses=tuple(bonuses),
        first_day_spend_pct=None if pct is None else _int(pct, "topup.first_day_spend_pct", minimum=0, maximum=100),
    )


def parse_program(version: int, document: Any) -> Program:
    """Validate a programme document; raise InvalidProgram naming the offending field."""
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= INT_CEILING:
        raise InvalidProgram(f"programme document: version must be a positive integer, got {version!r}")
    doc = _keys(document, "", {"kiosk", "earning"}, {"reevaluation", "topup"})
    rules = _kiosk(doc["kiosk"], version)
    earning = _earning(doc["earning"], rules)
    reevaluation = _reevaluation(doc.get("reevaluation"), rules)
    topup = _topup(doc.get("topup"))
    try:
        document_json = json.dumps(doc, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:  # a Mapping that is not a dict, deep inside
        raise InvalidProgram(f"programme document: is not plain JSON ({exc})") from None
    return Program(
        version=version,
        rules=rules,
        earning=earning,
        reevaluation=reevaluation,
        topup=topup,
        _document_json=document_json,
    )
