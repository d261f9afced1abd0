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
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import hmac
import os
import string
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeAlias, TypeVar
from urllib.parse import quote, unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric import utils as asym_utils

from .errors import HSMError, InputError
from .keys import KeyType

if TYPE_CHECKING:
    import pkcs11 as _p11

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

ENV_MODULE = "TRUSTKIT_PKCS11_MODULE"
"""Environment variable naming the PKCS#11 module when neither argument nor URI does."""

ENV_PIN = "TRUSTKIT_PKCS11_PIN"
"""Environment variable holding the user PIN when no argument gives it."""

_T = TypeVar("_T")

# ---------------------------------------------------------------------------
# RFC 7512 URIs
# ---------------------------------------------------------------------------

_SCHEME = "pkcs11:"
_RFC = "RFC 7512 section 2.3"
# pk11-pchar / pk11-qchar (RFC 7512 section 2.3): unreserved, a few reserved
# characters, and percent-encoded octets. Everything else must be encoded.
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_P_RES_AVAIL = ":[]@!$'()*+,="
_PATH_SAFE = _P_RES_AVAIL + "&"
_QUERY_SAFE = _P_RES_AVAIL + "/?|"
_PATH_CHARS = _UNRESERVED | frozenset(_PATH_SAFE)
_QUERY_CHARS = _UNRESERVED | frozenset(_QUERY_SAFE)
_HEX = frozenset(string.hexdigits)
_VENDOR_NAME_CHARS = frozenset(string.ascii_letters + string.digits + "-_")

# URI attribute name -> dataclass field, in the order RFC 7512 lists them.
_PATH_ATTRIBUTES = {
    "token": "token",
    "manufacturer": "manufacturer",
    "serial": "serial",
    "model": "model",
    "library-manufacturer": "library_manufacturer",
    "library-description": "library_description",
    "library-version": "library_version",
    "object": "object",
    "type": "type",
    "id": "id",
    "slot-description": "slot_description",
    "slot-manufacturer": "slot_manufacturer",
    "slot-id": "slot_id",
}
_QUERY_ATTRIBUTES = {
    "pin-source": "pin_source",
    "pin-value": "pin_value",
    "module-name": "module_name",
    "module-path": "module_path",
}
_MAX_SLOT_ID = 2**64 - 1  # CK_SLOT_ID is a CK_ULONG


class ObjectType(enum.Enum):
    """The ``type=`` of an RFC 7512 URI: which class of PKCS#11 object is meant."""

    PUBLIC = "public"
    PRIVATE = "private"
    CERT = "cert"
    SECRET_KEY = "secret-key"
    DATA = "data"


@dataclass(frozen=True)
class PKCS11URI:
    """An RFC 7512 ``pkcs11:`` URI, parsed; ``None`` is an attribute the URI leaves out.

    Build one with :func:`parse_pkcs11_uri`; ``str()`` gives the URI back in
    canonical form (attributes in RFC order, ``id`` percent-encoded), but
    never with the ``pin-value``, so a URI can be logged or saved safely.
    """

    token: str | None = None
    """``token=``: the token label (``CK_TOKEN_INFO.label``)."""
    manufacturer: str | None = None
    """``manufacturer=``: the token manufacturer."""
    serial: str | None = None
    """``serial=``: the token serial number."""
    model: str | None = None
    """``model=``: the token model."""
    library_manufacturer: str | None = None
    """``library-manufacturer=``: the module's manufacturer (``CK_INFO``)."""
    library_description: str | None = None
    """``library-description=``: the module's description."""
    library_version: str | None = None
    """``library-version=``: ``major`` or ``major.minor`` of the module."""
    object: str | None = None
    """``object=``: the object label (``CKA_LABEL``)."""
    type: ObjectType | None = None
    """``type=``: the object class."""
    id: bytes | None = None
    """``id=``: the object identifier (``CKA_ID``), raw bytes."""
    slot_description: str | None = None
    """``slot-description=``: the slot description."""
    slot_manufacturer: str | None = None
    """``slot-manufacturer=``: the slot manufacturer."""
    slot_id: int | None = None
    """``slot-id=``: the slot number."""
    module_name: str | None = None
    """``?module-name=``: the module's name without path or suffix (informative here)."""
    module_path: str | None = None
    """``?module-path=``: absolute path of the PKCS#11 module."""
    pin_source: str | None = None
    """``?pin-source=``: where the application may find the PIN (informative here)."""
    pin_value: str | None = field(default=None, repr=False)
    """``?pin-value=``: the PIN itself; only set when the parser was allowed to accept it."""
    vendor_path: tuple[tuple[str, str], ...] = ()
    """Vendor path attributes (``x-...``), name and value as written (still percent-encoded)."""
    vendor_query: tuple[tuple[str, str], ...] = ()
    """Vendor query attributes (``x-...``), name and value as written."""

    def __str__(self) -> str:
        path: list[str] = []
        for name, attr in _PATH_ATTRIBUTES.items():
            value = getattr(self, attr)
            if value is None:
                continue
            if isinstance(value, bytes):
                # RFC 7512 section 2.3: "id" should be fully percent-encoded.
                text = "".join(f"%{octet:02X}" for octet in value)
            elif isinstance(value, ObjectType):
                text = value.value
            else:
                text = quote(str(value), safe=_PATH_SAFE)
            path.append(f"{name}={text}")
        path.extend(f"{name}={value}" for name, value in self.vendor_path)
        query: list[str] = []
        for name, attr in _QUERY_ATTRIBUTES.items():
            value = getattr(self, attr)
            if value is None or attr == "pin_value":
                continue
            query.append(f"{name}={quote(value, safe=_QUERY_SAFE)}")
        query.extend(f"{name}={value}" for name, value in self.vendor_query)
        return _SCHEME + ";".join(path) + ("?" + "&".join(query) if query else "")

    def key_label(self) -> str:
        """A short description of the object for messages: ``object=root-2026;id=%01``."""
        parts = []
        if self.object is not None:
            parts.append(f"object={quote(self.object, safe=_PATH_SAFE)}")
        if self.id is not None:
            parts.append("id=" + "".join(f"%{octet:02X}" for octet in self.id))
        return ";".join(parts) or "(any object)"


def is_pkcs11_uri(text: str) -> bool:
    """Whether ``text`` is meant as a PKCS#11 URI (starts with ``pkcs11:``, any case)."""
    return text[: len(_SCHEME)].lower() == _SCHEME


def parse_pkcs11_uri(text: str, *, allow_pin_value: bool = False) -> PKCS11URI:
    """Parse an RFC 7512 ``pkcs11:`` URI.

    Unknown standard attributes, an attribute given twice, characters that
    should have been percent-encoded, a malformed percent escape, text
    attributes that are not UTF-8 and a relative ``module-path`` are all
    :class:`~trustkit.errors.InputError`, naming the attribute.
    ``pin-value`` is refused unless ``allow_pin_value`` is true: a PIN comes
    from a prompt, a PIN file or ``$TRUSTKIT_PKCS11_PIN``.
    """
    if not isinstance(text, str):
        raise TypeError(f"pkcs11 URI: expected str, got {type(text).__name__}")
    if not is_pkcs11_uri(text):
        raise InputError(f"pkcs11 URI {text[:40]!r}: must start with 'pkcs11:' ({_RFC})")
    rest = text[len(_SCHEME) :]
    path, has_query, query = rest.partition("?")
    values: dict[str, object] = {}
    vendor_path: list[tuple[str, str]] = []
    vendor_query: list[tuple[str, str]] = []
    for component in path.split(";") if path else ():
        name, raw = _split_attribute(component, "path")
        if name.startswith("x-"):
            _check_vendor(name, raw, _PATH_CHARS)
            vendor_path.append((name, raw))
            continue
        attr = _PATH_ATTRIBUTES.get(name)
        if attr is None:
            where = " (it belongs in the query, after '?')" if name in _QUERY_ATTRIBUTES else ""
            raise InputError(f"{name}: not a PKCS#11 URI path attribute{where} ({_RFC})")
        _store(values, name, attr, _path_value(name, _decode(name, raw, _PATH_CHARS)))
    for component in query.split("&") if has_query and query else ():
        name, raw = _split_attribute(component, "query")
        if name.startswith("x-"):
            _check_vendor(name, raw, _QUERY_CHARS)
            vendor_query.append((name, raw))
            continue
        attr = _QUERY_ATTRIBUTES.get(name)
        if attr is None:
            where = " (it belongs in the path, before '?')" if name in _PATH_ATTRIBUTES else ""
            raise InputError(f"{name}: not a PKCS#11 URI query attribute{where} ({_RFC})")
        value = _text(name, _decode(name, raw, _QUERY_CHARS))
        if name == "pin-value" and not allow_pin_value:
            raise InputError(
                "pin-value: a PIN inside the URI is refused; give it at the prompt, "
                f"with --pin-file or in ${ENV_PIN}"
            )
        if name == "module-path" and (not os.path.isabs(value) or "\x00" in value):
            raise InputError(f"module-path: {value!r} must be an absolute path ({_RFC})")
        _store(values, name, attr, value)
    return PKCS11URI(
        **values,  # type: ignore[arg-type]  # keys are the field names of _*_ATTRIBUTES
        vendor_path=tuple(vendor_path),
        vendor_query=tuple(vendor_query),
    )


def _split_attribute(component: str, where: str) -> tuple[str, str]:
    name, equals, raw = component.partition("=")
    if not equals or not name:
        shown = component[:40]
        raise InputError(f"pkcs11 URI {where}: {shown!r} is not an attribute=value pair ({_RFC})")
    return name, raw


def _check_vendor(name: str, raw: str, allowed: frozenset[str]) -> None:
    if len(name) < 3 or not set(name[2:]) <= _VENDOR_NAME_CHARS:
        raise InputError(f"{name[:40]}: not a valid vendor attribute name ({_RFC})")
    _decode(name, raw, allowed)


def _store(values: dict[str, object], name: str, attr: str, value: object) -> None:
    if attr in values:
        raise InputError(f"{name}: given more than once ({_RFC})")
    values[attr] = value


def _decode(name: str, raw: str, allowed: frozenset[str]) -> bytes:
    """The octets of a percent-encoded attribute value, checked character by character."""
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "%":
            escape = raw[index + 1 : index + 3]
            if len(escape) != 2 or not set(escape) <= _HEX:
                raise InputError(f"{name}: '%' must be followed by two hex digits ({_RFC})")
            index += 3
            continue
        if char not in allowed:
            raise InputError(f"{name}: character {char!r} must be percent-encoded ({_RFC})")
        index += 1
    return unquote_to_bytes(raw)


def _text(name: str, octets: bytes) -> str:
    try:
        return octets.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: value is not UTF-8 ({_RFC})") from exc


def _path_value(name: str, octets: bytes) -> object:
    if name == "id":
        return octets
    text = _text(name, octets)
    if name == "type":
        try:
            return ObjectType(text)
        except ValueError:
            allowed = ", ".join(member.value for member in ObjectType)
            raise InputError(f"type: {text!r} is not one of {allowed} ({_RFC})") from None
    if name == "slot-id":
        if not text or not text.isascii() or not text.isdigit() or int(text) > _MAX_SLOT_ID:
            raise InputError(f"slot-id: {text!r} is not a decimal slot number ({_RFC})")
        return int(text)
    if name == "library-version":
        major, dot, minor = text.partition(".")
        if not _is_digits(major) or (dot and not _is_digits(minor)):
            raise InputError(f"library-version: {text!r} is not 'major[.minor]' ({_RFC})")
    return text


def _is_digits(text: str) -> bool:
    return bool(text) and text.isascii() and text.isdigit()


def _coerce_uri(uri: PKCS11URI | str) -> PKCS11URI:
    return uri if isinstance(uri, PKCS11URI) else parse_pkcs11_uri(uri)


# ---------------------------------------------------------------------------
# Module path and PIN
# ---------------------------------------------------------------------------


def resolve_module_path(
    module: str | os.PathLike[str] | None = None,
    *,
    uri: PKCS11URI | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The PKCS#11 module to load: ``module``, else the URI's ``module-path``, else the env.

    :raises HSMError: none is given, or the file does not exist.
    """
    env = os.environ if environ is None else environ
    chosen: str | os.PathLike[str] | None = module
    if chosen is None and uri is not None:
        chosen = uri.module_path
    if chosen is None:
        chosen = env.get(ENV_MODULE) or None
    if chosen is None:
        raise HSMError(
            "module-path: no PKCS#11 module given; set it in the CA configuration, "
            f"as module-path= in the URI, or in ${ENV_MODULE}"
        )
    path = os.fspath(chosen)
    if not Path(path).is_file():
        raise HSMError(f"module-path: PKCS#11 module {path!r} does not exist")
    return path


def resolve_pin(
    pin: str | None = None,
    *,
    pin_file: str | os.PathLike[str] | None = None,
    uri: PKCS11URI | None = None,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str:
    """The user PIN: ``pin``, else ``pin_file``, else the URI's ``pin-value``, else the env.

    ``pin_file`` holds the PIN on its first line. When all of these are
    missing, ``prompt`` (the CLI passes a hidden-input prompt) is asked.

    :raises HSMError: no PIN anywhere, or the PIN file cannot be read.
    """
    if pin is not None:
        return pin
    if pin_file is not None:
        try:
            lines = Path(pin_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise HSMError(f"pin-file: cannot read {os.fspath(pin_file)!r}: {exc}") from exc
        if not lines or not lines[0]:
            raise HSMError(f"pin-file: {os.fspath(pin_file)!r} is empty")
        return lines[0]
    if uri is not None and uri.pin_value is not None:
        return uri.pin_value
    env = os.environ if environ is None else environ
    from_env = env.get(ENV_PIN)
    if from_env:
        return from_env
    if prompt is not None:
        where = f" for token {uri.token!r}" if uri is not None and uri.token else ""
        return prompt(f"PKCS#11 user PIN{where}")
    raise HSMError(f"pin: no PIN given; use the prompt, --pin-file or ${ENV_PIN}")


# ---------------------------------------------------------------------------
# Modules, tokens, session pools
# ---------------------------------------------------------------------------

# What a PKCS#11 return code means for the person reading the message.
_REASONS = {
    "PinIncorrect": "wrong PIN",
    "PinInvalid": "PIN has characters the token refuses",
    "PinLenRange": "PIN length is out of the token's range",
    "PinExpired": "PIN has expired and must be changed",
    "PinLocked": "PIN is locked after too many wrong tries; the security officer must unblock it",
    "UserPinNotInitialized": "the user PIN was never initialised",
    "TokenNotPresent": "token is not present",
    "TokenNotRecognised": "token is not recognised",
    "DeviceRemoved": "token was removed",
    "DeviceError": "device error",
    "DeviceMemory": "token memory is full",
    "MechanismInvalid": "mechanism not supported by this token",
    "MechanismParamInvalid": "mechanism parameters refused by this token",
    "KeySizeRange": "key size not supported by this token",
    "KeyFunctionNotPermitted": "key may not be used for this",
    "TokenWriteProtected": "token is write-protected",
    "SessionCount": "token has no more sessions available",
    "TemplateInconsistent": "the token refused the key attributes",
    "DataLenRange": "input has the wrong length for this mechanism",
}

# Return codes after which a session (or the login) is gone but a new one may work.
_LOST_SESSION_ERRORS = (
    "SessionHandleInvalid",
    "SessionClosed",
    "DeviceRemoved",
    "TokenNotPresent",
    "ObjectHandleInvalid",
    "KeyHandleInvalid",
    "UserNotLoggedIn",
)


def _pkcs11() -> Any:
    """python-pkcs11, imported on first use so ``import trustkit`` never needs it."""
    try:
        import pkcs11
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise HSMError(
            "python-pkcs11 is not installed; install trustkit with the 'hsm' extra"
        ) from exc
    return pkcs11


def _lost_errors() -> tuple[type[BaseException], ...]:
    exceptions = _pkcs11().exceptions
    return tuple(getattr(exceptions, name) for name in _LOST_SESSION_ERRORS)


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    reason = _REASONS.get(name) or str(exc) or name
    return f"{reason} ({name})" if reason != name else name


class _Module:
    """One loaded PKCS#11 library, initialised once per process.

    ``epoch`` counts re-initialisations (after a fork, or a rescan for a
    token created since); every session and object handle of an older
    epoch is void.

    ``calls`` admits one thread at a time into the library. python-pkcs11
    calls ``C_Initialize`` with no arguments, which tells the library that
    the application will not call it from several threads at once (PKCS#11
    v2.40 section 5.4), and SoftHSM2 then turns its own mutexes off:
    concurrent calls crash it. Threads therefore queue here; each still
    gets a session of its own from the pool.
    """

    def __init__(self, path: str) -> None:
        pkcs11 = _pkcs11()
        try:
            self.lib = pkcs11.lib(path)
        except pkcs11.PKCS11Error as exc:
            raise HSMError(f"module-path: cannot load PKCS#11 module {path!r}: {exc}") from exc
        self.path = path
        self.pid = os.getpid()
        self.epoch = 0
        self.calls = threading.RLock()

    def after_fork(self) -> None:
        # Locks held by other threads at fork time stay held in the child forever.
        self.calls = threading.RLock()

    def ensure_current_process(self) -> None:
        """Re-initialise the library in a child process before its first use."""
        if self.pid == os.getpid():
            return
        with self.calls:
            if self.pid == os.getpid():
                return
            self._reinitialize()
            self.pid = os.getpid()

    def rescan(self, seen_epoch: int) -> None:
        """Re-initialise so that tokens created since the library was loaded appear.

        Some modules (SoftHSM2 among them) read their token list only in
        ``C_Initialize``. Waits until no operation is running.
        """
        with self.calls:
            if self.epoch == seen_epoch:
                self._reinitialize()

    def _reinitialize(self) -> None:
        pkcs11 = _pkcs11()
        try:
            self.lib.reinitialize()
        except pkcs11.PKCS11Error as exc:
            raise HSMError(f"module-path: cannot re-initialise {self.path!r}: {exc}") from exc
        self.epoch += 1

    def find_token(self, uri: PKCS11URI) -> Any:
        """The one initialised token the URI's token attributes match."""
        pkcs11 = _pkcs11()
        try:
            info = (
                self.lib.manufacturer_id,
                self.lib.library_description,
                "{}.{}".format(*self.lib.library_version),
            )
            if not _library_matches(uri, info):
                raise HSMError(
                    f"{_token_label(uri)}: module {self.path!r} is {info[0]} {info[1]} "
                    f"{info[2]}, not the library the URI names"
                )
            tokens = [
                token
                for token in self.lib.get_tokens()
                if token.flags & pkcs11.TokenFlag.TOKEN_INITIALIZED
            ]
        except pkcs11.PKCS11Error as exc:
            raise HSMError(f"{_token_label(uri)}: cannot list tokens: {_describe(exc)}") from exc
        matching = [token for token in tokens if _token_matches(uri, token)]
        if len(matching) == 1:
            return matching[0]
        present = ", ".join(sorted(repr(token.label) for token in tokens)) or "none"
        if not matching:
            raise HSMError(
                f"{_token_label(uri)}: no such token in module {self.path!r} "
                f"(tokens present: {present})"
            )
        raise HSMError(
            f"{_token_label(uri)}: {len(matching)} tokens match (tokens present: {present}); "
            "name one with token= or serial="
        )


def _token_label(uri: PKCS11URI) -> str:
    if uri.token is not None:
        return f"token={quote(uri.token, safe=_PATH_SAFE)}"
    if uri.serial is not None:
        return f"serial={uri.serial}"
    return "token"


def _library_matches(uri: PKCS11URI, info: tuple[str, str, str]) -> bool:
    manufacturer, description, version = info
    if uri.library_manufacturer is not None and uri.library_manufacturer != manufacturer:
        return False
    if uri.library_description is not None and uri.library_description != description:
        return False
    if uri.library_version is not None:
        wanted = uri.library_version if "." in uri.library_version else uri.library_version + ".0"
        if tuple(map(int, wanted.split("."))) != tuple(map(int, version.split("."))):
            return False
    return True


def _token_serial(token: Any) -> str:
    return bytes(token.serial).decode("ascii", errors="replace").strip()


def _token_matches(uri: PKCS11URI, token: Any) -> bool:
    slot = token.slot
    pairs: list[tuple[object, object]] = [
        (uri.token, token.label),
        (uri.manufacturer, token.manufacturer_id),
        (uri.serial, _token_serial(token)),
        (uri.model, token.model),
        (uri.slot_description, slot.slot_description),
        (uri.slot_manufacturer, slot.manufacturer_id),
        (uri.slot_id, slot.slot_id),
    ]
    return all(wanted is None or wanted == actual for wanted, actual in pairs)


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


def _digest(pin: str) -> bytes:
    return hashlib.sha256(pin.encode("utf-8")).digest()


@dataclass(eq=False)
class _PooledSession:
    session: Any
    generation: int
    pid: int
    objects: dict[_KeyRef, Any] = field(default_factory=dict)
    """Key objects found in this session, by reference (handles are per session)."""


@dataclass(frozen=True)
class _KeyRef:
    """How to find one private key again in another session: its label and id."""

    label: str | None
    id: bytes | None


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


# ---------------------------------------------------------------------------
# The keys
# ---------------------------------------------------------------------------

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
