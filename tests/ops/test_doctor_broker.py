"""The doctor's broker check against a real Mosquitto: plain, password, TLS, and unreachable.

Each test describes the exchange: the doctor connects (TCP, then TLS when hq.tls_ca is set),
sends MQTT CONNECT under "<device>-doctor", and reads the broker's CONNACK.
"""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.doctor import exit_status
from app.doctor.probes import BrokerProbeError, BrokerTarget, probe_broker
from tests.sync.broker import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="mosquitto not installed"),
]


class Broker:
    def __init__(self, workdir: Path, extra: str = "") -> None:
        self.port = free_port()
        conf = workdir / "mosquitto.conf"
        # As root, mosquitto drops to user "mosquitto", which cannot read files under pytest's 0700
        # tmp dirs; staying the invoking user (ignored when not root) keeps the test self-contained.
        conf.write_text(f"user {getpass.getuser()}\nlistener {self.port} 127.0.0.1\n{extra}")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start listening")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture
def start_broker(tmp_path):
    started: list[Broker] = []

    def start(extra: str = "") -> Broker:
        broker = Broker(tmp_path, extra)
        started.append(broker)
        return broker

    yield start
    for broker in started:
        broker.stop()


def _cert(subject: str, key, issuer_name, issuer_key, *, ca: bool, san: str | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for "localhost"; returns (ca, cert, key) PEM paths."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = _cert(f"{name} CA", ca_key, ca_name, ca_key, ca=True)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _cert("localhost", server_key, ca_name, ca_key, ca=False, san="localhost")
    paths = directory / f"{name}-ca.pem", directory / f"{name}-server.pem", directory / f"{name}-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


def broker_result(kiosk_setup, host: str, port: int, extra: str = ""):
    kiosk_setup.hq_host, kiosk_setup.hq_port, kiosk_setup.hq_extra = host, port, extra
    kiosk_setup.write_config()
    results = kiosk_setup.run()
    return {r.name: r for r in results}["broker"], results


def test_a_reachable_anonymous_broker_passes(kiosk_setup, start_broker):
    # doctor -> CONNECT (no credentials) -> CONNACK 0
    broker = start_broker("allow_anonymous true\n")
    result, results = broker_result(kiosk_setup, "127.0.0.1", broker.port)
    assert result.ok and "accepts" in result.detail
    assert exit_status(results) == 0


def test_wrong_credentials_are_told_apart_from_an_unreachable_broker(kiosk_setup, start_broker, tmp_path):
    # doctor -> CONNECT (kiosk / wrong password) -> CONNACK 5 (not authorised)
    passwd = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(passwd), "kiosk", "right-password"], check=True, capture_output=True
    )
    broker = start_broker(f"allow_anonymous false\npassword_file {passwd}\n")
    result, _ = broker_result(kiosk_setup, "127.0.0.1", broker.port, ", username: kiosk, password: wrong-password")
    assert result.status == "fail" and "credentials" in result.fix
    assert "wrong-password" not in result.detail + result.fix

    result, _ = broker_result(kiosk_setup, "127.0.0.1", broker.port, ", username: kiosk, password: right-password")
    assert result.ok


def test_an_unreachable_broker_fails_with_a_network_fix(kiosk_setup):
    # doctor -> TCP SYN to a port nobody listens on -> RST
    result, results = broker_result(kiosk_setup, "127.0.0.1", free_port())
    assert result.status == "fail" and "refused" in result.detail and "hq.port" in result.fix
    assert exit_status(results) == 1


def test_an_unresolvable_host_fails_with_a_dns_fix(kiosk_setup):
    result, _ = broker_result(kiosk_setup, "no-such-host.invalid", 1883)
    assert result.status == "fail" and "DNS" in result.fix


def test_tls_with_the_right_ca_passes(kiosk_setup, start_broker, tmp_path):
    # doctor -> TLS handshake (verifies localhost against hq.tls_ca) -> CONNECT -> CONNACK 0
    ca, cert, key = make_pki(tmp_path, "hq")
    broker = start_broker(f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    result, _ = broker_result(kiosk_setup, "localhost", broker.port, f", tls_ca: {ca}")
    assert result.ok and "(TLS)" in result.detail


def test_tls_with_a_foreign_ca_fails_and_points_at_ca_and_clock(kiosk_setup, start_broker, tmp_path):
    ca, cert, key = make_pki(tmp_path, "hq")
    other_ca, _, _ = make_pki(tmp_path, "other")
    broker = start_broker(f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
    result, _ = broker_result(kiosk_setup, "localhost", broker.port, f", tls_ca: {other_ca}")
    assert result.status == "fail" and "not trusted" in result.detail and "clock" in result.fix


def test_tls_against_a_plain_listener_fails_as_a_tls_problem(start_broker, tmp_path):
    ca, _, _ = make_pki(tmp_path, "hq")
    broker = start_broker("allow_anonymous true\n")
    with pytest.raises(BrokerProbeError) as err:
        probe_broker(BrokerTarget("localhost", broker.port, tls_ca=ca, timeout_s=5))
    assert err.value.kind == "tls"


def test_something_that_is_not_mqtt_is_recognised(tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    import threading

    def answer_http() -> None:
        conn, _ = server.accept()
        conn.recv(100)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_http, daemon=True)
    thread.start()
    try:
        with pytest.raises(BrokerProbeError) as err:
            probe_broker(BrokerTarget("127.0.0.1", port, timeout_s=5))
        assert err.value.kind == "mqtt"
    finally:
        thread.join(timeout=5)
        server.close()
