"""Revocation with CRLs and OCSP responses built by cryptography; HTTP fetching."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from tests.serving import StaticServer
from trustkit.errors import RevocationUnknownError, RevokedError, StaleRevocationError
from trustkit.validation import (
    EvidenceSource,
    HttpFetcher,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
    ValidationResult,
    validate,
)

from .conftest import AT, NOT_BEFORE, Node, Pki, issue, ku, leaf, make_crl

HARD = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
SOFT = ValidationPolicy(revocation=RevocationMode.SOFT_FAIL)


def _run(pki: Pki, ee: Node, **kw: Any) -> ValidationResult:
    return validate(
        ee.cert, trust_anchors=[pki.root.cert], intermediates=[pki.inter.cert], at=AT, **kw
    )


# --- CRLs -----------------------------------------------------------------------------


def test_crl_good_and_revoked_twin(pki: Pki) -> None:
    ee = pki.make_leaf()
    crls = [make_crl(pki.root), make_crl(pki.inter)]
    result = validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[pki.inter.cert],
        at=AT,
        crls=crls,
        policy=HARD,
    )
    assert [e.status for e in result.revocation] == [RevocationStatus.GOOD] * 2
    assert all(e.source is EvidenceSource.CRL for e in result.revocation)

    revoked = [
        make_crl(pki.root),
        make_crl(pki.inter, [(ee.cert.serial_number, x509.ReasonFlags.key_compromise)]),
    ]
    with pytest.raises(RevokedError) as info:
        validate(
            ee.cert,
            trust_anchors=[pki.root.cert],
            intermediates=[pki.inter.cert],
            at=AT,
            crls=revoked,
            policy=SOFT,
        )
    assert info.value.serial == ee.cert.serial_number
    assert info.value.reason == "keyCompromise"
    assert info.value.revocation_time == NOT_BEFORE + timedelta(days=30)
    assert info.value.index == 0


def test_revoked_intermediate(pki: Pki) -> None:
    crls = [make_crl(pki.root, [(pki.inter.cert.serial_number, None)]), make_crl(pki.inter)]
    with pytest.raises(RevokedError) as info:
        _run(pki, pki.make_leaf(), crls=crls)
    assert info.value.index == 1


def test_stale_crl_hard_and_soft(pki: Pki) -> None:
    stale = [make_crl(pki.root), make_crl(pki.inter, next_update=AT - timedelta(days=1))]
    with pytest.raises(StaleRevocationError, match="stale"):
        _run(pki, pki.make_leaf(), crls=stale, policy=HARD)
    result = _run(pki, pki.make_leaf(), crls=stale, policy=SOFT)
    assert result.revocation[0].status is RevocationStatus.UNKNOWN


def test_crl_from_wrong_key_is_ignored(pki: Pki) -> None:
    impostor = issue("Test Issuing CA", pki.root, ca=True)  # same name, other key
    crls = [make_crl(pki.root), make_crl(impostor)]
    with pytest.raises(RevocationUnknownError):
        _run(pki, pki.make_leaf(), crls=crls, policy=HARD)


def _crl_by_hand(
    issuer: Node, *, number: bool | None, serials: list[int]
) -> x509.CertificateRevocationList:
    """An intermediate CRL with a cRLNumber (``True``), a critical one (``None``) or none."""
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(NOT_BEFORE)
        .next_update(NOT_BEFORE + timedelta(days=365))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), False
        )
    )
    if number is not False:
        builder = builder.add_extension(x509.CRLNumber(7), critical=number is None)
    for serial in serials:
        entry = x509.RevokedCertificateBuilder().serial_number(serial)
        builder = builder.add_revoked_certificate(
            entry.revocation_date(NOT_BEFORE + timedelta(days=30)).build()
        )
    return builder.sign(issuer.key, hashes.SHA256())


@pytest.mark.parametrize(
    ("number", "serials", "why"),
    [
        (False, [], "no cRLNumber"),
        (None, [], "cRLNumber critical"),
        (True, [777, 777], "lists serial 309 twice"),
    ],
    ids=["no-number", "critical-number", "duplicate-entry"],
)
def test_unusable_crls(pki: Pki, number: bool | None, serials: list[int], why: str) -> None:
    ee = pki.make_leaf()
    crls = [make_crl(pki.root), _crl_by_hand(pki.inter, number=number, serials=serials)]
    with pytest.raises(RevocationUnknownError, match=why) as info:
        _run(pki, ee, crls=crls, policy=HARD)
    assert info.value.index == 0
    assert _run(pki, ee, crls=crls, policy=SOFT).revocation[0].status is RevocationStatus.UNKNOWN
    # The twin: the same CRL made properly is used.
    good = [make_crl(pki.root), _crl_by_hand(pki.inter, number=True, serials=serials[:1])]
    assert _run(pki, ee, crls=good, policy=HARD).revocation[0].status is RevocationStatus.GOOD


def test_no_evidence_hard_fail_and_off(pki: Pki) -> None:
    with pytest.raises(RevocationUnknownError) as info:
        _run(pki, pki.make_leaf(), policy=HARD)
    assert info.value.index == 0
    off = _run(pki, pki.make_leaf(), policy=ValidationPolicy(revocation=RevocationMode.OFF))
    assert off.revocation[0].status is RevocationStatus.NOT_CHECKED


# --- OCSP -----------------------------------------------------------------------------


def _ocsp(
    cert: x509.Certificate,
    issuer: Node,
    signer: Node,
    status: ocsp.OCSPCertStatus = ocsp.OCSPCertStatus.GOOD,
    *,
    this_update: datetime | None = None,
    next_update: datetime | None = None,
    hash_algorithm: hashes.HashAlgorithm | None = None,
    include: list[x509.Certificate] | None = None,
) -> ocsp.OCSPResponse:
    builder = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=issuer.cert,
            algorithm=hash_algorithm or hashes.SHA256(),
            cert_status=status,
            this_update=this_update or AT - timedelta(hours=1),
            next_update=next_update or AT + timedelta(days=1),
            revocation_time=AT - timedelta(days=2)
            if status == ocsp.OCSPCertStatus.REVOKED
            else None,
            revocation_reason=x509.ReasonFlags.superseded
            if status == ocsp.OCSPCertStatus.REVOKED
            else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, signer.cert)
    )
    if include:
        builder = builder.certificates(include)
    return builder.sign(signer.key, hashes.SHA256())


def _ocsp_run(
    pki: Pki, ee: Node, responses: list[ocsp.OCSPResponse], **kw: Any
) -> ValidationResult:
    crls = [make_crl(pki.root)]
    return _run(pki, ee, ocsp_responses=responses, crls=crls, **kw)


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["sha1", "sha256"])
def test_ocsp_good_by_ca(pki: Pki, algorithm: hashes.HashAlgorithm) -> None:
    ee = pki.make_leaf()
    result = _ocsp_run(
        pki, ee, [_ocsp(ee.cert, pki.inter, pki.inter, hash_algorithm=algorithm)], policy=HARD
    )
    evidence = result.revocation[0]
    assert evidence.source is EvidenceSource.OCSP and evidence.status is RevocationStatus.GOOD


def test_ocsp_revoked(pki: Pki) -> None:
    ee = pki.make_leaf()
    response = _ocsp(ee.cert, pki.inter, pki.inter, ocsp.OCSPCertStatus.REVOKED)
    with pytest.raises(RevokedError) as info:
        _ocsp_run(pki, ee, [response])
    assert info.value.reason == "superseded"


def _responder(pki: Pki, *, nocheck: bool) -> Node:
    extra = [(x509.OCSPNoCheck(), False)] if nocheck else []
    return issue(
        "OCSP Responder",
        pki.inter,
        key_usage=ku(digital_signature=True),
        eku=[EKU.OCSP_SIGNING],
        extra=extra,
    )


def test_ocsp_delegated_responder(pki: Pki) -> None:
    ee = pki.make_leaf()
    responder = _responder(pki, nocheck=True)
    response = _ocsp(ee.cert, pki.inter, responder, include=[responder.cert])
    result = _ocsp_run(pki, ee, [response], policy=HARD)
    assert result.revocation[0].source is EvidenceSource.OCSP


def test_ocsp_responder_without_nocheck_is_checked_on_crls(pki: Pki) -> None:
    # RFC 6960 4.2.2.2.1: without id-pkix-ocsp-nocheck the responder's own status counts.
    ee = pki.make_leaf()
    responder = _responder(pki, nocheck=False)
    response = _ocsp(ee.cert, pki.inter, responder, include=[responder.cert])
    with pytest.raises(RevocationUnknownError, match="ocsp-nocheck"):
        _ocsp_run(pki, ee, [response], policy=HARD)
    soft = _ocsp_run(pki, ee, [response], policy=SOFT)
    assert soft.revocation[0].source is EvidenceSource.OCSP

    both = [make_crl(pki.root), make_crl(pki.inter)]
    good = _run(pki, ee, ocsp_responses=[response], crls=both, policy=HARD)
    assert good.revocation[0].source is EvidenceSource.OCSP

    # The responder revoked: its answer is refused and the leaf's status comes from the CRL.
    revoked_crl = make_crl(
        pki.inter, [(responder.cert.serial_number, x509.ReasonFlags.key_compromise)]
    )
    crls = [make_crl(pki.root), revoked_crl]
    result = _run(pki, ee, ocsp_responses=[response], crls=crls, policy=HARD)
    assert result.revocation[0].source is EvidenceSource.CRL


def test_ocsp_wrong_signer(pki: Pki) -> None:
    ee = pki.make_leaf()
    no_eku = issue(
        "Not A Responder", pki.inter, key_usage=ku(digital_signature=True), eku=[EKU.CLIENT_AUTH]
    )
    stranger = issue("Stranger Root", None, ca=True)
    for response in (
        _ocsp(ee.cert, pki.inter, no_eku, include=[no_eku.cert]),
        _ocsp(ee.cert, pki.inter, stranger, include=[stranger.cert]),
    ):
        with pytest.raises(RevocationUnknownError, match="OCSP"):
            _ocsp_run(pki, ee, [response], policy=HARD)
        soft = _ocsp_run(pki, ee, [response], policy=SOFT)
        assert soft.revocation[0].status is RevocationStatus.UNKNOWN


def test_ocsp_stale_and_other_certificate(pki: Pki) -> None:
    ee = pki.make_leaf()
    stale = _ocsp(
        ee.cert,
        pki.inter,
        pki.inter,
        this_update=AT - timedelta(days=3),
        next_update=AT - timedelta(days=2),
    )
    with pytest.raises(RevocationUnknownError, match="stale"):
        _ocsp_run(pki, ee, [stale], policy=HARD)
    other = _ocsp(pki.make_leaf().cert, pki.inter, pki.inter)
    with pytest.raises(RevocationUnknownError):
        _ocsp_run(pki, ee, [other], policy=HARD)


# --- fetching over HTTP from a real server on 127.0.0.1 --------------------------------


def test_fetch_crl_and_issuer(pki: Pki, static_server: StaticServer) -> None:
    inter = issue("Fetched CA", pki.root, ca=True, crl_urls=[f"{static_server.url}/root.crl"])
    ee = leaf(
        inter,
        crl_urls=[f"{static_server.url}/inter.crl"],
        ca_issuers_url=f"{static_server.url}/inter.der",
    )
    ee_revoked = leaf(
        inter,
        crl_urls=[f"{static_server.url}/inter-revoked.crl"],
        ca_issuers_url=f"{static_server.url}/inter.der",
    )
    der = serialization.Encoding.DER
    static_server.routes = {
        "/root.crl": make_crl(pki.root).public_bytes(der),
        "/inter.crl": make_crl(inter).public_bytes(der),
        "/inter-revoked.crl": make_crl(inter, [(ee_revoked.cert.serial_number, None)]).public_bytes(
            der
        ),
        "/inter.der": inter.cert.public_bytes(der),
    }
    fetcher = HttpFetcher(timeout=5.0)
    result = validate(ee.cert, trust_anchors=[pki.root.cert], at=AT, policy=HARD, fetcher=fetcher)
    assert result.path[1] == inter.cert
    assert all(e.status is RevocationStatus.GOOD for e in result.revocation)
    with pytest.raises(RevokedError):
        validate(ee_revoked.cert, trust_anchors=[pki.root.cert], at=AT, fetcher=fetcher)
    # Offline by default: without the fetcher the issuer cannot even be found.
    with pytest.raises(Exception, match="no path"):
        validate(ee.cert, trust_anchors=[pki.root.cert], at=AT)


def test_fetch_size_limit_and_scheme(pki: Pki, static_server: StaticServer) -> None:
    static_server.routes = {"/big.crl": b"0" * 5000}
    assert HttpFetcher(max_bytes=1000).fetch_crl(f"{static_server.url}/big.crl") is None
    assert HttpFetcher().fetch_crl("https://127.0.0.1:1/x.crl") is None
    assert HttpFetcher().fetch_crl("ftp://127.0.0.1/x.crl") is None
    assert HttpFetcher(timeout=1.0).fetch_crl(f"{static_server.url}/missing.crl") is None
    static_server.routes = {"/ok.crl": make_crl(pki.root).public_bytes(serialization.Encoding.DER)}
    assert HttpFetcher().fetch_crl(f"{static_server.url}/ok.crl") is not None


def test_fetched_objects_of_unknown_version_are_skipped(
    pki: Pki, static_server: StaticServer
) -> None:
    """Found by tests/fuzz/fuzz_crl.py: cryptography's InvalidVersion is not a ValueError."""
    crl = make_crl(pki.root).public_bytes(serialization.Encoding.DER)
    cert = pki.inter.cert.public_bytes(serialization.Encoding.DER)
    at_crl = crl.index(b"\x02\x01\x01") + 2  # the first INTEGER of tbsCertList: v2 (1)
    at_cert = cert.index(b"\xa0\x03\x02\x01\x02") + 4  # [0] EXPLICIT version: v3 (2)
    static_server.routes = {
        "/ok.crl": crl,
        "/v18.crl": crl[:at_crl] + b"\x11" + crl[at_crl + 1 :],
        "/ok.der": cert,
        "/v6.der": cert[:at_cert] + b"\x05" + cert[at_cert + 1 :],
    }
    fetcher = HttpFetcher()
    assert fetcher.fetch_crl(f"{static_server.url}/ok.crl") is not None
    assert fetcher.fetch_crl(f"{static_server.url}/v18.crl") is None
    assert fetcher.fetch_certificates(f"{static_server.url}/ok.der") == [pki.inter.cert]
    assert fetcher.fetch_certificates(f"{static_server.url}/v6.der") == []
