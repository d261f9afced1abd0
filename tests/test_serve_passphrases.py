"""`trustkit serve` with CAs under different passphrases (--ca-passphrase-file NAME=FILE)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from tests.serving import free_port, serving
from trustkit.ca import CertificateAuthority
from trustkit.errors import ConfigError
from trustkit.keys import generate_key
from trustkit.service import discover_authorities
from trustkit.testing import ISSUING_SUBJECT, ROOT_SUBJECT, SAMPLE_REQUESTS

COMMON = b"the common passphrase"
OWN = b"citizen-ca's own passphrase"


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root and two issuing CAs: services-ca under the common passphrase, citizen-ca not."""
    base = tmp_path_factory.mktemp("passphrases")
    with CertificateAuthority.create_root(ROOT_SUBJECT, base / "root", passphrase=COMMON) as root:
        for name, secret in (("services-ca", COMMON), ("citizen-ca", OWN)):
            subject = ISSUING_SUBJECT.replace("Issuing", name)
            with root.create_subordinate(subject, base / name, passphrase=secret, name=name) as ca:
                csr = SAMPLE_REQUESTS["tls-client"].csr(generate_key())
                pem = ca.issue(csr, "tls-client").certificate.public_bytes(Encoding.PEM)
                (base / f"{name}-leaf.pem").write_bytes(pem)
    (base / "common").write_bytes(COMMON + b"\n")
    (base / "own").write_bytes(OWN + b"\n")
    return base


def _serve_args(cas: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "trustkit.cli", "serve",
        "--ca", str(cas / "services-ca"), "--ca", str(cas / "citizen-ca"),
        "--passphrase-file", str(cas / "common"), *extra,
    ]  # fmt: skip


@contextmanager
def _served(cas: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "TRUSTKIT_PASSPHRASE": ""}
    args = [*_serve_args(cas, *extra), "--port", str(port)]
    with serving(args, url=url, log=cas / f"serve-{port}.log", env=env):
        yield url


def _ocsp_status(url: str, cas: Path, name: str) -> ocsp.OCSPResponseStatus:
    leaf = x509.load_pem_x509_certificate((cas / f"{name}-leaf.pem").read_bytes())
    issuer = x509.load_pem_x509_certificate((cas / name / "ca.pem").read_bytes())
    request = ocsp.OCSPRequestBuilder().add_certificate(leaf, issuer, hashes.SHA256()).build()
    answer = httpx.post(
        f"{url}/ocsp",
        content=request.public_bytes(Encoding.DER),
        headers={"Content-Type": "application/ocsp-request"},
        timeout=30,
    )
    assert answer.status_code == 200
    response = ocsp.load_der_ocsp_response(answer.content)
    if response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
        assert response.serial_number == leaf.serial_number
    return response.response_status


def test_each_ca_answers_with_its_own_passphrase(cas: Path) -> None:
    with _served(cas, "--ca-passphrase-file", f"citizen-ca={cas / 'own'}") as url:
        for name in ("services-ca", "citizen-ca"):
            # A delegated responder is issued (CA key) and used (its key, same passphrase).
            assert _ocsp_status(url, cas, name) is ocsp.OCSPResponseStatus.SUCCESSFUL
            crl = x509.load_der_x509_crl(httpx.get(f"{url}/crl/{name}.crl", timeout=30).content)
            issuer = x509.load_pem_x509_certificate((cas / name / "ca.pem").read_bytes())
            assert crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]


def test_without_its_own_passphrase_that_ca_is_refused_at_start(cas: Path) -> None:
    # The twin: with the common passphrase alone, citizen-ca's key stays locked, and
    # serve says so in one line instead of serving a CA that cannot sign.
    done = subprocess.run(
        [*_serve_args(cas), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TRUSTKIT_PASSPHRASE": ""},
    )
    assert done.returncode != 0
    assert "CA citizen-ca: cannot sign" in done.stderr and "wrong passphrase" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("citizen-ca", "expected NAME=FILE"),
        ("=own", "expected NAME=FILE"),
        ("nosuch-ca={own}", "passphrase for CA nosuch-ca: no such CA here"),
        ("citizen-ca={cas}/missing", "cannot be read"),
    ],
)
def test_bad_ca_passphrase_files(cas: Path, value: str, message: str) -> None:
    value = value.format(own=cas / "own", cas=cas)
    done = subprocess.run(
        [*_serve_args(cas, "--ca-passphrase-file", value), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TRUSTKIT_PASSPHRASE": ""},
    )
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_discover_authorities_by_name(cas: Path) -> None:
    found = discover_authorities([cas], passphrase=COMMON, passphrases={"citizen-ca": OWN})
    assert {ca.config.name for ca in found} == {"example-gov-root-ca", "services-ca", "citizen-ca"}
    by_name = {ca.config.name: ca for ca in found}
    # Each key opens with the passphrase it was given.
    assert by_name["citizen-ca"].key is not None and by_name["services-ca"].key is not None
    for ca in found:
        ca.close()
    with pytest.raises(ConfigError, match="no such CA here"):
        discover_authorities([cas], passphrase=COMMON, passphrases={"other": OWN})
