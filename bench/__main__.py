"""`python -m bench`: run every benchmark and write their figures into docs/benchmarks.md.

Each benchmark runs as its own process (`python -m bench.NAME`), so one cannot disturb the
memory figures of the next; its last stdout line is its JSON figures. Extra arguments are passed
to every benchmark (e.g. `--quick`).

Only the part of docs/benchmarks.md between the SUMMARY_START and SUMMARY_END marker comments is
rewritten; the hand-written sections around it (method, analysis, targets met or missed) stay.
A file without the markers gets the summary inserted after its title.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from bench.machine import describe

BENCHMARKS = ("reader", "ledger", "render", "outbox", "kiosk", "chaos", "fleet", "flood", "hq", "pin", "wheel")
REPO = Path(__file__).resolve().parents[1]
SUMMARY_START = "<!-- bench:summary:start (written by `python -m bench`; edit outside these markers) -->"
SUMMARY_END = "<!-- bench:summary:end -->"


def run_one(name: str, extra: list[str]) -> dict | str:
    if not (REPO / "bench" / f"{name}.py").exists():
        return "not built yet"
    result = subprocess.run([sys.executable, "-m", f"bench.{name}", *extra], cwd=REPO, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed (exit {result.returncode}): {tail}"
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return f"last line is not JSON: {lines[-1][:200]}"


def with_summary(document: str, summary: str) -> str:
    """`document` with the marked summary block replaced by `summary` (or inserted after the title)."""
    start, end = document.find(SUMMARY_START), document.find(SUMMARY_END)
    if start != -1 and end > start:
        return document[:start] + summary + document[end + len(SUMMARY_END) :]
    if not document.strip():
        return f"# Benchmark results\n\n{summary}\n"
    lines = document.split("\n")
    at = 1 if lines[0].startswith("# ") else 0
    return "\n".join(lines[:at] + ["", summary, ""] + lines[at:])


def main(argv: list[str]) -> int:
    machine = describe()
    rows = []
    for name in BENCHMARKS:
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        figures = run_one(name, argv)
        rows.append((name, figures))
        print(json.dumps({name: figures}, ensure_ascii=False), flush=True)
    out = [
        SUMMARY_START,
        "## Latest summary",
        "",
        f"Written by `{' '.join(['python -m bench', *argv])}` on {dt.date.today().isoformat()}.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()),
        "",
    ]
    for name, figures in rows:
        out.append(f"### bench.{name}")
        out.append("")
        if isinstance(figures, dict):
            out.append("| figure | value |")
            out.append("|---|---|")
            out.extend(f"| `{k}` | {v} |" for k, v in figures.items())
        else:
            out.append(figures)
        out.append("")
    out.append(SUMMARY_END)
    path = REPO / "docs" / "benchmarks.md"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(with_summary(old, "\n".join(out)), encoding="utf-8")
    failed = [name for name, figures in rows if not isinstance(figures, dict)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
