"""till.yaml: what one till agent needs. Every key is checked; unknown keys are errors.

    hq_url: https://hq.example.com          # HQ's API (a path prefix is kept: https://gw/hq)
    till_id: T1                              # this till, as `kiosk-hq till add --till` named it
    store_id: S01                            # its store
    token_file: /etc/kiosk-till/token        # or the environment: KIOSK_TILL_TOKEN (wins)
    hq_public_key: /etc/kiosk-till/hq_public.pem   # HQ's signing public key(s), PEM
    journal: /var/lib/kiosk-till/journal.sqlite
    offline_daily_cap_fen: 20000             # value accepted offline per local calendar day
    offline_max_value_fen: 5000              # the most one voucher may be worth offline
    timeout_s: 3
    timezone: Asia/Shanghai                  # whose calendar day the daily cap counts
    till_scope: store                        # store: only this store's vouchers offline; fleet: any
    replay_interval_s: 60                    # the daemon's replay and key refresh period

The till's token never sits in till.yaml (a `token` key is refused): it comes from the environment
or from `token_file`. Relative paths are relative to the file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tillagent.errors import TillConfigError

TOKEN_ENV = "KIOSK_TILL_TOKEN"
_ID = r"^[A-Za-z0-9_.-]{1,64}$"
_PATHS = ("token_file", "hq_public_key", "journal")


class TillSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    hq_url: str
    till_id: str = Field(pattern=_ID)
    store_id: str = Field(pattern=_ID)
    token_file: Path | None = None
    hq_public_key: Path
    journal: Path
    offline_daily_cap_fen: int = Field(20_000, ge=0)
    offline_max_value_fen: int = Field(5_000, ge=0)
    timeout_s: float = Field(3.0, gt=0, le=60)
    timezone: str = "Asia/Shanghai"
    till_scope: str = Field("store", pattern=r"^(store|fleet)$")
    replay_interval_s: float = Field(60.0, ge=1, le=3600)

    @field_validator("hq_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ValueError("must be http(s)://host[:port][/prefix], e.g. https://hq.example.com")
        return value.rstrip("/")

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

    @property
    def scope_store(self) -> str | None:
        """The store whose vouchers this till takes offline; None: every store's (fleet)."""
        return self.store_id if self.till_scope == "store" else None


def _resolve(data: dict[str, Any], base: Path) -> dict[str, Any]:
    out = dict(data)
    for key in _PATHS:
        value = out.get(key)
        if isinstance(value, str) and value and not Path(value).is_absolute():
            out[key] = str(base / value)
    return out


def load_settings(path: Path) -> TillSettings:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TillConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise TillConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TillConfigError(f"{path}: must be a mapping of keys to values")
    if "token" in data:
        # Said plainly: a secret in a file that gets copied, diffed and pasted into tickets is a leak.
        raise TillConfigError(f"{path}: token: the till token never goes in till.yaml; use {TOKEN_ENV} or token_file")
    try:
        return TillSettings.model_validate(_resolve(data, Path(path).resolve().parent))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        raise TillConfigError(f"{path}: {key}: {first['msg']}") from None


def till_token(settings: TillSettings, path: Path, environ: Mapping[str, str] = os.environ) -> str:
    """The till's bearer token: the environment's, else the first line of `token_file`."""
    token = environ.get(TOKEN_ENV, "").strip()
    if token:
        return token
    if settings.token_file is None:
        raise TillConfigError(f"{path}: token_file: no till token: set {TOKEN_ENV} or token_file")
    try:
        token = settings.token_file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TillConfigError(f"{path}: token_file: {settings.token_file}: {exc.strerror or exc}") from None
    if not token or any(c.isspace() for c in token):
        raise TillConfigError(f"{path}: token_file: {settings.token_file} must hold the token on one line")
    return token
