"""W5: OCSP responses per second over HTTP on loopback, beside OpenSSL's responder.

Reproduce with::

    python -m benchmarks.bench_ocsp                  # 5 s per measurement, 2 client processes
    python -m benchmarks.bench_ocsp --seconds 10 --clients 4

One CA with 100 certificates (10 revoked) is served by ``trustkit serve``
(one uvicorn process) and by ``openssl ocsp -port`` (the same delegated
responder key and certificate, an index.txt written from the store). Client
processes POST requests over keep-alive connections for a fixed time:
without a nonce (trustkit answers from its cache; OpenSSL signs each) and
with a fresh nonce each (both sign each). The limit is the raw cost of one
signature with the responder key, in-process.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp

from trustkit.ca import CertificateAuthority
from trustkit.clock import SystemClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key, load_private_key_file
from trustkit.names import parse_name
from trustkit.revocation.ocsp import DELEGATED_CERT_FILE, DELEGATED_KEY_FILE, delegated_signer

PASSPHRASE = b"benchmark passphrase"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, body: bytes, timeout: float = 30) -> None:
    """Wait until ``url`` answers an OCSP request (a bare connect would stall OpenSSL)."""
    import httpx

    headers = {"Content-Type": "application/ocsp-request", "Connection": "close"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.post(url, content=body, headers=headers, timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: no OCSP responder answers")


def _requests(leaves: list[x509.Certificate], issuer: x509.Certificate, nonce: bool) -> list[bytes]:
    out = []
    for leaf in leaves:
        builder = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA1())
        if nonce:
            builder = builder.add_extension(x509.OCSPNonce(secrets.token_bytes(16)), critical=False)
        out.append(builder.build().public_bytes(serialization.Encoding.DER))
    return out


def _client(
    url: str,
    bodies: list[bytes],
    seconds: float,
    queue: multiprocessing.Queue,  # type: ignore[type-arg]
    close: bool,
) -> None:
    import httpx

    count = 0
    headers = {"Content-Type": "application/ocsp-request"}
    if close:
        # OpenSSL's responder answers one request per connection.
        headers["Connection"] = "close"
    with httpx.Client(headers=headers, timeout=30) as client:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            response = client.post(url, content=bodies[count % len(bodies)])
            assert response.status_code == 200
            count += 1
    queue.put(count)


def _rate(
    url: str, bodies: list[bytes], seconds: float, clients: int, *, close: bool = False
) -> float:
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [
        multiprocessing.Process(target=_client, args=(url, bodies, seconds, queue, close))
        for _ in range(clients)
    ]
    for p in procs:
        p.start()
    total = sum(queue.get() for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def _index_txt(ca: CertificateAuthority) -> str:
    lines = []
    for record in ca.list():
        expiry = record.not_after.strftime("%y%m%d%H%M%SZ")
        serial = f"{record.serial:X}"
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        subject = "/" + "/".join(reversed(record.subject.split(",")))
        if record.revocation_time is not None:
            revoked = record.revocation_time.strftime("%y%m%d%H%M%SZ")
            lines.append(f"R\t{expiry}\t{revoked}\t{serial}\tunknown\t{subject}")
        else:
            lines.append(f"V\t{expiry}\t\t{serial}\tunknown\t{subject}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ca = CertificateAuthority.create_root(
            "CN=Benchmark CA,O=Example Government,C=EX",
            root / "ca",
            passphrase=PASSPHRASE,
            base_url="http://pki.example.gov",
        )
        key = generate_key()
        leaves = [
            ca.issue(
                create_csr(key, parse_name(f"CN=h{i}.example.gov")),
                "tls-server",
                sans=[x509.DNSName(f"h{i}.example.gov")],
            )
            for i in range(100)
        ]
        for leaf in leaves[:10]:
            ca.revoke(leaf.serial, x509.ReasonFlags.key_compromise)
        signer = delegated_signer(ca, at=SystemClock().now(), passphrase=PASSPHRASE)
        certs = [leaf.certificate for leaf in leaves]

        # The limit: one signature with the responder key.
        assert isinstance(signer.key, ec.EllipticCurvePrivateKey)
        data = os.urandom(400)
        rounds = 2000
        start = time.perf_counter()
        for _ in range(rounds):
            signer.key.sign(data, ec.ECDSA(hashes.SHA256()))
        signatures = rounds / (time.perf_counter() - start)

        passfile = root / "pass"
        passfile.write_bytes(PASSPHRASE + b"\n")
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from trustkit.cli import main; main()",
                "serve",
                "--ca",
                str(root / "ca"),
                "--port",
                str(port),
                "--passphrase-file",
                str(passfile),
            ],
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/ocsp"
            _wait_ready(url, _requests(certs, ca.certificate, False)[0])
            cached = _rate(url, _requests(certs, ca.certificate, False), args.seconds, args.clients)
            nonced = _rate(url, _requests(certs, ca.certificate, True), args.seconds, args.clients)
        finally:
            server.terminate()
            server.wait(timeout=10)

        (root / "index.txt").write_text(_index_txt(ca))
        plain_key = root / "rkey.pem"
        plain_key.write_bytes(
            load_private_key_file(root / "ca" / DELEGATED_KEY_FILE, PASSPHRASE).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        plain_key.chmod(0o600)
        port = _free_port()
        openssl = subprocess.Popen(
            [
                "openssl",
                "ocsp",
                "-index",
                str(root / "index.txt"),
                "-port",
                str(port),
                "-rsigner",
                str(root / "ca" / DELEGATED_CERT_FILE),
                "-rkey",
                str(plain_key),
                "-CA",
                str(root / "ca" / "ca.pem"),
                "-nmin",
                "60",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_ready(url, _requests(certs, ca.certificate, False)[0])
            openssl_plain = _rate(
                url, _requests(certs, ca.certificate, False), args.seconds, args.clients
            )
            openssl_nonce = _rate(
                url, _requests(certs, ca.certificate, True), args.seconds, args.clients
            )
        finally:
            openssl.terminate()
            openssl.wait(timeout=10)
        ca.close()

    print(f"| W5 OCSP over HTTP, {args.clients} client processes | responses/s | ratio to limit |")
    print("| --- | --- | --- |")
    print(f"| one P-256 signature in-process (limit) | {signatures:,.0f} | 1.00 |")
    print(f"| trustkit serve, no nonce (cached) | {cached:,.0f} | {cached / signatures:.2f} |")
    print(f"| trustkit serve, nonce | {nonced:,.0f} | {nonced / signatures:.2f} |")
    ratio = openssl_plain / signatures
    print(f"| openssl ocsp -port, no nonce | {openssl_plain:,.0f} | {ratio:.2f} |")
    print(
        f"| openssl ocsp -port, nonce | {openssl_nonce:,.0f} | {openssl_nonce / signatures:.2f} |"
    )


if __name__ == "__main__":
    main()
