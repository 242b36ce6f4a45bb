"""The running kiosk: what `build_app` opened, and the main thread's periodic work over it.

Reader events reach the session here (on the main thread), the HQ link is nudged when the outbox
grew, and the STATUS line and telemetry are put together from the parts.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.clock_trust import ClockTrust, ClockVerdict
from app.journal import event_fields
from app.metrics import render_metrics, write_textfile
from app.notify import status_line
from app.package_state import PackageState
from app.version import software_version
from drivers.events import CardPresented, CardRemoved, ReaderEvent, ReaderHealthChanged, ReadFailed
from drivers.reader_service import ReaderService
from drivers.reader_thread import ReaderThread
from kiosk.cards.tap import TapOutcome
from kiosk.config import Config
from kiosk.ledger import Ledger
from kiosk.service import KioskService
from kiosk.session import Session
from kiosk.store_clock import StoreClock
from kiosk.ui_state import Notice, UiState, screen_name

if TYPE_CHECKING:  # loaded only when used: the emulator in simulation, paho with an HQ configured
    import pygame

    from app.simulation import SimulatedCards
    from screens.ui import KioskUI
    from sync.link import HqLink

_LOG = logging.getLogger(__name__)

#: How long a redemption interrupted by a pulled card waits for the card to come back.
PENDING_REDEMPTION_TTL = dt.timedelta(minutes=10)
STALE_CHECK_INTERVAL_S = 60.0


@dataclass
class KioskApp:
    """Everything `build_app` opened; `close()` releases it in reverse order."""

    config: Config
    clock: StoreClock
    ledger: Ledger
    reader: ReaderService[TapOutcome]
    reader_thread: ReaderThread[TapOutcome]
    reader_events: queue.Queue[ReaderEvent[TapOutcome]]
    service: KioskService
    session: Session
    simulation: SimulatedCards | None = None
    link: HqLink | None = None
    #: The clock-trust predicate the service got (app/clock_trust.py); None = always trusted.
    clock_trust: ClockTrust | None = None
    #: How this software was installed (dpkg), asked once at start.
    package: PackageState | None = None
    #: When the last card was read (any verdict), for telemetry and metrics.
    last_tap_at: dt.datetime | None = None
    #: Member id -> the keyed hash the journal may hold (app/journal.py); None logs no member.
    member_tag: Callable[[str], str] | None = None
    _outbox_depth: int = 0
    _outbox_checked: float = float("-inf")
    _stale_checked: float = float("-inf")
    _metrics_written: float = float("-inf")

    # --- reader events -> session (main thread) ------------------------------------------

    def drain_reader_events(self) -> None:
        applied = False
        while True:
            try:
                event = self.reader_events.get_nowait()
            except queue.Empty:
                break
            self._apply_reader_event(event)
            applied = True
        if applied:  # a tap may have written events (security, counters); an empty drain wrote none
            self.nudge_link()

    def _apply_reader_event(self, event: ReaderEvent[TapOutcome]) -> None:
        if isinstance(event, CardPresented):
            self.last_tap_at = self.clock.now()
            verdict = event.result.verdict
            member_id = getattr(verdict, "member_id", None)
            fields = event_fields(
                "tap",
                card_uid=event.uid,
                member=self.member_tag(member_id) if member_id and self.member_tag else None,
                verdict=type(verdict).__name__,
            )
            _LOG.info("card read: %s", type(verdict).__name__, extra={"kiosk": fields})
            self.session.card_read(event.result, event.uid)
        elif isinstance(event, CardRemoved):
            self.session.card_removed(event.uid)
        elif isinstance(event, ReadFailed):
            self.session.card_read_failed(event.reason)
        elif isinstance(event, ReaderHealthChanged):
            if event.state in ("ok", "failed"):
                self.session.reader_health(event.state == "ok", event.last_error or "")

    def kiosk_ui(self, surface: pygame.Surface) -> KioskUI:
        """The screens on `surface`, set up from config.display (the window, the panel or the scenario)."""
        from screens.fonts import find_cjk_font
        from screens.ui import KioskUI

        display = self.config.display
        return KioskUI(
            surface,
            locale=display.locale,
            tz=self.config.device.tz,
            font_path=find_cjk_font(display.font or None),
            clock=self.clock.now,
            rotation=display.rotation,
            px_per_mm=display.px_per_mm,
        )

    # --- periodic work --------------------------------------------------------------------

    @property
    def online(self) -> bool:
        """HQ is reachable right now (always False when hq.host is empty)."""
        return self.link is not None and self.link.online

    def tick(self) -> None:
        self.drain_reader_events()  # normally the reader's wake-up event got here first
        self.session.set_online(self.online)
        self.session.tick()
        now = time.monotonic()
        if now - self._stale_checked >= STALE_CHECK_INTERVAL_S:
            self._stale_checked = now
            # A card pulled mid-write keeps its redemption prepared for a re-tap; not forever.
            self.ledger.abandon_stale_redemptions(PENDING_REDEMPTION_TTL)
        monitoring = self.config.monitoring
        if monitoring.metrics_file is not None and now - self._metrics_written >= monitoring.metrics_interval_s:
            self._metrics_written = now
            self.write_metrics(monitoring.metrics_file)

    def write_metrics(self, path: Path) -> None:
        """node_exporter's textfile (app/metrics.py); a failed write is logged, never fatal."""
        try:
            write_textfile(path, render_metrics(self.telemetry(), self.outbox_depth()))
        except OSError as exc:
            _LOG.warning("cannot write the metrics file %s: %s", path, exc)

    def nudge_link(self) -> None:
        if self.link is not None:
            self.link.notify_outbox()

    def outbox_depth(self, max_age_s: float = 5.0) -> int:
        now = time.monotonic()
        if now - self._outbox_checked >= max_age_s:
            self._outbox_depth = self.ledger.outbox_depth()
            self._outbox_checked = now
        return self._outbox_depth

    def status_text(self, state: UiState | None = None) -> str:
        """The STATUS line; names `state`'s screen (default: the session's current state)."""
        state = self.session.state if state is None else state
        screen = f"notice {state.kind.value}" if isinstance(state, Notice) else screen_name(state)
        line = status_line(screen, self.online, self.outbox_depth(), self.reader.health.state)
        clock = self.clock_verdict()
        return line if clock.trusted else f"{line}, clock not synchronised"

    @property
    def link_state(self) -> str:
        """ "online", "hq_unreachable" (broker up, HQ silent), "disconnected", or "disabled" (no hq.host)."""
        if self.link is None:
            return "disabled"
        if self.link.online:
            return "online"
        return "hq_unreachable" if self.link.connected else "disconnected"

    def clock_verdict(self) -> ClockVerdict:
        if self.clock_trust is None:
            return ClockVerdict(True, "ignore", "ignored")
        return self.clock_trust.verdict()

    def telemetry(self) -> dict[str, Any]:
        """The app's part of telemetry (docs/mqtt.md): `reader` and the `extra` fields HA's templates read."""
        health = self.reader.health
        clock = self.clock_trust.report() if self.clock_trust is not None else {"trusted": True, "policy": "ignore"}
        return {
            "software": software_version(),
            "package": self.package.to_json() if self.package is not None else None,
            "link_state": self.link_state,
            "offline_mode": not self.online,
            "last_tap_at": self.last_tap_at.isoformat(timespec="seconds") if self.last_tap_at else None,
            "clock": clock,
            "reader": {
                "state": health.state,
                "last_error": health.last_error,
                "version": health.version,
                "chip": health.chip,
                "counts": dict(health.counts),
            },
            "rules_version": self.ledger.rules_version(),
            "denylist_version": self.ledger.denylist_version(),
            "member_snapshot_version": self.ledger.member_snapshot_version(),
        }

    def close(self) -> None:
        if self.link is not None:
            self.link.stop()
        self.reader_thread.stop()
        if self.reader_thread.presence is not None:
            self.reader_thread.presence.close()
        if self.simulation is not None:
            self.simulation.remove()
            self.simulation.save()
        self.reader.driver.transport.close()
        self.ledger.close()
