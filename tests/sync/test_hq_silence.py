"""A kiosk connected to the broker is online only while HQ acknowledges what it is sent.

If HQ's consumer is down (or HQ's own link is broken) the broker still takes the kiosk's events,
so "connected" alone would let redemptions count as online, skipping the offline limits, for as
long as HQ stays silent. The relay's ack timeout is the evidence: online turns false then, and
true again with HQ's next ack.
"""

from __future__ import annotations

import pytest

from kiosk.ledger import Ledger
from sync.acks import AckedEvent
from sync.relay import OutboxRelay
from tests.sync.conftest import seeded_ledger, wait_until


class _Monotonic:
    """The relay's clock, moved by hand (now() is only used for the connection time)."""

    def __init__(self, clock) -> None:
        self._clock = clock
        self.t = 1000.0

    def now(self):
        return self._clock.now()

    def monotonic(self) -> float:
        return self.t


def _relay(ledger, clock, sent: list) -> OutboxRelay:
    return OutboxRelay(
        outbox=ledger,
        publish=lambda topic, payload: sent.append(payload),
        topic="acme/kiosk/kiosk/K001/events",
        device_id="K001",
        clock=clock,
        window=10,
        ack_timeout_s=30.0,
    )


def test_the_relay_takes_hq_as_answering_until_an_ack_timeout(open_ledger, clock):
    ledger = seeded_ledger(open_ledger)
    ledger.record_security_event("test_event", b"\x01\x02\x03\x04", {"n": 1})
    fake = _Monotonic(clock)
    sent: list[bytes] = []
    relay = _relay(ledger, fake, sent)
    relay.connected()
    relay.pump()
    assert sent and relay.hq_answering
    fake.t += 29.9
    relay.check_timeout()
    assert relay.hq_answering  # still within the ack timeout
    fake.t += 0.2
    relay.check_timeout()
    assert not relay.hq_answering


def _silent_relay(open_ledger, clock) -> tuple[OutboxRelay, Ledger]:
    """A relay that sent one event and waited past the ack timeout: HQ taken as silent."""
    ledger = seeded_ledger(open_ledger)
    ledger.record_security_event("test_event", b"\x01\x02\x03\x04", {"n": 1})
    fake = _Monotonic(clock)
    relay = _relay(ledger, fake, [])
    relay.connected()
    relay.pump()
    fake.t += 31
    relay.check_timeout()
    assert not relay.hq_answering
    return relay, ledger


def test_the_next_ack_tells_the_relay_hq_answers_again(open_ledger, clock):
    relay, ledger = _silent_relay(open_ledger, clock)
    relay.pump()  # resent from the head of the outbox
    relay.acked([AckedEvent(event.seq, event.event_id) for event in ledger.outbox_pending(10)])
    assert relay.hq_answering and ledger.outbox_depth() == 0


def test_a_replayed_ack_for_events_long_gone_is_no_sign_of_hq(open_ledger, clock):
    relay, ledger = _silent_relay(open_ledger, clock)
    relay.acked([AckedEvent(999, "e-acked-last-week")])
    assert not relay.hq_answering


def test_an_ack_with_another_seq_than_the_event_was_sent_with_deletes_nothing(open_ledger, clock):
    relay, ledger = _silent_relay(open_ledger, clock)
    relay.pump()
    (sent,) = ledger.outbox_pending(10)
    relay.acked([AckedEvent(sent.seq + 1, sent.event_id)])
    assert ledger.outbox_depth() == 1 and not relay.hq_answering


def test_an_empty_ack_is_no_sign_of_hq(open_ledger, clock):
    relay, _ = _silent_relay(open_ledger, clock)
    relay.acked([])
    assert not relay.hq_answering


@pytest.mark.integration
def test_a_connected_kiosk_that_hq_does_not_acknowledge_goes_offline_until_hq_answers(
    broker, open_ledger, start_link, start_listener
):
    # no HQ consumer: the broker takes the event, nobody acks -> offline while still connected
    # -> HQ's consumer starts -> the relay's next resend is acked -> online again
    ledger = seeded_ledger(open_ledger)
    changes: list[bool] = []
    link = start_link(broker.host, broker.port, ack_timeout_s=1.0, on_online_change=changes.append)
    wait_until(lambda: link.online, what="link online")
    ledger.record_security_event("test_event", b"\x01\x02\x03\x04", {"n": 1})
    link.notify_outbox()
    wait_until(lambda: not link.online, timeout=10, what="link notices HQ's silence")
    assert link._client.connected  # the broker connection itself never dropped
    assert ledger.outbox_depth() == 1
    start_listener(broker.host, broker.port)
    wait_until(lambda: link.online and ledger.outbox_depth() == 0, timeout=20, what="HQ answers again")
    assert changes == [True, False, True]


def test_an_ack_for_a_queued_event_under_another_seq_deletes_nothing(open_ledger, clock):
    ledger = seeded_ledger(open_ledger)
    ledger.record_security_event("test_event", b"\x01\x02\x03\x04", {"n": 1})
    relay = _relay(ledger, _Monotonic(clock), [])  # never pumped: the event was never sent
    (queued,) = ledger.outbox_pending(10)
    assert relay.acked([AckedEvent(queued.seq + 7, queued.event_id)]) == 0
    assert ledger.outbox_depth() == 1
    assert relay.acked([AckedEvent(queued.seq, queued.event_id)]) == 1
