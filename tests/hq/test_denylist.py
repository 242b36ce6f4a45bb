"""HQ's deny-list policy on both backends: a rollback HQ's records confirm blocks the card
fleet-wide; an unconfirmed one only raises an alarm; an operator releases after review."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.domain.examples import supermarket_program
from hq.service.denylist import block, prepare_denylist, release
from hq.service.errors import HqServiceError
from hq.service.members import NewMember, add_card, enrol
from hq.service.programs import add_program
from hq.service.reconcile import apply_event
from hq.store import tables as t
from sync.schemas import EventMessage
from sync.topics import HqTopics

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
TOPICS = HqTopics("p")


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="t")
        enrol(conn, NewMember("M1", "王小明"), NOW)
        add_card(conn, "M1", "de700001", 1, NOW)
        conn.execute(t.cards.update().values(last_counter=5))
    return engine


def rollback_report(card_counter: int, seq: int = 1) -> EventMessage:
    payload = {"uid": "de700001", "detail": {"card_counter": card_counter, "ledger_counter": card_counter + 1}}
    return EventMessage("K002", seq, f"e-{seq}", "security.card_rollback", NOW, False, False, payload)


def status(engine):
    with engine.connect() as conn:
        return conn.execute(sa.select(t.denylist.c.status, t.denylist.c.source, t.denylist.c.reason)).all()


def published(engine):
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.publications.c.topic, t.publications.c.payload).order_by(t.publications.c.publication_id)
        )
        return [
            (topic.rsplit("/", 1)[-1], json.loads(payload)["payload"]) for topic, payload in rows if "deny" in topic
        ]


def test_a_rollback_hq_confirms_blocks_the_card_for_the_whole_fleet(hq):
    with hq.begin() as conn:
        assert apply_event(conn, rollback_report(card_counter=2), NOW) == "blocked"
    assert status(hq) == [("blocked", "auto", "rollback")]
    with hq.begin() as conn:
        prepare_denylist(conn, KEY, TOPICS, NOW)
    assert published(hq) == [("denylist", {"entries": [{"uid": "de700001", "reason": "rollback"}]})]


def test_a_rollback_hq_cannot_confirm_is_an_alarm_for_review_not_a_block(hq):
    with hq.begin() as conn:
        assert apply_event(conn, rollback_report(card_counter=5), NOW) == "alarm"
    assert status(hq) == []
    with hq.connect() as conn:
        assert conn.execute(sa.select(t.alarms.c.kind)).scalars().all() == ["card_rollback"]


def test_an_operator_release_sends_a_delta_naming_the_card_then_the_full_list(hq):
    with hq.begin() as conn:
        apply_event(conn, rollback_report(card_counter=2), NOW)
        prepare_denylist(conn, KEY, TOPICS, NOW)
    with hq.begin() as conn:
        release(conn, "de700001", by="operator 李", note="card replaced, old one destroyed", now=NOW)
        prepare_denylist(conn, KEY, TOPICS, NOW)
    assert published(hq)[1:] == [
        ("denylist-delta", {"base_version": 1, "added": [], "removed": ["de700001"]}),
        ("denylist", {"entries": []}),
    ]
    assert status(hq) == [("released", "auto", "rollback")]


def test_a_release_names_who_and_why(hq):
    with hq.begin() as conn:
        block(conn, "de700001", "lost", source="operator", ref="call 123", now=NOW)
    with pytest.raises(HqServiceError), hq.begin() as conn:
        release(conn, "de700001", by="", note="", now=NOW)
