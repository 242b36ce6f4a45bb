"""Signed HQ pushes applied to the real Ledger: applied once, redelivery is harmless, rollback,
conflicts, delta bases, invalid documents and oversize are rejected with their reasons; and over
a real broker every kind of bad push is answered with a push-ack naming the reason."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kiosk.ledger.demo import demo_rules
from sync.envelope import EnvelopeVerifier, sign_envelope
from sync.hq.store import HqStore
from sync.inbound import PushHandler
from sync.mqtt_client import ConnectionSettings, MqttClient
from sync.schemas import dumps
from sync.state import VersionStore
from sync.topics import HqTopics, Scope
from tests.sync.conftest import PREFIX, STORE, member_entry, wait_until

UID = "04a1b2c3"


@pytest.fixture
def handler_for(tmp_path, open_ledger, clock, hq_key):
    def _make(max_bytes: int = 4 * 1024 * 1024) -> tuple[PushHandler, object]:
        ledger = open_ledger("K001")
        handler = PushHandler(
            verifier=EnvelopeVerifier([hq_key.public_key()], device_id="K001", store_id=STORE),
            versions=VersionStore(tmp_path / "K001" / "sync-state.sqlite"),
            ledger=ledger,
            clock=clock,
            max_bytes=max_bytes,
        )
        return handler, ledger

    return _make


def signed(key, doc_type, version, payload, *, scope=Scope.fleet(), now=None, valid=dt.timedelta(days=1)) -> bytes:
    now = now or dt.datetime.now(dt.UTC)
    return dumps(
        sign_envelope(
            key, doc_type=doc_type, scope=scope, version=version, issued_at=now, not_after=now + valid, payload=payload
        )
    )


def rules(key, version, **kw):
    return signed(key, "rules", version, {"document": demo_rules()}, **kw)


def outcome(handler, doc_type, raw, scope=Scope.fleet()):
    result = handler.handle(doc_type, scope, raw)
    return (result.status, result.reason)


def test_rules_are_applied_and_their_version_recorded(handler_for, hq_key):
    handler, ledger = handler_for()
    assert outcome(handler, "rules", rules(hq_key, 3)) == ("applied", None)
    assert ledger.rules_version() == 3


def test_the_same_retained_document_again_is_current_not_an_error(handler_for, hq_key):
    handler, ledger = handler_for()
    raw = rules(hq_key, 3)
    handler.handle("rules", Scope.fleet(), raw)
    assert outcome(handler, "rules", raw) == ("current", None)


def test_an_older_version_is_a_rollback(handler_for, hq_key):
    handler, _ = handler_for()
    handler.handle("rules", Scope.fleet(), rules(hq_key, 3))
    assert outcome(handler, "rules", rules(hq_key, 2)) == ("rejected", "not_newer")


def test_rollback_protection_survives_a_restart(handler_for, hq_key):
    handler, ledger = handler_for()
    handler.handle("rules", Scope.fleet(), rules(hq_key, 3))
    ledger.close()
    again, _ = handler_for()
    assert outcome(again, "rules", rules(hq_key, 2)) == ("rejected", "not_newer")


def test_same_version_with_other_content_is_a_conflict(handler_for, hq_key):
    handler, _ = handler_for()
    handler.handle("rules", Scope.fleet(), rules(hq_key, 3))
    other = demo_rules() | {"downgrade": True}
    assert outcome(handler, "rules", signed(hq_key, "rules", 3, {"document": other})) == (
        "rejected",
        "version_conflict",
    )


def test_rules_the_ledger_refuses_are_invalid_payload_and_change_nothing(handler_for, hq_key):
    handler, ledger = handler_for()
    result = handler.handle("rules", Scope.fleet(), signed(hq_key, "rules", 5, {"document": {"tiers": "gold"}}))
    assert (result.status, result.reason) == ("rejected", "invalid_payload") and result.detail
    assert ledger.rules_version() is None


def test_oversized_push_is_rejected_before_parsing(handler_for, hq_key):
    handler, _ = handler_for(max_bytes=100)
    assert outcome(handler, "rules", rules(hq_key, 1)) == ("rejected", "oversized")


def test_full_denylist_then_delta_on_its_base(handler_for, hq_key):
    handler, ledger = handler_for()
    assert outcome(
        handler, "denylist", signed(hq_key, "denylist", 4, {"entries": [{"uid": UID, "reason": "lost"}]})
    ) == ("applied", None)
    assert outcome(
        handler,
        "denylist_delta",
        signed(hq_key, "denylist_delta", 5, {"base_version": 4, "added": [], "removed": [UID]}),
    ) == ("applied", None)
    assert ledger.denylist_version() == 5 and ledger.denial(bytes.fromhex(UID)) is None


def test_delta_on_another_base_is_rejected(handler_for, hq_key):
    handler, ledger = handler_for()
    handler.handle("denylist", Scope.fleet(), signed(hq_key, "denylist", 4, {"entries": []}))
    assert outcome(
        handler,
        "denylist_delta",
        signed(
            hq_key, "denylist_delta", 6, {"base_version": 5, "added": [{"uid": UID, "reason": "lost"}], "removed": []}
        ),
    ) == ("rejected", "base_mismatch")
    assert ledger.denylist_version() == 4


def test_member_snapshot_and_update_share_a_version_line(handler_for, hq_key):
    handler, ledger = handler_for()
    snapshot = {"members": [member_entry("M1", 500)], "acknowledged_event_ids": []}
    update = {"members": [member_entry("M2", 900)], "acknowledged_event_ids": []}
    assert outcome(handler, "members", signed(hq_key, "members", 2, snapshot)) == ("applied", None)
    assert outcome(handler, "members_update", signed(hq_key, "members_update", 3, update)) == ("applied", None)
    assert ledger.member_exists("M1") and ledger.member_exists("M2")
    assert outcome(handler, "members", signed(hq_key, "members", 2, snapshot)) == ("rejected", "not_newer")


def _voucher_keys(key, version, *entries):
    from tests.ledger.keydir import payload

    return signed(key, "voucher_keys", version, payload(*entries))


def test_a_signed_voucher_key_directory_is_applied_and_its_version_recorded(handler_for, hq_key):
    from tests.ledger.keydir import entry

    handler, ledger = handler_for()
    kiosk_key = Ed25519PrivateKey.generate()
    assert outcome(handler, "voucher_keys", _voucher_keys(hq_key, 4, entry("K002", kiosk_key))) == ("applied", None)
    assert ledger.voucher_keys_version() == 4 and ledger.voucher_key_directory().store_of("K002") == "store-1"
    assert handler.current_version("voucher_keys") == 4


def test_a_voucher_key_directory_with_a_bad_entry_is_invalid_payload_naming_it(handler_for, hq_key):
    from tests.ledger.keydir import entry

    handler, ledger = handler_for()
    bad = entry("K002", Ed25519PrivateKey.generate()) | {"valid_from": "tomorrow"}
    result = handler.handle("voucher_keys", Scope.fleet(), _voucher_keys(hq_key, 4, bad))
    assert (result.status, result.reason) == ("rejected", "invalid_payload") and "keys[0]" in result.detail
    assert ledger.voucher_key_directory() is None


def test_a_voucher_key_document_without_a_keys_list_is_malformed(handler_for, hq_key):
    handler, _ = handler_for()
    raw = signed(hq_key, "voucher_keys", 4, {"entries": []})
    assert outcome(handler, "voucher_keys", raw) == ("rejected", "malformed")


def test_an_older_voucher_key_directory_is_a_rollback(handler_for, hq_key):
    # An older directory could bring back a key HQ has since revoked.
    handler, ledger = handler_for()
    handler.handle("voucher_keys", Scope.fleet(), _voucher_keys(hq_key, 4))
    assert outcome(handler, "voucher_keys", _voucher_keys(hq_key, 3)) == ("rejected", "not_newer")
    assert ledger.voucher_keys_version() == 4


def test_the_retained_voucher_key_directory_again_is_current(handler_for, hq_key):
    handler, _ = handler_for()
    raw = _voucher_keys(hq_key, 4)
    handler.handle("voucher_keys", Scope.fleet(), raw)
    assert outcome(handler, "voucher_keys", raw) == ("current", None)


def test_voucher_keys_have_their_own_version_line(handler_for, hq_key):
    handler, _ = handler_for()
    handler.handle("rules", Scope.fleet(), rules(hq_key, 9))
    assert outcome(handler, "voucher_keys", _voucher_keys(hq_key, 1)) == ("applied", None)


# --- over the broker -------------------------------------------------------------------------

NOW = dt.datetime.now(dt.UTC)
OTHER_KEY = Ed25519PrivateKey.generate()


def _unsigned(key):
    body = json.loads(rules(key, 9))
    del body["sig"]
    return dumps(body)


BAD_PUSHES = {
    # reason: (topic under {p}/hq/, builder(hq_key) -> bytes)
    "malformed": ("fleet/rules", lambda k: b"{not json"),
    "unsigned": ("fleet/rules", _unsigned),
    "unknown_key": ("fleet/rules", lambda k: rules(OTHER_KEY, 9)),
    "bad_signature": ("fleet/rules", lambda k: rules(k, 9).replace(b'"version":9', b'"version":10')),
    "wrong_scope": ("store/S01/rules", lambda k: rules(k, 9)),
    "expired": ("fleet/rules", lambda k: rules(k, 9, now=NOW - dt.timedelta(days=3))),
    "not_yet_valid": ("fleet/rules", lambda k: rules(k, 9, now=NOW + dt.timedelta(days=3))),
    "unexpected_type": ("fleet/denylist", lambda k: rules(k, 9)),
    "not_newer": ("fleet/rules", lambda k: rules(k, 2)),
    "invalid_payload": ("fleet/rules", lambda k: signed(k, "rules", 9, {"document": {}})),
    "oversized": ("fleet/rules", lambda k: b" " * (64 * 1024 + 1)),
    "unexpected_topic": ("fleet/firmware", lambda k: rules(k, 9)),
}


@pytest.mark.integration
def test_every_kind_of_bad_push_is_answered_with_its_reason(
    broker, open_ledger, start_link, start_listener, hq_key, tmp_path
):
    # HQ publishes each bad push -> the kiosk rejects it -> HQ's store holds a push-ack per push,
    # in order, each with its reason; the kiosk's rules stay at version 3 throughout.
    from tests.sync.conftest import seeded_ledger

    ledger = seeded_ledger(open_ledger)
    ledger.apply_rules(3, demo_rules())
    start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port, max_push_bytes=64 * 1024)
    wait_until(lambda: link.online, what="link online")
    hq = MqttClient(ConnectionSettings("hq-pub", broker.host, broker.port))
    hq.start()
    assert hq.wait_connected(10)
    for topic, build in BAD_PUSHES.values():
        hq.publish_and_wait(f"{PREFIX}/hq/{topic}", build(hq_key), qos=1)
    hq.stop()
    store = HqStore(tmp_path / "hq.sqlite")
    acks = wait_until(
        lambda: len(store.push_acks("K001")) >= len(BAD_PUSHES) and store.push_acks("K001"), what="push acks"
    )
    assert [(a["status"], a["reason"]) for a in acks] == [("rejected", r) for r in BAD_PUSHES]
    # A fresh connection: the Ledger object caches its rules, the link writes through its own.
    assert open_ledger("K001").rules_version() == 3 and link.online


@pytest.mark.integration
def test_a_good_retained_push_is_applied_and_acked(broker, open_ledger, start_link, start_listener, hq_key, tmp_path):
    from sync.hq.publisher import publish_envelope, sign_next
    from tests.sync.conftest import seeded_ledger

    seeded_ledger(open_ledger)
    hq_store = HqStore(tmp_path / "hq-versions.sqlite")
    envelope = sign_next(
        hq_store,
        hq_key,
        doc_type="rules",
        scope=Scope.store(STORE),
        payload={"document": demo_rules()},
        now=NOW,
        validity=dt.timedelta(days=1),
        version=7,
    )
    hq = MqttClient(ConnectionSettings("hq-pub", broker.host, broker.port))
    hq.start()
    assert hq.wait_connected(10)
    publish_envelope(hq, HqTopics(PREFIX), envelope)  # retained, before the kiosk is even up
    hq.stop()
    start_listener(broker.host, broker.port)
    start_link(broker.host, broker.port)
    store = HqStore(tmp_path / "hq.sqlite")
    acks = wait_until(lambda: store.push_acks("K001"), what="push ack")
    assert (acks[0]["type"], acks[0]["version"], acks[0]["status"]) == ("rules", 7, "applied")
    assert open_ledger("K001").rules_version() == 7
