"""The layer rules of docs/architecture.md, checked on the source: who may import what, and no circles.

Imports inside functions and under TYPE_CHECKING count like any other: a lazy import is still a
dependency. `app/` is the program and may import every layer; nothing else is exempt.

HQ (`hq/`) is a program of its own: its domain shares the kiosk's rules language (kiosk.ledger.rules,
kiosk.model) and nothing else; its store knows SQL, not MQTT or HTTP; its services use domain,
store and the MQTT contract's pure parts; only its API imports FastAPI, and only its composition
root (runtime, cli) wires them together. No kiosk package imports hq.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LAYERS = ("kiosk", "drivers", "screens", "sync", "app", "hq")
HARDWARE = {"spidev", "RPi", "serial", "mfrc522", "lgpio", "gpiod"}
UI_AND_NETWORK = {"pygame", "paho"}


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, absolute names (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


ALL = [p for package in LAYERS for p in modules(package)]
ALL_KIOSK = [p for package in LAYERS if package != "hq" for p in modules(package)]


@pytest.mark.parametrize("path", ALL_KIOSK, ids=rel)
def test_no_kiosk_package_imports_hq(path):
    assert "hq" not in roots(path)


@pytest.mark.parametrize("path", modules("hq/domain"), ids=rel)
def test_hq_domain_imports_only_the_shared_rules_language(path):
    ours = {n for n in imported_modules(path) if n.split(".")[0] in LAYERS}
    allowed = ("hq.domain", "kiosk.ledger.rules", "kiosk.model")
    assert all(n.startswith(allowed) for n in ours), sorted(ours)
    assert not roots(path) & (HARDWARE | UI_AND_NETWORK | {"sqlalchemy", "fastapi", "uvicorn"})


@pytest.mark.parametrize("path", modules("hq/store"), ids=rel)
def test_hq_store_knows_sql_not_mqtt_or_http(path):
    assert not roots(path) & ({"paho", "fastapi", "uvicorn", "sync", "kiosk", "app"} | HARDWARE)
    assert {n for n in imported_modules(path) if n.startswith("hq.")} <= {
        n for n in imported_modules(path) if n.startswith("hq.store")
    }


@pytest.mark.parametrize("path", modules("hq/service"), ids=rel)
def test_hq_services_use_domain_store_and_the_contract_not_transports(path):
    assert not roots(path) & ({"paho", "fastapi", "uvicorn", "app", "pygame"} | HARDWARE)
    assert not {
        n for n in imported_modules(path) if n.startswith(("hq.api", "hq.runtime", "hq.cli", "sync.mqtt_client"))
    }


def test_fastapi_is_confined_to_hqs_api():
    users = sorted(rel(p) for p in ALL if roots(p) & {"fastapi", "starlette"})
    assert all(u.startswith("hq/api/") for u in users), users


@pytest.mark.parametrize("path", modules("drivers"), ids=rel)
def test_drivers_know_nothing_of_members_screens_sync_or_the_program(path):
    assert not roots(path) & ({"kiosk", "screens", "sync", "app"} | UI_AND_NETWORK)


@pytest.mark.parametrize("path", modules("kiosk"), ids=rel)
def test_the_domain_imports_no_hardware_ui_network_or_other_layer(path):
    assert not roots(path) & (HARDWARE | UI_AND_NETWORK | {"drivers", "screens", "sync", "app", "systemd"})


@pytest.mark.parametrize("path", modules("screens"), ids=rel)
def test_screens_import_only_view_objects_of_the_domain(path):
    ours = {name for name in imported_modules(path) if name.split(".")[0] == "kiosk"}
    assert {name.rpartition(".")[0] if name.count(".") > 1 else name for name in ours} <= {
        "kiosk",
        "kiosk.model",
        "kiosk.ui_state",
    }
    assert not roots(path) & ({"drivers", "sync", "app", "paho"} | HARDWARE)


@pytest.mark.parametrize("path", modules("sync"), ids=rel)
def test_sync_imports_no_ui_hardware_or_program(path):
    assert not roots(path) & ({"pygame", "drivers", "screens", "app"} | HARDWARE)


def test_paho_is_confined_to_the_mqtt_client_module():
    assert sorted(rel(p) for p in ALL if "paho" in roots(p)) == ["sync/mqtt_client.py"]


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_no_module_imports_our_packages_by_name_at_run_time(path):
    """importlib.import_module("kiosk....") would hide an import from the checks above."""
    text = path.read_text(encoding="utf-8")
    assert "import_module(" not in text and "__import__(" not in text


def _graph() -> dict[str, set[str]]:
    names = {module_name(p): p for p in ALL}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        targets = set()
        for imported in imported_modules(path):
            # `from pkg import mod` names pkg.mod; `from mod import func` names mod.func: keep what exists.
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _is_package_reexport(module: str, target: str) -> bool:
    """A package's __init__ re-exporting its own submodules is not a circle between modules."""
    return target.startswith(module + ".")


def test_there_are_no_import_circles():
    graph = {name: {t for t in targets if not _is_package_reexport(name, t)} for name, targets in _graph().items()}
    assert _cycles(graph) == []


def test_the_cycle_check_finds_a_circle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
