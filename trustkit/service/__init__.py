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

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..ca import CertificateAuthority
from ..clock import Clock, SystemClock
from ..config import CONFIG_FILE
from ..errors import ConfigError, TrustkitError
from ..revocation.crl import current_crl, delta_crl_url
from ..revocation.ocsp import OCSPResponder, ResponderSettings

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "OCSP_REQUEST_TYPE",
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


class _HTTPProblem(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


def discover_authorities(
    paths: Sequence[str | Path],
    *,
    passphrase: bytes | Callable[[], bytes] | None = None,
    clock: Clock | None = None,
) -> list[CertificateAuthority]:
    """Open every CA under ``paths``: each is a CA directory or holds CA directories."""
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
                found.append(
                    CertificateAuthority.open(directory, passphrase=passphrase, clock=clock)
                )
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


def create_app(
    authorities: Sequence[CertificateAuthority],
    *,
    passphrase: bytes | None = None,
    clock: Clock | None = None,
    settings: ResponderSettings | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> Starlette:
    """The ASGI application publishing OCSP, CRLs and certificates of ``authorities``.

    ``passphrase`` opens the delegated OCSP keys (and issues them when
    needed); ``extra_routes`` are mounted beside the built-in ones (such as
    ``POST /tsa`` for a timestamp authority).
    """
    clock = clock or SystemClock()
    responder = OCSPResponder(authorities, settings=settings, passphrase=passphrase)
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

    def _ocsp_response(body: bytes, *, cacheable: bool) -> Response:
        now = clock.now()
        answer = responder.respond(body, at=now)
        headers = _ocsp_headers(answer, now) if cacheable else {"Cache-Control": "no-cache"}
        return Response(answer, media_type=OCSP_RESPONSE_TYPE, headers=headers)

    async def ocsp_post(request: Request) -> Response:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != OCSP_REQUEST_TYPE:
            raise _HTTPProblem(415, f"Content-Type: expected {OCSP_REQUEST_TYPE} (RFC 6960 A.1)")
        body = await _read_body(request, max_request_bytes)
        if not body:
            raise _HTTPProblem(400, "request body: empty; expected a DER OCSPRequest")
        return _ocsp_response(body, cacheable=False)

    async def ocsp_get(request: Request) -> Response:
        encoded = unquote(request.path_params["encoded"])
        if len(encoded) > max_request_bytes * 2:
            raise _HTTPProblem(414, "OCSP request in the URL: too long")
        try:
            body = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise _HTTPProblem(400, "OCSP GET: not base64 (RFC 6960 A.1)") from None
        return _ocsp_response(body, cacheable=True)

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
            return Response(f"{exc}\n", status_code=exc.status, media_type="text/plain")
        return Response(f"{exc}\n", status_code=503, media_type="text/plain")

    routes: list[BaseRoute] = [
        Route("/ocsp", ocsp_post, methods=["POST"]),
        Route("/ocsp/{encoded:path}", ocsp_get, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        *(Route(path, crl_get, methods=["GET"]) for path in crl_paths),
        *(Route(path, cert_get, methods=["GET"]) for path in cert_paths),
        *extra_routes,
    ]
    handlers: dict[Any, Callable[..., Any]] = {
        _HTTPProblem: problem,
        TrustkitError: problem,
    }
    return Starlette(routes=routes, exception_handlers=handlers)


def serve(app: Starlette, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run ``app`` with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning")
