"""Staff card tools through the real CLI and the app's card_tools, on the simulation's demo cards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def card(*args: str, home: Path, sim_card: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KIOSK_SIM_CARD": str(sim_card)}
    return subprocess.run(
        [sys.executable, "-m", "app", "card", *args, "--timeout", "5", "--config", str(home / "config.yaml")],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_inspect_verifies_a_demo_member_card(home):
    result = card("inspect", home=home, sim_card=1)
    assert result.returncode == 0, result.stderr
    assert "verdict: Verified member_id=M0001" in result.stdout


def test_inspect_shows_a_lost_card_as_blocked(home):
    result = card("inspect", home=home, sim_card=5)
    assert "verdict: Blocked reason=lost" in result.stdout


def test_personalize_turns_the_blank_card_into_a_member_card(home):
    result = card("personalize", "--member", "M0003", "--issue", "2", home=home, sim_card=8)
    assert result.returncode == 0, result.stderr
    assert "personalized card 5A6B7C8D for member M0003, issue 2" in result.stdout


def test_personalize_refuses_an_unknown_member(home):
    result = card("personalize", "--member", "NOBODY", home=home, sim_card=8)
    assert result.returncode == 1
    assert "no member NOBODY in the local ledger" in result.stdout
