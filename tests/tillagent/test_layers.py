"""The till agent's borders, checked on its source: it runs on a till next to a POS, so it uses the
kiosk's voucher format and key directory and sync's envelope checks, and nothing of HQ, the kiosk
program, hardware, pygame, MQTT or the HQ server stack. Nothing else imports it. Its exceptions
share one root, TillAgentError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

from tests.foundation.test_layers import LAYERS, imported_modules, modules, rel, roots
from tillagent.errors import TillAgentError

ALLOWED_OURS = (
    "tillagent",
    "kiosk.ledger.vouchers",
    "kiosk.ledger.voucher_keys",
    "sync.envelope",
    "sync.errors",
    "sync.keys",
    "sync.topics",
)
FORBIDDEN = {"hq", "app", "screens", "drivers", "pygame", "paho", "sqlalchemy", "fastapi", "uvicorn", "httpx"}


@pytest.mark.parametrize("path", modules("tillagent"), ids=rel)
def test_the_till_agent_imports_only_the_voucher_format_the_key_directory_and_envelope_checks(path: Path):
    ours = {n for n in imported_modules(path) if n.split(".")[0] in (*LAYERS, "tillagent")}
    assert all(n.startswith(ALLOWED_OURS) for n in ours), sorted(ours)
    assert not roots(path) & FORBIDDEN


def test_nothing_of_the_kiosk_or_hq_imports_the_till_agent():
    importers = [rel(p) for package in LAYERS for p in modules(package) if "tillagent" in roots(p)]
    assert importers == []


def test_every_exception_the_till_agent_defines_derives_from_its_root():
    strays = []
    for info in pkgutil.walk_packages(importlib.import_module("tillagent").__path__, prefix="tillagent."):
        if info.name.endswith("__main__"):
            continue  # running it would run the CLI
        module = importlib.import_module(info.name)
        strays += [
            f"{info.name}.{name}"
            for name, obj in vars(module).items()
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name
            and not issubclass(obj, TillAgentError)
        ]  # fmt: skip
    assert strays == []
