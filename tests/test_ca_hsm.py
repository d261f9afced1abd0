"""A CA whose keys never leave a SoftHSM2 token, driven through the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from tests.hsm_token import HSMToken
from tests.serving import free_port, serving
from trustkit.ca import CertificateAuthority
from trustkit.cli import cli
from trustkit.csr import create_csr
from trustkit.errors import HSMError
from trustkit.keys import KeyType, generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.pkcs11 import generate_key_on_token, load_token_key
from trustkit.tsa import TimestampAuthority


def _cli(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def token_pki(hsm_token: HSMToken, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = {
        "TRUSTKIT_PKCS11_MODULE": hsm_token.module,
        "TRUSTKIT_PKCS11_PIN": hsm_token.pin,
        "TRUSTKIT_PASSPHRASE": "",
        "TRUSTKIT_CA": "",
    }
    code, output = _cli(
        "init",
        "--ca",
        str(tmp_path / "root"),
        "--subject",
        "CN=National Root CA 2026,O=Republic of Example,C=EX",
        "--key",
        hsm_token.uri("root-2026"),
        "--base-url",
        "http://pki.example.gov",
        env=env,
    )
    assert code == 0, output
    code, output = _cli(
        "subca",
        "--ca",
        str(tmp_path / "root"),
        "--out",
        str(tmp_path / "issuing"),
        "--subject",
        "CN=Citizen CA,O=Republic of Example,C=EX",
        "--key",
        hsm_token.uri("citizen-2026"),
        "--key-type",
        "ec-p256",
        env=env,
    )
    assert code == 0, output
    return tmp_path, env


def test_keys_stay_on_the_token(
    token_pki: tuple[Path, dict[str, str]], hsm_token: HSMToken
) -> None:
    base, _ = token_pki
    for name in ("root", "issuing"):
        assert not (base / name / "ca.key").exists()
        config = (base / name / "trustkit.toml").read_text()
        assert "pkcs11:token=" in config and hsm_token.module in config
    key = load_token_key(hsm_token.uri("root-2026"), pin=hsm_token.pin, module=hsm_token.module)
    with pytest.raises(HSMError):
        key.private_bytes(*_pkcs8_args())


def _pkcs8_args() -> tuple[object, object, object]:
    from cryptography.hazmat.primitives import serialization

    return (
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_token_ca_issues_what_openssl_accepts(
    token_pki: tuple[Path, dict[str, str]], hsm_token: HSMToken
) -> None:
    base, _ = token_pki
    key = generate_key()
    csr = create_csr(
        key, parse_name("CN=www.example.gov"), parse_general_names(["dns:www.example.gov"])
    )
    issuing = CertificateAuthority.open(base / "issuing", pin=hsm_token.pin)
    issued = issuing.issue(csr, "tls-server")
    issuing.close()
    (base / "leaf.pem").write_bytes(issued.pem())
    verify = subprocess.run(
        [
            "openssl", "verify", "-x509_strict", "-purpose", "sslserver",
            "-CAfile", str(base / "root" / "ca.pem"),
            "-untrusted", str(base / "issuing" / "ca.pem"),
            str(base / "leaf.pem"),
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    # The twin: the same chain against another root fails.
    other = CertificateAuthority.create_root(
        "CN=National Root CA 2026,O=Republic of Example,C=EX",
        base / "impostor",
        passphrase=b"x" * 12,
    )
    other.close()
    forged = subprocess.run(
        ["openssl", "verify", "-CAfile", str(base / "impostor" / "ca.pem"),
         "-untrusted", str(base / "issuing" / "ca.pem"), str(base / "leaf.pem")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert forged.returncode != 0


def test_wrong_pin_is_one_line(token_pki: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    base, env = token_pki
    key = generate_key()
    csr_path = tmp_path / "req.pem"
    from cryptography.hazmat.primitives.serialization import Encoding

    csr = create_csr(
        key, parse_name("CN=www.example.gov"), parse_general_names(["dns:www.example.gov"])
    )
    csr_path.write_bytes(csr.public_bytes(Encoding.PEM))
    pin_file = tmp_path / "pin"
    pin_file.write_text("0000\n")
    code, output = _cli(
        "issue", "--ca", str(base / "issuing"), "--csr", str(csr_path), "--pin-file", str(pin_file),
        env={**env, "TRUSTKIT_PKCS11_PIN": ""},
    )  # fmt: skip
    assert code == 1
    assert "PIN" in output and "Traceback" not in output


def _openssl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


def test_every_artefact_signed_on_the_token_passes_openssl(
    token_pki: tuple[Path, dict[str, str]], hsm_token: HSMToken, tmp_path: Path
) -> None:
    """Certificates, CRLs, OCSP responses (through `trustkit serve`), CMS and timestamps."""
    base, env = token_pki
    root, issuing_pem = base / "root" / "ca.pem", base / "issuing" / "ca.pem"
    chain = base / "chain.pem"
    chain.write_bytes(issuing_pem.read_bytes() + root.read_bytes())
    issuing = CertificateAuthority.open(base / "issuing", pin=hsm_token.pin)

    # Certificates: one that stays good and one that is revoked.
    good = issuing.issue(
        create_csr(generate_key(), parse_name("CN=good.example.gov")),
        "tls-client",
    )
    bad = issuing.issue(create_csr(generate_key(), parse_name("CN=bad.example.gov")), "tls-client")
    (tmp_path / "good.pem").write_bytes(good.pem())
    (tmp_path / "bad.pem").write_bytes(bad.pem())
    code, output = _cli("revoke", "--ca", str(base / "issuing"), f"{bad.serial:X}",
                        "--reason", "keyCompromise", env=env)  # fmt: skip
    assert code == 0, output

    # A CRL signed on the token.
    code, output = _cli(
        "crl", "--ca", str(base / "issuing"), "-o", str(tmp_path / "crl.pem"), env=env
    )
    assert code == 0, output
    assert (
        "verify OK"
        in _openssl("crl", "-in", tmp_path / "crl.pem", "-noout", "-CAfile", chain).stderr
    )
    revoked = _openssl("verify", "-crl_check", "-CRLfile", tmp_path / "crl.pem", "-CAfile", root,
                       "-untrusted", issuing_pem, tmp_path / "bad.pem")  # fmt: skip
    assert revoked.returncode != 0 and "revoked" in revoked.stdout + revoked.stderr

    # A document signature made with a seal key on the token.
    seal_key = generate_key_on_token(
        hsm_token.uri("seal-2026"), KeyType.EC_P256, pin=hsm_token.pin, module=hsm_token.module
    )
    seal_subject = "CN=Tax Office Seal,O=Tax Office,organizationIdentifier=VATEX-1234,C=EX"
    seal = issuing.issue(create_csr(seal_key, parse_name(seal_subject)), "org-seal")
    (tmp_path / "seal.pem").write_bytes(seal.pem())
    document = tmp_path / "decision.txt"
    document.write_text("Decision 2026/17: the application is granted.\n")
    code, output = _cli("sign", str(document), "--cert", str(tmp_path / "seal.pem"),
                        "--chain", str(issuing_pem), "--key", hsm_token.uri("seal-2026"),
                        "-o", str(tmp_path / "decision.p7s"), env=env)  # fmt: skip
    assert code == 0, output
    cms = _openssl("cms", "-verify", "-binary", "-inform", "DER",
                   "-in", tmp_path / "decision.p7s", "-content", document,
                   "-CAfile", root, "-purpose", "any", "-out", os.devnull)  # fmt: skip
    assert cms.returncode == 0, cms.stderr

    # A timestamp from a TSA whose key is on the token.
    tsa_key = generate_key_on_token(
        hsm_token.uri("tsa-2026"), KeyType.EC_P256, pin=hsm_token.pin, module=hsm_token.module
    )
    tsa_subject = "CN=Example Time-Stamping Authority,O=Republic of Example,C=EX"
    tsa_cert = issuing.issue(create_csr(tsa_key, parse_name(tsa_subject)), "timestamping")
    tsa = TimestampAuthority(tsa_key, tsa_cert.certificate, tsa_cert.chain)
    query = tmp_path / "request.tsq"
    _openssl("ts", "-query", "-data", document, "-sha256", "-cert", "-out", query)
    (tmp_path / "reply.tsr").write_bytes(tsa.respond(query.read_bytes(), at=issuing.clock.now()))
    (tmp_path / "tsa.pem").write_bytes(tsa_cert.certificate.public_bytes(Encoding.PEM))
    stamped = _openssl("ts", "-verify", "-in", tmp_path / "reply.tsr", "-queryfile", query,
                       "-CAfile", root, "-untrusted", chain)  # fmt: skip
    assert "Verification: OK" in stamped.stdout, stamped.stdout + stamped.stderr
    issuing.close()

    # OCSP answers signed on the token by `trustkit serve`, asked by openssl ocsp.
    port = free_port()
    args = [
        sys.executable, "-m", "trustkit.cli", "serve", "--ca", str(base / "issuing"),
        "--port", str(port), "--signing", "ca",
    ]  # fmt: skip
    serve_env = {**os.environ, **env, "TRUSTKIT_PASSPHRASE": "unused-for-token-keys"}
    with serving(args, url=f"http://127.0.0.1:{port}", log=tmp_path / "serve.log", env=serve_env):
        for name, status in (("good", "good"), ("bad", "revoked")):
            answer = _openssl("ocsp", "-issuer", issuing_pem, "-cert", tmp_path / f"{name}.pem",
                              "-url", f"http://127.0.0.1:{port}/ocsp", "-CAfile", root,
                              "-verify_other", issuing_pem)  # fmt: skip
            assert f"{name}.pem: {status}" in answer.stdout, answer.stdout + answer.stderr
            assert "Response verify OK" in answer.stderr, answer.stderr
