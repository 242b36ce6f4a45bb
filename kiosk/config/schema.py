"""The schema of config.yaml: every section as a frozen pydantic model, unknown keys refused.

What a technician may write and what each value means; kiosk/config/loader.py reads the YAML file
into these models and turns validation errors into ``FILE:LINE: dotted.key: message``. Secret
values are ``pydantic.SecretStr`` and print as ``**********``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from kiosk.errors import KioskError

DEFAULT_CONFIG_NAME = "config.yaml"
#: A real config.yaml is a few kilobytes; anything this big is a mistake (or /dev/zero).
MAX_CONFIG_BYTES = 256 * 1024
#: config.yaml is two levels deep; deeper nesting only costs stack (and can exhaust it).
MAX_NESTING = 32
SECRET_ENV_OVERRIDES = {"KIOSK_HQ_USERNAME": ("hq", "username"), "KIOSK_HQ_PASSWORD": ("hq", "password")}


def shown(value: Any, limit: int = 60) -> str:
    """repr() of a given value, cut short: a problem line quotes the input, it does not echo it."""
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit for int -> str
        return f"<{type(value).__name__} too long to show>"
    return text if len(text) <= limit else text[:limit] + "..."


def is_loopback_host(host: str) -> bool:
    """Whether `host` names this machine (localhost or a loopback address): traffic never leaves it.

    Judged from the name alone, without a DNS lookup, so check-config and doctor agree offline.
    """
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


#: `mqtt://hq.example.com:1883`, `hq.example.com:1883`, `[::1]:1883`: a URL or host:port where a
#: host name belongs (a bare IPv6 address such as `::1` has more than one colon and is left alone).
_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$")
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<name>[^:\[\]/]+)):(?P<port>\d*)$")
#: Ports that go with the URL schemes a broker address is usually written with.
_SCHEME_PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883, "ssl": 8883, "tls": 8883}
_TLS_SCHEMES = frozenset({"mqtts", "ssl", "tls"})


def host_field_hint(value: str) -> str | None:
    """What is wrong with a URL or host:port written where only a host name belongs; None if fine.

    paho takes the host name and the port separately, and `mqtt://hq.example.com:1883` as a host
    name never resolves: the kiosk would stay offline without a word, so say it here instead.
    """
    url = _URL.match(value)
    if url is None and _HOST_PORT.match(value) is None and "/" not in value:
        return None  # a host name, an IPv4 or a bare IPv6 address
    authority = (url.group("rest") if url else value).split("/", 1)[0].rsplit("@", 1)[-1]
    match = _HOST_PORT.match(authority)
    host = (match.group("v6") or match.group("name")) if match else authority
    port = match.group("port") if match else ""
    scheme = url.group("scheme").lower() if url else ""
    if not port and scheme in _SCHEME_PORTS:
        port = str(_SCHEME_PORTS[scheme])
    if not host:
        return f"must be a host name only (got {shown(value)})"
    suggestion = f"host: {host}" + (f" and port: {port}" if port else "")
    tls = " (TLS is switched on by hq.tls_ca)" if scheme in _TLS_SCHEMES else ""
    return f"must be a host name only, not a URL or host:port (got {shown(value)}); did you mean {suggestion}?{tls}"


class ConfigError(KioskError, ValueError):
    """config.yaml cannot be used; `problems` lists every reason as FILE:LINE: key: message."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_only_for_switches(cls, value: Any, info: ValidationInfo) -> Any:
        # YAML 1.1 reads yes/no/on/off as booleans and pydantic would take them as 1/0, so
        # "reset_pin: no" silently meant GPIO 0. Only true on/off settings take a boolean.
        annotation = cls.model_fields[info.field_name].annotation if info.field_name else None
        if (
            isinstance(value, bool)
            and annotation is not bool
            and not (isinstance(annotation, type) and issubclass(annotation, BaseModel))
        ):
            raise ValueError(
                f"must not be a yes/no value (got {value}; YAML reads yes, no, on, off, true and "
                f"false as booleans): write a number, text in quotes, or null"
            )
        return value

    @field_validator("*")
    @classmethod
    def _plain_text(cls, value: Any) -> Any:
        # The OS refuses a NUL or a lone surrogate ("\ud800" in YAML) in a path, device or font
        # name, but only much later and with a crash; say so here, where the line is known.
        if isinstance(value, (str, Path)):
            text = str(value)
            if "\0" in text:
                raise ValueError(f"must not contain NUL characters (got {shown(text)})")
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError(f"must be valid Unicode text (got {shown(text)})") from None
        return value


class DeviceConfig(_Section):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="Unique device id; MQTT client id")
    store_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    display_name: str = Field(min_length=1, max_length=60, description="Store name shown on the idle screen")
    timezone: str = "Asia/Shanghai"
    # When the clock may decide offline redemptions (app/clock_trust.py): auto = sync_or_rtc with a
    # real reader, ignore with the emulator (a laptop's clock is not the kiosk's business).
    clock_policy: Literal["auto", "sync_or_rtc", "sync", "ignore"] = "auto"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "Asia" is a directory, etc.
            raise ValueError(f"unknown timezone {shown(value)} (use an IANA name such as Asia/Shanghai)") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class ReaderConfig(_Section):
    driver: Literal["emulator", "spi", "uart", "mfrc522"] = "emulator"
    spi_bus: int = Field(0, ge=0, le=7)
    spi_device: int = Field(0, ge=0, le=7)
    # spidev defaults to 125 MHz, far above the MFRC522's 10 MHz limit; 4 MHz is reliable on
    # the usual jumper wires.
    spi_speed_hz: int = Field(4_000_000, ge=100_000, le=10_000_000)
    serial_port: str = "/dev/serial0"
    baud: Literal[9600, 14400, 19200, 38400, 57600, 115200, 128000, 230400, 460800, 921600, 1228800] = 9600
    reset_pin: int | None = Field(25, ge=0, le=27, description="BCM pin wired to NRSTPD")
    irq_pin: int | None = Field(None, ge=0, le=27, description="BCM pin wired to IRQ (SPI only)")
    # Which GPIO library drives reset_pin and irq_pin: lgpio works on every Pi with Bookworm (the
    # Pi 5 included), RPi.GPIO only up to the Pi 4; auto takes lgpio if installed, else RPi.GPIO.
    gpio_backend: Literal["auto", "lgpio", "rpigpio", "none"] = "auto"
    # 28 ms: a read takes ~24 ms of radio time at 106 kbit/s, so the tap-to-data targets (p50 <
    # 40 ms, p95 < 60 ms; bench/reader.py: 38.4 / 52.0 ms here) need the poll wait under ~30 ms.
    # Each poll is a wake-up of the reader thread, most of the idle kiosk's CPU (bench/kiosk.py),
    # so the interval is as long as those targets allow.
    poll_interval_ms: int = Field(28, ge=10, le=1000)
    cooldown_ms: int = Field(1500, ge=0, le=10_000)
    rx_gain_db: Literal[18, 23, 33, 38, 43, 48] = 33
    spy: bool = False
    emulator_version: int = Field(0x92, ge=0, le=0xFF)
    # An optional presence sensor (PIR, radar) on a GPIO: while nobody is near the field is polled
    # every idle_poll_interval_ms instead of poll_interval_ms (drivers/presence.py,
    # drivers/reader_thread.py). With driver emulator it is the simulation's sensor.
    presence_pin: int | None = Field(None, ge=0, le=27, description="BCM pin of a presence sensor's output")
    presence_active: Literal["high", "low"] = "high"
    idle_poll_interval_ms: int = Field(250, ge=10, le=2000)
    presence_hold_s: float = Field(10.0, ge=0.5, le=600.0)

    @model_validator(mode="after")
    def _presence_sensor_wiring(self) -> ReaderConfig:
        pin = self.presence_pin
        if pin is None:
            return self
        for role, other in (("reset_pin", self.reset_pin), ("irq_pin", self.irq_pin)):
            if other == pin:
                raise ValueError(f"presence_pin BCM{pin} is also the {role}: wire the sensor to a pin of its own")
        if self.driver != "emulator" and self.gpio_backend == "none":
            raise ValueError("presence_pin needs a GPIO library: gpio_backend must not be none")
        if self.idle_poll_interval_ms < self.poll_interval_ms:
            raise ValueError(
                f"idle_poll_interval_ms ({self.idle_poll_interval_ms}) must not be shorter than "
                f"poll_interval_ms ({self.poll_interval_ms})"
            )
        return self


class DisplayConfig(_Section):
    width: int = Field(800, ge=240, le=3840)
    height: int = Field(480, ge=240, le=2160)
    fullscreen: bool = False
    rotation: Literal[0, 90, 180, 270] = 0
    locale: Literal["zh_CN", "en"] = "zh_CN"
    font: str = Field("", description="Path to a CJK-capable font; empty = find one on the system")
    inactivity_timeout_s: int = Field(30, ge=5, le=600)
    fps_cap: int = Field(30, ge=1, le=60)
    # auto: wait for touches on /dev/input (KMSDRM) or for nothing (headless) instead of polling SDL
    input_wait: Literal["auto", "poll"] = "auto"
    # The official 7" Pi panel shows 800 px across 154 mm.
    px_per_mm: float = Field(5.2, gt=1.0, le=40.0)


class LedgerConfig(_Section):
    data_dir: Path = Path("var")
    offline_max_points_per_day: int = Field(5000, ge=0)
    offline_max_redemptions_per_day: int = Field(3, ge=0)
    denylist_max_age_h: int = Field(72, ge=1)
    stale_denylist_max_points: int = Field(500, ge=0)

    @property
    def ledger_file(self) -> Path:
        """The SQLite ledger in `data_dir`."""
        return self.data_dir / "ledger.db"

    @property
    def sync_state_file(self) -> Path:
        """The HQ link's record of accepted document versions (sync/state.py, docs/mqtt.md)."""
        return self.data_dir / "sync-state.sqlite"


class HqConfig(_Section):
    host: str = Field("", description="MQTT broker host; empty = run offline")
    port: int = Field(1883, ge=1, le=65535)
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None
    username: str | None = None
    password: SecretStr | None = None
    # A network that silently drops packets is noticed only by keepalive, after about twice this;
    # until then the kiosk believes it is online (redemptions skip the offline limits). 20 s bounds
    # that to ~40 s for one small ping packet every 20 s per kiosk (bench.chaos freeze_broker).
    keepalive_s: int = Field(20, ge=5, le=3600)
    topic_prefix: str = Field("kiosk/v1", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
    drain_rate_per_s: int = Field(50, ge=1, le=100_000)

    @field_validator("host")
    @classmethod
    def _host_name_only(cls, value: str) -> str:
        hint = host_field_hint(value)
        if hint:
            raise ValueError(hint)
        return value

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> HqConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key must be given together")
        return self

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @property
    def password_in_clear(self) -> bool:
        """The MQTT password would cross the network unencrypted: set, no TLS, broker not on this machine."""
        return self.enabled and self.password is not None and self.tls_ca is None and not is_loopback_host(self.host)


#: Where the voucher public key goes when config.yaml does not say: beside the private key.
VOUCHER_PUBLIC_KEY_SUFFIX = ".pub.pem"


class SecurityConfig(_Section):
    hq_public_key: Path = Field(description="Ed25519 public key(s) HQ signs pushes with (PEM)")
    card_master_key: Path = Field(description="Card key material: master key for diversified keys and record MACs")
    voucher_signing_key: Path = Field(description="This device's Ed25519 private key for voucher codes (PEM)")
    voucher_public_key: Path | None = Field(
        None,
        description="This device's voucher public key (PEM), for `kiosk voucher verify`; "
        "null = voucher_signing_key with .pub.pem (voucher_signing.pem -> voucher_signing.pub.pem)",
    )

    @model_validator(mode="after")
    def _public_key_is_not_the_private_one(self) -> SecurityConfig:
        # keys init writes the public key: it must never land on (and the verifier never read) the private one.
        if self.voucher_public_key is not None and self.voucher_public_key == self.voucher_signing_key:
            raise ValueError("voucher_public_key must not be the voucher_signing_key file")
        return self

    @property
    def voucher_public_key_file(self) -> Path:
        """The voucher public key's file: as configured, else beside the private key."""
        if self.voucher_public_key is not None:
            return self.voucher_public_key
        return self.voucher_signing_key.with_suffix(VOUCHER_PUBLIC_KEY_SUFFIX)


class LoggingConfig(_Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["plain", "json"] = "plain"


class MonitoringConfig(_Section):
    """What the kiosk tells the people who look after it besides HQ: Home Assistant and Prometheus."""

    # Home Assistant MQTT discovery on the kiosk's broker (docs/operations.md): off by default.
    ha_discovery: bool = False
    ha_discovery_prefix: str = Field("homeassistant", pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$")
    # node_exporter's textfile collector reads *.prom files from one directory; null = no file.
    metrics_file: Path | None = None
    metrics_interval_s: int = Field(30, ge=5, le=3600)

    @field_validator("metrics_file")
    @classmethod
    def _prom_file(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix != ".prom":
            raise ValueError(f"must end in .prom: node_exporter's textfile collector reads only those (got {value})")
        return value


class SimulationConfig(_Section):
    enabled: bool = False
    demo_data: bool = True
    generate_keys: bool = Field(True, description="Create throw-away keys if the security files are missing")
    hq_documents: Path | None = Field(
        None,
        description="Folder with HQ's signed rules.json and members.json (kiosk-hq demo writes them): imported "
        "into an empty ledger through the same checks as documents from the broker, instead of the built-in demo",
    )


class Config(_Section):
    device: DeviceConfig
    reader: ReaderConfig = ReaderConfig()
    display: DisplayConfig = DisplayConfig()
    ledger: LedgerConfig = LedgerConfig()
    hq: HqConfig = HqConfig()
    security: SecurityConfig
    logging: LoggingConfig = LoggingConfig()
    monitoring: MonitoringConfig = MonitoringConfig()
    simulation: SimulationConfig = SimulationConfig()

    #: Where the file came from (set by load_config, not read from YAML).
    source: Path | None = Field(default=None, exclude=True)

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as plain data, secrets replaced by asterisks."""
        data = self.model_dump(mode="json")
        for section, key in SECRET_ENV_OVERRIDES.values():
            if key == "password" and data.get(section, {}).get(key) is not None:
                data[section][key] = "**********"
        return data
