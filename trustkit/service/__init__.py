"""The HTTP service: OCSP, CRLs and CA certificates for a whole hierarchy (extra ``service``).

One process serves every CA it is given; the paths are those the CAs write
into the certificates they issue (:mod:`trustkit.config`)::

    POST /ocsp                     application/ocsp-request -> application/ocsp-response
    GET  /ocsp/{base64 request}    RFC 6960 appendix A.1 (URL-encoded base64 of the DER)
    GET  /crl/{name}.crl           application/pkix-crl: the CA's complete CRL
    GET  /crl/{name}-{n}.crl       partition n ([crl] shards), its IDP names this URL
    GET  /crl/{name}-delta.crl     the delta CRL ([crl] delta = true), also per partition
    GET  /ca/{name}.crt            application/pkix-cert: the CA certificate (AIA caIssuers)
    GET  /health                   application/json

Which CAs: :func:`discover_authorities` takes CA directories, or parent
directories whose immediate subdirectories are CA directories (a demo
hierarchy laid out as ``pki/root``, ``pki/citizen-ca``...), in any mix.

``POST /ocsp`` is answered by a plain ASGI handler in front of Starlette
(the hot path of a responder: a cached answer costs a dictionary look-up).

Abuse: a declared Content-Length over the limit is refused before the body
is read, a streamed body is cut at the limit (413 and the connection
closed); :class:`ServerLimits` bounds the request head, the time a client
may take to send a whole request (a silent or trickling client is
disconnected), idle keep-alive connections and the number of connections.
:func:`serve` runs uvicorn with httptools and uvloop when they are
installed, in one process or several (``workers``) sharing one socket.

Responses for GET carry RFC 5019 6.2 caching headers (``max-age`` up to
nextUpdate, ``ETag``, ``Last-Modified``, ``Expires``); a nonce response is
``no-cache``. OCSP-level refusals (malformedRequest, unauthorized) are OCSP
responses with HTTP 200, as clients expect; transport problems are 4xx
(bad base64 400, wrong media type 415, body over the limit 413); a failure of
the store or a missing key is 503. Nothing answers 500.

The service holds no state of its own: CRLs are recorded in the store and
reused while fresh, so several processes on one PostgreSQL store answer alike.
Starlette and uvicorn are imported only here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..ca import CertificateAuthority
from ..clock import Clock, SystemClock
from ..config import CONFIG_FILE, CAConfig
from ..errors import ConfigError, TrustkitError
from ..revocation.crl import current_crl, delta_crl_url
from ..revocation.ocsp import OCSPResponder, ResponderSettings

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "OCSP_REQUEST_TYPE",
    "ServerLimits",
    "create_app",
    "discover_authorities",
    "serve",
]

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
"""Largest request body accepted; an OCSP request for many certificates fits in far less."""

OCSP_REQUEST_TYPE = "application/ocsp-request"
OCSP_RESPONSE_TYPE = "application/ocsp-response"
CRL_TYPE = "application/pkix-crl"
CERT_TYPE = "application/pkix-cert"

_OCSP_NONCE_OID = "1.3.6.1.5.5.7.48.1.2"

_Scope = MutableMapping[str, Any]
_Message = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_Message]]
_Send = Callable[[_Message], Awaitable[None]]

_CLOSING = frozenset({408, 413, 415})
"""Refusals sent before the body was read: the connection is closed, the rest never read."""


@dataclass(frozen=True)
class ServerLimits:
    """How much a client may ask of the server (uvicorn settings and trustkit's own)."""

    request_timeout: float = 10.0
    """Seconds a client may take to send one whole request, head and body, from the moment
    it connects or its previous response was sent; then the connection is closed."""
    keep_alive_timeout: float = 5.0
    """Seconds an idle keep-alive connection is kept open."""
    max_head_bytes: int = 16 * 1024
    """Largest request line plus headers; more is answered 400 and the connection closed."""
    max_connections: int = 1000
    """Connections (and requests in progress) at once; more are answered 503."""


class _HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class _Disconnected(Exception):
    """The client went away (or was cut off) before its request was complete."""


def discover_authorities(
    paths: Sequence[str | Path],
    *,
    passphrase: bytes | Callable[[], bytes] | None = None,
    passphrases: Mapping[str, bytes] | None = None,
    clock: Clock | None = None,
) -> list[CertificateAuthority]:
    """Open every CA under ``paths``: each is a CA directory or holds CA directories.

    A CA named in ``passphrases`` (by ``config.name``) is opened with its own
    passphrase, every other one with ``passphrase``.
    """
    own = dict(passphrases or {})
    found: list[CertificateAuthority] = []
    seen: set[Path] = set()
    for path in map(Path, paths):
        candidates = (
            [path]
            if (path / CONFIG_FILE).exists()
            else sorted(p for p in path.iterdir() if (p / CONFIG_FILE).exists())
            if path.is_dir()
            else []
        )
        if not candidates:
            raise ConfigError(f"{path}: neither a CA directory nor a directory holding CAs")
        for directory in candidates:
            resolved = directory.resolve()
            if resolved not in seen:
                seen.add(resolved)
                secret = own.get(CAConfig.load(directory).name, passphrase)
                found.append(CertificateAuthority.open(directory, passphrase=secret, clock=clock))
    unknown = sorted(set(own) - {ca.config.name for ca in found})
    if unknown:
        names = ", ".join(ca.config.name for ca in found)
        raise ConfigError(f"passphrase for CA {unknown[0]}: no such CA here (found: {names})")
    return found


def _path_of(url: str | None, default: str) -> str:
    return urlparse(url).path if url else default


def _caching_headers(
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


def _ocsp_headers(body: bytes, now: datetime) -> dict[str, str]:
    from cryptography.x509 import ocsp

    response = ocsp.load_der_ocsp_response(body)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        return {"Cache-Control": "no-cache"}
    if any(ext.oid.dotted_string == _OCSP_NONCE_OID for ext in response.extensions):
        return {"Cache-Control": "no-cache"}
    return _caching_headers(body, response.this_update_utc, response.next_update_utc, now)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _HTTPProblem(413, f"request body: at most {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _HTTPProblem(413, f"request body: at most {limit} bytes")
    return bytes(body)


async def _receive_body(receive: _Receive, limit: int) -> bytes:
    """The request body from ASGI ``receive``, refused (413) as soon as it passes ``limit``."""
    message = await receive()
    if message["type"] != "http.request":
        raise _Disconnected
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False) and len(body) <= limit:
        return body  # the usual case: the whole body in one message
    collected = bytearray(body)
    while len(collected) <= limit and message.get("more_body", False):
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        collected += message.get("body", b"")
    if len(collected) > limit:
        raise _HTTPProblem(413, f"request body: at most {limit} bytes")
    return bytes(collected)


def _problem_headers(status: int, length: int) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(length).encode()),
    ]
    if status in _CLOSING:
        headers.append((b"connection", b"close"))
    return headers


class _ServiceApp(Starlette):
    """Starlette with ``POST /ocsp`` answered before routing (see the module notes)."""

    _ocsp_post: Callable[[_Scope, _Receive, _Send], Awaitable[None]] | None = None

    async def __call__(self, scope: _Scope, receive: _Receive, send: _Send) -> None:
        if (
            self._ocsp_post is not None
            and scope["type"] == "http"
            and scope["path"] == "/ocsp"
            and scope["method"] == "POST"
        ):
            await self._ocsp_post(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    authorities: Sequence[CertificateAuthority],
    *,
    passphrase: bytes | None = None,
    passphrases: Mapping[str, bytes] | None = None,
    clock: Clock | None = None,
    settings: ResponderSettings | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Starlette:
    """The ASGI application publishing OCSP, CRLs and certificates of ``authorities``.

    ``passphrase`` opens the delegated OCSP keys (and issues them when
    needed), ``passphrases`` those of the CAs it names; ``extra_routes`` are
    mounted beside the built-in ones (such as ``POST /tsa`` for a timestamp
    authority).
    """
    clock = clock or SystemClock()
    responder = OCSPResponder(
        authorities, settings=settings, passphrase=passphrase, passphrases=passphrases
    )
    crl_paths: dict[str, tuple[CertificateAuthority, int | None, bool]] = {}
    cert_paths: dict[str, CertificateAuthority] = {}
    for ca in authorities:
        name = ca.config.name
        scopes: list[tuple[int | None, str]] = [
            (None, _path_of(ca.config.effective_crl_url, f"/crl/{name}.crl"))
        ]
        scopes += [
            (shard, _path_of(ca.crl_url(shard), f"/crl/{name}-{shard}.crl"))
            for shard in range(ca.config.crl_shards)
        ]
        for shard, path in scopes:
            crl_paths[path] = (ca, shard, False)
            if ca.config.crl_delta:
                crl_paths[delta_crl_url(path)] = (ca, shard, True)
        cert_paths[_path_of(ca.config.effective_ca_issuers_url, f"/ca/{name}.crt")] = ca

    # SQLite answers a status query in microseconds, inline; a networked store
    # (PostgreSQL) would stall every connection of the worker, so its lookups
    # run in the thread pool (the responder is thread-safe).
    inline = all(ca.store.url.startswith("sqlite") for ca in authorities)

    async def _answer(body: bytes, now: datetime) -> bytes:
        if inline:
            return responder.respond(body, at=now)
        return await run_in_threadpool(responder.respond, body, at=now)

    async def _ocsp_response(body: bytes, *, cacheable: bool) -> Response:
        now = clock.now()
        answer = await _answer(body, now)
        headers = _ocsp_headers(answer, now) if cacheable else {"Cache-Control": "no-cache"}
        return Response(answer, media_type=OCSP_RESPONSE_TYPE, headers=headers)

    ocsp_type = OCSP_REQUEST_TYPE.encode()
    post_headers = [(b"content-type", OCSP_RESPONSE_TYPE.encode()), (b"cache-control", b"no-cache")]

    def _check_post(headers: Sequence[tuple[bytes, bytes]]) -> None:
        media_type = b""
        declared = None
        for name, value in headers:
            if name == b"content-type":
                media_type = value.split(b";", 1)[0].strip().lower()
            elif name == b"content-length":
                declared = value
        if media_type != ocsp_type:
            raise _HTTPProblem(415, f"Content-Type: expected {OCSP_REQUEST_TYPE} (RFC 6960 A.1)")
        if declared is not None and (not declared.isdigit() or int(declared) > max_request_bytes):
            # Refused before a byte of the body is read.
            raise _HTTPProblem(413, f"request body: at most {max_request_bytes} bytes")

    async def ocsp_post(scope: _Scope, receive: _Receive, send: _Send) -> None:
        """POST /ocsp as plain ASGI: RFC 6960 A.1.1 request in, response out."""
        try:
            _check_post(scope["headers"])
            body = await _receive_body(receive, max_request_bytes)
            if not body:
                raise _HTTPProblem(400, "request body: empty; expected a DER OCSPRequest")
        except _HTTPProblem as exc:
            text = f"{exc}\n".encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": exc.status,
                    "headers": _problem_headers(exc.status, len(text)),
                }
            )
            await send({"type": "http.response.body", "body": text})
            return
        except _Disconnected:
            return
        answer = await _answer(body, clock.now())
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
            raise _HTTPProblem(414, "OCSP request in the URL: too long")
        try:
            body = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _HTTPProblem(400, "OCSP GET: not base64 (RFC 6960 A.1)") from None
        return await _ocsp_response(body, cacheable=True)

    def _conditional(
        request: Request, body: bytes, media_type: str, headers: dict[str, str]
    ) -> Response:
        if request.headers.get("if-none-match") == headers.get("ETag"):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    async def crl_get(request: Request) -> Response:
        ca, shard, delta = crl_paths[request.url.path]
        now = clock.now()
        published = await run_in_threadpool(current_crl, ca, at=now, shard=shard, delta=delta)
        headers = _caching_headers(published.der, published.this_update, published.next_update, now)
        return _conditional(request, published.der, CRL_TYPE, headers)

    async def cert_get(request: Request) -> Response:
        from cryptography.hazmat.primitives.serialization import Encoding

        ca = cert_paths[request.url.path]
        der = ca.certificate.public_bytes(Encoding.DER)
        headers = _caching_headers(der, ca.certificate.not_valid_before_utc, None, clock.now())
        return _conditional(request, der, CERT_TYPE, headers)

    async def health(request: Request) -> Response:
        for ca in authorities:
            ca.store.revocation_seq(ca.id)
        return JSONResponse({"status": "ok", "authorities": [ca.config.name for ca in authorities]})

    async def problem(request: Request, exc: Exception) -> Response:
        if isinstance(exc, _HTTPProblem):
            headers = {"Connection": "close"} if exc.status in _CLOSING else None
            return Response(
                f"{exc}\n", status_code=exc.status, media_type="text/plain", headers=headers
            )
        if isinstance(exc, ClientDisconnect):
            return Response(status_code=400)  # nobody reads it: the client is gone
        return Response(f"{exc}\n", status_code=503, media_type="text/plain")

    async def ocsp_post_route(request: Request) -> Response:
        # Reached only through Starlette's own routing (the fast path answers first).
        _check_post(request.headers.raw)
        body = await _read_body(request, max_request_bytes)
        if not body:
            raise _HTTPProblem(400, "request body: empty; expected a DER OCSPRequest")
        return await _ocsp_response(body, cacheable=False)

    routes: list[BaseRoute] = [
        Route("/ocsp", ocsp_post_route, methods=["POST"]),
        Route("/ocsp/{encoded:path}", ocsp_get, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        *(Route(path, crl_get, methods=["GET"]) for path in crl_paths),
        *(Route(path, cert_get, methods=["GET"]) for path in cert_paths),
        *extra_routes,
    ]
    handlers: dict[Any, Callable[..., Any]] = {
        _HTTPProblem: problem,
        TrustkitError: problem,
        ClientDisconnect: problem,
    }
    app = _ServiceApp(routes=routes, exception_handlers=handlers)
    app._ocsp_post = ocsp_post
    return app


def _protocol(limits: ServerLimits) -> type[asyncio.Protocol] | str:
    """uvicorn's httptools protocol with ``limits`` on the request head and its time.

    Without httptools: uvicorn's h11 protocol, whose head limit is
    ``h11_max_incomplete_event_size`` (no time limit on a request).
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return "h11"

    class GuardedProtocol(HttpToolsProtocol):
        _head_bytes = 0
        _deadline: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._deadline is None:
                self._deadline = self.loop.call_later(limits.request_timeout, self._expire)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expire(self) -> None:
            self._deadline = None
            if not self.transport.is_closing():
                self.transport.close()

        def _count(self, size: int) -> None:
            self._head_bytes += size
            if self._head_bytes > limits.max_head_bytes:
                # Raised out of the parser callback: uvicorn answers 400 and closes.
                raise ValueError(f"request head over {limits.max_head_bytes} bytes")

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = 0
            self._arm()

        def on_url(self, url: bytes) -> None:
            self._count(len(url))
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            self._count(len(name) + len(value) + 4)
            super().on_header(name, value)

        def on_message_complete(self) -> None:
            self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()  # the next request (or nothing) within the limit too

    return GuardedProtocol


def _uvicorn_config(app: Any, host: str, port: int, limits: ServerLimits) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="auto",  # uvloop when installed
        http=_protocol(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive_timeout)),
        limit_concurrency=limits.max_connections,
        h11_max_incomplete_event_size=limits.max_head_bytes,
    )


def serve(
    app: Starlette | Callable[[], Any],
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    workers: int = 1,
    limits: ServerLimits | None = None,
) -> None:
    """Run the service with uvicorn until SIGINT or SIGTERM.

    ``app`` is an application, or a function making one (any ASGI application,
    such as one wrapped in :class:`~trustkit.service.access_log.AccessLog`). With ``workers`` > 1
    it must be a function: the socket is bound once, then each worker process
    is forked and makes its own application (its own store connections and
    OCSP caches; revocations reach all through the store). A worker that dies
    stops the others, so that a supervisor (systemd...) restarts the service.
    """
    import uvicorn

    limits = limits or ServerLimits()
    if workers < 1:
        raise ConfigError(f"workers: {workers}; at least 1")
    if workers == 1:
        instance = app if isinstance(app, Starlette) else app()
        uvicorn.Server(_uvicorn_config(instance, host, port, limits)).run()
        return
    if isinstance(app, Starlette):
        raise ConfigError("workers: several processes need a function making the application")
    factory = app
    sock = _uvicorn_config(None, host, port, limits).bind_socket()
    children: list[int] = []
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:  # the worker
                code = 1
                try:
                    for sig in previous:
                        signal.signal(sig, signal.SIG_DFL)
                    server = uvicorn.Server(_uvicorn_config(factory(), host, port, limits))
                    server.run(sockets=[sock])
                    code = 0
                finally:
                    os._exit(code)
            children.append(pid)
        while children:
            try:
                pid, _status = os.wait()
            except ChildProcessError:
                break
            children.remove(pid)
            if not stopping:
                stop(signal.SIGTERM, None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
