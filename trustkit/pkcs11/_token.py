"""Tokens: the login, the session pool, and finding, creating and loading keys."""

from __future__ import annotations

import contextlib
import hmac
import os
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from ..errors import HSMError, InputError
from ..keys import KeyType
from ._config import resolve_module_path, resolve_pin
from ._keys import PKCS11ECPrivateKey, PKCS11PrivateKey, PKCS11RSAPrivateKey
from ._session import (
    _describe,
    _digest,
    _KeyRef,
    _lost_errors,
    _Module,
    _pkcs11,
    _PooledSession,
    _token_serial,
)
from ._uri import _PATH_SAFE, PKCS11URI, ObjectType, _coerce_uri

if TYPE_CHECKING:
    import pkcs11 as _p11


_T = TypeVar("_T")

_MODULES: dict[str, _Module] = {}
_TOKENS: dict[tuple[str, str], PKCS11Token] = {}
_REGISTRY_LOCK = threading.Lock()
_POOLS: weakref.WeakSet[PKCS11Token] = weakref.WeakSet()
_FORK_HOOK_REGISTERED = False


def _after_fork_in_child() -> None:
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    for module in _MODULES.values():
        module.after_fork()
    for pool in list(_POOLS):
        pool._after_fork()


def _get_module(path: str) -> _Module:
    global _FORK_HOOK_REGISTERED
    key = os.path.realpath(path)
    with _REGISTRY_LOCK:
        module = _MODULES.get(key)
        if module is None:
            module = _MODULES[key] = _Module(path)
        if not _FORK_HOOK_REGISTERED:
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _FORK_HOOK_REGISTERED = True
    module.ensure_current_process()
    return module


class PKCS11Token:
    """A token logged in as the user, with a pool of sessions shared by threads.

    Get one with :func:`open_token`; there is one per token per process,
    because a PKCS#11 login belongs to the whole process. :meth:`run` lends
    a session to one operation, retrying once on a fresh session if the
    token lost the first.
    """

    def __init__(self, module: _Module, token: Any, pin: str) -> None:
        self._module = module
        self._token = token
        self._pin = pin
        self._pin_digest = _digest(pin)
        self.label: str = token.label
        """The token label."""
        self.serial: str = _token_serial(token)
        """The token serial number."""
        self.module_path: str = module.path
        """The PKCS#11 module the token is reached through."""
        self._lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._idle: list[_PooledSession] = []
        self._login_session: Any = None
        self._generation = 0
        self._epoch = module.epoch
        self._closed = False
        with self._lock:
            self._login()

    def __repr__(self) -> str:
        return f"<PKCS11Token {self.label!r} serial={self.serial!r} module={self.module_path!r}>"

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._generate_lock = threading.Lock()

    # The login session is kept apart from the pool and never lent out:
    # python-pkcs11 logs the whole process out when a logged-in session is
    # closed, so the pool's own sessions are opened without a PIN.
    def _login(self) -> None:
        pkcs11 = _pkcs11()
        try:
            self._login_session = self._token.open(rw=True, user_pin=self._pin)
        except pkcs11.exceptions.UserAlreadyLoggedIn:
            # Logged in already by this process (another handle on the same token).
            self._login_session = None
        except pkcs11.PKCS11Error as exc:
            raise HSMError(f"token {self.label!r}: cannot log in: {_describe(exc)}") from exc

    def _check_pin(self, pin: str) -> None:
        if not hmac.compare_digest(_digest(pin), self._pin_digest):
            raise HSMError(
                f"token {self.label!r}: wrong PIN (it differs from the PIN this process "
                "logged in with)"
            )

    def _refresh_after_reinitialize(self) -> None:
        """Called under ``_lock`` when the module was re-initialised: every handle is void."""
        self._idle.clear()
        self._login_session = None
        self._generation += 1
        self._epoch = self._module.epoch
        pkcs11 = _pkcs11()
        try:
            tokens = [t for t in self._module.lib.get_tokens() if _token_serial(t) == self.serial]
        except pkcs11.PKCS11Error as exc:
            raise HSMError(f"token {self.label!r}: cannot list tokens: {_describe(exc)}") from exc
        if len(tokens) != 1:
            raise HSMError(f"token {self.label!r}: no longer present in {self.module_path!r}")
        self._token = tokens[0]
        self._login()

    def _checkout(self) -> _PooledSession:
        pkcs11 = _pkcs11()
        with self._lock:
            if self._closed:
                raise HSMError(f"token {self.label!r}: closed")
            if self._epoch != self._module.epoch:
                self._refresh_after_reinitialize()
            while self._idle:
                pooled = self._idle.pop()
                if pooled.pid == os.getpid():
                    return pooled
            if self._login_session is None:
                self._login()
            try:
                session = self._token.open(rw=True)
            except pkcs11.PKCS11Error as exc:
                raise HSMError(
                    f"token {self.label!r}: cannot open a session: {_describe(exc)}"
                ) from exc
            return _PooledSession(session, self._generation, os.getpid())

    def _checkin(self, pooled: _PooledSession) -> None:
        with self._lock:
            if (
                not self._closed
                and pooled.generation == self._generation
                and pooled.pid == os.getpid()
            ):
                self._idle.append(pooled)
                return
        if pooled.pid == os.getpid():
            _close_quietly(pooled.session)

    def _reset(self, generation: int) -> None:
        """Throw away every session of ``generation`` and log in again."""
        with self._lock:
            if generation != self._generation:
                return  # another thread reset the pool already
            self._generation += 1
            stale, self._idle = self._idle, []
            for pooled in stale:
                _close_quietly(pooled.session)
            if self._login_session is not None:
                _close_quietly(self._login_session)
                self._login_session = None

    def _call(self, operation: Callable[[_PooledSession], _T]) -> _T:
        pkcs11 = _pkcs11()
        lost = _lost_errors()
        self._module.ensure_current_process()
        with self._module.calls:
            for attempt in (1, 2):
                pooled = self._checkout()
                try:
                    result = operation(pooled)
                except lost as exc:
                    self._reset(pooled.generation)
                    _close_quietly(pooled.session)
                    if attempt == 2:
                        raise HSMError(
                            f"token {self.label!r}: session lost and not regained: {_describe(exc)}"
                        ) from exc
                    continue
                except pkcs11.PKCS11Error as exc:
                    self._checkin(pooled)
                    raise HSMError(f"token {self.label!r}: {_describe(exc)}") from exc
                except BaseException:
                    self._checkin(pooled)
                    raise
                self._checkin(pooled)
                return result
        raise AssertionError("unreachable")  # pragma: no cover

    def run(self, operation: Callable[[_p11.Session], _T]) -> _T:
        """Run ``operation`` with a pooled read-write session of this token, logged in.

        The session is the caller's alone until ``operation`` returns. If
        the token lost the session, the operation runs once more on a new
        one, so it should be safe to repeat. PKCS#11 errors become
        :class:`~trustkit.errors.HSMError`.
        """
        return self._call(lambda pooled: operation(pooled.session))

    def close(self) -> None:
        """Close every session and log out; keys of this token stop working."""
        with self._module.calls, self._lock:
            self._closed = True
            stale, self._idle = self._idle, []
            login, self._login_session = self._login_session, None
            # Handles of an older epoch or of the parent process are void, and
            # their numbers may belong to someone else's sessions by now.
            if self._epoch == self._module.epoch and self._module.pid == os.getpid():
                for pooled in stale:
                    if pooled.pid == os.getpid():
                        _close_quietly(pooled.session)
                if login is not None:
                    _close_quietly(login)
        with _REGISTRY_LOCK:
            for key, value in list(_TOKENS.items()):
                if value is self:
                    del _TOKENS[key]

    # --- keys -------------------------------------------------------------

    def _find_private_key(self, pooled: _PooledSession, ref: _KeyRef) -> Any:
        key = pooled.objects.get(ref)
        if key is None:
            key = _find_one(pooled.session, ref, "PRIVATE_KEY", self.label)
            pooled.objects[ref] = key
        return key

    def _sign(self, ref: _KeyRef, data: bytes, mechanism: Any, param: Any = None) -> bytes:
        def operation(pooled: _PooledSession) -> bytes:
            key = self._find_private_key(pooled, ref)
            return bytes(key.sign(data, mechanism=mechanism, mechanism_param=param))

        return self._call(operation)

    def _load_key(self, uri: PKCS11URI) -> PKCS11PrivateKey:
        _check_key_uri(uri)
        query = _KeyRef(uri.object, uri.id)

        def operation(pooled: _PooledSession) -> tuple[_KeyRef, str, Any]:
            key = _find_one(pooled.session, query, "PRIVATE_KEY", self.label)
            pkcs11 = _pkcs11()
            attrs = key.get_attributes([pkcs11.Attribute.LABEL, pkcs11.Attribute.ID])
            label = attrs.get(pkcs11.Attribute.LABEL)
            key_id = attrs.get(pkcs11.Attribute.ID)
            ref = _KeyRef(label if label else None, bytes(key_id) if key_id else None)
            pooled.objects[ref] = key
            key_type = key.key_type
            if key_type == pkcs11.KeyType.RSA:
                return ref, "rsa", _rsa_public_key(key)
            if key_type == pkcs11.KeyType.EC:
                return ref, "ec", _ec_public_key(pooled.session, ref, self.label)
            raise HSMError(
                f"{uri.key_label()}: a {key_type.name} key on token {self.label!r}; "
                "only EC and RSA keys can sign here"
            )

        ref, kind, public = self._call(operation)
        # No serial: a token restored from backup onto another device keeps
        # its label, and the URI in trustkit.toml should still find the key.
        key_uri = PKCS11URI(
            token=self.label,
            object=ref.label,
            id=ref.id,
            type=ObjectType.PRIVATE,
        )
        if kind == "rsa":
            return PKCS11RSAPrivateKey(self, ref, key_uri, public)
        return PKCS11ECPrivateKey(self, ref, key_uri, public)

    def _generate(self, uri: PKCS11URI, key_type: KeyType) -> PKCS11PrivateKey:
        label = _check_new_key(uri, key_type)
        pkcs11 = _pkcs11()
        attribute = pkcs11.Attribute
        flags = pkcs11.MechanismFlag.SIGN | pkcs11.MechanismFlag.VERIFY
        # The private half may sign and nothing else, and never leaves the token
        # (PKCS#11 v2.40 section 4.9: CKA_SENSITIVE true, CKA_EXTRACTABLE false).
        private_template = {
            attribute.TOKEN: True,
            attribute.PRIVATE: True,
            attribute.SENSITIVE: True,
            attribute.EXTRACTABLE: False,
            attribute.SIGN: True,
            attribute.DECRYPT: False,
            attribute.UNWRAP: False,
            attribute.DERIVE: False,
        }
        public_template: dict[Any, Any] = {attribute.TOKEN: True, attribute.VERIFY: True}
        bits = key_type.rsa_bits
        if bits is None:
            curve = {KeyType.EC_P256: "secp256r1", KeyType.EC_P384: "secp384r1"}[key_type]
            public_template[attribute.EC_PARAMS] = pkcs11.util.ec.encode_named_curve_parameters(
                curve
            )

        def operation(pooled: _PooledSession) -> None:
            session = pooled.session
            _refuse_existing(session, label, uri.id, self.label)
            public, private = session.generate_keypair(
                pkcs11.KeyType.RSA if bits is not None else pkcs11.KeyType.EC,
                bits,
                label=label,
                id=uri.id,
                store=True,
                capabilities=flags,
                public_template=public_template,
                private_template=private_template,
            )
            if uri.id is None:
                # No id asked for: use the key identifier of RFC 5280 section
                # 4.2.1.2 (SHA-1 of the public key), which the certificate's
                # subjectKeyIdentifier will repeat.
                if bits is not None:
                    public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey = _rsa_public_key(
                        private
                    )
                else:
                    public_key = _load_public_der(
                        pkcs11.util.ec.encode_ec_public_key(public), self.label
                    )
                key_id = x509.SubjectKeyIdentifier.from_public_key(public_key).digest
                private[attribute.ID] = key_id
                public[attribute.ID] = key_id

        with self._generate_lock:
            self._call(operation)
        return self._load_key(PKCS11URI(token=self.label, object=label, id=uri.id))


def _check_key_uri(uri: PKCS11URI) -> None:
    if uri.type is not None and uri.type is not ObjectType.PRIVATE:
        raise InputError(f"type: a signing key URI needs type=private, not {uri.type.value}")
    if uri.object is None and uri.id is None:
        raise InputError("object: a key URI needs object= (the label) or id=")


def _check_new_key(uri: PKCS11URI, key_type: KeyType) -> str:
    """The label for a new key, once the URI and key type are known to fit a token key."""
    _check_key_uri(uri)
    if uri.object is None:
        raise InputError("object: a new key needs a label (object=) in its URI")
    if key_type is KeyType.ED25519:
        raise HSMError(
            "key type ed25519: not supported on a token here; use ec-p256, ec-p384 "
            "or rsa-2048/3072/4096"
        )
    return uri.object


def _close_quietly(session: Any) -> None:
    with contextlib.suppress(_pkcs11().PKCS11Error):
        session.close()


def _search(session: Any, ref: _KeyRef, object_class: str | None) -> list[Any]:
    pkcs11 = _pkcs11()
    attrs: dict[Any, Any] = {}
    if object_class is not None:
        attrs[pkcs11.Attribute.CLASS] = getattr(pkcs11.ObjectClass, object_class)
    if ref.label is not None:
        attrs[pkcs11.Attribute.LABEL] = ref.label
    if ref.id is not None:
        attrs[pkcs11.Attribute.ID] = ref.id
    return list(session.get_objects(attrs))


def _find_one(session: Any, ref: _KeyRef, object_class: str, token_label: str) -> Any:
    found = _search(session, ref, object_class)
    shown = PKCS11URI(object=ref.label, id=ref.id).key_label()
    if not found:
        raise HSMError(f"{shown}: no private key with this label and id on token {token_label!r}")
    if len(found) > 1:
        raise HSMError(
            f"{shown}: {len(found)} private keys match on token {token_label!r}; "
            "add id= to the URI to choose one"
        )
    return found[0]


def _refuse_existing(session: Any, label: str, key_id: bytes | None, token_label: str) -> None:
    if _search(session, _KeyRef(label, None), None):
        raise HSMError(
            f"object={quote(label, safe=_PATH_SAFE)}: an object with this label exists on "
            f"token {token_label!r} already; refusing to overwrite it"
        )
    if key_id is not None and _search(session, _KeyRef(None, key_id), None):
        shown = PKCS11URI(id=key_id).key_label()
        raise HSMError(
            f"{shown}: an object with this id exists on token {token_label!r} already; "
            "refusing to overwrite it"
        )


def _load_public_der(der: bytes, token_label: str) -> ec.EllipticCurvePublicKey:
    try:
        public = serialization.load_der_public_key(der)
    except ValueError as exc:
        raise HSMError(f"token {token_label!r}: unreadable EC public key: {exc}") from exc
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise HSMError(f"token {token_label!r}: public key object is not an EC key")
    return public


def _rsa_public_key(key: Any) -> rsa.RSAPublicKey:
    """The RSA public key from the private key object's public attributes."""
    attribute = _pkcs11().Attribute
    attrs = key.get_attributes([attribute.MODULUS, attribute.PUBLIC_EXPONENT])
    modulus = int.from_bytes(attrs[attribute.MODULUS], "big")
    exponent = int.from_bytes(attrs[attribute.PUBLIC_EXPONENT], "big")
    return rsa.RSAPublicNumbers(exponent, modulus).public_key()


def _ec_public_key(session: Any, ref: _KeyRef, token_label: str) -> ec.EllipticCurvePublicKey:
    """The EC public key: from the public key object, else a certificate object.

    An EC private key object carries the curve but not the point
    (PKCS#11 v2.40 section 2.3.4), so the point comes from its twin.
    """
    pkcs11 = _pkcs11()
    twin = _KeyRef(None, ref.id) if ref.id is not None else ref
    publics = _search(session, twin, "PUBLIC_KEY")
    if len(publics) == 1:
        try:
            der = pkcs11.util.ec.encode_ec_public_key(publics[0])
        except (ValueError, TypeError, KeyError) as exc:
            raise HSMError(f"token {token_label!r}: unreadable EC public key: {exc}") from exc
        return _load_public_der(der, token_label)
    certificates = _search(session, twin, "CERTIFICATE")
    if len(certificates) == 1:
        try:
            certificate = x509.load_der_x509_certificate(certificates[0][pkcs11.Attribute.VALUE])
            public = certificate.public_key()
        except ValueError as exc:
            raise HSMError(f"token {token_label!r}: unreadable certificate: {exc}") from exc
        if isinstance(public, ec.EllipticCurvePublicKey):
            return public
    shown = PKCS11URI(object=ref.label, id=ref.id).key_label()
    raise HSMError(
        f"{shown}: no public key or certificate object beside the private key on "
        f"token {token_label!r}, so its public key is unknown"
    )


def open_token(
    uri: PKCS11URI | str,
    *,
    pin: str | None = None,
    module: str | os.PathLike[str] | None = None,
) -> PKCS11Token:
    """The logged-in token the URI names, shared by every caller in this process.

    The module comes from :func:`resolve_module_path`, the PIN from
    :func:`resolve_pin`. A token created after the module was loaded is
    found by re-initialising the module once.

    :raises HSMError: no module, no such token, several tokens match, wrong PIN.
    """
    parsed = _coerce_uri(uri)
    path = resolve_module_path(module, uri=parsed)
    secret = resolve_pin(pin, uri=parsed)
    loaded = _get_module(path)
    seen_epoch = loaded.epoch
    try:
        with loaded.calls:
            token = loaded.find_token(parsed)
    except HSMError:
        loaded.rescan(seen_epoch)
        with loaded.calls:
            token = loaded.find_token(parsed)
    key = (os.path.realpath(path), _token_serial(token))
    with _REGISTRY_LOCK:
        existing = _TOKENS.get(key)
    if existing is not None and not existing._closed:
        existing._check_pin(secret)
        return existing
    with loaded.calls:
        opened = PKCS11Token(loaded, token, secret)
    with _REGISTRY_LOCK:
        existing = _TOKENS.get(key)
        if existing is not None and not existing._closed:
            opened.close()
            existing._check_pin(secret)
            return existing
        _TOKENS[key] = opened
        _POOLS.add(opened)
    return opened


def close_tokens() -> None:
    """Log out of and close every token this process opened (for shutdown and tests)."""
    with _REGISTRY_LOCK:
        tokens = list(_TOKENS.values())
    for token in tokens:
        token.close()


def load_token_key(
    uri: PKCS11URI | str,
    *,
    pin: str | None = None,
    module: str | os.PathLike[str] | None = None,
) -> PKCS11PrivateKey:
    """The existing private key the URI names (``object=`` and/or ``id=``), ready to sign.

    :raises InputError: the URI names no object, or a type other than ``private``.
    :raises HSMError: no module, token or key; several keys match; wrong PIN.
    """
    parsed = _coerce_uri(uri)
    _check_key_uri(parsed)
    return open_token(parsed, pin=pin, module=module)._load_key(parsed)


def generate_key_on_token(
    uri: PKCS11URI | str,
    key_type: KeyType | str,
    *,
    pin: str | None = None,
    module: str | os.PathLike[str] | None = None,
) -> PKCS11PrivateKey:
    """Generate a key pair on the token and return its private key, ready to sign.

    The URI names the token and the new key's label (``object=``) and
    optionally its ``id=``; without an id the key gets its RFC 5280 key
    identifier (SHA-1 of the public key) as ``CKA_ID``. The private key is
    stored on the token (``CKA_TOKEN``), private, sensitive, not
    extractable, and may only sign. An object with the same label or id is
    never overwritten.

    :raises InputError: the URI names no label, or an unknown key type.
    :raises HSMError: an object with that label or id exists; Ed25519; token errors.
    """
    parsed = _coerce_uri(uri)
    if isinstance(key_type, str):
        key_type = KeyType.parse(key_type)
    _check_new_key(parsed, key_type)
    token = open_token(parsed, pin=pin, module=module)
    return token._generate(parsed, key_type)
