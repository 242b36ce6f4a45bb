"""bench.forger forges what it says it forges: every ack and command it makes is refused by the
kiosk's own checks for the reason its kind names, and HQ's genuine commands pass them.

Also the bookkeeping the chaos figures rest on: telemetry counters summed across kiosk restarts,
and what HQ's database says about the forgeries (tests/bench/test_chaos.py runs the real thing).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.chaos import forgery_report
from bench.forger import FORGED_ID_PREFIX, FORGERY_KINDS, TelemetryTally, forged_ack, forged_command
from sync.acks import AckedEvent, verify_event_ack
from sync.commands import sign_command, verify_command
from sync.envelope import EnvelopeVerifier
from sync.errors import PushRejected
from sync.hq.store import HqStore
from sync.signing import TrustedKeys, key_id
from sync.topics import Scope

DEVICE, STORE = "K1", "S1"
HQ = Ed25519PrivateKey.generate()
FORGER = Ed25519PrivateKey.generate()
HQ_KEY_ID = key_id(HQ.public_key())


def _raw(body: dict) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize("kind", FORGERY_KINDS)
def test_a_forged_ack_is_refused_for_the_reason_its_kind_names(kind):
    body = forged_ack(kind, FORGER, HQ_KEY_ID, DEVICE, [AckedEvent(1, "e1")])
    with pytest.raises(PushRejected) as refused:
        verify_event_ack(_raw(body), keys=TrustedKeys([HQ.public_key()]), device_id=DEVICE)
    assert refused.value.reason == kind


@pytest.mark.parametrize("kind", FORGERY_KINDS)
@pytest.mark.parametrize("scope", [Scope.fleet(), Scope.store(STORE), Scope.device(DEVICE)])
def test_a_forged_command_is_refused_for_the_reason_its_kind_names(kind, scope):
    body = forged_command(kind, FORGER, HQ_KEY_ID, scope)
    assert body["id"].startswith(FORGED_ID_PREFIX)
    verifier = EnvelopeVerifier([HQ.public_key()], device_id=DEVICE, store_id=STORE)
    with pytest.raises(PushRejected) as refused:
        verify_command(_raw(body), retained=False, verifier=verifier, topic_scope=scope, now=dt.datetime.now(dt.UTC))
    assert refused.value.reason == kind


def test_a_genuine_command_passes_unless_it_comes_retained():
    scope = Scope.device(DEVICE)
    body = sign_command(
        HQ, command="request_telemetry", command_id="hq-1", scope=scope, issued_at=dt.datetime.now(dt.UTC)
    )
    verifier = EnvelopeVerifier([HQ.public_key()], device_id=DEVICE, store_id=STORE)
    now = dt.datetime.now(dt.UTC)
    assert verify_command(_raw(body), retained=False, verifier=verifier, topic_scope=scope, now=now).id == "hq-1"
    with pytest.raises(PushRejected) as refused:
        verify_command(_raw(body), retained=True, verifier=verifier, topic_scope=scope, now=now)
    assert refused.value.reason == "retained"


def _telemetry(uptime: int, **link: int) -> dict:
    return {"device_id": DEVICE, "uptime_s": uptime, "link": link}


def test_the_tally_adds_up_counters_across_restarts_and_ignores_repeats():
    tally = TelemetryTally()
    tally.observe(_telemetry(10, unverified_acks=2, refused_commands=1))
    tally.observe(_telemetry(20, unverified_acks=5, refused_commands=1))
    tally.observe(_telemetry(20, unverified_acks=5, refused_commands=1))  # the retained copy again
    tally.observe(_telemetry(3, unverified_acks=1, refused_commands=0))  # a new process
    tally.observe({"device_id": DEVICE})  # not telemetry of ours
    assert tally.totals() == {"unverified_acks": 6, "refused_commands": 1}


def test_forgery_report_reads_command_answers_and_security_events_from_hqs_database(tmp_path):
    path = tmp_path / "hq.db"
    HqStore(path).close()
    conn = sqlite3.connect(path)
    with conn:
        answers = [
            ("applied", None, "hq-1"),
            ("applied", None, f"{FORGED_ID_PREFIX}abc"),  # a forgery the kiosk believed
            ("rejected", "retained", None),
            ("rejected", "unsigned", None),
        ]
        conn.executemany(
            "INSERT INTO push_acks(device_id, type, status, reason, detail, received_at) "
            "VALUES ('K1', 'command', ?, ?, ?, '2026-12-03T10:00:00+00:00')",
            answers,
        )
        detail = {"detail": {"reason": "unsigned", "suppressed_since_last": 7}}
        conn.execute(
            "INSERT INTO events VALUES ('K1', 1, 'e1', 'security.unverified_ack', '2026-12-03T10:00:00+00:00', "
            "0, 0, ?, '2026-12-03T10:00:01+00:00')",
            (json.dumps(detail),),
        )
    conn.close()
    report = forgery_report(path)
    assert report["forged_commands_applied"] == 1
    assert report["command_answers_at_hq"] == {"applied": 2, "rejected:retained": 1, "rejected:unsigned": 1}
    assert report["security_events_at_hq"] == {"security.unverified_ack": 1}
    assert report["security_events_suppressed_at_hq"] == {"security.unverified_ack": 7}
