"""``trustkit sign`` and ``trustkit verify`` through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from tests.cms.conftest import Pki, build_pki
from trustkit.cli import cli
from trustkit.keys import save_private_key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    key, cert = pki.signers["ec-p256"]
    paths = {
        name: tmp_path / name
        for name in ("doc.txt", "cert.pem", "key.pem", "chain.pem", "root.pem", "other.pem", "pass")
    }
    paths["doc.txt"].write_bytes(b"an application form\n" * 50)
    paths["cert.pem"].write_bytes(cert.public_bytes(Encoding.PEM))
    save_private_key(key, paths["key.pem"], b"signer passphrase")  # type: ignore[arg-type]
    paths["pass"].write_bytes(b"signer passphrase\n")
    paths["chain.pem"].write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in pki.chain))
    paths["root.pem"].write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    paths["other.pem"].write_bytes(pki.other_root.certificate.public_bytes(Encoding.PEM))
    return paths


def _sign(files: dict[str, Path], *extra: str) -> Path:
    out = files["doc.txt"].with_suffix(".p7s")
    result = CliRunner().invoke(
        cli,
        [
            "sign",
            str(files["doc.txt"]),
            "--cert",
            str(files["cert.pem"]),
            "--key",
            str(files["key.pem"]),
            "--chain",
            str(files["chain.pem"]),
            "--passphrase-file",
            str(files["pass"]),
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_sign_and_verify(files: dict[str, Path]) -> None:
    sig = _sign(files)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["root.pem"]),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["valid"] is True
    assert report["signers"][0]["subject"].startswith("CN=Seal ec-p256")


def test_attached_verifies_without_file(files: dict[str, Path]) -> None:
    sig = _sign(files, "--attached", "--hash", "sha384")
    result = CliRunner().invoke(
        cli, ["verify", "--signature", str(sig), "--trust", str(files["root.pem"])]
    )
    assert result.exit_code == 0, result.output
    assert "sha384" in result.output


def test_tampered_file_exits_1(files: dict[str, Path]) -> None:
    sig = _sign(files)
    files["doc.txt"].write_bytes(b"an altered form\n")
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["root.pem"]),
        ],
    )
    assert result.exit_code == 1
    assert "message-digest" in result.output


def test_wrong_root_exits_1_with_json(files: dict[str, Path]) -> None:
    sig = _sign(files)
    result = CliRunner().invoke(
        cli,
        [
            "verify",
            str(files["doc.txt"]),
            "--signature",
            str(sig),
            "--trust",
            str(files["other.pem"]),
            "--json",
        ],
    )
    assert result.exit_code == 1
    assert '"valid": false' in result.output
