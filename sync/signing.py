"""Ed25519 signatures over canonical JSON, shared by everything HQ signs.

Documents, event acks and commands each sign with their own context string (domain separation):
a signature HQ made for one kind can never verify as another, even with the same key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from sync.canonical import canonical_bytes
from sync.errors import EncodingError, PushRejected


def key_id(public_key: Ed25519PublicKey) -> str:
    """First 8 bytes (16 hex digits) of SHA-256 of the raw public key (docs/mqtt.md)."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_object(private_key: Ed25519PrivateKey, context: bytes, unsigned: Mapping[str, Any]) -> dict[str, Any]:
    """`unsigned` plus `key_id` and `sig` (base64 Ed25519 over context + canonical JSON)."""
    body = {**unsigned, "key_id": key_id(private_key.public_key())}
    signature = private_key.sign(context + canonical_bytes(body))
    return {**body, "sig": base64.b64encode(signature).decode("ascii")}


class TrustedKeys:
    """The HQ public keys a kiosk trusts (several during a rotation), looked up by key id."""

    def __init__(self, public_keys: Iterable[Ed25519PublicKey]) -> None:
        self._keys = {key_id(key): key for key in public_keys}

    def check(self, context: bytes, obj: Mapping[str, Any]) -> str:
        """Verify `obj`'s signature; returns its key id or raises `PushRejected` with the reason."""
        kid, sig = obj.get("key_id"), obj.get("sig")
        if sig is None or kid is None:
            raise PushRejected("unsigned", "no sig/key_id")
        if not isinstance(kid, str) or not isinstance(sig, str):
            raise PushRejected("malformed", "sig and key_id must be strings")
        try:
            signature = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError) as exc:  # ValueError: non-ASCII text in the signature
            raise PushRejected("malformed", f"sig: {exc}") from None
        key = self._keys.get(kid)
        if key is None:
            raise PushRejected("unknown_key", f"key_id {kid!r} is not a configured HQ key")
        unsigned = {k: v for k, v in obj.items() if k != "sig"}
        try:
            signed = context + canonical_bytes(unsigned)
        except EncodingError as exc:
            raise PushRejected("malformed", str(exc)) from None
        try:
            key.verify(signature, signed)
        except (InvalidSignature, ValueError):
            raise PushRejected("bad_signature", f"signature does not verify with key {kid}") from None
        return kid
