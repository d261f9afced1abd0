"""Certificate bundles: PKCS#12 files and PEM chains.

PKCS#12 files are what browsers and operating systems import for client
authentication. They are written with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC)
and an HMAC-SHA256 MAC, which OpenSSL 3, current browsers and the Windows and
macOS key stores read; the legacy RC2/3DES encryption is never used.

A certificate given to trustkit (``sign --cert``, ``export-p12 --cert``) is
read as a bundle, one way for every command (:func:`load_certificate_bundle`):
the first certificate of the file is the end entity and any that follow are
its chain; ``--chain`` adds more; and when the file holds the end entity alone,
``NAME-chain.pem`` beside ``NAME.pem`` (what ``trustkit pki apply`` writes) is
its chain if it starts with that same certificate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PrivateFormat,
    pkcs12,
)

from .encoding import load_certificates, pem_encode
from .errors import InputError, PassphraseError
from .keys import PBKDF2_ITERATIONS, PrivateKey, default_kdf_iterations

__all__ = [
    "CHAIN_FILE_SUFFIX",
    "PKCS12_KDF_ROUNDS",
    "CertificateBundle",
    "certificate_bundle",
    "chain_file_beside",
    "chain_pem",
    "export_pkcs12",
    "load_certificate_bundle",
    "load_pkcs12",
    "looks_like_pkcs12",
]

PKCS12_KDF_ROUNDS = 600_000
"""PBKDF2 rounds protecting a PKCS#12 file, as for key files (and, like theirs,
replaced by ``$TRUSTKIT_TEST_KDF_ITERATIONS`` in tests only; see
:func:`trustkit.keys.default_kdf_iterations`)."""


CHAIN_FILE_SUFFIX = "-chain.pem"
"""``NAME-chain.pem`` beside ``NAME.pem``: the certificate followed by its chain."""


@dataclass(frozen=True)
class CertificateBundle:
    """An end-entity certificate and the CA certificates that travel with it."""

    certificate: x509.Certificate
    """The end entity: the first certificate of the file given."""
    chain: tuple[x509.Certificate, ...]
    """Issuing CA certificates, in the order read, without duplicates or the end entity."""
    chain_source: Path | None = None
    """The file the chain was found in when it was not given (``NAME-chain.pem``)."""


def certificate_bundle(
    certificates: Sequence[x509.Certificate],
    extra: Sequence[x509.Certificate] = (),
    *,
    chain_source: Path | None = None,
) -> CertificateBundle:
    """The first of ``certificates`` as the end entity; the rest and ``extra`` as its chain.

    A certificate given twice (the same DER) is kept once, so a full chain
    and a ``--chain`` file that overlap embed each CA certificate once.
    """
    if not certificates:
        raise InputError("certificate: none given")
    leaf = certificates[0]
    seen = {leaf.public_bytes(Encoding.DER)}
    chain: list[x509.Certificate] = []
    for cert in (*certificates[1:], *extra):
        der = cert.public_bytes(Encoding.DER)
        if der not in seen:
            seen.add(der)
            chain.append(cert)
    return CertificateBundle(leaf, tuple(chain), chain_source)


def chain_file_beside(cert_path: Path) -> Path | None:
    """``NAME-chain.pem`` for ``NAME.pem`` (or ``.crt``, ``.cer``, ``.der``); ``None`` for a
    file that is itself a chain file."""
    if cert_path.name.endswith(CHAIN_FILE_SUFFIX):
        return None
    return cert_path.with_name(cert_path.stem + CHAIN_FILE_SUFFIX)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from None


def load_certificate_bundle(cert_path: Path, chain_path: Path | None = None) -> CertificateBundle:
    """The bundle ``--cert cert_path [--chain chain_path]`` names (see the module docstring).

    The chain file beside the certificate is used only when it starts with the
    very certificate given: a stale ``NAME-chain.pem`` left by an earlier
    certificate of the same name is not this one's chain and is ignored.
    """
    certificates = load_certificates(_read(cert_path), what=str(cert_path))
    if chain_path is not None:
        extra = load_certificates(_read(chain_path), what=str(chain_path))
        return certificate_bundle(certificates, extra)
    beside = chain_file_beside(cert_path)
    if len(certificates) == 1 and beside is not None and beside.is_file():
        found = load_certificates(_read(beside), what=str(beside))
        if found[0] == certificates[0]:
            return certificate_bundle(found, chain_source=beside)
    return certificate_bundle(certificates)


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
    data: bytes, passphrase: bytes, *, what: str = "PKCS#12"
) -> tuple[PrivateKey | None, x509.Certificate | None, list[x509.Certificate]]:
    """Key, certificate and additional certificates from a PKCS#12 file."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except ValueError as exc:
        raise PassphraseError(
            f"{what}: wrong passphrase, or not a PKCS#12 file (RFC 7292)"
        ) from exc
    return key, cert, list(extra)  # type: ignore[return-value]


# PFX ::= SEQUENCE { version INTEGER {v3(3)}, authSafe ContentInfo, macData MacData OPTIONAL }
# (RFC 7292 4), authSafe of type id-data or id-signedData (RFC 7292 4.1).
_PFX_VERSION = b"\x02\x01\x03"
_PFX_AUTH_SAFE_TYPES = (
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01",
    b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02",
)


def _after_header(der: bytes, start: int) -> int | None:
    """Where the contents of the DER SEQUENCE at ``start`` begin, or ``None``."""
    if len(der) < start + 2 or der[start] != 0x30:
        return None
    first = der[start + 1]
    if first < 0x80:
        return start + 2
    count = first & 0x7F
    return start + 2 + count if 0 < count <= 4 else None


def looks_like_pkcs12(der: bytes) -> bool:
    """Whether ``der`` opens as a PKCS#12 PFX: version 3, then a ContentInfo of data or
    signedData. Read before any passphrase is asked for, so that a file of another
    kind is never met with a passphrase prompt."""
    inner = _after_header(der, 0)
    if inner is None or der[inner : inner + 3] != _PFX_VERSION:
        return False
    content_info = _after_header(der, inner + 3)
    return content_info is not None and der[content_info : content_info + 11] in (
        _PFX_AUTH_SAFE_TYPES
    )
