"""Key structures cryptography does not build or does not show."""

from __future__ import annotations

from asn1crypto import core

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
