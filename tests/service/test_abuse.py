"""The service under abuse, on a real uvicorn server process on 127.0.0.1.

Oversized and endless bodies, silent and trickling clients, wrong media types,
bad base64, path traversal, random bytes over HTTP and raw TCP: 4xx answers or
a closed connection, never 5xx, and the server keeps answering everyone else
with memory that does not grow without bound. Every loop is bounded in count
(and by socket timeouts in time); nothing listens beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import random
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.revocation.conftest import PASSPHRASE, Hierarchy, make_hierarchy
from tests.serving import free_port, stop, wait_for_health
from trustkit.revocation.ocsp import delegated_signer

MAX_BODY = 4096
REQUEST_TIMEOUT = 2.0
OCSP_TYPE = {"Content-Type": "application/ocsp-request"}

_SERVER = """
import sys
from datetime import timedelta
from trustkit.revocation.ocsp import ResponderSettings
from trustkit.service import ServerLimits, create_app, discover_authorities, serve

directory, port, secret, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
passphrase = open(secret, "rb").read().strip()

def make():
    return create_app(
        discover_authorities([directory], passphrase=passphrase),
        passphrase=passphrase,
        settings=ResponderSettings(revocation_poll=timedelta(seconds=1)),
        max_request_bytes=MAX_BODY,
    )

serve(
    make,
    host="127.0.0.1",
    port=port,
    workers=workers,
    limits=ServerLimits(
        request_timeout=REQUEST_TIMEOUT, keep_alive_timeout=2.0, max_head_bytes=8192
    ),
)
""".replace("MAX_BODY", str(MAX_BODY)).replace("REQUEST_TIMEOUT", repr(REQUEST_TIMEOUT))


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    h: Hierarchy
    responder: x509.Certificate


def _start(directory: Path, workers: int) -> Iterator[Server]:
    h = make_hierarchy(directory)
    signer = delegated_signer(h.ca, at=h.ca.clock.now(), passphrase=PASSPHRASE)
    secret = directory / "passphrase"
    secret.write_bytes(PASSPHRASE + b"\n")
    secret.chmod(0o600)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(directory), str(port), str(secret), str(workers)],
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, process)
        yield Server(url, port, process, h, signer.certificate)
    finally:
        stop(process)
        h.ca.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("abuse"), workers=1)


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("workers"), workers=2)


# --- helpers --------------------------------------------------------------------------


def _request(leaf: x509.Certificate, issuer: x509.Certificate, nonce: bytes | None = None) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(Encoding.DER)


def _check_ocsp(
    der: bytes,
    server: Server,
    leaf: x509.Certificate,
    status: ocsp.OCSPCertStatus,
    nonce: bytes | None = None,
) -> None:
    """Verify an OCSP response fully with cryptography; raise if anything is off."""
    response = ocsp.load_der_ocsp_response(der)
    if response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
        raise AssertionError(f"response status {response.response_status}")
    if response.serial_number != leaf.serial_number:
        raise AssertionError("answer for another serial")
    if response.certificate_status is not status:
        raise AssertionError(f"{response.certificate_status} instead of {status}")
    if nonce is not None:
        echoed = response.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
        if echoed != nonce:
            raise AssertionError("nonce not echoed")
    (signer,) = response.certificates
    if signer != server.responder:
        raise AssertionError("signed by another responder certificate")
    signer.verify_directly_issued_by(server.h.ca.certificate)
    key = signer.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    assert response.signature_hash_algorithm is not None
    key.verify(
        response.signature, response.tbs_response_bytes, ec.ECDSA(response.signature_hash_algorithm)
    )


def _raw(port: int, data: bytes, *, timeout: float = 15.0, half_close: bool = True) -> bytes:
    """Send ``data`` on a fresh connection, close the sending side, read until closed.

    ``half_close`` False leaves the sending side open (the request says
    ``Connection: close``): an end of input may cancel a slow answer.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may close before everything is sent
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def _status(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, ``None`` if the connection was just closed."""
    if not answer:
        return None
    line = answer.split(b"\r\n", 1)[0].split()
    assert line[0].startswith(b"HTTP/1."), answer[:100]
    return int(line[1])


def _closed(sock: socket.socket, limit: float) -> bool:
    """Whether the server closes ``sock`` within ``limit`` seconds (reading what it sends)."""
    deadline = time.monotonic() + limit
    while True:
        left = max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([sock], [], [], left)
        if ready:
            try:
                if not sock.recv(65536):
                    return True
            except ConnectionResetError:
                return True
        elif left == 0:
            return False


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _healthy(server: Server) -> bool:
    return httpx.get(server.url + "/health", timeout=10).status_code == 200


# --- the verifier itself --------------------------------------------------------------


def test_check_ocsp_rejects_tampered_and_wrong_answers(server: Server) -> None:
    h = server.h
    nonce = b"n" * 16
    der = httpx.post(
        server.url + "/ocsp",
        content=_request(h.good.certificate, h.ca.certificate, nonce),
        headers=OCSP_TYPE,
    ).content
    _check_ocsp(der, server, h.good.certificate, ocsp.OCSPCertStatus.GOOD, nonce)
    with pytest.raises(AssertionError):
        _check_ocsp(der, server, h.good.certificate, ocsp.OCSPCertStatus.REVOKED, nonce)
    with pytest.raises(AssertionError):
        _check_ocsp(der, server, h.good.certificate, ocsp.OCSPCertStatus.GOOD, b"m" * 16)
    # A byte of thisUpdate changed (inside the signed data): the signature fails.
    response = ocsp.load_der_ocsp_response(der)
    tbs = response.tbs_response_bytes
    index = der.index(tbs) + len(tbs) - 40
    tampered = der[:index] + bytes([der[index] ^ 0x01]) + der[index + 1 :]
    with pytest.raises((InvalidSignature, AssertionError, ValueError)):
        _check_ocsp(tampered, server, h.good.certificate, ocsp.OCSPCertStatus.GOOD, nonce)


# --- oversized bodies -----------------------------------------------------------------


def test_declared_oversized_body_is_refused_before_it_is_sent(server: Server) -> None:
    head = (
        b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
        b"Content-Length: 1000000000\r\n\r\n"
    )
    # Not a byte of the body is sent: the answer can only come from the header.
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head)
        answer = sock.recv(65536)
        assert _status(answer) == 413
        assert b"connection: close" in answer.lower()
        assert _closed(sock, 15)
    # Twin: a body within the limit is read and answered.
    small = head.replace(b"1000000000", b"5") + b"\x30\x03\x02\x01\x00"
    assert _status(_raw(server.port, small.replace(b"HTTP/1.1", b"HTTP/1.0"))) == 200


def test_streamed_body_is_cut_at_the_limit(server: Server) -> None:
    head = (
        b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"4000\r\n" + b"\x00" * 0x4000 + b"\r\n"
    budget = 64 * 1024 * 1024  # what a server reading everything would take in
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(head)
        try:
            while sent < budget:
                sock.sendall(chunk)
                sent += len(chunk)
                if select.select([sock], [], [], 0)[0]:
                    answer = sock.recv(65536)
                    break
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            pass
    assert sent < budget, "the server read 64 MiB of a body limited to 4 KiB"
    assert answer == b"" or _status(answer) == 413
    # Twin: a chunked body within the limit is answered.
    body = b"\x30\x03\x02\x01\x00"
    small = head + b"5\r\n" + body + b"\r\n0\r\n\r\n"
    assert _status(_raw(server.port, small)) == 200
    assert _healthy(server)


# --- media types, base64, paths -------------------------------------------------------


def test_wrong_content_types_get_415(server: Server) -> None:
    body = _request(server.h.good.certificate, server.h.ca.certificate)
    with httpx.Client(base_url=server.url, timeout=15) as client:
        for content_type in (None, "text/plain", "application/json", "application/ocsp-response"):
            headers = {} if content_type is None else {"Content-Type": content_type}
            assert client.post("/ocsp", content=body, headers=headers).status_code == 415
        ok = client.post(
            "/ocsp", content=body, headers={"Content-Type": "Application/OCSP-Request; x=1"}
        )
        assert ok.status_code == 200
    _check_ocsp(ok.content, server, server.h.good.certificate, ocsp.OCSPCertStatus.GOOD)


def test_malformed_base64_get_is_400(server: Server) -> None:
    good = base64.b64encode(_request(server.h.good.certificate, server.h.ca.certificate))
    with httpx.Client(base_url=server.url, timeout=15) as client:
        for bad in ("!!!!", "abc", "YQ", "a" * 5, "%00%01", quote("Zm9v YmFy", safe=""), "****=="):
            assert client.get(f"/ocsp/{bad}").status_code == 400, bad
        ok = client.get("/ocsp/" + quote(good.decode(), safe=""))
        assert ok.status_code == 200
    _check_ocsp(ok.content, server, server.h.good.certificate, ocsp.OCSPCertStatus.GOOD)


@pytest.mark.parametrize(
    "path",
    [
        "/crl/../../../etc/passwd",
        "/crl/..%2f..%2f..%2fetc%2fpasswd",
        "/crl/%2e%2e/%2e%2e/trustkit.toml",
        "/ca/../ca/ca.key",
        "/ca/..%2fca.key",
        "/ca/%2e%2e%2fca%2fca.key",
        "/crl/test-root.crl/../../trustkit.toml",
        "/ca/..\\..\\trustkit.toml",
        "/crl/test-root.crl%00.txt",
        "/ca//etc/passwd",
    ],
)
def test_path_traversal_is_404(server: Server, path: str) -> None:
    answer = _raw(
        server.port,
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
        half_close=False,
    )
    assert _status(answer) == 404, answer[:200]
    assert b"PRIVATE KEY" not in answer and b"root:" not in answer


def test_published_paths_are_found(server: Server) -> None:
    # Twin of the traversal test: the real names answer.
    for path in ("/crl/test-root.crl", "/ca/test-root.crt"):
        answer = _raw(
            server.port,
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
            half_close=False,
        )
        assert _status(answer) == 200, path


# --- random bytes ---------------------------------------------------------------------


def test_random_bytes_over_raw_tcp(server: Server) -> None:
    rng = random.Random(7)
    for round_ in range(150):
        size = rng.randint(1, 3000)
        data = rng.randbytes(size)
        if round_ % 3 == 0:
            data = b"POST /ocsp HTTP/1.1\r\n" + data  # garbage after a plausible start
        status = _status(_raw(server.port, data))
        assert status is None or 400 <= status < 500, (round_, status)
    assert _healthy(server)


def test_random_http_requests_never_5xx(server: Server) -> None:
    rng = random.Random(11)
    methods = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "BREW"]
    paths = ["/ocsp", "/ocsp/", "/crl/", "/ca/", "/health", "/", "/tsa", "/ocsp/AAAA"]
    types = ["application/ocsp-request", "text/plain", "", "multipart/form-data; boundary=x"]
    with httpx.Client(base_url=server.url, timeout=15) as client:
        for _ in range(200):
            path = rng.choice(paths) + quote(rng.randbytes(rng.randint(0, 12)).hex())
            headers = {"Content-Type": rng.choice(types)}
            response = client.request(
                rng.choice(methods),
                path,
                content=rng.randbytes(rng.randint(0, 6000)),
                headers=headers,
            )
            assert response.status_code < 500, (path, response.status_code)
        # Random bytes as an OCSP request body: an OCSP answer, never an HTTP error.
        for _ in range(100):
            response = client.post(
                "/ocsp", content=rng.randbytes(rng.randint(1, MAX_BODY)), headers=OCSP_TYPE
            )
            assert response.status_code == 200
            parsed = ocsp.load_der_ocsp_response(response.content)
            assert parsed.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# --- slow clients ---------------------------------------------------------------------


def test_slow_and_silent_clients_do_not_stop_the_others(server: Server) -> None:
    h = server.h
    silent = [socket.create_connection(("127.0.0.1", server.port), timeout=15) for _ in range(30)]
    trickling = []
    for _ in range(5):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
        sock.sendall(
            b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/ocsp-request\r\nContent-Length: 200\r\n\r\n\x30"
        )
        trickling.append(sock)
    head_trickling = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    head_trickling.sendall(b"POST /ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        # Everyone else is answered meanwhile, correctly.
        with httpx.Client(base_url=server.url, timeout=15) as client:
            for i in range(20):
                nonce = bytes([i + 1]) * 16
                response = client.post(
                    "/ocsp",
                    content=_request(h.revoked.certificate, h.ca.certificate, nonce),
                    headers=OCSP_TYPE,
                )
                _check_ocsp(
                    response.content,
                    server,
                    h.revoked.certificate,
                    ocsp.OCSPCertStatus.REVOKED,
                    nonce,
                )
        # The slow ones are cut off after the request time limit (2 s here).
        stopped = 0
        for _ in range(60):  # at most 60 bytes, 0.25 s apart: 15 s
            for sock in [*trickling, head_trickling]:
                try:
                    sock.sendall(b"\x00" if sock is not head_trickling else b"X-Slow: 1\r\n")
                except OSError:
                    pass
            time.sleep(0.25)
            if all(_closed(sock, 0) for sock in [*trickling, head_trickling]):
                stopped = 1
                break
        assert stopped, "a trickling client was not disconnected"
        assert all(_closed(sock, 15) for sock in silent), "a silent client was not disconnected"
    finally:
        for sock in [*silent, *trickling, head_trickling]:
            sock.close()
    assert _healthy(server)


def test_oversized_request_head_is_refused(server: Server) -> None:
    big = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    assert _status(_raw(server.port, big)) == 400
    big_url = b"GET /ocsp/" + b"A" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert _status(_raw(server.port, big_url)) == 400
    # Twin: a head within the limit is answered.
    fine = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: " + b"a" * 2000
    assert _status(_raw(server.port, fine + b"\r\n\r\n")) == 200


# --- memory and load ------------------------------------------------------------------


def _garbage(client: httpx.Client, port: int, rng: random.Random, i: int) -> None:
    kind = i % 5
    if kind == 0:
        response = client.post(
            "/ocsp", content=rng.randbytes(rng.randint(1, MAX_BODY)), headers=OCSP_TYPE
        )
        assert response.status_code == 200
    elif kind == 1:
        response = client.post("/ocsp", content=b"x" * (MAX_BODY + 1), headers=OCSP_TYPE)
        assert response.status_code == 413
    elif kind == 2:
        assert client.get("/ocsp/" + "%21" * rng.randint(1, 50)).status_code == 400
    elif kind == 3:
        assert (
            client.post("/ocsp", content=b"x", headers={"Content-Type": "text/xml"}).status_code
            == 415
        )
    else:
        status = _status(_raw(port, rng.randbytes(rng.randint(1, 500)), timeout=15))
        assert status is None or 400 <= status < 500


def test_memory_stays_bounded_under_garbage(server: Server) -> None:
    rng = random.Random(3)
    with httpx.Client(base_url=server.url, timeout=15) as client:
        for i in range(300):  # warm up: caches, allocator arenas
            _garbage(client, server.port, rng, i)
        before = _rss_kib(server.process.pid)
        for i in range(3000):
            _garbage(client, server.port, rng, i)
        after = _rss_kib(server.process.pid)
    # Generous: 3,000 garbage requests must not cost 40 MiB (nothing is kept per request).
    assert after - before < 40 * 1024, (before, after)
    assert _healthy(server)


def test_load_with_garbage_mixed_in_keeps_answering_correctly(server: Server) -> None:
    h = server.h
    cases = [
        (h.good.certificate, ocsp.OCSPCertStatus.GOOD),
        (h.revoked.certificate, ocsp.OCSPCertStatus.REVOKED),
    ]
    failures: list[str] = []
    answered = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + 240  # a bound, not a measurement

    def good_client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(150):
                if time.monotonic() > deadline:
                    return
                leaf, status = cases[i % 2]
                nonce = rng.randbytes(16) if i % 3 == 0 else None
                try:
                    if i % 4 == 1:
                        encoded = base64.b64encode(_request(leaf, h.ca.certificate, nonce))
                        response = client.get("/ocsp/" + quote(encoded.decode(), safe=""))
                    else:
                        response = client.post(
                            "/ocsp",
                            content=_request(leaf, h.ca.certificate, nonce),
                            headers=OCSP_TYPE,
                        )
                    _check_ocsp(response.content, server, leaf, status, nonce)
                    with lock:
                        answered[0] += 1
                except Exception as exc:  # collected, reported below
                    with lock:
                        failures.append(f"{type(exc).__name__}: {exc}")

    def bad_client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(150):
                if time.monotonic() > deadline:
                    return
                try:
                    _garbage(client, server.port, rng, i)
                except Exception as exc:  # collected, reported below
                    with lock:
                        failures.append(f"garbage {i}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=good_client, args=(n,)) for n in range(4)]
    threads += [threading.Thread(target=bad_client, args=(100 + n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[:5]
    assert answered[0] == 600, f"only {answered[0]} of 600 answered before the bound"


# --- several workers ------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def test_workers_share_revocations_through_the_store(workers: Server) -> None:
    h = workers.h
    assert len(_children(workers.process.pid)) == 2
    request = _request(h.other.certificate, h.ca.certificate)

    def ask() -> bytes:
        # A new connection each time: the kernel hands them to either worker.
        return httpx.post(
            workers.url + "/ocsp", content=request, headers={**OCSP_TYPE, "Connection": "close"}
        ).content

    for _ in range(10):
        _check_ocsp(ask(), workers, h.other.certificate, ocsp.OCSPCertStatus.GOOD)
    h.ca.revoke(h.other.serial, x509.ReasonFlags.superseded)
    streak = 0
    for _ in range(200):  # each worker polls the store at most a second late
        try:
            _check_ocsp(ask(), workers, h.other.certificate, ocsp.OCSPCertStatus.REVOKED)
            streak += 1
        except AssertionError:
            streak = 0
            time.sleep(0.1)
        if streak == 20:
            break
    assert streak == 20, "a worker kept answering good after the revocation"
