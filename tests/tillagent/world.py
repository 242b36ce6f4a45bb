"""The world a till agent lives in, for its tests: HQ's real app under uvicorn on a loopback port,
an operator who registers kiosk keys and tills through HQ's API, kiosks that sign vouchers, and a
proxy that can lose HQ's answers (HQ commits, the till never hears).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.ledger.vouchers import encode_voucher_code
from tests.sync.broker import free_port
from tillagent.agent import TillAgent
from tillagent.config import TOKEN_ENV, TillSettings

TZ = ZoneInfo("Asia/Shanghai")
OPERATOR = "operator-token-for-till-tests"


class RealClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(TZ)


def raw_b64(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def dead_url() -> str:
    """An HQ that is down: nothing listens there, connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Hq:
    """HQ as a till and an operator see it."""

    url: str
    operator: httpx.Client
    public_pem: Path
    folder: Path
    kiosk_key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    tokens: dict[str, str] = field(default_factory=dict)

    def register_kiosk(self, device_id: str = "kiosk-01", store_id: str = "S1", key: Ed25519PrivateKey | None = None):
        answer = self.operator.post(
            f"/v1/devices/{device_id}/voucher-keys",
            json={"store_id": store_id, "public_key": raw_b64(key or self.kiosk_key),
                  "valid_from": "2020-01-01T00:00:00+00:00"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text

    def revoke_kiosk(self, device_id: str = "kiosk-01") -> None:
        answer = self.operator.post(f"/v1/devices/{device_id}/voucher-keys/revoke", json={"reason": "kiosk stolen"})
        assert answer.status_code == 200, answer.text

    def till_token(self, till_id: str, store_id: str = "S1") -> str:
        if till_id not in self.tokens:
            answer = self.operator.post("/v1/tills", json={"till_id": till_id, "store_id": store_id})
            assert answer.status_code == 201, answer.text
            self.tokens[till_id] = answer.json()["token"]
        return self.tokens[till_id]

    def voucher(
        self, serial: int, value_fen: int = 1_000, *, device_id: str = "kiosk-01", key: Ed25519PrivateKey | None = None
    ) -> str:
        """A code as a kiosk prints it: signed now, valid for 30 days."""
        now = dt.datetime.now(dt.UTC)
        return encode_voucher_code(
            key or self.kiosk_key, device_id=device_id, serial=serial, issued_at=now - dt.timedelta(minutes=1),
            expires_at=now + dt.timedelta(days=30), value_fen=value_fen, reward_id="coffee",
        )  # fmt: skip

    def history(self, voucher_id: str) -> list[str]:
        answer = self.operator.get(f"/v1/vouchers/{voucher_id}")
        assert answer.status_code == 200, answer.text
        return [item["action"] for item in answer.json()["history"]]

    def status(self, voucher_id: str) -> dict[str, Any]:
        return self.operator.get(f"/v1/vouchers/{voucher_id}").json()["status"]

    def alarms(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.operator.get("/v1/alarms").json()["alarms"] if a["kind"] == kind]

    def till(
        self, till_id: str = "T1", *, url: str | None = None, store_id: str = "S1", journal: Path | None = None,
        **settings: Any,
    ) -> TillAgent:  # fmt: skip
        """A till agent of `till_id` (talking to `url`, HQ by default) with its journal in the test's folder."""
        config = TillSettings(
            hq_url=url or self.url, till_id=till_id, store_id=store_id, hq_public_key=self.public_pem,
            journal=journal or self.folder / f"{till_id}.sqlite", timeout_s=settings.pop("timeout_s", 2), **settings,
        )  # fmt: skip
        environ = {TOKEN_ENV: self.till_token(till_id, store_id)}
        return TillAgent.open(config, self.folder / "till.yaml", environ=environ, settle_after=dt.timedelta(0))


class Proxy:
    """Between a till and HQ, in one of these ways:

    * `lose_answers`: the request reaches HQ, which acts on it, and the connection is then closed
      without HQ's answer (a cut cable, a crashed gateway);
    * `delay_s`: HQ acts at once, its answer arrives that much later (past the till's timeout);
    * `status`: the gateway answers this (e.g. 503) and HQ never sees the request.
    """

    def __init__(self, target: str) -> None:
        self.target = target
        self.lose_answers = False
        self.delay_s = 0.0
        self.status: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if proxy.status is not None:
                    self.rfile.read(length)
                    self.send_response(proxy.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                answer = httpx.request(
                    self.command, proxy.target + self.path, content=self.rfile.read(length), headers=headers
                )
                if proxy.lose_answers:
                    self.close_connection = True
                    return
                time.sleep(proxy.delay_s)
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("content-type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="till-test-proxy", daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
