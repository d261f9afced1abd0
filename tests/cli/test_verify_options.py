"""``trustkit verify``: OCSP responses from files, the attached content written out
(``--extract``), and a FILE held against the content an attached signature carries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ReasonFlags, ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from tests.cli.test_json_schemas import check
from tests.cms.conftest import SIGNED_AT, VERIFY_AT, Pki, build_pki
from tests.serving import StaticServer
from tests.validation.conftest import AT, issue, ku, leaf, make_crl
from trustkit.cli import cli
from trustkit.keys import save_private_key

DOCUMENT = b"an application form, signed\n" * 40


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pki]:
    yield from build_pki(tmp_path_factory)


@pytest.fixture
def files(pki: Pki, tmp_path: Path) -> dict[str, Path]:
    key, cert = pki.signers["ec-p256"]
    paths = {n: tmp_path / n for n in ("doc.txt", "cert.pem", "key.pem", "chain.pem", "root.pem")}
    paths["doc.txt"].write_bytes(DOCUMENT)
    paths["cert.pem"].write_bytes(cert.public_bytes(Encoding.PEM))
    save_private_key(key, paths["key.pem"], None, allow_unencrypted=True)  # type: ignore[arg-type]
    paths["chain.pem"].write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in pki.chain))
    paths["root.pem"].write_bytes(pki.root.certificate.public_bytes(Encoding.PEM))
    return paths


def _sign(files: dict[str, Path], out: Path, *extra: str) -> Path:
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
            "-o",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def _verify(files: dict[str, Path], *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ["verify", *args, "--trust", str(files["root.pem"]), "--at", VERIFY_AT.isoformat()],
    )


def _ocsp(pki: Pki, status: ocsp.OCSPCertStatus, out: Path) -> Path:
    """A response from the issuing CA itself (RFC 6960 4.2.2.2: the CA may sign)."""
    _, cert = pki.signers["ec-p256"]
    revoked = status is ocsp.OCSPCertStatus.REVOKED
    response = (
        ocsp.OCSPResponseBuilder()
        .add_response(
            cert=cert,
            issuer=pki.issuing.certificate,
            algorithm=hashes.SHA256(),
            cert_status=status,
            this_update=VERIFY_AT - timedelta(hours=1),
            next_update=VERIFY_AT + timedelta(days=1),
            revocation_time=SIGNED_AT - timedelta(days=1) if revoked else None,
            revocation_reason=ReasonFlags.key_compromise if revoked else None,
        )
        .responder_id(ocsp.OCSPResponderEncoding.HASH, pki.issuing.certificate)
        .sign(pki.issuing.key, hashes.SHA256())  # type: ignore[arg-type]
    )
    out.write_bytes(response.public_bytes(Encoding.DER))
    return out


# --- --ocsp ---------------------------------------------------------------------------


def test_good_ocsp_response_verifies(pki: Pki, files: dict[str, Path], tmp_path: Path) -> None:
    sig = _sign(files, tmp_path / "doc.p7s")
    good = _ocsp(pki, ocsp.OCSPCertStatus.GOOD, tmp_path / "good.ocsp")
    result = _verify(files, str(files["doc.txt"]), "--signature", str(sig), "--ocsp", str(good))
    assert result.exit_code == 0, result.output
    # The response is what decided the signer's status.
    assert "good at" in result.stdout and "OCSP" in result.stdout


def test_revoked_ocsp_response_fails(pki: Pki, files: dict[str, Path], tmp_path: Path) -> None:
    sig = _sign(files, tmp_path / "doc.p7s")
    revoked = _ocsp(pki, ocsp.OCSPCertStatus.REVOKED, tmp_path / "revoked.ocsp")
    result = _verify(files, str(files["doc.txt"]), "--signature", str(sig), "--ocsp", str(revoked))
    assert result.exit_code == 1, result.output
    assert "REVOKED" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1
    # The twin of the twin: without the response, the same signature verifies.
    assert _verify(files, str(files["doc.txt"]), "--signature", str(sig)).exit_code == 0


# --- --extract ------------------------------------------------------------------------


def test_extract_writes_the_signed_content(files: dict[str, Path], tmp_path: Path) -> None:
    sig = _sign(files, tmp_path / "doc.p7m", "--attached")
    out = tmp_path / "extracted.txt"
    result = _verify(files, "--signature", str(sig), "--extract", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == DOCUMENT


def test_extract_refused_for_a_detached_signature(files: dict[str, Path], tmp_path: Path) -> None:
    sig = _sign(files, tmp_path / "doc.p7s")
    out = tmp_path / "extracted.txt"
    result = _verify(files, str(files["doc.txt"]), "--signature", str(sig), "--extract", str(out))
    assert result.exit_code == 1
    assert "detached" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_extract_writes_nothing_when_the_signature_fails(
    pki: Pki, files: dict[str, Path], tmp_path: Path
) -> None:
    sig = _sign(files, tmp_path / "doc.p7m", "--attached")
    revoked = _ocsp(pki, ocsp.OCSPCertStatus.REVOKED, tmp_path / "revoked.ocsp")
    out = tmp_path / "extracted.txt"
    result = _verify(files, "--signature", str(sig), "--ocsp", str(revoked), "--extract", str(out))
    assert result.exit_code == 1
    assert not out.exists()


# --- FILE beside an attached signature --------------------------------------------------


def test_same_file_beside_attached_signature_verifies(
    files: dict[str, Path], tmp_path: Path
) -> None:
    sig = _sign(files, tmp_path / "doc.p7m", "--attached")
    result = _verify(files, str(files["doc.txt"]), "--signature", str(sig))
    assert result.exit_code == 0, result.output
    assert "VALID" in result.stdout


@pytest.mark.parametrize(
    "other",
    [
        DOCUMENT[:-1],  # a byte short
        DOCUMENT + b"\n",  # a byte more
        DOCUMENT.replace(b"signed", b"SIGNED", 1),  # same length, changed
        DOCUMENT * 1000,  # much larger
        b"",
    ],
    ids=["shorter", "longer", "changed", "larger", "empty"],
)
def test_different_file_beside_attached_signature_is_invalid(
    files: dict[str, Path], tmp_path: Path, other: bytes
) -> None:
    sig = _sign(files, tmp_path / "doc.p7m", "--attached")
    forged = tmp_path / "forged.txt"
    forged.write_bytes(other)
    out = tmp_path / "extracted.txt"
    result = _verify(files, str(forged), "--signature", str(sig), "--extract", str(out))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "differs from the content attached" in lines[0]
    assert not out.exists()


# --- --json against docs/schemas/verify.schema.json ------------------------------------


def test_json_valid_and_invalid_match_the_schema(
    pki: Pki, files: dict[str, Path], tmp_path: Path
) -> None:
    sig = _sign(files, tmp_path / "doc.p7s")
    good = _verify(files, str(files["doc.txt"]), "--signature", str(sig), "--json")
    assert good.exit_code == 0, good.output
    document = json.loads(good.stdout)
    check("verify", document)
    assert document["valid"] is True
    revoked = _ocsp(pki, ocsp.OCSPCertStatus.REVOKED, tmp_path / "revoked.ocsp")
    bad = _verify(
        files, str(files["doc.txt"]), "--signature", str(sig), "--ocsp", str(revoked), "--json"
    )
    assert bad.exit_code == 1
    refused = json.loads(bad.stdout)
    check("verify", refused)
    assert refused["valid"] is False and refused["signers"][0]["valid"] is False


def test_verify_schema_refuses_what_it_should() -> None:
    import jsonschema

    with pytest.raises(jsonschema.ValidationError):
        check("verify", {"valid": True})
    with pytest.raises(jsonschema.ValidationError):
        check("verify", {"valid": "yes", "signers": []})


# --- --fetch, from a real HTTP server on 127.0.0.1 -------------------------------------


@pytest.mark.parametrize("revoked", [False, True], ids=["good-crl", "revoked-crl"])
def test_fetch_reads_the_crls_the_certificates_name(
    static_server: StaticServer, tmp_path: Path, revoked: bool
) -> None:
    root = issue("Fetch Root CA", None, ca=True)
    inter = issue("Fetch Issuing CA", root, ca=True, crl_urls=[f"{static_server.url}/root.crl"])
    signer = leaf(
        inter,
        "Fetch Signer",
        dns=(),
        eku=[EKU.EMAIL_PROTECTION],
        key_usage=ku(digital_signature=True, content_commitment=True),
        crl_urls=[f"{static_server.url}/inter.crl"],
    )
    der = Encoding.DER
    entries = [(signer.cert.serial_number, ReasonFlags.key_compromise)] if revoked else []
    static_server.routes = {
        "/root.crl": make_crl(root).public_bytes(der),
        "/inter.crl": make_crl(inter, entries).public_bytes(der),
    }
    paths = {n: tmp_path / n for n in ("doc.txt", "cert.pem", "key.pem", "chain.pem", "root.pem")}
    paths["doc.txt"].write_bytes(DOCUMENT)
    paths["cert.pem"].write_bytes(signer.cert.public_bytes(Encoding.PEM))
    save_private_key(signer.key, paths["key.pem"], None, allow_unencrypted=True)
    paths["chain.pem"].write_bytes(inter.cert.public_bytes(Encoding.PEM))
    paths["root.pem"].write_bytes(root.cert.public_bytes(Encoding.PEM))
    sig = _sign(paths, tmp_path / "doc.p7s")
    args = ["verify", str(paths["doc.txt"]), "--signature", str(sig), "--trust"]
    args += [str(paths["root.pem"]), "--at", AT.isoformat(), "--revocation", "hard-fail"]
    fetched = CliRunner().invoke(cli, [*args, "--fetch"])
    assert fetched.exit_code == (1 if revoked else 0), fetched.output
    assert ("REVOKED" in fetched.stdout) is revoked
    # Offline, hard-fail has no evidence at all: refused either way.
    offline = CliRunner().invoke(cli, args)
    assert offline.exit_code == 1
    assert "REVOKED" not in offline.stdout
