"""CMS signature verification: every signer's checks, and its certificate path.

::

    reports = verify_cms(open("contract.pdf", "rb"), signature, trust_anchors=[root])
    reports[0].subject, reports[0].timestamp.time

For each SignerInfo (RFC 5652 5.6): the signer's certificate is found, the
content-type and message-digest attributes are compared with the content,
the signature over the signed attributes is verified, the ESS
signing-certificate(-v2) attribute must name that certificate, a signature
timestamp (RFC 3161 appendix A) must stamp this signature value and chain up
to a trust anchor for purpose ``timestamping``, and the signer's path is
validated by :func:`trustkit.validation.validate` for purpose
``document-signing``: at the timestamp's time when there is a valid one,
otherwise at ``at`` (now). The signing-time attribute is the signer's own
claim and is reported, never trusted as the validation time (ETSI EN
319 102-1 5.6.2.1 treats it alike).

Revocation is judged for that time with all the evidence given, including CRLs
and OCSP responses issued after it, which are the right evidence for a
signature verified later (ETSI EN 319 102-1 5.6.2.4; pyHanko and OpenSSL read
them alike): a certificate revoked at or before the time makes the signature
invalid, whatever the reason (a stolen key and a fresh timestamp forge
nothing); revoked after it, the signature stands and the report's
``revocation`` says when and why the certificate was revoked.

If any signer fails a check, :class:`~trustkit.errors.InvalidSignatureError`
is raised with every report; malformed input gives a
:class:`~trustkit.errors.TrustkitError`, never another exception.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

from cryptography import x509
from cryptography.x509 import ocsp

from .._asn1 import ID_DATA, ParsedSignedData, ParsedSignerInfo, parse_signed_data
from ..clock import utc, utcnow
from ..encoding import format_serial
from ..errors import (
    DecodeError,
    InvalidSignatureError,
    RevocationUnknownError,
    RevokedError,
    SignatureError,
    TimestampError,
    ValidationError,
)
from ..names import format_name
from ..tsa import TimestampToken, check_token
from ..validation import (
    EvidenceSource,
    HttpFetcher,
    Purpose,
    RevocationEvidence,
    RevocationFinding,
    RevocationStatus,
    ValidationPolicy,
    validate,
)
from ._algorithms import ACCEPTED_DIGESTS, ProgressCallback, digest_streams
from ._signer import (
    check_attributes,
    check_signature,
    check_signing_certificate,
    find_signer_certificate,
    load_embedded_certificates,
)
from .sign import Content, load_signature

__all__ = [
    "Check",
    "CheckName",
    "Outcome",
    "SignerReport",
    "TimeSource",
    "TimestampReport",
    "attached_content",
    "verify_cms",
]


class CheckName(enum.Enum):
    """One check made on a signer."""

    SIGNER_CERTIFICATE = "signer-certificate"
    """The certificate the SignerInfo names is available (RFC 5652 5.3 sid)."""
    MESSAGE_DIGEST = "message-digest"
    """content-type and message-digest attributes match the content (RFC 5652 11.1, 11.2)."""
    SIGNATURE = "signature"
    """The signature value verifies with the certificate's key (RFC 5652 5.6)."""
    SIGNING_CERTIFICATE = "signing-certificate"
    """ESS signing-certificate(-v2) names the signer's certificate (RFC 5035)."""
    TIMESTAMP = "timestamp"
    """The signature timestamp stamps this signature and its TSA path is valid (RFC 3161)."""
    CERTIFICATE_PATH = "certificate-path"
    """The signer's path validates for document signing, revocation included (RFC 5280 6)."""


class Outcome(enum.Enum):
    """How a check ended."""

    PASSED = "passed"
    FAILED = "failed"
    ABSENT = "absent"
    """What the check looks at is not there and is optional (no timestamp, no ESS attribute)."""
    SKIPPED = "skipped"
    """Not run because an earlier check failed (no certificate to check with)."""


class TimeSource(enum.Enum):
    """Where the time the signer's path was validated at came from."""

    TIMESTAMP = "timestamp"
    """A valid signature timestamp's genTime."""
    VERIFICATION_TIME = "verification-time"
    """The ``at`` of the verification (now, unless the caller said otherwise)."""


@dataclass(frozen=True)
class Check:
    """The outcome of one check, with what was found."""

    name: CheckName
    outcome: Outcome
    detail: str = ""
    """Why it failed, or a note on what passed."""

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name.value, "outcome": self.outcome.value, "detail": self.detail}


@dataclass(frozen=True)
class TimestampReport:
    """A signature timestamp found on a signer."""

    time: datetime | None
    """genTime, when the token could be read."""
    tsa: str | None
    """The TSA certificate's subject, RFC 4514."""
    serial_number: int | None
    policy: str | None
    valid: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat() if self.time else None,
            "tsa": self.tsa,
            "serial": format_serial(self.serial_number) if self.serial_number else None,
            "policy": self.policy,
            "valid": self.valid,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SignerReport:
    """Everything learned about one signer of a CMS signature."""

    index: int
    """Position of the SignerInfo in the signature."""
    subject: str | None
    """The signer certificate's subject (RFC 4514), when the certificate was found."""
    issuer: str | None
    serial: int | None
    signing_time: datetime | None
    """The signing-time attribute: the signer's claim, not proof."""
    timestamp: TimestampReport | None
    digest_algorithm: str
    signature_algorithm: str
    validation_time: datetime
    """When the signer's certificate path was validated at."""
    validation_time_source: TimeSource
    checks: tuple[Check, ...]
    path: tuple[x509.Certificate, ...] = ()
    """The validated path, end entity first, when validation passed."""
    revocation: tuple[RevocationEvidence, ...] = ()
    """The revocation evidence for the path: one entry per certificate when validation
    passed; when a certificate was found revoked, or hard-fail found nothing usable,
    the entry for that certificate, with the evidence that decided."""

    @property
    def valid(self) -> bool:
        """Whether no check failed."""
        return all(c.outcome is not Outcome.FAILED for c in self.checks)

    @property
    def failures(self) -> tuple[str, ...]:
        """``name: detail`` of every failed check."""
        return tuple(
            f"{c.name.value}: {c.detail}" for c in self.checks if c.outcome is Outcome.FAILED
        )

    def check(self, name: CheckName) -> Check:
        """The check called ``name``."""
        return next(c for c in self.checks if c.name is name)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "index": self.index,
            "valid": self.valid,
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": format_serial(self.serial) if self.serial is not None else None,
            "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "timestamp": self.timestamp.to_dict() if self.timestamp else None,
            "digest_algorithm": self.digest_algorithm,
            "signature_algorithm": self.signature_algorithm,
            "validation_time": self.validation_time.isoformat(),
            "validation_time_source": self.validation_time_source.value,
            "checks": [c.to_dict() for c in self.checks],
            "revocation": [e.to_dict() for e in self.revocation],
        }


@dataclass(frozen=True)
class _Inputs:
    trust_anchors: tuple[x509.Certificate, ...]
    pool: tuple[x509.Certificate, ...]
    at: datetime
    crls: tuple[x509.CertificateRevocationList, ...]
    ocsp_responses: tuple[ocsp.OCSPResponse, ...]
    policy: ValidationPolicy | None
    fetcher: HttpFetcher | None = None


def verify_cms(
    content: Content | None,
    signature: bytes,
    *,
    trust_anchors: Sequence[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    at: datetime | None = None,
    crls: Iterable[x509.CertificateRevocationList] = (),
    ocsp_responses: Iterable[ocsp.OCSPResponse] = (),
    policy: ValidationPolicy | None = None,
    progress: ProgressCallback | None = None,
    fetcher: HttpFetcher | None = None,
) -> list[SignerReport]:
    """Verify every signer of a CMS signature (PEM or DER) over ``content``.

    ``content`` is the signed bytes or a binary stream (hashed in chunks), or
    ``None`` for a signature with the content attached. Certificates in the
    signature join ``intermediates`` as untrusted path material. ``at`` is
    the verification time (default now). ``policy`` sets algorithms and the
    revocation mode (soft-fail by default) for :func:`trustkit.validation.validate`;
    ``fetcher`` lets it fetch CRLs, OCSP answers and issuers (default: offline).

    Returns one report per signer when all pass; raises
    :class:`~trustkit.errors.InvalidSignatureError` (with ``reports``) when
    any signer fails, and another :class:`~trustkit.errors.TrustkitError` when
    the signature cannot be read.
    """
    if not trust_anchors:
        raise ValueError("trust_anchors: at least one trust anchor is needed")
    der = load_signature(signature)
    try:
        parsed = _parse(der)
    except DecodeError as exc:
        raise SignatureError(str(exc)) from exc
    if parsed.content_type != ID_DATA:
        raise SignatureError(
            f"CMS signature: eContentType {parsed.content_type} is not id-data (RFC 5652 4)"
        )
    embedded = load_embedded_certificates(parsed.certificates, "CMS signature")
    if parsed.content is not None:
        if content is not None:
            raise SignatureError("content: given, but the signature has the content attached")
        stream: BinaryIO | bytes = parsed.content
    elif content is None:
        raise SignatureError("content: the signature is detached; the signed content is needed")
    else:
        stream = content
    names = [s.digest_algorithm for s in parsed.signers if s.digest_algorithm in ACCEPTED_DIGESTS]
    digests = _digests(stream, names, progress)
    inputs = _Inputs(
        trust_anchors=tuple(trust_anchors),
        pool=(*embedded, *intermediates),
        at=utc(at) if at is not None else utcnow(),
        crls=tuple(crls),
        ocsp_responses=tuple(ocsp_responses),
        policy=policy,
        fetcher=fetcher,
    )
    reports = [
        _verify_signer(index, signer, digests.get(signer.digest_algorithm), embedded, inputs)
        for index, signer in enumerate(parsed.signers)
    ]
    failed = [r for r in reports if not r.valid]
    if failed:
        failures = [f"signer {r.index}: {f}" for r in failed for f in r.failures]
        raise InvalidSignatureError(
            "signature invalid: " + failures[0], failures=failures, reports=reports
        )
    return reports


def attached_content(signature: bytes) -> bytes | None:
    """The content encapsulated in a CMS signature (PEM or DER), or ``None`` when the
    signature is detached (RFC 5652 5.2: eContent absent). Nothing is verified here:
    call :func:`verify_cms` first, and trust the bytes only when it passes."""
    try:
        parsed = _parse(load_signature(signature))
    except DecodeError as exc:
        raise SignatureError(str(exc)) from exc
    return parsed.content


_name_text = functools.lru_cache(maxsize=1024)(format_name)
"""RFC 4514 text of a Name, a pure function of it: signers and anchors recur."""

MAX_PARSED_SIGNATURES = 128
"""Detached signatures kept decoded, by DER, for signatures verified again."""
_CACHED_SIGNATURE_SIZE = 64 << 10
"""Larger signatures (attached content) are decoded each time: hashing the key would cost
more than it saves."""


@functools.lru_cache(maxsize=MAX_PARSED_SIGNATURES)
def _parse_cached(der: bytes) -> ParsedSignedData:
    return parse_signed_data(der)  # a DecodeError raises and is not cached


def _parse(der: bytes) -> ParsedSignedData:
    """The decoded signature; ParsedSignedData is immutable, so one copy can be shared."""
    if len(der) > _CACHED_SIGNATURE_SIZE:
        return parse_signed_data(der)
    return _parse_cached(bytes(der))


def _digests(
    content: BinaryIO | bytes, names: Sequence[str], progress: ProgressCallback | None
) -> dict[str, bytes]:
    if isinstance(content, bytes | bytearray | memoryview):
        result = {name: hashlib.new(name, content).digest() for name in dict.fromkeys(names)}
        if progress is not None:
            progress(len(content))
        return result
    return digest_streams(content, names, progress=progress)


def _verify_signer(
    index: int,
    signer: ParsedSignerInfo,
    content_digest: bytes | None,
    embedded: Sequence[x509.Certificate],
    inputs: _Inputs,
) -> SignerReport:
    checks: list[Check] = []
    certificate = find_signer_certificate(signer, inputs.pool)
    base: dict[str, Any] = {
        "index": index,
        "signing_time": utc(signer.signing_time) if signer.signing_time else None,
        "digest_algorithm": signer.digest_algorithm,
        "signature_algorithm": _signature_algorithm_name(signer),
    }
    if certificate is None:
        detail = "the certificate named by the SignerInfo is in neither the signature nor the pool"
        checks.append(Check(CheckName.SIGNER_CERTIFICATE, Outcome.FAILED, detail))
        checks.extend(
            Check(name, Outcome.SKIPPED, "no signer certificate")
            for name in CheckName
            if name is not CheckName.SIGNER_CERTIFICATE
        )
        return SignerReport(
            **base,
            subject=None,
            issuer=None,
            serial=None,
            timestamp=None,
            validation_time=inputs.at,
            validation_time_source=TimeSource.VERIFICATION_TIME,
            checks=tuple(checks),
        )
    checks.append(Check(CheckName.SIGNER_CERTIFICATE, Outcome.PASSED))
    checks.append(
        _run(
            CheckName.MESSAGE_DIGEST,
            lambda: check_attributes(
                signer, content_type=ID_DATA, content_digest=_required(signer, content_digest)
            ),
        )
    )
    checks.append(
        _run(
            CheckName.SIGNATURE,
            lambda: check_signature(signer, certificate, content_digest=content_digest),
        )
    )
    try:
        bound = check_signing_certificate(signer, certificate)
        checks.append(
            Check(CheckName.SIGNING_CERTIFICATE, Outcome.PASSED)
            if bound
            else Check(CheckName.SIGNING_CERTIFICATE, Outcome.ABSENT, "no ESS attribute")
        )
    except SignatureError as exc:
        checks.append(Check(CheckName.SIGNING_CERTIFICATE, Outcome.FAILED, str(exc)))
    timestamp, token = _check_timestamp(signer, inputs)
    if timestamp is None:
        checks.append(Check(CheckName.TIMESTAMP, Outcome.ABSENT, "no signature timestamp"))
    elif timestamp.valid:
        checks.append(Check(CheckName.TIMESTAMP, Outcome.PASSED, timestamp.detail))
    else:
        checks.append(Check(CheckName.TIMESTAMP, Outcome.FAILED, timestamp.detail))
    if token is not None:
        when, source = token.gen_time, TimeSource.TIMESTAMP
    else:
        when, source = inputs.at, TimeSource.VERIFICATION_TIME
    path: tuple[x509.Certificate, ...] = ()
    revocation: tuple[RevocationEvidence, ...] = ()
    try:
        result = validate(
            certificate,
            trust_anchors=inputs.trust_anchors,
            intermediates=inputs.pool,
            at=when,
            purpose=Purpose.DOCUMENT_SIGNING,
            crls=inputs.crls,
            ocsp_responses=inputs.ocsp_responses,
            policy=inputs.policy,
            fetcher=inputs.fetcher,
        )
        path, revocation = result.path, result.revocation
        anchor = _name_text(result.trust_anchor.subject)
        checks.append(Check(CheckName.CERTIFICATE_PATH, Outcome.PASSED, f"anchor {anchor}"))
    except ValidationError as exc:
        checks.append(Check(CheckName.CERTIFICATE_PATH, Outcome.FAILED, str(exc)))
        revocation = _failed_evidence(exc)
    return SignerReport(
        **base,
        subject=_name_text(certificate.subject),
        issuer=_name_text(certificate.issuer),
        serial=certificate.serial_number,
        timestamp=timestamp,
        validation_time=when,
        validation_time_source=source,
        checks=tuple(checks),
        path=path,
        revocation=revocation,
    )


def _failed_evidence(exc: ValidationError) -> tuple[RevocationEvidence, ...]:
    """The revocation evidence a failed validation gives, for the report: the certificate
    found revoked at the validation time (ETSI EN 319 102-1: the signature is invalid),
    or the one hard-fail found no usable evidence for."""
    if not isinstance(exc, RevokedError | RevocationUnknownError) or exc.index is None:
        return ()
    cert = exc.path[exc.index] if exc.index < len(exc.path) else None
    if not isinstance(cert, x509.Certificate):
        return ()
    findings = tuple(f for f in exc.findings if isinstance(f, RevocationFinding))
    common: dict[str, Any] = {
        "index": exc.index,
        "subject": _name_text(cert.subject),
        "serial": cert.serial_number,
        "detail": str(exc),
        "findings": findings,
    }
    if isinstance(exc, RevokedError):
        decided = tuple(f for f in exc.decided_by if isinstance(f, RevocationFinding))
        first = decided[0] if decided else None
        evidence = RevocationEvidence(
            status=RevocationStatus.REVOKED,
            source=first.source if first else EvidenceSource.NONE,
            this_update=first.this_update if first else None,
            next_update=first.next_update if first else None,
            revocation_time=exc.revocation_time,
            reason=exc.reason,
            decided_by=decided,
            **common,
        )
    else:
        evidence = RevocationEvidence(
            status=RevocationStatus.UNKNOWN, source=EvidenceSource.NONE, **common
        )
    return (evidence,)


def _required(signer: ParsedSignerInfo, digest: bytes | None) -> bytes | None:
    if digest is None:
        raise SignatureError(
            f"digest algorithm {signer.digest_algorithm}: not accepted (SHA-2 or SHA-3, RFC 5754)"
        )
    return digest


def _run(name: CheckName, check: Any) -> Check:
    try:
        check()
    except SignatureError as exc:
        return Check(name, Outcome.FAILED, str(exc))
    return Check(name, Outcome.PASSED)


def _signature_algorithm_name(signer: ParsedSignerInfo) -> str:
    if signer.signature_algorithm == "rsassa_pss":
        return f"rsassa_pss ({signer.signature_hash}, mgf1 {signer.pss_mgf_hash})"
    if signer.signature_hash and signer.signature_algorithm != "ed25519":
        return f"{signer.signature_algorithm} with {signer.signature_hash}"
    return signer.signature_algorithm


def _check_timestamp(
    signer: ParsedSignerInfo, inputs: _Inputs
) -> tuple[TimestampReport | None, TimestampToken | None]:
    """The signature timestamp, if any: token checks, imprint over the signature value
    (RFC 3161 appendix A), and the TSA path for purpose timestamping at ``inputs.at``."""
    if not signer.timestamp_tokens:
        return None, None
    if len(signer.timestamp_tokens) > 1:
        detail = "more than one signature timestamp; only one is supported"
        return TimestampReport(None, None, None, None, False, detail), None
    try:
        token = check_token(signer.timestamp_tokens[0], extra_certificates=inputs.pool)
    except TimestampError as exc:
        return TimestampReport(None, None, None, None, False, str(exc)), None
    report: dict[str, Any] = {
        "time": token.gen_time,
        "tsa": token.tsa_subject,
        "serial_number": token.serial_number,
        "policy": token.policy,
    }
    if token.hash_algorithm not in ACCEPTED_DIGESTS:
        detail = f"imprint hash {token.hash_algorithm} not accepted"
        return TimestampReport(**report, valid=False, detail=detail), None
    expected = hashlib.new(token.hash_algorithm, signer.signature).digest()
    if token.hashed_message != expected:
        detail = "message imprint is not over this signature value (RFC 3161 appendix A)"
        return TimestampReport(**report, valid=False, detail=detail), None
    try:
        validate(
            token.signer,
            trust_anchors=inputs.trust_anchors,
            intermediates=(*token.certificates, *inputs.pool),
            at=inputs.at,
            purpose=Purpose.TIMESTAMPING,
            crls=inputs.crls,
            ocsp_responses=inputs.ocsp_responses,
            policy=inputs.policy,
            fetcher=inputs.fetcher,
        )
    except ValidationError as exc:
        detail = f"TSA certificate path: {exc}"
        return TimestampReport(**report, valid=False, detail=detail), None
    detail = f"{token.gen_time.isoformat()} by {token.tsa_subject}"
    return TimestampReport(**report, valid=True, detail=detail), token
