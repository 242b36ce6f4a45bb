"""The metrics file a wired kiosk writes for node_exporter's textfile collector, read back with
prometheus_client's own parser (the reference implementation of the text format)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.bootstrap import build_app
from app.clock_trust import ClockStatus
from kiosk.config import load_config
from kiosk.ui_state import MemberHome
from tests.app.conftest import wait_for, write_config

pytestmark = pytest.mark.integration


@pytest.fixture
def metrics(tmp_path):
    """The file's metric families after one tap, as prometheus_client parses them (name -> family)."""
    textfile = tmp_path / "node-exporter" / "kiosk.prom"
    textfile.parent.mkdir()
    config = write_config(tmp_path, monitoring={"metrics_file": str(textfile)})
    app = build_app(
        load_config(config, environ={}),
        clock_source=lambda: ClockStatus(synchronized=False, rtc_set_clock=None),
        package_query=lambda argv: (0, "0.2.0-1 install ok installed"),
    )
    try:
        app.reader_thread.start()
        wait_for(lambda: app.reader.health.state == "ok", app, "reader ready")
        app.simulation.tap(1)
        wait_for(lambda: isinstance(app.session.state, MemberHome), app, "member screen")
        app.tick()
        text = textfile.read_text(encoding="utf-8")
    finally:
        app.close()
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(family, **labels) -> float:
    return next(s.value for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items()))


def test_every_figure_is_exposed(metrics):
    assert {
        "kiosk_software_info",
        "kiosk_reader_ok",
        "kiosk_reader_config_restores",  # prometheus_client names a counter's family without _total
        "kiosk_hq_link_state",
        "kiosk_offline_mode",
        "kiosk_outbox_depth",
        "kiosk_last_tap_timestamp_seconds",
        "kiosk_clock_synchronized",
        "kiosk_clock_trusted",
    } <= set(metrics)


def test_the_link_state_is_one_hot_with_the_current_state(metrics):
    assert value(metrics["kiosk_hq_link_state"], state="disabled") == 1
    assert sum(s.value for s in metrics["kiosk_hq_link_state"].samples) == 1


def test_the_package_state_is_in_the_info_labels(metrics):
    labels = metrics["kiosk_software_info"].samples[0].labels
    assert (labels["package_source"], labels["package_version"]) == ("package", "0.2.0-1")


def test_the_last_tap_is_a_unix_time(metrics):
    assert value(metrics["kiosk_last_tap_timestamp_seconds"]) > 1.6e9


def test_an_unsynchronised_clock_reads_zero(metrics):
    assert value(metrics["kiosk_clock_synchronized"]) == 0


def test_the_write_leaves_no_temporary_file(tmp_path, metrics):
    assert [p.name for p in (tmp_path / "node-exporter").iterdir()] == ["kiosk.prom"]
