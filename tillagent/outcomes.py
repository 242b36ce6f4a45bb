"""What the agent answers a POS: frozen objects with a JSON form (`--json`, the local HTTP API) and
a one-line text form a cashier can read at a glance (`scan`, the CLI).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Verdicts of a write-off, for the POS: only the first three mean "give the discount".
WRITTEN_OFF = "written_off"  # HQ wrote it off for this order
ACCEPTED_OFFLINE = "accepted_offline"  # HQ unreachable; journaled, replayed later
REPEAT = "repeat"  # this order had it written off already: the first answer again, apply it once
REFUSED = "refused"


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"¥{fen // 100}.{fen % 100:02d}"


@dataclass(frozen=True)
class Outcome:
    """The answer to one consume."""

    ok: bool
    verdict: str
    message: str
    order_no: str
    error: str | None = None  # HQ's error code (already_used, ...) or the agent's (offline_cap, ...)
    request_id: str | None = None
    voucher_id: str | None = None
    short_code: str | None = None
    value_fen: int | None = None
    mode: str = "online"  # online: HQ answered; offline: HQ was unreachable; local: no request was needed
    used: dict[str, Any] | None = None  # where and when, from HQ's already_used
    replayed: bool = False

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        name = self.short_code or self.voucher_id or "voucher"
        worth = f" {yuan(self.value_fen)}" if self.value_fen is not None else ""
        head = {
            WRITTEN_OFF: "OK       ",
            ACCEPTED_OFFLINE: "OK-OFFLINE",
            REPEAT: "REPEAT   ",
            REFUSED: "REFUSED  ",
        }.get(self.verdict, self.verdict.upper())
        return f"{head} {name}{worth} order {self.order_no}: {self.message}"


@dataclass(frozen=True)
class Lookup:
    """What a cashier sees before writing off: HQ's verdict, or offline the directory's and the journal's."""

    verdict: str  # valid | used | expired | cancelled | unknown | invalid | other_store | rate_limited | ...
    reason: str
    source: str  # hq | offline
    voucher_id: str | None = None
    short_code: str | None = None
    value_fen: int | None = None
    reward_id: str | None = None
    expires_at: str | None = None
    issuing_store: str | None = None
    used: dict[str, Any] | None = None
    journal: list[dict[str, Any]] = field(default_factory=list)  # this till's attempts on it

    @property
    def ok(self) -> bool:
        return self.verdict == "valid"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        name = self.short_code or self.voucher_id or "voucher"
        worth = f" {yuan(self.value_fen)}" if self.value_fen is not None else ""
        where = " (HQ unreachable: offline check)" if self.source == "offline" else ""
        return f"{self.verdict.upper()} {name}{worth}: {self.reason}{where}"


@dataclass
class ReplayReport:
    """What one replay did (counts), and why it stopped early if it did."""

    confirmed: int = 0
    double_use_detected: int = 0
    refused_at_replay: int = 0
    reversed: int = 0  # in-doubt write-offs HQ had made although the POS was told "refused"
    settled_not_written_off: int = 0  # in-doubt attempts HQ never wrote off
    still_pending: int = 0
    still_in_doubt: int = 0
    stopped: str | None = None  # HQ unreachable or the token refused: the rest waits

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> int:
        return (
            self.confirmed + self.double_use_detected + self.refused_at_replay + self.reversed
            + self.settled_not_written_off
        )  # fmt: skip

    def line(self) -> str:
        text = (
            f"replay: {self.confirmed} confirmed, {self.double_use_detected} double use detected, "
            f"{self.refused_at_replay} refused at replay, {self.reversed} reversed, "
            f"{self.settled_not_written_off} not written off; {self.still_pending} still pending, "
            f"{self.still_in_doubt} in doubt"
        )
        return text + (f" (stopped: {self.stopped})" if self.stopped else "")
