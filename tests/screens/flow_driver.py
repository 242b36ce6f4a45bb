"""Test-only scaffolding for the UI flows: answers intents and reader events with the next
`UiState`, built from fixed `kiosk.model` objects.

This is NOT the kiosk's session logic. The real state machine lives in kiosk/session.py (reader
events, ledger, card writes, timeouts); this stand-in exists so the UI layer can be driven through
whole flows on its own. It keeps just enough rules to make the flows meaningful: points go down on
a redemption, a redemption intent is honoured once, and inactivity returns to idle on a monotonic
clock injected by the test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from kiosk.model import MemberView
from kiosk.ui_state import (
    Back,
    ChooseReward,
    Confirm,
    ConfirmRedeem,
    Done,
    Idle,
    Intent,
    MemberHome,
    MyVouchers,
    OpenRewards,
    OpenVouchers,
    Reading,
    Rewards,
    Scroll,
    ToggleLocale,
    UiState,
    VoucherIssued,
)
from screens import samples


class FlowDriver:
    def __init__(self, monotonic: Callable[[], float], timeout_s: float = 30.0) -> None:
        self.monotonic = monotonic
        self.timeout_s = timeout_s
        self.state: UiState = Idle(store_name=samples.STORE_NAME, online=True)
        self.member: MemberView = samples.member()
        self.redeemed: list[str] = []
        self.last_activity = monotonic()
        self._intent_serial = 0

    def _go(self, state: UiState) -> UiState:
        self.state = state
        self.last_activity = self.monotonic()
        return state

    # reader events: "presented" (card in the field) then "read" (verified member)
    def on_reader_event(self, payload: object) -> UiState | None:
        if payload == "presented":
            return self._go(Reading())
        if payload == "read":
            self.member = samples.member()
            return self._go(MemberHome(member=self.member, online=True))
        return None

    def on_intent(self, intent: Intent) -> UiState | None:
        self.last_activity = self.monotonic()
        state = self.state
        if isinstance(intent, (Scroll, ToggleLocale)):
            return None
        if isinstance(intent, Done):
            return self._go(Idle(store_name=samples.STORE_NAME, online=True))
        if isinstance(intent, OpenRewards):
            return self._go(Rewards(member=self.member, options=samples.reward_options(), online=True))
        if isinstance(intent, OpenVouchers):
            return self._go(MyVouchers(member=self.member, vouchers=samples.my_vouchers(), online=True))
        if isinstance(intent, ChooseReward) and isinstance(state, Rewards):
            option = next(o for o in state.options if o.reward_id == intent.reward_id)
            self._intent_serial += 1
            return self._go(
                Confirm(
                    member=self.member,
                    option=option,
                    points_after=self.member.points - option.cost_points,
                    intent_id=f"I-{self._intent_serial:04d}",
                    online=True,
                )
            )
        if isinstance(intent, ConfirmRedeem) and isinstance(state, Confirm):
            if intent.intent_id not in self.redeemed:
                self.redeemed.append(intent.intent_id)
                self.member = replace(self.member, points=state.points_after)
            return self._go(VoucherIssued(member=self.member, voucher=samples.voucher(), online=True))
        if isinstance(intent, Back):
            if isinstance(state, Confirm):
                return self.on_intent(OpenRewards())
            return self._go(MemberHome(member=self.member, online=True))
        return None

    def on_tick(self, now: float) -> UiState | None:
        if not isinstance(self.state, Idle) and now - self.last_activity >= self.timeout_s:
            return self._go(Idle(store_name=samples.STORE_NAME, online=True))
        return None
