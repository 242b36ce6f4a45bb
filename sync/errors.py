"""Exception tree of the HQ link (`sync/`).

Everything sync raises on purpose derives from `SyncError`; builtin parents let callers that only
know Python's vocabulary (`ValueError`, `ConnectionError`) catch them too.
"""

from __future__ import annotations


class SyncError(Exception):
    """Root of every error raised by the HQ link."""


class PayloadError(SyncError, ValueError):
    """A message body does not follow the contract in docs/mqtt.md."""


class TopicError(SyncError, ValueError):
    """A topic, prefix or id cannot be used (wildcards, empty levels, bad characters)."""


class EncodingError(SyncError, ValueError):
    """A value has no canonical JSON encoding (floats, NaN, non-string keys)."""


class PushRejected(SyncError, ValueError):
    """An HQ push failed a check; `reason` is the machine code from docs/mqtt.md."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class BrokerUnavailable(SyncError, ConnectionError):
    """The broker could not be reached or refused the connection."""
