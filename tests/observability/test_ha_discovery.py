"""Home Assistant discovery from a wired kiosk, through a real Mosquitto.

# exchange: kiosk connects (monitoring.ha_discovery on) --(status online, retained)--> broker
#           --(7 discovery configs, retained, homeassistant/<component>/<device>/<object>/config)-->
#           --(telemetry, retained)-->; a Home Assistant connecting afterwards receives all of them
#           as retained messages; the kiosk's clean stop --(status offline, retained)-->.
The configs are checked against a JSON schema written from HA's documentation
(tests/observability/data/ha_mqtt_discovery.schema.json says where each part comes from), and
every template is rendered with Jinja2, HA's template engine, against the retained payloads.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import jinja2
import jsonschema
import pytest

from app.bootstrap import build_app
from app.clock_trust import ClockStatus
from kiosk.config import load_config
from kiosk.ui_state import MemberHome
from sync.keys import generate_keypair
from sync.mqtt_client import ConnectionSettings, Message, MqttClient
from tests.app.conftest import wait_for, write_config
from tests.sync.broker import Mosquitto
from tests.sync.conftest import wait_until

pytestmark = pytest.mark.integration

DEVICE = "kiosk-sim-01"  # the shipped config.yaml's device id
PREFIX = "kiosk/v1"
SCHEMA = json.loads((Path(__file__).parent / "data/ha_mqtt_discovery.schema.json").read_text(encoding="utf-8"))
DISCOVERY_TOPIC = re.compile(rf"^homeassistant/(sensor|binary_sensor)/{DEVICE}/([A-Za-z0-9_-]+)/config$")
#: HA renders templates with Jinja2; StrictUndefined turns a field the payload lacks into an error.
JINJA = jinja2.Environment(undefined=jinja2.StrictUndefined)


class Retained:
    """A client that connects after the kiosk published, so everything it receives was retained."""

    def __init__(self, port: int, name: str) -> None:
        self.messages: dict[str, Message] = {}
        self._lock = threading.Lock()
        self.client = MqttClient(
            ConnectionSettings(name, "127.0.0.1", port, subscriptions=[("homeassistant/#", 1), (f"{PREFIX}/#", 1)]),
            on_message=self._keep,
        )

    def _keep(self, message: Message) -> None:
        with self._lock:
            self.messages[message.topic] = message

    def get(self, topic: str) -> Message | None:
        with self._lock:
            return self.messages.get(topic)


@pytest.fixture(scope="module")
def exchange(tmp_path_factory):
    """Run the exchange once; the tests read what the broker kept."""
    root = tmp_path_factory.mktemp("ha")
    (root / "broker").mkdir()
    broker = Mosquitto(root / "broker")
    broker.start()
    generate_keypair(root / "var/keys/hq_private.pem", root / "var/keys/hq_public.pem")
    config = write_config(root, hq={"host": "127.0.0.1", "port": broker.port}, monitoring={"ha_discovery": True})
    app = build_app(
        load_config(config, environ={}),
        clock_source=lambda: ClockStatus(synchronized=True, rtc_set_clock=None),
        package_query=lambda argv: (0, "0.2.0-1 install ok installed"),
    )
    telemetry_topic = f"{PREFIX}/kiosk/{DEVICE}/telemetry"
    try:
        app.reader_thread.start()
        wait_for(lambda: app.reader.health.state == "ok", app, "reader ready")
        app.simulation.tap(1)  # a tap before connecting: the first telemetry carries its time
        wait_for(lambda: isinstance(app.session.state, MemberHome), app, "member screen")
        watcher = Retained(broker.port, "watcher")
        watcher.client.start()
        assert app.link is not None
        app.link.start()
        wait_until(lambda: watcher.get(telemetry_topic), what="the kiosk's first telemetry")  # published last
        watcher.client.stop()
        home_assistant = Retained(broker.port, "home-assistant")
        home_assistant.client.start()
        wait_until(lambda: home_assistant.get(telemetry_topic), what="retained telemetry")
        home_assistant.client.stop()
        online = dict(home_assistant.messages)
        app.link.stop()  # clean stop: retained status "offline"
        after = Retained(broker.port, "home-assistant-later")
        after.client.start()
        status_topic = f"{PREFIX}/kiosk/{DEVICE}/status"
        wait_until(lambda: after.get(status_topic), what="retained status after the stop")
        after.client.stop()
        yield {"online": online, "offline_status": after.get(status_topic)}
    finally:
        app.close()
        broker.stop()


def configs(exchange) -> dict[str, tuple[str, dict]]:
    """object_id -> (component, config) for every discovery message Home Assistant received."""
    found = {}
    for topic, message in exchange["online"].items():
        match = DISCOVERY_TOPIC.match(topic)
        if match:
            found[match.group(2)] = (match.group(1), json.loads(message.payload))
    return found


def render(template: str, payload: bytes) -> str:
    return JINJA.from_string(template).render(value=payload.decode(), value_json=json.loads(payload)).strip()


def test_every_figure_has_a_discovery_config(exchange):
    assert set(configs(exchange)) == {
        "reader",
        "hq_link",
        "offline_mode",
        "outbox_depth",
        "last_tap",
        "clock",
        "software",
    }


def test_discovery_configs_are_retained(exchange):
    assert all(m.retain for t, m in exchange["online"].items() if DISCOVERY_TOPIC.match(t))


@pytest.mark.parametrize(
    "object_id", ["reader", "hq_link", "offline_mode", "outbox_depth", "last_tap", "clock", "software"]
)
def test_config_validates_against_home_assistants_documented_schema(exchange, object_id):
    component, config = configs(exchange)[object_id]
    jsonschema.validate(config, {**SCHEMA, "$ref": f"#/$defs/{component}"})


def test_unique_ids_are_unique(exchange):
    ids = [config["unique_id"] for _, config in configs(exchange).values()]
    assert len(ids) == len(set(ids))


def test_all_entities_share_one_device_with_the_software_version(exchange):
    devices = {json.dumps(config["device"], sort_keys=True) for _, config in configs(exchange).values()}
    assert len(devices) == 1
    assert json.loads(devices.pop())["sw_version"]


def test_availability_renders_online_from_the_retained_status(exchange):
    _, config = configs(exchange)["reader"]
    availability = config["availability"][0]
    status = exchange["online"][availability["topic"]].payload
    assert render(availability["value_template"], status) == availability["payload_available"]


def test_availability_renders_offline_after_a_clean_stop(exchange):
    _, config = configs(exchange)["reader"]
    availability = config["availability"][0]
    rendered = render(availability["value_template"], exchange["offline_status"].payload)
    assert rendered == availability["payload_not_available"]


def state(exchange, object_id: str) -> str:
    _, config = configs(exchange)[object_id]
    return render(config["value_template"], exchange["online"][config["state_topic"]].payload)


def test_binary_sensors_render_home_assistants_on_off_payloads(exchange):
    assert {state(exchange, name) for name in ("reader", "offline_mode", "clock")} <= {"ON", "OFF"}


def test_the_healthy_reader_is_no_problem(exchange):
    assert state(exchange, "reader") == "OFF"


def test_the_hq_link_renders_one_of_its_enum_options(exchange):
    _, config = configs(exchange)["hq_link"]
    assert state(exchange, "hq_link") in config["options"]


def test_the_outbox_depth_renders_a_whole_number(exchange):
    assert int(state(exchange, "outbox_depth")) >= 0


def test_the_last_tap_renders_a_timestamp_with_its_offset(exchange):
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", state(exchange, "last_tap"))


def test_the_software_version_and_its_package_state_render(exchange):
    _, config = configs(exchange)["software"]
    telemetry = exchange["online"][config["json_attributes_topic"]].payload
    assert state(exchange, "software")
    attributes = json.loads(render(config["json_attributes_template"], telemetry))
    assert attributes["version"] == "0.2.0-1"


@pytest.mark.parametrize(
    "broken",
    [
        {"state_topic": None},  # required
        {"stat_t": "x"},  # an abbreviation mixed in is not a documented full name
        {"device_class": "enum"},  # enum needs options
        {"entity_category": "config"},  # a sensor cannot be a config entity
    ],
)
def test_the_schema_refuses_what_home_assistant_refuses(exchange, broken):
    _, config = configs(exchange)["outbox_depth"]
    changed = {k: v for k, v in {**config, **broken}.items() if v is not None}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(changed, {**SCHEMA, "$ref": "#/$defs/sensor"})
