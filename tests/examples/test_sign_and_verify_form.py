"""examples/sign_and_verify_form: a timestamped qualified signature on a form, verified."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from trustkit.bundles import chain_pem
from trustkit.keys import PrivateKey, generate_key, save_private_key
from trustkit.testing import SAMPLE_REQUESTS

from .conftest import EXAMPLES, PASSPHRASE, DemoPKI, Impostor

APP = EXAMPLES / "sign_and_verify_form" / "app.py"
FORM = (
    b"Republic of Example - Application for a residence certificate\n"
    b"Applicant: Alice Example (PNOEX-19800101-1234)\n"
    b"Address: 1 Example Street, Example City\n"
)


def _app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(APP), *args], capture_output=True, text=True, timeout=120, check=False
    )


def _sign(demo: DemoPKI, tsa_url: str, form: Path, chain: Path, key: Path) -> Path:
    signature = form.with_name(form.name + ".p7s")
    done = _app(
        "sign",
        str(form),
        f"--cert={chain}",
        f"--key={key}",
        f"--passphrase-file={demo.passphrase_file}",
        f"--tsa={tsa_url}/tsa",
        f"--output={signature}",
    )
    assert done.returncode == 0, done.stderr
    return signature


def _verify(
    demo: DemoPKI, form: Path, signature: Path, crls: list[Path]
) -> subprocess.CompletedProcess[str]:
    return _app(
        "verify",
        str(form),
        f"--signature={signature}",
        f"--trust={demo.root_pem}",
        *(f"--crl={c}" for c in crls),
    )


def _key_and_chain(
    directory: Path, key: PrivateKey, certificates: list[x509.Certificate]
) -> tuple[Path, Path]:
    key_file = directory / "signer.key"
    save_private_key(key, key_file, PASSPHRASE)
    chain_file = directory / "signer-chain.pem"
    chain_file.write_bytes(chain_pem(certificates))
    return chain_file, key_file


@pytest.fixture(scope="module")
def crls(demo: DemoPKI, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return demo.publish_crls(tmp_path_factory.mktemp("form-crls"))


@pytest.fixture
def form(tmp_path: Path) -> Path:
    path = tmp_path / "application.txt"
    path.write_bytes(FORM)
    return path


@pytest.fixture
def alice_signature(demo: DemoPKI, pki_service: str, form: Path) -> Path:
    return _sign(
        demo,
        pki_service,
        form,
        demo.certs / "alice-signature-chain.pem",
        demo.certs / "alice-signature.key",
    )


def test_signed_form_shows_signer_and_timestamp(
    demo: DemoPKI, form: Path, alice_signature: Path, crls: list[Path]
) -> None:
    done = _verify(demo, form, alice_signature, crls)
    assert done.returncode == 0, done.stderr
    lines = dict(line.split(":", 1) for line in done.stdout.splitlines()[1:])
    assert done.stdout.startswith("Signature valid.\n")
    assert lines["Signed by"].strip() == "Alice Example"
    assert lines["Identifier"].strip() == "PNOEX-19800101-1234"
    stamped = datetime.fromisoformat(lines["Timestamp"].split(" (")[0].strip())
    assert abs((datetime.now(UTC) - stamped).total_seconds()) < 600
    assert "Time-Stamping Authority" in lines["Timestamp"]


def test_tampered_form_is_refused(
    demo: DemoPKI, form: Path, alice_signature: Path, crls: list[Path]
) -> None:
    form.write_bytes(FORM.replace(b"1 Example Street", b"9 Example Street"))
    done = _verify(demo, form, alice_signature, crls)
    assert done.returncode == 1
    assert "Signature NOT valid" in done.stderr
    assert "message-digest" in done.stderr


def test_without_crls_the_signature_is_refused(
    demo: DemoPKI, form: Path, alice_signature: Path
) -> None:
    done = _verify(demo, form, alice_signature, [])
    assert done.returncode == 1
    assert "revocation status unknown" in done.stderr


def test_same_subject_from_another_ca_is_refused(
    demo: DemoPKI, impostor: Impostor, pki_service: str, form: Path, crls: list[Path]
) -> None:
    key, fake = impostor.issue(demo.certificate("alice-signature"), "qualified-signature")
    chain, key_file = _key_and_chain(
        form.parent, key, [fake, impostor.citizen_ca.certificate, impostor.root.certificate]
    )
    signature = _sign(demo, pki_service, form, chain, key_file)
    done = _verify(demo, form, signature, crls)
    assert done.returncode == 1
    assert "certificate-path" in done.stderr
    assert "no path to a trust anchor" in done.stderr


def test_non_qualified_certificate_is_refused(
    demo: DemoPKI, pki_service: str, form: Path, crls: list[Path]
) -> None:
    # An organisation's e-seal (QCP-l) verifies as a signature, but is no citizen's
    # qualified signature; the citizen CA's CRL, published before, lists nothing new.
    key = generate_key()
    with demo.open_ca(demo.citizen_ca_dir) as ca:
        issued = ca.issue(SAMPLE_REQUESTS["org-seal"].csr(key), "org-seal")
    chain, key_file = _key_and_chain(form.parent, key, [issued.certificate, *issued.chain])
    signature = _sign(demo, pki_service, form, chain, key_file)
    done = _verify(demo, form, signature, crls)
    assert done.returncode == 1, done.stdout
    assert "Signature NOT accepted" in done.stderr
    assert "QCP-n-qscd" in done.stderr


def _openssl_cms_verify(
    demo: DemoPKI, form: Path, signature: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "openssl",
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(signature),
            "-content",
            str(form),
            "-CAfile",
            str(demo.root_pem),
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.interop
def test_openssl_cms_verify_accepts_the_signature(
    demo: DemoPKI, form: Path, alice_signature: Path
) -> None:
    done = _openssl_cms_verify(demo, form, alice_signature)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr


@pytest.mark.interop
def test_openssl_cms_verify_refuses_a_tampered_form(
    demo: DemoPKI, form: Path, alice_signature: Path
) -> None:
    form.write_bytes(FORM + b" ")
    done = _openssl_cms_verify(demo, form, alice_signature)
    assert done.returncode != 0
    assert "Verification failure" in done.stderr
