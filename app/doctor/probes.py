"""The real-world probes the doctor's checks use by default (stdlib only; tests swap them freely).

- `probe_broker`: TCP connect, TLS handshake when configured, then an MQTT 3.1.1 CONNECT under a
  separate client id (so the running kiosk's session is not kicked off) to see the broker's
  verdict on our credentials. With a client certificate there is no CONNECT: the broker takes the
  client id from the certificate (`use_username_as_clientid`, docs/broker/), so any login with the
  kiosk's certificate would take over the running kiosk's session. The probe then stops after the
  TLS handshake and a moment of listening for the broker's refusal of the certificate.
- `sqlite_integrity` / `latest_recorded_time`: open SQLite files read-only, never creating them.
- `user_can_access`: would the *service user* be able to open a file, judged from mode bits and
  group membership (the doctor usually runs as root, for whom os.access says yes to everything).
"""

from __future__ import annotations

import datetime as dt
import grp
import os
import pwd
import socket
import sqlite3
import ssl
import stat
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.errors import AppError

#: Fonts with Chinese glyphs the kiosk can use when `display.font` is empty, best first.
CJK_FONT_CANDIDATES: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
)

# --- users and permissions ------------------------------------------------------------------


def effective_user_name(service_user: str | None) -> str:
    if service_user:
        try:
            pwd.getpwnam(service_user)
            return service_user
        except KeyError:
            pass
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())


def user_can_access(path: Path, service_user: str | None, *, write: bool = False) -> bool:
    """Whether `service_user` (or, if it does not exist, this process) may read (and write) `path`."""
    try:
        user = pwd.getpwnam(service_user) if service_user else None
    except KeyError:
        user = None
    if user is None:
        return os.access(path, os.R_OK | (os.W_OK if write else 0))
    try:
        st = os.stat(path)
    except OSError:
        return False
    if user.pw_uid == 0:
        return True
    groups = {user.pw_gid} | {g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem}
    if st.st_uid == user.pw_uid:
        read_bit, write_bit = stat.S_IRUSR, stat.S_IWUSR
    elif st.st_gid in groups:
        read_bit, write_bit = stat.S_IRGRP, stat.S_IWGRP
    else:
        read_bit, write_bit = stat.S_IROTH, stat.S_IWOTH
    return bool(st.st_mode & read_bit) and (not write or bool(st.st_mode & write_bit))


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


# --- SQLite ---------------------------------------------------------------------------------


def _open_read_only(path: Path) -> sqlite3.Connection:
    # mode=ro never creates the file; a WAL database still needs its -shm, which SQLite creates
    # beside it if the directory is writable, as it is for the service user and root.
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)


def sqlite_integrity(path: Path) -> list[str]:
    """Problems `PRAGMA integrity_check` reports for `path` ([] when healthy)."""
    try:
        conn = _open_read_only(path)
    except sqlite3.Error as exc:
        return [f"cannot open: {exc}"]
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        conn.close()
    return [r[0] for r in rows if r[0] != "ok"]


#: (table, column) pairs holding times the kiosk or HQ recorded; missing ones are ignored.
RECORDED_TIME_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("ledger outbox event", "outbox", "created_at"),
    ("ledger local event", "local_events", "created_at"),
    ("voucher issued", "vouchers", "issued_at"),
    ("HQ rules applied", "rules", "applied_at"),
    ("HQ version accepted", "accepted_versions", "accepted_at"),
)
#: meta keys holding times HQ signed (independent of this kiosk's clock).
RECORDED_TIME_META: tuple[tuple[str, str], ...] = (("HQ deny-list issued_at", "denylist_issued_at"),)


def _parse_time(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def latest_recorded_times(path: Path) -> list[tuple[str, dt.datetime]]:
    """The newest time of each kind recorded in an SQLite file (ledger or sync state)."""
    found: list[tuple[str, dt.datetime]] = []
    try:
        conn = _open_read_only(path)
    except sqlite3.Error:
        return found
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for label, table, column in RECORDED_TIME_COLUMNS:
            if table in tables:
                value = _parse_time(conn.execute(f'SELECT max("{column}") FROM "{table}"').fetchone()[0])
                if value:
                    found.append((label, value))
        if "meta" in tables:
            for label, key in RECORDED_TIME_META:
                row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
                value = _parse_time(row[0]) if row else None
                if value:
                    found.append((label, value))
    except sqlite3.Error:
        pass  # a corrupt file is the storage check's business
    finally:
        conn.close()
    return found


# --- clock ----------------------------------------------------------------------------------


def ntp_synchronized() -> bool | None:
    """True/False when systemd-timesyncd or timedatectl can tell; None when unknown."""
    if Path("/run/systemd/timesync/synchronized").exists():
        return True
    try:
        proc = subprocess.run(
            ["timedatectl", "show", "--property=NTPSynchronized", "--value"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    answer = proc.stdout.strip()
    return {"yes": True, "no": False}.get(answer)


def package_build_time() -> dt.datetime | None:
    """When this kiosk software was installed: the newest modification time of its own files."""
    package = Path(__file__).resolve().parents[1]
    try:
        newest = max(p.stat().st_mtime for p in package.rglob("*.py"))
    except (OSError, ValueError):
        return None
    return dt.datetime.fromtimestamp(newest, dt.UTC)


# --- fonts ----------------------------------------------------------------------------------


def font_file_kind(path: Path) -> str | None:
    """ "ttc", "ttf" or "otf" from the file's magic bytes; None if it is no font we know."""
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
    except OSError:
        return None
    if magic == b"ttcf":
        return "ttc"
    if magic in (b"\x00\x01\x00\x00", b"true"):
        return "ttf"
    if magic == b"OTTO":
        return "otf"
    return None


# --- broker ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerTarget:
    host: str
    port: int
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    username: str | None = None
    password: str | None = None
    client_id: str = "kiosk-doctor"
    timeout_s: float = 5.0

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None

    @property
    def mqtt_login(self) -> bool:
        """False with a client certificate: its CN is the client id, a login would kick the kiosk."""
        return self.tls_cert is None


class BrokerProbeError(AppError, ConnectionError):
    """Why the broker could not be reached; `kind` picks the fix the doctor suggests."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # dns, refused, timeout, unreachable, tls_files, tls_verify, tls, mqtt, auth


_CONNACK_REASONS = {
    1: ("mqtt", "broker refused the MQTT protocol version"),
    2: ("mqtt", "broker rejected the client id"),
    3: ("mqtt", "broker says the MQTT service is unavailable"),
    4: ("auth", "broker rejected the username or password"),
    5: ("auth", "broker says this client is not authorised"),
}


def _mqtt_string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def mqtt_connect_packet(client_id: str, username: str | None, password: str | None, keepalive_s: int = 10) -> bytes:
    flags = 0x02  # clean session: the doctor leaves nothing behind on the broker
    payload = _mqtt_string(client_id)
    if username is not None:
        flags |= 0x80
        payload += _mqtt_string(username)
        if password is not None:
            flags |= 0x40
            payload += _mqtt_string(password)
    variable = _mqtt_string("MQTT") + bytes([4, flags]) + struct.pack("!H", keepalive_s)
    body = variable + payload
    return bytes([0x10]) + _remaining_length(len(body)) + body


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise BrokerProbeError("mqtt", "broker closed the connection before answering CONNECT")
        data += chunk
    return data


def _await_certificate_verdict(sock: socket.socket, wait_s: float = 1.0) -> None:
    """Under TLS 1.3 a broker refuses a client certificate after the handshake, with an alert:
    listen briefly for it. Silence means the broker accepted us and waits for a CONNECT."""
    sock.settimeout(wait_s)
    try:
        data = sock.recv(1)
    except TimeoutError:
        return
    except ssl.SSLError as exc:
        raise BrokerProbeError("tls", f"broker refused this kiosk's certificate: {exc}") from None
    except OSError as exc:
        raise BrokerProbeError("tls", f"broker closed the connection after TLS: {exc}") from None
    if not data:
        raise BrokerProbeError("tls", "broker closed the connection after the TLS handshake (certificate refused?)")


def probe_broker(target: BrokerTarget) -> None:
    """Reach the broker like the kiosk would; raise BrokerProbeError saying what went wrong."""
    try:
        socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise BrokerProbeError("dns", f"cannot resolve {target.host!r}: {exc.strerror}") from None
    try:
        raw = socket.create_connection((target.host, target.port), timeout=target.timeout_s)
    except TimeoutError:
        raise BrokerProbeError(
            "timeout", f"no answer from {target.host}:{target.port} within {target.timeout_s:g}s"
        ) from None
    except ConnectionRefusedError:
        raise BrokerProbeError("refused", f"{target.host}:{target.port} refused the connection") from None
    except OSError as exc:
        raise BrokerProbeError("unreachable", f"{target.host}:{target.port}: {exc.strerror or exc}") from None
    sock: socket.socket = raw
    try:
        if target.tls:
            try:
                context = ssl.create_default_context(cafile=str(target.tls_ca))
                if target.tls_cert is not None:
                    context.load_cert_chain(str(target.tls_cert), str(target.tls_key) if target.tls_key else None)
            except (OSError, ssl.SSLError) as exc:
                raise BrokerProbeError("tls_files", f"cannot load TLS files: {exc}") from None
            try:
                sock = context.wrap_socket(raw, server_hostname=target.host)
            except ssl.SSLCertVerificationError as exc:
                raise BrokerProbeError("tls_verify", f"broker certificate not trusted: {exc.verify_message}") from None
            except (ssl.SSLError, OSError) as exc:
                raise BrokerProbeError("tls", f"TLS handshake failed: {exc}") from None
        if not target.mqtt_login:
            _await_certificate_verdict(sock)
            return
        try:
            sock.sendall(mqtt_connect_packet(target.client_id, target.username, target.password))
            header = _recv_exact(sock, 4)
        except TimeoutError:
            raise BrokerProbeError("mqtt", "broker accepted TCP but did not answer MQTT CONNECT") from None
        except OSError as exc:
            raise BrokerProbeError("mqtt", f"MQTT exchange failed: {exc}") from None
        if header[0] != 0x20 or header[1] != 0x02:
            raise BrokerProbeError("mqtt", f"not an MQTT CONNACK: {header.hex()}")
        code = header[3]
        if code:
            kind, message = _CONNACK_REASONS.get(code, ("mqtt", f"CONNACK return code {code}"))
            raise BrokerProbeError(kind, message)
        try:
            sock.sendall(b"\xe0\x00")  # DISCONNECT, so the broker drops no will message
        except OSError:
            pass
    finally:
        sock.close()
