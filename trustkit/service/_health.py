"""``GET /health``: 200 only when every CA can answer, 503 with the reason otherwise.

A CA is ready when its store answers and its signing keys open: the CA key
(CRLs, and OCSP in ``ca`` signing mode) and the OCSP responder's key (the
delegated one is issued or renewed here if needed). Keys are opened once, on
the first check; a key that cannot be opened (wrong passphrase, missing file,
HSM refusal) stays a failure until the service is restarted with the right
secret, so a probe never pays for a key derivation again. The store is asked
on every check. The checks run in a worker thread; the reasons sent are fixed
phrases, the detail goes to the log (``trustkit.service``), never a path.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..ca import CertificateAuthority
from ..clock import Clock
from ..revocation.ocsp import OCSPResponder
from ._http import log

STORE_UNAVAILABLE = "store unavailable"
KEY_UNAVAILABLE = "signing key cannot be opened"


class Readiness:
    """Whether each CA can answer now; keys are tried once, the store each time."""

    def __init__(
        self, authorities: Sequence[CertificateAuthority], responder: OCSPResponder, clock: Clock
    ) -> None:
        self._authorities = tuple(authorities)
        self._responder = responder
        self._clock = clock
        self._keys: dict[str, bool] = {}
        self._lock = threading.Lock()

    def problems(self) -> dict[str, str]:
        """CA name -> what keeps it from answering; empty when all are ready."""
        found: dict[str, str] = {}
        for ca in self._authorities:
            name = ca.config.name
            try:
                ca.store.revocation_seq(ca.id)
            except Exception as exc:  # any failure of the store means not ready
                log.warning("health: CA %s: store: %s", name, exc)
                found[name] = STORE_UNAVAILABLE
                continue
            if not self._key_ready(ca):
                found[name] = KEY_UNAVAILABLE
        return found

    def _key_ready(self, ca: CertificateAuthority) -> bool:
        with self._lock:  # one key derivation per CA, even with probes at once
            known = self._keys.get(ca.id)
            if known is None:
                try:
                    ca.key  # noqa: B018 - opens (and keeps) the CA key
                    self._responder.check_signer(ca, at=self._clock.now())
                    known = True
                except Exception as exc:  # any failure to open a key means not ready
                    log.warning("health: CA %s: key: %s", ca.config.name, exc)
                    known = False
                self._keys[ca.id] = known
        return known


def health_route(readiness: Readiness) -> Route:
    """The ``/health`` route answering from ``readiness``."""
    names = [ca.config.name for ca in readiness._authorities]

    async def health(request: Request) -> Response:
        problems = await run_in_threadpool(readiness.problems)
        if problems:
            body = {"status": "unavailable", "authorities": names, "unavailable": problems}
            return JSONResponse(body, status_code=503, headers={"Retry-After": "10"})
        return JSONResponse({"status": "ok", "authorities": names})

    return Route("/health", health, methods=["GET"])
