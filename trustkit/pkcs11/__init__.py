"""CA keys in a hardware security module, reached through PKCS#11.

A key on a token is addressed by an RFC 7512 ``pkcs11:`` URI::

    pkcs11:token=national-root;object=root-2026;type=private

and used as an ordinary cryptography private key: :class:`PKCS11ECPrivateKey`
and :class:`PKCS11RSAPrivateKey` subclass cryptography's key ABCs, and their
``sign()`` goes to the token, so ``x509.CertificateBuilder.sign``,
``CertificateRevocationListBuilder.sign``, ``OCSPResponseBuilder.sign`` and
the CMS builders take them unchanged. The private key never leaves the
token: it is generated there as sensitive and non-extractable, and
``private_bytes()`` refuses.

The three-line happy path::

    key = generate_key_on_token("pkcs11:token=national-root;object=root-2026",
                                KeyType.EC_P384, pin=pin, module=module)
    certificate = builder.sign(key, hashes.SHA384())

Where things come from:

- the PKCS#11 module (shared library): the ``module`` argument (the CA
  configuration), else ``module-path=`` in the URI, else
  ``$TRUSTKIT_PKCS11_MODULE`` (:func:`resolve_module_path`);
- the user PIN: the ``pin`` argument (a prompt or ``--pin-file`` in the
  CLI), else ``$TRUSTKIT_PKCS11_PIN`` (:func:`resolve_pin`). A
  ``pin-value=`` in a URI is refused unless the caller allows it, because
  URIs end up in configuration files and logs.

Sessions: one :class:`PKCS11Token` per token per process holds the login
and a pool of sessions. A thread takes a session from the pool for one
operation and gives it back, so threads never share a session. A session
the token has lost (``CKR_SESSION_HANDLE_INVALID``, token removed, login
gone) is thrown away, the pool logs in again and the operation is retried
once. After ``os.fork`` the child re-initialises the module (PKCS#11 v2.40
section 5.1: a child must not use its parent's Cryptoki state) before its
first operation, so the service's worker processes can share keys loaded
before the fork.

ECDSA and RSA hashing happens in Python, and the token only runs the raw
mechanism (``CKM_ECDSA``, ``CKM_RSA_PKCS`` over a DigestInfo,
``CKM_RSA_PKCS_PSS`` over the digest): SoftHSM2 and many HSMs lack the
combined hash-and-sign mechanisms for some hashes, and ``Prehashed`` needs
the raw ones anyway.

python-pkcs11 (the ``hsm`` extra) is imported inside functions only, so
``import trustkit`` never needs it.

The package, by seam: ``_uri`` (RFC 7512 URIs), ``_config`` (where the
module and the PIN come from), ``_session`` (loaded modules, return codes in
plain words, pooled sessions), ``_token`` (the per-process token registry,
login, session pool, key lookup and generation), ``_keys`` (the key classes).
"""

from ._config import ENV_MODULE, ENV_PIN, resolve_module_path, resolve_pin
from ._keys import PKCS11ECPrivateKey, PKCS11PrivateKey, PKCS11RSAPrivateKey
from ._token import PKCS11Token, close_tokens, generate_key_on_token, load_token_key, open_token
from ._uri import PKCS11URI, ObjectType, is_pkcs11_uri, parse_pkcs11_uri

__all__ = [
    "ENV_MODULE",
    "ENV_PIN",
    "PKCS11URI",
    "ObjectType",
    "PKCS11ECPrivateKey",
    "PKCS11PrivateKey",
    "PKCS11RSAPrivateKey",
    "PKCS11Token",
    "close_tokens",
    "generate_key_on_token",
    "is_pkcs11_uri",
    "load_token_key",
    "open_token",
    "parse_pkcs11_uri",
    "resolve_module_path",
    "resolve_pin",
]
