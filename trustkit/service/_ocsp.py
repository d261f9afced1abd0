"""OCSP over HTTP (RFC 6960 appendix A, RFC 5019): POST and GET, answered off the event loop.

Nothing that can take time runs on the event loop: a request is answered
inline only when :meth:`OCSPResponder.cached
<trustkit.revocation.ocsp.OCSPResponder.cached>` has a current answer that
needs no store query (a dictionary look-up); everything else (parsing, store
lookups, signing) runs in a worker thread, on every store backend, SQLite
included. So ``/health``, CRLs and cached answers keep flowing while
signatures are made.

Two lanes keep hostile requests from delaying ordinary ones: a request of at
most :data:`HEAVY_REQUEST_BYTES` (one CertID, with or without a nonce) goes to
Starlette's thread pool; a larger one (several CertIDs, up to the responder's
cap) to a lane of :data:`HEAVY_LANE_THREADS` threads. When
:data:`HEAVY_LANE_QUEUE` large requests are already waiting for that lane, the
next is answered tryLater at once (RFC 6960 4.2.1) instead of queueing without
bound.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from urllib.parse import unquote

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..clock import Clock
from ..revocation.ocsp import TRY_LATER, OCSPResponder
from ._http import (
    OCSP_REQUEST_TYPE,
    OCSP_RESPONSE_TYPE,
    Disconnected,
    HTTPProblem,
    Receive,
    Scope,
    Send,
    ocsp_headers,
    problem_headers,
    raw_headers,
    read_body,
    receive_body,
)

HEAVY_REQUEST_BYTES = 512
"""Larger OCSP requests take the heavy lane: a request for one certificate, with a
SHA-512 CertID and a 32-octet nonce, is about 200 octets."""

HEAVY_LANE_THREADS = 2
"""Threads answering large requests at once: they share the GIL with the rest, so
more would only slow every other answer."""

HEAVY_LANE_QUEUE = 32
"""Large requests that may wait for the heavy lane; more are answered tryLater."""

PostHandler = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Lanes:
    """Where an OCSP request is answered: inline from the cache, or in a thread."""

    def __init__(self, responder: OCSPResponder) -> None:
        self._responder = responder
        self._heavy: anyio.CapacityLimiter | None = None

    async def answer(self, body: bytes, now: datetime) -> bytes:
        cached = self._responder.cached(body, at=now)
        if cached is not None:
            return cached
        work = functools.partial(self._responder.respond, body, at=now)
        if len(body) <= HEAVY_REQUEST_BYTES:
            return await anyio.to_thread.run_sync(work)
        if self._heavy is None:  # made in the event loop that uses it
            self._heavy = anyio.CapacityLimiter(HEAVY_LANE_THREADS)
        if self._heavy.statistics().tasks_waiting >= HEAVY_LANE_QUEUE:
            return TRY_LATER
        return await anyio.to_thread.run_sync(work, limiter=self._heavy)


def ocsp_routes(
    responder: OCSPResponder, clock: Clock, max_request_bytes: int
) -> tuple[PostHandler, list[BaseRoute]]:
    """``POST /ocsp`` as plain ASGI (the hot path), and the Starlette routes for OCSP."""
    lanes = _Lanes(responder)
    ocsp_type = OCSP_REQUEST_TYPE.encode()
    post_headers = [(b"content-type", OCSP_RESPONSE_TYPE.encode()), (b"cache-control", b"no-cache")]

    def check_post(headers: Sequence[tuple[bytes, bytes]]) -> None:
        found = raw_headers(headers, b"content-type", b"content-length")
        media_type = found.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        declared = found.get(b"content-length")
        if media_type != ocsp_type:
            raise HTTPProblem(415, f"Content-Type: expected {OCSP_REQUEST_TYPE} (RFC 6960 A.1)")
        if declared is not None and (not declared.isdigit() or int(declared) > max_request_bytes):
            # Refused before a byte of the body is read.
            raise HTTPProblem(413, f"request body: at most {max_request_bytes} bytes")

    async def response(body: bytes, *, cacheable: bool) -> Response:
        now = clock.now()
        answer = await lanes.answer(body, now)
        headers = ocsp_headers(answer, now) if cacheable else {"Cache-Control": "no-cache"}
        return Response(answer, media_type=OCSP_RESPONSE_TYPE, headers=headers)

    async def ocsp_post(scope: Scope, receive: Receive, send: Send) -> None:
        """POST /ocsp as plain ASGI: RFC 6960 A.1.1 request in, response out."""
        try:
            check_post(scope["headers"])
            body = await receive_body(receive, max_request_bytes)
            if not body:
                raise HTTPProblem(400, "request body: empty; expected a DER OCSPRequest")
        except HTTPProblem as exc:
            text = f"{exc}\n".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": problem_headers(exc.status, len(text)),
                }
            )
            await send({"type": "http.response.body", "body": text})
            return
        except Disconnected:
            return
        answer = await lanes.answer(body, clock.now())
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*post_headers, (b"content-length", str(len(answer)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": answer})

    async def ocsp_get(request: Request) -> Response:
        encoded = unquote(request.path_params["encoded"])
        if len(encoded) > max_request_bytes * 2:
            raise HTTPProblem(414, "OCSP request in the URL: too long")
        try:
            body = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise HTTPProblem(400, "OCSP GET: not base64 (RFC 6960 A.1)") from None
        return await response(body, cacheable=True)

    async def ocsp_post_route(request: Request) -> Response:
        # Reached only through Starlette's own routing (the fast path answers first).
        check_post(request.headers.raw)
        body = await read_body(request, max_request_bytes)
        if not body:
            raise HTTPProblem(400, "request body: empty; expected a DER OCSPRequest")
        return await response(body, cacheable=False)

    routes: list[BaseRoute] = [
        Route("/ocsp", ocsp_post_route, methods=["POST"]),
        Route("/ocsp/{encoded:path}", ocsp_get, methods=["GET"]),
    ]
    return ocsp_post, routes
