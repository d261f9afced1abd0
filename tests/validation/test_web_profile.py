"""The web PKI profile (CA/Browser Forum Baseline Requirements 7.1) on TLS purposes:
each rule refused for TLS and passed for other purposes."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from trustkit.errors import PathValidationError, ValidationError
from trustkit.validation import Purpose, ValidationResult, validate

from .conftest import AT, NOT_AFTER, NOT_BEFORE, Node, Pki, issue, ku, leaf, name

DS = ku(digital_signature=True)


def _validate(pki: Pki, ee: Node, **kw: Any) -> ValidationResult:
    return validate(
        ee.cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT, **kw
    )


def test_web_profile_end_entity_rules(pki: Pki) -> None:
    no_aki = pki.make_leaf(with_ski=False)
    any_eku = pki.make_leaf(eku=[EKU.ANY_EXTENDED_KEY_USAGE])
    no_san = issue("leaf.example.gov", pki.inter, key_usage=DS, eku=[EKU.SERVER_AUTH])
    for ee, why in (
        (no_aki, "authorityKeyIdentifier"),
        (any_eku, "serverAuth"),
        (no_san, "subjectAltName"),
    ):
        with pytest.raises(ValidationError, match=why) as info:
            _validate(pki, ee, purpose=Purpose.TLS_SERVER)
        assert info.value.index == 0
        # The same certificates pass where the web profile does not apply.
        assert _validate(pki, ee, purpose=Purpose.ANY)
    assert _validate(pki, pki.make_leaf(), purpose=Purpose.TLS_SERVER)


def _tls_and_any(anchor: Node, ee: Node, intermediates: list[Node], why: str, index: int) -> None:
    """``ee`` fails the web profile at ``index`` with ``why`` under TLS and passes under ANY."""
    kw: dict[str, Any] = {
        "trust_anchors": [anchor.cert],
        "intermediates": [n.cert for n in intermediates],
        "at": AT,
    }
    with pytest.raises(PathValidationError, match=why) as info:
        validate(ee.cert, purpose=Purpose.TLS_SERVER, hostname="leaf.example.gov", **kw)
    assert info.value.index == index
    assert validate(ee.cert, purpose=Purpose.ANY, **kw)


def _ca_by_hand(cn: str, issuer: Node, *, ski: bool, aki: bool) -> Node:
    """A CA certificate with or without its key identifiers."""
    key = issue(cn, None).key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer.cert.subject)
        .public_key(key.public_key())
        .serial_number(4343)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(True, None), critical=True)
        .add_extension(ku(key_cert_sign=True, crl_sign=True), critical=True)
    )
    if ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False
        )
    if aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    return Node(builder.sign(issuer.key, hashes.SHA256()), key)


def test_web_profile_ca_key_identifiers(pki: Pki) -> None:
    # RFC 5280 4.2.1.2 and 4.2.1.1: a CA names its own key, and its issuer's unless
    # self-signed; both are what path building leans on.
    no_ski = _ca_by_hand("No SKI CA", pki.root, ski=False, aki=True)
    _tls_and_any(pki.root, leaf(no_ski), [no_ski], "subjectKeyIdentifier", 1)
    no_aki = _ca_by_hand("No AKI CA", pki.root, ski=True, aki=False)
    _tls_and_any(pki.root, leaf(no_aki), [no_aki], "authorityKeyIdentifier is required", 1)
    # A cross-certificate trusted as an anchor is not self-signed: it needs an AKI too.
    _tls_and_any(no_aki, leaf(no_aki), [], "authorityKeyIdentifier is required", 1)
    both = _ca_by_hand("Proper CA", pki.root, ski=True, aki=True)
    assert validate(
        leaf(both).cert,
        trust_anchors=[pki.root.cert],
        intermediates=[both.cert],
        at=AT,
        purpose=Purpose.TLS_SERVER,
    )


def test_web_profile_root_rules(pki: Pki) -> None:
    eku_root = issue("EKU Root", None, ca=True, eku=[EKU.SERVER_AUTH])
    _tls_and_any(eku_root, leaf(eku_root), [], "must not carry extendedKeyUsage", 1)
    stray = x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None)
    odd_aki = issue("Odd AKI Root", None, ca=True, extra=[(stray, False)])
    _tls_and_any(odd_aki, leaf(odd_aki), [], "must be its subjectKeyIdentifier", 1)
    # The twin: a root whose AKI is its SKI (as trustkit's roots are) passes.
    same = issue("Same AKI Root", None, ca=True)
    own = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
        same.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    )
    same = issue("Same AKI Root", None, ca=True, key=same.key, extra=[(own, False)])
    ee = leaf(same)
    assert validate(ee.cert, trust_anchors=[same.cert], at=AT, purpose=Purpose.TLS_SERVER)


def _root_by_hand(cn: str, *, issuer_cn: str | None = None, key_usage: bool = True) -> Node:
    """A root signed by its own key, its issuer name ``issuer_cn`` (default: its own)."""
    key = issue(cn, None).key
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(name(issuer_cn or cn))
        .public_key(key.public_key())
        .serial_number(4444)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(True, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if key_usage:
        builder = builder.add_extension(ku(key_cert_sign=True, crl_sign=True), critical=True)
    return Node(builder.sign(key, hashes.SHA256()), key)


def test_web_profile_root_with_serial_zero_is_trusted(pki: Pki) -> None:
    # Starfield Root Certificate Authority - G2, a trusted web root, has serial 0; an
    # issuing CA with serial 0 under it is still refused.
    with warnings.catch_warnings():  # cryptography warns of the serials it is asked to write
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        root = _reissue(pki.root, pki.root, serial=0)
        zero_ca = _reissue(pki.inter, root, serial=0)
    kw: dict[str, Any] = {"at": AT, "purpose": Purpose.TLS_SERVER}
    assert validate(
        pki.make_leaf().cert, trust_anchors=[root.cert], intermediates=[pki.inter.cert], **kw
    )
    with pytest.raises(PathValidationError, match="serial number must be positive") as info:
        validate(
            pki.make_leaf().cert, trust_anchors=[root.cert], intermediates=[zero_ca.cert], **kw
        )
    assert info.value.index == 1


def test_web_profile_roots_are_trusted_as_given(pki: Pki) -> None:
    # Signed by its own key under another issuer name (CVE-2024-0567's "Root A"): it is
    # self-signed, so RFC 5280 4.2.1.1 lets it go without an AKI.
    odd_name = _root_by_hand("Root A", issuer_cn="Someone Else")
    assert validate(
        leaf(odd_name).cert, trust_anchors=[odd_name.cert], at=AT, purpose=Purpose.TLS_SERVER
    )
    # A root without keyUsage: issuance rules bind CAs, and a root is not issued.
    no_ku = _root_by_hand("Old Root", key_usage=False)
    assert validate(leaf(no_ku).cert, trust_anchors=[no_ku.cert], at=AT, purpose=Purpose.TLS_SERVER)
    # The twin: the same certificate as an intermediate under another root needs keyUsage.
    with pytest.raises(PathValidationError, match="needs keyUsage"):
        validate(
            leaf(no_ku).cert,
            trust_anchors=[pki.root.cert],
            intermediates=[_reissue(no_ku, pki.root, serial=4545, aki=True).cert],
            at=AT,
            purpose=Purpose.TLS_SERVER,
        )


def _reissue(node: Node, issuer: Node, *, serial: int, aki: bool = False) -> Node:
    """``node``'s name, key and extensions certified by ``issuer`` (plus an AKI if asked)."""
    builder = x509.CertificateBuilder(
        issuer_name=issuer.cert.subject,
        subject_name=node.cert.subject,
        public_key=node.key.public_key(),
        serial_number=serial,
        not_valid_before=NOT_BEFORE,
        not_valid_after=NOT_AFTER,
        extensions=list(node.cert.extensions),
    )
    if aki:
        key_id = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key())
        builder = builder.add_extension(key_id, critical=False)
    return Node(builder.sign(issuer.key, hashes.SHA256()), node.key)


PRECERTIFICATE = x509.ObjectIdentifier("1.3.6.1.4.1.11129.2.4.4")  # RFC 6962 3.1


@pytest.mark.parametrize(
    "extra",
    [EKU.CODE_SIGNING, EKU.EMAIL_PROTECTION, EKU.TIME_STAMPING, EKU.OCSP_SIGNING, PRECERTIFICATE],
    ids=["codeSigning", "emailProtection", "timeStamping", "OCSPSigning", "precertificate"],
)
def test_web_profile_server_eku_holds_server_and_client_auth_only(
    pki: Pki, extra: x509.ObjectIdentifier
) -> None:
    mixed = pki.make_leaf(eku=[EKU.SERVER_AUTH, extra])
    _tls_and_any(pki.root, mixed, [pki.inter], "serverAuth and clientAuth only", 0)
    both = pki.make_leaf(eku=[EKU.SERVER_AUTH, EKU.CLIENT_AUTH])
    assert _validate(pki, both, purpose=Purpose.TLS_SERVER)


@pytest.mark.parametrize(
    ("extension", "label"),
    [
        (x509.PolicyConstraints(require_explicit_policy=3, inhibit_policy_mapping=None), "policyC"),
        (x509.InhibitAnyPolicy(0), "inhibitAnyPolicy"),
    ],
)
def test_web_profile_policy_controls_are_critical(
    pki: Pki, extension: x509.ExtensionType, label: str
) -> None:
    soft = issue("Soft Policy CA", pki.root, ca=True, extra=[(extension, False)])
    _tls_and_any(pki.root, leaf(soft), [soft], f"{label}.* must be critical", 1)
    hard = issue("Hard Policy CA", pki.root, ca=True, extra=[(extension, True)])
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [hard.cert], "at": AT}
    if isinstance(extension, x509.InhibitAnyPolicy):
        assert validate(leaf(hard).cert, purpose=Purpose.TLS_SERVER, **kw)


def test_web_profile_end_entity_any_eku_and_zero_serial(pki: Pki) -> None:
    both = pki.make_leaf(eku=[EKU.SERVER_AUTH, EKU.ANY_EXTENDED_KEY_USAGE])
    _tls_and_any(pki.root, both, [pki.inter], "anyExtendedKeyUsage", 0)
    with warnings.catch_warnings():  # cryptography warns of the serial it is asked to write
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        zero = _reissue(pki.make_leaf(), pki.inter, serial=0)
    _tls_and_any(pki.root, zero, [pki.inter], "serial number must be positive", 0)


def test_web_profile_ca_needs_key_usage(pki: Pki) -> None:
    no_ku = issue_no_ku("No KU CA", pki)
    ee = leaf(no_ku)
    kw: dict[str, Any] = {"trust_anchors": [pki.root.cert], "intermediates": [no_ku.cert], "at": AT}
    assert validate(ee.cert, **kw)
    with pytest.raises(PathValidationError, match="keyUsage") as info:
        validate(ee.cert, purpose=Purpose.TLS_SERVER, **kw)
    assert info.value.index == 1


def issue_no_ku(cn: str, pki: Pki) -> Node:
    """A CA certificate without keyUsage (allowed by RFC 5280, not by the web profile)."""
    key = issue(cn, None).key
    cert = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(pki.root.cert.subject)
        .public_key(key.public_key())
        .serial_number(4242)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(True, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(pki.root.key.public_key()), False
        )
        .sign(pki.root.key, hashes.SHA256())
    )
    return Node(cert, key)
