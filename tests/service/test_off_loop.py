"""Store queries and signing never run on the event loop, SQLite store included.

The real responder and store run; a spy records the thread each call ran on.
Work on the server's own thread (the event loop) would stall every other
connection while it lasts: with a SQLite store, twenty clients sending
700-CertID requests once made ``/health`` time out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.revocation.conftest import PASSPHRASE, Hierarchy, make_hierarchy
from trustkit.revocation.ocsp import OCSPResponder
from trustkit.service import create_app, discover_authorities
from trustkit.store.sql import SQLStore

from .test_health_and_names import running


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Hierarchy]]:
    h = make_hierarchy(tmp_path)
    cas = discover_authorities([tmp_path / "ca"], passphrase=PASSPHRASE)
    try:
        with running(create_app(cas, passphrase=PASSPHRASE)) as url:
            yield url, h
    finally:
        for ca in cas:
            ca.close()
        h.ca.close()


def _on_event_loop() -> bool:
    """Whether the calling thread is running an asyncio event loop right now."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _spy(monkeypatch: pytest.MonkeyPatch, owner: type, name: str, seen: list[bool]) -> None:
    """Record, for each call of ``owner.name``, whether it ran on an event loop."""
    original = getattr(owner, name)

    def recording(*args: Any, **kwargs: Any) -> Any:
        seen.append(_on_event_loop())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recording)


def _request(h: Hierarchy, nonce: bool) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(
        h.good.certificate, h.ca.certificate, hashes.SHA256()
    )
    if nonce:
        from cryptography import x509

        builder = builder.add_extension(x509.OCSPNonce(b"\x01" * 16), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def test_ocsp_and_health_work_runs_in_worker_threads(
    served: tuple[str, Hierarchy], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, h = served
    responded: list[bool] = []
    queried: list[bool] = []
    _spy(monkeypatch, OCSPResponder, "respond", responded)
    _spy(monkeypatch, SQLStore, "revocation_seq", queried)
    _spy(monkeypatch, SQLStore, "status", queried)
    headers = {"Content-Type": "application/ocsp-request"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for nonce in (True, False):
            answer = client.post("/ocsp", content=_request(h, nonce), headers=headers)
            assert ocsp.load_der_ocsp_response(answer.content).response_status is (
                ocsp.OCSPResponseStatus.SUCCESSFUL
            )
        assert client.get("/health").status_code == 200
    assert responded and queried
    assert not any(responded), responded
    assert not any(queried), queried
    # The twin: called from a coroutine, the spy does see the event loop.
    direct: list[bool] = []
    _spy(monkeypatch, SQLStore, "revocation_seq", direct)

    async def on_loop() -> None:
        h.ca.store.revocation_seq(h.ca.id)

    asyncio.run(on_loop())
    assert direct == [True]
