"""The voucher key directory as the ledger keeps it: the latest version HQ pushed, checked first.

HQ signs the directory as a `voucher_keys` document (docs/mqtt.md); sync checks the envelope and
hands the payload to `Ledger.apply_voucher_keys`, which lands here. Every entry is validated with
`VoucherKeyDirectory.from_payload` before anything is written, so a stored directory always
parses; the payload is kept as HQ sent it, so `kiosk voucher verify` checks codes against exactly
what HQ signed. One row: an older directory is of no use, and keeping one could only bring a
revoked key back.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any

from kiosk.ledger.db import ts
from kiosk.ledger.errors import InvalidVoucherKeys, StaleVersion
from kiosk.ledger.voucher_keys import VoucherKeyDirectory


def stored_version(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT MAX(version) FROM voucher_keys").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def apply(conn: sqlite3.Connection, version: int, payload: Any, now: dt.datetime) -> VoucherKeyDirectory:
    """Validate and store a directory (call inside a transaction); returns it parsed.

    Raises InvalidVoucherKeys naming the bad entry, or StaleVersion for a version not newer than
    the stored one; nothing changes then.
    """
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidVoucherKeys(f"voucher key directory: version must be a positive integer, got {version!r}")
    try:
        directory = VoucherKeyDirectory.from_payload(payload)
    except ValueError as exc:
        raise InvalidVoucherKeys(f"voucher key directory: {exc}") from None
    current = stored_version(conn)
    if current is not None and version <= current:
        raise StaleVersion(f"voucher key directory version {version} is not newer than the stored version {current}")
    conn.execute("DELETE FROM voucher_keys")
    conn.execute(
        "INSERT INTO voucher_keys(version, payload, applied_at) VALUES (?, ?, ?)",
        (version, json.dumps(payload, ensure_ascii=False, separators=(",", ":")), ts(now)),
    )
    return directory


def load(conn: sqlite3.Connection) -> tuple[int, VoucherKeyDirectory] | None:
    """The stored directory with its version, or None before HQ sent one."""
    row = conn.execute("SELECT version, payload FROM voucher_keys ORDER BY version DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return int(row[0]), VoucherKeyDirectory.from_payload(json.loads(row[1]))
