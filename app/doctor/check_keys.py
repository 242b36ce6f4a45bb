"""The key files the config names: present, readable by the service, secret ones not world-readable, well-formed."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.doctor.core import CheckResult, DoctorContext
from kiosk.cards.errors import MasterKeyFileError
from kiosk.cards.keyfile import load_master_keys
from sync.keys import load_public_key_file


def _hq_public_key(path: Path) -> str:
    # The same loader the kiosk trusts its HQ keys with, so doctor and kiosk agree on the file.
    return f"{len(load_public_key_file(path))} Ed25519 public key(s)"


def _voucher_key(path: Path) -> str:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"key is {type(key).__name__}, not Ed25519")
    return "Ed25519 private key"


def _card_master_key(path: Path) -> str:
    keys = load_master_keys(path, check_permissions=False)  # permissions are judged below, per user
    return f"card master key id {keys.key_id}"


_KEYS = (
    ("hq_public_key", _hq_public_key, False, "install HQ's public key file (hq_public.pem) from HQ at {path}"),
    (
        "card_master_key",
        _card_master_key,
        True,
        "install the fleet's card key file from HQ at {path} (mode 0640 root:kiosk)",
    ),
    (
        "voucher_signing_key",
        _voucher_key,
        True,
        "create it: sudo -u kiosk /opt/kiosk/venv/bin/kiosk keys init --config {config}",
    ),
)


def check_keys(ctx: DoctorContext) -> list[CheckResult]:
    if ctx.config is None:
        return [CheckResult.skip("keys", "needs a valid config")]
    results: list[CheckResult] = []
    simulated = ctx.config.simulation.enabled and ctx.config.simulation.generate_keys
    for key, parse, secret, missing_fix in _KEYS:
        name = f"key {key}"
        path = Path(getattr(ctx.config.security, key))
        fix = missing_fix.format(path=path, config=ctx.config.source or "/etc/kiosk/config.yaml")
        if not path.is_file():
            if simulated:
                # Simulation creates throw-away keys at start-up; nothing is wrong yet.
                results.append(
                    CheckResult.warning(
                        name,
                        f"{path} is missing (simulation creates a throw-away key)",
                        f"kiosk keys init --simulation --config {ctx.config.source}",
                    )
                )
            else:
                results.append(CheckResult.failed(name, f"{path} is missing", fix))
            continue
        if not ctx.can_access(path):
            results.append(
                CheckResult.failed(
                    name,
                    f"user {ctx.who} cannot read {path}",
                    f"sudo chown root:kiosk {path} && sudo chmod 0640 {path}",
                )
            )
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if secret and mode & (stat.S_IRWXO | stat.S_IWGRP):
            results.append(
                CheckResult.failed(name, f"{path} is a secret but has mode {mode:04o}", f"sudo chmod 0640 {path}")
            )
            continue
        try:
            what = parse(path)
        except (MasterKeyFileError, ValueError, TypeError, OSError) as exc:
            results.append(CheckResult.failed(name, f"{path} is not usable: {exc}", fix))
            continue
        results.append(CheckResult.passed(name, f"{path}: {what}"))
    return results
