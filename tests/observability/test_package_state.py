"""The kiosk's package state as the real dpkg-query reports it, from a dpkg database made in the test.

`dpkg-query --admindir DIR` reads DIR/status instead of /var/lib/dpkg/status, so the stanzas below
are what dpkg itself would have written for an installed, a half-configured and a removed package.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from app.package_state import package_state, run_command

pytestmark = pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs dpkg-query (Debian)")


def stanza(status: str, version: str = "0.2.0-1") -> str:
    return (
        f"Package: membership-kiosk\nStatus: {status}\nPriority: optional\nSection: misc\n"
        f"Maintainer: Kiosk <kiosk@example.com>\nArchitecture: arm64\nVersion: {version}\n"
        "Description: membership-card kiosk\n\n"
    )


def dpkg_in(admindir: Path, status_file: str):
    admindir.mkdir()
    (admindir / "updates").mkdir()
    (admindir / "info").mkdir()
    (admindir / "status").write_text(status_file, encoding="utf-8")

    def run(argv: Sequence[str]) -> tuple[int, str]:
        return run_command([argv[0], f"--admindir={admindir}", *argv[1:]])

    return run


def test_an_installed_package_reports_its_version_and_dpkg_status(tmp_path):
    state = package_state(dpkg_in(tmp_path / "dpkg", stanza("install ok installed")))
    assert (state.source, state.version, state.status) == ("package", "0.2.0-1", "install ok installed")


def test_a_half_configured_package_is_reported_as_unhealthy(tmp_path):
    state = package_state(dpkg_in(tmp_path / "dpkg", stanza("install ok half-configured")))
    assert not state.healthy


def test_a_package_dpkg_never_heard_of_means_a_source_install(tmp_path):
    state = package_state(dpkg_in(tmp_path / "dpkg", ""))
    assert state.to_json() == {
        "source": "source",
        "version": None,
        "status": None,
        "detail": "not installed from a package",
    }


def test_a_removed_package_with_its_conffiles_left_means_a_source_install(tmp_path):
    state = package_state(dpkg_in(tmp_path / "dpkg", stanza("deinstall ok config-files")))
    assert state.source == "source"


def test_a_system_without_dpkg_query_means_a_source_install():
    def missing(argv: Sequence[str]) -> tuple[int, str]:
        return run_command(["/nonexistent/dpkg-query", *argv[1:]])

    assert package_state(missing).source == "source"
