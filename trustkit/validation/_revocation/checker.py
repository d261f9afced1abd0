"""Revocation checking of a whole path: gather, judge each piece, decide once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.x509 import ocsp

from ...errors import RevocationUnknownError, RevokedError, StaleRevocationError
from .._cache import facts_of
from .._crypto import serial_of
from .._model import (
    EvidenceSource,
    RevocationEvidence,
    RevocationFinding,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
)
from .context import Context, SignerValidator
from .decide import Decision, decide
from .gather import CrlFetch, Gatherer, OcspFetch
from .judge_crl import distribution_points, is_delta, judge_crl
from .judge_ocsp import judge_ocsp

__all__ = ["RevocationChecker"]

_NO_EVIDENCE = "no CRL or OCSP response covers it"


@dataclass
class RevocationChecker:
    """The revocation part of one validation: where evidence comes from, and the
    context every piece of it is judged in."""

    policy: ValidationPolicy
    at: datetime
    crls: list[x509.CertificateRevocationList]
    ocsp_responses: list[ocsp.OCSPResponse]
    pool: Sequence[x509.Certificate]
    validate_signer: SignerValidator
    fetch_crl: CrlFetch | None = None
    fetch_ocsp: OcspFetch | None = None
    depth: int = 0
    _ctx: Context = field(init=False, repr=False)
    _gatherer: Gatherer = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._ctx = Context(self.policy, self.at, self.pool, self.validate_signer, self.depth)
        self._gatherer = Gatherer(self.crls, self.ocsp_responses, self.fetch_crl, self.fetch_ocsp)

    # --- the whole path ---------------------------------------------------------------

    def check_path(self, path: Sequence[x509.Certificate]) -> tuple[RevocationEvidence, ...]:
        """Evidence for every certificate below the anchor; raises when one is revoked
        at the validation time, or when hard-fail finds nothing usable."""
        return tuple(self._check_one(path, index) for index in range(len(path) - 1))

    def findings(
        self, path: Sequence[x509.Certificate], index: int
    ) -> tuple[RevocationFinding, ...]:
        """Every CRL and OCSP response found for ``path[index]``, each judged alone."""
        found = list(self._crl_findings(path, index))
        for response in self._gatherer.ocsp_for(path[index], path[index + 1]):
            finding = judge_ocsp(self._ctx, response, path, index, self._crl_status)
            if finding is not None:
                found.append(finding)
        return tuple(found)

    def _crl_findings(
        self, path: Sequence[x509.Certificate], index: int
    ) -> list[RevocationFinding]:
        pool = self._gatherer.crls_for(path[index])
        completes = [c for c in pool if not is_delta(c)]
        deltas = [c for c in pool if is_delta(c)]
        dps = distribution_points(path[index])
        found = []
        for crl in completes:
            finding = judge_crl(self._ctx, path, index, crl, deltas, dps)
            if finding is not None:
                found.append(finding)
        return found

    def _crl_status(self, path: Sequence[x509.Certificate], index: int) -> RevocationStatus:
        """What the CRLs alone say (for a delegated OCSP responder's own status)."""
        return decide(self._crl_findings(path, index), at=self._ctx.at).status

    def _check_one(self, path: Sequence[x509.Certificate], index: int) -> RevocationEvidence:
        cert = path[index]
        subject = facts_of(cert).subject_text
        if self.policy.revocation is RevocationMode.OFF:
            return _evidence(
                path, index, RevocationStatus.NOT_CHECKED, "revocation checking is off"
            )
        if self._gatherer.empty:
            # Nothing to look in (the common soft-fail call without evidence).
            return self._unknown(path, index, None, ())

        findings = self.findings(path, index)
        decision = decide(findings, at=self._ctx.at)
        if decision.status is RevocationStatus.REVOKED:
            first = decision.decided_by[0]
            assert decision.revocation_time is not None
            raise RevokedError(
                f"certificate {index} ({subject}): revoked at "
                f"{decision.revocation_time.isoformat()} reason "
                f"{decision.reason or 'unspecified'} ({first.describe()};"
                f" {'RFC 6960' if first.source is EvidenceSource.OCSP else 'RFC 5280 6.3'})",
                serial=serial_of(cert),
                revocation_time=decision.revocation_time,
                reason=decision.reason,
                path=path,
                index=index,
                source=first.source.value,
                decided_by=decision.decided_by,
                findings=findings,
            )
        if decision.status is RevocationStatus.GOOD:
            return _evidence(path, index, RevocationStatus.GOOD, decision.why, decision, findings)
        return self._unknown(path, index, decision, findings)

    def _unknown(
        self,
        path: Sequence[x509.Certificate],
        index: int,
        decision: Decision | None,
        findings: tuple[RevocationFinding, ...],
    ) -> RevocationEvidence:
        """UNKNOWN: an error under hard-fail (saying when age alone was the problem),
        accepted under soft-fail."""
        why = decision.why if decision is not None else _NO_EVIDENCE
        contradictory = decision is not None and decision.contradictory
        if self.policy.revocation is RevocationMode.HARD_FAIL or contradictory:
            # Soft-fail is for evidence that is missing, never for evidence that
            # contradicts itself.
            error = (
                StaleRevocationError
                if decision is not None and decision.freshness_only
                else RevocationUnknownError
            )
            raise error(
                f"certificate {index} ({facts_of(path[index]).subject_text}): revocation"
                f" status unknown: {why} "
                + ("(in every mode)" if contradictory else "(hard-fail, RFC 5280 6.3.3 k)"),
                path=path,
                index=index,
                findings=findings,
            )
        return _evidence(path, index, RevocationStatus.UNKNOWN, why, decision, findings)


def _evidence(
    path: Sequence[x509.Certificate],
    index: int,
    status: RevocationStatus,
    detail: str,
    decision: Decision | None = None,
    findings: tuple[RevocationFinding, ...] = (),
) -> RevocationEvidence:
    facts = facts_of(path[index])
    first = decision.decided_by[0] if decision is not None and decision.decided_by else None
    source = first.source if first is not None and status is RevocationStatus.GOOD else None
    return RevocationEvidence(
        index=index,
        subject=facts.subject_text,
        serial=facts.serial,
        status=status,
        source=source or EvidenceSource.NONE,
        detail=detail,
        this_update=first.this_update if first else None,
        next_update=first.next_update if first else None,
        revocation_time=decision.revocation_time if decision else None,
        reason=decision.reason if decision else None,
        decided_by=decision.decided_by if decision else (),
        findings=findings,
    )
