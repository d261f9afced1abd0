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
Everything else that takes time (store queries, signing, key opening) runs in
worker threads on every store backend, and large OCSP requests have a lane of
their own (:mod:`._ocsp`), so ``/health`` and ordinary answers keep flowing
while hostile requests arrive. ``/health`` answers 200 only when every CA's
store answers and its keys open (:mod:`._health`). Two CAs with the same name
or URL are refused before anything is served (:mod:`._discovery`).

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
the store or a missing key is 503 with a fixed sentence (the detail is logged,
never sent: no path, store URL or key detail). Nothing answers 500.

The service holds no state of its own: CRLs are recorded in the store and
reused while fresh, so several processes on one PostgreSQL store answer alike.
Starlette and uvicorn are imported only in this package. Modules: ``_app``
(assembly), ``_ocsp`` (OCSP routes), ``_publish`` (CRL and CA routes),
``_health``, ``_discovery`` (which CAs), ``_http`` (shared HTTP pieces),
``_server`` (uvicorn and its limits).
"""

from __future__ import annotations

from ._app import DEFAULT_MAX_REQUEST_BYTES, create_app
from ._discovery import check_unique, discover_authorities
from ._http import OCSP_REQUEST_TYPE
from ._server import ServerLimits, serve

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "OCSP_REQUEST_TYPE",
    "ServerLimits",
    "check_unique",
    "create_app",
    "discover_authorities",
    "serve",
]
