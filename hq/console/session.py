"""The console's login session and CSRF tokens: a signed cookie, checked against the database on
every request.

The cookie holds `{"n": name, "g": generation, "x": nonce, "e": expiry}`, signed with HMAC-SHA256
under a key HQ derives from its own Ed25519 signing key (HKDF, info "hq console session v1"):
every HQ process of one deployment shares it, nothing new to configure, and the signing key never
leaves the server. The generation is an HMAC of the operator's token digest, so a disabled
account, or one given a new token (`kiosk-hq operator disable` + `add`), loses its sessions at the
next request; the role and store are read from the database each time, never from the cookie.

CSRF: a synchronizer token derived from the session's nonce (HMAC, never stored), put in every
form and in the page's `<meta name="csrf">` for fetch(); every state-changing request must carry
it. The cookie is also `SameSite=Strict` and `HttpOnly` (and `Secure` over TLS).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

COOKIE = "hq_console"
LOCALE_COOKIE = "hq_console_locale"
#: A session lasts a working day; logging in again is cheap.
LIFETIME_S = 10 * 3600


def session_key(signing_key: Ed25519PrivateKey) -> bytes:
    """The HMAC key for cookies and CSRF tokens, derived from (never equal to) HQ's signing key."""
    raw = signing_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"hq console session v1").derive(raw)


@dataclass(frozen=True)
class Session:
    name: str
    generation: str
    nonce: str
    expires: int


class SessionCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, label: str, data: bytes) -> bytes:
        return hmac.new(self._key, label.encode() + b"\0" + data, hashlib.sha256).digest()

    def generation(self, token_sha256: str) -> str:
        """What the cookie remembers of the credential: an HMAC of its digest (a new token: a new value)."""
        return self._mac("generation", token_sha256.encode()).hex()[:32]

    def issue(self, name: str, token_sha256: str, now_s: int) -> tuple[str, Session]:
        session = Session(name, self.generation(token_sha256), secrets.token_urlsafe(16), now_s + LIFETIME_S)
        body = json.dumps(
            {"n": session.name, "g": session.generation, "x": session.nonce, "e": session.expires},
            separators=(",", ":"),
        ).encode()
        value = _b64(body) + "." + _b64(self._mac("session", body))
        return value, session

    def read(self, value: str | None, now_s: int) -> Session | None:
        """The session the cookie holds, or None when it is missing, forged, malformed or expired."""
        if not value or value.count(".") != 1:
            return None
        body_b64, mac_b64 = value.split(".")
        try:
            body, mac = _unb64(body_b64), _unb64(mac_b64)
            if not hmac.compare_digest(mac, self._mac("session", body)):
                return None
            fields = json.loads(body)
            session = Session(str(fields["n"]), str(fields["g"]), str(fields["x"]), int(fields["e"]))
        except (ValueError, KeyError, TypeError, binascii.Error):
            return None
        return session if session.expires > now_s else None

    def csrf(self, session: Session) -> str:
        return self._mac("csrf", session.nonce.encode()).hex()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(str(token), self.csrf(session))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
