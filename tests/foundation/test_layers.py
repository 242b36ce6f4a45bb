"""The layer rules of docs/architecture.md, checked on the source: who may import what."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARDWARE_AND_UI = {"pygame", "paho", "spidev", "RPi", "serial", "mfrc522"}
WIRING = {"app/bootstrap.py", "app/cli/main.py", "app/simulation.py", "app/scenario.py", "app/sim_keys.py"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@pytest.mark.parametrize("path", modules("drivers"), ids=rel)
def test_drivers_know_nothing_of_members_screens_or_sync(path):
    assert not imported_roots(path) & {"kiosk", "screens", "sync", "pygame", "paho"}


@pytest.mark.parametrize(
    "path", [p for p in modules("kiosk") if rel(p) not in WIRING and not rel(p).startswith("app/cli/")], ids=rel
)
def test_domain_imports_no_hardware_ui_or_other_layers(path):
    assert not imported_roots(path) & (HARDWARE_AND_UI | {"drivers", "screens", "sync"})


@pytest.mark.parametrize("path", modules("screens"), ids=rel)
def test_screens_import_only_view_objects_of_the_domain(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kiosk"):
            assert node.module in {"kiosk.model", "kiosk.ui_state"}, node.module
    assert not imported_roots(path) & {"drivers", "sync", "paho", "spidev", "RPi"}


@pytest.mark.parametrize("path", modules("sync"), ids=rel)
def test_sync_imports_no_ui_or_hardware(path):
    assert not imported_roots(path) & {"pygame", "drivers", "screens", "spidev", "RPi"}


def test_paho_is_confined_to_the_mqtt_client_module():
    users = sorted(rel(p) for p in modules("sync") + modules("kiosk") if "paho" in imported_roots(p))
    assert users in ([], ["sync/mqtt_client.py"])
