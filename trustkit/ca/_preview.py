"""The certificate a request would become, built for the chain rules without a signature.

Issuance runs the validator's per-path rules (:func:`trustkit.policy.chain_outcome`)
on the certificate it is about to sign, and those rules read a
:class:`cryptography.x509.Certificate`. cryptography builds one only through
``sign()``, so the draft is signed here by a stand-in for the CA's key: an object
of the same key class (EC, RSA or Ed25519, as an HSM key is) whose
``sign()`` returns a fixed placeholder instead of computing a signature.

Why the draft is the certificate the CA will sign, serial number aside: cryptography
encodes the TBSCertificate from the builder alone, and chooses the
``signature``/``signatureAlgorithm`` identifiers from the key's class, the hash and
the padding, which are the CA key's (the class of the issuer certificate's key, the
hash :func:`trustkit.keys.signature_hash_for` picks for it, PKCS#1 v1.5 for RSA as in
the real signing). Only signatureValue differs; the chain rules check the path with
``signed_by`` answering "signed" and never read it. The placeholder verifies under no
key, so a draft certifies nothing even if one escaped; it is never stored or returned.

Before this, the draft was signed by a real throwaway key of the CA's kind, which
doubled the signing work per certificate (an RSA-2048 signature costs more than all
the rest of an issuance).
"""

from __future__ import annotations

import functools
from typing import NoReturn

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from ..keys import PrivateKey, signature_hash_for
from ..serials import new_serial

__all__ = ["PLACEHOLDER_DSS_SIGNATURE", "preview_certificate"]

PLACEHOLDER_DSS_SIGNATURE = encode_dss_signature(1, 1)
"""The ECDSA placeholder: a well-formed Dss-Sig-Value (RFC 3279 2.2.2) that
verifies under no key (r = s = 1)."""


def _refused(what: str) -> NoReturn:
    raise TypeError(f"{what}: a preview key only stands in for a CA key's signature algorithm")


class _PreviewEC(ec.EllipticCurvePrivateKey):
    def __init__(self, public: ec.EllipticCurvePublicKey) -> None:
        self._public = public

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        return PLACEHOLDER_DSS_SIGNATURE

    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self._public

    @property
    def curve(self) -> ec.EllipticCurve:
        return self._public.curve

    @property
    def key_size(self) -> int:
        return self._public.curve.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        _refused("exchange")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        _refused("private_numbers")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refused("private_bytes")

    def __copy__(self) -> _PreviewEC:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _PreviewEC:
        return self


class _PreviewRSA(rsa.RSAPrivateKey):
    def __init__(self, public: rsa.RSAPublicKey) -> None:
        self._public = public

    def sign(
        self,
        data: bytes,
        padding: padding.AsymmetricPadding,
        algorithm: object,
    ) -> bytes:
        # All zero, as long as the modulus (RFC 8017 8.2.1: the signature is k octets).
        return bytes((self._public.key_size + 7) // 8)

    def public_key(self) -> rsa.RSAPublicKey:
        return self._public

    @property
    def key_size(self) -> int:
        return self._public.key_size

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        _refused("decrypt")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        _refused("private_numbers")

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refused("private_bytes")

    def __copy__(self) -> _PreviewRSA:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _PreviewRSA:
        return self


class _PreviewEd25519(ed25519.Ed25519PrivateKey):
    def __init__(self, public: ed25519.Ed25519PublicKey) -> None:
        self._public = public

    def sign(self, data: bytes | bytearray | memoryview) -> bytes:
        return bytes(64)  # RFC 8032 5.1.6: R || S, 64 octets

    def public_key(self) -> ed25519.Ed25519PublicKey:
        return self._public

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        _refused("private_bytes")

    def private_bytes_raw(self) -> bytes:
        _refused("private_bytes_raw")

    def __copy__(self) -> _PreviewEd25519:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> _PreviewEd25519:
        return self


@functools.cache
def _fallback_key() -> PrivateKey:
    # An issuer key of a class a CA cannot sign with (keys.PrivateKey): its requests
    # are refused later anyway; a real throwaway P-256 key lets the rules run.
    return ec.generate_private_key(ec.SECP256R1())


def _stand_in(issuer: x509.Certificate) -> PrivateKey:
    """A key object of the same class as ``issuer``'s, which signs nothing."""
    public = issuer.public_key()
    if isinstance(public, ec.EllipticCurvePublicKey):
        return _PreviewEC(public)
    if isinstance(public, rsa.RSAPublicKey):
        return _PreviewRSA(public)
    if isinstance(public, ed25519.Ed25519PublicKey):
        return _PreviewEd25519(public)
    return _fallback_key()


def preview_certificate(
    builder: x509.CertificateBuilder, issuer: x509.Certificate
) -> x509.Certificate:
    """The certificate ``builder`` makes (given a fresh serial number) with the
    signature algorithm of ``issuer``'s key and a placeholder signatureValue."""
    key = _stand_in(issuer)
    return builder.serial_number(new_serial()).sign(key, signature_hash_for(key))
