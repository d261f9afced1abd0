"""An e-service gets its TLS certificate from the national e-Services CA, and serves with it.

Three steps, as they happen between two parties:

1. ``request`` (the e-service): make a key pair, keep the private key
   encrypted on disk, and write a CSR naming the service's host names.
2. ``issue`` (the CA operator): issue the CSR under the ``tls-server``
   profile. Every issuance rule is checked and all violations are reported at
   once; a host name outside the CA's name constraints (RFC 5280 4.2.1.10;
   the demo e-Services CA may only certify names under example.gov) is refused.
3. ``serve`` (the e-service): an HTTPS server with the new certificate and
   its chain, which any TLS client that trusts the national root accepts.

Try it on the demo PKI (``trustkit demo`` writes its passphrase to demo-pki/passphrase.txt)::

    trustkit demo
    python examples/issue_service_certificate/app.py request --host permits.example.gov \\
        --passphrase-file demo-pki/passphrase.txt --out permits
    python examples/issue_service_certificate/app.py issue --ca demo-pki/eservices-ca \\
        --passphrase-file demo-pki/passphrase.txt --csr permits/service.csr \\
        -o permits/service-chain.pem
    python examples/issue_service_certificate/app.py serve --port 8444 \\
        --cert permits/service-chain.pem --key permits/service.key \\
        --passphrase-file demo-pki/passphrase.txt
    openssl s_client -connect 127.0.0.1:8444 -servername permits.example.gov \\
        -verify_hostname permits.example.gov -CAfile demo-pki/root/ca.pem -verify_return_error
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import http.server
import os
import socket
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority
from trustkit.csr import create_csr
from trustkit.encoding import load_csr
from trustkit.errors import PolicyViolation, TrustkitError
from trustkit.keys import KeyType, generate_key, save_private_key
from trustkit.names import parse_general_names, parse_name

KEY_FILE = "service.key"
CSR_FILE = "service.csr"
SERVICE_KEY_TYPE = KeyType.EC_P256
"""P-256: what every TLS client supports, and fast to sign with."""


def _passphrase(path: Path | None, what: str) -> bytes:
    if path is not None:
        return path.read_bytes().rstrip(b"\r\n")
    if "TRUSTKIT_PASSPHRASE" in os.environ:
        return os.environ["TRUSTKIT_PASSPHRASE"].encode()
    return getpass.getpass(f"Passphrase for {what}: ").encode()


def request(hosts: Sequence[str], out: Path, passphrase: bytes) -> Path:
    """A new key (``out/service.key``, encrypted) and a CSR for ``hosts`` (``out/service.csr``)."""
    out.mkdir(parents=True, exist_ok=True)
    key = generate_key(SERVICE_KEY_TYPE)
    save_private_key(key, out / KEY_FILE, passphrase)
    # The first host is also the commonName; TLS clients only look at the SANs (RFC 9525 6.3).
    csr = create_csr(
        key, parse_name(f"CN={hosts[0]}"), parse_general_names(f"dns:{h}" for h in hosts)
    )
    csr_path = out / CSR_FILE
    csr_path.write_bytes(csr.public_bytes(Encoding.PEM))
    return csr_path


def issue(ca_dir: Path, csr_path: Path, passphrase: bytes) -> bytes:
    """The certificate and its chain (PEM) for the CSR, under the ``tls-server`` profile."""
    csr = load_csr(csr_path.read_bytes(), what=str(csr_path))
    with CertificateAuthority.open(ca_dir, passphrase=passphrase) as ca:
        issued = ca.issue(csr, "tls-server")
    return issued.fullchain_pem()


class HelloHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with one line, so a client can see the TLS server works."""

    def do_GET(self) -> None:
        body = f"Hello from {self.headers.get('Host', 'the e-service')} over TLS.\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class HTTPSServer(http.server.ThreadingHTTPServer):
    """Threaded HTTP over TLS; each connection ends with a TLS close_notify."""

    daemon_threads = True

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        # Without close_notify, OpenSSL 3 clients report "unexpected eof" (RFC 8446 6.1).
        if isinstance(request, ssl.SSLSocket):
            with contextlib.suppress(OSError):
                request = request.unwrap()
        super().shutdown_request(request)


def serve(host: str, port: int, cert_chain: Path, key: Path, passphrase: bytes) -> None:
    """HTTPS with the issued certificate and chain, until interrupted."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_chain, key, password=passphrase)
    with HTTPSServer((host, port), HelloHandler) as server:
        # The handshake then runs in the connection's thread, not in accept().
        server.socket = context.wrap_socket(
            server.socket, server_side=True, do_handshake_on_connect=False
        )
        bound_host, bound_port = server.socket.getsockname()[:2]
        print(f"e-service listening on https://{bound_host}:{bound_port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    req = commands.add_parser("request", help="make the service's key and CSR")
    req.add_argument("--host", action="append", required=True, help="a DNS name; repeatable")
    req.add_argument("--out", type=Path, required=True, help="directory for key and CSR")
    req.add_argument("--passphrase-file", type=Path, help="passphrase for the new key")
    iss = commands.add_parser("issue", help="issue the CSR from the e-Services CA")
    iss.add_argument("--ca", type=Path, required=True, help="the CA directory")
    iss.add_argument("--csr", type=Path, required=True)
    iss.add_argument("--passphrase-file", type=Path, help="the CA key's passphrase")
    iss.add_argument("-o", "--output", type=Path, required=True, help="certificate and chain")
    srv = commands.add_parser("serve", help="serve HTTPS with the issued certificate")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8444, help="0 picks a free port")
    srv.add_argument("--cert", type=Path, required=True, help="certificate and chain, PEM")
    srv.add_argument("--key", type=Path, required=True)
    srv.add_argument("--passphrase-file", type=Path, help="the key's passphrase")
    args = parser.parse_args(argv)

    if args.command == "request":
        csr = request(args.host, args.out, _passphrase(args.passphrase_file, "the new key"))
        print(f"key {args.out / KEY_FILE}, request {csr}: send the request to the CA")
    elif args.command == "issue":
        chain = issue(args.ca, args.csr, _passphrase(args.passphrase_file, "the CA key"))
        args.output.write_bytes(chain)
        print(f"issued {args.output}")
    else:
        secret = _passphrase(args.passphrase_file, "the service key")
        serve(args.host, args.port, args.cert, args.key, secret)


if __name__ == "__main__":
    try:
        main()
    except PolicyViolation as refused:
        sys.exit("issuance refused:\n" + "\n".join(f"  {v}" for v in refused.violations))
    except (TrustkitError, OSError, ssl.SSLError) as error:
        sys.exit(f"issue_service_certificate: {error}")
