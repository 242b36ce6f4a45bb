"""Staff tool: what a card says and whether it verifies, without changing anything anywhere.

Unlike `verify_tap`, inspecting records no security event and denies nothing; it shows both
record copies with the reason each one is or is not trusted, and the verdict a tap would get.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiosk.cards.errors import CardFaults
from kiosk.cards.keyfile import MasterKeys
from kiosk.cards.ports import CardRegistry, TagSession
from kiosk.cards.reading import CardReading, read_card
from kiosk.cards.verify import Blocked, Verdict, judge


@dataclass(frozen=True)
class Inspection:
    reading: CardReading
    verdict: Verdict
    denial: str | None

    def lines(self) -> list[str]:
        """Human-readable report for staff: never key bytes, member id only when genuine."""
        r = self.reading
        out = [f"UID {r.uid.hex().upper()}  type {r.card_type}"]
        if r.unsupported_reason:
            out.append(f"cannot carry a member record: {r.unsupported_reason}")
        for c in r.copies:
            if c.check is None:
                out.append(f"copy {c.copy} (sector {c.sector}): unreadable, keys {c.keying.value}")
                continue
            line = f"copy {c.copy} (sector {c.sector}): {c.check.status.value}, keys {c.keying.value}"
            if c.check.reason:
                line += f" ({c.check.reason})"
            if c.check.record is not None:
                rec = c.check.record
                line += f", member {rec.member_id}, issue {rec.issue_no}, counter {rec.counter}"
            out.append(line)
        if self.denial:
            out.append(f"deny-list: {self.denial}")
        out.append(f"verdict: {type(self.verdict).__name__} {_verdict_detail(self.verdict)}".rstrip())
        return out


def inspect_card(
    session: TagSession, keys: MasterKeys, faults: CardFaults, registry: CardRegistry | None = None
) -> Inspection:
    reading = read_card(session, keys, faults)
    uid = bytes(session.uid)
    denial = registry.denial(uid) if registry is not None else None
    state = registry.card_state(uid) if registry is not None else None
    verdict: Verdict = Blocked(denial) if denial is not None else judge(reading, state)
    return Inspection(reading, verdict, denial)


def _verdict_detail(verdict: Verdict) -> str:
    fields = getattr(verdict, "__dataclass_fields__", {})
    shown = {k: getattr(verdict, k) for k in fields if k not in ("uid", "pending")}
    return " ".join(f"{k}={v}" for k, v in shown.items())
