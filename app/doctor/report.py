"""How the doctor's findings are shown: a report a technician reads, or JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence

from app.doctor.core import CheckResult, exit_status

_MARK = {"pass": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}


def render_text(results: Sequence[CheckResult]) -> str:
    lines: list[str] = []
    width = max((len(r.name) for r in results), default=0)
    for r in results:
        lines.append(f"[{_MARK[r.status]}] {r.name.ljust(width)}  {r.detail}")
        if r.fix and not r.ok:
            for n, fix_line in enumerate(r.fix.splitlines()):
                lines.append(f"       {' ' * width}  {'fix: ' if n == 0 else '     '}{fix_line}")
    failed = sum(r.status == "fail" for r in results)
    warned = sum(r.status == "warn" for r in results)
    verdict = "HEALTHY" if exit_status(results) == 0 else "NOT HEALTHY"
    lines.append("")
    lines.append(f"{verdict}: {len(results)} checks, {failed} failed, {warned} warnings")
    return "\n".join(lines)


def render_json(results: Sequence[CheckResult]) -> str:
    return json.dumps(
        {"ok": exit_status(results) == 0, "checks": [r.as_dict() for r in results]},
        ensure_ascii=False,
        indent=2,
    )
