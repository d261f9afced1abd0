"""The ASGI application: OCSP, CRL and CA routes and ``/health`` over a set of CAs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect
from starlette.routing import BaseRoute

from ..ca import CertificateAuthority
from ..clock import Clock, SystemClock
from ..errors import TrustkitError
from ..revocation.ocsp import OCSPResponder, ResponderSettings
from ._discovery import check_unique
from ._health import Readiness, health_route
from ._http import HTTPProblem, Receive, Scope, Send, problem
from ._ocsp import PostHandler, ocsp_routes
from ._publish import publication_routes

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
"""Largest request body accepted; an OCSP request for many certificates fits in far less."""


class _ServiceApp(Starlette):
    """Starlette with ``POST /ocsp`` answered before routing (the responder's hot path)."""

    _ocsp_post: PostHandler | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
    authority). Two CAs with the same name (or key), or claiming the
    same URL path, are a :class:`~trustkit.errors.ConfigError`.
    """
    check_unique(authorities)
    clock = clock or SystemClock()
    responder = OCSPResponder(
        authorities, settings=settings, passphrase=passphrase, passphrases=passphrases
    )
    ocsp_post, ocsp = ocsp_routes(responder, clock, max_request_bytes)
    routes: list[BaseRoute] = [
        *ocsp,
        health_route(Readiness(authorities, responder, clock)),
        *publication_routes(authorities, clock),
        *extra_routes,
    ]
    handlers: dict[Any, Callable[..., Any]] = {
        HTTPProblem: problem,
        TrustkitError: problem,
        ClientDisconnect: problem,
    }
    app = _ServiceApp(routes=routes, exception_handlers=handlers)
    app._ocsp_post = ocsp_post
    return app
