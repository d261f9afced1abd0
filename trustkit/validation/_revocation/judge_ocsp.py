"""Judging one OCSP response for one certificate (RFC 6960), alone, into a finding."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID

from ...matching import names_equal
from ...names import format_name
from .._cache import facts_of
from .._crypto import (
    certificate_signed_by,
    key_problem,
    public_key_of,
    serial_of,
    signature_problem,
    verify_signature,
)
from .._model import (
    EvidenceSource,
    FindingStatus,
    Freshness,
    RevocationFinding,
    RevocationMode,
    RevocationStatus,
)
from .context import Context, safe_ext
from .decide import ALL_REASON_NAMES

__all__ = ["OCSP_SCOPE", "CrlStatus", "judge_ocsp"]

OCSP_SCOPE = "ocsp"
"""The scope of every OCSP answer about a certificate: each covers it whole."""

CrlStatus = Callable[[Sequence[x509.Certificate], int], RevocationStatus]
"""(path, index) -> what the CRLs alone say about ``path[index]``."""


def _responder_text(response: ocsp.OCSPResponse) -> str:
    if response.responder_name is not None:
        return format_name(response.responder_name)
    return f"key {response.responder_key_hash.hex()}"  # type: ignore[union-attr]


def judge_ocsp(
    ctx: Context,
    response: ocsp.OCSPResponse,
    path: Sequence[x509.Certificate],
    index: int,
    crl_status: CrlStatus,
) -> RevocationFinding | None:
    """What ``response`` says about ``path[index]`` (issued by ``path[index + 1]``);
    ``None`` when it says nothing about it."""
    cert, issuer = path[index], path[index + 1]

    def unusable(note: str, responder: str = "") -> RevocationFinding:
        return RevocationFinding(
            source=EvidenceSource.OCSP,
            scope=OCSP_SCOPE,
            issuer=responder or "responder",
            status=FindingStatus.UNUSABLE,
            note=note,
        )

    try:
        if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            # Unsigned and about no certificate in particular: a reason, not evidence.
            return unusable(f"response status {response.response_status.name}")
        singles = list(response.responses)
        responder = _responder_text(response)
    except ValueError:
        return unusable("the response cannot be parsed")
    matching = [single for single in singles if _about(single, cert, issuer)]
    if not matching:
        return None
    answers = [_answer(ctx, response, single, cert, responder) for single in matching]
    # The newest answer stands for the response; the signer is checked for it once.
    found = max(answers, key=lambda f: (f.this_update, f.status.value))
    signer_problem = _signer_problem(ctx, response, path, index, found.freshness, crl_status)
    if signer_problem is not None:
        return unusable(signer_problem, responder)
    said = {(f.status, f.revocation_time, f.reason) for f in answers}
    listed = [f for f in answers if f.status is FindingStatus.REVOKED]
    if len(said) > 1 and listed:
        # A signed statement of revocation is not taken back by another in the same
        # response: the final one first, then the earliest (RFC 5280 3.3).
        return min(
            listed,
            key=lambda f: (f.reason == "certificateHold", f.revocation_time, f.reason or ""),
        )
    if len(said) > 1:
        # RFC 6960 4.2.1: one SingleResponse per certificate asked about; a signed
        # response giving two different answers for it is contradiction, not evidence.
        return dataclasses.replace(
            found,
            status=FindingStatus.CONFLICTING,
            revocation_time=None,
            reason=None,
            note="the response gives different answers for this certificate",
        )
    return found


def _about(
    single: ocsp.OCSPSingleResponse, cert: x509.Certificate, issuer: x509.Certificate
) -> bool:
    """Whether the SingleResponse's CertID names ``cert`` issued by ``issuer``."""
    try:
        if single.serial_number != serial_of(cert):
            return False
        expected = (
            ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, single.hash_algorithm).build()
        )
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return (
        single.issuer_name_hash == expected.issuer_name_hash
        and single.issuer_key_hash == expected.issuer_key_hash
    )


def _answer(
    ctx: Context,
    response: ocsp.OCSPResponse,
    single: ocsp.OCSPSingleResponse,
    cert: x509.Certificate,
    responder: str,
) -> RevocationFinding:
    found = RevocationFinding(
        source=EvidenceSource.OCSP,
        scope=OCSP_SCOPE,
        issuer=responder,
        status=FindingStatus.GOOD,
        freshness=_freshness(ctx, single, cert),
        this_update=single.this_update_utc,
        next_update=single.next_update_utc,
        produced_at=response.produced_at_utc,
        reasons=ALL_REASON_NAMES,
    )
    status = single.certificate_status
    if status == ocsp.OCSPCertStatus.GOOD:
        return found
    if status == ocsp.OCSPCertStatus.REVOKED:
        reason = single.revocation_reason
        return dataclasses.replace(
            found,
            status=FindingStatus.REVOKED,
            revocation_time=single.revocation_time_utc,
            reason=reason.value if reason is not None else None,
        )
    unknown = FindingStatus.UNKNOWN
    return dataclasses.replace(found, status=unknown, note="the responder answered unknown")


def _freshness(ctx: Context, single: ocsp.OCSPSingleResponse, cert: x509.Certificate) -> Freshness:
    tol = ctx.policy.ocsp_tolerance
    if single.this_update_utc > ctx.at + tol:
        # About a later moment: admissible, unless after the certificate expired, when
        # the responder need not keep its status (RFC 6960 4.4.4 archiveCutoff).
        if single.this_update_utc > facts_of(cert).validity[1]:
            return Freshness.AFTER_EXPIRY
        return Freshness.LATER
    if single.next_update_utc is not None and single.next_update_utc < ctx.at - tol:
        return Freshness.STALE
    return Freshness.CURRENT


def _signer_problem(
    ctx: Context,
    response: ocsp.OCSPResponse,
    path: Sequence[x509.Certificate],
    index: int,
    freshness: Freshness | None,
    crl_status: CrlStatus,
) -> str | None:
    issuer = path[index + 1]

    def is_responder(candidate: x509.Certificate) -> bool:
        if response.responder_name is not None:
            return names_equal(response.responder_name, candidate.subject)
        try:
            own = (
                ocsp.OCSPRequestBuilder()
                .add_certificate(candidate, candidate, hashes.SHA1())
                .build()
            )
        except (ValueError, TypeError):
            return False
        return own.issuer_key_hash == response.responder_key_hash

    def signed_by(candidate: x509.Certificate) -> bool:
        key = public_key_of(candidate)
        if key is None or key_problem(key, ctx.policy.algorithms) is not None:
            return False
        try:
            hash_algorithm = response.signature_hash_algorithm
        except UnsupportedAlgorithm:
            return False
        if signature_problem(
            hash_algorithm, response.signature_algorithm_oid, ctx.policy.algorithms
        ):
            return False
        params: object = None
        if isinstance(key, rsa.RSAPublicKey):
            params = padding.PKCS1v15()
        return verify_signature(
            key, response.signature, response.tbs_response_bytes, hash_algorithm, params
        )

    if is_responder(issuer):
        return None if signed_by(issuer) else "signature by the issuing CA does not verify"
    for candidate in [*response.certificates, *ctx.pool]:
        if not is_responder(candidate):
            continue
        # RFC 6960 4.2.2.2: a delegated responder is issued directly by the CA
        # and carries id-kp-OCSPSigning.
        if not names_equal(candidate.issuer, issuer.subject):
            continue
        if not certificate_signed_by(candidate, public_key_of(issuer)):
            continue
        eku = safe_ext(candidate, x509.ExtendedKeyUsage)
        if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value:
            return "delegated responder lacks the OCSPSigning EKU (RFC 6960 4.2.2.2)"
        # It signed at producedAt; an answer no later than the validation time must
        # also come from a responder valid then.
        moments: list[datetime] = [response.produced_at_utc]
        if freshness is not Freshness.LATER:
            moments.append(ctx.at)
        lo, hi = candidate.not_valid_before_utc, candidate.not_valid_after_utc
        if not all(lo <= when <= hi for when in moments):
            return (
                "delegated responder certificate is not valid when it signed"
                " or at the validation time"
            )
        if not signed_by(candidate):
            return "signature by the delegated responder does not verify"
        return _responder_status_problem(ctx, candidate, path[index + 1 :], crl_status)
    return "not signed by the issuing CA or a responder it authorised"


def _responder_status_problem(
    ctx: Context,
    responder: x509.Certificate,
    above: Sequence[x509.Certificate],
    crl_status: CrlStatus,
) -> str | None:
    """Why the delegated ``responder`` cannot be trusted as far as its own
    revocation goes, or ``None``.

    RFC 6960 4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is
    trusted for its lifetime; without it, its status is checked like any other
    certificate's, here against CRLs only (asking the responder about itself
    proves nothing). Hard-fail needs that evidence; soft-fail does without.
    """
    if safe_ext(responder, x509.OCSPNoCheck) is not None:
        return None
    status = crl_status([responder, *above], 0)
    if status is RevocationStatus.REVOKED:
        return "delegated responder certificate is revoked (CRL, RFC 6960 4.2.2.2.1)"
    if status is RevocationStatus.GOOD or ctx.policy.revocation is not RevocationMode.HARD_FAIL:
        return None
    return (
        "delegated responder has no id-pkix-ocsp-nocheck and no CRL gives its own"
        " status (RFC 6960 4.2.2.2.1)"
    )
