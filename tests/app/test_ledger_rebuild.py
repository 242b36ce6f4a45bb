"""A corrupt ledger: the kiosk refuses to run on it, says how to rebuild, and rebuilds from scratch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "KIOSK_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args, "--config", str(cwd / "config.yaml")],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_corrupt_ledger_is_refused_then_rebuilt(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    assert kiosk("run", "--headless", "--out", str(tmp_path / "a"), cwd=tmp_path).returncode == 0
    ledger = tmp_path / "var/data/ledger.db"
    data = bytearray(ledger.read_bytes())
    data[4096:8192] = b"\xa5" * 4096  # a page of garbage, as a torn write on a failing SD card leaves it
    ledger.write_bytes(bytes(data))

    refused = kiosk("run", "--headless", "--out", str(tmp_path / "b"), cwd=tmp_path)
    assert refused.returncode == 1
    assert f"ledger database {ledger} is corrupt" in refused.stderr
    assert "resyncs members, rules and the deny-list from HQ" in refused.stderr

    assert kiosk("ledger", "rebuild", cwd=tmp_path).returncode == 2  # not without --yes
    rebuilt = kiosk("ledger", "rebuild", "--yes", cwd=tmp_path)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert not ledger.exists()
    assert len(list((tmp_path / "var/data").glob("ledger.db.corrupt-*"))) == 1

    again = kiosk("run", "--headless", "--out", str(tmp_path / "c"), cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
