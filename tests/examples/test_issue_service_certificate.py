"""examples/issue_service_certificate: key, CSR, issuance under tls-server, HTTPS with it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trustkit.encoding import load_certificates
from trustkit.testing import openssl_verify

from .conftest import EXAMPLES, DemoPKI, Impostor, running

APP = EXAMPLES / "issue_service_certificate" / "app.py"
HOST = "permits.example.gov"
OTHER_HOST = "www.permits.example.gov"


def _app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _request_and_issue(demo: DemoPKI, out: Path, *hosts: str) -> subprocess.CompletedProcess[str]:
    passphrase = f"--passphrase-file={demo.passphrase_file}"
    done = _app("request", *(f"--host={h}" for h in hosts), f"--out={out}", passphrase)
    assert done.returncode == 0, done.stderr
    assert (out / "service.key").stat().st_mode & 0o077 == 0
    return _app(
        "issue",
        f"--ca={demo.tls_ca_dir}",
        f"--csr={out / 'service.csr'}",
        passphrase,
        f"--output={out / 'service-chain.pem'}",
    )


@pytest.fixture(scope="module")
def issued(demo: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("service")
    done = _request_and_issue(demo, out, HOST, OTHER_HOST)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def https_port(demo: DemoPKI, issued: Path) -> Iterator[int]:
    args = [
        str(APP),
        "serve",
        "--port=0",
        f"--cert={issued / 'service-chain.pem'}",
        f"--key={issued / 'service.key'}",
        f"--passphrase-file={demo.passphrase_file}",
    ]
    with running(args, ready="listening on https://", log=issued / "stderr.txt") as line:
        yield int(line.rstrip("/").rsplit(":", 1)[1])


def test_issued_chain_verifies_for_tls_server(demo: DemoPKI, issued: Path) -> None:
    leaf, *chain = load_certificates((issued / "service-chain.pem").read_bytes())
    root = chain[-1]
    assert root == load_certificates(demo.root_pem.read_bytes())[0]
    result = openssl_verify(root, chain[:-1], leaf, purpose="sslserver")
    assert result.ok, result.output


def test_host_outside_name_constraints_is_refused(demo: DemoPKI, tmp_path: Path) -> None:
    done = _request_and_issue(demo, tmp_path, "portal.example.com")
    assert done.returncode == 1
    assert done.stderr.startswith("issuance refused:")
    assert "portal.example.com" in done.stderr
    assert not (tmp_path / "service-chain.pem").exists()


def _s_client(root: Path, port: int, host: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{port}",
            "-servername",
            host,
            "-verify_hostname",
            host,
            "-CAfile",
            str(root),
            "-verify_return_error",
            "-quiet",
            "-ign_eof",
        ],
        input=f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.interop
@pytest.mark.parametrize("host", [HOST, OTHER_HOST])
def test_openssl_s_client_accepts_the_service(demo: DemoPKI, https_port: int, host: str) -> None:
    done = _s_client(demo.root_pem, https_port, host)
    assert done.returncode == 0, done.stderr
    assert f"Hello from {host} over TLS." in done.stdout


@pytest.mark.interop
def test_openssl_s_client_refuses_another_host_name(demo: DemoPKI, https_port: int) -> None:
    done = _s_client(demo.root_pem, https_port, "forms.example.gov")
    assert done.returncode != 0
    assert "hostname mismatch" in done.stderr


@pytest.mark.interop
def test_openssl_s_client_refuses_another_root(
    impostor: Impostor, https_port: int, tmp_path: Path
) -> None:
    other_root = tmp_path / "other-root.pem"
    other_root.write_bytes((impostor.root.directory / "ca.pem").read_bytes())
    done = _s_client(other_root, https_port, HOST)
    assert done.returncode != 0
    assert "unable to get" in done.stderr or "verify error" in done.stderr
