"""What kiosk/cards needs from its neighbours, as structural protocols (no imports of them).

`TagSession` is the driver's selected card (docs/architecture.md). `CardRegistry` is the part of
the ledger that card checks use; kiosk.ledger's facade satisfies it without naming it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class TagSession(Protocol):
    uid: bytes
    card_type: str

    def authenticate(self, block: int, key: bytes, key_type: str = "A") -> None: ...
    def read_block(self, block: int) -> bytes: ...
    def write_block(self, block: int, data: bytes) -> None: ...
    def read_pages(self, page: int) -> bytes: ...


class CardState(Protocol):
    """What the ledger knows of a card (read-only: kiosk.ledger.cards.CardRecordState is frozen)."""

    @property
    def member_id(self) -> str: ...
    @property
    def issue_no(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def last_counter(self) -> int: ...


class RedemptionLedger(Protocol):
    """What a redemption's card step needs from the ledger (kiosk.ledger)."""

    def confirm_redemption(self, intent_id: str, card_counter: int | None) -> Any: ...
    def card_counter_owner(self, uid: bytes, member_id: str, counter: int) -> str | None:
        """The intent id of the redemption (issued or prepared) that this card counter belongs to."""


class CardRegistry(RedemptionLedger, Protocol):
    """Card and deny-list storage plus security events (kiosk.ledger)."""

    def card_state(self, uid: bytes) -> CardState | None: ...
    def denial(self, uid: bytes) -> str | None: ...
    def deny_card(self, uid: bytes, reason: str, source: str) -> None: ...
    def record_security_event(self, kind: str, uid: bytes | None, detail: Mapping[str, Any] | str) -> object: ...
    def pending_redemption_for_card(self, uid: bytes) -> Any | None: ...
