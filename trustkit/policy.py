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

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from .csr import curve_encoding_problem
from .errors import PolicyViolation, Violation
from .keys import describe_key, key_type_of
from .matching import (
    NameConstraintState,
    common_name_problem,
    constrained_names,
    dns_name_problem,
)
from .names import format_general_name
from .profiles import Profile, SanKind

__all__ = [
    "DEFAULT_CHECKS",
    "MIN_RSA_BITS",
    "Check",
    "IssuanceRequest",
    "check_request",
    "request_violations",
]

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
            key = request.csr.public_key()
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
        curve_problem = curve_encoding_problem(request.csr)  # RFC 5480 2.1.1
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


@dataclass(frozen=True)
class SanRules:
    """SANs are of kinds the profile takes, and present where it needs them."""

    name: str = "subject-alt-name"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        profile = request.profile
        if profile.san_required and not request.sans:
            kinds = ", ".join(sorted(k.value for k in profile.san_kinds))
            yield Violation(
                self.name, "subjectAltName", f"profile {profile.name} needs at least one ({kinds})"
            )
        for name in request.sans:
            kind = SanKind.of(name)
            if kind is None or kind not in profile.san_kinds:
                yield Violation(
                    self.name,
                    "subjectAltName",
                    f"{_describe(name)} is not a SAN kind profile {profile.name} issues",
                )
            elif isinstance(name, x509.DNSName) and (
                name.value.endswith(".") or dns_name_problem(name.value, wildcard=True)
            ):
                yield Violation(self.name, "subjectAltName", f"{name.value!r} is not a host name")
        if not request.sans and not list(request.subject):
            yield Violation(self.name, "subject", "an empty subject needs subjectAltName entries")


def _describe(name: x509.GeneralName) -> str:
    try:
        return format_general_name(name)
    except Exception:
        return type(name).__name__


@dataclass(frozen=True)
class NameConstraintsCheck:
    """Names stay inside the issuing CA's name constraints (RFC 5280 4.2.1.10)."""

    name: str = "name-constraints"

    def __call__(self, request: IssuanceRequest) -> Iterator[Violation]:
        try:
            ext = request.issuer.extensions.get_extension_for_class(x509.NameConstraints)
        except x509.ExtensionNotFound:
            return
        names = constrained_names(request.subject, request.sans)
        for reason in NameConstraintState().add(ext.value).violations(names):
            yield Violation(self.name, "subjectAltName", reason)


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
        issuer_end = request.issuer.not_valid_after_utc
        if request.not_after > issuer_end:
            yield Violation(
                self.name,
                "validity",
                f"notAfter {request.not_after:%Y-%m-%d} is beyond the issuing CA's notAfter "
                f"{issuer_end:%Y-%m-%d}",
            )
        if request.not_before < request.issuer.not_valid_before_utc:
            yield Violation(
                self.name, "validity", "notBefore is earlier than the issuing CA's notBefore"
            )


DEFAULT_CHECKS: tuple[Check, ...] = (
    ProofOfPossession(),
    CSRSignatureHash(),
    KeyAllowed(),
    SubjectRules(),
    SanRules(),
    NameConstraintsCheck(),
    ValidityRules(),
)
"""The checks every issuance passes, in the order their findings are reported."""


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
