"""Issuance policy: small checks that every request passes before anything is signed.

An :class:`IssuanceRequest` is what a CA is asked to certify: the CSR, the
profile, the subject and SANs that will go into the certificate, and the
validity asked for. Each check is a tiny object with a ``name`` that looks at
the request and yields :class:`~trustkit.errors.Violation` values;
:func:`check_request` runs them all and raises one
:class:`~trustkit.errors.PolicyViolation` listing every problem, so a requester
fixes everything in one round.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import NameOID

from .csr import curve_encoding_problem
from .errors import PolicyViolation, ValidationError, Violation
from .keys import describe_key, key_type_of
from .matching import common_name_problem, dns_name_problem
from .names import format_general_name, format_name
from .profiles import Profile, SanKind
from .validation._model import ValidationPolicy, WebProfile
from .validation._path import process_path
from .validation._profile import WEB_PURPOSES, check_web_profile
from .validation._purpose import check_purpose
from .webnames import dns_name_problem as web_dns_name_problem
from .webnames import ip_address_problem

__all__ = [
    "DEFAULT_CHECKS",
    "MIN_RSA_BITS",
    "ChainOutcome",
    "Check",
    "IssuanceRequest",
    "IssuanceWarning",
    "chain_outcome",
    "check_request",
    "outlives_chain",
    "request_violations",
]


class IssuanceWarning(UserWarning):
    """Issued, but with a consequence the operator should know (a profile allowed it)."""


MIN_RSA_BITS = 2048
"""Smallest RSA modulus accepted anywhere (NIST SP 800-131A, CA/B Forum 6.1.5)."""

_WEAK_HASHES = (hashes.SHA1, hashes.MD5)


@dataclass(frozen=True)
class IssuanceRequest:
    """What the CA is asked to certify, as it would appear in the certificate."""

    csr: x509.CertificateSigningRequest
    profile: Profile
    subject: x509.Name
    sans: tuple[x509.GeneralName, ...]
    not_before: datetime
    not_after: datetime
    issuer: x509.Certificate
    """The issuing CA's certificate: its validity and name constraints bound the request."""
    validity_requested: bool = False
    """Whether ``not_after`` was asked for explicitly (else it is the profile default)."""
    chain: tuple[x509.Certificate, ...] = ()
    """The certificates above the issuer, nearest first, up to the root: their
    constraints bind the request as much as the issuer's do."""
    path_length: int | None = None
    """pathLenConstraint asked for a CA certificate; ``None`` takes the profile's,
    fitted to what the chain above allows."""
    name_constraints: x509.NameConstraints | None = None
    """nameConstraints asked for a CA certificate: they must lie inside the chain's."""

    @property
    def authorities(self) -> tuple[x509.Certificate, ...]:
        """The issuer, then every CA above it."""
        return (self.issuer, *self.chain)

    @cached_property
    def public_key(self) -> CertificatePublicKeyTypes:
        """The CSR's subject public key, parsed once for the policy and the builder
        (cryptography parses it afresh on every ``csr.public_key()``)."""
        return self.csr.public_key()


class Check(Protocol):
    """One rule of the issuance policy."""

    @property
    def name(self) -> str:
        """Short name of the rule, reported with each violation."""
        ...

    def __call__(self, request: IssuanceRequest) -> Iterable[Violation]:
        """Every way ``request`` breaks this rule; nothing if it keeps it."""
        ...


@dataclass(frozen=True)
class ProofOfPossession:
    """The CSR is signed by the key it asks to certify (RFC 2986 section 3)."""

    name: str = "proof-of-possession"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        try:
            valid = request.csr.is_signature_valid
        except Exception:
            valid = False
        if not valid:
            yield Violation(
                self.name, "csr.signature", "does not verify with the request's own public key"
            )


@dataclass(frozen=True)
class CSRSignatureHash:
    """The CSR is not signed with SHA-1 or MD5 (CA/B Forum 7.1.3.2, NIST SP 800-131A)."""

    name: str = "signature-hash"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        try:
            algorithm = request.csr.signature_hash_algorithm
        except Exception:
            yield Violation(self.name, "csr.signatureAlgorithm", "unsupported signature algorithm")
            return
        if isinstance(algorithm, _WEAK_HASHES):
            yield Violation(
                self.name,
                "csr.signatureAlgorithm",
                f"{algorithm.name.upper()} signatures are refused; sign with SHA-256 or better",
            )


@dataclass(frozen=True)
class KeyAllowed:
    """The subject key is of a type the profile allows, and not weak."""

    name: str = "key-type"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        try:
            key = request.public_key
        except Exception:
            yield Violation(self.name, "csr.publicKey", "cannot be parsed")
            return
        if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
            yield Violation(
                self.name,
                "csr.publicKey",
                f"RSA {key.key_size} bits is too weak; at least {MIN_RSA_BITS} bits",
            )
            return
        if isinstance(key, dsa.DSAPublicKey):
            yield Violation(self.name, "csr.publicKey", "DSA keys are not issued")
            return
        if not isinstance(
            key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        ):
            yield Violation(self.name, "csr.publicKey", f"{describe_key(key)} keys are not issued")
            return
        curve_problem = curve_encoding_problem(request.csr, key)  # RFC 5480 2.1.1
        if curve_problem is not None:
            yield Violation(self.name, "csr.publicKey", curve_problem)
            return
        key_type = key_type_of(key)
        if key_type is None or key_type not in request.profile.key_types:
            allowed = ", ".join(sorted(k.value for k in request.profile.key_types))
            yield Violation(
                self.name,
                "csr.publicKey",
                f"{describe_key(key)} is not allowed by profile {request.profile.name} "
                f"(allowed: {allowed})",
            )


_ATTRIBUTE_LABELS = {
    NameOID.COMMON_NAME: "commonName",
    NameOID.COUNTRY_NAME: "countryName",
    NameOID.ORGANIZATION_NAME: "organizationName",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.SURNAME: "surname",
}


def _label(oid: x509.ObjectIdentifier) -> str:
    return "subject." + _ATTRIBUTE_LABELS.get(oid, oid.dotted_string)


@dataclass(frozen=True)
class SubjectRules:
    """Required subject attributes are present, once, and match the profile's patterns."""

    name: str = "subject"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        profile = request.profile
        for oid in profile.required_subject:
            values = request.subject.get_attributes_for_oid(oid)
            if not values:
                yield Violation(
                    self.name, _label(oid), f"required by profile {profile.name}, but missing"
                )
            elif len(values) > 1:
                yield Violation(self.name, _label(oid), "must appear only once")
        if profile.cn_in_san:
            problem = common_name_problem(request.subject, request.sans)
            if problem is not None:
                yield Violation(self.name, "subject.commonName", problem)
        for attribute in request.subject:
            value = attribute.value
            problem = _text_problem(value if isinstance(value, str) else value.decode("latin-1"))
            if problem is not None:
                yield Violation(self.name, _label(attribute.oid), problem)
        for oid, pattern in profile.subject_patterns.items():
            for attribute in request.subject.get_attributes_for_oid(oid):
                value = attribute.value
                text = value if isinstance(value, str) else value.decode("latin-1")
                if not re.fullmatch(pattern, text):
                    yield Violation(
                        self.name,
                        _label(oid),
                        f"{text!r} does not match the form {pattern} of profile {profile.name}",
                    )


# Bidirectional-text controls (Unicode 15 UAX #9, "explicit formatting"): a subject or
# SAN holding them displays as something other than what it is (CVE-2021-42574 style).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e") | frozenset(
    "\u2066\u2067\u2068\u2069"
)


def _text_problem(text: str) -> str | None:
    """Why ``text`` may not stand in a certificate name: NUL and other control
    characters (C0, DEL, C1) truncate or garble it in C software and in logs; bidi
    controls make it read as another name."""
    for char in text:
        code = ord(char)
        if code < 0x20 or 0x7F <= code <= 0x9F:
            return f"control character U+{code:04X} is not allowed in a name"
        if char in _BIDI_CONTROLS:
            return f"bidirectional control U+{code:04X} is not allowed in a name"
    return None


def _san_text(name: x509.GeneralName) -> Iterator[str]:
    if isinstance(name, x509.DNSName | x509.RFC822Name | x509.UniformResourceIdentifier):
        yield name.value
    elif isinstance(name, x509.DirectoryName):
        for attribute in name.value:
            value = attribute.value
            yield value if isinstance(value, str) else value.decode("latin-1")


def _san_key(name: x509.GeneralName) -> object:
    """What makes two SANs the same entry: DNS names and mail domains compare without case."""
    if isinstance(name, x509.DNSName):
        return (x509.DNSName, name.value.lower())
    if isinstance(name, x509.RFC822Name):
        local, at, host = name.value.rpartition("@")
        return (x509.RFC822Name, local + at + host.lower())
    return (type(name), name)


@dataclass(frozen=True)
class SanRules:
    """SANs are of kinds the profile takes, present where it needs them, each once and
    no more than the profile's cap."""

    name: str = "subject-alt-name"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        profile = request.profile
        if profile.san_required and not request.sans:
            kinds = ", ".join(sorted(k.value for k in profile.san_kinds))
            yield Violation(
                self.name, "subjectAltName", f"profile {profile.name} needs at least one ({kinds})"
            )
        if len(request.sans) > profile.max_sans:
            # Each entry is not judged: a hostile request must not cost one finding each.
            yield Violation(
                self.name,
                "subjectAltName",
                f"{len(request.sans)} entries; profile {profile.name} allows at most "
                f"{profile.max_sans}",
            )
            return
        seen: set[object] = set()
        for name in request.sans:
            kind = SanKind.of(name)
            key = _san_key(name)
            if key in seen:
                yield Violation(
                    self.name, "subjectAltName", f"{_describe(name)} appears more than once"
                )
                continue
            seen.add(key)
            problem = next(filter(None, map(_text_problem, _san_text(name))), None)
            if problem is not None:
                yield Violation(self.name, "subjectAltName", f"{_describe(name)!r}: {problem}")
            elif kind is None or kind not in profile.san_kinds:
                yield Violation(
                    self.name,
                    "subjectAltName",
                    f"{_describe(name)} is not a SAN kind profile {profile.name} issues",
                )
            elif (
                isinstance(name, x509.DNSName)
                and not profile.cabf_names
                and (name.value.endswith(".") or dns_name_problem(name.value, wildcard=True))
            ):
                yield Violation(self.name, "subjectAltName", f"{name.value!r} is not a host name")
        if not request.sans and not list(request.subject):
            yield Violation(self.name, "subject", "an empty subject needs subjectAltName entries")


@dataclass(frozen=True)
class WebNames:
    """For profiles with ``cabf_names``: dNSName and iPAddress entries follow the
    CA/Browser Forum baseline requirements (see :mod:`trustkit.webnames`)."""

    name: str = "cabf-names"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        if not request.profile.cabf_names or len(request.sans) > request.profile.max_sans:
            return
        for name in request.sans:
            problem: str | None = None
            if isinstance(name, x509.DNSName):
                if _text_problem(name.value) is None:
                    problem = web_dns_name_problem(name.value)
                    problem = problem and f"dNSName {name.value!r} {problem}"
            elif isinstance(name, x509.IPAddress) and isinstance(
                name.value, ipaddress.IPv4Address | ipaddress.IPv6Address
            ):
                problem = ip_address_problem(name.value)
            if problem is not None:
                yield Violation(self.name, "subjectAltName", problem)


def _describe(name: x509.GeneralName) -> str:
    try:
        return format_general_name(name)
    except Exception:
        return type(name).__name__


@dataclass(frozen=True)
class ValidityRules:
    """Validity within the profile's maximum and the issuer's own validity."""

    name: str = "validity"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        lifetime = request.not_after - request.not_before
        if lifetime <= timedelta(0):
            yield Violation(self.name, "validity", "notAfter must be after notBefore")
        elif lifetime > request.profile.max_validity:
            yield Violation(
                self.name,
                "validity",
                f"{lifetime.days} days exceeds the {request.profile.max_validity.days} days "
                f"profile {request.profile.name} allows",
            )
        outlived = outlives_chain(request)
        if outlived is not None and not request.profile.may_outlive_issuer:
            yield Violation(
                self.name,
                "validity",
                f"{outlived}; relying parties refuse it after then (RFC 5280 6.1.3 a 2)",
            )
        if request.not_before < request.issuer.not_valid_before_utc:
            yield Violation(
                self.name, "validity", "notBefore is earlier than the issuing CA's notBefore"
            )


def outlives_chain(request: IssuanceRequest) -> str | None:
    """Which CA on the chain above expires before ``request`` would, or ``None``."""
    ca = min(request.authorities, key=lambda c: c.not_valid_after_utc)
    end = ca.not_valid_after_utc
    if request.not_after <= end:
        return None
    whose = "the issuing CA's" if ca is request.issuer else f"{format_name(ca.subject)}'s"
    return f"notAfter {request.not_after:%Y-%m-%d} is beyond {whose} notAfter {end:%Y-%m-%d}"


DEFAULT_CHECKS: tuple[Check, ...] = (
    ProofOfPossession(),
    CSRSignatureHash(),
    KeyAllowed(),
    SubjectRules(),
    SanRules(),
    WebNames(),
    ValidityRules(),
)
"""The checks every issuance request passes, in the order their findings are reported.
The chain's constraints are checked on the certificate itself (:func:`chain_outcome`)."""


def request_violations(
    request: IssuanceRequest, checks: Sequence[Check] = DEFAULT_CHECKS
) -> list[Violation]:
    """Run every check; every way ``request`` breaks the policy, in check order."""
    return [v for check in checks for v in check(request)]


def check_request(request: IssuanceRequest, checks: Sequence[Check] = DEFAULT_CHECKS) -> None:
    """Run every check; raise one :class:`PolicyViolation` listing all that failed."""
    violations = request_violations(request, checks)
    if violations:
        raise PolicyViolation(violations)


# --- the chain the certificate would have ---------------------------------------------


@dataclass(frozen=True)
class ChainOutcome:
    """What the validator's rules say of the chain a certificate would have."""

    violations: tuple[Violation, ...]
    path_length_room: int | None
    """How many CA certificates may still follow the issuer (``None``: unbounded)."""

    def fitted_path_length(self, request: IssuanceRequest) -> int | None:
        """The pathLenConstraint to write for a CA ``request``: the one asked for, else
        the profile's, lowered to what the chain above leaves (RFC 5280 4.2.1.9)."""
        if request.path_length is not None:
            return request.path_length
        length = request.profile.path_length
        room = self.path_length_room
        if room is not None and room >= 1 and (length is None or length > room - 1):
            length = room - 1
        return length


_CHAIN_POLICY = ValidationPolicy()


def chain_outcome(request: IssuanceRequest, candidate: x509.Certificate) -> ChainOutcome:
    """Run the validator's per-path rules on ``candidate``, the certificate ``request``
    would become (its signature aside), above it the issuer and the chain to the root,
    at its notBefore, for the profile's purpose.

    The same code as path validation (:func:`~trustkit.validation.validate`) runs, so
    the CA issues only what relying parties that follow RFC 5280 will accept: every CA's
    pathLenConstraint, name constraints and policy constraints, validity at notBefore,
    key usage and EKU chaining for the purpose, and the web PKI profile for profiles
    that follow the CA/Browser Forum (``cabf_names``). A new
    CA's own name constraints must lie inside the chain's, and its pathLenConstraint
    within what the chain leaves.
    """
    path = [candidate, *request.authorities]
    violations: list[Violation] = []
    room: int | None = None
    try:
        outcome = process_path(
            path, at=request.not_before, policy=_CHAIN_POLICY, signed_by=lambda index: None
        )
        purpose = request.profile.purpose
        check_purpose(path, purpose, None)
        if purpose in WEB_PURPOSES and request.profile.cabf_names:
            # The web PKI profile binds what the CA/Browser Forum governs; a private
            # TLS client profile (a device named by its commonName) is not held to it.
            # The strictest reading: what the strictest relying party accepts.
            check_web_profile(path, purpose, WebProfile.STRICT)
    except ValidationError as exc:
        violations.append(Violation("chain", "chain", str(exc)))
        return ChainOutcome(tuple(violations), None)
    room = outcome.path_length_room
    if request.profile.is_ca:
        if room is not None and room < 1:
            violations.append(
                Violation(
                    "chain",
                    "basicConstraints",
                    "the pathLenConstraint of the chain above leaves no room for another CA "
                    "certificate (RFC 5280 4.2.1.9, 6.1.4 l)",
                )
            )
        elif room is not None and request.path_length is not None and request.path_length >= room:
            violations.append(
                Violation(
                    "chain",
                    "basicConstraints.pathLenConstraint",
                    f"{request.path_length} is more than the {room - 1} the chain above allows "
                    "(RFC 5280 4.2.1.9)",
                )
            )
        if request.name_constraints is not None:
            violations.extend(
                Violation("chain", "nameConstraints", f"{problem} (RFC 5280 4.2.1.10)")
                for problem in outcome.name_constraints.subtree_problems(request.name_constraints)
            )
    return ChainOutcome(tuple(violations), room)
