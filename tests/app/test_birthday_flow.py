"""The birthday gift (生日礼) through the wired kiosk and the real screens, driven by synthetic
touches: on the member's birthday the banner is a "claim" button; a touch issues the gift as a
signed voucher on the voucher screen and a `birthday_gift` event; back on the member screen the
banner is a greeting again and offers no second gift.

Real ledger, card code, `KioskService` and `Session` (tests/app/inline_kiosk.py) under the real
`KioskUI` and `UiLoop` (SDL dummy driver); only the clock and the touches are the test's.
"""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.emulator.cards import MifareClassic1K
from kiosk.cards.personalize import personalize
from kiosk.ledger import Ledger, OfflineLimits
from kiosk.ledger.demo import DEMO_CARDS, seed_demo
from kiosk.ui_state import MemberHome, VoucherIssued
from screens.member import GIFT_KEY
from tests.app.flow import touch, ui_under_loop
from tests.app.inline_kiosk import InlineKiosk
from tests.app.test_history_flow import KEYS, NOW, TZ, FixedClock
from tests.cards.reader import FAULTS, Reader

BIRTHDAY_CARD = next(card for card in DEMO_CARDS if card.member_id == "M0002")  # birthday today


@pytest.fixture
def kiosk(tmp_path):
    ledger = Ledger.open(
        tmp_path / "ledger.db", device_id="kiosk-t", clock=FixedClock(), tz=TZ,
        voucher_key=Ed25519PrivateKey.generate(),
        offline_limits=OfflineLimits(points_per_day=100_000, redemptions_per_day=1_000),
    )  # fmt: skip
    seed_demo(ledger, NOW)
    card = MifareClassic1K(BIRTHDAY_CARD.uid)
    personalize(Reader().present(card), KEYS, BIRTHDAY_CARD.member_id, BIRTHDAY_CARD.issue_no, FAULTS)
    yield InlineKiosk(ledger, KEYS, card)
    ledger.close()


def test_the_birthday_banner_claims_the_gift_once(kiosk):
    ui, loop, monotonic = ui_under_loop(kiosk, locale="zh_CN", tz=TZ, now=FixedClock().now)
    kiosk.session.set_online(True)
    assert isinstance(kiosk.tap(), MemberHome)
    ui.show(kiosk.session.state)
    gift = ui.state.member.birthday_gift
    assert gift is not None and not gift.claimed

    touch(ui, loop, monotonic, ui.button(GIFT_KEY).rect.center)
    assert isinstance(ui.state, VoucherIssued)
    assert ui.state.voucher.value_fen == 3000 and ui.state.voucher.reward_name["en"] == "Birthday cake voucher"
    (event,) = [e for e in kiosk.ledger.outbox_pending(100) if e.type == "birthday_gift"]
    assert event.payload["voucher"]["voucher_id"] == ui.state.voucher.voucher_id

    touch(ui, loop, monotonic, ui.button("back").rect.center)
    assert isinstance(ui.state, MemberHome) and ui.state.member.birthday_gift.claimed
    assert GIFT_KEY not in [b.key for b in ui.screen.buttons]
