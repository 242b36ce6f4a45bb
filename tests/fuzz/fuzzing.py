"""What every fuzz suite shares: how many examples to try, and where the corpus of nasty inputs is.

CI runs a small budget so the whole of tests/fuzz stays well under a minute; a long local run
raises it for every suite at once, e.g. ``KIOSK_FUZZ_EXAMPLES=20000 pytest tests/fuzz``
(the same variable tests/cards/test_record_fuzz.py reads). Hypothesis explores freely (no fixed
seed); its example database lives in .hypothesis/, which git ignores.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

CORPUS = Path(__file__).resolve().parent / "corpus"
_REQUESTED = os.environ.get("KIOSK_FUZZ_EXAMPLES")


def fuzz_settings(default: int, *, weight: float = 1.0) -> settings:
    """Hypothesis settings: `default` examples, or KIOSK_FUZZ_EXAMPLES scaled by `weight`.

    `weight` < 1 is for suites whose every example is costly (a SQLite transaction, a file).
    """
    examples = max(1, int(int(_REQUESTED) * weight)) if _REQUESTED else default
    return settings(
        max_examples=examples, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )


def corpus(target: str, pattern: str = "*") -> list:
    """Every file of corpus/<target>/ (README.md aside) as pytest params named after the file."""
    folder = CORPUS / target
    files = sorted(p for p in folder.glob(pattern) if p.is_file() and p.name != "README.md")
    assert files, f"corpus folder {folder} is empty"
    return [pytest.param(p, id=p.name) for p in files]
