"""A small CA with a few certificates, some revoked, for CRL and OCSP tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority, IssuedCertificate
from trustkit.clock import Clock
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_name

PASSPHRASE = b"correct horse battery staple"
BASE_URL = "http://pki.example.gov"


@dataclass
class Hierarchy:
    """A root CA and three leaves: ``good``, ``revoked`` (keyCompromise) and ``other``."""

    ca: CertificateAuthority
    good: IssuedCertificate
    revoked: IssuedCertificate
    other: IssuedCertificate
    directory: Path

    def write(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        return path

    @property
    def root_pem(self) -> Path:
        return self.write("root.pem", self.ca.certificate.public_bytes(Encoding.PEM))


def issue_leaf(ca: CertificateAuthority, host: str) -> IssuedCertificate:
    key = generate_key()
    return ca.issue(
        create_csr(key, parse_name(f"CN={host},O=Example Government,C=EX")),
        "tls-server",
        sans=[x509.DNSName(host)],
    )


def make_ca(
    directory: Path,
    clock: Clock | None = None,
    *,
    name: str = "test-root",
    store: str | None = None,
    shards: int = 0,
    delta: bool = False,
) -> CertificateAuthority:
    ca = CertificateAuthority.create_root(
        f"CN=Test Root {name},O=Example Government,C=EX",
        directory,
        passphrase=PASSPHRASE,
        name=name,
        base_url=BASE_URL,
        store=store,
        clock=clock,
    )
    if shards or delta:
        ca.close()
        toml = directory / "trustkit.toml"
        extra = (f"shards = {shards}\n" if shards else "") + ("delta = true\n" if delta else "")
        toml.write_text(toml.read_text().replace("[crl]\n", "[crl]\n" + extra))
        ca = CertificateAuthority.open(directory, passphrase=PASSPHRASE, clock=clock)
    return ca


def make_hierarchy(directory: Path, clock: Clock | None = None, **options: object) -> Hierarchy:
    ca = make_ca(directory / "ca", clock, **options)  # type: ignore[arg-type]
    good = issue_leaf(ca, "www.example.gov")
    revoked = issue_leaf(ca, "old.example.gov")
    other = issue_leaf(ca, "mail.example.gov")
    ca.revoke(revoked.serial, x509.ReasonFlags.key_compromise)
    return Hierarchy(ca, good, revoked, other, directory)


@pytest.fixture
def hierarchy(tmp_path: Path) -> Iterator[Hierarchy]:
    h = make_hierarchy(tmp_path)
    yield h
    h.ca.close()


def openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run openssl; the caller reads the output (openssl exits 0 on some failures)."""
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )
