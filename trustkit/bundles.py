"""Certificate bundles: PKCS#12 files and PEM chains.

PKCS#12 files are what browsers and operating systems import for client
authentication. They are written with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
and an HMAC-SHA256 MAC, which OpenSSL 3, current browsers and the Windows and
macOS key stores read; the legacy RC2/3DES encryption is never used.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PrivateFormat,
    pkcs12,
)

from .encoding import pem_encode
from .errors import InputError, PassphraseError
from .keys import PBKDF2_ITERATIONS, PrivateKey, default_kdf_iterations

__all__ = ["PKCS12_KDF_ROUNDS", "chain_pem", "export_pkcs12", "load_pkcs12"]

PKCS12_KDF_ROUNDS = 600_000
"""PBKDF2 rounds protecting a PKCS#12 file, as for key files (and, like theirs,
replaced by ``$TRUSTKIT_TEST_KDF_ITERATIONS`` in tests only; see
:func:`trustkit.keys.default_kdf_iterations`)."""


def chain_pem(certificates: Sequence[x509.Certificate]) -> bytes:
    """Certificates as one PEM bundle, in the order given (end entity first)."""
    return b"".join(pem_encode("CERTIFICATE", c.public_bytes(Encoding.DER)) for c in certificates)


def _kdf_rounds() -> int:
    rounds = default_kdf_iterations()
    # The test-only variable lowers both counts; otherwise PKCS12_KDF_ROUNDS stands.
    return PKCS12_KDF_ROUNDS if rounds == PBKDF2_ITERATIONS else rounds


def export_pkcs12(
    certificate: x509.Certificate,
    key: PrivateKey,
    chain: Sequence[x509.Certificate],
    passphrase: bytes,
    *,
    friendly_name: str | None = None,
) -> bytes:
    """A passphrase-protected PKCS#12 file holding the key, the certificate and its chain."""
    if not passphrase:
        raise PassphraseError("PKCS#12: a passphrase is needed")
    if certificate.public_key() != key.public_key():
        raise InputError("PKCS#12: the key does not belong to the certificate")
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(_kdf_rounds())
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    name = friendly_name.encode() if friendly_name else None
    return pkcs12.serialize_key_and_certificates(name, key, certificate, list(chain), encryption)


def load_pkcs12(
    data: bytes, passphrase: bytes
) -> tuple[PrivateKey | None, x509.Certificate | None, list[x509.Certificate]]:
    """Key, certificate and additional certificates from a PKCS#12 file."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise PassphraseError(f"PKCS#12: wrong passphrase or not a PKCS#12 file ({exc})") from exc
    return key, cert, list(extra)  # type: ignore[return-value]
