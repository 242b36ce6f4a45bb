"""The reader's chip in the kiosk's telemetry: a clone RC522 runs the kiosk and is named the way
`kiosk doctor` names it (both read drivers/chips.py)."""

from __future__ import annotations

from app.bootstrap import build_app
from drivers.chips import VERSIONS
from kiosk.config import load_config
from tests.app.conftest import wait_for, write_config


def test_a_clone_chip_runs_the_kiosk_and_is_named_in_telemetry(tmp_path):
    app = build_app(load_config(write_config(tmp_path, reader={"emulator_version": 0xB2}), environ={}))
    try:
        app.reader_thread.start()
        wait_for(lambda: app.reader.health.state == "ok", app, "reader ready")
        reader = app.telemetry()["reader"]
        assert (reader["state"], reader["version"], reader["chip"]) == ("ok", 0xB2, VERSIONS[0xB2].name)
    finally:
        app.close()
