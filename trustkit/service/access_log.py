"""Structured access logs: one JSON line per request, through the standard logging module.

Each line says when the request came, what it asked (method and path), what
was answered (HTTP status; for OCSP the response status or each certificate's
status), which CA answered, how long it took and who asked::

    {"time": "2026-01-15T12:00:00.123Z", "method": "POST", "path": "/ocsp",
     "status": 200, "ca": "issuing-ca", "ocsp": ["revoked"], "duration_ms": 1.9,
     "client": "127.0.0.1:53712"}

The CA and the OCSP statuses are read from the answer itself (the OCSP
response's CertIDs, the CRL's issuer, the certificate served), so the line
records what was sent, whichever route sent it. Nothing else of a request or
an answer is logged: no headers, no query string, no body; a path is cut at
:data:`MAX_PATH_CHARS`, so a hostile URL cannot flood the log. Lines go to the
``trustkit.access`` logger: INFO for answers, WARNING for 5xx.

Reading an OCSP answer costs about as much as serving a cached one, so a
small answer is read once and remembered by its bytes (the responder's cache
sends the same bytes again); with the logger below INFO nothing is read.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from ..ca import CertificateAuthority
from ..clock import Clock

__all__ = ["LOGGER_NAME", "MAX_PATH_CHARS", "AccessLog", "log_to_stderr"]

LOGGER_NAME = "trustkit.access"

MAX_PATH_CHARS = 256
"""A longer path (an OCSP GET carries its request in it) is logged cut, ending in ``...``."""

_MAX_CAPTURE = 1 << 20
"""Answers larger than this (a very large CRL) are not read for the CA's name."""

_MAX_REMEMBERED = 16 * 1024
"""Answers up to this size (every OCSP response) are read once and remembered by their bytes."""

_REMEMBERED_ANSWERS = 512
"""How many such answers are remembered: the responder's cache serves the same bytes again."""

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]
_ASGIApp = Callable[[_Scope, _Receive, _Send], Awaitable[None]]

_READ_TYPES = {
    b"application/ocsp-response",
    b"application/pkix-crl",
    b"application/pkix-cert",
}

# RFC 6960 4.1.1: CertID names its hash; the responder answers with the request's.
_CERT_ID_HASHES = (hashes.SHA1(), hashes.SHA256(), hashes.SHA384(), hashes.SHA512())


def log_to_stderr(level: int | str = logging.INFO) -> logging.Logger:
    """Send the ``trustkit`` loggers' records, at ``level`` and above, to stderr as they are."""
    root = logging.getLogger("trustkit")
    root.setLevel(level)
    if not any(getattr(h, "_trustkit_stderr", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._trustkit_stderr = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    return logging.getLogger(LOGGER_NAME)


class AccessLog:
    """ASGI middleware writing one JSON line per HTTP request (see the module notes)."""

    def __init__(
        self,
        app: _ASGIApp,
        authorities: Sequence[CertificateAuthority],
        *,
        clock: Clock | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._app = app
        # trustkit's SystemClock keeps whole seconds, as X.509 does; a log wants milliseconds.
        self._clock = clock or _MillisecondClock()
        self._logger = logger or logging.getLogger(LOGGER_NAME)
        self._by_name_hash: dict[tuple[str, bytes], set[str]] = {}
        self._by_certificate: dict[bytes, str] = {}
        self._by_subject: dict[bytes, list[tuple[bytes | None, str]]] = {}
        # Reading an answer costs about as much as serving a cached one; cached
        # answers are the same bytes each time, so each is read once.
        self._read: dict[bytes, tuple[str | None, list[str] | None]] = {}
        for ca in authorities:
            name = ca.config.name
            subject = ca.certificate.subject.public_bytes()
            for algorithm in _CERT_ID_HASHES:
                # RFC 6960 4.1.1: issuerNameHash, the hash of the issuer's DER name.
                digest = hashlib.new(algorithm.name, subject).digest()
                self._by_name_hash.setdefault((algorithm.name, digest), set()).add(name)
            self._by_certificate[ca.certificate.public_bytes(Encoding.DER)] = name
            self._by_subject.setdefault(subject, []).append((_subject_key_id(ca.certificate), name))

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        at = self._clock.now()
        started = time.perf_counter()
        status: int | None = None
        captured: bytearray | None = None
        # Below INFO nothing but a 5xx is written, and a 5xx names no CA: read nothing.
        reading = self._logger.isEnabledFor(logging.INFO)

        async def recording_send(message: _Message) -> None:
            nonlocal status, captured
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", ()) if reading else ():
                    if name.lower() == b"content-type":
                        if value.split(b";", 1)[0].strip().lower() in _READ_TYPES:
                            captured = bytearray()
            elif message["type"] == "http.response.body" and captured is not None:
                captured += message.get("body", b"")
                if len(captured) > _MAX_CAPTURE:
                    captured = None
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            self._write(scope, at, started, status, bytes(captured) if captured else b"")

    def _write(
        self, scope: _Scope, at: Any, started: float, status: int | None, answer: bytes
    ) -> None:
        level = logging.WARNING if status is None or status >= 500 else logging.INFO
        if not self._logger.isEnabledFor(level):
            return
        ca, ocsp_statuses = self._remembered(answer)
        path = str(scope.get("path", ""))
        if len(path) > MAX_PATH_CHARS:
            path = path[: MAX_PATH_CHARS - 3] + "..."
        client = scope.get("client")
        line = {
            "time": at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z",
            "method": scope.get("method"),
            "path": path,
            # None: the client went away (or the server failed) before an answer started.
            "status": status,
            "ca": ca,
            "ocsp": ocsp_statuses,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            "client": f"{client[0]}:{client[1]}" if client else None,
        }
        self._logger.log(level, json.dumps(line, separators=(", ", ": ")))

    def _remembered(self, answer: bytes) -> tuple[str | None, list[str] | None]:
        """:meth:`_read_answer`, remembered for small answers (keyed by every byte)."""
        if len(answer) > _MAX_REMEMBERED:
            return self._read_answer(answer)
        found = self._read.get(answer)
        if found is None:
            if len(self._read) >= _REMEMBERED_ANSWERS:
                self._read.clear()
            found = self._read[answer] = self._read_answer(answer)
        return found[0], None if found[1] is None else list(found[1])

    def _read_answer(self, answer: bytes) -> tuple[str | None, list[str] | None]:
        """The CA that answered and, for OCSP, what it said; ``(None, None)`` if neither."""
        if not answer:
            return None, None
        try:
            return self._read_ocsp(answer)
        except ValueError:
            pass
        try:
            return self._by_certificate.get(answer) or self._read_crl(answer), None
        except ValueError:
            return None, None

    def _read_ocsp(self, answer: bytes) -> tuple[str | None, list[str] | None]:
        response = ocsp.load_der_ocsp_response(answer)
        if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            # malformedRequest, unauthorized, tryLater...: RFC 6960 4.2.1's names.
            return None, [_camel(response.response_status.name)]
        names: set[str] = set()
        statuses = []
        for single in response.responses:
            key = (single.hash_algorithm.name, single.issuer_name_hash)
            names |= self._by_name_hash.get(key, set())
            statuses.append(single.certificate_status.name.lower())
        # Two CAs under one name (a re-keyed CA) cannot be told apart by name: say neither.
        return (names.pop() if len(names) == 1 else None), statuses

    def _read_crl(self, answer: bytes) -> str | None:
        crl = x509.load_der_x509_crl(answer)
        candidates = self._by_subject.get(crl.issuer.public_bytes(), [])
        try:
            aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
            key_id = aki.value.key_identifier
        except x509.ExtensionNotFound:
            key_id = None
        for ski, name in candidates:
            if key_id is None or ski is None or ski == key_id:
                return name
        return None


class _MillisecondClock:
    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)


def _subject_key_id(certificate: x509.Certificate) -> bytes | None:
    try:
        return certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value.digest
    except x509.ExtensionNotFound:
        return None


def _camel(name: str) -> str:
    first, *rest = name.lower().split("_")
    return first + "".join(part.title() for part in rest)
