"""`kiosk hq ...`: keygen, publish-rules to a real broker (applied by a real kiosk link), fleet,
and clear refusals of bad input. The subcommands are registered on a parser of our own, exactly
as app/cli/main.py does with `register(subparsers)`."""

from __future__ import annotations

import argparse
import json
import stat

import pytest

from app.cli import hq as hq_commands
from kiosk.ledger.demo import demo_rules
from sync.keys import load_private_key
from tests.sync.conftest import PREFIX, seeded_ledger, wait_until


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="kiosk")
    hq_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return args.handler(args)


def test_keygen_writes_a_private_key_only_its_owner_can_read(tmp_path):
    private, public = tmp_path / "hq.key", tmp_path / "hq.pub"
    assert run("hq", "keygen", "--private", str(private), "--public", str(public)) == 0
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert load_private_key(private)


def test_keygen_refuses_to_overwrite_a_key(tmp_path):
    private, public = tmp_path / "hq.key", tmp_path / "hq.pub"
    run("hq", "keygen", "--private", str(private), "--public", str(public))
    assert run("hq", "keygen", "--private", str(private), "--public", str(public)) == 1


def test_publishing_a_file_with_floats_is_refused_before_signing(tmp_path):
    run("hq", "keygen", "--private", str(tmp_path / "k"), "--public", str(tmp_path / "p"))
    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({"discount": 0.9}))
    assert (
        run(
            "hq",
            "publish-rules",
            str(bad),
            "--signing-key",
            str(tmp_path / "k"),
            "--db",
            str(tmp_path / "hq.sqlite"),
            "--port",
            "1",
        )
        == 2
    )


@pytest.mark.integration
def test_published_rules_are_applied_by_the_kiosk_and_fleet_shows_the_version(
    broker, open_ledger, start_link, tmp_path, capsys
):
    from sync.keys import load_public_key

    key, pub = tmp_path / "hq.key", tmp_path / "hq.pub"
    run("hq", "keygen", "--private", str(key), "--public", str(pub))
    rules_file = tmp_path / "rules.json"
    rules_file.write_text(json.dumps(demo_rules(), ensure_ascii=False), encoding="utf-8")
    seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port, keys=[load_public_key(pub)])
    wait_until(lambda: link.online, what="link online")
    common = ["--host", broker.host, "--port", str(broker.port), "--prefix", PREFIX]
    assert (
        run(
            "hq",
            "publish-rules",
            str(rules_file),
            "--signing-key",
            str(key),
            "--db",
            str(tmp_path / "hq.sqlite"),
            "--store",
            "S01",
            *common,
        )
        == 0
    )
    assert "version 1" in capsys.readouterr().out  # first publication from this HQ database
    assert (
        run(
            "hq",
            "publish-rules",
            str(rules_file),
            "--signing-key",
            str(key),
            "--db",
            str(tmp_path / "hq.sqlite"),
            "--version",
            "5",
            *common,
        )
        == 0
    )
    wait_until(lambda: open_ledger("K001").rules_version() == 5, what="rules v5 applied")
    link.notify_outbox()
    assert run("hq", "fleet", "--json", "--wait", "0.5", *common) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert [(r["device_id"], r["state"]) for r in rows] == [("K001", "online")]
