"""`kiosk card ...` handlers on emulated cards and the real ledger; argument parsing."""

import argparse
import io

import pytest

from app.cli import card as card_cli
from app.cli.card import CardTools, inspect_command, personalize_command, wipe_command
from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.reading import read_card

UID = bytes.fromhex("0A0B0C0D")


@pytest.fixture
def blank():
    return MifareClassic1K(UID)


def tools(card, keys, faults, tap, ledger=None):
    return CardTools(tap(card), faults, keys, ledger)


def test_personalize_registers_the_card_for_the_member(blank, keys, ledger, tap, faults):
    out = io.StringIO()
    assert personalize_command(tools(blank, keys, faults, tap, ledger), "M0003", 2, out) == 0
    assert "personalized card 0A0B0C0D for member M0003, issue 2" in out.getvalue()
    state = ledger.card_state(UID)
    assert (state.member_id, state.issue_no, state.status) == ("M0003", 2, "active")
    assert read_card(tap(blank), keys, faults).best()[1].member_id == "M0003"


def test_personalize_refuses_an_unknown_member(blank, keys, ledger, tap, faults):
    out = io.StringIO()
    assert personalize_command(tools(blank, keys, faults, tap, ledger), "NOBODY", 1, out) == 1
    assert read_card(tap(blank), keys, faults).best() is None


def test_personalize_refuses_a_member_id_a_card_cannot_hold(blank, keys, tap, faults):
    out = io.StringIO()
    assert personalize_command(tools(blank, keys, faults, tap), "张三", 1, out) == 1
    assert "personalization failed" in out.getvalue()


def test_personalize_reports_a_card_pulled_half_way(blank, keys, tap, faults):
    out = io.StringIO()
    t = CardTools(tap(blank, pull_after=5), faults, keys)
    assert personalize_command(t, "M0003", 1, out) == 1
    assert "repeat the command" in out.getvalue()


def test_inspect_prints_the_verdict_without_key_bytes(blank, keys, ledger, tap, faults):
    personalize_command(tools(blank, keys, faults, tap, ledger), "M0003", 1, io.StringIO())
    out = io.StringIO()
    assert inspect_command(tools(blank, keys, faults, tap, ledger), out) == 0
    text = out.getvalue()
    assert "member M0003, issue 1, counter 0" in text and "verdict: Verified" in text
    for secret in (keys.mac_key.hex(), keys.diversify_key.hex()):
        assert secret[:12] not in text.lower()


def test_wipe_needs_yes(blank, keys, tap, faults):
    out = io.StringIO()
    assert wipe_command(tools(blank, keys, faults, tap), False, out) == 2
    assert "--yes" in out.getvalue()


def test_wipe_resets_a_personalized_card(blank, keys, tap, faults):
    personalize_command(tools(blank, keys, faults, tap), "M0003", 1, io.StringIO())
    out = io.StringIO()
    assert wipe_command(tools(blank, keys, faults, tap), True, out) == 0
    assert "transport state" in out.getvalue()
    assert read_card(tap(blank), keys, faults).best() is None


def parser():
    p = argparse.ArgumentParser()
    card_cli.register(p.add_subparsers(dest="command"))
    return p


def test_cli_parses_the_three_actions():
    args = parser().parse_args(["card", "personalize", "--member", "M0001", "--issue", "2"])
    assert (args.member, args.issue) == ("M0001", 2)
    assert parser().parse_args(["card", "inspect"]).card_command == "inspect"
    assert parser().parse_args(["card", "wipe", "--yes"]).yes


def test_cli_personalize_requires_a_member():
    with pytest.raises(SystemExit):
        parser().parse_args(["card", "personalize"])


def test_cli_wipe_without_yes_refuses_before_waiting_for_a_card(capsys):
    args = parser().parse_args(["card", "wipe"])
    args.config = "/nonexistent/config.yaml"  # never read: the refusal comes first
    assert args.handler(args) == 2
