"""CRLs and CA certificates over HTTP, at the URLs the CAs write into what they issue.

Each path belongs to one CA: two CAs claiming the same path (the same name,
or URLs configured alike) are refused when the application is made. Else one
generation of a CA would be served at the other's URL, and a relying party
would get a CRL that does not verify for its certificate, or none that
lists its revocations (soft-fail clients then accept revoked certificates).
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..ca import CertificateAuthority
from ..clock import Clock
from ..errors import ConfigError
from ..revocation.crl import current_crl, delta_crl_url
from ._http import CERT_TYPE, CRL_TYPE, caching_headers, path_of

_CRLScope = tuple[CertificateAuthority, int | None, bool]


def _claim(owners: dict[str, CertificateAuthority], path: str, ca: CertificateAuthority) -> None:
    other = owners.setdefault(path, ca)
    if other is not ca:
        raise ConfigError(
            f"URL path {path}: claimed by CA {other.config.name} ({other.directory}) and "
            f"CA {ca.config.name} ({ca.directory}); each CA of one service needs its own "
            "name and URLs (trustkit.toml)"
        )


def publication_paths(
    authorities: Sequence[CertificateAuthority],
) -> tuple[dict[str, _CRLScope], dict[str, CertificateAuthority]]:
    """Every CRL path (CA, shard, delta) and CA certificate path; a path claimed twice
    is a :class:`~trustkit.errors.ConfigError`."""
    crl_paths: dict[str, _CRLScope] = {}
    cert_paths: dict[str, CertificateAuthority] = {}
    owners: dict[str, CertificateAuthority] = {}
    for ca in authorities:
        name = ca.config.name
        scopes: list[tuple[int | None, str]] = [
            (None, path_of(ca.config.effective_crl_url, f"/crl/{name}.crl"))
        ]
        scopes += [
            (shard, path_of(ca.crl_url(shard), f"/crl/{name}-{shard}.crl"))
            for shard in range(ca.config.crl_shards)
        ]
        for shard, path in scopes:
            _claim(owners, path, ca)
            crl_paths[path] = (ca, shard, False)
            if ca.config.crl_delta:
                _claim(owners, delta_crl_url(path), ca)
                crl_paths[delta_crl_url(path)] = (ca, shard, True)
        cert_path = path_of(ca.config.effective_ca_issuers_url, f"/ca/{name}.crt")
        _claim(owners, cert_path, ca)
        cert_paths[cert_path] = ca
    return crl_paths, cert_paths


def publication_routes(
    authorities: Sequence[CertificateAuthority], clock: Clock
) -> list[BaseRoute]:
    """``GET`` routes for every CA's CRLs (complete, partitions, deltas) and certificate."""
    crl_paths, cert_paths = publication_paths(authorities)

    def conditional(
        request: Request, body: bytes, media_type: str, headers: dict[str, str]
    ) -> Response:
        if request.headers.get("if-none-match") == headers.get("ETag"):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=media_type, headers=headers)

    async def crl_get(request: Request) -> Response:
        ca, shard, delta = crl_paths[request.url.path]
        now = clock.now()
        published = await run_in_threadpool(current_crl, ca, at=now, shard=shard, delta=delta)
        headers = caching_headers(published.der, published.this_update, published.next_update, now)
        return conditional(request, published.der, CRL_TYPE, headers)

    async def cert_get(request: Request) -> Response:
        from cryptography.hazmat.primitives.serialization import Encoding

        ca = cert_paths[request.url.path]
        der = ca.certificate.public_bytes(Encoding.DER)
        headers = caching_headers(der, ca.certificate.not_valid_before_utc, None, clock.now())
        return conditional(request, der, CERT_TYPE, headers)

    return [
        *(Route(path, crl_get, methods=["GET"]) for path in crl_paths),
        *(Route(path, cert_get, methods=["GET"]) for path in cert_paths),
    ]
