"""The HTTP service on a real uvicorn server, asked by openssl and httpx."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.revocation.conftest import PASSPHRASE, Hierarchy, make_hierarchy, openssl
from tests.serving import free_port
from trustkit.service import create_app, discover_authorities


@dataclass
class Server:
    url: str
    h: Hierarchy


async def _echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/octet-stream")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("svc")
    h = make_hierarchy(directory, shards=2, delta=True)
    authorities = discover_authorities([directory], passphrase=PASSPHRASE)
    app = create_app(
        authorities,
        passphrase=PASSPHRASE,
        extra_routes=[Route("/tsa", _echo, methods=["POST"])],
        max_request_bytes=4096,
    )
    port = free_port()
    instance = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield Server(f"http://127.0.0.1:{port}", h)
    instance.should_exit = True
    thread.join(timeout=10)
    for ca in authorities:
        ca.close()
    h.ca.close()


def _openssl_ocsp(server: Server, leaf: Path, *extra: str) -> str:
    result = openssl(
        "ocsp",
        "-issuer",
        server.h.root_pem,
        "-cert",
        leaf,
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        server.h.root_pem,
        *extra,
    )
    return result.stdout + result.stderr


@pytest.mark.interop
@pytest.mark.parametrize("nonce", [True, False], ids=["nonce", "no_nonce"])
def test_openssl_ocsp_good_revoked(server: Server, nonce: bool) -> None:
    extra = () if nonce else ("-no_nonce",)
    good = server.h.write("good.pem", server.h.good.pem())
    bad = server.h.write("bad.pem", server.h.revoked.pem())
    out = _openssl_ocsp(server, good, *extra)
    assert "Response verify OK" in out and f"{good}: good" in out, out
    out = _openssl_ocsp(server, bad, *extra)
    assert "Response verify OK" in out and f"{bad}: revoked" in out, out
    assert "keyCompromise" in out


@pytest.mark.interop
def test_openssl_ocsp_unknown_for_serial_never_issued(server: Server) -> None:
    result = openssl(
        "ocsp",
        "-issuer",
        server.h.root_pem,
        "-serial",
        "0x0123456789ABCDEF0123",
        "-url",
        f"{server.url}/ocsp",
        "-CAfile",
        server.h.root_pem,
    )
    out = result.stdout + result.stderr
    assert "Response verify OK" in out and ": unknown" in out, out


@pytest.mark.interop
def test_crls_from_the_server_verify_and_reject_revoked(server: Server) -> None:
    h = server.h
    with httpx.Client(base_url=server.url) as client:
        for path in (
            "/crl/test-root.crl",
            "/crl/test-root-0.crl",
            "/crl/test-root-1.crl",
            "/crl/test-root-delta.crl",
            "/crl/test-root-1-delta.crl",
        ):
            response = client.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"] == "application/pkix-crl"
            crl_file = h.write("fetched.crl", response.content)
            check = openssl(
                "crl", "-inform", "DER", "-in", crl_file, "-CAfile", h.root_pem, "-noout"
            )
            assert "verify OK" in check.stdout + check.stderr, path
        crl_pem = h.write("full.crl", client.get("/crl/test-root.crl").content)
    good = h.write("good.pem", h.good.pem())
    bad = h.write("bad.pem", h.revoked.pem())
    args = ("verify", "-crl_check", "-CRLfile", crl_pem, "-CAfile", h.root_pem)
    assert openssl(*args, good).returncode == 0
    rejected = openssl(*args, bad)
    assert rejected.returncode != 0 and "certificate revoked" in rejected.stdout + rejected.stderr


def test_caching_headers_and_get(server: Server) -> None:
    h = server.h
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(h.good.certificate, h.ca.certificate, hashes.SHA1())
        .build()
        .public_bytes(Encoding.DER)
    )
    with httpx.Client(base_url=server.url) as client:
        response = client.get("/ocsp/" + quote(base64.b64encode(request).decode(), safe=""))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/ocsp-response"
        assert "max-age=" in response.headers["cache-control"]
        max_age = int(response.headers["cache-control"].split("max-age=")[1].split(",")[0])
        assert 0 < max_age <= 3600
        assert response.headers["etag"] and response.headers["last-modified"]
        parsed = ocsp.load_der_ocsp_response(response.content)
        assert parsed.certificate_status is ocsp.OCSPCertStatus.GOOD
        crl = client.get("/crl/test-root.crl")
        assert "max-age=" in crl.headers["cache-control"] and crl.headers["etag"]
        again = client.get("/crl/test-root.crl", headers={"If-None-Match": crl.headers["etag"]})
        assert again.status_code == 304
        cert = client.get("/ca/test-root.crt")
        assert cert.headers["content-type"] == "application/pkix-cert"
        assert x509.load_der_x509_certificate(cert.content) == h.ca.certificate
        health = client.get("/health")
        assert health.json() == {"status": "ok", "authorities": ["test-root"]}


def test_bad_requests_get_4xx(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/ocsp/!!!notbase64").status_code == 400
        assert (
            client.post("/ocsp", content=b"x", headers={"content-type": "text/plain"}).status_code
            == 415
        )
        assert (
            client.post(
                "/ocsp", content=b"", headers={"content-type": "application/ocsp-request"}
            ).status_code
            == 400
        )
        big = client.post(
            "/ocsp", content=b"0" * 5000, headers={"content-type": "application/ocsp-request"}
        )
        assert big.status_code == 413
        assert client.get("/crl/nosuch.crl").status_code == 404
        assert client.get("/ocsp").status_code == 405
        garbage = client.post(
            "/ocsp",
            content=b"\x30\x03\x02\x01\x00",
            headers={"content-type": "application/ocsp-request"},
        )
        assert garbage.status_code == 200
        assert ocsp.load_der_ocsp_response(garbage.content).response_status is (
            ocsp.OCSPResponseStatus.MALFORMED_REQUEST
        )


def test_extra_routes_are_mounted(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:
        assert client.post("/tsa", content=b"ping").content == b"ping"


def test_revocation_is_seen_by_the_running_server(server: Server) -> None:
    h = server.h
    leaf = h.write("other.pem", h.other.pem())
    assert f"{leaf}: good" in _openssl_ocsp(server, leaf, "-no_nonce")
    h.ca.revoke(h.other.serial, x509.ReasonFlags.superseded)
    assert f"{leaf}: revoked" in _openssl_ocsp(server, leaf, "-no_nonce")
    with httpx.Client(base_url=server.url) as client:
        crl = x509.load_der_x509_crl(client.get("/crl/test-root.crl").content)
    assert crl.get_revoked_certificate_by_serial_number(h.other.serial) is not None


def test_discover_rejects_a_directory_without_cas(tmp_path: Path) -> None:
    from trustkit.errors import ConfigError

    with pytest.raises(ConfigError):
        discover_authorities([tmp_path])
