"""Can the kiosk reach HQ's MQTT broker the way it is configured (TCP, TLS, credentials), and safely?

The probe sends the HQ password only where the kiosk's own connection keeps it from the network:
over TLS, or to a broker on this machine. Without TLS it connects without the password, and the
"broker encryption" finding says why the credentials went untested.
"""

from __future__ import annotations

import stat
from pathlib import Path

from app.doctor.core import CheckResult, DoctorContext
from app.doctor.probes import BrokerProbeError, BrokerTarget

NAME = "broker"

_FIXES = {
    "dns": "check hq.host spelling and DNS: getent hosts {host}; cat /etc/resolv.conf",
    "refused": "the host answers but nothing listens on port {port}: "
    "check hq.port (1883 plain, 8883 TLS) and the broker",
    "timeout": "no route or a firewall drops the traffic: "
    "check the shop network and that outgoing TCP {port} is allowed",
    "unreachable": "check the network link (ip addr; ip route) and that {host} is reachable from the shop network",
    "tls_files": "check hq.tls_ca / tls_cert / tls_key: "
    "files must exist, be PEM, and the key must match the certificate",
    "tls_verify": "the broker's certificate is not signed by hq.tls_ca, has the wrong host name, or is outside its "
    "validity dates: check the CA file from HQ and this kiosk's clock (see the clock check)",
    "tls": "the broker may not speak TLS on port {port}, or TLS versions do not match: check hq.port and hq.tls_ca",
    "mqtt": "something other than an MQTT broker answers on {host}:{port}: check hq.host and hq.port",
    "auth": "the broker refused this kiosk's credentials: check hq.username / hq.password (or KIOSK_HQ_PASSWORD "
    "in /etc/kiosk/kiosk.env) and the client certificate with HQ",
}


#: Why the probe went without the password, said wherever its verdict is.
PASSWORD_WITHHELD = "the password was not sent: the connection has no TLS"


def target_from_config(config) -> BrokerTarget:
    """What the probe connects to; the password only where it would not cross the network in clear."""
    hq = config.hq
    password = hq.password.get_secret_value() if hq.password is not None else None
    if hq.password_in_clear:
        password = None
    return BrokerTarget(
        host=hq.host,
        port=hq.port,
        tls_ca=hq.tls_ca,
        tls_cert=hq.tls_cert,
        tls_key=hq.tls_key,
        username=hq.username,
        password=password,
        client_id=f"{config.device.id}-doctor",
    )


def check_broker_files(ctx: DoctorContext) -> CheckResult:
    name = "broker tls files"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    hq = ctx.config.hq
    files = [(key, getattr(hq, key)) for key in ("tls_ca", "tls_cert", "tls_key") if getattr(hq, key) is not None]
    if not hq.enabled or not files:
        return CheckResult.skip(name, "no TLS files configured")
    for key, path in files:
        path = Path(path)
        if not path.is_file():
            return CheckResult.failed(
                name, f"hq.{key} {path} does not exist", f"install the file HQ provided at {path}"
            )
        if not ctx.can_access(path):
            return CheckResult.failed(
                name,
                f"user {ctx.who} cannot read hq.{key} {path}",
                f"sudo chown root:kiosk {path} && sudo chmod 0640 {path}",
            )
        mode = stat.S_IMODE(path.stat().st_mode)
        if key == "tls_key" and mode & (stat.S_IRWXO | stat.S_IWGRP):
            # The client certificate's private key: whoever reads it can pose as this kiosk.
            return CheckResult.failed(
                name, f"hq.tls_key {path} is a private key but has mode {mode:04o}", f"sudo chmod 0640 {path}"
            )
    return CheckResult.passed(name, ", ".join(f"{k} {p}" for k, p in files))


def check_broker_encryption(ctx: DoctorContext) -> CheckResult:
    name = "broker encryption"
    if ctx.config is None:
        return CheckResult.skip(name, "needs a valid config")
    hq = ctx.config.hq
    if not hq.enabled or hq.password is None:
        return CheckResult.skip(name, "no HQ password configured")
    if hq.tls_ca is not None:
        return CheckResult.passed(name, "the HQ password is sent over TLS")
    if not hq.password_in_clear:
        return CheckResult.passed(name, f"no TLS, but the broker {hq.host} is on this machine")
    return CheckResult.warning(
        name,
        f"hq.tls_ca is null: the kiosk sends its HQ password unencrypted to {hq.host}:{hq.port}, readable by "
        "anyone on the network path (the doctor's broker probe left it out for that reason)",
        "ask HQ for the broker's CA certificate, set hq.tls_ca to it and hq.port to the broker's TLS port "
        "(usually 8883); then: kiosk check-config",
    )


def check_broker(ctx: DoctorContext) -> CheckResult:
    if ctx.config is None:
        return CheckResult.skip(NAME, "needs a valid config")
    if not ctx.config.hq.enabled:
        return CheckResult.passed(NAME, "offline by configuration (hq.host is empty): events queue in the outbox")
    target = target_from_config(ctx.config)
    where = f"{target.host}:{target.port}{' (TLS)' if target.tls else ''}"
    withheld = ctx.config.hq.password_in_clear
    try:
        ctx.broker_probe(target)
    except BrokerProbeError as exc:
        if withheld and exc.kind == "auth":
            return CheckResult.warning(
                NAME,
                f"{where} answers MQTT but refused the login without a password ({PASSWORD_WITHHELD}); "
                "the credentials are untested",
                "see the broker encryption check: with hq.tls_ca set the doctor tests the password too",
            )
        fix = _FIXES.get(exc.kind, "check hq.* in the config").format(host=target.host, port=target.port)
        return CheckResult.failed(NAME, f"{where}: {exc}", fix)
    except OSError as exc:
        return CheckResult.failed(
            NAME, f"{where}: {exc}", _FIXES["unreachable"].format(host=target.host, port=target.port)
        )
    if not target.mqtt_login:
        return CheckResult.passed(
            NAME,
            f"{where} accepts this kiosk's certificate (no MQTT login tried: the broker takes the client id "
            "from the certificate, and a login would disconnect the running kiosk)",
        )
    if withheld:
        return CheckResult.passed(NAME, f"{where} accepts an MQTT connection ({PASSWORD_WITHHELD})")
    return CheckResult.passed(NAME, f"{where} accepts this kiosk's MQTT connection")
