"""Citizen login to an e-service with the national ID card certificate (mutual TLS).

The e-service asks the browser for a client certificate during the TLS
handshake, and trustkit, not the TLS library, decides whether the citizen may
log in: the certificate must chain to the national root, be fit for purpose
``citizen-auth`` (digitalSignature key usage, clientAuth extended key usage)
and be shown not revoked by a CRL or an OCSP response (hard-fail: no evidence,
no login). The service then greets the citizen by the name in the certificate
(givenName and surname) and shows the semantics identifier (serialNumber,
ETSI EN 319 412-1), which is what an e-service uses as the person's key.

Why pyOpenSSL and not the standard ``ssl`` module: ``ssl`` refuses a client
certificate it cannot verify itself, so it would decide before trustkit could
(and it knows neither the citizen-auth purpose nor hard-fail revocation), and
in Python 3.11 it cannot hand over the client's chain. With pyOpenSSL the TLS
layer asks for a certificate, checks the client's proof of possession of the
key (the handshake's CertificateVerify), accepts the chain as it is, and
passes it to :func:`trustkit.validation.validate`. HTTP/1.1 is parsed and
written by h11, so the example stays one small file without a web framework.

Try it on the demo PKI (``trustkit demo`` writes its passphrase to
demo-pki/passphrase.txt and its CRLs to demo-pki/public/crl/)::

    trustkit demo
    python examples/e_service_login/app.py --port 8443 \\
        --cert demo-pki/certs/portal-chain.pem --key demo-pki/certs/portal.key \\
        --passphrase-file demo-pki/passphrase.txt --trust demo-pki/root/ca.pem \\
        --crl demo-pki/public/crl/root.crl --crl demo-pki/public/crl/citizen-ca.crl
    curl --cacert demo-pki/root/ca.pem --resolve portal.example.gov:8443:127.0.0.1 \\
        --cert-type P12 --cert demo-pki/certs/alice.p12:"$(cat demo-pki/certs/alice.p12.pass)" \\
        https://portal.example.gov:8443/

With ``--online`` instead of ``--crl``, the service asks the OCSP responder
named in each certificate (and fetches CRLs from their distribution points),
as served by ``trustkit serve``.
"""

from __future__ import annotations

import argparse
import getpass
import os
import socketserver
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path

import h11
from cryptography import x509
from cryptography.x509.oid import NameOID
from OpenSSL import SSL, crypto

from trustkit.encoding import load_certificates, load_crl
from trustkit.errors import TrustkitError, ValidationError
from trustkit.keys import load_private_key_file
from trustkit.validation import (
    HttpFetcher,
    Purpose,
    RevocationMode,
    ValidationPolicy,
    validate,
)

MAX_REQUEST_BYTES = 16 * 1024
"""Largest request head read; a login page needs no more."""

LOGIN_POLICY = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
"""No login without evidence that neither the citizen's nor a CA certificate is revoked."""


@dataclass(frozen=True)
class Settings:
    """What the service trusts and where its revocation evidence comes from."""

    trust_anchors: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    crl_files: tuple[Path, ...]
    """Re-read at every login, so a CRL the CA publishes again is picked up at once."""
    online: bool
    """Fetch OCSP responses and CRLs from the URLs in the certificates."""


@dataclass(frozen=True)
class Answer:
    """The HTTP status and text the citizen sees."""

    status: int
    text: str


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    return str(values[0].value) if values else None


def citizen_name(certificate: x509.Certificate) -> str:
    """givenName and surname from the subject, else its commonName."""
    subject = certificate.subject
    parts = [_attribute(subject, NameOID.GIVEN_NAME), _attribute(subject, NameOID.SURNAME)]
    if all(parts):
        return " ".join(p for p in parts if p)
    return _attribute(subject, NameOID.COMMON_NAME) or subject.rfc4514_string()


def decide(
    certificate: x509.Certificate | None,
    chain: Sequence[x509.Certificate],
    settings: Settings,
    *,
    at: datetime,
) -> Answer:
    """Let the citizen in, or say why not. trustkit makes the decision."""
    if certificate is None:
        return Answer(401, "Login refused: no client certificate was presented.\n")
    try:
        crls = [load_crl(path.read_bytes(), what=str(path)) for path in settings.crl_files]
    except (OSError, TrustkitError) as exc:
        return Answer(503, f"Login unavailable: revocation data cannot be read ({exc}).\n")
    try:
        validate(
            certificate,
            trust_anchors=settings.trust_anchors,
            intermediates=[*chain, *settings.intermediates],
            at=at,
            purpose=Purpose.CITIZEN_AUTH,
            crls=crls,
            policy=LOGIN_POLICY,
            fetcher=HttpFetcher() if settings.online else None,
        )
    except ValidationError as exc:
        return Answer(403, f"Login refused: {exc}\n")
    identifier = _attribute(certificate.subject, NameOID.SERIAL_NUMBER) or "no identifier"
    return Answer(200, f"Hello, {citizen_name(certificate)}! You are logged in as {identifier}.\n")


def _read_request(conn: SSL.Connection, http: h11.Connection) -> h11.Request | None:
    received = 0
    while True:
        event = http.next_event()
        if isinstance(event, h11.Request):
            return event
        if event is not h11.NEED_DATA or received > MAX_REQUEST_BYTES:
            return None
        try:
            data = conn.recv(4096)
        except SSL.ZeroReturnError:
            data = b""
        received += len(data)
        http.receive_data(data)


def _send(conn: SSL.Connection, http: h11.Connection, answer: Answer) -> None:
    body = answer.text.encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    for event in (
        h11.Response(
            status_code=answer.status,
            headers=headers,
            reason=HTTPStatus(answer.status).phrase.encode(),
        ),
        h11.Data(data=body),
        h11.EndOfMessage(),
    ):
        conn.sendall(http.send(event) or b"")


class LoginHandler(socketserver.BaseRequestHandler):
    """One connection: TLS handshake, one HTTP request, trustkit's answer."""

    server: LoginServer

    def handle(self) -> None:
        conn = SSL.Connection(self.server.tls, self.request)
        conn.set_accept_state()
        try:
            conn.do_handshake()
            http = h11.Connection(h11.SERVER)
            if _read_request(conn, http) is None:
                return
            answer = decide(
                conn.get_peer_certificate(as_cryptography=True),
                conn.get_peer_cert_chain(as_cryptography=True) or [],
                self.server.settings,
                at=datetime.now(UTC),
            )
            _send(conn, http, answer)
            conn.shutdown()
        except (SSL.Error, h11.ProtocolError) as exc:
            print(f"{self.client_address[0]}: connection dropped ({exc!r})", file=sys.stderr)


class LoginServer(socketserver.ThreadingTCPServer):
    """A threaded TCP server whose handler speaks TLS with ``tls``."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], tls: SSL.Context, settings: Settings) -> None:
        self.tls = tls
        self.settings = settings
        super().__init__(address, LoginHandler)


def _accept_any(conn: SSL.Connection, cert: crypto.X509, err: int, depth: int, ok: int) -> bool:
    # The TLS layer only collects the chain; trustkit.validation decides in decide().
    return True


def tls_context(
    cert_chain: Sequence[x509.Certificate], key_path: Path, passphrase: bytes | None
) -> SSL.Context:
    """A TLS server context that asks for, and accepts, any client certificate."""
    context = SSL.Context(SSL.TLS_SERVER_METHOD)
    context.set_min_proto_version(SSL.TLS1_2_VERSION)
    context.use_certificate(cert_chain[0])
    for intermediate in cert_chain[1:]:
        context.add_extra_chain_cert(intermediate)
    context.use_privatekey(load_private_key_file(key_path, passphrase))
    context.check_privatekey()
    # VERIFY_PEER without FAIL_IF_NO_PEER_CERT: a citizen without a certificate gets
    # a readable 401 page instead of a TLS alert.
    context.set_verify(SSL.VERIFY_PEER, _accept_any)
    return context


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    parser.add_argument("--cert", type=Path, required=True, help="server certificate and chain")
    parser.add_argument("--key", type=Path, required=True, help="server private key")
    parser.add_argument("--passphrase-file", type=Path, help="the key's passphrase")
    parser.add_argument("--trust", type=Path, required=True, help="national root CA(s), PEM")
    parser.add_argument("--intermediates", type=Path, help="issuing CA certificates, PEM")
    parser.add_argument("--crl", type=Path, action="append", default=[], help="repeatable")
    parser.add_argument("--online", action="store_true", help="use OCSP/CRL URLs")
    args = parser.parse_args(argv)

    if args.passphrase_file is not None:
        passphrase: bytes | None = args.passphrase_file.read_bytes().rstrip(b"\r\n")
    elif "TRUSTKIT_PASSPHRASE" in os.environ:
        passphrase = os.environ["TRUSTKIT_PASSPHRASE"].encode()
    else:
        passphrase = getpass.getpass("Passphrase for the server key: ").encode() or None
    settings = Settings(
        trust_anchors=tuple(load_certificates(args.trust.read_bytes())),
        intermediates=(
            tuple(load_certificates(args.intermediates.read_bytes())) if args.intermediates else ()
        ),
        crl_files=tuple(args.crl),
        online=args.online,
    )
    tls = tls_context(load_certificates(args.cert.read_bytes()), args.key, passphrase)
    # Tell browsers which CA the certificate must come from, so they offer the ID card.
    for anchor in settings.trust_anchors:
        tls.add_client_ca(crypto.X509.from_cryptography(anchor))
    with LoginServer((args.host, args.port), tls, settings) as server:
        host, port = server.socket.getsockname()[:2]
        print(f"e-service login listening on https://{host}:{port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    try:
        main()
    except (TrustkitError, OSError, SSL.Error) as error:
        sys.exit(f"e_service_login: {error}")
