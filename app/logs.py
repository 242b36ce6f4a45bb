"""Logging for a kiosk under systemd: one line per record on stderr, picked up by journald.

Only the entry point calls `setup_logging`. Every handler it installs carries `RedactingFilter`,
which keeps three things out of the journal, whoever logs them:

- secrets: known secret values (the HQ password, ...) and anything that looks like
  ``password=...``, ``"token": "..."``, an ``Authorization:`` header or a PEM private key;
- full card UIDs: ``uid=04A1B2C3D4E5F6`` becomes ``uid:…E5F6`` (see `redact_uid`), enough for a
  technician to match two lines without the journal becoming a list of card numbers;
- member names: values of name-like keys (``name=``, ``"member_name": ...``) are masked, and so
  is any run of two or more CJK characters, since the kiosk's own messages are English and
  Chinese text in a log line is member data (a name, an address) until proven otherwise.

Plain format is ``LEVEL logger: message``; journald stamps the time itself. When stderr is the
journal (``$JOURNAL_STREAM`` matches it), each line gets a ``<N>`` syslog prefix so
``journalctl -p warning`` filters by level. The JSON format writes one object per line for
shipping elsewhere.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kiosk.cards.redact import redact_uid

#: journald's native socket (app/journal.py); used when stderr is the journal.
JOURNAL_SOCKET = Path("/run/systemd/journal/socket")

if TYPE_CHECKING:  # for annotations only; the config loader is not needed to log
    from kiosk.config import Config

_LOG = logging.getLogger(__name__)

FORMATS = ("plain", "json")

#: syslog priorities journald understands as a "<N>" line prefix.
_SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}

_MASK = "***"

# --- pure redaction helpers ---------------------------------------------------------------


_SECRET_KEYS = r"(?:password|passwd|secret|token|api[_-]?key|private[_-]?key|master[_-]?key|psk|session[_-]?key)"
_NAME_KEYS = r"(?:member[_-]?name|full[_-]?name|holder[_-]?name|customer[_-]?name|name)"
# key=value, key: value, "key": "value", 'key': 'value'
_KV = r"""(?P<key>["']?\b{keys}\b["']?\s*[:=]\s*)(?P<value>"[^"]*"|'[^']*'|[^\s,;}}&]+)"""

_SECRET_KV = re.compile(_KV.format(keys=_SECRET_KEYS), re.IGNORECASE)
_NAME_KV = re.compile(_KV.format(keys=_NAME_KEYS), re.IGNORECASE)
_AUTH_HEADER = re.compile(r"(?P<key>\bAuthorization\s*:\s*)(?P<value>\S+(?:\s+\S+)?)", re.IGNORECASE)
_PEM_PRIVATE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL)
_URL_PASSWORD = re.compile(r"(?P<key>\b[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)", re.IGNORECASE)
# uid=04A1B2C3, uid: 04:a1:b2:c3, card_uid "04a1b2c3d4e5f6", UID 04 A1 B2 C3
_UID = re.compile(
    r"""(?P<key>\b(?:card[_-]?)?uid\b["']?\s*[:=]?\s*["']?)"""
    r"(?P<value>[0-9A-Fa-f]{8,20}|[0-9A-Fa-f]{2}(?P<sep>[:\- ])[0-9A-Fa-f]{2}(?:(?P=sep)[0-9A-Fa-f]{2}){2,8})"
    r"(?![0-9A-Za-z])",
    re.IGNORECASE,
)
# uid=b'\x04\xa1...' as a bytes repr shows it (dataclass reprs of reader events look like this)
_UID_BYTES = re.compile(
    r"""(?P<key>\b(?:card[_-]?)?uid\b\s*[:=]?\s*)(?P<value>b(?P<q>['"])(?:\\.|(?!(?P=q)).)*?(?P=q))""",
    re.IGNORECASE,
)
# CJK ideographs (basic block and extension A) and compatibility ideographs.
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]{2,}")


def _mask_value(match: re.Match[str]) -> str:
    value = match.group("value")
    quote = value[0] if value[:1] in ("'", '"') else ""
    return f"{match.group('key')}{quote}{_MASK}{quote}"


def _short_uid(match: re.Match[str]) -> str:
    digits = re.sub(r"[^0-9A-Fa-f]", "", match.group("value"))
    return "uid:" + redact_uid(bytes.fromhex(digits)).removeprefix("uid:")


def _short_uid_bytes(match: re.Match[str]) -> str:
    try:
        value = ast.literal_eval(match.group("value"))
    except (ValueError, SyntaxError):
        return f"{match.group('key')}{_MASK}"
    return redact_uid(value) if isinstance(value, bytes) else f"{match.group('key')}{_MASK}"


def _mask_cjk(match: re.Match[str]) -> str:
    # Keep the first character (as the member screen's 张*明 does), hide the rest.
    run = match.group(0)
    return run[0] + "*" * (len(run) - 1)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove secrets, full card UIDs and member names from one log line (or traceback)."""
    for secret in secrets:
        if secret and len(secret) >= 4:  # a 1-3 character "secret" would shred every line
            text = text.replace(secret, _MASK)
    text = _PEM_PRIVATE.sub("[private key removed]", text)
    text = _AUTH_HEADER.sub(_mask_value, text)
    text = _URL_PASSWORD.sub(_mask_value, text)
    text = _SECRET_KV.sub(_mask_value, text)
    text = _UID_BYTES.sub(_short_uid_bytes, text)
    text = _UID.sub(_short_uid, text)
    text = _NAME_KV.sub(_mask_value, text)
    text = _CJK_RUN.sub(_mask_cjk, text)
    return text


# --- logging plumbing -----------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback) through `redact_text` before any formatter.

    Attach it to handlers, not loggers: a handler filter sees records from every logger that
    propagates to it, a logger filter only those logged on that very logger.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: list[str] = []
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, value: str | None) -> None:
        """Never let this exact value reach the log (e.g. a password read from config)."""
        if value and value not in self._secrets:
            self._secrets.append(value)
            # Longest first, so a secret that contains another is replaced whole.
            self._secrets.sort(key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad %-args: keep the line (and the evidence) rather than lose it
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = redact_text(message, self._secrets)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text, self._secrets)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info, self._secrets)
        return True


class PlainFormatter(logging.Formatter):
    """``LEVEL logger: message``, optionally with journald's ``<N>`` priority prefix per line."""

    def __init__(self, syslog_prefix: bool = False) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._syslog_prefix = syslog_prefix

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self._syslog_prefix:
            return text
        prefix = f"<{_SYSLOG_PRIORITY.get(record.levelno, 6)}>"
        # journald splits on newlines; every traceback line keeps the record's level.
        return "\n".join(prefix + line for line in text.split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (UTC, ISO 8601), level, logger, msg, and exc when present."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def stderr_is_journal(stream: TextIO | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True when `stream` is the journald stream systemd connected us to ($JOURNAL_STREAM)."""
    env = os.environ if environ is None else environ
    raw = env.get("JOURNAL_STREAM", "")
    if ":" not in raw:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        st = os.fstat(stream.fileno())
        device, inode = (int(part) for part in raw.split(":", 1))
    except (OSError, ValueError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (device, inode)


_INSTALLED_ATTR = "_kiosk_handler"


def setup_logging(
    level: str = "INFO",
    fmt: str = "plain",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    syslog_prefix: bool | None = None,
    environ: Mapping[str, str] | None = None,
    journal_socket: Path | None = None,
) -> logging.Handler:
    """Configure the root logger once, for the entry point. Calling it again replaces our handler.

    ``syslog_prefix=None`` turns the ``<N>`` prefix on exactly when stderr is the journal. With
    ``journal_socket`` (journald's native socket), a plain-format kiosk whose stderr is the journal
    sends structured entries there instead (app/journal.py: ``KIOSK_EVENT=...`` fields).
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)} (got {fmt!r})")
    numeric = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    stream = sys.stderr if stream is None else stream
    if syslog_prefix is None:
        syslog_prefix = fmt == "plain" and stderr_is_journal(stream, environ)

    handler: logging.Handler
    if journal_socket is not None and fmt == "plain" and stderr_is_journal(stream, environ) and journal_socket.exists():
        from app.journal import JournalHandler

        handler = JournalHandler(journal_socket)
    else:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter(syslog_prefix))
    handler.addFilter(RedactingFilter(secrets))
    setattr(handler, _INSTALLED_ATTR, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _INSTALLED_ATTR, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(numeric)
    # Chatty libraries stay at WARNING unless we are debugging.
    for noisy in ("paho", "PIL", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)
    return handler


def config_secrets(config: object) -> list[str]:
    """Secret values in a loaded config that must never appear in the log."""
    values: list[str] = []
    hq = getattr(config, "hq", None)
    password = getattr(hq, "password", None)
    if password is not None:
        raw = password.get_secret_value() if hasattr(password, "get_secret_value") else str(password)
        values.append(raw)
    return [v for v in values if v]


def setup_logging_from_config(
    config: Config,
    *,
    stream: TextIO | None = None,
    syslog_prefix: bool | None = None,
    environ: Mapping[str, str] | None = None,
) -> logging.Handler:
    """`setup_logging` with the level, format and secrets of a loaded `kiosk.config.Config`."""
    section = config.logging
    return setup_logging(
        section.level,
        section.format,
        secrets=config_secrets(config),
        stream=stream,
        syslog_prefix=syslog_prefix,
        environ=environ,
        journal_socket=JOURNAL_SOCKET,
    )
