"""The draft a CA runs the chain rules on is the certificate it signs, with no second signature.

Issuance judges the certificate a request would become by the validator's rules on
its chain before the CA signs it. The draft is built with a stand-in for the CA's key
that returns a placeholder instead of signing (one signature per certificate, the
CA's), so it must carry exactly what the signed certificate carries but the serial
number and the signature value; and the chain rules must still refuse what the chain
forbids.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

import trustkit.ca._authority
from trustkit.ca import CertificateAuthority
from trustkit.ca._preview import PLACEHOLDER_DSS_SIGNATURE
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.errors import PolicyViolation
from trustkit.keys import KeyType, generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.policy import ChainOutcome, IssuanceRequest, chain_outcome

PASS = b"correct horse battery staple"
AT = datetime(2026, 1, 15, 12, tzinfo=UTC)


def _record_drafts(monkeypatch: pytest.MonkeyPatch) -> list[x509.Certificate]:
    drafts: list[x509.Certificate] = []

    def recording(request: IssuanceRequest, candidate: x509.Certificate) -> ChainOutcome:
        drafts.append(candidate)
        return chain_outcome(request, candidate)

    monkeypatch.setattr(trustkit.ca._authority, "chain_outcome", recording)
    return drafts


def _integer(value: int) -> bytes:
    """The DER INTEGER of a positive serial number (X.690 8.3, short length form)."""
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")
    return bytes((0x02, len(body))) + body


def _verifies(issuer: x509.Certificate, cert: x509.Certificate) -> bool:
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(
                cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
            )
        elif isinstance(key, rsa.RSAPublicKey):
            assert cert.signature_hash_algorithm is not None
            key.verify(
                cert.signature,
                cert.tbs_certificate_bytes,
                padding.PKCS1v15(),
                cert.signature_hash_algorithm,
            )
        else:
            assert isinstance(key, ed25519.Ed25519PublicKey)
            key.verify(cert.signature, cert.tbs_certificate_bytes)
    except InvalidSignature:
        return False
    return True


@pytest.mark.parametrize(
    "key_type", [KeyType.EC_P256, KeyType.EC_P384, KeyType.RSA_2048, KeyType.ED25519]
)
def test_the_draft_is_the_issued_certificate_unsigned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_type: KeyType
) -> None:
    ca = CertificateAuthority.create_root(
        "CN=Preview Root,O=Example Government,C=EX",
        tmp_path / "ca",
        passphrase=PASS,
        key_type=key_type,
        clock=FixedClock(AT),
    )
    drafts = _record_drafts(monkeypatch)
    try:
        csr = create_csr(
            generate_key(),
            parse_name("CN=www.example.gov,O=Example Government,C=EX"),
            parse_general_names(["dns:www.example.gov"]),
        )
        # Ed25519 CAs are outside the web PKI profile (CABF 7.1.3.1): a device profile.
        profile = "tls-client" if key_type is KeyType.ED25519 else "tls-server"
        issued = ca.issue(csr, profile).certificate
    finally:
        ca.close()
    assert len(drafts) == 1
    draft = drafts[0]
    # Every octet the chain rules read is what the CA signed, but the serial number:
    # the TBSCertificate (its signature algorithm included) and signatureAlgorithm.
    assert draft.serial_number != issued.serial_number
    expected_tbs = issued.tbs_certificate_bytes.replace(
        _integer(issued.serial_number), _integer(draft.serial_number), 1
    )
    assert draft.tbs_certificate_bytes == expected_tbs
    assert draft.signature_algorithm_oid == issued.signature_algorithm_oid
    # The issued certificate verifies under the CA's key; the draft verifies under none:
    # its signature is the placeholder, so no key signed it twice.
    assert _verifies(ca.certificate, issued)
    assert not _verifies(ca.certificate, draft)
    if key_type in (KeyType.EC_P256, KeyType.EC_P384):
        assert draft.signature == PLACEHOLDER_DSS_SIGNATURE
    else:
        assert draft.signature == bytes(len(issued.signature))


def test_the_draft_is_still_judged_by_the_chain_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CA whose chain has no room for another CA refuses a subordinate; its twin
    with room issues one. Both ran the rules on a draft with a placeholder signature."""
    clock = FixedClock(AT)
    drafts = _record_drafts(monkeypatch)
    for length, refused in ((0, True), (1, False)):
        ca = CertificateAuthority.create_root(
            f"CN=Preview Root {length},O=Example Government,C=EX",
            tmp_path / f"ca{length}",
            passphrase=PASS,
            path_length=length,
            clock=clock,
        )
        try:
            csr = create_csr(
                generate_key(), parse_name(f"CN=Preview Sub {length},O=Example Government,C=EX")
            )
            if refused:
                with pytest.raises(PolicyViolation, match="pathLenConstraint"):
                    ca.issue(csr, "sub-ca")
            else:
                sub = ca.issue(csr, "sub-ca").certificate
                assert sub.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        finally:
            ca.close()
    assert len(drafts) == 2
    assert all(d.signature == PLACEHOLDER_DSS_SIGNATURE for d in drafts)
