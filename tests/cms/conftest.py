"""A small PKI at fixed times for the CMS and TSA tests: root, issuing CA, signers, TSA."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_name
from trustkit.tsa import TimestampAuthority

ISSUED_AT = datetime(2025, 1, 1, tzinfo=UTC)
SIGNED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VERIFY_AT = datetime(2025, 6, 1, tzinfo=UTC)
PASS = b"test passphrase"
KEY_TYPES = ("ec-p256", "ec-p384", "rsa-2048", "ed25519")


@dataclass(frozen=True)
class Pki:
    root: CertificateAuthority
    issuing: CertificateAuthority
    other_root: CertificateAuthority
    signers: dict[str, tuple[PrivateKeyTypes, x509.Certificate]]
    tsa: TimestampAuthority
    directory: Path

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        return (self.issuing.certificate, self.root.certificate)


def build_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    """Make the test PKI (a generator, for fixtures here and in tests/test_tsa.py)."""
    base = tmp_path_factory.mktemp("pki")
    clock = FixedClock(ISSUED_AT)
    root = CertificateAuthority.create_root(
        "CN=Test Root CA,O=Test,C=EX", base / "root", passphrase=PASS, clock=clock
    )
    issuing = root.create_subordinate(
        "CN=Test Issuing CA,O=Test,C=EX", base / "issuing", passphrase=PASS
    )
    other = CertificateAuthority.create_root(
        "CN=Other Root CA,O=Other,C=EX", base / "other", passphrase=PASS, clock=clock
    )
    signers = {}
    for key_type in KEY_TYPES:
        key = generate_key(key_type)
        subject = parse_name(f"CN=Seal {key_type},O=Test Org,C=EX,2.5.4.97=VATEX-1234")
        issued = issuing.issue(create_csr(key, subject), "org-seal", at=ISSUED_AT)
        signers[key_type] = (key, issued.certificate)
    tsa = TimestampAuthority.create(
        issuing, base / "tsa", subject="CN=Test TSA,O=Test", passphrase=PASS, at=ISSUED_AT
    )
    yield Pki(root, issuing, other, signers, tsa, base)
    tsa.close()
    for ca in (root, issuing, other):
        ca.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)
