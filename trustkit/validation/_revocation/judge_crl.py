"""Judging one CRL for one certificate (RFC 5280 6.3.3), alone, into a finding."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import CRLEntryExtensionOID, ExtensionOID

from ...matching import NormalizedName, names_equal, normalize_name
from ...names import format_name
from .._cache import EXTENSION_ERRORS, crl_facts_of, facts_of
from .._crypto import PublicKey, key_problem, signature_problem, verify_signature
from .._model import EvidenceSource, FindingStatus, Freshness, RevocationFinding
from .context import MAX_SIGNER_DEPTH, Context, is_ca, safe_ext

__all__ = [
    "ALL_REASONS",
    "DistributionPoint",
    "crl_number",
    "distribution_points",
    "is_delta",
    "judge_crl",
]

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


@dataclass(frozen=True)
class DistributionPoint:
    """A DistributionPoint, or the implicit one of a certificate without CRLDP."""

    full_name: Sequence[x509.GeneralName] | None
    relative_name: x509.RelativeDistinguishedName | None
    reasons: frozenset[x509.ReasonFlags] | None
    crl_issuer: Sequence[x509.GeneralName] | None


def distribution_points(cert: x509.Certificate) -> list[DistributionPoint]:
    """The certificate's CRL distribution points; without any, the issuer is the
    implicit one (RFC 5280 6.3.3)."""
    cdp = safe_ext(cert, x509.CRLDistributionPoints)
    if cdp is not None and len(cdp.value):
        return [
            DistributionPoint(d.full_name, d.relative_name, d.reasons, d.crl_issuer)
            for d in cdp.value
        ]
    return [DistributionPoint(None, None, None, None)]


def is_delta(crl: x509.CertificateRevocationList) -> bool:
    return _safe_crl_ext(crl, x509.DeltaCRLIndicator) is not None


def crl_number(crl: x509.CertificateRevocationList) -> int:
    ext = _safe_crl_ext(crl, x509.CRLNumber)
    return ext.value.crl_number if ext is not None else -1


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


class _Judgement:
    """Builds the finding for one (certificate, CRL) pair."""

    def __init__(
        self,
        ctx: Context,
        path: Sequence[x509.Certificate],
        index: int,
        crl: x509.CertificateRevocationList,
    ) -> None:
        self.ctx = ctx
        self.path = path
        self.index = index
        self.cert = path[index]
        self.crl = crl
        self.facts = crl_facts_of(crl)
        idp_ext = _safe_crl_ext(crl, x509.IssuingDistributionPoint)
        self.idp_ext = idp_ext
        self.idp = idp_ext.value if idp_ext is not None else None

    @property
    def issuer(self) -> str:
        return _labels(self.crl)[0]

    @property
    def scope(self) -> str:
        return _labels(self.crl)[1]

    def unusable(self, note: str) -> RevocationFinding:
        return RevocationFinding(
            source=EvidenceSource.CRL,
            scope=self.scope,
            issuer=self.issuer,
            status=FindingStatus.UNUSABLE,
            this_update=self.crl.last_update_utc,
            next_update=self.crl.next_update_utc,
            crl_number=crl_number(self.crl),
            note=note,
        )

    def interim_reasons(self, dp: DistributionPoint) -> frozenset[x509.ReasonFlags] | str | None:
        """The reasons this CRL covers for ``dp`` (RFC 5280 6.3.3 b, d), ``None`` when
        the CRL is not for ``dp``, or why it cannot be although it claims to be."""
        crl, cert, idp = self.crl, self.cert, self.idp
        # (b)(1) issuer: direct, or indirect through the DP's cRLIssuer.
        if dp.crl_issuer:
            if not _general_names_match(dp.crl_issuer, [x509.DirectoryName(crl.issuer)]):
                return None
            if idp is None or not idp.indirect_crl:
                return "CRL named by cRLIssuer is not marked indirect (RFC 5280 5.2.5)"
            crl_issuer_names: list[x509.GeneralName] = list(dp.crl_issuer)
        else:
            if self.facts.issuer_norm != facts_of(cert).issuer_norm:  # names_equal
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
            ca = is_ca(cert)
            if idp.only_contains_user_certs and ca:
                return None
            if idp.only_contains_ca_certs and not ca:
                return None
            if idp.only_contains_attribute_certs:
                return None
        # An indirect CRL found without a cRLIssuer in the DP still has to name the
        # issuer through certificateIssuer entries; entry matching checks that.
        # (d) reasons.
        idp_reasons = idp.only_some_reasons if idp is not None and idp.only_some_reasons else None
        return (idp_reasons or ALL_REASONS) & (dp.reasons or ALL_REASONS)

    def judge(
        self,
        dps: Sequence[DistributionPoint],
        deltas: Sequence[x509.CertificateRevocationList],
    ) -> RevocationFinding | None:
        crl, ctx = self.crl, self.ctx
        extensions = _crl_extensions(crl)
        if extensions is None:  # malformed, or one twice (RFC 5280 5.2: one of each)
            if self.facts.issuer_norm == facts_of(self.cert).issuer_norm:
                return self.unusable("the CRL's extensions cannot be parsed")
            return None
        covered: set[x509.ReasonFlags] = set()
        problem: str | None = None
        for dp in dps:
            interim = self.interim_reasons(dp)
            if isinstance(interim, str):
                problem = problem or interim
            elif interim is not None:
                covered |= interim
        if not covered:
            return self.unusable(problem) if problem is not None else None

        for ext in extensions:
            if ext.critical and ext.oid not in _KNOWN_CRL_EXTENSIONS:
                return self.unusable(
                    f"unknown critical extension {ext.oid.dotted_string} (RFC 5280 5.2)"
                )
        number = next((e for e in extensions if e.oid == ExtensionOID.CRL_NUMBER), None)
        if number is None or number.critical:
            # RFC 5280 5.2.3: every conforming CRL carries a non-critical cRLNumber, by
            # which CRLs are ordered and deltas tied to their base.
            return self.unusable(
                "no cRLNumber (RFC 5280 5.2.3)"
                if number is None
                else "the CRL marks cRLNumber critical (RFC 5280 5.2.3: MUST NOT)"
            )
        # (f) the CRL signer and its path.
        signer_problem = crl_signer_problem(ctx, self.path, self.index, crl)
        if signer_problem is not None:
            return self.unusable(signer_problem)

        # (g) the newest usable delta CRL on this base, when deltas are used.
        delta = self._delta(deltas) if ctx.policy.use_delta_crls else None
        freshness = self._freshness(crl)
        this_update, next_update = crl.last_update_utc, crl.next_update_utc
        if delta is not None:
            freshness = _combined(freshness, self._freshness(delta))
            this_update, next_update = delta.last_update_utc, delta.next_update_utc

        # (i), (j) look the certificate up.
        hit = _find_entry(crl, self.cert)
        delta_hit = _find_entry(delta, self.cert) if delta is not None else None
        for found in (hit, delta_hit):
            if isinstance(found, _Problem):
                finding = self.unusable(found.why)
                if found.about_this_certificate:
                    # Signed, and saying two things about this very certificate.
                    finding = dataclasses.replace(finding, status=FindingStatus.CONFLICTING)
                return finding
        entry = delta_hit or hit
        assert not isinstance(entry, _Problem)
        status, rtime, reason, note = FindingStatus.GOOD, None, None, ""
        if entry is not None:
            flag = _entry_reason(entry)
            if flag == x509.ReasonFlags.remove_from_crl:
                note = "removeFromCRL" if delta_hit is not None else ""
            else:
                status = FindingStatus.REVOKED
                rtime = _effective_time(entry)
                reason = flag.value if flag is not None else None
        return RevocationFinding(
            source=EvidenceSource.CRL,
            scope=self.scope,
            issuer=self.issuer,
            status=status,
            freshness=freshness,
            this_update=this_update,
            next_update=next_update,
            crl_number=crl_number(crl),
            delta_crl_number=crl_number(delta) if delta is not None else None,
            revocation_time=rtime,
            reason=reason,
            reasons=frozenset(r.value for r in covered),
            note=note,
        )

    def _freshness(self, crl: x509.CertificateRevocationList) -> Freshness:
        at = self.ctx.at
        if crl.last_update_utc > at:
            # After the validation time: admissible, unless after the certificate's
            # expiry, when its entry may have been dropped (RFC 5280 3.3).
            if crl.last_update_utc > facts_of(self.cert).validity[1]:
                return Freshness.AFTER_EXPIRY
            return Freshness.LATER
        if crl.next_update_utc is not None and crl.next_update_utc < at:
            return Freshness.STALE
        return Freshness.CURRENT

    def _delta(
        self, deltas: Sequence[x509.CertificateRevocationList]
    ) -> x509.CertificateRevocationList | None:
        usable = [
            d
            for d in deltas
            if _delta_matches(self.crl, d, self.idp_ext)
            and crl_signer_problem(self.ctx, self.path, self.index, d) is None
            and all(
                not (e.critical and e.oid not in _KNOWN_CRL_EXTENSIONS)
                for e in _crl_extensions(d) or ()
            )
            and _crl_extensions(d) is not None
        ]
        if not usable:
            return None
        # The newest; ties (one number twice) by content, never by input order.
        return max(usable, key=lambda d: (crl_number(d), d.last_update_utc, d.signature))


def _combined(base: Freshness, delta: Freshness) -> Freshness:
    """A base with a delta is as fresh as the staler of the two (RFC 5280 6.3.3 a)."""
    for worst in (Freshness.STALE, Freshness.AFTER_EXPIRY, Freshness.LATER):
        if worst in (base, delta):
            return worst
    return Freshness.CURRENT


def judge_crl(
    ctx: Context,
    path: Sequence[x509.Certificate],
    index: int,
    crl: x509.CertificateRevocationList,
    deltas: Sequence[x509.CertificateRevocationList],
    dps: Sequence[DistributionPoint] | None = None,
) -> RevocationFinding | None:
    """What the complete ``crl`` (with the newest matching delta of ``deltas``
    applied) says about ``path[index]``; ``None`` when it is not about it."""
    judgement = _Judgement(ctx, path, index, crl)
    return judgement.judge(dps if dps is not None else distribution_points(path[index]), deltas)


def _labels(crl: x509.CertificateRevocationList) -> tuple[str, str]:
    """The CRL's issuer text and scope, made once per CRL and only for a finding:
    most (certificate, CRL) pairs are told apart by the issuer's normalized name."""
    memo = crl_facts_of(crl).memo
    if "labels" not in memo:
        issuer = format_name(crl.issuer)
        idp = _safe_crl_ext(crl, x509.IssuingDistributionPoint)
        scope = f"crl {issuer}" + (f" idp {_idp_text(idp.value)}" if idp is not None else "")
        memo["labels"] = (issuer, scope)
    return memo["labels"]  # type: ignore[return-value]


def _idp_text(idp: x509.IssuingDistributionPoint) -> str:
    parts: list[str] = []
    for name in idp.full_name or ():
        parts.append(
            str(name.value) if not isinstance(name, x509.DirectoryName) else format_name(name.value)
        )
    if idp.relative_name is not None:
        parts.append(idp.relative_name.rfc4514_string())
    for flag, text in (
        (idp.only_contains_user_certs, "user"),
        (idp.only_contains_ca_certs, "ca"),
        (idp.only_contains_attribute_certs, "attribute"),
        (idp.indirect_crl, "indirect"),
    ):
        if flag:
            parts.append(text)
    if idp.only_some_reasons:
        parts.append("reasons " + ",".join(sorted(r.value for r in idp.only_some_reasons)))
    return " ".join(parts) or "-"


def _effective_time(entry: x509.RevokedCertificate) -> datetime:
    """The revocation time, or the invalidity date when earlier (RFC 5280 5.3.2: the key
    was known or suspected compromised, or the certificate invalid, from then)."""
    when = entry.revocation_date_utc
    try:
        ext = entry.extensions.get_extension_for_class(x509.InvalidityDate)
    except (x509.ExtensionNotFound, x509.DuplicateExtension, ValueError):
        return when
    invalid = ext.value.invalidity_date_utc
    return min(when, invalid)


def crl_signer_problem(
    ctx: Context,
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
        return "signature algorithm is not supported"
    problem = signature_problem(hash_algorithm, crl.signature_algorithm_oid, ctx.policy.algorithms)
    if problem is not None:
        return problem
    trusted = list(path[index + 1 :])
    candidates = trusted + [c for c in ctx.pool if c not in trusted]
    seen_issuer = False
    crl_facts = crl_facts_of(crl)
    for candidate in candidates:
        candidate_facts = facts_of(candidate)
        if candidate_facts.subject_norm != crl_facts.issuer_norm:  # names_equal
            continue
        seen_issuer = True
        key = candidate_facts.key
        if key is None or key_problem(key, ctx.policy.algorithms) is not None:
            continue

        def check(key: PublicKey = key) -> bool:
            # Only on a miss: the TBS of a long CRL is costly to produce.
            return verify_signature(
                key, crl.signature, crl.tbs_certlist_bytes, hash_algorithm, params
            )

        # The result depends on the CRL (kept by identity) and the key alone.
        if not crl_facts.signed_by(candidate_facts.spki, check):
            continue
        ku = safe_ext(candidate, x509.KeyUsage)
        if ku is not None and not ku.value.crl_sign:
            return "the CRL signer's keyUsage lacks cRLSign (RFC 5280 6.3.3 f)"
        if candidate in trusted:
            return None
        if ctx.depth >= MAX_SIGNER_DEPTH:
            return "CRL signer paths nest too deep"
        why = ctx.validate_signer(candidate, anchor, ctx.depth + 1)
        if why is None:
            return None
        return f"the CRL signer's path is not valid: {why}"
    if not seen_issuer:
        return f"no certificate for CRL issuer {format_name(crl.issuer)}"
    return f"signature of the CRL from {format_name(crl.issuer)} does not verify"


def _delta_matches(
    complete: x509.CertificateRevocationList,
    delta: x509.CertificateRevocationList,
    idp_ext: x509.Extension[x509.IssuingDistributionPoint] | None,
) -> bool:
    if crl_facts_of(complete).issuer_norm != crl_facts_of(delta).issuer_norm:
        return False
    d_idp = _safe_crl_ext(delta, x509.IssuingDistributionPoint)
    if (idp_ext.value if idp_ext else None) != (d_idp.value if d_idp else None):
        return False
    indicator = _safe_crl_ext(delta, x509.DeltaCRLIndicator)
    number = crl_number(complete)
    if indicator is None or number < 0:
        return False
    return indicator.value.crl_number <= number < crl_number(delta)


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


@dataclass(frozen=True)
class _Problem:
    """Why a CRL's entries cannot be used; whether it concerns the certificate sought."""

    why: str
    about_this_certificate: bool = False


def _find_entry(
    crl: x509.CertificateRevocationList | None, cert: x509.Certificate
) -> x509.RevokedCertificate | _Problem | None:
    """The entry for ``cert``, ``None``, or why the CRL's entries cannot be used."""
    if crl is None:
        return None
    index = _entry_index(crl)
    facts = facts_of(cert)
    if isinstance(index, _Problem):
        return index
    if isinstance(index, tuple):  # a serial listed twice
        _, twice = index
        if (facts.serial, facts.issuer_norm) in twice:
            why = f"lists this certificate (serial {facts.serial:X}) twice (RFC 5280 5.1.2.6)"
            return _Problem(why, about_this_certificate=True)
        serial = min(s for s, _ in twice)
        return _Problem(f"CRL lists serial {serial:X} twice (RFC 5280 5.1.2.6)")
    for entry, entry_issuer in index.get(facts.serial, ()):
        if entry_issuer == facts.issuer_norm:  # names_equal(entry issuer, cert issuer)
            return entry
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
_Twice = frozenset[tuple[int, NormalizedName]]


def _entry_index(
    crl: x509.CertificateRevocationList,
) -> _EntryIndex | tuple[_EntryIndex, _Twice] | _Problem:
    """The CRL's entries by serial number, each with the normalized name of the issuer
    of the certificate it revokes; or why the CRL cannot be used. Built once per CRL.

    In an indirect CRL a certificateIssuer entry extension names the issuer for that
    entry and the ones after it (RFC 5280 5.3.3); otherwise it is the CRL issuer. An
    entry with an unknown critical extension makes the whole CRL unusable (5.3), and
    so does a certificate listed twice (5.1.2.6), which the index returns with them.
    """
    memo = crl_facts_of(crl).memo
    if "entries" not in memo:
        memo["entries"] = _build_entry_index(crl)
    return memo["entries"]  # type: ignore[return-value]


def _build_entry_index(
    crl: x509.CertificateRevocationList,
) -> _EntryIndex | tuple[_EntryIndex, _Twice] | _Problem:
    try:
        idp_ext = _safe_crl_ext(crl, x509.IssuingDistributionPoint)
        indirect = idp_ext is not None and idp_ext.value.indirect_crl
        entries = list(crl)
    except ValueError:
        return _Problem("the CRL's entries cannot be parsed")
    entry_issuer = crl_facts_of(crl).issuer_norm
    index: _EntryIndex = {}
    twice: set[tuple[int, NormalizedName]] = set()
    with warnings.catch_warnings():
        # Non-positive serials (RFC 5280 4.1.2.2) are looked up all the same: see serial_of.
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for entry in entries:
            try:
                exts = list(entry.extensions)
            except EXTENSION_ERRORS:
                return _Problem("a CRL entry's extensions cannot be parsed")
            for ext in exts:
                if ext.critical and ext.oid not in _KNOWN_ENTRY_EXTENSIONS:
                    return _Problem(
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
                twice.add((entry.serial_number, entry_issuer))
            listed.append((entry, entry_issuer))
    return (index, frozenset(twice)) if twice else index
