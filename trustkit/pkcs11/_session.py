"""Loaded modules, return codes in plain words, and what a pooled session holds."""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import HSMError
from ._uri import _PATH_SAFE, PKCS11URI

if TYPE_CHECKING:
    pass


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
