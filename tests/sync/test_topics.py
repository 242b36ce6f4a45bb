"""Topic names of the contract, and how the kiosk and HQ classify the topics they receive."""

import pytest

from sync.errors import TopicError
from sync.topics import RETAINED_DOCUMENTS, HqTopics, Inbound, KioskTopics, Scope

K = KioskTopics("acme/kiosk", "K001", "S01")
HQ = HqTopics("acme/kiosk")


def test_kiosk_publishes_under_its_own_device_id():
    assert (K.status, K.events, K.telemetry, K.push_ack) == (
        "acme/kiosk/kiosk/K001/status",
        "acme/kiosk/kiosk/K001/events",
        "acme/kiosk/kiosk/K001/telemetry",
        "acme/kiosk/kiosk/K001/push-ack",
    )


def test_kiosk_subscribes_to_fleet_its_store_and_itself():
    assert K.subscriptions() == ["acme/kiosk/hq/fleet/#", "acme/kiosk/hq/store/S01/#", "acme/kiosk/hq/device/K001/#"]


@pytest.mark.parametrize(
    "doc_type", ["rules", "members", "members_update", "denylist", "denylist_delta", "voucher_keys"]
)
@pytest.mark.parametrize("scope", [Scope.fleet(), Scope.store("S01"), Scope.device("K001")])
def test_what_hq_publishes_the_kiosk_parses_back(doc_type, scope):
    assert K.parse(HQ.document(doc_type, scope)) == Inbound("document", scope, doc_type)


def test_the_voucher_key_directory_is_a_retained_fleet_document():
    assert HQ.document("voucher_keys", Scope.fleet()) == "acme/kiosk/hq/fleet/voucher-keys"
    assert "voucher_keys" in RETAINED_DOCUMENTS


@pytest.mark.parametrize(
    "topic, expected",
    [
        ("acme/kiosk/hq/device/K001/ack", Inbound("ack", Scope.device("K001"))),
        ("acme/kiosk/hq/fleet/cmd", Inbound("cmd", Scope.fleet())),
        ("acme/kiosk/hq/store/S01/cmd", Inbound("cmd", Scope.store("S01"))),
    ],
)
def test_acks_and_commands_are_classified(topic, expected):
    assert K.parse(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "acme/kiosk/hq/store/S02/rules",  # another store
        "acme/kiosk/hq/device/K002/ack",  # another kiosk
        "acme/kiosk/hq/fleet/ack",  # acks are per device
        "acme/kiosk/hq/fleet/firmware",  # unknown document
        "acme/kiosk/hq/fleet/rules/extra",  # wrong depth
        "other/hq/fleet/rules",  # other prefix
        "acme/kiosk/hq/planet/rules",  # unknown scope kind
    ],
)
def test_topics_outside_the_contract_are_refused(topic):
    with pytest.raises(TopicError):
        K.parse(topic)


@pytest.mark.parametrize("prefix", ["", "/acme", "acme/", "acme//k", "acme/+", "acme/#", "$SYS"])
def test_bad_prefixes_are_refused(prefix):
    with pytest.raises(TopicError):
        KioskTopics(prefix, "K001", "S01")


@pytest.mark.parametrize("device_id", ["", "K/1", "K+", "K#", "K 1", "x" * 65])
def test_ids_that_would_break_topics_or_acls_are_refused(device_id):
    with pytest.raises(TopicError):
        KioskTopics("acme", device_id, "S01")


def test_hq_reads_events_through_a_shared_subscription():
    assert HQ.events_shared == "$share/hq/acme/kiosk/kiosk/+/events"


@pytest.mark.parametrize(
    "topic, expected",
    [
        ("acme/kiosk/kiosk/K9/events", ("K9", "events")),
        ("acme/kiosk/kiosk/K9/push-ack", ("K9", "push-ack")),
    ],
)
def test_hq_parses_kiosk_topics(topic, expected):
    assert HQ.parse_kiosk(topic) == expected


@pytest.mark.parametrize("topic", ["acme/kiosk/kiosk/K9/other", "acme/kiosk/hq/fleet/rules", "acme/kiosk/kiosk/K9"])
def test_hq_refuses_topics_that_are_not_kiosk_topics(topic):
    with pytest.raises(TopicError):
        HQ.parse_kiosk(topic)
