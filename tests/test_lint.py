"""``trustkit lint``: pkilint's validators in-process, agreeing with pkilint's own tools.

Every certificate the suite's hierarchy issues (one per built-in profile and
the two CAs), a CRL and an OCSP response are linted twice: by ``trustkit lint
--json`` and by the pkilint console script for the same object and profile
(``lint_etsi_cert --detect``, ``lint_cabf_serverauth_cert --detect``,
``lint_pkix_cert``, ``lint_crl``, ``lint_ocsp_response``). The findings must
be the same. The twins are certificates made wrong on purpose, which both
must flag, and which make ``trustkit lint`` exit 1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.cli.test_json_schemas import check as check_schema
from tests.conftest import TEST_TIME, require
from trustkit.cli import cli
from trustkit.clock import FixedClock
from trustkit.lint import Severity, lint_der, lint_file_data
from trustkit.revocation.crl import build_crl
from trustkit.revocation.ocsp import OCSPResponder, ResponderSettings, SigningMode
from trustkit.testing import LEAF_PROFILES, Hierarchy, make_pki, write_pem

pytestmark = pytest.mark.interop

LINTER_TOOLS = {
    "pkix": ("lint_pkix_cert",),
    "cabf-serverauth": ("lint_cabf_serverauth_cert", "--detect"),
    "etsi": ("lint_etsi_cert", "--detect"),
    "crl": ("lint_crl", "--profile", "PKIX"),
    "ocsp": ("lint_ocsp_response",),
}
"""The pkilint console script for each of trustkit's linters, with its detection options."""


def _run(*args: str) -> tuple[int, dict[str, object], str]:
    """Run ``trustkit ARGS``; with ``--json``, its stdout checked against lint.schema.json."""
    result = CliRunner().invoke(cli, list(args))
    out = {}
    if "--json" in args:
        out = json.loads(result.stdout)
        check_schema("lint", out)
    return result.exit_code, out, result.stderr


def _tool_findings(linter: str, profile: str | None, path: Path) -> list[tuple[str, str, str]]:
    """(severity, code, node) of every finding of pkilint's own tool on ``path``, sorted."""
    tool, *options = LINTER_TOOLS[linter]
    if shutil.which(tool) is None:
        require(tool)
    if linter == "crl":
        assert profile is not None
        options = [*options, "--type", profile]
    done = subprocess.run(
        [tool, "lint", *options, "--severity", "DEBUG", "--format", "JSON", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert not done.stderr.strip(), done.stderr
    return sorted(
        (d["severity"], d["code"], r["node_path"])
        for r in json.loads(done.stdout)["results"]
        for d in r["finding_descriptions"]
    )


def _trustkit_findings(path: Path) -> tuple[str, str | None, list[tuple[str, str, str]]]:
    """(linter, profile, findings) of ``trustkit lint --json --severity DEBUG`` on ``path``."""
    code, out, err = _run("lint", "--json", "--severity", "DEBUG", str(path))
    assert code in (0, 1), err
    (report,) = out["reports"]  # type: ignore[misc]
    found = sorted((f["severity"], f["code"], f["node"]) for f in report["findings"])
    return report["linter"], report["profile"], found


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    with make_pki(tmp_path_factory.mktemp("lint-pki"), FixedClock(TEST_TIME)) as pki:
        yield pki


@pytest.fixture(scope="module")
def issued(pki: Hierarchy, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A PEM file per built-in profile, the CAs included."""
    out = tmp_path_factory.mktemp("lint-issued")
    certificates = {name: pki.issue_sample(name).certificate for name in LEAF_PROFILES}
    certificates |= {"root-ca": pki.root.certificate, "sub-ca": pki.issuing.certificate}
    return {name: write_pem(out / f"{name}.pem", c) for name, c in certificates.items()}


EXPECTED_LINTER = {
    "root-ca": "pkix",
    "sub-ca": "pkix",
    "tls-server": "cabf-serverauth",
    "tls-client": "pkix",
    "citizen-auth": "etsi",
    "qualified-signature": "etsi",
    "org-seal": "etsi",
    "code-signing": "pkix",
    "ocsp-signing": "pkix",
    "timestamping": "pkix",
}


@pytest.mark.parametrize("profile", list(EXPECTED_LINTER))
def test_lint_agrees_with_pkilints_tools(issued: dict[str, Path], profile: str) -> None:
    linter, pkilint_type, found = _trustkit_findings(issued[profile])
    assert linter == EXPECTED_LINTER[profile]
    assert found == _tool_findings(linter, pkilint_type, issued[profile])
    # Agreement on nothing would prove nothing: every certificate draws at least
    # pkilint's INFO note on how its subjectKeyIdentifier was made.
    assert found


def test_lint_agrees_on_a_crl_and_an_ocsp_response(pki: Hierarchy, tmp_path: Path) -> None:
    sample = pki.issue_sample("tls-client")
    pki.issuing.revoke(sample.certificate.serial_number, at=TEST_TIME)
    crl = build_crl(pki.issuing, at=TEST_TIME).crl
    crl_path = tmp_path / "issuing.crl"
    crl_path.write_bytes(crl.public_bytes(Encoding.DER))
    assert _trustkit_findings(crl_path) == (
        "crl",
        "CRL",
        _tool_findings("crl", "CRL", crl_path),
    )
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate(sample.certificate, pki.issuing.certificate, hashes.SHA256())
        .build()
    )
    responder = OCSPResponder([pki.issuing], settings=ResponderSettings(signing=SigningMode.CA))
    response_path = tmp_path / "response.der"
    response_path.write_bytes(responder.respond(request.public_bytes(Encoding.DER), at=TEST_TIME))
    linter, _, found = _trustkit_findings(response_path)
    assert linter == "ocsp"
    assert found == _tool_findings("ocsp", None, response_path)


def _bad_tls_server(pki: Hierarchy) -> x509.Certificate:
    """A TLS server certificate as no CA should sign: no SAN, no AKI, no key usage, a
    commonName that is not a host name, and five years of validity (BR 7.1.2.7, 6.3.2)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "not a host")]))
        .issuer_name(pki.issuing.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(TEST_TIME)
        .not_valid_after(TEST_TIME + timedelta(days=5 * 365))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(pki.issuing.key, hashes.SHA384())
    )


def test_lint_flags_a_deliberately_bad_certificate(pki: Hierarchy, tmp_path: Path) -> None:
    path = write_pem(tmp_path / "bad.pem", _bad_tls_server(pki))
    linter, _, found = _trustkit_findings(path)
    assert linter == "cabf-serverauth"
    assert found == _tool_findings(linter, None, path)
    errors = {code for severity, code, _ in found if severity == "ERROR"}
    assert {
        "cabf.serverauth.subscriber.subject_altname_extension_absent",
        "cabf.serverauth.certificate_validity_period_exceeds_398_days",
        "pkix.authority_key_identifier_extension_absent",
    } <= errors, errors
    # In text: one line per finding on stdout, exit status 1.
    result = CliRunner().invoke(cli, ["lint", str(path)])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(f"{path}: ") for line in lines)
    assert sum(" ERROR " in line for line in lines) == len(errors)


def test_the_exit_status_follows_severity(issued: dict[str, Path]) -> None:
    # tls-server draws two CA/Browser Forum WARNINGs (a commonName; a subjectKeyIdentifier,
    # which RFC 5280 asks for), and nothing worse.
    path = str(issued["tls-server"])
    code, out, _ = _run("lint", "--json", path)
    assert code == 1 and out["clean"] is False
    (report,) = out["reports"]  # type: ignore[misc]
    assert {f["severity"] for f in report["findings"]} == {"WARNING"}
    code, out, _ = _run("lint", "--json", "--severity", "error", path)
    assert code == 0 and out["clean"] is True
    assert out["reports"][0]["findings"] == []  # type: ignore[index]


def test_clean_certificates_exit_zero(issued: dict[str, Path]) -> None:
    paths = [str(issued[name]) for name in ("root-ca", "sub-ca", "qualified-signature")]
    result = CliRunner().invoke(cli, ["lint", *paths])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "no findings at WARNING or worse" in result.stderr


def test_a_bundle_is_linted_object_by_object(pki: Hierarchy, tmp_path: Path) -> None:
    bundle = write_pem(tmp_path / "chain.pem", _bad_tls_server(pki), *pki.chain)
    reports = lint_file_data(bundle.read_bytes(), source="chain.pem")
    assert [r.source for r in reports] == ["chain.pem#1", "chain.pem#2", "chain.pem#3"]
    assert [r.linter for r in reports] == ["cabf-serverauth", "pkix", "pkix"]
    assert reports[0].at_least(Severity.ERROR)
    assert not reports[1].at_least(Severity.WARNING) and not reports[2].at_least(Severity.WARNING)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"not a certificate at all", "neither PEM nor DER"),
        (b"\x30\x03\x02\x01\x01", "not a certificate, CRL or OCSP response"),
        (b"-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n",
         "CERTIFICATE REQUEST cannot be linted"),
        (b"-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n",
         "not a DER certificate"),
    ],
)  # fmt: skip
def test_what_cannot_be_linted_is_one_line(tmp_path: Path, content: bytes, expected: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["lint", str(path)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert "Traceback" not in result.output
    code, out, _ = _run("lint", "--json", str(path))
    assert code == 1 and expected in out["error"]["message"]  # type: ignore[index]


def test_lint_der_names_the_source(pki: Hierarchy) -> None:
    report = lint_der(pki.root.certificate.public_bytes(Encoding.DER), source="root.der")
    assert (report.source, report.kind, report.linter, report.profile) == (
        "root.der",
        "certificate",
        "pkix",
        None,
    )
