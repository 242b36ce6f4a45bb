"""`python -m bench`: run every benchmark and write docs/benchmarks.md.

Each benchmark runs as its own process (`python -m bench.NAME`), so one cannot disturb the
memory figures of the next; its last stdout line is its JSON figures. Extra arguments are passed
to every benchmark (e.g. `--quick`).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

from bench.machine import describe

BENCHMARKS = ("reader", "ledger", "render", "outbox", "kiosk", "chaos", "fleet")
REPO = Path(__file__).resolve().parents[1]


def run_one(name: str, extra: list[str]) -> dict | str:
    if not (REPO / "bench" / f"{name}.py").exists():
        return "not built yet"
    result = subprocess.run([sys.executable, "-m", f"bench.{name}", *extra], cwd=REPO,
                            capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if result.returncode != 0 or not lines:
        tail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"failed (exit {result.returncode}): {tail}"
    try:
        return json.loads(lines[-1])
    except json.JSONDecodeError:
        return f"last line is not JSON: {lines[-1][:200]}"


def main(argv: list[str]) -> int:
    machine = describe()
    rows = []
    for name in BENCHMARKS:
        print(f"running bench.{name} ...", file=sys.stderr, flush=True)
        figures = run_one(name, argv)
        rows.append((name, figures))
        print(json.dumps({name: figures}, ensure_ascii=False), flush=True)
    out = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench {' '.join(argv)}`".rstrip() + f" on {dt.date.today().isoformat()}.",
        "",
        "Machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()),
        "",
    ]
    for name, figures in rows:
        out.append(f"## bench.{name}")
        out.append("")
        if isinstance(figures, dict):
            out.append("| figure | value |")
            out.append("|---|---|")
            out.extend(f"| `{k}` | {v} |" for k, v in figures.items())
        else:
            out.append(figures)
        out.append("")
    (REPO / "docs" / "benchmarks.md").write_text("\n".join(out), encoding="utf-8")
    failed = [name for name, figures in rows if not isinstance(figures, dict)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
