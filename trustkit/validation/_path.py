"""Basic path validation, RFC 5280 section 6.1, over a built path."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from .._asn1 import decode_policy_mappings
from ..errors import DecodeError, PathValidationError
from ..matching import NameConstraintState, constrained_names
from ..names import format_name
from ._cache import EXTENSION_ERRORS, CertFacts, facts_of
from ._model import ANY_POLICY, ValidationPolicy
from ._policytree import PolicyTree, PolicyTreeTooLarge

__all__ = ["KNOWN_EXTENSIONS", "PathOutcome", "get_extension", "is_self_issued", "process_path"]

E = TypeVar("E", bound=x509.ExtensionType)

KNOWN_EXTENSIONS = frozenset(
    {
        ExtensionOID.BASIC_CONSTRAINTS,
        ExtensionOID.KEY_USAGE,
        ExtensionOID.EXTENDED_KEY_USAGE,
        ExtensionOID.SUBJECT_ALTERNATIVE_NAME,
        ExtensionOID.ISSUER_ALTERNATIVE_NAME,
        ExtensionOID.NAME_CONSTRAINTS,
        ExtensionOID.CERTIFICATE_POLICIES,
        ExtensionOID.POLICY_MAPPINGS,
        ExtensionOID.POLICY_CONSTRAINTS,
        ExtensionOID.INHIBIT_ANY_POLICY,
        ExtensionOID.SUBJECT_KEY_IDENTIFIER,
        ExtensionOID.AUTHORITY_KEY_IDENTIFIER,
        ExtensionOID.CRL_DISTRIBUTION_POINTS,
        ExtensionOID.FRESHEST_CRL,
        ExtensionOID.AUTHORITY_INFORMATION_ACCESS,
        ExtensionOID.SUBJECT_INFORMATION_ACCESS,
        ExtensionOID.OCSP_NO_CHECK,
        ExtensionOID.PRECERT_SIGNED_CERTIFICATE_TIMESTAMPS,
    }
)
"""Extensions this validator processes or may safely ignore when critical."""


class MalformedCertificate(Exception):
    """Internal: a certificate field that cryptography cannot parse."""


def get_extension(cert: x509.Certificate, ext_type: type[E]) -> x509.Extension[E] | None:
    """The extension of ``ext_type``, ``None`` when absent; malformed raises internally."""
    return _ext(facts_of(cert), ext_type)  # parsed once per certificate


def _ext(facts: CertFacts, ext_type: type[E]) -> x509.Extension[E] | None:
    try:
        return facts.extension(ext_type)
    except (ValueError, TypeError) as exc:  # malformed, or duplicated (RFC 5280 4.2)
        raise MalformedCertificate(f"extensions cannot be parsed ({exc})") from exc


def is_self_issued(cert: x509.Certificate) -> bool:
    """Subject and issuer match (RFC 5280 6.1: self-issued)."""
    facts = facts_of(cert)
    return facts.subject_norm == facts.issuer_norm  # names_equal, normalized once


def _subject_alt_names(cert: x509.Certificate) -> list[x509.GeneralName]:
    ext = get_extension(cert, x509.SubjectAlternativeName)
    return list(ext.value) if ext is not None else []


@dataclass(frozen=True)
class PathOutcome:
    """What path processing hands back (RFC 5280 6.1.6)."""

    authorities_constrained: frozenset[x509.ObjectIdentifier]
    user_constrained: frozenset[x509.ObjectIdentifier]
    name_constraints: NameConstraintState = field(default_factory=NameConstraintState)
    """The constraints the end certificate was held to (6.1.3 b, c): the anchor's and
    every intermediate's, not its own."""
    path_length_room: int | None = None
    """How many non-self-issued CA certificates may still follow the end certificate's
    issuer (6.1.4 l, m), by the pathLenConstraints on the path; ``None`` when none
    bounds it."""


def process_path(
    path: Sequence[x509.Certificate],
    *,
    at: datetime,
    policy: ValidationPolicy,
    signed_by: Callable[[int], str | None],
    spend_name_checks: Callable[[int], None] | None = None,
) -> PathOutcome:
    """Run RFC 5280 6.1 over ``path`` (end entity first, trust anchor last).

    ``signed_by(index)`` says why certificate ``index`` is not signed by
    ``index + 1`` (signature or algorithm), or ``None`` when it is.
    ``spend_name_checks(n)`` is told how many name-to-subtree comparisons a
    certificate's names are about to take, and may raise to stop them.
    Raises :class:`PathValidationError` naming the certificate at fault.
    """
    n = len(path) - 1  # certificates below the anchor
    anchor = path[-1]

    def fail(index: int, message: str) -> PathValidationError:
        subject = format_name(path[index].subject) if index < len(path) else "?"
        return PathValidationError(
            f"certificate {index} ({subject}): {message}", path=path, index=index
        )

    try:
        # 6.1.2 initialisation; the anchor's own constraints are honoured as RFC 5937 allows.
        tree = PolicyTree()
        explicit_policy = 0 if policy.initial_explicit_policy else n + 1
        inhibit_any = 0 if policy.initial_any_policy_inhibit else n + 1
        policy_mapping = 0 if policy.initial_policy_mapping_inhibit else n + 1
        constraints = NameConstraintState()
        max_path_length = n
        room: int | None = None  # max_path_length as pathLenConstraints alone set it
        # The anchor's constraints are acted on, so it must not hold a critical
        # extension that is not understood (RFC 5280 4.2), as OpenSSL decides too.
        _check_critical(anchor, n, fail, "4.2, trust anchor")
        anchor_facts = facts_of(anchor)
        nc = _ext(anchor_facts, x509.NameConstraints)
        if nc is not None:
            constraints = constraints.add(nc.value)
        bc = _ext(anchor_facts, x509.BasicConstraints)
        if bc is not None and bc.value.path_length is not None:
            # 4.2.1.9: at most pathLenConstraint non-self-issued intermediates follow
            # the anchor (OpenSSL counts the same way).
            max_path_length = min(max_path_length, bc.value.path_length)
            room = bc.value.path_length
        anchor_from, anchor_until = anchor_facts.validity
        if policy.check_anchor_validity and not anchor_from <= at <= anchor_until:
            raise fail(n, f"trust anchor is not valid at {at.isoformat()} (RFC 5280 6.1.1 d)")
        working_issuer = anchor_facts.subject_norm  # names compared as in names_equal

        for i in range(1, n + 1):
            idx = n - i
            cert = path[idx]
            facts = facts_of(cert)
            last = i == n
            self_issued = is_self_issued(cert)

            # 6.1.3 (a): signature, validity, revocation (later), issuer name.
            problem = signed_by(idx)
            if problem is not None:
                raise fail(idx, problem)
            not_before, not_after = facts.validity
            if not not_before <= at:
                raise fail(
                    idx,
                    f"notBefore {not_before.isoformat()} is after "
                    f"{at.isoformat()} (RFC 5280 6.1.3 a 2)",
                )
            if not at <= not_after:
                raise fail(
                    idx,
                    f"expired: notAfter {not_after.isoformat()} is before "
                    f"{at.isoformat()} (RFC 5280 6.1.3 a 2)",
                )
            if facts.issuer_norm != working_issuer:
                raise fail(
                    idx,
                    f"issuer {format_name(cert.issuer)} is not the subject of the "
                    f"certificate above it (RFC 5280 6.1.3 a 4)",
                )

            # 6.1.3 (b, c): name constraints.
            # (Without any constraint yet, no name can break one.)
            if not (self_issued and not last) and (constraints.permitted or constraints.excluded):
                names = constrained_names(cert.subject, _subject_alt_names(cert))
                if spend_name_checks is not None:
                    spend_name_checks(constraints.comparisons(names))
                why = constraints.violation(names)
                if why is not None:
                    raise fail(idx, f"name constraints violated: {why} (RFC 5280 6.1.3 b, c)")

            # 6.1.3 (d, e, f): certificate policies.
            cp = _ext(facts, x509.CertificatePolicies)
            if cp is not None and not tree.is_null:
                tree.process_policies(
                    i, list(cp.value), inhibit_any > 0 or (not last and self_issued)
                )
            elif cp is None:
                tree.nullify()
            if explicit_policy <= 0 and tree.is_null:
                raise fail(
                    idx,
                    "no valid certificate policy and an explicit policy is required "
                    "(RFC 5280 6.1.3 f)",
                )

            if last:
                break

            # 6.1.4 preparation for the next certificate.
            pairs = _policy_mappings(facts)
            if pairs is not None:
                mappings: dict[x509.ObjectIdentifier, set[x509.ObjectIdentifier]] = {}
                for issuer_policy, subject_policy in pairs:
                    if ANY_POLICY in (issuer_policy, subject_policy):
                        raise fail(
                            idx, "policyMappings maps to or from anyPolicy (RFC 5280 6.1.4 a)"
                        )
                    mappings.setdefault(issuer_policy, set()).add(subject_policy)
                any_quals = None
                if cp is not None:
                    for info in cp.value:
                        if info.policy_identifier == ANY_POLICY:
                            any_quals = tuple(info.policy_qualifiers or ())
                tree.apply_mappings(
                    i, {k: frozenset(v) for k, v in mappings.items()}, policy_mapping > 0, any_quals
                )

            working_issuer = facts.subject_norm
            nc = _ext(facts, x509.NameConstraints)
            if nc is not None:
                constraints = constraints.add(nc.value)

            if not self_issued:
                explicit_policy = max(explicit_policy - 1, 0)
                policy_mapping = max(policy_mapping - 1, 0)
                inhibit_any = max(inhibit_any - 1, 0)
            pc = _ext(facts, x509.PolicyConstraints)
            if pc is not None:
                rep = pc.value.require_explicit_policy
                if rep is not None and rep < explicit_policy:
                    explicit_policy = rep
                ipm = pc.value.inhibit_policy_mapping
                if ipm is not None and ipm < policy_mapping:
                    policy_mapping = ipm
            iap = _ext(facts, x509.InhibitAnyPolicy)
            if iap is not None and iap.value.skip_certs < inhibit_any:
                inhibit_any = iap.value.skip_certs

            bc = _ext(facts, x509.BasicConstraints)
            if bc is None or not bc.value.ca:
                raise fail(
                    idx, "is used as a CA but basicConstraints cA is not true (RFC 5280 6.1.4 k)"
                )
            if not self_issued:
                if max_path_length <= 0:
                    raise fail(idx, "pathLenConstraint exceeded (RFC 5280 6.1.4 l)")
                max_path_length -= 1
                room = None if room is None else room - 1
            if bc.value.path_length is not None and bc.value.path_length < max_path_length:
                max_path_length = bc.value.path_length
            if bc.value.path_length is not None and (room is None or bc.value.path_length < room):
                room = bc.value.path_length
            ku = _ext(facts, x509.KeyUsage)
            if ku is not None and not ku.value.key_cert_sign:
                raise fail(
                    idx,
                    "keyUsage lacks keyCertSign but the certificate signs certificates "
                    "(RFC 5280 6.1.4 n)",
                )
            _check_critical(cert, idx, fail, "6.1.4 o")

        # 6.1.5 wrap-up.
        ee = path[0]
        if explicit_policy > 0:
            explicit_policy -= 1
        if n >= 1:
            pc = _ext(facts_of(ee), x509.PolicyConstraints)
            if pc is not None and pc.value.require_explicit_policy == 0:
                explicit_policy = 0
            _check_critical(ee, 0, fail, "6.1.5 f")
        authorities = tree.policy_set(n)
        tree.intersect(n, policy.initial_policy_set)
        if explicit_policy <= 0 and tree.is_null:
            raise fail(
                0,
                "no certificate policy is acceptable to the initial policy set and an "
                "explicit policy is required (RFC 5280 6.1.5 g)",
            )
        user = tree.policy_set(n)
        if ANY_POLICY in user and ANY_POLICY not in policy.initial_policy_set:
            user = (user - {ANY_POLICY}) | policy.initial_policy_set
        return PathOutcome(authorities, user, constraints, room)
    except PolicyTreeTooLarge:
        raise PathValidationError(
            "certificate policies: the valid_policy_tree grew beyond its bound "
            "(hostile policy mappings)",
            path=path,
        ) from None
    except MalformedCertificate as exc:
        raise PathValidationError(f"path: {exc}", path=path) from None


def _policy_mappings(
    facts: CertFacts,
) -> list[tuple[x509.ObjectIdentifier, x509.ObjectIdentifier]] | None:
    memo = facts.memo
    if "policy mappings" not in memo:  # a function of the certificate alone
        try:
            memo["policy mappings"] = _decode_policy_mappings(facts)
        except MalformedCertificate as exc:
            memo["policy mappings"] = exc
    found = memo["policy mappings"]
    if isinstance(found, MalformedCertificate):
        raise MalformedCertificate(str(found))
    return found  # type: ignore[return-value]


def _decode_policy_mappings(
    facts: CertFacts,
) -> list[tuple[x509.ObjectIdentifier, x509.ObjectIdentifier]] | None:
    # cryptography leaves policyMappings unrecognised; _asn1 decodes it.
    try:
        ext = facts.extensions_by_oid().get(ExtensionOID.POLICY_MAPPINGS)
    except (
        ValueError,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ) as exc:  # RFC 5280 4.2: one of each
        raise MalformedCertificate(f"extensions cannot be parsed ({exc})") from exc
    if ext is None:
        return None
    value = ext.value
    if not isinstance(value, x509.UnrecognizedExtension):
        return None
    try:
        pairs = decode_policy_mappings(value.value)
        return [(x509.ObjectIdentifier(a), x509.ObjectIdentifier(b)) for a, b in pairs]
    except (DecodeError, ValueError) as exc:
        raise MalformedCertificate(f"policyMappings cannot be parsed ({exc})") from exc


def _check_critical(
    cert: x509.Certificate,
    idx: int,
    fail: Callable[[int, str], PathValidationError],
    clause: str,
) -> None:
    memo = facts_of(cert).memo
    if "unknown critical" not in memo:  # a function of the certificate alone
        try:
            memo["unknown critical"] = next(
                (
                    f"unknown critical extension {ext.oid.dotted_string}"
                    for ext in cert.extensions
                    if ext.critical and ext.oid not in KNOWN_EXTENSIONS
                ),
                None,
            )
        except EXTENSION_ERRORS as exc:
            memo["unknown critical"] = ValueError(f"extensions cannot be parsed ({exc})")
    problem = memo["unknown critical"]
    if isinstance(problem, ValueError):
        raise fail(idx, str(problem)) from None
    if problem is not None:
        raise fail(idx, f"{problem} (RFC 5280 {clause})")
