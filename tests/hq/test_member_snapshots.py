"""HQ's full member snapshot, on SQLite and PostgreSQL: split by bytes into signed parts below the
limit that together carry every member once, with consecutive versions; a shorter snapshot clears
the part topics it no longer uses; the schedule is shared by HQ processes; and with
`member_scope: store` a member's updates and snapshot go to the stores the member belongs to."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hq.cli import main
from hq.config import HqConfigError, load_settings
from hq.domain.examples import supermarket_program
from hq.service import till
from hq.service.feedback import prepare_member_update
from hq.service.listener_store import SqlListenerStore
from hq.service.members import NewMember, enrol
from hq.service.programs import add_program
from hq.service.publications import Publication, mark_sent, unsent
from hq.service.reconcile import apply_event
from hq.service.snapshots import SnapshotTooLarge, prepare_member_snapshots
from hq.store.engine import open_engine, sqlite_url
from hq.store.migrations import migrate
from sync.envelope import EnvelopeVerifier
from sync.keys import generate_keypair
from sync.schemas import EventMessage
from sync.topics import HqTopics, KioskTopics, Scope

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=TZ)
KEY = Ed25519PrivateKey.generate()
PREFIX = "acme/kiosk"
TOPICS = HqTopics(PREFIX)
PART_BYTES = 5_000
MEMBERS = [f"M{n:03d}" for n in range(60)]


@pytest.fixture
def hq(engine):
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        for member_id in MEMBERS:
            enrol(conn, NewMember(member_id, "王小明", home_store="S01"), NOW)
    for n, member_id in enumerate(MEMBERS[:20]):  # a history and lots for some
        buy(engine, member_id, f"A{n}", 10_000 + n)
    with engine.begin() as conn:
        prepare_member_update(conn, KEY, TOPICS, NOW)
        for sent in unsent(conn, limit=1000):  # the set-up's own updates are out of the way
            mark_sent(conn, sent.publication_id, NOW)
    return engine


def buy(engine, member_id: str, order: str, amount_fen: int, store: str = "S01") -> None:
    with engine.begin() as conn:
        till.record_purchase(conn, till.Purchase(f"k-{order}", store, "T1", order, member_id, amount_fen, NOW), NOW)


def snapshot(engine, **kw):
    with engine.begin() as conn:
        return prepare_member_snapshots(conn, KEY, TOPICS, NOW, **({"part_bytes": PART_BYTES} | kw))


def queued(engine, kind: str) -> list[Publication]:
    with engine.begin() as conn:
        return [p for p in unsent(conn, limit=10_000) if f"/{kind}" in p.topic]


def verify(publication: Publication, store: str = "S01"):
    scope = KioskTopics(PREFIX, "K001", store).parse(publication.topic).scope
    verifier = EnvelopeVerifier([KEY.public_key()], device_id="K001", store_id=store)
    return verifier.verify(publication.payload, expected_type="members_part", topic_scope=scope, now=NOW)


def test_every_part_stays_below_the_part_size(hq):
    (published,) = snapshot(hq)
    parts = queued(hq, "members-part/")
    assert published.parts == len(parts) > 2
    assert max(len(p.payload) for p in parts) <= PART_BYTES


def test_the_parts_carry_every_member_once_under_consecutive_versions(hq):
    (published,) = snapshot(hq)
    pushes = [verify(p) for p in queued(hq, "members-part/")]
    assert [p.version for p in pushes] == list(range(published.first_version, published.first_version + len(pushes)))
    assert [p.payload["part"] for p in pushes] == list(range(len(pushes)))
    assert {p.payload["parts"] for p in pushes} == {len(pushes)}
    assert sorted(m["member_id"] for p in pushes for m in p.payload["members"]) == MEMBERS


def test_the_parts_are_retained_on_their_numbered_topics(hq):
    snapshot(hq)
    parts = queued(hq, "members-part/")
    assert [p.topic for p in parts] == [f"{PREFIX}/hq/fleet/members-part/{n}" for n in range(len(parts))]
    assert all(p.retain for p in parts)


def test_a_shorter_snapshot_clears_the_part_topics_it_no_longer_uses(hq):
    (first,) = snapshot(hq)
    (second,) = snapshot(hq, part_bytes=200_000)
    assert (second.parts, second.cleared) == (1, first.parts - 1)
    clears = [p for p in queued(hq, "members-part/") if not p.payload]
    assert [p.topic for p in clears] == [f"{PREFIX}/hq/fleet/members-part/{n}" for n in range(1, first.parts)]
    assert all(p.retain for p in clears)


def test_a_snapshot_takes_versions_after_every_update_before_it(hq):
    buy(hq, "M001", "B1", 5_000)
    with hq.begin() as conn:
        update = prepare_member_update(conn, KEY, TOPICS, NOW)
    (published,) = snapshot(hq)
    assert update is not None and published.first_version > update.version


def test_the_folded_kiosk_events_travel_with_their_members_part(hq):
    event = EventMessage("K001", 1, "e-K001-1", "redemption", NOW, False, False,
                         {"member_id": "M019", "points": 10, "voucher_id": "K001-1", "reward_id": "off-10",
                          "card_uid": None, "card_counter": None, "rules_version": 1})  # fmt: skip
    SqlListenerStore(hq, apply_event).record_events([event], NOW)
    snapshot(hq)
    [holder] = [
        p for p in map(verify, queued(hq, "members-part/")) if "e-K001-1" in p.payload["acknowledged_event_ids"]
    ]
    assert "M019" in {m["member_id"] for m in holder.payload["members"]}


def test_a_snapshot_is_not_due_again_within_its_interval(hq):
    assert snapshot(hq, due_after=dt.timedelta(hours=6))
    assert snapshot(hq, due_after=dt.timedelta(hours=6)) == []


def test_a_member_larger_than_a_part_is_refused_with_its_name(hq):
    with pytest.raises(SnapshotTooLarge, match="M000"):
        snapshot(hq, part_bytes=800)


# --- member_scope: store -----------------------------------------------------------------------


def scopes_of(engine, member_id: str) -> set[str]:
    with engine.begin() as conn:
        prepare_member_update(conn, KEY, TOPICS, NOW, member_scope="store")
        updates = [p for p in unsent(conn, limit=10_000) if p.topic.endswith("/members-update")]
    found = set()
    for update in updates:
        scope = update.topic.removeprefix(f"{PREFIX}/hq/").removesuffix("/members-update")
        store = scope.removeprefix("store/")
        push = EnvelopeVerifier([KEY.public_key()], device_id="K001", store_id=store).verify(
            update.payload, expected_type="members_update", topic_scope=_scope(scope), now=NOW
        )
        if member_id in {m["member_id"] for m in push.payload["members"]}:
            found.add(scope)
    return found


def _scope(text: str) -> Scope:
    return Scope.fleet() if text == "fleet" else Scope.store(text.removeprefix("store/"))


def test_with_store_scope_an_update_goes_to_the_home_store_and_where_the_member_bought(hq):
    buy(hq, "M001", "C1", 5_000, store="S02")
    assert scopes_of(hq, "M001") == {"store/S01", "store/S02"}


def test_with_store_scope_a_store_where_the_member_used_a_kiosk_gets_the_update(hq):
    store = SqlListenerStore(hq, apply_event)
    store.record_status("K301", "S03", "online", NOW)
    event = EventMessage("K301", 1, "e-K301-1", "redemption", NOW, False, False,
                         {"member_id": "M030", "points": 0, "voucher_id": "K301-1", "reward_id": "off-10",
                          "card_uid": None, "card_counter": None, "rules_version": 1})  # fmt: skip
    store.record_events([event], NOW)
    assert scopes_of(hq, "M030") == {"store/S01", "store/S03"}


def test_with_store_scope_a_member_of_no_store_is_told_to_the_fleet(hq):
    with hq.begin() as conn:
        enrol(conn, NewMember("N1", "李四"), NOW)
    buy(hq, "N1", "D1", 1_000, store="S01")  # now N1 belongs to S01 ...
    with hq.begin() as conn:
        enrol(conn, NewMember("N2", "赵六"), NOW)
        till.topup(conn, till.Topup("t-N2", "S09", "T1", "N2", 1_000, NOW), NOW)  # a top-up is no purchase
    assert (scopes_of(hq, "N1"), scopes_of(hq, "N2")) == ({"store/S01"}, {"fleet"})


def test_with_store_scope_each_store_gets_a_snapshot_of_its_members_and_those_of_no_store(hq):
    buy(hq, "M001", "C1", 5_000, store="S02")
    with hq.begin() as conn:
        enrol(conn, NewMember("N1", "李四"), NOW)
    published = {s.scope: s for s in snapshot(hq, member_scope="store", part_bytes=500_000)}
    assert set(published) == {"store/S01", "store/S02"}
    (s02,) = [verify(p, "S02") for p in queued(hq, "store/S02/members-part/")]
    assert sorted(m["member_id"] for m in s02.payload["members"]) == ["M001", "N1"]
    assert published["store/S01"].members == len(MEMBERS) + 1


def test_switching_to_store_scope_clears_the_fleet_snapshot(hq):
    (fleet,) = snapshot(hq)
    snapshot(hq, member_scope="store", part_bytes=500_000)
    clears = [p.topic for p in queued(hq, "fleet/members-part/") if not p.payload]
    assert clears == [f"{PREFIX}/hq/fleet/members-part/{n}" for n in range(fleet.parts)]


# --- hq.yaml and the shell ---------------------------------------------------------------------


@pytest.fixture
def hq_yaml(tmp_path):
    generate_keypair(tmp_path / "hq.pem", tmp_path / "hq.pub")
    path = tmp_path / "hq.yaml"
    config = {"database": sqlite_url(tmp_path / "hq.sqlite"), "signing_key": "hq.pem",
              "feedback": {"member_scope": "store", "snapshot_part_bytes": 100_000}}  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


def test_publish_snapshot_queues_one_per_store_as_hq_yaml_says(hq_yaml, capsys):
    engine = open_engine(yaml.safe_load(hq_yaml.read_text())["database"])
    migrate(engine)
    with engine.begin() as conn:
        add_program(conn, supermarket_program(), key=KEY, topics=TOPICS, now=NOW, by="test")
        enrol(conn, NewMember("M1", "王小明", home_store="S07"), NOW)
    engine.dispose()
    assert main(["--config", str(hq_yaml), "publish-snapshot"]) == 0
    assert "store/S07: 1 member(s) in 1 part(s)" in capsys.readouterr().out


def test_an_unknown_member_scope_is_named_with_the_file(tmp_path):
    path = tmp_path / "hq.yaml"
    path.write_text("database: sqlite+pysqlite:///x.db\nsigning_key: k.pem\nfeedback:\n  member_scope: region\n")
    with pytest.raises(HqConfigError, match=r"hq.yaml: feedback.member_scope: String should match"):
        load_settings(path)


def test_a_part_size_above_the_kiosks_limit_is_refused(tmp_path):
    path = tmp_path / "hq.yaml"
    path.write_text(
        "database: sqlite+pysqlite:///x.db\nsigning_key: k.pem\nfeedback:\n  snapshot_part_bytes: 4194304\n"
    )
    with pytest.raises(HqConfigError, match=r"feedback.snapshot_part_bytes: Input should be less than or equal"):
        load_settings(path)
