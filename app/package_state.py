"""How this kiosk software was installed: from the fleet's Debian package, or from a source tree.

HQ reads it in the retained status and in telemetry (docs/mqtt.md) to see which kiosks an
upgrade has reached, which are half-installed (dpkg's status says so) and which were put there by
hand. The answer comes from ``dpkg-query``; the command runner is injected so a laptop, CI and
the tests get the same code path without a dpkg database of their own.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

_LOG = logging.getLogger(__name__)

#: The Debian package's name (packaging/ builds it under this name).
PACKAGE = "membership-kiosk"
#: `${Version}` then dpkg's three status words, e.g. "0.2.0-1 install ok installed".
DPKG_QUERY = ("dpkg-query", "-W", "-f", "${Version} ${Status}", PACKAGE)
QUERY_TIMEOUT_S = 5.0

#: Runs argv and returns (exit status, stdout); raises OSError when the program is missing.
CommandRunner = Callable[[Sequence[str]], tuple[int, str]]


@dataclass(frozen=True)
class PackageState:
    """`source` is "package" or "source"; `version` and `status` are dpkg's, None from a source tree."""

    source: str
    version: str | None = None
    status: str | None = None  # e.g. "install ok installed", "install ok half-configured"
    detail: str = ""

    @property
    def healthy(self) -> bool:
        """Installed from the package and dpkg finished configuring it (or run from source on purpose)."""
        return self.source == "source" or self.status == "install ok installed"

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "version": self.version, "status": self.status, "detail": self.detail}


def run_command(argv: Sequence[str]) -> tuple[int, str]:
    """The real runner: no shell, a short timeout, stdout as text."""
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=QUERY_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise OSError(f"{argv[0]} did not answer within {QUERY_TIMEOUT_S:.0f} s") from exc
    return proc.returncode, proc.stdout


def package_state(run: CommandRunner = run_command) -> PackageState:
    """Ask dpkg about the kiosk's package; a system without dpkg, or without the package, is "source"."""
    try:
        code, out = run(DPKG_QUERY)
    except OSError as exc:  # no dpkg-query at all (not Debian), or it hung
        return PackageState("source", detail=f"not installed from a package ({exc})")
    text = out.strip()
    if code != 0 or not text:
        # dpkg-query exits 1 for a package it has never heard of.
        return PackageState("source", detail="not installed from a package")
    version, _, status = text.partition(" ")
    if status.endswith(" not-installed") or status.endswith(" config-files"):
        # Removed (perhaps with its conffiles left): whatever runs now did not come from it.
        return PackageState("source", detail=f"package {status.split()[-1]} ({version or 'no version'})")
    return PackageState("package", version=version or None, status=status or None)
