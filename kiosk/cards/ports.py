"""What kiosk/cards needs from its neighbours, as structural protocols (no imports of them).

`TagSession` is the driver's selected card (docs/architecture.md). `CardRegistry` is the part of
the ledger that card checks use; kiosk.ledger's facade satisfies it without naming it.
"""

from __future__ import annotations

from typing import Any, Protocol


class TagSession(Protocol):
    uid: bytes
    card_type: str

    def authenticate(self, block: int, key: bytes, key_type: str = "A") -> None: ...
    def read_block(self, block: int) -> bytes: ...
    def write_block(self, block: int, data: bytes) -> None: ...
    def read_pages(self, page: int) -> bytes: ...


class CardState(Protocol):
    member_id: str
    issue_no: int
    status: str
    last_counter: int


class CardRegistry(Protocol):
    """Card and deny-list storage plus security events (kiosk.ledger)."""

    def card_state(self, uid: bytes) -> CardState | None: ...
    def denial(self, uid: bytes) -> str | None: ...
    def deny_card(self, uid: bytes, reason: str, source: str) -> None: ...
    def record_security_event(self, kind: str, uid: bytes, detail: dict[str, Any]) -> None: ...
    def pending_redemption_for_card(self, uid: bytes) -> Any | None: ...
    def confirm_redemption(self, intent_id: str, card_counter: int | None) -> Any: ...
