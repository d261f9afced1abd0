"""Revocation evidence is combined, never raced: every case in both orders, CRL and OCSP
mixed, soft-fail and hard-fail, evidence from before and after the validation time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from tests.serving import StaticServer
from trustkit.errors import RevocationUnknownError, RevokedError, StaleRevocationError
from trustkit.validation import (
    EvidenceSource,
    FindingStatus,
    Freshness,
    HttpFetcher,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
    ValidationResult,
    validate,
)

from .conftest import AT, NOT_AFTER, Node, Pki, leaf

HARD = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
SOFT = ValidationPolicy(revocation=RevocationMode.SOFT_FAIL)
MODES = pytest.mark.parametrize("policy", [HARD, SOFT], ids=["hard", "soft"])
ORDERS = pytest.mark.parametrize("reverse", [False, True], ids=["given-order", "reversed"])
DAY = timedelta(days=1)
KEY_COMPROMISE = x509.ReasonFlags.key_compromise
HOLD = x509.ReasonFlags.certificate_hold

Entry = tuple[int, datetime, x509.ReasonFlags | None]


def crl(
    issuer: Node,
    entries: Sequence[Entry] = (),
    *,
    number: int,
    this_update: datetime,
    next_update: datetime | None = None,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update or this_update + 7 * DAY)
        .add_extension(x509.CRLNumber(number), critical=False)
    )
    for serial, when, reason in entries:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, hashes.SHA256())


def ocsp_response(
    cert: x509.Certificate,
    issuer: Node,
    *,
    this_update: datetime,
    revoked: datetime | None = None,
    reason: x509.ReasonFlags | None = KEY_COMPROMISE,
) -> ocsp.OCSPResponse:
    status = ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD
    return (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=issuer.cert,
            algorithm=hashes.SHA256(),
            cert_status=status,
            this_update=this_update,
            next_update=this_update + DAY,
            revocation_time=revoked,
            revocation_reason=reason if revoked else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        .sign(issuer.key, hashes.SHA256())
    )


def root_crl(pki: Pki) -> x509.CertificateRevocationList:
    return crl(pki.root, number=1, this_update=AT - 10 * DAY, next_update=AT + 300 * DAY)


def run(
    pki: Pki,
    ee: Node,
    crls: Sequence[x509.CertificateRevocationList] = (),
    responses: Sequence[ocsp.OCSPResponse] = (),
    *,
    reverse: bool = False,
    at: datetime = AT,
    **kw: Any,
) -> ValidationResult:
    crls, responses = list(crls), list(responses)
    if reverse:
        crls.reverse()
        responses.reverse()
    return validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[pki.inter.cert],
        at=at,
        crls=[root_crl(pki), *crls],
        ocsp_responses=responses,
        **kw,
    )


# --- item 1: stale evidence must not hide a newer revocation ---------------------------


@MODES
@ORDERS
def test_newer_crl_listing_the_leaf_wins_over_an_older_good_one(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    old = crl(pki.inter, number=1, this_update=AT - 5 * DAY)
    new = crl(
        pki.inter,
        [(ee.cert.serial_number, AT - 2 * DAY, KEY_COMPROMISE)],
        number=2,
        this_update=AT - DAY,
    )
    with pytest.raises(RevokedError) as info:
        run(pki, ee, [old, new], reverse=reverse, policy=policy)
    assert info.value.index == 0
    assert info.value.reason == "keyCompromise"
    assert info.value.revocation_time == AT - 2 * DAY
    assert info.value.source == "crl"
    assert len(info.value.findings) == 2
    # The twin: the older CRL alone says good.
    assert run(pki, ee, [old], policy=policy).revocation[0].status is RevocationStatus.GOOD


@MODES
@ORDERS
def test_newer_root_crl_listing_the_intermediate_wins(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    from .conftest import issue

    inter = issue("Order Issuing CA", pki.root, ca=True)
    ee = leaf(inter)
    old = crl(pki.root, number=11, this_update=AT - 5 * DAY)
    new = crl(
        pki.root,
        [(inter.cert.serial_number, AT - 2 * DAY, x509.ReasonFlags.ca_compromise)],
        number=12,
        this_update=AT - DAY,
    )
    inter_crl = crl(inter, number=1, this_update=AT - DAY)
    crls = [old, new, inter_crl]
    if reverse:
        crls.reverse()
    kwargs: dict[str, Any] = {"trust_anchors": [pki.root.cert], "at": AT, "policy": policy}
    with pytest.raises(RevokedError) as info:
        validate(ee.cert, intermediates=[inter.cert], crls=crls, **kwargs)
    assert info.value.index == 1 and info.value.reason == "cACompromise"
    good = validate(ee.cert, intermediates=[inter.cert], crls=[old, inter_crl], **kwargs)
    assert good.revocation[1].status is RevocationStatus.GOOD


@MODES
@ORDERS
def test_newer_ocsp_revoked_wins_over_an_older_ocsp_good(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    # Both current at AT: the old "good" is not stale, only older.
    old_good = ocsp_response(ee.cert, pki.inter, this_update=AT - DAY / 2)
    assert run(pki, ee, responses=[old_good], policy=policy).revocation[0].status is (
        RevocationStatus.GOOD
    )
    new_revoked = ocsp_response(ee.cert, pki.inter, this_update=AT - DAY / 4, revoked=AT - DAY / 3)
    with pytest.raises(RevokedError) as info:
        run(pki, ee, responses=[old_good, new_revoked], reverse=reverse, policy=policy)
    assert info.value.source == "ocsp" and info.value.revocation_time == AT - DAY / 3
    # The twin: a newer good is not enough to undo a final revocation either.
    newer_good = ocsp_response(ee.cert, pki.inter, this_update=AT - DAY / 8)
    with pytest.raises(RevokedError):
        run(pki, ee, responses=[new_revoked, newer_good], reverse=reverse, policy=policy)


@MODES
@ORDERS
def test_fresh_ocsp_good_does_not_stop_the_crls_from_being_read(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    good = ocsp_response(ee.cert, pki.inter, this_update=AT - DAY / 24)
    listing = crl(
        pki.inter,
        [(ee.cert.serial_number, AT - 3 * DAY, x509.ReasonFlags.superseded)],
        number=3,
        this_update=AT - 2 * DAY,
    )
    with pytest.raises(RevokedError) as info:
        run(pki, ee, [listing], [good], reverse=reverse, policy=policy)
    assert info.value.source == "crl" and info.value.reason == "superseded"
    assert {f.source for f in info.value.findings} == {EvidenceSource.CRL, EvidenceSource.OCSP}
    # The twin: the OCSP answer beside a CRL that does not list it.
    silent = crl(pki.inter, number=3, this_update=AT - 2 * DAY)
    result = run(pki, ee, [silent], [good], reverse=reverse, policy=policy)
    assert result.revocation[0].status is RevocationStatus.GOOD
    assert {f.source for f in result.revocation[0].findings} == {
        EvidenceSource.CRL,
        EvidenceSource.OCSP,
    }


# --- certificateHold: stands until newer evidence of its scope releases it -------------


@MODES
@ORDERS
def test_hold_released_by_a_higher_numbered_crl(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    held = crl(
        pki.inter, [(ee.cert.serial_number, AT - 4 * DAY, HOLD)], number=4, this_update=AT - 3 * DAY
    )
    released = crl(pki.inter, number=5, this_update=AT - DAY)
    result = run(pki, ee, [held, released], reverse=reverse, policy=policy)
    assert result.revocation[0].status is RevocationStatus.GOOD
    # The mirror: the hold placed by the newer CRL stands over the older good one.
    before = crl(pki.inter, number=4, this_update=AT - 3 * DAY)
    placed = crl(
        pki.inter, [(ee.cert.serial_number, AT - 2 * DAY, HOLD)], number=5, this_update=AT - DAY
    )
    with pytest.raises(RevokedError) as info:
        run(pki, ee, [before, placed], reverse=reverse, policy=policy)
    assert info.value.reason == "certificateHold"


@MODES
@ORDERS
def test_hold_released_by_a_newer_ocsp_answer_only(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    held = crl(
        pki.inter, [(ee.cert.serial_number, AT - 4 * DAY, HOLD)], number=4, this_update=AT - 3 * DAY
    )
    newer = ocsp_response(ee.cert, pki.inter, this_update=AT - DAY)
    result = run(pki, ee, [held], [newer], reverse=reverse, policy=policy)
    assert result.revocation[0].status is RevocationStatus.GOOD
    assert result.revocation[0].source is EvidenceSource.OCSP
    # The twin: an OCSP answer older than the CRL that states the hold releases nothing.
    older = ocsp_response(ee.cert, pki.inter, this_update=AT - 3 * DAY - DAY / 2)
    with pytest.raises(RevokedError, match="certificateHold"):
        run(pki, ee, [held], [older], reverse=reverse, at=AT - 3 * DAY, policy=policy)


# --- item 1, fetching: the caller's CRLs are not privileged over fetched ones ----------


@MODES
def test_fetched_crl_is_weighed_beside_the_callers(
    pki: Pki, static_server: StaticServer, policy: ValidationPolicy
) -> None:
    ee = leaf(pki.inter, crl_urls=[f"{static_server.url}/inter.crl"])
    old = crl(pki.inter, number=1, this_update=AT - 5 * DAY)
    new = crl(
        pki.inter,
        [(ee.cert.serial_number, AT - 2 * DAY, KEY_COMPROMISE)],
        number=2,
        this_update=AT - DAY,
    )
    der = serialization.Encoding.DER
    fetcher = HttpFetcher(timeout=5.0)
    # The caller's old CRL, the fetched new one: revoked.
    static_server.routes = {"/inter.crl": new.public_bytes(der)}
    with pytest.raises(RevokedError):
        run(pki, ee, [old], policy=policy, fetcher=fetcher)
    # The mirror: the caller's new CRL, the fetched old one: revoked all the same.
    static_server.routes = {"/inter.crl": old.public_bytes(der)}
    with pytest.raises(RevokedError):
        run(pki, ee, [new], policy=policy, fetcher=fetcher)
    # The twin: both good.
    assert run(pki, ee, [old], policy=policy, fetcher=fetcher).revocation[0].status is (
        RevocationStatus.GOOD
    )


# --- items 2 and 3: evidence issued after the validation time --------------------------


@MODES
@ORDERS
def test_revocation_before_the_time_in_a_later_crl_is_found(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    """A signature with an already-revoked key, timestamped later, must not pass."""
    ee = pki.make_leaf()
    at = AT - 30 * DAY  # the timestamp's time
    before = crl(pki.inter, number=1, this_update=at - 60 * DAY)  # stale at ``at``
    later = crl(
        pki.inter,
        [(ee.cert.serial_number, at - DAY, KEY_COMPROMISE)],
        number=2,
        this_update=at + 10 * DAY,
    )
    with pytest.raises(RevokedError) as info:
        run(pki, ee, [before, later], reverse=reverse, at=at, policy=policy)
    assert info.value.revocation_time == at - DAY and info.value.reason == "keyCompromise"
    # With an OCSP answer instead of the CRL, likewise.
    answer = ocsp_response(ee.cert, pki.inter, this_update=at + 10 * DAY, revoked=at - DAY)
    with pytest.raises(RevokedError):
        run(pki, ee, [], [answer], at=at, policy=policy)


@MODES
@ORDERS
def test_revocation_after_the_time_leaves_it_good_and_says_so(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    at = AT - 30 * DAY
    older = crl(pki.inter, number=1, this_update=at - DAY)
    later = crl(
        pki.inter,
        [(ee.cert.serial_number, at + DAY, KEY_COMPROMISE)],
        number=2,
        this_update=at + 10 * DAY,
    )
    result = run(pki, ee, [older, later], reverse=reverse, at=at, policy=policy)
    evidence = result.revocation[0]
    assert evidence.status is RevocationStatus.GOOD
    assert evidence.revoked_after_validation_time
    assert evidence.revocation_time == at + DAY and evidence.reason == "keyCompromise"
    assert "revoked after the validation time" in evidence.detail
    # The twin, one second later than the revocation: revoked (and not from a cache).
    with pytest.raises(RevokedError):
        run(pki, ee, [older, later], reverse=reverse, at=at + DAY, policy=policy)


@ORDERS
def test_good_crl_issued_after_the_time_counts_under_hard_fail(pki: Pki, reverse: bool) -> None:
    ee = pki.make_leaf()
    at = AT - 30 * DAY
    later = crl(pki.inter, number=2, this_update=at + 20 * DAY)
    result = run(pki, ee, [later], at=at, policy=HARD)
    evidence = result.revocation[0]
    assert evidence.status is RevocationStatus.GOOD
    assert evidence.decided_by[0].freshness is Freshness.LATER
    # The twin: issued after the certificate expired, its silence proves nothing.
    after_expiry = crl(pki.inter, number=3, this_update=NOT_AFTER + DAY)
    with pytest.raises(StaleRevocationError, match="after the certificate expired"):
        run(pki, ee, [after_expiry], reverse=reverse, at=at, policy=HARD)
    soft = run(pki, ee, [after_expiry], at=at, policy=SOFT)
    assert soft.revocation[0].status is RevocationStatus.UNKNOWN
    # ... but a listing in it still revokes.
    listing = crl(
        pki.inter,
        [(ee.cert.serial_number, at - DAY, KEY_COMPROMISE)],
        number=3,
        this_update=NOT_AFTER + DAY,
    )
    with pytest.raises(RevokedError):
        run(pki, ee, [listing], at=at, policy=SOFT)


# --- errors carry what was weighed ------------------------------------------------------


def test_stale_evidence_error_says_freshness_was_the_problem(pki: Pki) -> None:
    ee = pki.make_leaf()
    stale = crl(pki.inter, number=1, this_update=AT - 20 * DAY, next_update=AT - 10 * DAY)
    with pytest.raises(StaleRevocationError, match="stale") as info:
        run(pki, ee, [stale], policy=HARD)
    (finding,) = info.value.findings
    assert finding.freshness is Freshness.STALE and finding.status is FindingStatus.GOOD
    # The twin: a current CRL beside the stale one.
    current = crl(pki.inter, number=2, this_update=AT - DAY)
    assert run(pki, ee, [stale, current], policy=HARD).revocation[0].status is (
        RevocationStatus.GOOD
    )
    # Not stale but unusable (another key signed it): unknown, not stale.
    from .conftest import issue

    impostor = issue("Test Issuing CA", pki.root, ca=True)
    forged = crl(impostor, number=9, this_update=AT - DAY)
    with pytest.raises(RevocationUnknownError) as unknown:
        run(pki, ee, [forged], policy=HARD)
    assert not isinstance(unknown.value, StaleRevocationError)
    (finding,) = unknown.value.findings
    assert finding.status is FindingStatus.UNUSABLE and "does not verify" in finding.note


# --- contradictory evidence: refused in every mode --------------------------------------


def _two_answers(
    cert: x509.Certificate, issuer: Node, statuses: Sequence[str]
) -> ocsp.OCSPResponse:
    """One signed OCSP response with one SingleResponse per status for ``cert``
    (cryptography's builder makes only one; trustkit's responder encoding makes many)."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from trustkit._asn1 import (
        OCSPSingleAnswer,
        ocsp_response_data,
        ocsp_signature_algorithm,
        ocsp_successful_response,
        parse_ocsp_request,
    )

    request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer.cert, hashes.SHA256()).build()
    (cert_id,) = parse_ocsp_request(request.public_bytes(serialization.Encoding.DER)).cert_ids
    answers = [
        OCSPSingleAnswer(
            cert_id.der,
            status,
            AT - DAY,
            AT + DAY,
            revocation_time=AT - 2 * DAY if status == "revoked" else None,
            reason="keyCompromise" if status == "revoked" else None,
        )
        for status in statuses
    ]
    key_hash = x509.SubjectKeyIdentifier.from_public_key(issuer.cert.public_key()).digest
    data = ocsp_response_data(
        responder_key_hash=key_hash, produced_at=AT - DAY, answers=answers, nonce=None
    )
    assert isinstance(issuer.key, ec.EllipticCurvePrivateKey)
    signature = issuer.key.sign(data, ec.ECDSA(hashes.SHA256()))
    der = ocsp_successful_response(data, ocsp_signature_algorithm("ec", "sha256"), signature)
    return ocsp.load_der_ocsp_response(der)


@ORDERS
def test_ocsp_response_with_two_answers_is_contradiction_even_soft(pki: Pki, reverse: bool) -> None:
    ee = pki.make_leaf()
    statuses = ["good", "unknown"][:: -1 if reverse else 1]
    with pytest.raises(RevocationUnknownError, match="contradictory") as info:
        run(pki, ee, [], [_two_answers(ee.cert, pki.inter, statuses)], policy=SOFT)
    assert [f.status for f in info.value.findings] == [FindingStatus.CONFLICTING]
    # A good CRL beside it does not outweigh it ...
    current = crl(pki.inter, number=1, this_update=AT - DAY)
    with pytest.raises(RevocationUnknownError, match="contradictory"):
        run(pki, ee, [current], [_two_answers(ee.cert, pki.inter, statuses)], policy=SOFT)
    # ... and a revocation in it still decides: revoked, not unknown.
    with pytest.raises(RevokedError):
        run(pki, ee, [], [_two_answers(ee.cert, pki.inter, ["good", "revoked"])], policy=SOFT)
    # The twin: two answers that agree are evidence like one.
    agreeing = _two_answers(ee.cert, pki.inter, ["good", "good"])
    result = run(pki, ee, [], [agreeing], policy=HARD)
    assert result.revocation[0].status is RevocationStatus.GOOD


def test_crl_listing_the_certificate_twice_is_contradiction_even_soft(pki: Pki) -> None:
    ee = pki.make_leaf()
    twice = crl(
        pki.inter,
        [
            (ee.cert.serial_number, AT - 2 * DAY, HOLD),
            (ee.cert.serial_number, AT - 2 * DAY, None),
        ],
        number=1,
        this_update=AT - DAY,
    )
    with pytest.raises(RevocationUnknownError, match="contradictory") as info:
        run(pki, ee, [twice], policy=SOFT)
    assert [f.status for f in info.value.findings] == [FindingStatus.CONFLICTING]
    # The twin: another certificate listed twice leaves this one's CRL unusable, no more:
    # soft-fail accepts the lack of evidence.
    other = crl(
        pki.inter,
        [(4242, AT - 2 * DAY, None), (4242, AT - 2 * DAY, None)],
        number=1,
        this_update=AT - DAY,
    )
    soft = run(pki, ee, [other], policy=SOFT)
    assert soft.revocation[0].status is RevocationStatus.UNKNOWN
    assert soft.revocation[0].findings[0].status is FindingStatus.UNUSABLE


def test_result_cache_does_not_outlive_a_later_revocation(pki: Pki) -> None:
    """The same CRL objects, two times on either side of the revocation time that no
    thisUpdate or nextUpdate separates: the cached good answer must not be reused."""
    ee = pki.make_leaf()
    revoked_at = AT + DAY
    crls = [
        root_crl(pki),
        crl(
            pki.inter,
            [(ee.cert.serial_number, revoked_at, KEY_COMPROMISE)],
            number=1,
            this_update=AT - DAY,
        ),
    ]
    kwargs: dict[str, Any] = {
        "trust_anchors": [pki.root.cert],
        "intermediates": [pki.inter.cert],
        "crls": crls,
        "policy": HARD,
    }
    before = validate(ee.cert, at=AT, **kwargs)
    assert before.revocation[0].revoked_after_validation_time
    assert validate(ee.cert, at=AT, **kwargs).revocation[0].revocation_time == revoked_at
    with pytest.raises(RevokedError):
        validate(ee.cert, at=revoked_at, **kwargs)


# --- deltas, invalidity dates, and many pieces of evidence -------------------------------


def _delta(
    issuer: Node, entries: Sequence[Entry], *, number: int, base: int, this_update: datetime
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(this_update + DAY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.DeltaCRLIndicator(base), critical=True)
    )
    for serial, when, reason in entries:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, hashes.SHA256())


@MODES
@ORDERS
def test_delta_remove_from_crl_releases_a_hold(
    pki: Pki, policy: ValidationPolicy, reverse: bool
) -> None:
    ee = pki.make_leaf()
    serial = ee.cert.serial_number
    base = crl(pki.inter, [(serial, AT - 5 * DAY, HOLD)], number=10, this_update=AT - 4 * DAY)
    removed = _delta(
        pki.inter,
        [(serial, AT - 2 * DAY, x509.ReasonFlags.remove_from_crl)],
        number=11,
        base=10,
        this_update=AT - DAY / 2,
    )
    result = run(pki, ee, [base, removed], reverse=reverse, policy=policy)
    (finding,) = result.revocation[0].findings
    assert finding.delta_crl_number == 11 and finding.status is FindingStatus.GOOD
    # The mirror: a delta placing the hold over a silent base.
    silent = crl(pki.inter, number=10, this_update=AT - 4 * DAY)
    held = _delta(
        pki.inter, [(serial, AT - DAY, HOLD)], number=11, base=10, this_update=AT - DAY / 2
    )
    with pytest.raises(RevokedError, match="certificateHold"):
        run(pki, ee, [silent, held], reverse=reverse, policy=policy)


@MODES
def test_invalidity_date_before_the_time_revokes(pki: Pki, policy: ValidationPolicy) -> None:
    """RFC 5280 5.3.2: the key was compromised from the invalidity date, which may be
    earlier than the revocation date: a signature stamped in between is not saved."""
    ee = pki.make_leaf()

    def listing(invalid_from: datetime) -> x509.CertificateRevocationList:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(ee.cert.serial_number)
            .revocation_date(AT + 2 * DAY)
            .add_extension(x509.CRLReason(KEY_COMPROMISE), critical=False)
            .add_extension(x509.InvalidityDate(invalid_from.replace(tzinfo=None)), critical=False)
            .build()
        )
        return (
            x509.CertificateRevocationListBuilder()
            .issuer_name(pki.inter.cert.subject)
            .last_update(AT + 3 * DAY)
            .next_update(AT + 10 * DAY)
            .add_extension(x509.CRLNumber(5), critical=False)
            .add_revoked_certificate(entry)
            .sign(pki.inter.key, hashes.SHA256())
        )

    with pytest.raises(RevokedError) as info:
        run(pki, ee, [listing(AT - DAY)], policy=policy)
    assert info.value.revocation_time == AT - DAY
    # The twin: invalid only from after the time: good then, revoked later.
    result = run(pki, ee, [listing(AT + DAY)], policy=policy)
    assert result.revocation[0].revocation_time == AT + DAY


def test_many_crls_in_any_order_give_one_answer(pki: Pki) -> None:
    """Sixty CRLs of one scope (a hold placed at #20, released at #40) and their
    shuffles: the same answer, the same deciding CRL, at every validation time."""
    import random

    ee = pki.make_leaf()
    start = AT - 60 * DAY
    crls = [
        crl(
            pki.inter,
            [(ee.cert.serial_number, start + 19 * DAY, HOLD)] if 20 <= n < 40 else [],
            number=n,
            this_update=start + (n - 1) * DAY,
            next_update=start + (n + 1) * DAY,
        )
        for n in range(1, 61)
    ]
    shuffled = list(crls)
    random.Random(12).shuffle(shuffled)
    for day, expected in ((10, "good"), (25, "held"), (45, "good")):
        at = start + day * DAY + DAY / 2
        answers = []
        for order in (crls, shuffled, crls[::-1]):
            try:
                result = validate(
                    ee.cert,
                    trust_anchors=[pki.root.cert],
                    intermediates=[pki.inter.cert],
                    at=at,
                    crls=[root_crl(pki), *order],
                    policy=HARD,
                )
                answers.append(("good", result.revocation[0].decided_by[0].crl_number))
            except RevokedError as exc:
                answers.append(("held", exc.reason))
        assert answers[0][0] == expected
        assert answers.count(answers[0]) == 3, answers
