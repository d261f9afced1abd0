"""PKCS#10 certificate signing requests (RFC 2986): build, load, check.

A request is untrusted input. :func:`load_csr` parses it defensively (PEM or
DER, every part a CA reads later decoded up front), and every accessor here
turns cryptography's lazy parse errors into :class:`~trustkit.errors.CSRError`.
Proof of possession is a separate, explicit step: :func:`verify_proof_of_possession`.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from . import encoding
from ._asn1 import csr_ec_parameters
from ._asn1 import curve_encoding_problem as ec_curve_problem
from .errors import CSRError, DecodeError
from .keys import PrivateKey, describe_key, signature_hash_for

__all__ = [
    "create_csr",
    "csr_fingerprint",
    "curve_encoding_problem",
    "load_csr",
    "requested_extensions",
    "requested_sans",
    "verify_proof_of_possession",
]

# Extensions RFC 5280 says to mark critical (4.2.1.3, 4.2.1.9, 4.2.1.10, 4.2.1.11, 4.2.1.14).
_CRITICAL_EXTENSIONS: tuple[type[x509.ExtensionType], ...] = (
    x509.KeyUsage,
    x509.BasicConstraints,
    x509.NameConstraints,
    x509.PolicyConstraints,
    x509.InhibitAnyPolicy,
)

# Public key algorithms that can sign a request; anything else cannot prove possession.
_SIGNING_PUBLIC_KEYS = (
    ec.EllipticCurvePublicKey,
    rsa.RSAPublicKey,
    ed25519.Ed25519PublicKey,
    ed448.Ed448PublicKey,
    dsa.DSAPublicKey,
)

_POP_FAILED = (
    "CSR signature: does not verify with the request's own public key "
    "(proof of possession, RFC 2986)"
)


def create_csr(
    key: PrivateKey,
    subject: x509.Name,
    sans: Sequence[x509.GeneralName] = (),
    *,
    extensions: Sequence[x509.ExtensionType] = (),
) -> x509.CertificateSigningRequest:
    """A request for ``subject`` and ``sans``, signed with ``key``.

    The SANs go into the extensionRequest attribute as a subjectAltName,
    critical only when the subject is empty (RFC 5280 4.2.1.6); a request
    with neither subject nor SAN names nobody and is refused. Other
    ``extensions`` are requested as given, critical where RFC 5280 says
    they must be (keyUsage, basicConstraints, ...).
    """
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject)
    empty_subject = len(subject) == 0
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=empty_subject)
    elif empty_subject:
        raise CSRError("subject: empty, so a subjectAltName is required (RFC 5280 4.2.1.6)")
    for extension in extensions:
        if sans and isinstance(extension, x509.SubjectAlternativeName):
            raise CSRError("extensions: subjectAltName given both as sans and as an extension")
        try:
            builder = builder.add_extension(
                extension, critical=isinstance(extension, _CRITICAL_EXTENSIONS)
            )
        except ValueError as exc:
            raise CSRError(f"extensions: {type(extension).__name__} ({exc})") from exc
    try:
        return builder.sign(key, signature_hash_for(key))
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CSRError(f"CSR: cannot sign with a {describe_key(key)} key ({exc})") from exc


def _check_public_key(csr: x509.CertificateSigningRequest, what: str) -> None:
    try:
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CSRError(
            f"{what} subjectPublicKeyInfo: unknown or unsupported public key algorithm ({exc})"
        ) from exc
    if not isinstance(public_key, _SIGNING_PUBLIC_KEYS):
        raise CSRError(
            f"{what} subjectPublicKeyInfo: {describe_key(public_key)} keys cannot sign, "
            "so the request cannot prove possession (RFC 2986 section 3)"
        )
    problem = curve_encoding_problem(csr)
    if problem is not None:
        raise CSRError(f"{what} subjectPublicKeyInfo: {problem}")


def curve_encoding_problem(
    csr: x509.CertificateSigningRequest, public_key: object | None = None
) -> str | None:
    """Why the request's EC key must not be certified: its curve is given by explicit
    parameters (or none), not a namedCurve (RFC 5480 2.1.1); ``None`` when it is named
    or the key is not EC.

    cryptography reads explicit parameters that match a curve it knows as that named
    curve, so only the request's DER tells. ``public_key`` is the request's key if
    the caller has parsed it already.
    """
    key = csr.public_key() if public_key is None else public_key
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    try:
        choice = csr_ec_parameters(csr.public_bytes(serialization.Encoding.DER))
    except DecodeError as exc:
        return str(exc)
    return ec_curve_problem(choice)


def load_csr(data: bytes, *, what: str = "CSR") -> x509.CertificateSigningRequest:
    """A PKCS#10 request from PEM or DER, its subject, key and extensions readable.

    :raises DecodeError: not PEM or DER of a PKCS#10 request.
    :raises CSRError: a request whose public key algorithm is unknown or cannot
        sign, or whose subject or extensionRequest cannot be decoded.
    """
    try:
        csr = encoding.load_csr(data, what=what)
    except x509.InvalidVersion as exc:
        # Not a ValueError in cryptography, so encoding.load_csr lets it through.
        raise DecodeError(
            f"{what}: version {exc.parsed_version} is not v1 (0), the only PKCS#10 version "
            "(RFC 2986 section 4.1)"
        ) from exc
    _check_public_key(csr, what)
    # cryptography decodes the subject afresh on every access, and warns (rather
    # than fails) about an attribute outside its length bounds, such as a
    # three-letter countryName. Refuse such a request here, once, so that later
    # readers neither crash nor warn.
    _decode(lambda: csr.subject, f"{what} subject")
    _extensions(csr, what)
    return csr


_T = TypeVar("_T")


def _decode(read: Callable[[], _T], what: str) -> _T:
    """``read()``, its decoding errors and warnings turned into :class:`CSRError`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            value = read()
        except (
            ValueError,
            TypeError,
            UnsupportedAlgorithm,
            x509.DuplicateExtension,
            x509.UnsupportedGeneralNameType,
        ) as exc:
            raise CSRError(f"{what}: cannot be decoded ({exc})") from exc
    if caught:
        raise CSRError(f"{what}: {caught[0].message} (RFC 5280 appendix A.1)")
    return value


def verify_proof_of_possession(csr: x509.CertificateSigningRequest) -> None:
    """Check that ``csr`` is signed by the private key of the public key it holds.

    :raises CSRError: the signature does not verify, or cannot be checked.
    """
    try:
        valid = csr.is_signature_valid
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CSRError(f"{_POP_FAILED}: {exc}") from exc
    if not valid:
        raise CSRError(_POP_FAILED)


def _extensions(csr: x509.CertificateSigningRequest, what: str) -> x509.Extensions:
    # cryptography parses the extensionRequest attribute (PKCS#9, RFC 2985 5.4.2)
    # on first access: a malformed or duplicated extension raises only then.
    return _decode(lambda: csr.extensions, f"{what} extensionRequest")


def requested_extensions(csr: x509.CertificateSigningRequest) -> x509.Extensions:
    """The extensions in ``csr``'s extensionRequest attribute (empty when it has none).

    :raises CSRError: the attribute cannot be decoded.
    """
    return _extensions(csr, "CSR")


def requested_sans(csr: x509.CertificateSigningRequest) -> list[x509.GeneralName]:
    """The subject alternative names ``csr`` asks for, in order; empty when none.

    :raises CSRError: the extensionRequest attribute cannot be decoded.
    """
    try:
        extension = requested_extensions(csr).get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(extension.value)


def csr_fingerprint(csr: x509.CertificateSigningRequest) -> str:
    """SHA-256 of the DER encoding of ``csr``, lowercase hex."""
    return hashlib.sha256(csr.public_bytes(serialization.Encoding.DER)).hexdigest()
