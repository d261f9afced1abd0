"""Signature checks and the algorithm policy, on top of cryptography."""

from __future__ import annotations

import warnings

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

from .._asn1 import certificate_ec_parameters
from .._asn1 import curve_encoding_problem as ec_curve_problem
from ..errors import DecodeError
from ._model import AlgorithmPolicy

__all__ = [
    "PublicKey",
    "certificate_signed_by",
    "curve_encoding_problem",
    "key_problem",
    "public_key_of",
    "serial_of",
    "signature_problem",
    "verify_signature",
]

PublicKey = (
    rsa.RSAPublicKey
    | ec.EllipticCurvePublicKey
    | dsa.DSAPublicKey
    | ed25519.Ed25519PublicKey
    | ed448.Ed448PublicKey
)


def public_key_of(cert: x509.Certificate) -> PublicKey | None:
    """The certificate's public key, or ``None`` when cryptography cannot use it."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return None
    if isinstance(
        key,
        rsa.RSAPublicKey
        | ec.EllipticCurvePublicKey
        | dsa.DSAPublicKey
        | ed25519.Ed25519PublicKey
        | ed448.Ed448PublicKey,
    ):
        return key
    return None


def key_problem(key: PublicKey, policy: AlgorithmPolicy) -> str | None:
    """Why the algorithm policy refuses ``key``, or ``None``."""
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < policy.min_rsa_bits:
            return f"RSA key of {key.key_size} bits is below the minimum {policy.min_rsa_bits}"
        return None
    if isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in policy.curves:
            return f"elliptic curve {key.curve.name} is not allowed"
        return None
    if isinstance(key, dsa.DSAPublicKey):
        if not policy.allow_dsa:
            return "DSA keys are not allowed"
        if key.key_size < policy.min_dsa_bits:
            return f"DSA key of {key.key_size} bits is below the minimum {policy.min_dsa_bits}"
        return None
    if isinstance(key, ed25519.Ed25519PublicKey):
        return None if policy.allow_ed25519 else "Ed25519 keys are not allowed"
    if isinstance(key, ed448.Ed448PublicKey):
        return None if policy.allow_ed448 else "Ed448 keys are not allowed"
    return "unsupported public key type"  # pragma: no cover - PublicKey is closed


def curve_encoding_problem(key: PublicKey, certificate_der: bytes) -> str | None:
    """Why a certificate's EC key must not be used although cryptography read it: its
    curve is given by explicit parameters (or none), not a namedCurve (RFC 5480 2.1.1,
    CA/Browser Forum BR 7.1.3.1.2). cryptography reads explicit parameters that match a
    curve it knows as that curve, so the certificate's DER is read instead; this is the
    encoding CVE-2020-0601 used to pass a forged key off as a trusted root's."""
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return None
    try:
        choice = certificate_ec_parameters(certificate_der)
    except DecodeError as exc:
        return str(exc)
    return ec_curve_problem(choice)


def serial_of(obj: x509.Certificate | x509.RevokedCertificate) -> int:
    """The serial number, without cryptography's warning about non-positive ones
    (RFC 5280 4.1.2.2 forbids them, but PKITS 4.4.14 and 4.4.15 carry them on purpose)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return obj.serial_number


def signature_problem(
    hash_algorithm: hashes.HashAlgorithm | None, oid: x509.ObjectIdentifier, policy: AlgorithmPolicy
) -> str | None:
    """Why the algorithm policy refuses a signature algorithm, or ``None``."""
    if hash_algorithm is None:
        return None  # Ed25519 / Ed448: the hash is part of the scheme
    if hash_algorithm.name not in policy.hashes:
        return f"signature algorithm {oid.dotted_string} uses {hash_algorithm.name.upper()}"
    return None


def verify_signature(
    key: PublicKey,
    signature: bytes,
    data: bytes,
    hash_algorithm: hashes.HashAlgorithm | None,
    parameters: object,
) -> bool:
    """Whether ``signature`` over ``data`` verifies with ``key``.

    ``parameters`` is cryptography's ``signature_algorithm_parameters``
    (PKCS#1 v1.5 or PSS padding for RSA, ECDSA for EC, ``None`` otherwise).
    """
    try:
        if isinstance(key, rsa.RSAPublicKey):
            if hash_algorithm is None:
                return False
            pad = parameters if isinstance(parameters, padding.PSS) else padding.PKCS1v15()
            key.verify(signature, data, pad, hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            if hash_algorithm is None:
                return False
            key.verify(signature, data, ec.ECDSA(hash_algorithm))
        elif isinstance(key, dsa.DSAPublicKey):
            if hash_algorithm is None:
                return False
            key.verify(signature, data, hash_algorithm)
        else:
            if hash_algorithm is not None:
                return False
            key.verify(signature, data)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def key_matches_signature(key: PublicKey, parameters: object, oid: x509.ObjectIdentifier) -> bool:
    """Whether the signature algorithm is one that ``key`` can make at all."""
    del oid
    if isinstance(key, rsa.RSAPublicKey):
        return parameters is None or isinstance(parameters, padding.PKCS1v15 | padding.PSS)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return isinstance(parameters, ec.ECDSA)
    return True


def certificate_signed_by(cert: x509.Certificate, key: PublicKey | None) -> bool:
    """Whether ``key`` verifies ``cert``'s signature; ``False`` without a key, or when a
    field of ``cert`` that the check needs cannot be read."""
    if key is None:
        return False
    try:
        return verify_signature(
            key,
            cert.signature,
            cert.tbs_certificate_bytes,
            cert.signature_hash_algorithm,
            cert.signature_algorithm_parameters,
        )
    except (ValueError, TypeError, UnsupportedAlgorithm, OverflowError, IndexError):
        return False
