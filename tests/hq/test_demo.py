"""The demo data set: a year of purchases put through HQ's engine (both backends), exported as
HQ's signed documents and imported by the simulated kiosk through the link's checks, which is what
`./run.sh` shows; a tampered document is refused and the kiosk falls back to its built-in demo."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.bootstrap import open_ledger
from app.key_files import ensure_keys
from hq.demo import build_demo, export_documents
from hq.store import tables as t
from kiosk.config import load_config
from kiosk.store_clock import StoreClock
from sync.keys import load_private_key
from sync.topics import HqTopics
from tests.app.conftest import write_config

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def kiosk_config(tmp_path):
    config = load_config(write_config(tmp_path), environ={})
    ensure_keys(config, simulation=True)  # HQ's demo key beside the kiosk's, as `kiosk keys init` makes it
    return config


def demo(engine, config, folder):
    key = load_private_key(config.security.hq_public_key.with_name("hq_private.pem"))
    now = dt.datetime.now(TZ)
    build_demo(engine, key, HqTopics("kiosk/v1"), now)
    build_demo(engine, key, HqTopics("kiosk/v1"), now)  # a second run changes nothing
    export_documents(engine, key, HqTopics("kiosk/v1"), folder, now)


def test_the_demo_members_points_come_from_purchases_at_hq(engine, kiosk_config, tmp_path):
    demo(engine, kiosk_config, tmp_path / "var" / "demo")
    with engine.connect() as conn:
        purchases = conn.execute(sa.select(sa.func.count()).select_from(t.purchases)).scalar_one()
        tiers = dict(conn.execute(sa.select(t.members.c.member_id, t.members.c.tier)).all())
        lots = dict(
            conn.execute(
                sa.select(t.lots.c.member_id, sa.func.sum(t.lots.c.points_left)).group_by(t.lots.c.member_id)
            ).all()
        )
    assert purchases > 50
    assert [tiers[m] for m in ("M0001", "M0002", "M0003", "M0004")] == ["regular", "silver", "gold", "diamond"]
    ledger, fresh = open_ledger(kiosk_config, StoreClock(TZ))
    try:
        assert fresh
        for member_id, points in lots.items():
            assert ledger.member_view(member_id).points == points
        assert ledger.member_view("M0006").tier.code == "gold"  # the manager's override
        # 积分明细: HQ's last purchases, newest first, each at the store the till reported it from
        history = ledger.points_history("M0001")
        assert history and all(not item.pending for item in history)
        assert [item.at for item in history] == sorted((item.at for item in history), reverse=True)
        assert {item.place for item in history if item.kind == "earn"} <= {"S01", "S02", "S03"}
        assert ledger.denial(bytes.fromhex("de700005")) is not None  # reported lost
    finally:
        ledger.close()


def test_a_tampered_document_is_refused_and_the_built_in_demo_is_used(engine, kiosk_config, tmp_path):
    folder = tmp_path / "var" / "demo"
    demo(engine, kiosk_config, folder)
    members = json.loads((folder / "members.json").read_text())
    members["payload"]["members"][0]["lots"][0]["points"] = 1_000_000
    (folder / "members.json").write_text(json.dumps(members))
    ledger, _ = open_ledger(kiosk_config, StoreClock(TZ))
    try:
        assert ledger.member_view("M0001").points == 820  # kiosk/ledger/demo.py's hand-made lots
    finally:
        ledger.close()


def test_the_simulated_kiosks_voucher_key_reaches_its_ledger_in_hqs_signed_directory(engine, kiosk_config, tmp_path):
    from hq.cli_vouchers import public_key_b64
    from hq.demo import DemoKiosk, register_demo_kiosks

    folder = tmp_path / "var" / "demo"
    kiosk = DemoKiosk(
        kiosk_config.device.id,
        kiosk_config.device.store_id,
        public_key_b64(kiosk_config.security.voucher_public_key_file),
    )
    register_demo_kiosks(engine, [kiosk], dt.datetime.now(TZ))
    demo(engine, kiosk_config, folder)
    ledger, _ = open_ledger(kiosk_config, StoreClock(TZ))
    try:
        assert ledger.voucher_keys_version() == 1
        directory = ledger.voucher_key_directory()
        assert directory is not None and directory.store_of(kiosk_config.device.id) == kiosk_config.device.store_id
    finally:
        ledger.close()
