"""`trustkit inspect` and the library under it: every kind of PKI object, PEM or DER."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.cli import cli
from trustkit.clock import FixedClock
from trustkit.cms import Signer, sign
from trustkit.csr import create_csr
from trustkit.encoding import format_serial
from trustkit.errors import DecodeError
from trustkit.inspection import inspect_bytes, render_text
from trustkit.keys import generate_key, serialize_private_key
from trustkit.names import parse_name
from trustkit.revocation.crl import build_crl
from trustkit.testing import TEST_PASSPHRASE, Hierarchy, make_pki
from trustkit.tsa import LocalTimestamper, TimestampAuthority

from .conftest import TEST_TIME


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hierarchy, Path]]:
    base = tmp_path_factory.mktemp("inspect")
    hierarchy = make_pki(base, FixedClock(TEST_TIME))
    yield hierarchy, base
    hierarchy.close()


def _kinds(data: bytes) -> list[str]:
    return [d.kind for d in inspect_bytes(data)]


def test_certificates_and_bundles(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, _ = pki
    sample = hierarchy.issue_sample("qualified-signature")
    pem = sample.issued.fullchain_pem()
    described = inspect_bytes(pem)
    assert [d.kind for d in described] == ["certificate"] * 3
    leaf = described[0].fields
    assert leaf["subject"].startswith("CN=")
    qc = next(e for e in leaf["extensions"] if e["name"] == "qcStatements")
    assert {"id": "0.4.0.1862.1.6", "values": ["0.4.0.1862.1.6.1"]} in qc["value"]
    der = sample.issued.certificate.public_bytes(Encoding.DER)
    assert inspect_bytes(der)[0].fields == leaf
    assert "qcStatements" in render_text(described)


def test_csr_crl_and_keys(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, base = pki
    sample = hierarchy.issue_sample("tls-server")
    hierarchy.issuing.revoke(sample.issued.serial, at=TEST_TIME + timedelta(minutes=1))
    crl = build_crl(hierarchy.issuing, at=TEST_TIME + timedelta(minutes=2))
    (crl_fields,) = (d.fields for d in inspect_bytes(crl.der))
    assert [r["serial"] for r in crl_fields["revoked"]] == [format_serial(sample.issued.serial)]
    key_file = (base / "issuing" / "ca.key").read_bytes()
    assert inspect_bytes(key_file)[0].fields == {"encrypted": True}
    plain = serialize_private_key(generate_key(), None)
    (key,) = inspect_bytes(plain)
    assert key.kind == "private-key" and key.fields["algorithm"] == "EC P-256"
    request = create_csr(generate_key(), parse_name("CN=www.example.gov"))
    (described,) = inspect_bytes(request.public_bytes(Encoding.DER))
    assert described.kind == "csr" and described.fields["signature_valid"] is True


def test_cms_and_timestamps(pki: tuple[Hierarchy, Path], tmp_path: Path) -> None:
    hierarchy, _ = pki
    seal = hierarchy.issue_sample("org-seal")
    tsa = TimestampAuthority.create(
        hierarchy.issuing,
        tmp_path / "tsa",
        subject="CN=Example TSA,O=Republic of Example,C=EE",
        passphrase=TEST_PASSPHRASE,
        at=TEST_TIME,
    )
    signature = sign(
        b"decision",
        Signer(seal.key, seal.issued.certificate, seal.issued.chain),
        at=TEST_TIME,
        timestamper=LocalTimestamper(tsa, FixedClock(TEST_TIME)),
    )
    (cms,) = inspect_bytes(signature)
    assert cms.kind == "cms"
    assert cms.fields["content"] == "detached"
    assert cms.fields["signers"][0]["timestamps"] == 1
    document = tmp_path / "decision.txt"
    document.write_bytes(b"decision")
    query = tmp_path / "q.tsq"
    subprocess.run(
        ["openssl", "ts", "-query", "-data", str(document), "-sha256", "-cert", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    (request,) = inspect_bytes(query.read_bytes())
    assert request.kind == "timestamp-query" and request.fields["cert_req"] is True
    reply = tsa.respond(query.read_bytes(), at=TEST_TIME)
    (answer,) = inspect_bytes(reply)
    assert answer.kind == "timestamp-reply" and answer.fields["status"] == 0
    assert answer.fields["token"]["timestamp"]["gen_time"] == "2026-01-15T12:00:00Z"
    tsa.close()


def test_garbage_is_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        inspect_bytes(b"\x30\x03\x02\x01\x05")
    with pytest.raises(DecodeError):
        inspect_bytes(b"hello")


def test_cli_json(pki: tuple[Hierarchy, Path]) -> None:
    _, base = pki
    result = CliRunner().invoke(cli, ["inspect", str(base / "issuing" / "ca.pem"), "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)[0]["kind"] == "certificate"
    bad = base / "bad.der"
    bad.write_bytes(b"\x30\x00")
    result = CliRunner().invoke(cli, ["inspect", str(bad)])
    assert result.exit_code == 1 and "not a certificate" in result.stderr


def test_cli_reads_standard_input(pki: tuple[Hierarchy, Path]) -> None:
    _, base = pki
    pem = (base / "issuing" / "ca.pem").read_bytes()
    result = CliRunner().invoke(cli, ["inspect", "-", "--json"], input=pem)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["kind"] == "certificate"
