"""The signed key directory as the till agent trusts it: HQ's `voucher_keys` envelope, checked with
HQ's public key(s) every time it is fetched *and* every time it is loaded from the journal.

Loading re-verifies because the journal is a file on the till: whoever can write it must not be able
to slip a key of their own into the offline check. The checks are the kiosk's (sync.envelope):
signature under the push context, type `voucher_keys`, scope `fleet`, issued_at not in the future
and not_after not passed (an expired directory may miss a revocation, so offline acceptance stops
until HQ is reached again). A fetched directory older than the cached one is refused: replaying an
old signed directory is how a revoked key would come back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kiosk.ledger.voucher_keys import VoucherKeyDirectory
from sync.envelope import EnvelopeVerifier
from sync.errors import PushRejected
from sync.topics import Scope
from tillagent.errors import DirectoryProblem


@dataclass(frozen=True)
class TrustedDirectory:
    """A directory whose envelope verified just now."""

    keys: VoucherKeyDirectory
    version: int
    issued_at: dt.datetime
    not_after: dt.datetime


class DirectoryVerifier:
    """Checks `voucher_keys` envelopes against HQ's public keys and the clock."""

    def __init__(self, hq_keys: Iterable[Ed25519PublicKey], *, till_id: str, store_id: str) -> None:
        # The verifier's device and store only matter for store/device scopes; the directory is fleet-wide.
        self._verifier = EnvelopeVerifier(hq_keys, device_id=till_id, store_id=store_id)

    def verify(self, raw: bytes, now: dt.datetime) -> TrustedDirectory:
        try:
            push = self._verifier.verify(raw, expected_type="voucher_keys", topic_scope=Scope.fleet(), now=now)
        except PushRejected as exc:
            raise DirectoryProblem(f"the key directory does not verify ({exc})") from None
        try:
            keys = VoucherKeyDirectory.from_payload(push.payload)
        except ValueError as exc:
            raise DirectoryProblem(f"the key directory is signed but unusable: {exc}") from None
        return TrustedDirectory(keys, push.version, push.issued_at, push.not_after)

    @staticmethod
    def check_not_older(fetched: TrustedDirectory, cached_version: int | None) -> None:
        if cached_version is not None and fetched.version < cached_version:
            raise DirectoryProblem(
                f"HQ sent key directory version {fetched.version}, older than the cached version {cached_version}"
            )
