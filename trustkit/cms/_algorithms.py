"""Digest algorithms, RSA padding choices and streaming hashing for CMS and RFC 3161.

Contents of any size are hashed in fixed-size chunks read into one reused
buffer, so signing or verifying a 1 GiB file takes the same memory as a
1 KiB one.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Sequence
from typing import BinaryIO

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519

from ..errors import InputError, SignatureError
from ..keys import signature_hash_for

__all__ = [
    "ACCEPTED_DIGESTS",
    "DEFAULT_CHUNK_SIZE",
    "DigestAlgorithm",
    "RSAPadding",
    "crypto_hash",
    "default_digest_for",
    "digest_stream",
    "digest_streams",
]

DEFAULT_CHUNK_SIZE = 1 << 20
"""Bytes read at a time when hashing a stream: 1 MiB, past the point where larger helps."""

ProgressCallback = Callable[[int], None]
"""Called with the number of bytes just hashed."""


class DigestAlgorithm(enum.Enum):
    """A hash trustkit signs with (RFC 5754); the value is its name in hashlib and asn1crypto."""

    SHA256 = "sha256"
    SHA384 = "sha384"
    SHA512 = "sha512"

    @classmethod
    def parse(cls, text: str) -> DigestAlgorithm:
        """The algorithm named ``text`` (``sha256``, ``SHA-384``...), case-insensitive."""
        wanted = text.strip().lower().replace("-", "")
        for member in cls:
            if member.value == wanted:
                return member
        allowed = ", ".join(m.value for m in cls)
        raise InputError(f"hash {text!r}: unknown; expected one of {allowed}")

    @property
    def digest_size(self) -> int:
        """Length of the digest in bytes."""
        return hashlib.new(self.value).digest_size


class RSAPadding(enum.Enum):
    """The RSA signature scheme (RFC 8017 8)."""

    PKCS1V15 = "pkcs1v15"
    """RSASSA-PKCS1-v1_5, what every verifier understands."""
    PSS = "pss"
    """RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (RFC 4056 3)."""


ACCEPTED_DIGESTS = frozenset(
    {"sha224", "sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512"}
)
"""Digest algorithms accepted when verifying: SHA-1 and MD5 are refused (RFC 5754)."""

_CRYPTO_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}


def crypto_hash(name: str) -> hashes.HashAlgorithm:
    """cryptography's hash object for an accepted digest ``name``; SignatureError otherwise."""
    factory = _CRYPTO_HASHES.get(name)
    if factory is None:
        raise SignatureError(
            f"digest algorithm {name}: not accepted (SHA-2 or SHA-3 required, RFC 5754)"
        )
    return factory()


def default_digest_for(key: object) -> DigestAlgorithm:
    """The digest to sign with ``key``: SHA-512 for EdDSA (RFC 8419 3.1), else the hash
    matched to the key's strength (:func:`trustkit.keys.signature_hash_for`)."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return DigestAlgorithm.SHA512
    chosen = signature_hash_for(key)  # type: ignore[arg-type]
    return DigestAlgorithm(chosen.name) if chosen is not None else DigestAlgorithm.SHA512


def digest_streams(
    stream: BinaryIO,
    names: Sequence[str],
    *,
    progress: ProgressCallback | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> dict[str, bytes]:
    """Hash ``stream`` to its end once with every digest in ``names``, in constant memory."""
    hashers = {name: hashlib.new(name) for name in dict.fromkeys(names)}
    buffer = bytearray(chunk_size)
    view = memoryview(buffer)
    while True:
        count = stream.readinto(view)  # type: ignore[attr-defined]
        if not count:
            break
        chunk = view[:count]
        for hasher in hashers.values():
            hasher.update(chunk)
        if progress is not None:
            progress(count)
    return {name: hasher.digest() for name, hasher in hashers.items()}


def digest_stream(
    stream: BinaryIO,
    algorithm: DigestAlgorithm,
    *,
    progress: ProgressCallback | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> bytes:
    """The ``algorithm`` digest of everything left in ``stream``, in constant memory."""
    name = algorithm.value
    return digest_streams(stream, [name], progress=progress, chunk_size=chunk_size)[name]
