"""HQ's till API over HTTP (docs/vouchers.md), with the standard library's http.client.

http.client rather than a richer client because the agent must know *where* a request failed: a
connection never made means HQ certainly did not act (`HqUnreachable.delivered` False); once the
request was sent, a timeout or a dropped connection leaves it open whether HQ committed it, and the
agent then reuses the request id. A 5xx is "unreachable" too; only 503 says the request did not
happen (HQ's contract). Every other answer comes back as an `Answer`, refusals included.
"""

from __future__ import annotations

import http.client
import json
import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from tillagent.errors import HqUnreachable

_LOG = logging.getLogger(__name__)
#: HQ's answers are small; the key directory of a large fleet is the largest (~200 bytes a key).
MAX_ANSWER = 8 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    raw: bytes = field(default=b"", repr=False)  # as HQ sent it: a signed document is stored as is

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        """HQ's error code; FastAPI's schema refusals (422 `detail`) are `invalid_request`."""
        code = self.body.get("error")
        if isinstance(code, str):
            return code
        return "invalid_request" if "detail" in self.body else f"http_{self.status}"

    @property
    def message(self) -> str:
        text = self.body.get("message")
        if isinstance(text, str):
            return text
        detail = self.body.get("detail")
        if isinstance(detail, list):
            return "; ".join(
                f"{'.'.join(str(p) for p in item.get('loc', ()))}: {item.get('msg')}"
                for item in detail
                if isinstance(item, dict)
            )
        return f"HQ answered HTTP {self.status}"


class HqClient:
    """One till's calls to HQ, authenticated with its token."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._token = token
        self._timeout = timeout_s
        self.base_url = base_url

    def consume(self, body: dict[str, Any]) -> Answer:
        return self._call("POST", "/v1/vouchers/consume", body)

    def lookup(self, body: dict[str, Any]) -> Answer:
        return self._call("POST", "/v1/vouchers/lookup", body)

    def reverse(self, voucher_id: str, body: dict[str, Any]) -> Answer:
        return self._call("POST", f"/v1/vouchers/{quote(voucher_id, safe='')}/reverse", body)

    def purchase(self, body: dict[str, Any]) -> Answer:
        return self._call("POST", "/v1/purchases", body)

    def voucher_keys(self) -> Answer:
        return self._call("GET", "/v1/voucher-keys", None)

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout)
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Answer:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        conn = self._connection()
        try:
            try:
                conn.connect()
            except OSError as exc:
                raise HqUnreachable(f"cannot connect to {self.base_url}: {exc}", delivered=False) from None
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read(MAX_ANSWER + 1)
            except (OSError, http.client.HTTPException) as exc:
                # The request left: HQ may have acted on it (and its answer was lost).
                why = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
                raise HqUnreachable(f"no answer from {self.base_url} ({why})", delivered=True) from None
        finally:
            conn.close()
        if len(raw) > MAX_ANSWER:
            raise HqUnreachable(f"{method} {path}: HQ's answer is larger than {MAX_ANSWER} bytes", delivered=True)
        answer = Answer(response.status, _json_object(raw), raw)
        if answer.status >= 500:
            _LOG.warning("%s %s: HQ answered %d: %s", method, path, answer.status, answer.message)
            raise HqUnreachable(f"HQ answered {answer.status}: {answer.message}", delivered=answer.status != 503)
        return answer


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}
