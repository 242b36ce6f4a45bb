"""A frozen broker (SIGSTOP) against the real HqLink, a real Mosquitto and the real Ledger's outbox.

Unlike a killed broker, a frozen one leaves every TCP connection open and the kernel still accepts
new ones: nothing fails, nothing answers. Only the MQTT keepalive can tell the kiosk that the link
is dead. These tests run with a 2 s keepalive and generous deadlines: they check what happens,
never how fast (that is bench.chaos's `freeze_broker` fault).
"""

from __future__ import annotations

import time

import pytest

from sync.hq.store import HqStore
from tests.sync.conftest import seeded_ledger, wait_until
from tests.sync.test_outages import assert_hq_has_exactly, write_events

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEEPALIVE_S = 2
#: Ample for paho to send its PINGREQ, wait one keepalive for the answer and give up (about
#: 2 x keepalive); only turns a link that never notices into a failure.
NOTICE_TIMEOUT_S = 30


def _ids(ledger) -> dict[int, str]:
    return {e.seq: e.event_id for e in ledger.outbox_pending(10_000)}


def test_link_notices_a_frozen_broker_and_delivers_what_was_recorded_meanwhile_once(
    broker, open_ledger, start_link, start_listener, tmp_path
):
    # link online, first events acked -> broker frozen -> events written while the link still
    # believes it is online (published into a socket no one reads) -> keepalive: link offline ->
    # more events offline -> thaw -> every event at HQ exactly once, outbox empty
    ledger = seeded_ledger(open_ledger)
    listener = start_listener(broker.host, broker.port)
    link = start_link(broker.host, broker.port, keepalive_s=KEEPALIVE_S)
    wait_until(lambda: link.online, what="link online")
    write_events(ledger, 5)
    ids = _ids(ledger)
    link.notify_outbox()
    wait_until(lambda: ledger.outbox_depth() == 0, what="first events acked")

    broker.freeze()
    write_events(ledger, 5, start=5)
    link.notify_outbox()
    wait_until(lambda: not link.online, timeout=NOTICE_TIMEOUT_S, what="link notices the frozen broker")
    write_events(ledger, 5, start=10)
    ids.update(_ids(ledger))
    time.sleep(3 * KEEPALIVE_S)  # connect attempts, each given up after a keepalive, pile up meanwhile
    assert ledger.outbox_depth() == 10, "nothing recorded during the freeze can have been acked"
    assert not link.online

    broker.thaw()
    wait_until(lambda: link.online, timeout=NOTICE_TIMEOUT_S, what="link back after the thaw")
    wait_until(lambda: ledger.outbox_depth() == 0, timeout=60, what="outbox drained after the thaw")
    store = HqStore(tmp_path / "hq.sqlite")
    assert_hq_has_exactly(store, ids)
    assert listener.stored == len(ids)
    # Connect attempts the link gave up on during the freeze reach the broker only now, each with the
    # kiosk's last will ("offline"); HQ's fleet view must still end with the kiosk online.
    wait_until(
        lambda: [d["state"] for d in store.devices()] == ["online"],
        timeout=NOTICE_TIMEOUT_S,
        what="HQ sees the kiosk online after the thaw",
    )


def test_link_started_against_a_frozen_broker_stays_offline_and_delivers_after_thaw(
    broker, open_ledger, start_link, start_listener, tmp_path
):
    # The TCP handshake succeeds (the kernel completes it) but CONNACK never comes: the link must
    # not report online, and must connect once the broker answers again.
    ledger = seeded_ledger(open_ledger)
    write_events(ledger, 5)
    ids = _ids(ledger)
    start_listener(broker.host, broker.port)
    broker.freeze()
    changes: list[bool] = []
    link = start_link(broker.host, broker.port, keepalive_s=KEEPALIVE_S, on_online_change=changes.append)
    time.sleep(3 * KEEPALIVE_S)  # a few connect attempts pile up in the frozen broker's accept queue
    assert changes == [] and ledger.outbox_depth() == len(ids)
    broker.thaw()
    wait_until(lambda: link.online, timeout=NOTICE_TIMEOUT_S, what="link online after the thaw")
    wait_until(lambda: ledger.outbox_depth() == 0, timeout=60, what="outbox drained after the thaw")
    assert_hq_has_exactly(HqStore(tmp_path / "hq.sqlite"), ids)


def test_link_stops_while_the_broker_is_frozen(broker, open_ledger, start_link):
    # systemd's SIGTERM can come while the broker hangs: stopping must not wait for answers that
    # never come (the worker's last step, reporting offline to the app, proves it finished).
    seeded_ledger(open_ledger)
    changes: list[bool] = []
    link = start_link(broker.host, broker.port, keepalive_s=KEEPALIVE_S, on_online_change=changes.append)
    wait_until(lambda: link.online, what="link online")
    broker.freeze()
    link.stop(timeout=60)
    assert changes == [True, False]
    assert not link.online


def test_frozen_broker_can_be_killed_and_started_again(broker, open_ledger, start_link):
    # The chaos suite's nemesis may SIGKILL or stop a broker it froze; neither may hang.
    seeded_ledger(open_ledger)
    link = start_link(broker.host, broker.port, keepalive_s=KEEPALIVE_S)
    wait_until(lambda: link.online, what="link online")
    broker.freeze()
    broker.kill()
    assert not broker.frozen
    wait_until(lambda: not link.online, timeout=NOTICE_TIMEOUT_S, what="link notices the killed broker")
    broker.start()
    wait_until(lambda: link.online, timeout=NOTICE_TIMEOUT_S, what="link back on the new broker")
    broker.freeze()  # the fixture's teardown stops a frozen broker
