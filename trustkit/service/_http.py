"""HTTP pieces the service's routes share: media types, caching headers, bodies, refusals.

Refusals never carry internal detail: a store or key failure is logged
(logger ``trustkit.service``) and answered 503 with a fixed sentence, so no
file path, store URL or key detail reaches a client.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlparse

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ..errors import StoreError

OCSP_REQUEST_TYPE = "application/ocsp-request"
OCSP_RESPONSE_TYPE = "application/ocsp-response"
CRL_TYPE = "application/pkix-crl"
CERT_TYPE = "application/pkix-cert"

_OCSP_NONCE_OID = "1.3.6.1.5.5.7.48.1.2"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

CLOSING = frozenset({408, 413, 415})
"""Refusals sent before the body was read: the connection is closed, the rest never read."""

UNAVAILABLE_STORE = "service unavailable: the CA store cannot be reached; try again later"
UNAVAILABLE_CA = "service unavailable: the CA cannot sign now; try again later"

log = logging.getLogger("trustkit.service")


class HTTPProblem(Exception):
    """A refusal with its HTTP status; the message is safe to send to the client."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class Disconnected(Exception):
    """The client went away (or was cut off) before its request was complete."""


def path_of(url: str | None, default: str) -> str:
    """The path part of ``url``, or ``default`` when there is no URL."""
    return urlparse(url).path if url else default


def caching_headers(
    body: bytes, this_update: datetime, next_update: datetime | None, now: datetime
) -> dict[str, str]:
    """RFC 5019 6.2: cache until nextUpdate, validated by ETag and Last-Modified."""
    headers = {
        "ETag": '"' + hashlib.sha1(body).hexdigest() + '"',  # RFC 5019 6.2 uses SHA-1
        "Last-Modified": format_datetime(this_update, usegmt=True),
    }
    if next_update is not None:
        max_age = max(0, int((next_update - now).total_seconds()))
        headers["Expires"] = format_datetime(next_update, usegmt=True)
        headers["Cache-Control"] = f"max-age={max_age}, public, no-transform, must-revalidate"
    return headers


def ocsp_headers(body: bytes, now: datetime) -> dict[str, str]:
    """Caching headers of an OCSP response: none for a refusal or a nonce (RFC 5019 6.2)."""
    from cryptography.x509 import ocsp

    response = ocsp.load_der_ocsp_response(body)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return {"Cache-Control": "no-cache"}
    if any(ext.oid.dotted_string == _OCSP_NONCE_OID for ext in response.extensions):
        return {"Cache-Control": "no-cache"}
    return caching_headers(body, response.this_update_utc, response.next_update_utc, now)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body through Starlette, refused (413) as soon as it passes ``limit``."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise HTTPProblem(413, f"request body: at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise HTTPProblem(413, f"request body: at most {limit} bytes")
    return bytes(body)


async def receive_body(receive: Receive, limit: int) -> bytes:
    """The request body from ASGI ``receive``, refused (413) as soon as it passes ``limit``."""
    message = await receive()
    if message["type"] != "http.request":
        raise Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False) and len(body) <= limit:
        return body  # the usual case: the whole body in one message
    collected = bytearray(body)
    while len(collected) <= limit and message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        collected += message.get("body", b"")
    if len(collected) > limit:
        raise HTTPProblem(413, f"request body: at most {limit} bytes")
    return bytes(collected)


def problem_headers(status: int, length: int) -> list[tuple[bytes, bytes]]:
    """Headers of a plain-text refusal sent through raw ASGI."""
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(length).encode()),
    ]
    if status in CLOSING:
        headers.append((b"connection", b"close"))
    return headers


def unavailable(exc: Exception, what: str) -> str:
    """The 503 sentence for ``exc`` (a TrustkitError), its detail logged and not sent."""
    log.warning("%s: %s", what, exc)
    return UNAVAILABLE_STORE if isinstance(exc, StoreError) else UNAVAILABLE_CA


async def problem(request: Request, exc: Exception) -> Response:
    """The one place where errors become HTTP statuses; nothing answers 500."""
    if isinstance(exc, HTTPProblem):
        headers = {"Connection": "close"} if exc.status in CLOSING else None
        return Response(
            f"{exc}\n", status_code=exc.status, media_type="text/plain", headers=headers
        )
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=400)  # nobody reads it: the client is gone
    text = unavailable(exc, f"{request.method} {request.url.path}")
    return Response(
        f"{text}\n", status_code=503, media_type="text/plain", headers={"Retry-After": "10"}
    )


def raw_headers(headers: Sequence[tuple[bytes, bytes]], *names: bytes) -> dict[bytes, bytes]:
    """The last value of each of ``names`` among raw ASGI headers."""
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        if name in names:
            found[name] = value
    return found
