"""The till agent against HQ's real app over HTTP: single use online, retries that keep their request
id, offline acceptance within its bounds and what replay makes of it, and the signed key directory
the offline check trusts. Each test names one behaviour; "HQ down" is a port nobody listens on."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kiosk.ledger.vouchers import parse_voucher_code
from sync.envelope import sign_envelope
from sync.topics import Scope
from tests.tillagent.conftest import HQ_KEY
from tests.tillagent.world import Hq, Proxy, dead_url, raw_b64
from tillagent.errors import DirectoryProblem
from tillagent.journal import Journal, State

pytestmark = pytest.mark.integration


def vid(code: str) -> str:
    return parse_voucher_code(code).voucher_id


def offline_till(hq: Hq, till_id: str = "T1", **settings):
    """A till that fetched the key directory while HQ was reachable, then lost HQ."""
    online = hq.till(till_id, **settings)
    online.fetch_keys()
    online.close()
    return hq.till(till_id, url=dead_url(), **settings)


# --- online: HQ decides ------------------------------------------------------------------------


def test_a_voucher_written_off_at_one_till_is_refused_at_another_naming_the_first(hq_on_both: Hq):
    hq = hq_on_both
    code = hq.voucher(1)
    first = hq.till("T1").consume(code, "A-1")
    assert (first.ok, first.verdict, first.mode, first.voucher_id) == (True, "written_off", "online", vid(code))
    second = hq.till("T2").consume(code, "B-1")
    assert (second.ok, second.error) == (False, "already_used")
    assert "already used at till T1" in second.message and second.used["order_no"] == "A-1"
    assert hq.history(vid(code)).count("used") == 1


def test_the_same_voucher_and_order_asked_again_gets_the_first_answer_without_a_second_write_off(hq: Hq):
    till = hq.till()
    code = hq.voucher(2)
    first = till.consume(code, "A-1")
    again = till.consume(code, "A-1")
    assert (again.ok, again.verdict, again.replayed, again.request_id) == (True, "repeat", True, first.request_id)
    assert hq.history(vid(code)).count("used") == 1


def test_a_lost_answer_retried_for_the_same_order_reuses_its_request_id_and_is_written_off_once(hq: Hq, proxy: Proxy):
    # HQ commits, the answer is lost; offline the voucher is too dear (in doubt, refused); the cashier
    # scans again when HQ answers: HQ recognises the request id and gives its first answer.
    till = hq.till(url=proxy.url)
    till.fetch_keys()
    code = hq.voucher(3, value_fen=8_000)
    proxy.lose_answers = True
    lost = till.consume(code, "A-1")
    assert (lost.ok, lost.error, lost.mode) == (False, "offline_max_value", "offline")
    assert till.journal.get(lost.request_id).state is State.IN_DOUBT
    proxy.lose_answers = False
    retried = till.consume(code, "A-1")
    assert (retried.ok, retried.verdict, retried.request_id, retried.replayed) == (
        True, "written_off", lost.request_id, True,
    )  # fmt: skip
    assert hq.history(vid(code)).count("used") == 1


def test_an_offline_acceptance_after_a_lost_answer_is_confirmed_at_replay_not_doubled(hq: Hq, proxy: Proxy):
    till = hq.till(url=proxy.url)
    till.fetch_keys()
    code = hq.voucher(4)
    proxy.lose_answers = True
    accepted = till.consume(code, "A-1")
    assert (accepted.ok, accepted.verdict) == (True, "accepted_offline")
    proxy.lose_answers = False
    report = till.replay()
    assert (report.confirmed, report.double_use_detected, report.still_pending) == (1, 0, 0)
    assert hq.history(vid(code)).count("used") == 1 and hq.alarms("offline_double_use") == []


def test_an_answer_later_than_the_timeout_leaves_one_write_off_at_hq_after_replay(hq: Hq, proxy: Proxy):
    # HQ commits at once but answers after the till gave up: the till accepts offline under the same
    # request id, and replay finds HQ's write-off instead of making a second one.
    till = hq.till(url=proxy.url, timeout_s=0.3)
    till.fetch_keys()
    code = hq.voucher(6)
    proxy.delay_s = 0.6
    timed_out = till.consume(code, "A-1")
    assert (timed_out.verdict, till.journal.get(timed_out.request_id).online_sent) == ("accepted_offline", True)
    proxy.delay_s = 0
    assert till.replay().confirmed == 1
    assert hq.history(vid(code)).count("used") == 1 and hq.alarms("offline_double_use") == []


def test_hq_answering_503_counts_as_unreachable_and_the_attempt_as_never_received(hq: Hq, proxy: Proxy):
    till = hq.till(url=proxy.url)
    till.fetch_keys()
    proxy.status = 503
    accepted = till.consume(hq.voucher(7), "A-1")
    assert (accepted.verdict, till.journal.get(accepted.request_id).online_sent) == ("accepted_offline", False)


def test_a_write_off_hq_made_while_the_pos_was_told_refused_is_reversed_at_replay(hq: Hq, proxy: Proxy):
    till = hq.till(url=proxy.url)
    till.fetch_keys()
    code = hq.voucher(5, value_fen=8_000)
    proxy.lose_answers = True
    assert not till.consume(code, "A-1").ok
    proxy.lose_answers = False
    report = till.replay()
    assert (report.reversed, report.still_in_doubt) == (1, 0)
    assert hq.status(vid(code))["verdict"] == "valid" and hq.history(vid(code))[-1] == "reversed"


# --- offline: bounded, journaled, replayed -------------------------------------------------------


def test_an_offline_acceptance_survives_reopening_and_replay_confirms_it_when_hq_is_back(hq: Hq):
    till = offline_till(hq)
    code = hq.voucher(10)
    accepted = till.consume(code, "A-1")
    assert (accepted.ok, accepted.verdict, accepted.mode) == (True, "accepted_offline", "offline")
    till.close()
    journal = Journal(hq.folder / "T1.sqlite")
    (pending,) = journal.in_states(State.PENDING_REPLAY)
    assert (pending.request_id, pending.voucher_id, pending.order_no) == (accepted.request_id, vid(code), "A-1")
    journal.close()
    report = hq.till().replay()
    assert (report.confirmed, report.still_pending) == (1, 0)
    used = hq.status(vid(code))["used"]
    assert (used["till_id"], used["order_no"], used["offline"]) == ("T1", "A-1", True)
    assert dt.datetime.fromisoformat(used["at"]) == pending.accepted_at


def test_one_voucher_accepted_offline_at_two_tills_is_confirmed_once_and_alarmed_once(hq_on_both: Hq):
    hq = hq_on_both
    code = hq.voucher(11)
    assert offline_till(hq, "T1").consume(code, "A-1").ok
    assert offline_till(hq, "T2").consume(code, "B-1").ok
    first, second = hq.till("T1").replay(), hq.till("T2").replay()
    assert (first.confirmed, first.double_use_detected) == (1, 0)
    assert (second.confirmed, second.double_use_detected) == (0, 1)
    (alarm,) = hq.alarms("offline_double_use")
    assert alarm["subject"] == vid(code) and "T1" in alarm["detail"] and "T2" in alarm["detail"]
    (entry,) = Journal(hq.folder / "T2.sqlite").in_states(State.DOUBLE_USE_DETECTED)
    assert "already used at till T1" in (entry.message or "")


def test_offline_the_voucher_that_would_pass_the_daily_cap_is_refused(hq: Hq):
    till = offline_till(hq, offline_daily_cap_fen=2_500)
    assert till.consume(hq.voucher(20, 1_000), "A-1").ok
    assert till.consume(hq.voucher(21, 1_000), "A-2").ok
    refused = till.consume(hq.voucher(22, 1_000), "A-3")
    assert (refused.ok, refused.error) == (False, "offline_daily_cap")
    assert till.consume(hq.voucher(23, 500), "A-4").ok  # exactly up to the cap
    assert till.status()["offline_today_fen"] == 2_500


def test_offline_a_voucher_worth_more_than_the_per_voucher_cap_is_refused(hq: Hq):
    till = offline_till(hq, offline_max_value_fen=5_000)
    refused = till.consume(hq.voucher(30, 5_001), "A-1")
    assert (refused.ok, refused.error) == (False, "offline_max_value")
    assert till.consume(hq.voucher(31, 5_000), "A-2").ok


def test_offline_a_voucher_this_till_already_holds_is_refused_for_another_order(hq: Hq):
    till = offline_till(hq)
    code = hq.voucher(32)
    assert till.consume(code, "A-1").ok
    refused = till.consume(code, "A-2")
    assert (refused.ok, refused.error) == (False, "already_journaled") and "order A-1" in refused.message


def test_offline_a_forged_or_edited_code_is_refused(hq: Hq):
    till = offline_till(hq)
    forged = hq.voucher(40, key=Ed25519PrivateKey.generate())
    genuine = hq.voucher(41)
    middle = len(genuine) // 2
    edited = genuine[:middle] + ("A" if genuine[middle] != "A" else "B") + genuine[middle + 1 :]
    for code in (forged, edited):
        refused = till.consume(code, "A-1")
        assert (refused.ok, refused.mode) == (False, "offline") and refused.error in ("bad_signature", "invalid")
    assert till.status()["pending"] == []


def test_offline_a_voucher_of_a_revoked_key_is_refused_once_the_new_directory_is_fetched(hq: Hq):
    code = hq.voucher(42)
    hq.revoke_kiosk()
    refused = offline_till(hq).consume(code, "A-1")  # offline_till fetches the keys first
    assert (refused.ok, refused.error) == (False, "revoked_key")


def test_a_typed_short_code_cannot_be_written_off_offline(hq: Hq):
    refused = offline_till(hq).consume("K7QM-3XPA", "A-1")
    assert (refused.ok, refused.error) == (False, "offline_short_code")


# --- the signed key directory --------------------------------------------------------------------


def test_a_cached_directory_whose_hq_signature_no_longer_verifies_is_not_used(hq: Hq):
    # Someone with write access to the journal adds a key of their own to the cached directory.
    till = offline_till(hq)
    thief = Ed25519PrivateKey.generate()
    raw, version, fetched_at = till.journal.cached_directory()
    document = json.loads(raw)
    document["payload"]["keys"].append(
        {"device_id": "evil", "store_id": "S1", "public_key": raw_b64(thief), "valid_from": "2020-01-01T00:00:00Z",
         "valid_until": None, "revoked_at": None, "reason": None}
    )  # fmt: skip
    till.journal.save_directory(json.dumps(document).encode(), version, fetched_at)
    refused = till.consume(hq.voucher(50, device_id="evil", key=thief), "A-1")
    assert (refused.ok, refused.error) == (False, "no_key_directory") and "bad_signature" in refused.message


def test_a_directory_not_signed_by_the_configured_hq_key_is_refused_at_fetch(hq: Hq):
    stranger = Ed25519PrivateKey.generate().public_key()
    hq.public_pem = hq.folder / "other_hq.pem"
    hq.public_pem.write_bytes(stranger.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    with pytest.raises(DirectoryProblem, match="unknown_key"):
        hq.till().fetch_keys()


def test_a_fetched_directory_older_than_the_cached_one_is_refused(hq: Hq):
    # An old signed directory (from before a revocation) replayed to the till must not replace a newer one.
    till = hq.till()
    now = dt.datetime.now(dt.UTC)
    newer = sign_envelope(
        HQ_KEY, doc_type="voucher_keys", scope=Scope.fleet(), version=99, issued_at=now,
        not_after=now + dt.timedelta(days=1), payload={"keys": []},
    )  # fmt: skip
    till.journal.save_directory(json.dumps(newer).encode(), 99, now)
    with pytest.raises(DirectoryProblem, match="older than the cached version 99"):
        till.fetch_keys()


# --- lookup ------------------------------------------------------------------------------------


def test_lookup_offline_gives_the_directory_verdict_and_what_this_till_did(hq: Hq):
    till = offline_till(hq)
    code = hq.voucher(60)
    assert till.lookup(code).verdict == "valid"
    till.consume(code, "A-1")
    found = till.lookup(code)
    assert (found.verdict, found.source) == ("used", "offline") and "order A-1" in found.reason


def test_lookup_online_is_hqs_answer(hq: Hq):
    till = hq.till()
    code = hq.voucher(61)
    hq.till("T2").consume(code, "B-1")
    found = till.lookup(code)
    assert (found.verdict, found.source, found.used["till_id"]) == ("used", "hq", "T2")
