"""A whole kiosk, wired by app.bootstrap.build_app from the shipped config, in a temporary directory.

Real ledger, real card records, real protocol driver and reader thread over the emulated RC522;
only the display is absent (the session's states are what the screens would draw).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from app.bootstrap import build_app
from kiosk.config import load_config

REPO = Path(__file__).resolve().parents[2]


def write_config(tmp_path: Path, **overrides: dict[str, Any]) -> Path:
    data = yaml.safe_load((REPO / "config.yaml").read_text(encoding="utf-8"))
    data["reader"]["cooldown_ms"] = 100  # removals are noticed quickly in tests
    data["reader"]["poll_interval_ms"] = 20
    for section, values in overrides.items():
        data[section].update(values)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def wait_for(predicate: Callable[[], bool], app: Any, what: str, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; state {app.session.state}")
        app.drain_reader_events()
        time.sleep(0.005)


@pytest.fixture
def kiosk_app(tmp_path):
    app = build_app(load_config(write_config(tmp_path), environ={}))
    app.reader_thread.start()
    wait_for(lambda: app.reader.health.state == "ok", app, "reader ready")
    yield app
    app.close()
