"""What validations share, so that a new leaf is checked without redoing its CAs' work.

Names are normalized once per DER encoding, and the index of a set of anchors
and intermediates (certificates by subject, ranked candidates, their share of a
result key) is kept for validations given the same objects. Each test shows an
answer that the sharing must not change, beside its twin.
"""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from trustkit._asn1 import certificate_encoding
from trustkit.errors import PathBuildingError, ValidationLimitError
from trustkit.validation import ValidationPolicy, validate
from trustkit.validation._cache import facts_of

from .conftest import AT, NOT_AFTER, NOT_BEFORE, Node, Pki, issue, new_key, next_serial


def _leaf_named_by(issuer: Node, issuer_name: x509.Name) -> x509.Certificate:
    """A leaf signed by ``issuer`` whose issuer field is ``issuer_name`` as given."""
    key = new_key()
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf.example.gov")]))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(next_serial())
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(False, None), critical=True)
        .sign(issuer.key, hashes.SHA256())
    )


def _spelled(cn: str) -> x509.Name:
    """The test CAs' name (conftest.name) with ``cn`` as a PrintableString."""
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Trustkit Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn, _ASN1Type.PrintableString),
        ]
    )


def test_names_are_compared_as_rfc_5280_says_whatever_their_encoding(pki: Pki) -> None:
    anchors, pool = [pki.root.cert], [pki.inter.cert]
    same_bytes = _leaf_named_by(pki.inter, pki.inter.cert.subject)
    # Another string type, case and spacing: another encoding of an equal name (7.1).
    respelled = _leaf_named_by(pki.inter, _spelled("  test ISSUING   ca "))
    other = _leaf_named_by(pki.inter, _spelled("Test Issuing CA 2"))
    assert (
        certificate_encoding(respelled.public_bytes(serialization.Encoding.DER)).issuer
        != certificate_encoding(same_bytes.public_bytes(serialization.Encoding.DER)).issuer
    )
    for _ in range(2):  # the second time, every name comes from the shared table
        assert validate(same_bytes, trust_anchors=anchors, intermediates=pool, at=AT).path[1] == (
            pki.inter.cert
        )
        assert validate(respelled, trust_anchors=anchors, intermediates=pool, at=AT).path[1] == (
            pki.inter.cert
        )
        with pytest.raises(PathBuildingError, match="no issuer found"):
            validate(other, trust_anchors=anchors, intermediates=pool, at=AT)


def test_the_encoding_walk_finds_the_fields_cryptography_finds(pki: Pki) -> None:
    cert = pki.make_leaf().cert
    encoding = certificate_encoding(cert.public_bytes(serialization.Encoding.DER))
    assert encoding.issuer == cert.issuer.public_bytes()
    assert encoding.subject == cert.subject.public_bytes()
    assert encoding.public_key_info == cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert not encoding.subject_empty
    assert not facts_of(cert).subject_empty
    # Mirror: a certificate whose subject is empty (its names in subjectAltName).
    empty = issue(x509.Name([]), pki.inter, san=[x509.DNSName("leaf.example.gov")]).cert
    assert certificate_encoding(empty.public_bytes(serialization.Encoding.DER)).subject_empty
    assert facts_of(empty).subject_empty


def test_work_is_counted_in_every_validation_over_a_shared_pool(pki: Pki) -> None:
    """Ranking many candidates under one name is work, counted again in each
    validation, although the ranking itself is kept for the pool."""
    decoys = [
        issue(pki.inter.cert.subject, pki.root, ca=True, path_length=0).cert for _ in range(50)
    ]
    anchors, pool = [pki.root.cert], [*decoys, pki.inter.cert]
    tight = ValidationPolicy(max_work=40)
    for _ in range(3):  # the first ranks; the others find the ranking shared
        ee = pki.make_leaf().cert
        with pytest.raises(ValidationLimitError, match="max_work"):
            validate(ee, trust_anchors=anchors, intermediates=pool, at=AT, policy=tight)
        # Twin: enough room for the 51 candidates, and the same pool builds the path.
        result = validate(ee, trust_anchors=anchors, intermediates=pool, at=AT)
        assert result.path[1] == pki.inter.cert
