"""Conformance: pkilint finds nothing wrong with what trustkit issues.

- ``lint_pkix_cert`` (RFC 5280): nothing at WARNING or above, for every
  built-in profile and for the root and issuing CA certificates.
- ``lint_etsi_cert`` (ETSI EN 319 412): nothing at WARNING or above for the
  eIDAS profiles, each linted as the certificate type pkilint itself detects:
  qualified-signature as QCP-N-QSCD, org-seal as a legal-person and
  citizen-auth as a natural-person certificate (pkilint 0.13 has no QCP-L
  type for non-web seals).
- ``lint_cabf_serverauth_cert`` (CA/Browser Forum TLS BR): nothing at ERROR
  or above for tls-server, at every step of ballot SC-081's validity
  schedule; its warnings are exactly :data:`CABF_EXPECTED_WARNINGS`.

Every clean result has a twin: the same certificate re-signed by the same CA
without an extension the standard requires, which the same linter must flag.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from tests.conftest import TEST_TIME, require
from trustkit._asn1 import QC_PDS, decode_qc_statements, encode_qc_statements
from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.keys import KeyType, generate_key, signature_hash_for
from trustkit.profiles import profiles_from_config
from trustkit.testing import LEAF_PROFILES, SAMPLE_REQUESTS, Hierarchy, make_pki, write_pem

pytestmark = pytest.mark.interop

SEVERITIES = ("DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL")
"""pkilint's finding severities, least severe first."""

QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")

CA_CERTIFICATES = ("root-ca", "sub-ca")

ETSI_TYPES = {
    "qualified-signature": "QCP-N-QSCD-EIDAS-FINAL-CERTIFICATE",
    "org-seal": "NCP-LEGAL-PERSON-CERTIFICATE",
    "citizen-auth": "NCP-NATURAL-PERSON-CERTIFICATE",
}
"""The ``lint_etsi_cert -t`` certificate type for each eIDAS profile."""

CABF_EXPECTED_WARNINGS = frozenset(
    {
        # BR 7.1.4.3 / 7.1.2.7.2: commonName is NOT RECOMMENDED in a DV subject; the
        # sample request carries one, as most CSRs do (trustkit copies the CSR subject).
        "cabf.serverauth.dv.common_name_attribute_present",
        # BR 7.1.2.7.6: subjectKeyIdentifier is NOT RECOMMENDED in subscriber
        # certificates, while RFC 5280 4.2.1.2 says it SHOULD be there; trustkit
        # follows RFC 5280 for every profile.
        "cabf.serverauth.subscriber.subject_key_identifier_extension_present",
    }
)
"""The lint_cabf_serverauth_cert warnings a tls-server certificate is known to draw."""

SC081_STEPS = ("DOCUMENT", "2026-03-15T00:00:00Z", "2027-03-15T00:00:00Z", "2029-03-15T00:00:00Z")
"""Validity period starts that select each step of BR 6.3.2 (ballot SC-081)."""


@dataclass(frozen=True)
class Finding:
    """One pkilint finding."""

    validator: str
    node: str
    severity: str
    code: str
    message: str | None

    def at_least(self, severity: str) -> bool:
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(severity)

    def __str__(self) -> str:
        text = f"{self.severity} {self.code} at {self.node}"
        return f"{text}: {self.message}" if self.message else text


def lint(
    linter: str, certificate: x509.Certificate, directory: Path, *options: str
) -> list[Finding]:
    """Every finding of ``linter lint`` (a pkilint console script) on ``certificate``."""
    if shutil.which(linter) is None:
        require(linter)
    path = write_pem(directory / f"{certificate.serial_number:x}.pem", certificate)
    done = subprocess.run(
        [linter, "lint", *options, "--severity", "DEBUG", "--format", "JSON", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    # pkilint exits with the number of findings; anything it could not lint shows on stderr.
    assert not done.stderr.strip(), done.stderr
    return [
        Finding(
            result["validator"],
            result["node_path"],
            description["severity"],
            description["code"],
            description["message"],
        )
        for result in json.loads(done.stdout)["results"]
        for description in result["finding_descriptions"]
    ]


def at_least(findings: list[Finding], severity: str) -> list[str]:
    return [str(f) for f in findings if f.at_least(severity)]


def codes(findings: list[Finding], severity: str) -> set[str]:
    return {f.code for f in findings if f.at_least(severity)}


def without(
    certificate: x509.Certificate, ca: CertificateAuthority, oid: x509.ObjectIdentifier
) -> x509.Certificate:
    """``certificate`` re-signed by ``ca`` without the extension ``oid``: a negative twin."""
    builder = (
        x509.CertificateBuilder()
        .subject_name(certificate.subject)
        .issuer_name(certificate.issuer)
        .public_key(certificate.public_key())
        .serial_number(certificate.serial_number)
        .not_valid_before(certificate.not_valid_before_utc)
        .not_valid_after(certificate.not_valid_after_utc)
    )
    assert any(ext.oid == oid for ext in certificate.extensions)
    for ext in certificate.extensions:
        if ext.oid != oid:
            builder = builder.add_extension(ext.value, critical=ext.critical)
    return builder.sign(ca.key, signature_hash_for(ca.key))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    with make_pki(tmp_path_factory.mktemp("pki"), FixedClock(TEST_TIME)) as pki:
        yield pki


@pytest.fixture(scope="module")
def certificates(pki: Hierarchy) -> dict[str, x509.Certificate]:
    """One certificate per built-in profile, the CAs included."""
    issued = {name: pki.issue_sample(name).certificate for name in LEAF_PROFILES}
    return {"root-ca": pki.root.certificate, "sub-ca": pki.issuing.certificate, **issued}


def _signer(pki: Hierarchy, profile: str) -> CertificateAuthority:
    """The CA whose key signed a certificate of ``profile``."""
    return pki.root if profile in CA_CERTIFICATES else pki.issuing


# --- RFC 5280 (lint_pkix_cert) ------------------------------------------------------


@pytest.mark.parametrize("profile", [*CA_CERTIFICATES, *LEAF_PROFILES])
def test_pkix_lint_is_clean(
    certificates: dict[str, x509.Certificate], tmp_path: Path, profile: str
) -> None:
    findings = lint("lint_pkix_cert", certificates[profile], tmp_path)
    assert at_least(findings, "WARNING") == []


@pytest.mark.parametrize("profile", [*CA_CERTIFICATES, *LEAF_PROFILES])
def test_pkix_lint_flags_missing_key_identifier(
    pki: Hierarchy, certificates: dict[str, x509.Certificate], tmp_path: Path, profile: str
) -> None:
    # RFC 5280 4.2.1.2: a CA certificate MUST have a subjectKeyIdentifier;
    # 4.2.1.1: any other certificate MUST have an authorityKeyIdentifier.
    is_ca = profile in CA_CERTIFICATES
    oid = ExtensionOID.SUBJECT_KEY_IDENTIFIER if is_ca else ExtensionOID.AUTHORITY_KEY_IDENTIFIER
    broken = without(certificates[profile], _signer(pki, profile), oid)
    expected = (
        "pkix.certificate_skid_ca_missing"
        if is_ca
        else "pkix.authority_key_identifier_extension_absent"
    )
    assert expected in codes(lint("lint_pkix_cert", broken, tmp_path), "ERROR")


# --- ETSI EN 319 412 (lint_etsi_cert) -----------------------------------------------


@pytest.mark.parametrize("profile", sorted(ETSI_TYPES))
def test_etsi_lint_is_clean(
    certificates: dict[str, x509.Certificate], tmp_path: Path, profile: str
) -> None:
    findings = lint("lint_etsi_cert", certificates[profile], tmp_path, "-t", ETSI_TYPES[profile])
    assert at_least(findings, "WARNING") == []


@pytest.mark.parametrize("profile", sorted(ETSI_TYPES))
def test_etsi_type_is_what_pkilint_detects(
    certificates: dict[str, x509.Certificate], tmp_path: Path, profile: str
) -> None:
    path = write_pem(tmp_path / "cert.pem", certificates[profile])
    done = subprocess.run(
        ["lint_etsi_cert", "lint", "--detect", "--output", "--severity", "FATAL", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stderr.strip() == ETSI_TYPES[profile]


@pytest.mark.parametrize("profile", sorted(ETSI_TYPES))
def test_etsi_lint_flags_missing_certificate_policies(
    pki: Hierarchy, certificates: dict[str, x509.Certificate], tmp_path: Path, profile: str
) -> None:
    broken = without(certificates[profile], pki.issuing, ExtensionOID.CERTIFICATE_POLICIES)
    findings = lint("lint_etsi_cert", broken, tmp_path, "-t", ETSI_TYPES[profile])
    assert "etsi.en_319_412_2.certificate_policies_extension_absent" in codes(findings, "ERROR")


def test_etsi_lint_flags_qualified_signature_without_qc_statements(
    pki: Hierarchy, certificates: dict[str, x509.Certificate], tmp_path: Path
) -> None:
    broken = without(certificates["qualified-signature"], pki.issuing, QC_STATEMENTS)
    findings = lint("lint_etsi_cert", broken, tmp_path, "-t", ETSI_TYPES["qualified-signature"])
    assert "etsi.en_319_412_2.qc_statements_extension_absent" in codes(findings, "ERROR")


def _qualified_with_pds(pki: Hierarchy, pds: dict[str, str]) -> x509.Certificate:
    profile = profiles_from_config({"qualified-signature": {"pds": pds}})["qualified-signature"]
    csr = SAMPLE_REQUESTS["qualified-signature"].csr(generate_key())
    return pki.issuing.issue(csr, profile).certificate


def test_etsi_lint_is_clean_with_disclosure_statements(pki: Hierarchy, tmp_path: Path) -> None:
    pds = {"en": "https://pki.example.gov/pds/en.pdf", "et": "https://pki.example.gov/pds/et.pdf"}
    certificate = _qualified_with_pds(pki, pds)
    qc = certificate.extensions.get_extension_for_oid(QC_STATEMENTS).value
    assert isinstance(qc, x509.UnrecognizedExtension)
    (statement,) = [s for s in decode_qc_statements(qc.value) if s.statement_id == QC_PDS]
    assert statement.values == (f"{pds['en']} (en)", f"{pds['et']} (et)")
    findings = lint(
        "lint_etsi_cert", certificate, tmp_path, "-t", ETSI_TYPES["qualified-signature"]
    )
    assert at_least(findings, "WARNING") == []


def test_etsi_lint_flags_a_disclosure_statement_over_http(pki: Hierarchy, tmp_path: Path) -> None:
    # The twin trustkit refuses to issue (profiles reject http PDS URLs), made by hand.
    certificate = _qualified_with_pds(pki, {"en": "https://pki.example.gov/pds/en.pdf"})
    der = encode_qc_statements(
        compliance=True,
        sscd=True,
        qc_type="0.4.0.1862.1.6.1",
        pds=(("http://pki.example.gov/pds/en.pdf", "en"),),
    )
    broken = without(certificate, pki.issuing, QC_STATEMENTS)
    builder = x509.CertificateBuilder(
        issuer_name=broken.issuer,
        subject_name=broken.subject,
        public_key=broken.public_key(),  # type: ignore[arg-type]
        serial_number=broken.serial_number,
        not_valid_before=broken.not_valid_before_utc,
        not_valid_after=broken.not_valid_after_utc,
        extensions=[*broken.extensions],
    ).add_extension(x509.UnrecognizedExtension(QC_STATEMENTS, der), critical=False)
    broken = builder.sign(pki.issuing.key, signature_hash_for(pki.issuing.key))
    findings = lint("lint_etsi_cert", broken, tmp_path, "-t", ETSI_TYPES["qualified-signature"])
    assert "etsi.en_319_412_5.gen-4.3.4.url_scheme_not_https" in codes(findings, "ERROR")


# --- CA/Browser Forum TLS baseline requirements (lint_cabf_serverauth_cert) ---------


@pytest.mark.parametrize("validity_start", SC081_STEPS)
def test_cabf_tls_server_has_no_errors(
    certificates: dict[str, x509.Certificate], tmp_path: Path, validity_start: str
) -> None:
    findings = lint(
        "lint_cabf_serverauth_cert",
        certificates["tls-server"],
        tmp_path,
        "-t",
        "DV-FINAL-CERTIFICATE",
        "--validity-period-start",
        validity_start,
    )
    assert at_least(findings, "ERROR") == []
    assert codes(findings, "WARNING") == CABF_EXPECTED_WARNINGS


def test_cabf_tls_server_without_san_is_an_error(
    pki: Hierarchy, certificates: dict[str, x509.Certificate], tmp_path: Path
) -> None:
    broken = without(certificates["tls-server"], pki.issuing, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    findings = lint("lint_cabf_serverauth_cert", broken, tmp_path, "-t", "DV-FINAL-CERTIFICATE")
    assert "cabf.serverauth.subscriber.subject_altname_extension_absent" in codes(findings, "ERROR")


# --- other key types ---------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    with make_pki(
        tmp_path_factory.mktemp("rsa-pki"), FixedClock(TEST_TIME), key_type=KeyType.RSA_3072
    ) as pki:
        yield pki


@pytest.mark.parametrize(
    ("profile", "key_type"),
    [
        ("tls-server", KeyType.RSA_2048),
        ("tls-client", KeyType.ED25519),
        ("qualified-signature", KeyType.EC_P384),
    ],
    ids=lambda value: value.value if isinstance(value, KeyType) else value,
)
def test_pkix_lint_is_clean_under_rsa_ca(
    rsa_pki: Hierarchy, tmp_path: Path, profile: str, key_type: KeyType
) -> None:
    certificate = rsa_pki.issue_sample(profile, key_type=key_type).certificate
    assert at_least(lint("lint_pkix_cert", certificate, tmp_path), "WARNING") == []
    assert at_least(lint("lint_pkix_cert", rsa_pki.issuing.certificate, tmp_path), "WARNING") == []
    if profile == "tls-server":
        findings = lint(
            "lint_cabf_serverauth_cert", certificate, tmp_path, "-t", "DV-FINAL-CERTIFICATE"
        )
        assert codes(findings, "WARNING") == CABF_EXPECTED_WARNINGS


def test_pkix_lint_flags_rsa_leaf_without_authority_key_identifier(
    rsa_pki: Hierarchy, tmp_path: Path
) -> None:
    certificate = rsa_pki.issue_sample("tls-server", key_type=KeyType.RSA_2048).certificate
    broken = without(certificate, rsa_pki.issuing, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    findings = lint("lint_pkix_cert", broken, tmp_path)
    assert "pkix.authority_key_identifier_extension_absent" in codes(findings, "ERROR")
