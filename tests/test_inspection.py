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


# What a person reads: well-known OIDs named, yes/no, ISO 8601 UTC times; PKCS#12 read.


def test_text_names_the_oids_an_eidas_reader_must_recognise(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, _ = pki
    sample = hierarchy.issue_sample("qualified-signature")
    described = inspect_bytes(sample.issued.pem())
    text = render_text(described)
    for label in (
        "QcCompliance (0.4.0.1862.1.1)",
        "QcSSCD (0.4.0.1862.1.4)",
        "QcType (0.4.0.1862.1.6)",
        "qct-esign (0.4.0.1862.1.6.1)",
        "QCP-n-qscd (0.4.0.194112.1.2)",
    ):
        assert label in text, label
    assert "critical: yes" in text and "critical: no" in text
    assert "True" not in text and "False" not in text
    assert "not_after: 20" in text and text.count("Z\n") >= 2  # ISO 8601 UTC
    # The JSON keeps the numbers, for scripts: the names are for people.
    policies = next(e for e in described[0].fields["extensions"] if e["oid"] == "2.5.29.32")
    assert policies["value"] == ["0.4.0.194112.1.2"]


def test_an_unknown_oid_stays_a_number(pki: tuple[Hierarchy, Path]) -> None:
    from trustkit.inspection import oid_label

    assert oid_label("1.2.3.4.5") == "1.2.3.4.5"
    assert oid_label("1.3.6.1.5.5.7.3.1") == "serverAuth (1.3.6.1.5.5.7.3.1)"


def test_cms_content_type_and_eku_named(pki: tuple[Hierarchy, Path]) -> None:
    hierarchy, _ = pki
    seal = hierarchy.issue_sample("org-seal")
    signature = sign(
        b"decision",
        Signer(seal.key, seal.issued.certificate, seal.issued.chain),
        at=TEST_TIME,
        attached=True,
    )
    text = render_text(inspect_bytes(signature))
    assert "content_type: id-data (1.2.840.113549.1.7.1)" in text
    server = hierarchy.issue_sample("tls-server")
    assert "serverAuth (1.3.6.1.5.5.7.3.1)" in render_text(inspect_bytes(server.issued.pem()))


@pytest.fixture
def p12(pki: tuple[Hierarchy, Path], tmp_path: Path) -> Path:
    from trustkit.bundles import export_pkcs12

    hierarchy, _ = pki
    sample = hierarchy.issue_sample("citizen-auth")
    path = tmp_path / "alice.p12"
    path.write_bytes(
        export_pkcs12(sample.issued.certificate, sample.key, sample.issued.chain, b"p12 secret")
    )
    (tmp_path / "pass").write_bytes(b"p12 secret\n")
    (tmp_path / "wrong").write_bytes(b"not the secret\n")
    return path


def test_cli_reads_pkcs12_with_its_passphrase(p12: Path) -> None:
    result = CliRunner().invoke(
        cli, ["inspect", str(p12), "--passphrase-file", str(p12.with_name("pass")), "--json"]
    )
    assert result.exit_code == 0, result.output
    (described,) = json.loads(result.stdout)
    assert described["kind"] == "pkcs12"
    assert described["fields"]["key_matches_certificate"] is True
    assert len(described["fields"]["chain"]) == 2
    assert described["fields"]["certificate"]["subject"].startswith("CN=")


def test_cli_pkcs12_wrong_passphrase_is_one_line(p12: Path) -> None:
    result = CliRunner().invoke(
        cli, ["inspect", str(p12), "--passphrase-file", str(p12.with_name("wrong"))]
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"trustkit: error: {p12}: wrong passphrase, or not a PKCS#12 file (RFC 7292)"
    )


def test_no_passphrase_is_asked_for_what_is_not_pkcs12(pki: tuple[Hierarchy, Path]) -> None:
    _, base = pki
    asked: list[str] = []

    def passphrase() -> bytes:
        asked.append("asked")
        return b"x"

    for path in (base / "issuing" / "ca.pem", base / "issuing" / "ca.key"):
        inspect_bytes(path.read_bytes(), passphrase=passphrase)
    assert asked == []


def test_list_has_a_header_row(pki: tuple[Hierarchy, Path]) -> None:
    _, base = pki
    result = CliRunner().invoke(cli, ["list", "--ca", str(base / "issuing")])
    assert result.exit_code == 0, result.output
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["SERIAL", "STATUS", "EXPIRES", "PROFILE", "SUBJECT"]
    assert rows and all(not row.startswith("SERIAL") for row in rows)
    as_json = CliRunner().invoke(cli, ["list", "--ca", str(base / "issuing"), "--json"])
    assert len(json.loads(as_json.stdout)) == len(rows)  # no header in JSON


def test_help_pages_end_with_examples_and_top_level_help_is_whole() -> None:
    from trustkit.cli._examples import EXAMPLES

    for name in ("sign", "validate", "inspect", "issue", "key generate"):
        result = CliRunner().invoke(cli, [*name.split(), "--help"])
        assert result.exit_code == 0
        tail = result.stdout.rstrip().splitlines()
        assert tail[-1].strip() == EXAMPLES[name][-1], name
    top = CliRunner().invoke(cli, ["--help"]).stdout
    commands = top[top.index("Commands:") :]
    assert "..." not in commands
    assert "its number is one more than any before" in " ".join(top.split())
