"""`kiosk-hq wheel audit`: is the fleet's prize wheel fair, did every kiosk keep its stock?
(hq.service.wheel; the same audit as `GET /v1/wheel/audit`).

    kiosk-hq wheel audit                        every spin HQ has applied
    kiosk-hq wheel audit --since 2026-12-01     spins from that store day on (HQ's time zone)
    kiosk-hq wheel audit --since 2026-12-01T08:00:00+08:00 --json

Exit status: 0 the audit passed, 1 it found something (a spin whose prize does not follow from its
draw, a rules version whose outcomes fail the chi-square test, a prize given beyond its stock),
2 an unusable --since.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys

from hq.config import HqSettings
from hq.service.wheel import ALPHA, WheelAudit

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
#: Mismatches printed in the text report (--json has up to hq.service.wheel.MISMATCHES_LISTED).
_PRINTED = 20


def register(sub: argparse._SubParsersAction) -> None:
    wheel = sub.add_parser("wheel", help="the prize wheel's audit").add_subparsers(dest="wheel_command", required=True)
    audit = wheel.add_parser("audit", help="check every spin's draw, the outcomes' fit to the weights, and stock")
    audit.add_argument("--since", help="only spins from this store day (YYYY-MM-DD) or time (with a UTC offset) on")
    audit.add_argument("--json", action="store_true", help="print the audit as JSON")
    audit.add_argument("--alpha", type=float, default=ALPHA, help=f"p-value below which a version fails ({ALPHA})")


def parse_since(text: str, tz: dt.tzinfo) -> dt.datetime:
    """A store day (its midnight in `tz`) or an RFC 3339 time with an offset; ValueError otherwise."""
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), tz)
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset (whose midnight?): give a day or e.g. {text}+08:00")
    return moment


def run(settings: HqSettings, args: argparse.Namespace) -> int:
    from hq.service.wheel import audit
    from hq.store.engine import open_engine
    from hq.store.migrations import migrate

    try:
        since = parse_since(args.since, settings.tz) if args.since else None
        if not 0 < args.alpha < 1:
            raise ValueError(f"--alpha must lie between 0 and 1, got {args.alpha}")
    except ValueError as exc:
        print(f"kiosk-hq: --since/--alpha: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_engine(settings.database)
    try:
        migrate(engine)
        with engine.connect() as conn:
            report = audit(conn, since=since, alpha=args.alpha)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(text_report(report)))
    return EXIT_OK if report.ok else EXIT_FAILED


def text_report(report: WheelAudit) -> list[str]:
    lines = [f"wheel audit: {report.spins} spin(s)" + (f" since {report.since}" if report.since else "")]
    for fit in report.versions:
        if fit.p_value is None:
            verdict = "too few prizes possible for a test"
        else:
            verdict = f"chi-square {fit.chi_square} ({fit.dof} dof), p = {fit.p_value:.4g}: "
            verdict += "fair" if fit.fair else f"NOT FAIR (p < {report.alpha})"
        lines.append(f"rules version {fit.rules_version}: {fit.spins} spin(s), {verdict}")
        lines.append(f"  {'prize':<20} {'observed':>9} {'expected':>10}")
        lines.extend(f"  {p.prize_id:<20} {p.observed:>9} {p.expected:>10.1f}" for p in fit.prizes)
        if fit.duplicate_free:
            lines.append(f"  free spins beyond the day's allowance (kiosks offline at once): {fit.duplicate_free}")
    lines.append(f"spins whose prize does not follow from the draw or the rules: {report.mismatch_count}")
    lines.extend(
        f"  {m.event_id} {m.device_id} v{m.rules_version} {m.at}: {m.reason}" for m in report.mismatches[:_PRINTED]
    )
    if report.mismatch_count > _PRINTED:
        lines.append(f"  ... and {report.mismatch_count - _PRINTED} more (--json lists them)")
    lines.append(f"prizes given beyond a kiosk's stock: {len(report.stock_excess)}")
    lines.extend(
        f"  {s.device_id} v{s.rules_version} {s.prize_id}: {s.given} given, stock {s.stock}"
        for s in report.stock_excess
    )
    lines.append("result: " + ("passed" if report.ok else "FAILED"))
    return lines
