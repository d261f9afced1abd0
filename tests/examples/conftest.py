"""Fixtures for the example programs: the demo PKI, an impostor CA, running servers.

The demo PKI is built once per session from ``examples/demo-pki.toml`` by
:func:`trustkit.pki.apply`, with its URLs pointing at a free port on
127.0.0.1 where ``trustkit serve`` answers OCSP, CRL and RFC 3161 requests
when a test asks for it. The examples run as programs (``python
examples/NAME/app.py``), exactly as a developer would start them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from tests.serving import free_port, serving, stop
from trustkit.ca import CertificateAuthority
from trustkit.csr import create_csr
from trustkit.encoding import load_certificate
from trustkit.keys import PrivateKey, generate_key
from trustkit.pki import CertificateSpec, apply, load_spec
from trustkit.revocation.crl import build_crl
from trustkit.tsa import TimestampAuthority

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
DEMO_SPEC = EXAMPLES / "demo-pki.toml"
PASSPHRASE = b"examples test passphrase"
TSA_SUBJECT = "CN=Republic of Example Time-Stamping Authority,O=Republic of Example,C=EX"
STARTUP_TIMEOUT = 30.0
"""Seconds a server may take to say it is listening (key decryption is deliberately slow)."""


@dataclass(frozen=True)
class DemoPKI:
    """The applied demo spec, with its CAs found by role rather than by name."""

    out: Path
    base_url: str
    passphrase_file: Path
    root_dir: Path
    citizen_ca_dir: Path
    tls_ca_dir: Path
    tsa_dir: Path

    @property
    def certs(self) -> Path:
        return self.out / "certs"

    @property
    def root_pem(self) -> Path:
        return self.root_dir / "ca.pem"

    def certificate(self, name: str) -> x509.Certificate:
        return load_certificate((self.certs / f"{name}.pem").read_bytes())

    def open_ca(self, directory: Path) -> CertificateAuthority:
        return CertificateAuthority.open(directory, passphrase=PASSPHRASE)

    def publish_crls(self, directory: Path) -> list[Path]:
        """Every CA's CRL as of now, as files in ``directory`` (as `trustkit demo` publishes)."""
        files = []
        for ca_dir in (self.root_dir, self.citizen_ca_dir, self.tls_ca_dir):
            with self.open_ca(ca_dir) as ca:
                path = directory / f"{ca.config.name}.crl"
                path.write_bytes(build_crl(ca, at=datetime.now(UTC)).pem())
                files.append(path)
        return files


def _ca_of_profile(certificates: Sequence[CertificateSpec], profile: str) -> str:
    for cert in certificates:
        if cert.profile == profile:
            return cert.ca
    raise AssertionError(f"the demo spec issues no {profile} certificate")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    out = tmp_path_factory.mktemp("demo-pki")
    base_url = f"http://127.0.0.1:{free_port()}"
    spec = dataclasses.replace(load_spec(DEMO_SPEC), base_url=base_url)
    report = apply(spec, out, passphrase=PASSPHRASE)
    root = next(c.name for c in spec.cas if c.parent is None)
    passphrase_file = out / "passphrase.txt"
    passphrase_file.write_bytes(PASSPHRASE + b"\n")
    tls_ca_dir = report.ca_dirs[_ca_of_profile(spec.certificates, "tls-server")]
    # As `trustkit demo` does: the e-Services CA certifies the time-stamping authority.
    with CertificateAuthority.open(tls_ca_dir, passphrase=PASSPHRASE) as tls_ca:
        TimestampAuthority.create(
            tls_ca, out / "tsa", subject=TSA_SUBJECT, passphrase=PASSPHRASE
        ).close()
    return DemoPKI(
        out=out,
        base_url=base_url,
        passphrase_file=passphrase_file,
        root_dir=report.ca_dirs[root],
        citizen_ca_dir=report.ca_dirs[_ca_of_profile(spec.certificates, "citizen-auth")],
        tls_ca_dir=tls_ca_dir,
        tsa_dir=out / "tsa",
    )


@dataclass(frozen=True)
class Impostor:
    """A root and a citizen CA with the national CAs' subjects, but other keys."""

    root: CertificateAuthority
    citizen_ca: CertificateAuthority

    def issue(self, like: x509.Certificate, profile: str) -> tuple[PrivateKey, x509.Certificate]:
        """A certificate with the same subject and SANs as ``like``, from the impostor."""
        key = generate_key()
        try:
            sans = list(like.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
        except x509.ExtensionNotFound:
            sans = []
        issued = self.citizen_ca.issue(create_csr(key, like.subject, sans), profile)
        return key, issued.certificate


@pytest.fixture(scope="session")
def impostor(tmp_path_factory: pytest.TempPathFactory, demo: DemoPKI) -> Iterator[Impostor]:
    out = tmp_path_factory.mktemp("impostor")
    national_root = load_certificate(demo.root_pem.read_bytes())
    national_citizen_ca = load_certificate((demo.citizen_ca_dir / "ca.pem").read_bytes())
    root = CertificateAuthority.create_root(
        national_root.subject, out / "root", passphrase=PASSPHRASE, path_length=1
    )
    citizen_ca = root.create_subordinate(
        national_citizen_ca.subject, out / "citizen-ca", passphrase=PASSPHRASE
    )
    yield Impostor(root, citizen_ca)
    citizen_ca.close()
    root.close()


def _wait_for_line(proc: subprocess.Popen[str], marker: str, log: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = proc.stdout.readline()
            if not line:
                break
            if marker in line:
                return line.strip()
    raise AssertionError(f"{marker!r} never printed; stderr:\n{log.read_text()}")


@contextlib.contextmanager
def running(args: Sequence[str], *, ready: str, log: Path) -> Iterator[str]:
    """Run ``python ARGS`` until the block ends; yields the stdout line containing ``ready``."""
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, *args], stdout=subprocess.PIPE, stderr=stderr, text=True
        )
    try:
        yield _wait_for_line(proc, ready, log)
    finally:
        stop(proc)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="session")
def pki_service(demo: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``trustkit serve`` for the demo PKI at its base URL: OCSP, CRLs, CA certificates, TSA."""
    port = demo.base_url.rsplit(":", 1)[1]
    command = [
        "-c",
        "from trustkit.cli import main; main()",
        "serve",
        *(f"--ca={d}" for d in (demo.root_dir, demo.citizen_ca_dir, demo.tls_ca_dir)),
        "--tsa",
        str(demo.tsa_dir),
        "--port",
        port,
        "--passphrase-file",
        str(demo.passphrase_file),
    ]
    log = tmp_path_factory.mktemp("pki-service") / "stderr.txt"
    with serving([sys.executable, *command], url=demo.base_url, log=log):
        yield demo.base_url
