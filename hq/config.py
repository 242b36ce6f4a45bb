"""hq.yaml: what one HQ process needs. Every key is checked; unknown keys are errors.

    database: sqlite+pysqlite:///var/hq/hq.sqlite     # or postgresql+psycopg://hq@db/hq
    signing_key: var/keys/hq_private.pem               # signs documents, acks and commands
    timezone: Asia/Shanghai
    mqtt: {host: 127.0.0.1, port: 1883, topic_prefix: kiosk/v1, client_id: hq-listener-1,
           tls_ca: null, tls_cert: null, tls_key: null, share_group: hq,
           publisher_client_id: hq-publisher, publisher_tls_cert: null, publisher_tls_key: null}
    http: {host: 127.0.0.1, port: 8080, api_docs: true}
    vouchers: {till_scope: store, reverse_window_s: 86400, unregistered_cap_fen: 10000,
               short_code_lookups_per_minute: 20}
    feedback: {member_scope: fleet, snapshot_interval_s: 21600, snapshot_part_bytes: 3145728}
    publish_interval_s: 0.2

The operator token comes from the environment (`KIOSK_HQ_OPERATOR_TOKEN`), never from the file.
Relative paths are relative to the file.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hq.service.vouchers import VoucherPolicy

OPERATOR_TOKEN_ENV = "KIOSK_HQ_OPERATOR_TOKEN"


class HqConfigError(ValueError):
    """hq.yaml cannot be used; the message names the file and the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MqttSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    topic_prefix: str = Field("kiosk/v1", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
    client_id: str = Field("hq-listener-1", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    share_group: str = Field("hq", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # The feedback pump publishes documents: with the broker sample that is the hq-publisher
    # identity, not a listener's (its own certificate; one per HQ process, like listeners).
    publisher_client_id: str = Field("hq-publisher", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    publisher_tls_cert: Path | None = None
    publisher_tls_key: Path | None = None


class HttpSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    # The browsable API pages (/docs, /redoc) load Swagger UI from a CDN; on the origin that serves
    # the cashier's page (whose till token lives in the browser) production turns them off.
    # /openapi.json stays.
    api_docs: bool = True


class VoucherSettings(_Section):
    """The till's write-off policy (docs/vouchers.md)."""

    till_scope: str = Field("store", pattern=r"^(store|fleet)$")
    reverse_window_s: int = Field(86_400, ge=0, le=30 * 86_400)
    unregistered_cap_fen: int = Field(10_000, ge=0)
    short_code_lookups_per_minute: int = Field(20, ge=1, le=10_000)

    def policy(self) -> VoucherPolicy:
        return VoucherPolicy(
            till_scope=self.till_scope,
            reverse_window=dt.timedelta(seconds=self.reverse_window_s),
            unregistered_cap_fen=self.unregistered_cap_fen,
        )


class FeedbackSettings(_Section):
    """What kiosks are told about members, and where (docs/hq.md "What kiosks are told")."""

    # fleet: every kiosk hears every member; store: the stores a member belongs to
    # (hq/service/member_scope.py says what "belongs" means, and the trade-off).
    member_scope: str = Field("fleet", pattern=r"^(fleet|store)$")
    # The retained full snapshot, for kiosks away longer than the broker kept their session. Keep
    # it well within the broker's session expiry (7 days in the kiosk's CONNECT) and the
    # snapshot's own validity (30 days).
    snapshot_interval_s: float = Field(21_600, ge=60, le=7 * 86_400)
    # Each part's bytes, below every kiosk's `max_push_bytes` (4 MiB by default) with headroom.
    snapshot_part_bytes: int = Field(3 * 1024 * 1024, ge=64 * 1024, le=4 * 1024 * 1024 - 64 * 1024)


class HqSettings(_Section):
    database: str
    signing_key: Path
    timezone: str = "Asia/Shanghai"
    mqtt: MqttSettings = MqttSettings()
    http: HttpSettings = HttpSettings()
    vouchers: VoucherSettings = VoucherSettings()
    feedback: FeedbackSettings = FeedbackSettings()
    publish_interval_s: float = Field(0.2, gt=0, le=60)
    expiry_interval_s: float = Field(300, gt=0, le=86400)

    @field_validator("database")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if not value.startswith(("sqlite+pysqlite:///", "postgresql+psycopg://")):
            raise ValueError("use sqlite+pysqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _resolve(data: dict[str, Any], base: Path) -> dict[str, Any]:
    def rel(value: Any) -> Any:
        return str(base / value) if isinstance(value, str) and value and not Path(value).is_absolute() else value

    out = dict(data)
    if "signing_key" in out:
        out["signing_key"] = rel(out["signing_key"])
    db = out.get("database")
    if isinstance(db, str) and db.startswith("sqlite+pysqlite:///") and not db.startswith("sqlite+pysqlite:////"):
        out["database"] = "sqlite+pysqlite:///" + str(base / db.removeprefix("sqlite+pysqlite:///"))
    if isinstance(out.get("mqtt"), dict):
        out["mqtt"] = {k: (rel(v) if k.startswith("tls_") else v) for k, v in out["mqtt"].items()}
    return out


def load_settings(path: Path) -> HqSettings:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HqConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise HqConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise HqConfigError(f"{path}: must be a mapping of keys to values")
    try:
        return HqSettings.model_validate(_resolve(data, Path(path).resolve().parent))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise HqConfigError(f"{path}: {key}: {first['msg']}") from None


def operator_token() -> str | None:
    return os.environ.get(OPERATOR_TOKEN_ENV) or None
