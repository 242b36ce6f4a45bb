"""The kiosk's figures for Prometheus, as a file for node_exporter's textfile collector.

Why a file and not a /metrics endpoint: a kiosk already runs node_exporter if it is scraped at all
(disk, memory, temperature), the textfile collector adds our figures to that one scrape, and the
kiosk then opens no listening socket of its own (its unit keeps `IPAddressDeny=` tight and there
is no HTTP server thread to keep alive). The file is written whole to a temporary name in the
same directory and renamed over the old one, so node_exporter never reads half a file.

The figures are those HQ gets in telemetry (docs/mqtt.md) and Home Assistant in discovery:
reader health, HQ link state, offline mode, outbox depth, last tap time, clock, software version.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

LINK_STATES = ("online", "hq_unreachable", "disconnected", "disabled")


def _label(value: object) -> str:
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _family(lines: list[str], name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
    lines.append(f"# HELP {name} {help_text}")
    lines.append(f"# TYPE {name} {kind}")
    for labels, value in samples:
        lines.append(f"{name}{labels} {value:g}" if float(value).is_integer() else f"{name}{labels} {value!r}")


def render_metrics(telemetry: Mapping[str, Any], outbox_depth: int) -> str:
    """Prometheus text exposition (version 0.0.4) from the app's telemetry (app/kiosk_app.py)."""
    reader = telemetry.get("reader") or {}
    package = telemetry.get("package") or {}
    clock = telemetry.get("clock") or {}
    lines: list[str] = []
    info = (
        f'{{version="{_label(telemetry.get("software"))}",package_source="{_label(package.get("source"))}",'
        f'package_version="{_label(package.get("version"))}",package_status="{_label(package.get("status"))}"}}'
    )
    _family(lines, "kiosk_software_info", "gauge", "Software version and how it was installed (dpkg).", [(info, 1)])
    _family(
        lines, "kiosk_reader_ok", "gauge", "1 while the card reader is healthy.", [("", reader.get("state") == "ok")]
    )
    restores = (reader.get("counts") or {}).get("config_restores", 0)
    _family(
        lines,
        "kiosk_reader_config_restores_total",
        "counter",
        "Times the reader's configuration registers were found lost and restored.",
        [("", restores)],
    )
    link = telemetry.get("link_state")
    _family(
        lines,
        "kiosk_hq_link_state",
        "gauge",
        "The HQ link's state: 1 for the current one.",
        [(f'{{state="{state}"}}', state == link) for state in LINK_STATES],
    )
    _family(
        lines,
        "kiosk_offline_mode",
        "gauge",
        "1 while redemptions follow the offline limits.",
        [("", bool(telemetry.get("offline_mode")))],
    )
    _family(lines, "kiosk_outbox_depth", "gauge", "Events waiting for HQ's acknowledgement.", [("", outbox_depth)])
    last_tap = telemetry.get("last_tap_at")
    if last_tap:
        _family(
            lines,
            "kiosk_last_tap_timestamp_seconds",
            "gauge",
            "When the last card was read (Unix time).",
            [("", dt.datetime.fromisoformat(last_tap).timestamp())],
        )
    if clock.get("synchronized") is not None:
        _family(
            lines,
            "kiosk_clock_synchronized",
            "gauge",
            "1 when the clock was synchronised since boot.",
            [("", clock["synchronized"])],
        )
    _family(
        lines,
        "kiosk_clock_trusted",
        "gauge",
        "1 when device.clock_policy lets the clock decide offline redemptions.",
        [("", clock.get("trusted", True) is not False)],
    )
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    """Replace `path` atomically (temporary file in the same directory, then rename); mode 0644."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # node_exporter runs as its own user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
