"""A real Mosquitto started from the shipped samples, docs/broker/mosquitto.conf and kiosk.acl,
installed the way their README says: the sample as conf.d/kiosk.conf below a main file like
Debian's /etc/mosquitto/mosquitto.conf.

Only what must differ on a test machine is substituted: the file paths (CA, broker certificate,
CRL, ACL, persistence), the listener's port and address (a free loopback port), and the user the
broker runs as. The ACL is copied unchanged: its prefix, kiosk/v1, is the prefix of the tests.
So a test that starts a `SampleBroker` fails when somebody breaks the sample a technician copies.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from pathlib import Path

from sync.mqtt_client import TlsSettings
from tests.sync.broker import Mosquitto
from tests.sync.pki import TestPki

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "broker"
SAMPLE_CONFIG = SAMPLES / "mosquitto.conf"
SAMPLE_ACL = SAMPLES / "kiosk.acl"
#: The topic prefix written in the sample ACL.
SAMPLE_PREFIX = "kiosk/v1"

# Debian's main file with the test's paths. It logs to stderr (Debian: a file) so that
# `Mosquitto.start` can quote the broker's complaint, and it names the user to run as: started
# as root, Mosquitto would switch to user "mosquitto", who cannot read the test's files.
_MAIN_CONFIG = """\
user {user}
pid_file {folder}/mosquitto.pid
persistence true
persistence_location {folder}/data/
log_dest stderr
include_dir {folder}/conf.d
"""


class SampleError(ValueError):
    """The sample contains something the test harness does not know how to substitute."""


def directives(text: str) -> list[tuple[int, str, str]]:
    """(line number, directive, value) of every line of a Mosquitto config that is not a comment."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            name, _, value = stripped.partition(" ")
            found.append((number, name, value.strip()))
    return found


def sample_directives() -> list[tuple[int, str, str]]:
    return directives(SAMPLE_CONFIG.read_text(encoding="utf-8"))


def sample_value(name: str) -> str:
    """The value of directive `name` in the sample (the last one, as for Mosquitto)."""
    values = [value for _, found, value in sample_directives() if found == name]
    if not values:
        raise SampleError(f"{SAMPLE_CONFIG} does not set {name}")
    return values[-1]


def sample_config(port: int, paths: Mapping[str, Path]) -> str:
    """The sample with its listener on 127.0.0.1:`port` and every path replaced from `paths`
    (directive -> path). A path directive missing from `paths` is an error, not left pointing at
    /etc on the test machine."""
    lines = SAMPLE_CONFIG.read_text(encoding="utf-8").splitlines()
    listeners = 0
    for number, name, value in directives("\n".join(lines)):
        if name == "listener":
            listeners += 1
            lines[number - 1] = f"listener {port} 127.0.0.1"
        elif name in paths:
            lines[number - 1] = f"{name} {paths[name]}"
        elif any(word.startswith("/") for word in value.split()):
            raise SampleError(f"{SAMPLE_CONFIG}:{number}: no test path for {name} {value}")
    if listeners != 1:
        raise SampleError(f"{SAMPLE_CONFIG}: the tests expect exactly one listener, found {listeners}")
    return "\n".join(lines) + "\n"


class SampleBroker:
    """The sample broker; `server` (a `Mosquitto`) starts, stops and restarts it.

    Its CA, certificate and CRL come from a `TestPki` of its own (`tls_for` and `revoke` work with
    it) or, with `ca_dir`, are the files make-device-cert.sh wrote there."""

    def __init__(self, folder: Path, *, ca_dir: Path | None = None) -> None:
        self.pki: TestPki | None = None
        self._revoked: list[Path] = []
        if ca_dir is None:
            self.pki = TestPki(folder / "pki")
            server_files = self.pki.issue("localhost", server=True)
            self.ca, cert, key = self.pki.ca, server_files.cert, server_files.key
            self.crl = self.pki.write_crl(folder / "pki" / "crl.pem")
        else:
            self.ca, cert, key = ca_dir / "ca.pem", ca_dir / "broker.pem", ca_dir / "broker.key"
            self.crl = ca_dir / "crl.pem"
        acl = folder / "kiosk.acl"
        acl.write_bytes(SAMPLE_ACL.read_bytes())
        # Mosquitto gives the free port, the process control and the log; its config is replaced.
        self.server = Mosquitto(folder)
        (folder / "data").mkdir()
        (folder / "conf.d").mkdir()
        paths = {"cafile": self.ca, "certfile": cert, "keyfile": key, "crlfile": self.crl, "acl_file": acl}
        (folder / "conf.d" / "kiosk.conf").write_text(sample_config(self.server.port, paths))
        self.server.config.write_text(_MAIN_CONFIG.format(user=getpass.getuser(), folder=folder))
        self.host = "localhost"  # the name in the server certificate
        self.port = self.server.port

    def tls_for(self, identity: str) -> TlsSettings:
        """A new certificate with CN = `identity`, signed by the test CA."""
        assert self.pki is not None, "certificates from make-device-cert.sh: name their files"
        files = self.pki.issue(identity)
        return TlsSettings(self.ca, files.cert, files.key)

    def revoke(self, tls: TlsSettings) -> None:
        """List the certificate in the CRL; the broker reads it when it starts or reloads (SIGHUP)."""
        assert self.pki is not None and tls.cert_file is not None
        self._revoked.append(tls.cert_file)
        self.pki.write_crl(self.crl, self._revoked)
