"""A CA whose keys never leave a SoftHSM2 token, driven through the CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.hsm_token import HSMToken
from trustkit.ca import CertificateAuthority
from trustkit.cli import cli
from trustkit.csr import create_csr
from trustkit.errors import HSMError
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.pkcs11 import load_token_key


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
