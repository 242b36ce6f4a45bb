"""Suite-wide settings: headless SDL so pygame renders without a display, quiet pygame banner.

Under pytest-xdist (./test.sh runs `-n auto`; pyproject's addopts add `--dist loadfile
--no-loadscope-reorder`) whole test files go to the workers in collection order, so the files
holding the longest tests are moved to the front: the 80 s chaos run starts at once on one worker
while the others share the rest.
"""

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

#: Longest first (seconds on a 2-core box); every other file keeps its place after these.
LONG_RUNNING_FILES = (
    "tests/ops/test_debian_package.py",  # ~270: build the package, install/upgrade/roll back in a root
    "tests/bench/test_chaos.py",  # ~80
    "tests/sync/test_frozen_broker.py",  # ~27
    "tests/app/test_ledger_rebuild.py",  # ~20
    "tests/foundation/test_headless_scenario.py",  # ~20
    "tests/bench/test_kiosk_bench.py",  # ~10
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a serial run keeps pytest's own order
    rank = {path: i for i, path in enumerate(LONG_RUNNING_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
