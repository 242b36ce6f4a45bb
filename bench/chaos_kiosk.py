"""The kiosk bench.chaos runs: `kiosk run`, with the member features on the simulation control socket.

`python -m bench.chaos_kiosk run --config ...` is `python -m app run --config ...` except that the
control socket (app.sim_control) also takes the touches of the features whose events the chaos
suite audits besides redemptions, each the intent the touchscreen sends:
    {"cmd": "intent", "intent": "check_in"}          -> CheckIn (member screen)
    {"cmd": "intent", "intent": "claim_birthday_gift"} -> ClaimBirthdayGift (member screen)
    {"cmd": "intent", "intent": "open_wheel"}        -> OpenWheel (member screen)
    {"cmd": "intent", "intent": "spin"}              -> SpinWheel(the shown spin id)
    {"cmd": "intent", "intent": "pin", "pin": "2468"} -> PinDigit per digit, then PinSubmit
and its answers say what those screens show (check-in day, spin id and prize, keypad state, what
the member screen offers). Everything else is app.sim_control's, unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

from app import sim_control
from kiosk.ui_state import (
    CheckedIn,
    CheckIn,
    ClaimBirthdayGift,
    MemberHome,
    OpenWheel,
    PinDigit,
    PinEntry,
    PinSubmit,
    SpinWheel,
    WheelSpin,
)

_base_describe = sim_control.describe
_base_run_command = sim_control.run_command


def describe(state: Any) -> dict[str, Any]:
    out = _base_describe(state)
    if isinstance(state, MemberHome):
        member = state.member
        out["checked_in_today"] = None if member.checkin is None else member.checkin.checked_in_today
        gift = member.birthday_gift
        out["birthday_gift"] = None if gift is None else ("claimed" if gift.claimed else "open")
        out["can_spin"] = bool(member.wheel and member.wheel.can_spin)
    if isinstance(state, CheckedIn):
        out.update(checkin_day=state.result.day.isoformat(), checkin_points=state.result.points)
    if isinstance(state, WheelSpin):
        out.update(spin_id=state.spin_id, can_spin=state.status.can_spin, spin_reason=state.status.reason)
        if state.result is not None:
            result = state.result
            voucher = result.voucher.voucher_id if result.voucher is not None else None
            out.update(spun_id=result.spin_id, prize_id=result.prize_id, prize_voucher_id=voucher)
    if isinstance(state, PinEntry):
        out.update(intent_id=state.intent_id, pin_blocked=state.blocked, failures_left=state.failures_left)
    return out


def run_command(app: Any, command: dict[str, Any]) -> dict[str, Any]:
    name = command.get("intent") if command.get("cmd") == "intent" else None
    session = app.session
    if name == "check_in":
        session.handle(CheckIn())
    elif name == "claim_birthday_gift":
        session.handle(ClaimBirthdayGift())
    elif name == "open_wheel":
        session.handle(OpenWheel())
    elif name == "spin":
        state = session.state
        if not isinstance(state, WheelSpin):
            return {"ok": False, "error": "not on the wheel", **describe(state)}
        session.handle(SpinWheel(state.spin_id))
    elif name == "pin":
        pin = command.get("pin")
        if not isinstance(pin, str) or not pin.isdigit() or not isinstance(session.state, PinEntry):
            return {"ok": False, "error": "pin needs digits and the keypad", **describe(session.state)}
        for digit in pin:
            session.handle(PinDigit(int(digit)))
        session.handle(PinSubmit())
    else:
        return _base_run_command(app, command)
    app.reader_thread.activity()
    app.nudge_link()
    return describe(session.state)


def install() -> None:
    """Put the extended commands in place of app.sim_control's (its drain looks them up there)."""
    sim_control.describe = describe
    sim_control.run_command = run_command


def main(argv: list[str]) -> int:
    install()
    from app.cli.main import main as kiosk_main

    return kiosk_main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
