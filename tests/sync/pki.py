"""A throw-away PKI for the TLS tests, made with `cryptography`: a CA, the broker's server
certificate, client certificates whose CN is the MQTT identity (device id or an HQ identity), and
the CA's certificate revocation list (Mosquitto's `crlfile`)."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


class TestPki:
    """CA in `folder`; `issue(cn)` writes cn.pem / cn.key signed by it."""

    __test__ = False  # not a pytest class

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._now = dt.datetime.now(dt.UTC)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        self._ca_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("Test Kiosk CA"))
            .issuer_name(_name("Test Kiosk CA"))
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._now - dt.timedelta(hours=1))
            .not_valid_after(self._now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(self._ca_key, hashes.SHA256())
        )
        self.ca = folder / "ca.pem"
        self.ca.write_bytes(self._ca_cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, cn: str, *, server: bool = False) -> CertFiles:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(self._ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(self._now - dt.timedelta(hours=1))
            .not_valid_after(self._now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(self._ca_key, hashes.SHA256())
        files = CertFiles(self.folder / f"{cn}.pem", self.folder / f"{cn}.key")
        files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, files.key)
        return files

    def write_crl(
        self, path: Path, revoked: Iterable[Path] = (), *, expires_in: dt.timedelta = dt.timedelta(days=1)
    ) -> Path:
        """Write a PEM CRL signed by the CA that lists the certificates in `revoked` (PEM files).

        With `crlfile` set, Mosquitto does not start without the file and (OpenSSL) refuses every
        client certificate once the CRL is past its next update; a negative `expires_in` writes
        such a CRL."""
        next_update = self._now + expires_in
        last_update = min(self._now, next_update) - dt.timedelta(hours=1)
        builder = x509.CertificateRevocationListBuilder().issuer_name(self._ca_cert.subject)
        builder = builder.last_update(last_update).next_update(next_update)
        for cert_file in revoked:
            serial = x509.load_pem_x509_certificate(cert_file.read_bytes()).serial_number
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(last_update).build()
            )
        crl = builder.sign(self._ca_key, hashes.SHA256())
        path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        return path
