"""Private keys on a token, as cryptography key objects whose ``sign()`` runs on the token."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self, TypeAlias

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from ..errors import HSMError
from ._session import _KeyRef, _pkcs11
from ._uri import PKCS11URI

if TYPE_CHECKING:
    from ._token import PKCS11Token


# RFC 8017 section 9.2, note 1: the DER of DigestInfo up to the digest, per
# hash, for EMSA-PKCS1-v1_5. CKM_RSA_PKCS pads and signs what it is given.
_DIGEST_INFO_PREFIXES = {
    "sha1": bytes.fromhex("3021300906052b0e03021a05000414"),
    "sha224": bytes.fromhex("302d300d06096086480165030402040500041c"),
    "sha256": bytes.fromhex("3031300d060960864801650304020105000420"),
    "sha384": bytes.fromhex("3041300d060960864801650304020205000430"),
    "sha512": bytes.fromhex("3051300d060960864801650304020305000440"),
    "sha512-224": bytes.fromhex("302d300d06096086480165030402050500041c"),
    "sha512-256": bytes.fromhex("3031300d060960864801650304020605000420"),
    "sha3-224": bytes.fromhex("302d300d06096086480165030402070500041c"),
    "sha3-256": bytes.fromhex("3031300d060960864801650304020805000420"),
    "sha3-384": bytes.fromhex("3041300d060960864801650304020905000430"),
    "sha3-512": bytes.fromhex("3051300d060960864801650304020a05000440"),
}

# cryptography hash name -> (CKM_ digest mechanism, CKG_MGF1_ function) names in python-pkcs11.
_PSS_HASHES = {
    "sha1": ("SHA_1", "SHA1"),
    "sha224": ("SHA224", "SHA224"),
    "sha256": ("SHA256", "SHA256"),
    "sha384": ("SHA384", "SHA384"),
    "sha512": ("SHA512", "SHA512"),
    "sha3-224": ("SHA3_224", "SHA3_224"),
    "sha3-256": ("SHA3_256", "SHA3_256"),
    "sha3-384": ("SHA3_384", "SHA3_384"),
    "sha3-512": ("SHA3_512", "SHA3_512"),
}


def _hash_and_digest(
    data: bytes, algorithm: asym_utils.Prehashed | hashes.HashAlgorithm
) -> tuple[hashes.HashAlgorithm, bytes]:
    """The hash algorithm and the digest of ``data`` (``data`` itself when prehashed)."""
    if isinstance(algorithm, asym_utils.Prehashed):
        # cryptography has no public accessor for the algorithm of Prehashed.
        inner: hashes.HashAlgorithm = algorithm._algorithm
        if len(data) != inner.digest_size:
            raise ValueError(
                f"prehashed data: {len(data)} bytes, but {inner.name} digests are "
                f"{inner.digest_size} bytes"
            )
        return inner, data
    if not isinstance(algorithm, hashes.HashAlgorithm):
        raise TypeError(f"algorithm: expected a hash or Prehashed, got {type(algorithm).__name__}")
    context = hashes.Hash(algorithm)
    context.update(data)
    return algorithm, context.finalize()


def _non_extractable(what: str) -> HSMError:
    return HSMError(f"{what}: the private key is on a token and cannot be extracted")


class _TokenKeyMixin:
    """What both token key classes share: where the key lives."""

    _token: PKCS11Token
    _ref: _KeyRef
    _uri: PKCS11URI

    @property
    def uri(self) -> PKCS11URI:
        """The key's URI: token label, object label, id and ``type=private``.

        ``str(key.uri)`` is what a CA configuration stores to find the key again.
        """
        return self._uri

    @property
    def token(self) -> PKCS11Token:
        """The token the key is on."""
        return self._token

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._uri}>"

    def private_bytes(
        self,
        encoding: serialization.Encoding,
        format: serialization.PrivateFormat,
        encryption_algorithm: serialization.KeySerializationEncryption,
    ) -> bytes:
        """Refused: the key is not extractable."""
        raise _non_extractable("private_bytes")

    # A handle to a key on a token: copies are the same key.
    def __copy__(self) -> Self:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Self:
        return self


class PKCS11ECPrivateKey(_TokenKeyMixin, ec.EllipticCurvePrivateKey):
    """An EC private key on a token; ``sign()`` runs ECDSA on the token.

    Get one from :func:`load_token_key` or :func:`generate_key_on_token`.
    """

    def __init__(
        self,
        token: PKCS11Token,
        ref: _KeyRef,
        uri: PKCS11URI,
        public_key: ec.EllipticCurvePublicKey,
    ) -> None:
        self._token = token
        self._ref = ref
        self._uri = uri
        self._public_key = public_key

    def sign(
        self,
        data: bytes | bytearray | memoryview,
        signature_algorithm: ec.EllipticCurveSignatureAlgorithm,
    ) -> bytes:
        """An ECDSA signature of ``data``, DER-encoded (``Ecdsa-Sig-Value``, RFC 3279)."""
        if not isinstance(signature_algorithm, ec.ECDSA):
            raise TypeError("signature_algorithm: only ec.ECDSA is supported")
        if signature_algorithm.deterministic_signing:
            raise HSMError(
                "signature_algorithm: deterministic ECDSA (RFC 6979) is not available on a token"
            )
        _, digest = _hash_and_digest(bytes(data), signature_algorithm.algorithm)
        order_bytes = (self.curve.key_size + 7) // 8
        if self.curve.key_size % 8 == 0:
            # SEC 1 section 4.1.3 step 5: only the leftmost bits of the hash count.
            digest = digest[:order_bytes]
        raw = self._token._sign(self._ref, digest, _pkcs11().Mechanism.ECDSA)
        # PKCS#11 v2.40 section 2.3.1: the signature is r || s, each as long as the order.
        if len(raw) != 2 * order_bytes:
            raise HSMError(
                f"token {self._token.label!r}: ECDSA signature of {len(raw)} bytes, "
                f"expected {2 * order_bytes}"
            )
        r = int.from_bytes(raw[:order_bytes], "big")
        s = int.from_bytes(raw[order_bytes:], "big")
        return asym_utils.encode_dss_signature(r, s)

    def public_key(self) -> ec.EllipticCurvePublicKey:
        """The public key, read from the token when the key was loaded."""
        return self._public_key

    @property
    def curve(self) -> ec.EllipticCurve:
        """The key's curve."""
        return self._public_key.curve

    @property
    def key_size(self) -> int:
        """Bit size of the curve order."""
        return self._public_key.curve.key_size

    def exchange(self, algorithm: ec.ECDH, peer_public_key: ec.EllipticCurvePublicKey) -> bytes:
        """Refused: a CA key on a token only signs."""
        raise HSMError("exchange: this token key may only sign (CKA_DERIVE is false)")

    def private_numbers(self) -> ec.EllipticCurvePrivateNumbers:
        """Refused: the key is not extractable."""
        raise _non_extractable("private_numbers")


class PKCS11RSAPrivateKey(_TokenKeyMixin, rsa.RSAPrivateKey):
    """An RSA private key on a token; ``sign()`` runs PKCS#1 v1.5 or PSS on the token.

    Get one from :func:`load_token_key` or :func:`generate_key_on_token`.
    """

    def __init__(
        self,
        token: PKCS11Token,
        ref: _KeyRef,
        uri: PKCS11URI,
        public_key: rsa.RSAPublicKey,
    ) -> None:
        self._token = token
        self._ref = ref
        self._uri = uri
        self._public_key = public_key

    def sign(
        self,
        data: bytes,
        padding: padding.AsymmetricPadding,
        algorithm: asym_utils.Prehashed | hashes.HashAlgorithm | asym_utils.NoDigestInfo,
    ) -> bytes:
        """An RSA signature of ``data`` with PKCS#1 v1.5 or PSS padding (RFC 8017 section 8)."""
        mechanism = _pkcs11().Mechanism
        data = bytes(data)
        if isinstance(padding, _PKCS1v15):
            if isinstance(algorithm, asym_utils.NoDigestInfo):
                return self._token._sign(self._ref, data, mechanism.RSA_PKCS)
            hash_algorithm, digest = _hash_and_digest(data, algorithm)
            prefix = _DIGEST_INFO_PREFIXES.get(hash_algorithm.name)
            if prefix is None:
                raise HSMError(f"algorithm: {hash_algorithm.name} has no PKCS#1 v1.5 DigestInfo")
            return self._token._sign(self._ref, prefix + digest, mechanism.RSA_PKCS)
        if isinstance(padding, _PSS):
            if isinstance(algorithm, asym_utils.NoDigestInfo):
                raise TypeError("algorithm: NoDigestInfo is only for PKCS1v15 padding")
            hash_algorithm, digest = _hash_and_digest(data, algorithm)
            return self._token._sign(
                self._ref,
                digest,
                mechanism.RSA_PKCS_PSS,
                self._pss_parameters(padding, hash_algorithm),
            )
        raise TypeError(f"padding: {padding.name} cannot sign; use PKCS1v15 or PSS")

    def _pss_parameters(
        self, pss: padding.PSS, hash_algorithm: hashes.HashAlgorithm
    ) -> tuple[Any, Any, int]:
        """CK_RSA_PKCS_PSS_PARAMS: hash, MGF1 hash and salt length (PKCS#11 v2.40 2.1.13)."""
        pkcs11 = _pkcs11()
        mgf = pss.mgf
        if not isinstance(mgf, padding.MGF1):
            raise TypeError("padding: PSS needs MGF1")
        # cryptography has no public accessor for MGF1's hash.
        mgf_hash: hashes.HashAlgorithm = mgf._algorithm
        names = _PSS_HASHES.get(hash_algorithm.name)
        mgf_names = _PSS_HASHES.get(mgf_hash.name)
        if names is None or mgf_names is None:
            raise HSMError(
                f"algorithm: RSA-PSS with {hash_algorithm.name} / MGF1 with {mgf_hash.name} "
                "is not available through PKCS#11"
            )
        salt = pss._salt_length
        if isinstance(salt, int):
            salt_length = salt
        elif salt is padding.PSS.MAX_LENGTH:
            salt_length = padding.calculate_max_pss_salt_length(self._public_key, hash_algorithm)
        elif salt is padding.PSS.DIGEST_LENGTH:
            salt_length = hash_algorithm.digest_size
        else:
            raise ValueError("padding: PSS salt length AUTO is only for verification")
        return (
            getattr(pkcs11.Mechanism, names[0]),
            getattr(pkcs11.MGF, mgf_names[1]),
            salt_length,
        )

    def public_key(self) -> rsa.RSAPublicKey:
        """The public key, read from the token (CKA_MODULUS, CKA_PUBLIC_EXPONENT)."""
        return self._public_key

    @property
    def key_size(self) -> int:
        """Bit length of the modulus."""
        return self._public_key.key_size

    def decrypt(self, ciphertext: bytes, padding: padding.AsymmetricPadding) -> bytes:
        """Refused: a CA key on a token only signs."""
        raise HSMError("decrypt: this token key may only sign (CKA_DECRYPT is false)")

    def private_numbers(self) -> rsa.RSAPrivateNumbers:
        """Refused: the key is not extractable."""
        raise _non_extractable("private_numbers")


# Inside RSAPrivateKey.sign the parameter ``padding`` (cryptography's name
# for it) hides the module, hence these aliases.
_PKCS1v15 = padding.PKCS1v15
_PSS = padding.PSS

PKCS11PrivateKey: TypeAlias = PKCS11ECPrivateKey | PKCS11RSAPrivateKey
"""A private key on a token, as :func:`load_token_key` returns it."""
