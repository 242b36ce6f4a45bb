"""`kiosk-till serve`: the agent's local HTTP API for a POS on the same machine, on 127.0.0.1 only.

    POST /consume  {"code": "...", "order_no": "A-1001"}  200 an Outcome (ok true), 409 one refused
    POST /lookup   {"code": "..."}                         200 a Lookup (verdict valid, used, ...)
    POST /replay                                           200 a ReplayReport
    GET  /status                                           200 pending entries, offline total, keys

The standard library's server is enough for one POS at human pace and adds nothing to install.
It binds loopback only, and guards against the browser on the same machine: a POST must say
`Content-Type: application/json` (a web page cannot send that cross-origin without a preflight this
server never approves) and the Host header must name loopback (no DNS rebinding).

A background thread refreshes the key directory and replays at start, every `replay_interval_s`,
and at once after each call HQ answered.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tillagent.agent import TillAgent

_LOG = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


class TillServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, agent: TillAgent, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.agent = agent
        self.wake = threading.Event()  # set after HQ answered: replay now
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def background(self) -> None:
        """Catch up at start, every `replay_interval_s` and when woken after HQ answered a call."""
        while not self.stopping.is_set():
            try:
                self.agent.catch_up()
            except Exception:
                # The daemon keeps serving the POS; the next round tries again.
                _LOG.exception("replay failed")
            self.wake.wait(self.agent.settings.replay_interval_s)
            self.wake.clear()


class _Handler(BaseHTTPRequestHandler):
    server: TillServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        _LOG.info("%s %s", self.address_string(), format % args)

    def _answer(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        self._answer(status, {"error": status.phrase.lower().replace(" ", "_"), "message": message})

    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in _LOOPBACK_HOSTS

    def _body(self) -> dict[str, Any] | None:
        """The JSON object posted, or None after refusing the request."""
        if (self.headers.get("Content-Type") or "").split(";")[0].strip() != "application/json":
            self._refuse(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "send Content-Type: application/json")
            return None
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._refuse(HTTPStatus.LENGTH_REQUIRED, "send Content-Length")
            return None
        if not 0 <= length <= MAX_BODY:
            self._refuse(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"at most {MAX_BODY} bytes")
            return None
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, UnicodeDecodeError):
            self._refuse(HTTPStatus.BAD_REQUEST, "the body is not JSON")
            return None
        if not isinstance(data, dict):
            self._refuse(HTTPStatus.BAD_REQUEST, "the body must be a JSON object")
            return None
        return data

    def _text(self, data: dict[str, Any], *names: str) -> list[str] | None:
        values = [data.get(name) for name in names]
        if not all(isinstance(v, str) and v for v in values):
            self._refuse(HTTPStatus.BAD_REQUEST, f"give {', '.join(names)} as text")
            return None
        return [str(v) for v in values]

    def do_GET(self) -> None:
        if not self._host_ok():
            self._refuse(HTTPStatus.FORBIDDEN, "the till agent answers requests to 127.0.0.1 only")
        elif self.path == "/status":
            self._answer(HTTPStatus.OK, self.server.agent.status())
        else:
            self._refuse(HTTPStatus.NOT_FOUND, "GET /status; POST /consume, /lookup, /replay")

    def do_POST(self) -> None:
        if not self._host_ok():
            self._refuse(HTTPStatus.FORBIDDEN, "the till agent answers requests to 127.0.0.1 only")
            return
        if self.path not in ("/consume", "/lookup", "/replay"):
            self._refuse(HTTPStatus.NOT_FOUND, "GET /status; POST /consume, /lookup, /replay")
            return
        data = self._body()
        if data is None:
            return
        agent = self.server.agent
        if self.path == "/replay":
            self._answer(HTTPStatus.OK, agent.replay().as_json())
        elif self.path == "/lookup":
            if (fields := self._text(data, "code")) is not None:
                found = agent.lookup(fields[0])
                self._answer(HTTPStatus.OK, found.as_json())
                if found.source == "hq":
                    self.server.wake.set()
        elif (fields := self._text(data, "code", "order_no")) is not None:
            outcome = agent.consume(fields[0], fields[1])
            self._answer(HTTPStatus.OK if outcome.ok else HTTPStatus.CONFLICT, outcome.as_json())
            if outcome.mode == "online":
                self.server.wake.set()


def serve(agent: TillAgent, port: int) -> int:
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    try:
        server = TillServer(agent, port)
    except OSError as exc:
        print(f"kiosk-till: cannot listen on 127.0.0.1:{port}: {exc}", file=sys.stderr)
        return 2
    worker = threading.Thread(target=server.background, name="till-replay", daemon=True)
    worker.start()

    def stop(_signum: int, _frame: object) -> None:
        server.stopping.set()
        server.wake.set()
        # shutdown() waits for serve_forever to return: not from the thread that runs it.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"kiosk-till: serving on http://127.0.0.1:{server.port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        worker.join(agent.settings.timeout_s * 3)
    return 0
