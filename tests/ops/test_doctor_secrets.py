"""`kiosk doctor` keeps the kiosk's secrets secret: the files that hold them, and the HQ password
on the wire.

secrets.yaml (beside config.yaml, or $KIOSK_SECRETS_FILE) open to every user is a warning with the
chmod that fixes it; a TLS client key open to others fails like the other private keys. A password
configured without TLS is a finding of its own, and the broker probe then leaves the password out
unless the broker is on this machine: the doctor must not itself send it across the network.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from app.doctor.check_broker import target_from_config
from kiosk.config import load_config

PASSWORD = "hunter2-over-plain-tcp"


def by_name(results) -> dict:
    return {r.name: r for r in results}


def doctor_json(kiosk_setup) -> dict[str, dict]:
    """`kiosk doctor --json` as a child process; its checks by name."""
    result = subprocess.run(
        [sys.executable, "-m", "app", "doctor", "--json", "--config", str(kiosk_setup.config_path)],
        capture_output=True,
        text=True,
        cwd=kiosk_setup.root,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"},
        timeout=120,
    )
    assert result.stdout, result.stderr
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


# --- secrets.yaml and private keys ----------------------------------------------------------------


@pytest.mark.integration
def test_a_secrets_file_open_to_every_user_is_a_warning_with_the_chmod(kiosk_setup):
    secrets = kiosk_setup.config_path.parent / "secrets.yaml"
    secrets.write_text(f"mqtt_password: {PASSWORD}\n")
    secrets.chmod(0o644)
    kiosk_setup.hq_extra = ", password: !secret mqtt_password"
    kiosk_setup.write_config()
    check = doctor_json(kiosk_setup)["secrets permissions"]
    assert check["status"] == "warn" and "0644" in check["detail"]
    assert check["fix"] == f"sudo chown root:kiosk {secrets} && sudo chmod 0640 {secrets}"


def test_a_secrets_file_kept_from_other_users_passes(kiosk_setup):
    secrets = kiosk_setup.config_path.parent / "secrets.yaml"
    secrets.write_text(f"mqtt_password: {PASSWORD}\n")
    secrets.chmod(0o640)
    assert by_name(kiosk_setup.run())["secrets permissions"].status == "pass"


def test_the_secrets_file_named_by_the_environment_is_the_one_checked(kiosk_setup, tmp_path):
    secrets = tmp_path / "elsewhere.yaml"
    secrets.write_text(f"mqtt_password: {PASSWORD}\n")
    secrets.chmod(0o604)
    check = by_name(kiosk_setup.run(environ={"KIOSK_SECRETS_FILE": str(secrets)}))["secrets permissions"]
    assert check.status == "warn" and str(secrets) in check.detail


def test_a_tls_client_key_open_to_other_users_fails(kiosk_setup, tmp_path):
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text("PEM\n")
    (tmp_path / "client.key").chmod(0o644)
    kiosk_setup.hq_host = "hq.example.com"
    kiosk_setup.hq_extra = (
        f", tls_ca: {tmp_path}/ca.pem, tls_cert: {tmp_path}/client.pem, tls_key: {tmp_path}/client.key"
    )
    kiosk_setup.write_config()
    check = by_name(kiosk_setup.run(broker_probe=lambda target: None))["broker tls files"]
    assert check.status == "fail" and "0644" in check.detail and "chmod 0640" in check.fix


# --- the HQ password on the wire ----------------------------------------------------------------------


def probe_target(kiosk_setup, host: str, extra: str = ""):
    kiosk_setup.hq_host, kiosk_setup.hq_extra = host, f", username: kiosk, password: {PASSWORD}{extra}"
    kiosk_setup.write_config()
    return target_from_config(load_config(kiosk_setup.config_path, environ={}))


def test_the_probe_leaves_the_password_out_of_a_plain_connection_to_another_machine(kiosk_setup):
    assert probe_target(kiosk_setup, "hq.example.com").password is None


def test_the_probe_sends_the_password_over_tls(kiosk_setup, tmp_path):
    assert probe_target(kiosk_setup, "hq.example.com", f", tls_ca: {tmp_path}/ca.pem").password == PASSWORD


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1"])
def test_the_probe_sends_the_password_to_a_broker_on_this_machine(kiosk_setup, host):
    assert probe_target(kiosk_setup, host).password == PASSWORD


def test_a_password_over_tls_needs_no_encryption_finding(kiosk_setup, tmp_path):
    probe_target(kiosk_setup, "hq.example.com", f", tls_ca: {tmp_path}/ca.pem")
    assert by_name(kiosk_setup.run(broker_probe=lambda target: None))["broker encryption"].status == "pass"


class PlainMqttListener:
    """A TCP listener that answers every MQTT CONNECT with CONNACK 0 and keeps the bytes it received."""

    def __init__(self, host: str) -> None:
        self.server = socket.create_server((host, 0))
        self.port = self.server.getsockname()[1]
        self.received = bytearray()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self.server.settimeout(60)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(10)
            try:
                self.received += conn.recv(4096)
                conn.sendall(b"\x20\x02\x00\x00")  # CONNACK, session not present, accepted
                while chunk := conn.recv(4096):  # DISCONNECT, then the doctor closes
                    self.received += chunk
            except OSError:
                pass

    def close(self) -> None:
        self.server.close()
        self._thread.join(timeout=10)


def non_loopback_address() -> str:
    """This machine's address on its network (where a password would cross the wire)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a UDP connect only picks the route; nothing is sent
        address = probe.getsockname()[0]
    except OSError:
        pytest.skip("no network interface besides loopback")
    finally:
        probe.close()
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("no network interface besides loopback")
    return address


@pytest.mark.integration
def test_doctor_never_sends_the_password_over_a_plain_connection_to_another_machine(kiosk_setup):
    # doctor -> CONNECT as "kiosk" without the password -> CONNACK 0 -> DISCONNECT
    listener = PlainMqttListener(non_loopback_address())
    try:
        kiosk_setup.hq_host, kiosk_setup.hq_port = listener.server.getsockname()[0], listener.port
        kiosk_setup.hq_extra = f", username: kiosk, password: {PASSWORD}"
        kiosk_setup.write_config()
        checks = doctor_json(kiosk_setup)
    finally:
        listener.close()
    assert listener.received[:1] == b"\x10" and b"kiosk" in listener.received  # the probe did connect
    assert PASSWORD.encode() not in listener.received
    assert checks["broker"]["status"] == "pass" and "password was not sent" in checks["broker"]["detail"]


@pytest.mark.integration
def test_doctor_reports_that_the_kiosk_would_send_its_password_unencrypted(kiosk_setup):
    listener = PlainMqttListener(non_loopback_address())
    try:
        kiosk_setup.hq_host, kiosk_setup.hq_port = listener.server.getsockname()[0], listener.port
        kiosk_setup.hq_extra = f", username: kiosk, password: {PASSWORD}"
        kiosk_setup.write_config()
        check = doctor_json(kiosk_setup)["broker encryption"]
    finally:
        listener.close()
    assert check["status"] == "warn" and "unencrypted" in check["detail"]
    assert "hq.tls_ca" in check["fix"] and PASSWORD not in check["detail"] + check["fix"]
