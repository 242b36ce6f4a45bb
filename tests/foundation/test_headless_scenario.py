"""`kiosk run --headless`: the scripted visit on a fresh checkout writes real screens from real data.

Runs the real command in a subprocess with the shipped config.yaml copied into a temporary
directory, so keys, ledger and simulated cards start from nothing, exactly as for a new user.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from pyzbar.pyzbar import decode

REPO = Path(__file__).resolve().parents[2]
EXPECTED = [
    "01-idle",
    "02-member",
    "03-rewards",
    "04-confirm",
    "05-voucher",
    "06-my-vouchers",
    "07-history",
    "08-idle-after-session",
    "09-card-blocked",
    "10-not-a-member-card",
    "11-member-en",
    "12-birthday-gift-en",
    "13-checked-in-en",
    "14-wheel-en",
    "15-wheel-prize-en",
    "16-rewards-en",
    "17-pin-en",
    "18-voucher-en",
    "19-idle-en",
]

pytestmark = pytest.mark.integration


def kiosk(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "KIOSK_CONFIG")}
    return subprocess.run(
        [sys.executable, "-m", "app", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    home = tmp_path_factory.mktemp("kiosk")
    shutil.copy(REPO / "config.yaml", home / "config.yaml")
    result = kiosk("run", "--headless", "--out", str(home / "shots"), "--config", str(home / "config.yaml"), cwd=home)
    return home, result


def test_scenario_exits_0_and_lists_its_screens(scenario):
    home, result = scenario
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"{len(EXPECTED)} screens written to {home / 'shots'}"


def test_every_scripted_screen_is_a_real_picture(scenario):
    home, _ = scenario
    pngs = sorted((home / "shots").glob("*.png"))
    assert [p.stem for p in pngs] == EXPECTED
    for png in pngs:
        image = Image.open(png).convert("RGB")
        assert image.size == (800, 480)
        colours = image.getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50, f"{png.name} looks blank"


def test_voucher_screen_qr_is_a_valid_code_for_this_device(scenario):
    home, _ = scenario
    (symbol,) = decode(Image.open(home / "shots" / "05-voucher.png"))
    code = symbol.data.decode("ascii")
    result = kiosk("voucher", "verify", code, "--config", str(home / "config.yaml"), cwd=home)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_redemption_is_in_the_ledger_and_waits_in_the_outbox(scenario):
    home, _ = scenario
    result = kiosk("voucher", "list", "--member", "M0001", "--config", str(home / "config.yaml"), cwd=home)
    assert result.returncode == 0, result.stderr
    assert "issued" in result.stdout
    import sqlite3

    with sqlite3.connect(home / "var/data/ledger.db") as conn:
        types = [row[0] for row in conn.execute("SELECT type FROM outbox ORDER BY seq")]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert types.count("redemption") == 2  # member 1's, and member 2's behind the PIN
    assert types.count("checkin") == 1  # member 2's daily check-in
    assert types.count("wheel_spin") == 1 and types.count("birthday_gift") == 1  # member 2's spin and gift
    assert any(t.startswith("security.") for t in types)  # the lost card's attempt is reported


def test_second_run_reuses_cards_and_ledger_without_false_rollbacks(scenario):
    home, _ = scenario
    result = kiosk("run", "--headless", "--out", str(home / "shots2"), "--config", str(home / "config.yaml"), cwd=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "rolled back" not in result.stderr
