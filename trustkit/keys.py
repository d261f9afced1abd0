"""Key types, key generation, and private keys encrypted at rest.

The key types trustkit issues for are a short, named list (:class:`KeyType`):
NIST P-256 and P-384, RSA 2048/3072/4096 and Ed25519. Keys are plain
cryptography key objects, so an HSM key that subclasses cryptography's key
ABCs works everywhere a software key does.

Private keys are written as PKCS#8 PEM, encrypted with PBES2 (PBKDF2 with
HMAC-SHA256 at 600,000 rounds, AES-256-CBC; RFC 8018), which OpenSSL 3 and every other
PKCS#8 reader understand, in files of mode 0600. They are read from PEM or
DER, PKCS#8 or the traditional PKCS#1 (RFC 8017) and SEC1 (RFC 5915) forms,
encrypted or not.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import os
from pathlib import Path
from typing import TypeAlias, cast

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import (
    dsa,
    ec,
    ed448,
    ed25519,
    rsa,
    x448,
    x25519,
)
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ._files import write_private
from .encoding import is_pem, pem_encode, read_blocks
from .errors import InputError, KeyFileError, PassphraseError

__all__ = [
    "DEFAULT_CA_KEY_TYPE",
    "DEFAULT_LEAF_KEY_TYPE",
    "MIN_PBKDF2_ITERATIONS",
    "PBKDF2_ITERATIONS",
    "TEST_KDF_ITERATIONS_ENV",
    "KeyType",
    "PrivateKey",
    "PublicKey",
    "SignatureHash",
    "default_kdf_iterations",
    "describe_key",
    "generate_key",
    "key_type_of",
    "load_private_key",
    "load_private_key_file",
    "public_key_fingerprint",
    "save_private_key",
    "serialize_private_key",
    "signature_hash_for",
]

PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
"""A private key trustkit can sign with."""

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
"""The public half of a :data:`PrivateKey`."""

SignatureHash: TypeAlias = hashes.SHA256 | hashes.SHA384 | hashes.SHA512
"""A hash that :func:`signature_hash_for` picks; every x509 builder's ``sign()`` takes it."""

RSA_PUBLIC_EXPONENT = 65537
"""The RSA public exponent F4, the only one worth using (RFC 8017 leaves it open)."""

PBKDF2_ITERATIONS = 600_000
"""PBKDF2-HMAC-SHA256 rounds for key files: OWASP's 2023 figure; about 0.1 s per load."""

MIN_PBKDF2_ITERATIONS = 1000
"""The least RFC 8018 section 4.2 allows; lower counts are refused."""

TEST_KDF_ITERATIONS_ENV = "TRUSTKIT_TEST_KDF_ITERATIONS"
"""TEST ONLY: the environment variable that replaces :data:`PBKDF2_ITERATIONS` for new files.

A test suite writes hundreds of key and PKCS#12 files, each costing 0.1 s of
PBKDF2 at the shipped count and as much again when read back; the suite's
``conftest.py`` sets this to :data:`MIN_PBKDF2_ITERATIONS`. It is honoured only
when set, never below that minimum, and nothing in trustkit sets it: a file
written under it is as weak as its count says (``openssl asn1parse`` shows it).
"""


def default_kdf_iterations() -> int:
    """The PBKDF2 count for new key and PKCS#12 files: :data:`PBKDF2_ITERATIONS`,
    unless ``$TRUSTKIT_TEST_KDF_ITERATIONS`` (TEST ONLY) says otherwise.

    :raises KeyFileError: the variable is set but not a count of at least
        :data:`MIN_PBKDF2_ITERATIONS`.
    """
    value = os.environ.get(TEST_KDF_ITERATIONS_ENV)
    if value is None:
        return PBKDF2_ITERATIONS
    if not value.isdigit() or int(value) < MIN_PBKDF2_ITERATIONS:
        # A typo must not silently fall back to, or below, anything: say so.
        raise KeyFileError(
            f"${TEST_KDF_ITERATIONS_ENV}: {value!r} is not a PBKDF2 count of at least "
            f"{MIN_PBKDF2_ITERATIONS} (RFC 8018 section 4.2)"
        )
    return int(value)


_SALT_BYTES = 16
_AES_KEY_BYTES = 32
_AES_BLOCK_BYTES = 16

_PRIVATE_KEY_CLASSES = (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)


class KeyType(enum.Enum):
    """A key algorithm and size that trustkit generates and issues for."""

    EC_P256 = "ec-p256"
    EC_P384 = "ec-p384"
    RSA_2048 = "rsa-2048"
    RSA_3072 = "rsa-3072"
    RSA_4096 = "rsa-4096"
    ED25519 = "ed25519"

    @classmethod
    def parse(cls, text: str) -> KeyType:
        """The key type named ``text`` (``ec-p256``, ``rsa-3072``, ...), case-insensitive."""
        wanted = text.strip().lower()
        for member in cls:
            if member.value == wanted:
                return member
        allowed = ", ".join(member.value for member in cls)
        raise InputError(f"key type {text!r}: unknown; expected one of {allowed}")

    @property
    def rsa_bits(self) -> int | None:
        """The RSA modulus size in bits, or ``None`` for a non-RSA type."""
        return _RSA_BITS.get(self)


_RSA_BITS = {KeyType.RSA_2048: 2048, KeyType.RSA_3072: 3072, KeyType.RSA_4096: 4096}
_EC_CURVES: dict[KeyType, type[ec.EllipticCurve]] = {
    KeyType.EC_P256: ec.SECP256R1,
    KeyType.EC_P384: ec.SECP384R1,
}
_CURVE_LABELS = {"secp256r1": "P-256", "secp384r1": "P-384"}

DEFAULT_LEAF_KEY_TYPE = KeyType.EC_P256
"""Key type for end-entity certificates unless another is asked for."""

DEFAULT_CA_KEY_TYPE = KeyType.EC_P384
"""Key type for CA certificates unless another is asked for."""


def generate_key(key_type: KeyType | str = DEFAULT_LEAF_KEY_TYPE) -> PrivateKey:
    """A new private key of ``key_type`` (a :class:`KeyType` or its name, e.g. ``"rsa-3072"``)."""
    if isinstance(key_type, str):
        key_type = KeyType.parse(key_type)
    curve = _EC_CURVES.get(key_type)
    if curve is not None:
        return ec.generate_private_key(curve())
    bits = key_type.rsa_bits
    if bits is not None:
        return rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=bits)
    return ed25519.Ed25519PrivateKey.generate()


def _public(key: PrivateKeyTypes | PublicKeyTypes) -> PublicKeyTypes:
    """The public half of ``key`` if it is a private key, else ``key`` itself."""
    public_key = getattr(key, "public_key", None)
    if callable(public_key):
        return cast(PublicKeyTypes, public_key())
    return cast(PublicKeyTypes, key)


def key_type_of(key: PrivateKeyTypes | PublicKeyTypes) -> KeyType | None:
    """The :class:`KeyType` of ``key``, or ``None`` if it is none of them (RSA-1024, P-521)."""
    public = _public(key)
    if isinstance(public, ec.EllipticCurvePublicKey):
        for key_type, curve in _EC_CURVES.items():
            if isinstance(public.curve, curve):
                return key_type
        return None
    if isinstance(public, rsa.RSAPublicKey):
        for key_type, bits in _RSA_BITS.items():
            if public.key_size == bits:
                return key_type
        return None
    if isinstance(public, ed25519.Ed25519PublicKey):
        return KeyType.ED25519
    return None


def describe_key(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """A short human description: ``EC P-256``, ``RSA 2048``, ``Ed25519``, ``DSA 1024``.

    Works for any key cryptography can load, including algorithms trustkit
    does not issue for; an unknown curve is named by its SEC 2 name
    (``EC secp521r1``).
    """
    public = _public(key)
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {_CURVE_LABELS.get(public.curve.name, public.curve.name)}"
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size}"
    if isinstance(public, dsa.DSAPublicKey):
        return f"DSA {public.key_size}"
    simple: list[tuple[type, str]] = [
        (ed25519.Ed25519PublicKey, "Ed25519"),
        (ed448.Ed448PublicKey, "Ed448"),
        (x25519.X25519PublicKey, "X25519"),
        (x448.X448PublicKey, "X448"),
    ]
    for cls, label in simple:
        if isinstance(public, cls):
            return label
    return type(public).__name__


def signature_hash_for(key: PrivateKeyTypes | PublicKeyTypes) -> SignatureHash | None:
    """The hash to sign with ``key``, as x509 builders' ``sign()`` wants it.

    SHA-256 for P-256 and RSA, SHA-384 for P-384 and SHA-512 for larger
    curves (the hash matched to the curve's security level, RFC 5480
    section 4), ``None`` for EdDSA, which hashes internally (RFC 8410).
    """
    public = _public(key)
    if isinstance(public, ec.EllipticCurvePublicKey):
        if public.curve.key_size <= 256:
            return hashes.SHA256()
        if public.curve.key_size <= 384:
            return hashes.SHA384()
        return hashes.SHA512()
    if isinstance(public, rsa.RSAPublicKey | dsa.DSAPublicKey):
        return hashes.SHA256()
    if isinstance(public, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return None
    raise KeyFileError(f"key: {describe_key(public)} keys cannot sign certificates or requests")


def _check_passphrase(passphrase: bytes) -> None:
    if not passphrase:
        raise KeyFileError("private key: an empty passphrase protects nothing; give a real one")


def serialize_private_key(
    key: PrivateKey, passphrase: bytes | None, *, kdf_iterations: int | None = None
) -> bytes:
    """``key`` as PKCS#8 PEM, encrypted with ``passphrase`` unless it is ``None``.

    Encryption is PBES2 (RFC 8018): PBKDF2-HMAC-SHA256 with ``kdf_iterations``
    rounds (default :func:`default_kdf_iterations`) and a random 16-byte salt, then
    AES-256-CBC. ``openssl pkey`` and every other PKCS#8 reader load it.
    (cryptography's own ``BestAvailableEncryption`` fixes the count at 2048,
    too few for a CA key.)
    """
    if passphrase is None:
        return _private_bytes(key, serialization.Encoding.PEM)
    _check_passphrase(passphrase)
    if kdf_iterations is None:
        kdf_iterations = default_kdf_iterations()
    if kdf_iterations < MIN_PBKDF2_ITERATIONS:
        raise KeyFileError(
            f"private key: {kdf_iterations} PBKDF2 iterations, at least "
            f"{MIN_PBKDF2_ITERATIONS} needed (RFC 8018 section 4.2)"
        )
    plaintext = _private_bytes(key, serialization.Encoding.DER)
    salt = os.urandom(_SALT_BYTES)
    iv = os.urandom(_AES_BLOCK_BYTES)
    secret = PBKDF2HMAC(hashes.SHA256(), _AES_KEY_BYTES, salt, kdf_iterations).derive(passphrase)
    padder = padding.PKCS7(_AES_BLOCK_BYTES * 8).padder()  # RFC 8018 6.2.1 step 4
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    # asn1crypto only when a key is written, so reading commands start faster.
    from ._asn1 import encode_pbes2_private_key_info

    der = encode_pbes2_private_key_info(
        salt=salt, iterations=kdf_iterations, iv=iv, ciphertext=ciphertext
    )
    return pem_encode("ENCRYPTED PRIVATE KEY", der)


def _private_bytes(key: PrivateKey, encoding: serialization.Encoding) -> bytes:
    try:
        return key.private_bytes(
            encoding, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    except (ValueError, TypeError, NotImplementedError, UnsupportedAlgorithm) as exc:
        # An HSM key cannot leave its token; say so rather than leak a library error.
        raise KeyFileError(f"private key: {describe_key(key)} cannot be exported ({exc})") from exc


def save_private_key(
    key: PrivateKey,
    path: str | os.PathLike[str],
    passphrase: bytes | None,
    *,
    allow_unencrypted: bool = False,
    kdf_iterations: int | None = None,
    exclusive: bool = False,
) -> Path:
    """Write ``key`` to ``path`` as encrypted PKCS#8 PEM, atomically, with mode 0600.

    Private keys are encrypted at rest: ``passphrase=None`` is refused unless
    ``allow_unencrypted`` is set (for a key that lives in a protected place
    already, such as a test), and an empty passphrase is always refused.
    ``kdf_iterations`` is as in :func:`serialize_private_key`.

    The key is written only as a regular file: a symbolic link, device or
    FIFO at ``path`` is refused, never written through. With ``exclusive``
    an existing file is refused too, so a CA key is never replaced.
    """
    if passphrase is None and not allow_unencrypted:
        raise KeyFileError("private keys are encrypted at rest: give a passphrase")
    data = serialize_private_key(key, passphrase, kdf_iterations=kdf_iterations)
    try:
        return write_private(path, data, exclusive=exclusive)
    except OSError as exc:
        raise KeyFileError(
            f"{os.fspath(path)}: cannot write private key ({exc.strerror or exc})"
        ) from exc


def _deserialize(data: bytes, passphrase: bytes | None) -> PrivateKeyTypes:
    if is_pem(data):
        return serialization.load_pem_private_key(data, passphrase)
    return serialization.load_der_private_key(data, passphrase)


_PBKDF2_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_PRIVATE_KEY_LABELS = ("PRIVATE KEY", "EC PRIVATE KEY")
_ENCRYPTED_LABEL = "ENCRYPTED PRIVATE KEY"


_DEK_INFO_AES = {b"AES-128-CBC": 16, b"AES-192-CBC": 24, b"AES-256-CBC": 32}
"""OpenSSL's traditional PEM encryption with AES (RFC 1421 4.6.1.1 headers, EVP_BytesToKey)."""


def _decrypt_cbc(secret: bytes, iv: bytes, ciphertext: bytes, what: str) -> bytes:
    if len(ciphertext) % _AES_BLOCK_BYTES or len(iv) != _AES_BLOCK_BYTES:
        raise KeyFileError(f"{what}: ciphertext or IV is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(secret), modes.CBC(iv)).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(_AES_BLOCK_BYTES * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError as exc:  # RFC 8018 6.2.2 step 5: bad padding, a wrong passphrase
        raise PassphraseError(f"{what}: wrong passphrase") from exc


def _decrypt_traditional(data: bytes, passphrase: bytes, what: str) -> bytes | None:
    """The DER inside OpenSSL's traditional encrypted PEM (``Proc-Type: 4,ENCRYPTED`` and
    ``DEK-Info: AES-256-CBC,<iv>``), whose key is OpenSSL's EVP_BytesToKey of MD5 over
    the passphrase and the IV's first 8 octets, one round; ``None`` for other ciphers."""
    head, _, rest = data.partition(b"DEK-Info:")
    info, _, body = rest.partition(b"\n")
    cipher, _, iv_hex = info.strip().partition(b",")
    if b"Proc-Type: 4,ENCRYPTED" not in head or cipher not in _DEK_INFO_AES:
        return None
    try:
        iv = bytes.fromhex(iv_hex.decode("ascii"))
        ciphertext = base64.b64decode(body.split(b"-----END ")[0].translate(None, b" \t\r\n"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{what}: malformed DEK-Info or body ({exc})") from exc
    secret, block = b"", b""
    while len(secret) < _DEK_INFO_AES[cipher]:
        block = hashlib.md5(block + passphrase + iv[:8], usedforsecurity=False).digest()
        secret += block
    return _decrypt_cbc(secret[: _DEK_INFO_AES[cipher]], iv, ciphertext, what)


def _decrypt_pbes2(data: bytes, passphrase: bytes, what: str) -> bytes | None:
    """The PrivateKeyInfo DER inside a PBES2 (PBKDF2, AES-CBC) EncryptedPrivateKeyInfo,
    decrypted here so that its curve parameters can be read; ``None`` for any other
    encryption, which cryptography then opens (RFC 8018 6.2.2, the inverse of
    :func:`serialize_private_key`)."""
    from ._asn1 import pbes2_parameters

    if is_pem(data):
        blocks = [b.der for b in read_blocks(data, what=what) if b.label == _ENCRYPTED_LABEL]
        if len(blocks) != 1:
            return None
        der = blocks[0]
    else:
        der = data
    params = pbes2_parameters(der)
    if params is None or params.prf not in _PBKDF2_HASHES:
        return None
    secret = PBKDF2HMAC(
        _PBKDF2_HASHES[params.prf](), params.key_length, params.salt, params.iterations
    ).derive(passphrase)
    return _decrypt_cbc(secret, params.iv, params.ciphertext, what)


def _curve_encoding(data: bytes | None, what: str) -> None:
    """Refuse an EC key whose curve is not a namedCurve (RFC 5480 2.1.1), read from the DER
    of ``data``, the unencrypted key; ``None`` when only cryptography saw it decrypted."""
    from ._asn1 import (
        curve_encoding_problem,
        ec_parameters_block_choice,
        private_key_ec_parameters,
    )

    if data is None:
        raise KeyFileError(
            f"{what}: an EC key under an encryption trustkit cannot open itself, so its curve "
            "parameters cannot be checked (RFC 5480 2.1.1 allows only a namedCurve); "
            "re-encrypt it as PKCS#8 with PBES2 (openssl pkcs8 -topk8 -v2 aes-256-cbc)"
        )
    if is_pem(data):
        choices = [
            private_key_ec_parameters(block.der)
            if block.label in _PRIVATE_KEY_LABELS
            else ec_parameters_block_choice(block.der)
            for block in read_blocks(data, what=what)
            if block.label in (*_PRIVATE_KEY_LABELS, "EC PARAMETERS")
        ]
    else:
        choices = [private_key_ec_parameters(data)]
    for choice in choices:
        problem = curve_encoding_problem(choice)
        if problem is not None:
            raise KeyFileError(f"{what}: {problem}")


def load_private_key(
    data: bytes, passphrase: bytes | None = None, *, what: str = "private key"
) -> PrivateKey:
    """A private key from PEM or DER: PKCS#8, PKCS#1 or SEC1, encrypted or not.

    A passphrase given for a key that is not encrypted is ignored, so a
    caller can always pass the one it has. ``what`` names the key in error
    messages. An EC key must name its curve: explicit parameters, which
    cryptography would quietly read as the named curve they match, are
    refused (RFC 5480 2.1.1).

    :raises PassphraseError: the key is encrypted and the passphrase is missing or wrong.
    :raises KeyFileError: not a private key, of an algorithm trustkit cannot sign with,
        or an EC key whose curve is not given by name.
    """
    expected = "expected a PKCS#8, PKCS#1 or SEC1 private key, PEM or DER"
    plaintext: bytes | None = data
    try:
        # First without a passphrase: that tells an encrypted key from an
        # unencrypted one without running the (deliberately slow) KDF.
        key = _deserialize(data, None)
    except TypeError as exc:
        # cryptography says "Password was not given but private key is encrypted".
        if passphrase is None:
            raise PassphraseError(f"{what}: encrypted, a passphrase is needed") from exc
        try:
            plaintext = _decrypt_pbes2(data, passphrase, what)
            if plaintext is None and is_pem(data):
                plaintext = _decrypt_traditional(data, passphrase, what)
            # One KDF run either way: PBES2 and AES PEM keys are opened here (so that their
            # curve parameters can be read), others by cryptography.
            key = _deserialize(
                *((plaintext, None) if plaintext is not None else (data, passphrase))
            )
        except ValueError as inner:
            raise PassphraseError(f"{what}: wrong passphrase") from inner
        except (TypeError, UnsupportedAlgorithm) as inner:
            raise KeyFileError(f"{what}: cannot decrypt ({inner})") from inner
    except UnsupportedAlgorithm as exc:
        raise KeyFileError(f"{what}: unsupported key or encryption algorithm ({exc})") from exc
    except ValueError as exc:
        raise KeyFileError(f"{what}: not readable; {expected}") from exc
    if not isinstance(key, _PRIVATE_KEY_CLASSES):
        allowed = ", ".join(member.value for member in KeyType)
        raise KeyFileError(
            f"{what}: {describe_key(key)} keys are not supported; use one of {allowed}"
        )
    if isinstance(key, ec.EllipticCurvePrivateKey):
        _curve_encoding(plaintext, what)
    return key


def load_private_key_file(
    path: str | os.PathLike[str], passphrase: bytes | None = None
) -> PrivateKey:
    """The private key in the file at ``path``; see :func:`load_private_key`."""
    name = os.fspath(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"private key {name}: no such file") from exc
    except OSError as exc:
        raise KeyFileError(f"private key {name}: cannot read ({exc.strerror})") from exc
    return load_private_key(data, passphrase, what=f"private key {name}")


def public_key_fingerprint(key: PrivateKeyTypes | PublicKeyTypes) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo of ``key`` (RFC 5280 4.1.2.7), lowercase hex.

    Any key type cryptography knows works, so a verifier can name a DSA key too.
    """
    spki = _public(key).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).hexdigest()
