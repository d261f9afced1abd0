"""Batch issuance: CertificateAuthority.issue_many, all or nothing, one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority, Enrollment
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.errors import BatchPolicyViolation, PolicyViolation
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name

PASS = b"correct horse battery staple"


@pytest.fixture
def ca(tmp_path: Path, clock: FixedClock) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        "CN=Batch Root CA,O=Republic of Example,C=EX",
        tmp_path / "root",
        passphrase=PASS,
        base_url="http://pki.example.gov",
        key_type="ec-p256",
        clock=clock,
    )


def _csr(subject: str, *sans: str) -> x509.CertificateSigningRequest:
    return create_csr(generate_key("ec-p256"), parse_name(subject), parse_general_names(sans))


def _hosts(count: int) -> list[Enrollment]:
    return [
        Enrollment(_csr(f"CN=host{i}.example.gov", f"dns:host{i}.example.gov"))
        for i in range(count)
    ]


def test_a_batch_is_issued_and_recorded(ca: CertificateAuthority) -> None:
    issued = ca.issue_many(_hosts(20))
    assert len({c.serial for c in issued}) == 20
    public = ca.certificate.public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    for index, one in enumerate(issued):
        one.certificate.verify_directly_issued_by(ca.certificate)
        assert one.record.subject == f"CN=host{index}.example.gov"
        assert one.record.sans == (f"dns:host{index}.example.gov",)
        # Recorded, and the record read back is the same certificate.
        assert ca.get(one.serial).der == one.certificate.public_bytes(Encoding.DER)
    assert len([r for r in ca.list() if r.profile == "tls-server"]) == 20


def test_batch_certificates_match_single_ones(ca: CertificateAuthority) -> None:
    csr = _csr("CN=www.example.gov", "dns:www.example.gov")
    single = ca.issue(csr, "tls-server").certificate
    batch = ca.issue_many([Enrollment(csr, "tls-server")])[0].certificate
    assert [e.oid for e in single.extensions] == [e.oid for e in batch.extensions]
    assert [e.critical for e in single.extensions] == [e.critical for e in batch.extensions]
    for one, other in zip(single.extensions, batch.extensions, strict=True):
        if one.oid != x509.oid.ExtensionOID.SUBJECT_KEY_IDENTIFIER:
            assert one.value == other.value
    assert single.subject == batch.subject
    assert single.not_valid_after_utc == batch.not_valid_after_utc


def test_one_bad_request_fails_the_whole_batch(ca: CertificateAuthority) -> None:
    before = len(list(ca.list()))
    enrollments = _hosts(5)
    # Index 2 asks for an e-mail SAN, which tls-server does not issue; index 4
    # names a profile that does not exist.
    enrollments[2] = Enrollment(_csr("CN=bad.example.gov", "email:someone@example.gov"))
    enrollments[4] = Enrollment(enrollments[4].csr, "no-such-profile")
    with pytest.raises(BatchPolicyViolation) as info:
        ca.issue_many(enrollments)
    assert set(info.value.failures) == {2, 4}
    assert isinstance(info.value, PolicyViolation)
    assert "requests[2].subjectAltName" in str(info.value)
    assert "requests[4].profile" in str(info.value)
    # Nothing of the batch was written.
    assert len(list(ca.list())) == before


def test_an_empty_batch_issues_nothing(ca: CertificateAuthority) -> None:
    assert ca.issue_many([]) == []
