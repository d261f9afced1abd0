"""``trustkit issue`` with many CSRs: one process, one key unlock, one transaction."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.cli import cli
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name

ENV = {"TRUSTKIT_PASSPHRASE": "s3cret-passphrase", "TRUSTKIT_CA": ""}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def ca_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "ca"
    code, _, err = run(
        "init", "--ca", str(directory), "--subject", "CN=Batch CA,O=Example,C=EX",
        "--key-type", "ec-p256",
    )  # fmt: skip
    assert code == 0, err
    return directory


def _csrs(directory: Path, *hosts: str) -> list[Path]:
    directory.mkdir(exist_ok=True)
    paths = []
    for host in hosts:
        csr = create_csr(
            generate_key("ec-p256"), parse_name(f"CN={host}"), parse_general_names([f"dns:{host}"])
        )
        path = directory / f"{host}.pem"
        path.write_bytes(pem_encode("CERTIFICATE REQUEST", csr.public_bytes(Encoding.DER)))
        paths.append(path)
    return paths


def _assert_openssl_verifies(ca_dir: Path, certificate: Path) -> None:
    verify = subprocess.run(
        ["openssl", "verify", "-CAfile", str(ca_dir / "ca.pem"), str(certificate)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr


def _records(ca_dir: Path) -> list[dict[str, object]]:
    code, out, _ = run("list", "--ca", str(ca_dir), "--json")
    assert code == 0
    records: list[dict[str, object]] = json.loads(out)
    return [r for r in records if r["profile"] == "tls-server"]


def test_batch_from_repeated_csr_and_from_a_directory(ca_dir: Path, tmp_path: Path) -> None:
    paths = _csrs(tmp_path / "req", "a.example.gov", "b.example.gov", "c.example.gov")
    out = tmp_path / "out"
    args = [arg for path in paths[:2] for arg in ("--csr", str(path))]
    code, _, err = run("issue", "--ca", str(ca_dir), *args, "--out-dir", str(out))
    assert code == 0, err
    assert "issued 2 certificates" in err
    code, _, err = run(
        "issue", "--ca", str(ca_dir), "--csr-dir", str(tmp_path / "req"), "--out-dir", str(out)
    )
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [f"{p.stem}.pem" for p in paths]
    for path in out.iterdir():
        _assert_openssl_verifies(ca_dir, path)
    assert len(_records(ca_dir)) == 5


def test_one_bad_csr_refuses_the_batch(ca_dir: Path, tmp_path: Path) -> None:
    good = _csrs(tmp_path / "req", "a.example.gov")
    bad = tmp_path / "req" / "citizen.pem"
    csr = create_csr(
        generate_key("ec-p256"), parse_name("CN=x"), parse_general_names(["email:x@example.gov"])
    )
    bad.write_bytes(pem_encode("CERTIFICATE REQUEST", csr.public_bytes(Encoding.DER)))
    out = tmp_path / "out"
    code, _, err = run(
        "issue", "--ca", str(ca_dir), "--csr", str(good[0]), "--csr", str(bad),
        "--out-dir", str(out),
    )  # fmt: skip
    assert code == 1
    assert "citizen.pem" in err and "subjectAltName" in err
    assert not out.exists()
    assert _records(ca_dir) == []


def test_batch_into_one_bundle(ca_dir: Path, tmp_path: Path) -> None:
    paths = _csrs(tmp_path / "req", "b.example.gov", "a.example.gov", "c.example.gov")
    bundle = tmp_path / "bundle.pem"
    args = [arg for path in paths for arg in ("--csr", str(path))]
    code, _, err = run("issue", "--ca", str(ca_dir), *args, "-o", str(bundle))
    assert code == 0, err
    certificates = x509.load_pem_x509_certificates(bundle.read_bytes())
    # In the order the CSRs were given, each for its own request.
    hosts = [
        c.extensions.get_extension_for_class(x509.SubjectAlternativeName) for c in certificates
    ]
    assert [h.value.get_values_for_type(x509.DNSName) for h in hosts] == [[p.stem] for p in paths]
    for index in range(len(certificates)):
        one = tmp_path / f"one-{index}.pem"
        one.write_bytes(certificates[index].public_bytes(Encoding.PEM))
        _assert_openssl_verifies(ca_dir, one)
    assert len(_records(ca_dir)) == 3


def test_batch_usage_errors(ca_dir: Path, tmp_path: Path) -> None:
    paths = _csrs(tmp_path / "req", "a.example.gov", "b.example.gov")
    both = ["--csr", str(paths[0]), "--csr", str(paths[1])]
    code, _, err = run("issue", "--ca", str(ca_dir), *both)
    assert code == 2 and "--out-dir DIR (a file each) or -o FILE (one bundle)" in err
    both_outputs = ["-o", str(tmp_path / "x.pem"), "--out-dir", str(tmp_path / "d")]
    assert run("issue", "--ca", str(ca_dir), *both, *both_outputs)[0] == 2
    assert run("issue", "--ca", str(ca_dir))[0] == 2
    assert _records(ca_dir) == []
    assert not (tmp_path / "x.pem").exists()
