"""examples/e_service_login: citizens log in with mutual TLS, and trustkit decides."""

from __future__ import annotations

import contextlib
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
)

from trustkit.bundles import chain_pem, load_pkcs12
from trustkit.keys import PrivateKey

from .conftest import EXAMPLES, DemoPKI, Impostor, running

APP = EXAMPLES / "e_service_login" / "app.py"
SERVICE_HOST = "portal.example.gov"
"""The host name in the demo's e-service certificate."""


@contextlib.contextmanager
def _start(demo: DemoPKI, log: Path, *extra: str) -> Iterator[int]:
    """The example running with the demo's e-service certificate; yields its port."""
    args = [
        str(APP),
        "--port=0",
        f"--cert={demo.certs / 'portal-chain.pem'}",
        f"--key={demo.certs / 'portal.key'}",
        f"--passphrase-file={demo.passphrase_file}",
        f"--trust={demo.root_pem}",
        *extra,
    ]
    with running(args, ready="listening on https://", log=log) as line:
        yield int(line.rstrip("/").rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def crl_files(demo: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return demo.publish_crls(tmp_path_factory.mktemp("crls"))


@pytest.fixture(scope="module")
def login_port(
    demo: DemoPKI, crl_files: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[int]:
    log = tmp_path_factory.mktemp("login") / "stderr.txt"
    with _start(demo, log, *(f"--crl={f}" for f in crl_files)) as port:
        yield port


def _citizen_files(
    directory: Path, key: PrivateKey, chain: list[x509.Certificate]
) -> tuple[Path, Path]:
    cert_file = directory / "client-chain.pem"
    key_file = directory / "client.key"
    cert_file.write_bytes(chain_pem(chain))
    key_file.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


def _from_pkcs12(demo: DemoPKI, name: str, directory: Path) -> tuple[Path, Path]:
    """The citizen's certificate, chain and key, as a browser would take them from NAME.p12."""
    secret = (demo.certs / f"{name}.p12.pass").read_bytes().strip()
    key, cert, extra = load_pkcs12((demo.certs / f"{name}.p12").read_bytes(), secret)
    assert key is not None and cert is not None
    return _citizen_files(directory, key, [cert, *extra])


def _login(demo: DemoPKI, port: int, client: tuple[Path, Path] | None) -> httpx.Response:
    context = ssl.create_default_context(cafile=str(demo.root_pem))
    if client is not None:
        context.load_cert_chain(*client)
    # Connect to 127.0.0.1 but check the certificate for the service's host name.
    with httpx.Client(verify=context, timeout=30) as client:
        return client.get(f"https://127.0.0.1:{port}/", extensions={"sni_hostname": SERVICE_HOST})


def test_alice_is_greeted_by_name(demo: DemoPKI, login_port: int, tmp_path: Path) -> None:
    response = _login(demo, login_port, _from_pkcs12(demo, "alice", tmp_path))
    assert response.status_code == 200, response.text
    assert response.text == "Hello, Alice Example! You are logged in as PNOEX-19800101-1234.\n"


def test_revoked_carol_is_refused(demo: DemoPKI, login_port: int, tmp_path: Path) -> None:
    response = _login(demo, login_port, _from_pkcs12(demo, "carol", tmp_path))
    assert response.status_code == 403
    assert response.text.startswith("Login refused:")
    assert "Carol Citizen" in response.text
    assert "revoked" in response.text and "keyCompromise" in response.text


def test_same_subject_from_another_ca_is_refused(
    demo: DemoPKI, impostor: Impostor, login_port: int, tmp_path: Path
) -> None:
    key, fake = impostor.issue(demo.certificate("alice"), "citizen-auth")
    assert fake.subject == demo.certificate("alice").subject
    client = _citizen_files(tmp_path, key, [fake, impostor.citizen_ca.certificate])
    response = _login(demo, login_port, client)
    assert response.status_code == 403
    assert "no path to a trust anchor" in response.text


def test_no_client_certificate_is_refused(demo: DemoPKI, login_port: int) -> None:
    response = _login(demo, login_port, None)
    assert response.status_code == 401
    assert "no client certificate" in response.text


def test_without_revocation_evidence_alice_is_refused(demo: DemoPKI, tmp_path: Path) -> None:
    # Hard-fail: the same valid certificate, but the service has no CRL and no OCSP.
    with _start(demo, tmp_path / "stderr.txt") as port:
        response = _login(demo, port, _from_pkcs12(demo, "alice", tmp_path))
        assert response.status_code == 403
        assert "revocation status unknown" in response.text


def test_online_revocation_through_trustkit_ocsp_responder(
    demo: DemoPKI, pki_service: str, tmp_path: Path
) -> None:
    (tmp_path / "alice").mkdir()
    (tmp_path / "carol").mkdir()
    with _start(demo, tmp_path / "stderr.txt", "--online") as port:
        alice = _login(demo, port, _from_pkcs12(demo, "alice", tmp_path / "alice"))
        carol = _login(demo, port, _from_pkcs12(demo, "carol", tmp_path / "carol"))
    assert alice.status_code == 200, alice.text
    assert alice.text.startswith("Hello, Alice Example!")
    assert carol.status_code == 403
    assert "revoked" in carol.text and "OCSP" in carol.text


def _s_client(demo: DemoPKI, port: int, name: str) -> subprocess.CompletedProcess[str]:
    """``openssl s_client`` as the citizen ``name``: key and chain from the demo's PEM files."""
    return subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-servername",
            SERVICE_HOST,
            "-verify_hostname",
            SERVICE_HOST,
            "-CAfile",
            str(demo.root_pem),
            "-verify_return_error",
            "-cert",
            str(demo.certs / f"{name}.pem"),
            "-cert_chain",
            str(demo.certs / f"{name}-chain.pem"),
            "-key",
            str(demo.certs / f"{name}.key"),
            "-pass",
            f"file:{demo.passphrase_file}",
            "-quiet",
            "-ign_eof",
        ],
        input=f"GET / HTTP/1.1\r\nHost: {SERVICE_HOST}\r\n\r\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.interop
def test_openssl_s_client_is_greeted(demo: DemoPKI, login_port: int) -> None:
    done = _s_client(demo, login_port, "alice")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("HTTP/1.1 200 OK")
    assert "Hello, Alice Example!" in done.stdout


@pytest.mark.interop
def test_openssl_s_client_revoked_is_refused(demo: DemoPKI, login_port: int) -> None:
    done = _s_client(demo, login_port, "carol")
    assert done.stdout.startswith("HTTP/1.1 403 Forbidden"), done.stderr
    assert "revoked" in done.stdout


@pytest.mark.interop
def test_curl_with_pkcs12_is_greeted(demo: DemoPKI, login_port: int) -> None:
    secret = (demo.certs / "alice.p12.pass").read_text().strip()
    done = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--cacert",
            str(demo.root_pem),
            "--resolve",
            f"{SERVICE_HOST}:{login_port}:127.0.0.1",
            "--cert-type",
            "P12",
            "--cert",
            f"{demo.certs / 'alice.p12'}:{secret}",
            f"https://{SERVICE_HOST}:{login_port}/",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Hello, Alice Example!")


def test_help_describes_the_example() -> None:
    done = subprocess.run(
        [sys.executable, str(APP), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "with the national ID card certificate (mutual TLS)" in " ".join(done.stdout.split())
