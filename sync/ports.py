"""What sync needs from the rest of the kiosk, as structural Protocols (no kiosk imports).

The app passes the real `kiosk.ledger.Ledger`; anything with these methods fits. Keeping the seam
here means `sync/` never reaches into ledger internals and the layer rule stays checkable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Protocol


class Clock(Protocol):
    def now(self) -> dt.datetime: ...  # timezone-aware
    def monotonic(self) -> float: ...


class OutboxEventLike(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> dt.datetime: ...
    @property
    def offline(self) -> bool: ...


class OutboxPort(Protocol):
    def outbox_pending(self, limit: int) -> Sequence[OutboxEventLike]: ...
    def outbox_ack(self, events: Iterable[tuple[int, str]]) -> int: ...  # (seq, event_id) pairs
    def outbox_depth(self) -> int: ...


class DocumentAppliers(Protocol):
    """Each `apply_*` is atomic and raises a `ValueError` subclass with the reason if invalid."""

    def apply_rules(self, version: int, document: dict[str, Any]) -> Any: ...
    def rules_version(self) -> int | None: ...
    def apply_member_snapshot(
        self, version: int, members: Iterable[Any], acknowledged_event_ids: Iterable[str], *, full: bool = False
    ) -> Any: ...
    def member_snapshot_version(self) -> int | None: ...
    def apply_denylist_full(self, version: int, entries: list[Any], issued_at: dt.datetime) -> Any: ...
    def apply_denylist_delta(
        self, version: int, base_version: int, added: list[Any], removed: list[Any], issued_at: dt.datetime
    ) -> Any: ...
    def denylist_version(self) -> int | None: ...
    def apply_voucher_keys(self, version: int, payload: dict[str, Any]) -> Any: ...
    def voucher_keys_version(self) -> int | None: ...


class LedgerPort(OutboxPort, DocumentAppliers, Protocol):
    """The ledger as the sync thread sees it (its own connection, opened by a factory)."""


class SystemClock:
    """Wall clock in UTC plus `time.monotonic`; the app normally passes its own store clock."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def monotonic(self) -> float:
        import time

        return time.monotonic()
