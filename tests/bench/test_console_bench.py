"""bench.console in quick mode: a private PostgreSQL loaded with 10,000 members and 200,000
purchases, the console's analytics timed over it, ending with one JSON line of figures.

No time is compared with a target here (figures belong to `python -m bench.console`, see
docs/benchmarks.md); the test checks that each query was measured and that the generated fleet
looks as the benchmark says: every buyer in a segment, the pyramid's revenue cut where defined.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ISSUE_KEYS = ("rfm_s", "pyramid_s", "metrics_s")


@pytest.mark.integration
def test_quick_run_ends_with_one_json_line_of_sane_figures() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.console", "--quick", "--repeat", "1"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert sum(1 for line in lines if line.startswith("{")) == 1
    figures = json.loads(lines[-1])
    for key in (*ISSUE_KEYS, "rfm_page_s", "metrics_by_store_s"):
        assert isinstance(figures[key], float) and figures[key] > 0, (key, figures)
    assert set(figures["targets_met"]) == set(ISSUE_KEYS)
    assert figures["members"] == 10_000 and figures["purchases"] == 200_000
    # Most members buy within a year in this fleet, and every buyer has one segment.
    buyers = sum(figures["segments"].values())
    assert 0.8 * figures["members"] < buyers <= figures["members"], figures["segments"]
    # A and B bring at least 80 % of the revenue, and fewer members than C and D would need for it.
    tiers = figures["pyramid"]
    assert tiers["A"][1] + tiers["B"][1] >= 0.8 - 1e-3, tiers
    assert 0 < figures["last_month"]["activation_rate"] <= 1, figures["last_month"]
