"""Key structures cryptography does not build or does not show.

cryptography reads an elliptic-curve key whose curve is spelled out as explicit
parameters (ECParameters' specifiedCurve) and, when they are those of a curve it
knows, hands back an ordinary secp256r1 key: nothing it returns says how the
curve was encoded. RFC 5480 2.1.1 (and the CA/Browser Forum's 7.1.3.1.2) allow
only a namedCurve in PKIX, and explicit parameters are how CVE-2020-0601 forged
a trusted key; so the encoding is read here, from the DER, by walking element
headers (no asn1crypto decode, so a certificate costs a few slices).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import DecodeError
from ._der import _element

__all__ = [
    "ECParametersChoice",
    "Pbes2Parameters",
    "certificate_ec_parameters",
    "csr_ec_parameters",
    "curve_encoding_problem",
    "ec_parameters_block_choice",
    "encode_pbes2_private_key_info",
    "pbes2_parameters",
    "private_key_ec_parameters",
    "public_key_info_ec_parameters",
]

ECParametersChoice = str
"""How an EC key's curve is given (RFC 5480 2.1.1, SEC 1 C.2): ``namedCurve``,
``implicitCurve``, ``specifiedCurve``, or ``absent`` (no parameters at all)."""

NAMED_CURVE = "namedCurve"

_EC_KEY_ALGORITHMS = frozenset(
    {
        bytes.fromhex("06072a8648ce3d0201"),  # id-ecPublicKey, RFC 5480 2.1.1
        bytes.fromhex("06052b8104010c"),  # id-ecDH, RFC 5480 2.1.2
        bytes.fromhex("06052b8104010d"),  # id-ecMQV, RFC 5480 2.1.2
    }
)
_SEQUENCE, _INTEGER, _OCTET_STRING, _OID, _NULL = 0x30, 0x02, 0x04, 0x06, 0x05
_CONTEXT_0 = 0xA0  # ECPrivateKey parameters [0] EXPLICIT (RFC 5915 3)
_CHOICES = {_OID: NAMED_CURVE, _NULL: "implicitCurve", _SEQUENCE: "specifiedCurve"}


def _choice(der: bytes, offset: int, end: int, what: str) -> ECParametersChoice:
    if offset >= end:
        return "absent"
    tag, _, _ = _element(der, offset, what)
    if tag not in _CHOICES:
        raise ValueError(f"{what}: ECParameters is neither an OID, NULL nor a SEQUENCE")
    return _CHOICES[tag]


def _algorithm_choice(der: bytes, offset: int, what: str) -> ECParametersChoice | None:
    """The ECParameters choice of the AlgorithmIdentifier at ``offset``; None if not EC."""
    tag, start, end = _element(der, offset, what)
    if tag != _SEQUENCE:
        raise ValueError(f"{what}: AlgorithmIdentifier is not a SEQUENCE")
    _, _, oid_end = _element(der, start, what)
    if der[start:oid_end] not in _EC_KEY_ALGORITHMS:
        return None
    return _choice(der, oid_end, end, what)


def _walk(
    walk: Callable[[bytes], ECParametersChoice | None], der: bytes, what: str
) -> ECParametersChoice | None:
    try:
        return walk(der)
    except (ValueError, IndexError) as exc:
        raise DecodeError(f"{what}: cannot be decoded ({exc})") from exc


def _spki_at(der: bytes, offset: int) -> ECParametersChoice | None:
    tag, start, _ = _element(der, offset, "subjectPublicKeyInfo")
    if tag != _SEQUENCE:
        raise ValueError("subjectPublicKeyInfo: not a SEQUENCE")
    return _algorithm_choice(der, start, "subjectPublicKeyInfo algorithm")


def public_key_info_ec_parameters(der: bytes) -> ECParametersChoice | None:
    """The ECParameters choice of a DER SubjectPublicKeyInfo; ``None`` when it is not EC."""
    return _walk(lambda d: _spki_at(d, 0), der, "public key")


def _certificate(der: bytes) -> ECParametersChoice | None:
    _, start, _ = _element(der, 0, "Certificate")
    tag, position, _ = _element(der, start, "TBSCertificate")
    tag, _, end = _element(der, position, "version")
    position = end if tag == _CONTEXT_0 else position  # [0] EXPLICIT version, DEFAULT v1
    # serialNumber, signature, issuer, validity, subject, then subjectPublicKeyInfo.
    for field in ("serialNumber", "signature", "issuer", "validity", "subject"):
        _, _, position = _element(der, position, field)
    return _spki_at(der, position)


def certificate_ec_parameters(der: bytes) -> ECParametersChoice | None:
    """The ECParameters choice of a DER certificate's key (RFC 5280 4.1); ``None`` if not EC."""
    return _walk(_certificate, der, "certificate")


def _csr(der: bytes) -> ECParametersChoice | None:
    _, start, _ = _element(der, 0, "CertificationRequest")
    _, position, _ = _element(der, start, "CertificationRequestInfo")
    for field in ("version", "subject"):  # RFC 2986 4.1
        _, _, position = _element(der, position, field)
    return _spki_at(der, position)


def csr_ec_parameters(der: bytes) -> ECParametersChoice | None:
    """The ECParameters choice of a DER PKCS#10 request's key (RFC 2986 4.1)."""
    return _walk(_csr, der, "CSR")


def _ec_private_key(der: bytes, offset: int) -> ECParametersChoice:
    """The [0] parameters of an ECPrivateKey (RFC 5915 3), ``absent`` when left out."""
    tag, position, end = _element(der, offset, "ECPrivateKey")
    if tag != _SEQUENCE:
        raise ValueError("ECPrivateKey: not a SEQUENCE")
    for field in ("version", "privateKey"):
        _, _, position = _element(der, position, field)
    if position < end:
        tag, start, _ = _element(der, position, "ECPrivateKey parameters")
        if tag == _CONTEXT_0:
            return _choice(der, start, end, "ECPrivateKey parameters")
    return "absent"


def _private_key(der: bytes) -> ECParametersChoice | None:
    tag, start, _ = _element(der, 0, "private key")
    if tag != _SEQUENCE:
        raise ValueError("not a SEQUENCE")
    tag, _, position = _element(der, start, "version")
    if tag != _INTEGER:
        raise ValueError("version: not an INTEGER")
    tag, _, _ = _element(der, position, "private key")
    if tag == _OCTET_STRING:
        return _ec_private_key(der, 0)  # SEC 1: version, then the privateKey octets
    # PKCS#8 PrivateKeyInfo / OneAsymmetricKey (RFC 5958 2): the algorithm's
    # parameters, and those the ECPrivateKey inside may repeat (RFC 5915 3).
    choice = _algorithm_choice(der, position, "privateKeyAlgorithm")
    if choice is None:
        return None
    _, _, position = _element(der, position, "privateKeyAlgorithm")
    tag, inner, _ = _element(der, position, "privateKey")
    if tag != _OCTET_STRING:
        raise ValueError("privateKey: not an OCTET STRING")
    repeated = _ec_private_key(der, inner)
    return choice if repeated in ("absent", NAMED_CURVE) else repeated


def private_key_ec_parameters(der: bytes) -> ECParametersChoice | None:
    """The ECParameters choice of an unencrypted DER private key, PKCS#8 (RFC 5958) or
    SEC 1 (RFC 5915): the worse of the algorithm's and the ECPrivateKey's own; ``None``
    when it is not an EC key."""
    return _walk(_private_key, der, "private key")


def ec_parameters_block_choice(der: bytes) -> ECParametersChoice:
    """The choice made by a DER ECParameters on its own (an ``EC PARAMETERS`` PEM block)."""
    choice = _walk(lambda d: _choice(d, 0, len(d), "EC PARAMETERS"), der, "EC PARAMETERS")
    assert choice is not None
    return choice


def curve_encoding_problem(choice: ECParametersChoice | None) -> str | None:
    """Why an EC key whose curve is given by ``choice`` must not be used, or ``None``."""
    if choice is None or choice == NAMED_CURVE:
        return None
    if choice == "absent":
        return "elliptic curve key without parameters; a namedCurve is required (RFC 5480 2.1.1)"
    return (
        f"elliptic curve given as {choice}, not a namedCurve "
        "(RFC 5480 2.1.1; explicit parameters are refused)"
    )


@dataclass(frozen=True)
class Pbes2Parameters:
    """What decrypting a PBES2 EncryptedPrivateKeyInfo needs (RFC 8018 6.2, A.2, B.2.5)."""

    salt: bytes
    iterations: int
    prf: str
    """The PBKDF2 HMAC hash: ``sha1``, ``sha224``, ``sha256``, ``sha384`` or ``sha512``."""
    key_length: int
    """AES key octets: 16, 24 or 32."""
    iv: bytes
    ciphertext: bytes


def pbes2_parameters(der: bytes) -> Pbes2Parameters | None:
    """The PBKDF2 and AES-CBC parameters of a DER EncryptedPrivateKeyInfo (RFC 5958 3);
    ``None`` for any other encryption scheme, or input that is not one."""
    from asn1crypto import keys as asn1_keys

    try:
        info = asn1_keys.EncryptedPrivateKeyInfo.load(der, strict=True)
        algorithm = info["encryption_algorithm"]
        if algorithm["algorithm"].native != "pbes2" or algorithm.kdf != "pbkdf2":
            return None
        if algorithm.encryption_cipher != "aes" or algorithm.encryption_mode != "cbc":
            return None
        return Pbes2Parameters(
            salt=bytes(algorithm.kdf_salt),
            iterations=int(algorithm.kdf_iterations),
            prf=str(algorithm.kdf_hmac),
            key_length=int(algorithm.key_length),
            iv=bytes(algorithm.encryption_iv),
            ciphertext=bytes(info["encrypted_data"].native),
        )
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError):
        return None


# --- keys (PKCS#8 encryption with a tunable KDF, which cryptography does not offer) ---


def encode_pbes2_private_key_info(
    *, salt: bytes, iterations: int, iv: bytes, ciphertext: bytes
) -> bytes:
    """DER EncryptedPrivateKeyInfo (RFC 5958 section 3) under PBES2 (RFC 8018 section 6.2).

    The key derivation is PBKDF2 with HMAC-SHA256 (RFC 8018 appendix B.1.2,
    NULL parameters) and the cipher AES-256-CBC with ``iv``; ``ciphertext`` is
    the padded PrivateKeyInfo already encrypted by the caller.
    """
    from asn1crypto import algos as asn1_algos
    from asn1crypto import core
    from asn1crypto import keys as asn1_keys

    kdf_params = {
        "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
        "iteration_count": iterations,
        "prf": {"algorithm": "sha256", "parameters": core.Null()},
    }
    algorithm = asn1_algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": {
                "key_derivation_func": {"algorithm": "pbkdf2", "parameters": kdf_params},
                "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
            },
        }
    )
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": algorithm, "encrypted_data": ciphertext}
    )
    return bytes(info.dump())
