"""The Ledger facade: one object the app, the session, the card checks and the sync relay share.

It owns the SQLite connection and serialises access with a lock (the UI loop and the MQTT relay
call it from different threads); each public method is one transaction or one consistent read.
The work itself lives in the small modules next to this one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.ledger import (
    birthday,
    cards,
    checkin,
    db,
    outbox,
    pin_lock,
    redemption,
    snapshot,
    views,
    voucher_key_store,
    wheel,
)
from kiosk.ledger.cards import CardRecordState
from kiosk.ledger.errors import NoRules, NoVoucherKey, StaleVersion, UnknownMember
from kiosk.ledger.outbox import OutboxEvent
from kiosk.ledger.pin_kdf import verify_pin
from kiosk.ledger.pin_lock import PinCheck, PinNotSet, PinRequirement
from kiosk.ledger.redemption import OfflineLimits, PendingRedemption
from kiosk.ledger.rules import Rules, parse_rules
from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from kiosk.ledger.vouchers import Signer, VoucherSigner
from kiosk.model import (
    CheckinResult,
    HistoryItem,
    MemberView,
    PendingRedemptionView,
    RewardOption,
    SpinResult,
    VoucherView,
    WheelStatus,
)

_LOG = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> dt.datetime: ...


class _NoSigner:
    """Stands in for the voucher key in a ledger opened only to look vouchers up."""

    def sign(self, data: bytes) -> bytes:
        raise NoVoucherKey("this ledger was opened without the voucher signing key; it cannot issue vouchers")


class Ledger:
    """The kiosk's local membership ledger. Create with `Ledger.open(...)`."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path,
        *,
        device_id: str,
        clock: Clock,
        tz: ZoneInfo,
        voucher_key: Ed25519PrivateKey | None,
        offline_limits: OfflineLimits,
    ):
        self.conn = conn
        self.path = path
        self.device_id = device_id
        self.clock = clock
        self.tz = tz
        self.voucher_key = voucher_key
        self.voucher_signer: Signer = VoucherSigner(voucher_key) if voucher_key is not None else _NoSigner()
        self.offline_limits = offline_limits
        self._lock = threading.RLock()
        self._rules: Rules | None = None
        self._rules_loaded = False
        self._key_directory: tuple[int, VoucherKeyDirectory] | None = None

    # --- lifecycle --------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        device_id: str,
        clock: Clock,
        tz: ZoneInfo,
        voucher_key: Ed25519PrivateKey | None,
        offline_limits: OfflineLimits,
    ) -> Ledger:
        """Open or create the ledger file; refuse a corrupt one with CorruptDatabase.

        `voucher_key` None opens it for looking vouchers up (`kiosk voucher verify`): everything
        but issuing a voucher works, and no private key is read.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = db.connect(path)
        try:
            db.migrate(conn, path)
        except BaseException:
            conn.close()
            raise
        return cls(
            conn, path, device_id=device_id, clock=clock, tz=tz, voucher_key=voucher_key, offline_limits=offline_limits
        )

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def quarantine(path: Path, now: dt.datetime | None = None) -> Path:
        """Move a (corrupt) ledger and its -wal/-shm files aside so the next open starts empty.

        The kiosk then resyncs rules, members and the deny-list from HQ. Unsent outbox events in
        the old file are not lost: the file is kept under the returned name for recovery.
        """
        path = Path(path)
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%S")
        target = path.with_name(f"{path.name}.corrupt-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            source = Path(f"{path}{suffix}")
            if source.exists():
                source.rename(Path(f"{target}{suffix}"))
        _LOG.warning("ledger %s moved aside to %s; it will be rebuilt from HQ", path, target)
        return target

    @property
    def voucher_public_key(self) -> Ed25519PublicKey:
        if self.voucher_key is None:
            raise NoVoucherKey("this ledger was opened without the voucher signing key")
        return self.voucher_key.public_key()

    def _now(self) -> dt.datetime:
        now = self.clock.now()
        if now.tzinfo is None:
            raise ValueError("the ledger's clock must return timezone-aware datetimes")
        return now

    # --- rules ------------------------------------------------------------------------------

    def rules(self) -> Rules | None:
        """The current rules/catalog, or None before HQ sent any."""
        with self._lock:
            if not self._rules_loaded:
                row = self.conn.execute("SELECT version, document FROM rules ORDER BY version DESC LIMIT 1").fetchone()
                self._rules = parse_rules(row[0], json.loads(row[1])) if row else None
                self._rules_loaded = True
            return self._rules

    def rules_version(self) -> int | None:
        current = self.rules()
        return current.version if current else None

    def apply_rules(self, version: int, document: Mapping[str, Any]) -> None:
        """Validate and store HQ's tier rules + catalog; it decides from the next evaluation on."""
        parsed = parse_rules(version, document)
        with self._lock:
            current = self.rules_version()
            if current is not None and version <= current:
                raise StaleVersion(f"rules version {version} is not newer than the applied version {current}")
            with db.transaction(self.conn):
                self.conn.execute(
                    "INSERT INTO rules(version, document, applied_at) VALUES (?, ?, ?)",
                    (version, json.dumps(document, ensure_ascii=False), db.ts(self._now())),
                )
            self._rules, self._rules_loaded = parsed, True
        _LOG.info("rules version %d applied (%d tiers, %d rewards)", version, len(parsed.tiers), len(parsed.rewards))

    def _require_rules(self) -> Rules:
        current = self.rules()
        if current is None:
            raise NoRules("no rules/catalog from HQ yet")
        return current

    # --- views ------------------------------------------------------------------------------

    def member_view(self, member_id: str) -> MemberView:
        with self._lock:
            rules, now = self._require_rules(), self._now()
            view = views.member_view(self.conn, rules, member_id, now, self.tz)
            today = now.astimezone(self.tz).date()
            return dataclasses.replace(
                view,
                # As it stands online; offline the wheel screen says what the offline limits allow.
                wheel=wheel.status(self.conn, rules, member_id, now, self.tz, online=True) if rules.wheel else None,
                birthday_gift=birthday.status(self.conn, rules, member_id, today),
                member_day=birthday.member_day(rules, today),
                redemptions_locked=pin_lock.state(self.conn, member_id)[1],
            )

    def reward_options(self, member_id: str) -> tuple[RewardOption, ...]:
        with self._lock:
            return views.reward_options(self.conn, self._require_rules(), member_id, self._now(), self.tz)

    def vouchers(self, member_id: str) -> tuple[VoucherView, ...]:
        with self._lock:
            return views.member_vouchers(self.conn, member_id, self._now(), self.tz)

    def points_history(self, member_id: str) -> tuple[HistoryItem, ...]:
        """积分明细: HQ's last point movements plus this kiosk's events HQ has not confirmed (pending)."""
        with self._lock:
            return views.points_history(self.conn, member_id, self.device_id, self.tz)

    def voucher(self, voucher_id: str) -> VoucherView | None:
        with self._lock:
            row = views.voucher_by_id(self.conn, voucher_id)
            return views.voucher_view(row, self._now(), self.tz) if row else None

    def member_exists(self, member_id: str) -> bool:
        with self._lock:
            return self.conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone() is not None

    def member_count(self) -> int:
        with self._lock:
            return int(self.conn.execute("SELECT COUNT(*) FROM members").fetchone()[0])

    # --- daily check-in ------------------------------------------------------------------------

    def check_in(self, member_id: str, *, online: bool) -> CheckinResult:
        """Check the member in for today's store day: points into a local lot, a `checkin` event.

        Raises CheckinRefused (none offered, or already checked in today), OfflineLimitReached.
        """
        with self._lock, db.transaction(self.conn):
            result = checkin.check_in_in_tx(
                self.conn,
                self.rules(),
                device_id=self.device_id,
                tz=self.tz,
                offline_points_per_day=self.offline_limits.points_per_day,
                member_id=member_id,
                online=online,
                now=self._now(),
            )
        _LOG.info(
            "check-in: day %s, streak %d, %d points (offline=%s)",
            result.day,
            result.streak,
            result.points,
            result.offline,
        )
        return result

    # --- prize wheel (kiosk.ledger.wheel) -------------------------------------------------------

    def wheel_status(self, member_id: str, *, online: bool) -> WheelStatus | None:
        """The member's wheel now (None when the rules have none)."""
        with self._lock:
            return wheel.status(self.conn, self._require_rules(), member_id, self._now(), self.tz, online)

    def spin_wheel(self, spin_id: str, member_id: str, *, online: bool, draw: int) -> SpinResult:
        """One spin: the draw, its cost, its prize (points or a signed voucher), a `wheel_spin` event.

        Idempotent by `spin_id`. Raises WheelRefused, InsufficientPoints, OfflineLimitReached.
        """
        with self._lock, db.transaction(self.conn):
            result = wheel.spin_in_tx(
                self, self.rules(), spin_id=spin_id, member_id=member_id, online=online, draw=draw, now=self._now()
            )
        _LOG.info(
            "wheel spin: prize %s (%s), cost %d (free=%s, offline=%s)",
            result.prize_id,
            result.kind,
            result.cost_points,
            result.free,
            result.offline,
        )
        return result

    # --- birthday gift (kiosk.ledger.birthday) ---------------------------------------------------

    def claim_birthday_gift(self, claim_id: str, member_id: str, *, online: bool) -> VoucherView:
        """This year's birthday gift as a signed voucher and a `birthday_gift` event; idempotent by
        `claim_id`. Raises BirthdayGiftRefused, OfflineLimitReached."""
        with self._lock, db.transaction(self.conn):
            voucher = birthday.claim_in_tx(
                self, self.rules(), claim_id=claim_id, member_id=member_id, online=online, now=self._now()
            )
        _LOG.info("birthday gift claimed: voucher %s (offline=%s)", voucher.voucher_id, voucher.offline)
        return voucher

    # --- redemption -------------------------------------------------------------------------

    def prepare_redemption(
        self, intent_id: str, member_id: str, reward_id: str, card_uid: bytes | None, online: bool
    ) -> PendingRedemption:
        with self._lock, db.transaction(self.conn):
            return redemption.prepare_in_tx(
                self, self.rules(), intent_id, member_id, reward_id, card_uid, online, self._now()
            )

    def confirm_redemption(self, intent_id: str, card_counter: int | None) -> VoucherView:
        with self._lock, db.transaction(self.conn):
            return redemption.confirm_in_tx(self, self.rules(), intent_id, card_counter, self._now())

    def abandon_redemption(self, intent_id: str) -> bool:
        with self._lock, db.transaction(self.conn):
            return redemption.abandon_in_tx(self, intent_id, self._now())

    def abandon_stale_redemptions(self, older_than: dt.timedelta) -> list[str]:
        """Release redemptions prepared longer ago than `older_than` and never confirmed.

        A card pulled before its write finished leaves a redemption prepared, holding the
        member's points, so that re-tapping the card completes it. A shopper who never comes
        back must get the points back: the member was never told it succeeded, and if the card
        write did land, the next tap raises the ledger's counter to the card's (note_card_counter).
        Returns the intent ids released.
        """
        with self._lock, db.transaction(self.conn):
            cutoff = db.ts(self._now() - older_than)
            rows = self.conn.execute(
                "UPDATE intents SET state = 'abandoned', updated_at = ? "
                "WHERE state = 'prepared' AND created_at < ? RETURNING intent_id",
                (db.ts(self._now()), cutoff),
            ).fetchall()
        released = [row[0] for row in rows]
        if released:
            _LOG.info("released %d redemption(s) prepared before %s and never confirmed", len(released), cutoff)
        return released

    def redeem(
        self, intent_id: str, member_id: str, reward_id: str, card_uid: bytes | None = None, *, online: bool
    ) -> VoucherView:
        """Prepare and confirm in one transaction (no card write in between): one commit, one voucher."""
        with self._lock, db.transaction(self.conn):
            return redemption.redeem_in_tx(
                self, self.rules(), intent_id, member_id, reward_id, card_uid, online, self._now()
            )

    def pending_redemption_for_card(self, uid: bytes) -> PendingRedemption | None:
        with self._lock:
            return redemption.pending_for_card(self, uid, self._now())

    def pending_redemption_view(self, uid: bytes) -> PendingRedemptionView | None:
        """What the member is shown of the redemption waiting for this card's write, if any."""
        with self._lock:
            pending = redemption.pending_for_card(self, uid, self._now())
            if pending is None:
                return None
            rules = self.rules()
            reward = rules.reward(pending.reward_id) if rules is not None else None
            # A reward withdrawn since keeps its id as its name: the confirm will refuse it anyway.
            name = dict(reward.name) if reward is not None else {"zh_CN": pending.reward_id, "en": pending.reward_id}
            return PendingRedemptionView(name, pending.cost_points, pending.created_at)

    def card_counter_owner(self, uid: bytes, member_id: str, counter: int) -> str | None:
        """The intent id of the redemption card counter `counter` belongs to (see redemption.counter_owner)."""
        with self._lock:
            return redemption.counter_owner(self.conn, uid, member_id, counter)

    # --- PIN before spending (kiosk.ledger.pin_lock) -------------------------------------------

    def pin_requirement(self, member_id: str, reward_id: str) -> PinRequirement:
        """Whether redeeming `reward_id` needs the member's PIN now, or cannot happen (locked, none set)."""
        with self._lock:
            rules = self._require_rules()
            reward = rules.reward(reward_id)
            cost = reward.cost_points if reward is not None else 0
            tier = views.member_view(self.conn, rules, member_id, self._now(), self.tz).tier.code
            return pin_lock.requirement(self.conn, rules.pin, member_id, tier, cost)

    def check_pin(self, member_id: str, pin: str, *, card_uid: bytes | None = None, online: bool = False) -> PinCheck:
        """Verify a PIN entered at the keypad and count the outcome; the failure that reaches the
        rules' `max_failures` locks the member here and sends `pin_locked` to HQ (one transaction)."""
        with self._lock:
            max_failures = self._require_rules().pin.max_failures
            stored, locked, _ = pin_lock.state(self.conn, member_id)
        if locked:
            return PinCheck(ok=False, locked=True, failures_left=0)
        if stored is None:
            raise PinNotSet(f"member {member_id!r} has no PIN set at HQ")
        # ~50 ms of scrypt outside the lock: the sync thread need not wait for it.
        ok = verify_pin(pin, stored)
        with self._lock, db.transaction(self.conn):
            now = self._now()

            def lock_event(failures: int) -> str:
                payload: dict[str, Any] = {"member_id": member_id, "failures": failures}
                if card_uid is not None:
                    payload["card_uid"] = bytes(card_uid).hex()
                return self._event(pin_lock.LOCK_EVENT, payload, now, offline=not online).event_id

            check = pin_lock.record(self.conn, member_id, ok, max_failures, now, lock_event)
        if check.locked:
            _LOG.warning("member redemptions locked after %d wrong PINs", max_failures)
        return check

    # --- cards and deny-list ------------------------------------------------------------------

    def card_state(self, uid: bytes) -> CardRecordState | None:
        with self._lock:
            return cards.card_state(self.conn, uid)

    def find_member_by_card(self, uid: bytes) -> CardRecordState | None:
        """The card's record (member id, issue number, status, counter), or None if unknown."""
        return self.card_state(uid)

    def register_card(self, uid: bytes, member_id: str, issue_no: int) -> None:
        with self._lock, db.transaction(self.conn):
            if self.conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone() is None:
                raise UnknownMember(f"no member {member_id!r} in the local ledger")
            now = self._now()
            cards.upsert_card(self.conn, bytes(uid), member_id, issue_no, "active", now)
            self._event("card.registered", {"uid": bytes(uid).hex(), "member_id": member_id, "issue_no": issue_no}, now)

    def note_card_counter(self, uid: bytes, counter: int) -> None:
        """Raise the card's last counter to one read from a genuine (MAC-verified) card record.

        A card redeemed at another kiosk carries a higher counter than this ledger has seen; the
        next redemption here must continue from the card's value, never reuse or skip one.
        Never lowers it: a lower counter is a rollback, which the card checks refuse.
        """
        with self._lock, db.transaction(self.conn):
            cards.record_counter(self.conn, bytes(uid), int(counter), self._now())

    def deny_card(self, uid: bytes, reason: str, source: str = "local") -> None:
        with self._lock, db.transaction(self.conn):
            now = self._now()
            cards.add_denial(self.conn, bytes(uid), reason, source, now)
            self._event("security.card_denied", {"uid": bytes(uid).hex(), "reason": reason, "source": source}, now)

    def denial(self, uid: bytes) -> str | None:
        with self._lock:
            return cards.denial(self.conn, uid)

    def apply_denylist_full(self, version: int, entries: Iterable[Any], issued_at: dt.datetime) -> int:
        with self._lock, db.transaction(self.conn):
            return cards.apply_full(self.conn, version, entries, issued_at, self._now())

    def apply_denylist_delta(
        self, version: int, base_version: int, added: Iterable[Any], removed: Iterable[Any], issued_at: dt.datetime
    ) -> None:
        with self._lock, db.transaction(self.conn):
            cards.apply_delta(self.conn, version, base_version, added, removed, issued_at, self._now())

    def denylist_version(self) -> int | None:
        with self._lock:
            return cards.denylist_version(self.conn)

    def denylist_issued_at(self) -> dt.datetime | None:
        with self._lock:
            return cards.denylist_issued_at(self.conn, self.tz)

    def record_security_event(self, kind: str, uid: bytes | None, detail: Mapping[str, Any] | str) -> OutboxEvent:
        with self._lock, db.transaction(self.conn):
            payload = {
                "uid": bytes(uid).hex() if uid is not None else None,
                "detail": detail if isinstance(detail, str) else dict(detail),
            }
            return self._event(f"security.{kind}", payload, self._now())

    def _event(self, type: str, payload: Mapping[str, Any], now: dt.datetime, *, offline: bool = False) -> OutboxEvent:
        body = {"device_id": self.device_id, **payload}
        return outbox.append(
            self.conn, event_id=str(uuid.uuid4()), type=type, payload=body, created_at=now, offline=offline
        )

    # --- voucher key directory -----------------------------------------------------------------

    def apply_voucher_keys(self, version: int, payload: Mapping[str, Any]) -> int:
        """Validate and store HQ's voucher key directory; returns its number of keys."""
        with self._lock:
            with db.transaction(self.conn):
                directory = voucher_key_store.apply(self.conn, version, payload, self._now())
            self._key_directory = (version, directory)
        _LOG.info("voucher key directory version %d applied (%d keys)", version, len(directory))
        return len(directory)

    def voucher_keys_version(self) -> int | None:
        with self._lock:
            return voucher_key_store.stored_version(self.conn)

    def voucher_key_directory(self) -> VoucherKeyDirectory | None:
        """The latest directory HQ pushed, or None before the first one."""
        with self._lock:
            # Parsed once per version (thousands of keys); the version read is one index lookup,
            # and tells a directory another connection stored since.
            version = voucher_key_store.stored_version(self.conn)
            if version is None:
                return None
            if self._key_directory is None or self._key_directory[0] != version:
                self._key_directory = voucher_key_store.load(self.conn)
            return self._key_directory[1] if self._key_directory else None

    # --- member snapshots ---------------------------------------------------------------------

    def apply_member_snapshot(
        self,
        version: int,
        members: Iterable[Mapping[str, Any]],
        acknowledged_event_ids: Iterable[str] = (),
        *,
        full: bool = False,
    ) -> int:
        """Apply HQ's snapshot (see kiosk.ledger.snapshot for the dict shape); all or nothing."""
        with self._lock, db.transaction(self.conn):
            count = snapshot.apply(self.conn, version, members, acknowledged_event_ids, full=full, now=self._now())
        _LOG.info("member snapshot %d applied (%d entries, full=%s)", version, count, full)
        return count

    def member_snapshot_version(self) -> int | None:
        with self._lock:
            return snapshot.snapshot_version(self.conn)

    # --- outbox -------------------------------------------------------------------------------

    def outbox_pending(self, limit: int) -> list[OutboxEvent]:
        with self._lock:
            return outbox.pending(self.conn, limit, self.tz)

    def outbox_ack(self, events: Iterable[str | tuple[int, str]]) -> int:
        """Delete acknowledged events: ids, or (seq, event_id) pairs (see kiosk.ledger.outbox.ack)."""
        ids = list(events)
        with self._lock, db.transaction(self.conn):
            return outbox.ack(self.conn, ids)

    def outbox_depth(self) -> int:
        with self._lock:
            return outbox.depth(self.conn)
