"""Every exception a package defines derives from that package's documented root (docs/architecture.md)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

ROOTS = {
    "drivers": "drivers.errors.ReaderError",
    "kiosk": "kiosk.errors.KioskError",
    "screens": "screens.errors.ScreensError",
    "sync": "sync.errors.SyncError",
    "app": "app.errors.AppError",
}


def _root(package: str) -> type[BaseException]:
    module, _, name = ROOTS[package].rpartition(".")
    return getattr(importlib.import_module(module), name)


def _exception_classes(package: str) -> list[tuple[str, type[BaseException]]]:
    found = []
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, BaseException) and obj.__module__ == info.name:
                found.append((f"{info.name}.{name}", obj))
    return found


CASES = [(package, qualname, cls) for package in ROOTS for qualname, cls in _exception_classes(package)]


@pytest.mark.parametrize(("package", "qualname", "cls"), CASES, ids=[qualname for _, qualname, _ in CASES])
def test_every_exception_derives_from_its_layers_root(package, qualname, cls):
    assert issubclass(cls, _root(package)), f"{qualname} does not derive from {ROOTS[package]}"


def test_the_roots_are_distinct_trees():
    roots = [_root(package) for package in ROOTS]
    for root in roots:
        assert [other for other in roots if other is not root and issubclass(root, other)] == []


def test_exception_names_are_unique_across_layers():
    names: dict[str, list[str]] = {}
    for _, qualname, cls in CASES:
        names.setdefault(cls.__name__, []).append(qualname)
    assert {name: where for name, where in names.items() if len(where) > 1} == {}
