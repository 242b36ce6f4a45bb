"""bench.wheel in quick mode: the real UI loop on the idle, wheel, turning-wheel and member screens,
ending with one JSON line of the issue's figures.

No timing is compared with a target here (figures belong to `python -m bench.wheel`, see
docs/benchmarks.md); the test checks that each scenario was measured and behaved as the design
says: the light flips frames while it turns, the still screens flip none after their first draw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ISSUE_KEYS = (
    "wheel_spin_cpu_pct",
    "wheel_spin_frames_per_s",
    "wheel_rest_cpu_pct",
    "idle_cpu_pct",
    "member_cpu_pct",
    "wheel_spin_cpu_ms",
    "wheel_frame_cpu_ms",
    "wheel_frame_draw_ms",
)


@pytest.mark.integration
def test_quick_run_ends_with_one_json_line_of_sane_figures() -> None:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "bench.wheel", "--quick"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert sum(1 for line in lines if line.startswith("{")) == 1
    figures = json.loads(lines[-1])
    for key in ISSUE_KEYS:
        assert isinstance(figures[key], (int, float)), (key, figures)
        assert figures[key] >= 0, (key, figures)
    assert figures["spins"] == 2 and figures["rounds"] == 2
    # The light turns: frames are flipped during a spin, and a spin costs CPU.
    assert figures["wheel_spin_frames"] > 1, figures
    assert figures["wheel_spin_frames_per_s"] > 0, figures
    assert figures["wheel_spin_cpu_ms"] > 0 and figures["wheel_frame_cpu_ms"] > 0, figures
    # Nothing is dynamic on the wheel at rest or on the member screen: no frame after the first draw.
    assert figures["wheel_rest_frames_after_first"] == 0, figures
    assert figures["wheel_rest_frames_per_s"] == 0, figures
    assert figures["member_frames_after_first"] == 0, figures
    # The attract screen animates as before, and the wheel's light is not among its parts.
    assert figures["idle_frames_per_s"] > 0, figures
    assert figures["idle_dynamic_parts"] and "WheelLight" not in figures["idle_dynamic_parts"], figures
