"""The service in front of a PostgreSQL store: OCSP status lookups leave the event loop."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.revocation.conftest import PASSPHRASE, make_hierarchy
from tests.serving import free_port
from trustkit.service import create_app, discover_authorities


def _request(cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA256())
    return builder.build().public_bytes(Encoding.DER)


def test_ocsp_over_http_with_a_postgresql_store(tmp_path: Path, postgres_url: str) -> None:
    h = make_hierarchy(tmp_path, store=postgres_url)
    authorities = discover_authorities([tmp_path], passphrase=PASSPHRASE)
    assert authorities[0].store.url.startswith("postgresql")
    app = create_app(authorities, passphrase=PASSPHRASE)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        issuer = h.ca.certificate
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            for issued, expected in (
                (h.good, ocsp.OCSPCertStatus.GOOD),
                (h.revoked, ocsp.OCSPCertStatus.REVOKED),
            ):
                answer = client.post(
                    "/ocsp",
                    content=_request(issued.certificate, issuer),
                    headers={"Content-Type": "application/ocsp-request"},
                )
                assert answer.status_code == 200
                response = ocsp.load_der_ocsp_response(answer.content)
                assert response.certificate_status is expected
                assert response.serial_number == issued.serial
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for ca in authorities:
            ca.close()
        h.ca.close()
