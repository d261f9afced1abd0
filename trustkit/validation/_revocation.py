"""Revocation checking: CRLs (RFC 5280 6.3) and OCSP responses (RFC 6960)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import ocsp
from cryptography.x509.oid import CRLEntryExtensionOID, ExtendedKeyUsageOID, ExtensionOID

from ..errors import RevocationUnknownError, RevokedError
from ..matching import NormalizedName, names_equal, normalize_name
from ..names import format_name
from ._cache import EXTENSION_ERRORS, crl_facts_of, facts_of
from ._crypto import (
    PublicKey,
    certificate_signed_by,
    key_problem,
    public_key_of,
    serial_of,
    signature_problem,
    verify_signature,
)
from ._model import (
    EvidenceSource,
    RevocationEvidence,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
)
from ._path import get_extension

__all__ = ["RevocationChecker"]

E = TypeVar("E", bound=x509.ExtensionType)

ALL_REASONS = frozenset(
    r
    for r in x509.ReasonFlags
    if r not in (x509.ReasonFlags.unspecified, x509.ReasonFlags.remove_from_crl)
)
"""Every reason a CRL can cover (RFC 5280 5.2.5 onlySomeReasons)."""

_KNOWN_CRL_EXTENSIONS = frozenset(
    {
        ExtensionOID.CRL_NUMBER,
        ExtensionOID.DELTA_CRL_INDICATOR,
        ExtensionOID.ISSUING_DISTRIBUTION_POINT,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.FRESHEST_CRL,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
    }
)
_KNOWN_ENTRY_EXTENSIONS = frozenset(
    {
        CRLEntryExtensionOID.CRL_REASON,
        CRLEntryExtensionOID.INVALIDITY_DATE,
        CRLEntryExtensionOID.CERTIFICATE_ISSUER,
        x509.ObjectIdentifier("2.5.29.23"),  # holdInstructionCode
    }
)

MAX_SIGNER_DEPTH = 3
"""How deep CRL-signer and OCSP-responder paths may nest inside each other."""

OcspFetch = Callable[[str, x509.Certificate, x509.Certificate], ocsp.OCSPResponse | None]
"""(responder URL, certificate, issuer) -> a fetched OCSP response, or None."""

SignerValidator = Callable[[x509.Certificate, x509.Certificate, int], str | None]
"""(signer certificate, trust anchor, depth) -> why the signer's path fails, or None."""


def _general_names_match(a: Sequence[x509.GeneralName], b: Sequence[x509.GeneralName]) -> bool:
    for x in a:
        for y in b:
            if isinstance(x, x509.DirectoryName) and isinstance(y, x509.DirectoryName):
                if names_equal(x.value, y.value):
                    return True
            elif x == y:
                return True
    return False


def _with_rdn(name: x509.Name, rdn: x509.RelativeDistinguishedName) -> x509.GeneralName:
    return x509.DirectoryName(x509.Name([*name.rdns, rdn]))


@dataclass(frozen=True)
class _DistributionPoint:
    """A DistributionPoint, or the implicit one of a certificate without CRLDP."""

    full_name: Sequence[x509.GeneralName] | None
    relative_name: x509.RelativeDistinguishedName | None
    reasons: frozenset[x509.ReasonFlags] | None
    crl_issuer: Sequence[x509.GeneralName] | None


_NO_EVIDENCE = "no CRL or OCSP response covers it"


@dataclass
class _CrlOutcome:
    status: RevocationStatus
    reasons: frozenset[x509.ReasonFlags] = frozenset()
    crl: x509.CertificateRevocationList | None = None
    revocation_time: datetime | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class RevocationChecker:
    """State for the revocation part of one validation (pools, fetched data)."""

    policy: ValidationPolicy
    at: datetime
    crls: list[x509.CertificateRevocationList]
    ocsp_responses: list[ocsp.OCSPResponse]
    pool: Sequence[x509.Certificate]
    validate_signer: SignerValidator
    fetch_crl: Callable[[str], x509.CertificateRevocationList | None] | None = None
    fetch_ocsp: (
        Callable[[str, x509.Certificate, x509.Certificate], ocsp.OCSPResponse | None] | None
    ) = None
    depth: int = 0

    # --- the whole path ---------------------------------------------------------------

    def check_path(self, path: Sequence[x509.Certificate]) -> tuple[RevocationEvidence, ...]:
        """Evidence for every certificate below the anchor; raises when revoked or
        when hard-fail finds nothing usable."""
        evidence: list[RevocationEvidence] = []
        for index in range(len(path) - 1):
            evidence.append(self._check_one(path, index))
        return tuple(evidence)

    def _check_one(self, path: Sequence[x509.Certificate], index: int) -> RevocationEvidence:
        cert, issuer = path[index], path[index + 1]
        facts = facts_of(cert)
        subject = facts.subject_text
        serial = facts.serial

        def evidence(
            status: RevocationStatus,
            source: EvidenceSource,
            detail: str,
            this_update: datetime | None = None,
            next_update: datetime | None = None,
        ) -> RevocationEvidence:
            return RevocationEvidence(
                index=index,
                subject=subject,
                serial=serial,
                status=status,
                source=source,
                detail=detail,
                this_update=this_update,
                next_update=next_update,
            )

        if self.policy.revocation is RevocationMode.OFF:
            return evidence(
                RevocationStatus.NOT_CHECKED,
                EvidenceSource.NONE,
                "revocation checking is off",
            )

        if not (self.crls or self.ocsp_responses or self.fetch_crl or self.fetch_ocsp):
            # Nothing to look in (the common soft-fail call without evidence): as below.
            if self.policy.revocation is RevocationMode.HARD_FAIL:
                raise RevocationUnknownError(
                    f"certificate {index} ({subject}): revocation status unknown: "
                    f"{_NO_EVIDENCE} (hard-fail, RFC 5280 6.3.3 k)",
                    path=path,
                    index=index,
                )
            return evidence(RevocationStatus.UNKNOWN, EvidenceSource.NONE, _NO_EVIDENCE)

        notes: list[str] = []
        # OCSP first: a fresh, signed answer about exactly this certificate.
        for response in self._ocsp_candidates(cert, issuer):
            answer = self._ocsp_answer(response, cert, path[index + 1 :], notes)
            if answer is None:
                continue
            status, this_update, next_update, rtime, reason = answer
            if status is RevocationStatus.REVOKED:
                assert rtime is not None
                raise RevokedError(
                    f"certificate {index} ({subject}): revoked at {rtime.isoformat()}"
                    f" reason {reason or 'unspecified'} (OCSP, RFC 6960)",
                    serial=serial_of(cert),
                    revocation_time=rtime,
                    reason=reason,
                    path=path,
                    index=index,
                )
            if status is RevocationStatus.GOOD:
                return evidence(
                    status,
                    EvidenceSource.OCSP,
                    "OCSP response good",
                    this_update=this_update,
                    next_update=next_update,
                )

        outcome = self._crl_status(path, index, notes)
        if outcome.status is RevocationStatus.REVOKED:
            assert outcome.revocation_time is not None
            raise RevokedError(
                f"certificate {index} ({subject}): revoked at "
                f"{outcome.revocation_time.isoformat()} reason {outcome.reason or 'unspecified'}"
                " (CRL, RFC 5280 6.3)",
                serial=serial_of(cert),
                revocation_time=outcome.revocation_time,
                reason=outcome.reason,
                path=path,
                index=index,
            )
        if outcome.status is RevocationStatus.GOOD and outcome.crl is not None:
            return evidence(
                RevocationStatus.GOOD,
                EvidenceSource.CRL,
                f"not on CRL issued by {format_name(outcome.crl.issuer)}",
                this_update=outcome.crl.last_update_utc,
                next_update=outcome.crl.next_update_utc,
            )
        why = "; ".join(dict.fromkeys(notes)) or _NO_EVIDENCE
        if self.policy.revocation is RevocationMode.HARD_FAIL:
            raise RevocationUnknownError(
                f"certificate {index} ({subject}): revocation status unknown: {why}"
                " (hard-fail, RFC 5280 6.3.3 k)",
                path=path,
                index=index,
            )
        return evidence(RevocationStatus.UNKNOWN, EvidenceSource.NONE, why)

    # --- OCSP ---------------------------------------------------------------------------

    def _ocsp_candidates(
        self, cert: x509.Certificate, issuer: x509.Certificate
    ) -> list[ocsp.OCSPResponse]:
        found = list(self.ocsp_responses)
        if self.fetch_ocsp is not None:
            aia = _safe_ext(cert, x509.AuthorityInformationAccess)
            for desc in aia.value if aia is not None else ():
                if desc.access_method == x509.oid.AuthorityInformationAccessOID.OCSP and isinstance(
                    desc.access_location, x509.UniformResourceIdentifier
                ):
                    fetched = self.fetch_ocsp(desc.access_location.value, cert, issuer)
                    if fetched is not None:
                        found.append(fetched)
        return found

    def _ocsp_answer(
        self,
        response: ocsp.OCSPResponse,
        cert: x509.Certificate,
        above: Sequence[x509.Certificate],
        notes: list[str],
    ) -> tuple[RevocationStatus, datetime, datetime | None, datetime | None, str | None] | None:
        """The answer ``response`` gives about ``cert``, whose issuer is ``above[0]``
        (``above`` is the rest of its path, up to the anchor); ``None`` when it gives none
        that can be used, with the reason added to ``notes``."""
        issuer = above[0]
        try:
            if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
                notes.append(f"OCSP response status {response.response_status.name}")
                return None
            singles = list(response.responses)
        except ValueError:
            notes.append("OCSP response cannot be parsed")
            return None
        for single in singles:
            try:
                if single.serial_number != serial_of(cert):
                    continue
                expected = (
                    ocsp.OCSPRequestBuilder()
                    .add_certificate(cert, issuer, single.hash_algorithm)
                    .build()
                )
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
            if (
                single.issuer_name_hash != expected.issuer_name_hash
                or single.issuer_key_hash != expected.issuer_key_hash
            ):
                continue
            signer_problem = self._ocsp_signer_problem(response, above)
            if signer_problem is not None:
                notes.append(f"OCSP response: {signer_problem}")
                return None
            tol = self.policy.ocsp_tolerance
            if single.this_update_utc > self.at + tol:
                notes.append("OCSP response thisUpdate is in the future")
                return None
            if single.next_update_utc is not None and single.next_update_utc < self.at - tol:
                notes.append("OCSP response is stale: nextUpdate has passed")
                return None
            status = single.certificate_status
            if status == ocsp.OCSPCertStatus.GOOD:
                return (
                    RevocationStatus.GOOD,
                    single.this_update_utc,
                    single.next_update_utc,
                    None,
                    None,
                )
            if status == ocsp.OCSPCertStatus.REVOKED:
                reason = single.revocation_reason
                return (
                    RevocationStatus.REVOKED,
                    single.this_update_utc,
                    single.next_update_utc,
                    single.revocation_time_utc,
                    reason.value if reason else None,
                )
            notes.append("OCSP responder answered unknown")
            return None
        return None

    def _ocsp_signer_problem(
        self, response: ocsp.OCSPResponse, above: Sequence[x509.Certificate]
    ) -> str | None:
        issuer = above[0]

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
            if key is None or key_problem(key, self.policy.algorithms) is not None:
                return False
            try:
                hash_algorithm = response.signature_hash_algorithm
            except UnsupportedAlgorithm:
                return False
            if signature_problem(
                hash_algorithm, response.signature_algorithm_oid, self.policy.algorithms
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
        for candidate in [*response.certificates, *self.pool]:
            if not is_responder(candidate):
                continue
            # RFC 6960 4.2.2.2: a delegated responder is issued directly by the CA
            # and carries id-kp-OCSPSigning.
            if not names_equal(candidate.issuer, issuer.subject):
                continue
            if not certificate_signed_by(candidate, public_key_of(issuer)):
                continue
            eku = _safe_ext(candidate, x509.ExtendedKeyUsage)
            if eku is None or ExtendedKeyUsageOID.OCSP_SIGNING not in eku.value:
                return "delegated responder lacks the OCSPSigning EKU (RFC 6960 4.2.2.2)"
            if not candidate.not_valid_before_utc <= self.at <= candidate.not_valid_after_utc:
                return "delegated responder certificate is not valid at the validation time"
            if not signed_by(candidate):
                return "signature by the delegated responder does not verify"
            return self._responder_status_problem(candidate, above)
        return "not signed by the issuing CA or a responder it authorised"

    def _responder_status_problem(
        self, responder: x509.Certificate, above: Sequence[x509.Certificate]
    ) -> str | None:
        """Why the delegated ``responder`` cannot be trusted as far as its own
        revocation goes, or ``None``.

        RFC 6960 4.2.2.2.1: a responder certificate with id-pkix-ocsp-nocheck is
        trusted for its lifetime; without it, its status is checked like any other
        certificate's, here against CRLs only (asking the responder about itself
        proves nothing). Hard-fail needs that evidence; soft-fail does without.
        """
        if _safe_ext(responder, x509.OCSPNoCheck) is not None:
            return None
        notes: list[str] = []
        outcome = self._crl_status([responder, *above], 0, notes)
        if outcome.status is RevocationStatus.REVOKED:
            return "delegated responder certificate is revoked (CRL, RFC 6960 4.2.2.2.1)"
        if outcome.status is RevocationStatus.GOOD or (
            self.policy.revocation is not RevocationMode.HARD_FAIL
        ):
            return None
        return (
            "delegated responder has no id-pkix-ocsp-nocheck and no CRL gives its own"
            " status (RFC 6960 4.2.2.2.1)"
        )

    # --- CRLs (RFC 5280 6.3.3) -----------------------------------------------------------

    def _crl_pool(self, cert: x509.Certificate) -> list[x509.CertificateRevocationList]:
        pool = list(self.crls)
        if self.fetch_crl is not None:
            points: list[x509.DistributionPoint] = []
            cdp = _safe_ext(cert, x509.CRLDistributionPoints)
            freshest = _safe_ext(cert, x509.FreshestCRL)
            points.extend(cdp.value if cdp is not None else ())
            points.extend(freshest.value if freshest is not None else ())
            for dp in points:
                for name in dp.full_name or ():
                    if isinstance(name, x509.UniformResourceIdentifier):
                        fetched = self.fetch_crl(name.value)
                        if fetched is not None:
                            pool.append(fetched)
        return pool

    def _crl_status(
        self, path: Sequence[x509.Certificate], index: int, notes: list[str]
    ) -> _CrlOutcome:
        cert = path[index]
        cdp = _safe_ext(cert, x509.CRLDistributionPoints)
        dps: list[_DistributionPoint]
        if cdp is not None and len(cdp.value):
            dps = [
                _DistributionPoint(d.full_name, d.relative_name, d.reasons, d.crl_issuer)
                for d in cdp.value
            ]
        else:
            # No CRLDP: the issuer is the implicit distribution point.
            dps = [_DistributionPoint(None, None, None, None)]
        pool = self._crl_pool(cert)
        completes = [c for c in pool if _safe_crl_ext(c, x509.DeltaCRLIndicator) is None]
        deltas = [c for c in pool if _safe_crl_ext(c, x509.DeltaCRLIndicator) is not None]
        if not completes and deltas:
            notes.append("only a delta CRL, no complete CRL (RFC 5280 5.2.4)")
        reasons_mask: frozenset[x509.ReasonFlags] = frozenset()
        used: x509.CertificateRevocationList | None = None
        for dp in dps:
            for crl in completes:
                if reasons_mask == ALL_REASONS:
                    break
                outcome = self._one_crl(path, index, dp, crl, deltas, reasons_mask, notes)
                if outcome is None:
                    continue
                if outcome.status is RevocationStatus.REVOKED:
                    return outcome
                reasons_mask |= outcome.reasons
                used = crl
        if reasons_mask == ALL_REASONS:
            return _CrlOutcome(RevocationStatus.GOOD, reasons_mask, used)
        if used is not None:
            notes.append("CRLs found do not cover every revocation reason (RFC 5280 6.3.3 k)")
        return _CrlOutcome(RevocationStatus.UNKNOWN, reasons_mask)

    def _one_crl(
        self,
        path: Sequence[x509.Certificate],
        index: int,
        dp: _DistributionPoint,
        crl: x509.CertificateRevocationList,
        deltas: list[x509.CertificateRevocationList],
        reasons_mask: frozenset[x509.ReasonFlags],
        notes: list[str],
    ) -> _CrlOutcome | None:
        cert = path[index]
        crl_extensions = _crl_extensions(crl)
        if crl_extensions is None:  # malformed, or one twice (RFC 5280 5.2: one of each)
            notes.append("a CRL's extensions cannot be parsed")
            return None
        idp_ext = _safe_crl_ext(crl, x509.IssuingDistributionPoint)
        idp = idp_ext.value if idp_ext is not None else None

        # (b)(1) issuer: direct, or indirect through the DP's cRLIssuer.
        if dp.crl_issuer:
            if not _general_names_match(dp.crl_issuer, [x509.DirectoryName(crl.issuer)]):
                return None
            if idp is None or not idp.indirect_crl:
                notes.append("CRL named by cRLIssuer is not marked indirect (RFC 5280 5.2.5)")
                return None
            crl_issuer_names: list[x509.GeneralName] = list(dp.crl_issuer)
        else:
            if crl_facts_of(crl).issuer_norm != facts_of(cert).issuer_norm:  # names_equal
                if not (idp is not None and idp.indirect_crl):
                    return None
            crl_issuer_names = [x509.DirectoryName(cert.issuer)]

        # (b)(2) scope of the issuing distribution point.
        if idp is not None:
            idp_names: list[x509.GeneralName] | None = None
            if idp.full_name:
                idp_names = list(idp.full_name)
            elif idp.relative_name is not None:
                idp_names = [_with_rdn(crl.issuer, idp.relative_name)]
            if idp_names is not None:
                if dp.full_name:
                    dp_names: list[x509.GeneralName] = list(dp.full_name)
                elif dp.relative_name is not None:
                    dp_names = [_with_rdn(crl.issuer, dp.relative_name)]
                else:
                    dp_names = crl_issuer_names
                if not _general_names_match(idp_names, dp_names):
                    return None
            is_ca = _is_ca(cert)
            if idp.only_contains_user_certs and is_ca:
                return None
            if idp.only_contains_ca_certs and not is_ca:
                return None
            if idp.only_contains_attribute_certs:
                return None
        # An indirect CRL found without a cRLIssuer in the DP still has to name the issuer
        # through certificateIssuer entries; entry matching below checks that.

        for ext in crl_extensions:
            if ext.critical and ext.oid not in _KNOWN_CRL_EXTENSIONS:
                notes.append(
                    f"CRL has unknown critical extension {ext.oid.dotted_string} (RFC 5280 5.2)"
                )
                return None
        number = next((e for e in crl_extensions if e.oid == ExtensionOID.CRL_NUMBER), None)
        if number is None or number.critical:
            # RFC 5280 5.2.3: every conforming CRL carries a non-critical cRLNumber, by
            # which CRLs are ordered and deltas tied to their base.
            notes.append(
                "CRL has no cRLNumber (RFC 5280 5.2.3)"
                if number is None
                else "CRL marks cRLNumber critical (RFC 5280 5.2.3: MUST NOT)"
            )
            return None

        # (d), (e) reasons.
        idp_reasons = idp.only_some_reasons if idp is not None and idp.only_some_reasons else None
        interim = (idp_reasons or ALL_REASONS) & (dp.reasons or ALL_REASONS)
        if not interim - reasons_mask:
            return None

        # (f) the CRL signer and its path.
        signer_problem = self._crl_signer_problem(path, index, crl)
        if signer_problem is not None:
            notes.append(signer_problem)
            return None

        # freshness
        if crl.last_update_utc > self.at:
            notes.append("CRL thisUpdate is after the validation time")
            return None
        if crl.next_update_utc is not None and crl.next_update_utc < self.at:
            notes.append(
                f"CRL from {format_name(crl.issuer)} is stale: nextUpdate "
                f"{crl.next_update_utc.isoformat()} has passed"
            )
            return None

        # (g) delta CRL, when one is given for this complete CRL.
        delta: x509.CertificateRevocationList | None = None
        if self.policy.use_delta_crls:
            matching = [d for d in deltas if self._delta_matches(crl, d, idp_ext)]
            if matching:
                usable = [d for d in matching if self._delta_usable(path, index, d, notes)]
                if not usable:
                    notes.append("the delta CRL for this CRL is not usable")
                    return None
                delta = max(usable, key=_crl_number)

        # (i), (j) look the certificate up.
        try:
            hit = self._find_entry(crl, cert, notes)
            delta_hit = self._find_entry(delta, cert, notes) if delta is not None else None
        except _Unusable:
            return None
        entry = delta_hit or hit
        if entry is not None:
            reason = _entry_reason(entry)
            if reason == x509.ReasonFlags.remove_from_crl:
                if delta_hit is not None:
                    return _CrlOutcome(RevocationStatus.GOOD, interim, crl)
            else:
                return _CrlOutcome(
                    RevocationStatus.REVOKED,
                    interim,
                    crl,
                    revocation_time=entry.revocation_date_utc,
                    reason=reason.value if reason is not None else None,
                )
        return _CrlOutcome(RevocationStatus.GOOD, interim, crl)

    def _find_entry(
        self,
        crl: x509.CertificateRevocationList,
        cert: x509.Certificate,
        notes: list[str],
    ) -> x509.RevokedCertificate | None:
        index = _entry_index(crl)
        if isinstance(index, str):
            notes.append(index)
            raise _Unusable
        facts = facts_of(cert)
        for entry, entry_issuer in index.get(facts.serial, ()):
            if entry_issuer == facts.issuer_norm:  # names_equal(entry issuer, cert issuer)
                return entry
        return None

    def _delta_matches(
        self,
        complete: x509.CertificateRevocationList,
        delta: x509.CertificateRevocationList,
        idp_ext: x509.Extension[x509.IssuingDistributionPoint] | None,
    ) -> bool:
        if not names_equal(complete.issuer, delta.issuer):
            return False
        d_idp = _safe_crl_ext(delta, x509.IssuingDistributionPoint)
        if (idp_ext.value if idp_ext else None) != (d_idp.value if d_idp else None):
            return False
        indicator = _safe_crl_ext(delta, x509.DeltaCRLIndicator)
        number = _crl_number(complete)
        if indicator is None or number < 0:
            return False
        return indicator.value.crl_number <= number < _crl_number(delta)

    def _delta_usable(
        self,
        path: Sequence[x509.Certificate],
        index: int,
        delta: x509.CertificateRevocationList,
        notes: list[str],
    ) -> bool:
        if self._crl_signer_problem(path, index, delta) is not None:
            return False
        if delta.last_update_utc > self.at:
            return False
        if delta.next_update_utc is not None and delta.next_update_utc < self.at:
            notes.append("delta CRL is stale: nextUpdate has passed")
            return False
        return all(
            not (e.critical and e.oid not in _KNOWN_CRL_EXTENSIONS) for e in delta.extensions
        )

    def _crl_signer_problem(
        self,
        path: Sequence[x509.Certificate],
        index: int,
        crl: x509.CertificateRevocationList,
    ) -> str | None:
        """Why no validated certificate with cRLSign signed ``crl`` (RFC 5280 6.3.3 f)."""
        anchor = path[-1]
        try:
            hash_algorithm = crl.signature_hash_algorithm
            params = crl.signature_algorithm_parameters
        except (UnsupportedAlgorithm, ValueError):
            return "CRL signature algorithm is not supported"
        problem = signature_problem(
            hash_algorithm, crl.signature_algorithm_oid, self.policy.algorithms
        )
        if problem is not None:
            return f"CRL: {problem}"
        trusted = list(path[index + 1 :])
        candidates = trusted + [c for c in self.pool if c not in trusted]
        seen_issuer = False
        crl_facts = crl_facts_of(crl)
        for candidate in candidates:
            candidate_facts = facts_of(candidate)
            if candidate_facts.subject_norm != crl_facts.issuer_norm:  # names_equal
                continue
            seen_issuer = True
            key = candidate_facts.key
            if key is None or key_problem(key, self.policy.algorithms) is not None:
                continue

            def check(key: PublicKey = key) -> bool:
                # Only on a miss: the TBS of a long CRL is costly to produce.
                return verify_signature(
                    key, crl.signature, crl.tbs_certlist_bytes, hash_algorithm, params
                )

            # The result depends on the CRL (kept by identity) and the key alone.
            if not crl_facts.signed_by(candidate_facts.spki, check):
                continue
            ku = _safe_ext(candidate, x509.KeyUsage)
            if ku is not None and not ku.value.crl_sign:
                return "CRL signer's keyUsage lacks cRLSign (RFC 5280 6.3.3 f)"
            if candidate in trusted:
                return None
            if self.depth >= MAX_SIGNER_DEPTH:
                return "CRL signer paths nest too deep"
            why = self.validate_signer(candidate, anchor, self.depth + 1)
            if why is None:
                return None
            return f"CRL signer's path is not valid: {why}"
        if not seen_issuer:
            return f"no certificate for CRL issuer {format_name(crl.issuer)}"
        return f"signature of the CRL from {format_name(crl.issuer)} does not verify"


class _Unusable(Exception):
    """Internal: a CRL that cannot be used."""


def _entry_reason(entry: x509.RevokedCertificate) -> x509.ReasonFlags | None:
    try:
        ext = entry.extensions.get_extension_for_class(x509.CRLReason)
    except (
        x509.ExtensionNotFound,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
        ValueError,
    ):
        return None
    return ext.value.reason


def _crl_number(crl: x509.CertificateRevocationList) -> int:
    ext = _safe_crl_ext(crl, x509.CRLNumber)
    return ext.value.crl_number if ext is not None else -1


def _is_ca(cert: x509.Certificate) -> bool:
    bc = _safe_ext(cert, x509.BasicConstraints)
    return bc is not None and bc.value.ca


def _safe_ext(cert: x509.Certificate, ext_type: type[E]) -> x509.Extension[E] | None:
    try:
        return get_extension(cert, ext_type)
    except Exception:  # MalformedCertificate: treat as absent here; path checks report it
        return None


def _safe_crl_ext(
    crl: x509.CertificateRevocationList, ext_type: type[E]
) -> x509.Extension[E] | None:
    memo = crl_facts_of(crl).memo
    if ext_type in memo:
        return memo[ext_type]  # type: ignore[return-value]
    found: x509.Extension[E] | None
    try:
        found = crl.extensions.get_extension_for_class(ext_type)
    except (
        x509.ExtensionNotFound,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
        ValueError,
    ):
        found = None
    memo[ext_type] = found
    return found


def _crl_extensions(
    crl: x509.CertificateRevocationList,
) -> list[x509.Extension[x509.ExtensionType]] | None:
    """The CRL's extensions, ``None`` when they cannot be parsed; computed once per CRL."""
    memo = crl_facts_of(crl).memo
    if "extensions" not in memo:
        try:
            memo["extensions"] = list(crl.extensions)
        except (
            ValueError,
            x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType,
        ):  # RFC 5280 5.2: one of each
            memo["extensions"] = None
    return memo["extensions"]  # type: ignore[return-value]


_EntryIndex = dict[int, list[tuple[x509.RevokedCertificate, NormalizedName]]]


def _entry_index(crl: x509.CertificateRevocationList) -> _EntryIndex | str:
    """The CRL's entries by serial number, each with the normalized name of the issuer
    of the certificate it revokes; or why the CRL cannot be used. Built once per CRL.

    In an indirect CRL a certificateIssuer entry extension names the issuer for that
    entry and the ones after it (RFC 5280 5.3.3); otherwise it is the CRL issuer. An
    entry with an unknown critical extension makes the whole CRL unusable (5.3).
    """
    memo = crl_facts_of(crl).memo
    if "entries" not in memo:
        memo["entries"] = _build_entry_index(crl)
    return memo["entries"]  # type: ignore[return-value]


def _build_entry_index(crl: x509.CertificateRevocationList) -> _EntryIndex | str:
    try:
        idp_ext = _safe_crl_ext(crl, x509.IssuingDistributionPoint)
        indirect = idp_ext is not None and idp_ext.value.indirect_crl
        entries = list(crl)
    except ValueError:
        return "CRL entries cannot be parsed"
    entry_issuer = crl_facts_of(crl).issuer_norm
    index: _EntryIndex = {}
    with warnings.catch_warnings():
        # Non-positive serials (RFC 5280 4.1.2.2) are looked up all the same: see serial_of.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for entry in entries:
            try:
                exts = list(entry.extensions)
            except EXTENSION_ERRORS:
                return "a CRL entry's extensions cannot be parsed"
            for ext in exts:
                if ext.critical and ext.oid not in _KNOWN_ENTRY_EXTENSIONS:
                    return (
                        f"CRL entry has unknown critical extension {ext.oid.dotted_string}"
                        " (RFC 5280 5.3)"
                    )
                if indirect and isinstance(ext.value, x509.CertificateIssuer):
                    dirs = [g.value for g in ext.value if isinstance(g, x509.DirectoryName)]
                    if dirs:
                        entry_issuer = normalize_name(dirs[0])
            listed = index.setdefault(entry.serial_number, [])
            if any(issuer == entry_issuer for _, issuer in listed):
                # One entry per certificate (RFC 5280 5.1.2.6): two leave its status unclear.
                return f"CRL lists serial {entry.serial_number:X} twice"
            listed.append((entry, entry_issuer))
    return index
