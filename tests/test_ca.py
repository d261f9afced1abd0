"""The certificate authority: roots, subordinates, issuance, records, failures."""

from __future__ import annotations

import ipaddress
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.config import CAConfig
from trustkit.csr import create_csr
from trustkit.errors import ConfigError, PassphraseError, PolicyViolation, ProfileError
from trustkit.keys import KeyType, generate_key
from trustkit.names import parse_general_names, parse_name
from trustkit.store import CertStatus

PASS = b"correct horse battery staple"
ROOT_SUBJECT = "CN=Republic of Example Root CA,O=Republic of Example,C=EX"


@pytest.fixture
def root(tmp_path: Path, clock: FixedClock) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        ROOT_SUBJECT,
        tmp_path / "root",
        passphrase=PASS,
        base_url="http://pki.example.gov",
        clock=clock,
    )


@pytest.fixture
def issuing(root: CertificateAuthority, tmp_path: Path) -> CertificateAuthority:
    return root.create_subordinate(
        "CN=Citizen CA,O=Republic of Example,C=EX", tmp_path / "citizen", passphrase=PASS
    )


def _csr(
    subject: str, *sans: str, key_type: KeyType = KeyType.EC_P256
) -> x509.CertificateSigningRequest:
    return create_csr(generate_key(key_type), parse_name(subject), parse_general_names(sans))


def test_root_is_self_signed_ca(root: CertificateAuthority, clock: FixedClock) -> None:
    cert = root.certificate
    assert cert.subject == cert.issuer
    cert.verify_directly_issued_by(cert)
    bc = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert bc.critical and bc.value.ca
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert ku.critical and ku.value.key_cert_sign and ku.value.crl_sign
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.not_valid_before_utc == clock.now()
    assert cert.serial_number.bit_length() > 64
    # Recorded in its own store.
    assert [r.profile for r in root.list()] == ["root-ca"]


def test_ca_directory_layout(root: CertificateAuthority) -> None:
    directory = root.directory
    assert {p.name for p in directory.iterdir()} >= {
        "trustkit.toml",
        "ca.pem",
        "chain.pem",
        "ca.key",
        "store.db",
    }
    assert stat.S_IMODE((directory / "ca.key").stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in (directory / "ca.key").read_bytes()
    config = CAConfig.load(directory)
    assert config.name == "republic-of-example-root-ca"
    assert config.effective_crl_url == "http://pki.example.gov/crl/republic-of-example-root-ca.crl"


@pytest.mark.parametrize(
    ("store", "mode"),
    [
        (None, 0o644),
        ("postgresql+psycopg://trustkit@db.example.gov/pki", 0o644),
        ("postgresql+psycopg://trustkit:s3cret@db.example.gov/pki", 0o600),
    ],
)
def test_config_holding_a_database_password_is_private(
    tmp_path: Path, store: str | None, mode: int
) -> None:
    config = CAConfig(name="x", store=store)
    config.write(tmp_path)
    assert stat.S_IMODE((tmp_path / "trustkit.toml").stat().st_mode) == mode
    # Rewriting an existing world-readable file with a password in it makes it private too.
    CAConfig(name="x").write(tmp_path)
    config.write(tmp_path)
    assert stat.S_IMODE((tmp_path / "trustkit.toml").stat().st_mode) == mode


def test_reopen_and_issue_with_passphrase(root: CertificateAuthority, clock: FixedClock) -> None:
    reopened = CertificateAuthority.open(root.directory, passphrase=PASS, clock=clock)
    issued = reopened.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    issued.certificate.verify_directly_issued_by(root.certificate)
    reopened.close()


def test_wrong_passphrase_is_refused_before_anything_is_written(
    root: CertificateAuthority, clock: FixedClock
) -> None:
    reopened = CertificateAuthority.open(root.directory, passphrase=b"wrong", clock=clock)
    with pytest.raises(PassphraseError):
        reopened.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    assert len(list(reopened.list())) == 1  # only the root's own record
    reopened.close()


def test_subordinate(root: CertificateAuthority, issuing: CertificateAuthority) -> None:
    cert = issuing.certificate
    cert.verify_directly_issued_by(root.certificate)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0
    aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    ski = root.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert aki.key_identifier == ski.digest
    assert issuing.chain == (root.certificate,)
    # The parent recorded the subordinate's certificate under profile sub-ca.
    assert root.get(cert.serial_number).profile == "sub-ca"
    # The subordinate inherits the publication base URL.
    assert issuing.config.effective_ocsp_url == "http://pki.example.gov/ocsp"


def test_leaf_extensions_follow_the_profile(issuing: CertificateAuthority) -> None:
    issued = issuing.issue(
        _csr("CN=www.example.gov", "dns:www.example.gov", "ip:93.184.215.14"), "tls-server"
    )
    cert = issued.certificate
    assert cert.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage
    ).value == x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("93.184.215.14")]
    dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dp[0].full_name == [
        x509.UniformResourceIdentifier("http://pki.example.gov/crl/citizen-ca.crl")
    ]
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_location.value for d in aia} == {
        "http://pki.example.gov/ocsp",
        "http://pki.example.gov/ca/citizen-ca.crt",
    }
    assert issued.record.status is CertStatus.VALID
    assert issuing.get(issued.serial).der == issued.record.der
    assert issued.fullchain_pem().count(b"BEGIN CERTIFICATE") == 3


def test_qualified_signature_profile(issuing: CertificateAuthority) -> None:
    subject = "CN=Alice Example,GN=Alice,SN=Example,serialNumber=PNOEX-19800101-1234,C=EX"
    cert = issuing.issue(_csr(subject), "qualified-signature").certificate
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.content_commitment and not ku.digital_signature
    qc = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3"))
    assert b"\x04\x00\x8e\x46\x01\x06\x01" in qc.value.value  # QcType esign, DER-encoded OID body


def test_ocsp_signing_profile_has_nocheck_and_no_ocsp_pointer(
    issuing: CertificateAuthority,
) -> None:
    cert = issuing.issue(
        _csr("CN=Citizen CA OCSP Responder,O=Republic of Example,C=EX"), "ocsp-signing"
    ).certificate
    assert cert.extensions.get_extension_for_oid(ExtensionOID.OCSP_NO_CHECK)
    with pytest.raises(x509.ExtensionNotFound):
        cert.extensions.get_extension_for_class(x509.CRLDistributionPoints)


def test_violations_are_all_reported_and_nothing_is_stored(issuing: CertificateAuthority) -> None:
    before = len(list(issuing.list()))
    with pytest.raises(PolicyViolation) as info:
        issuing.issue(_csr("CN=Nobody", "dns:www.example.gov"), "citizen-auth", days=4000)
    checks = {v.check for v in info.value.violations}
    assert checks == {"subject", "subject-alt-name", "validity"}
    fields = {v.field for v in info.value.violations}
    assert {"subject.serialNumber", "subject.givenName", "subject.countryName"} <= fields
    assert len(list(issuing.list())) == before


def test_weak_keys_are_refused(issuing: CertificateAuthority) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(65537, 1024)
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(parse_name("CN=www.example.gov"))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("www.example.gov")]), critical=False
        )
        .sign(weak, hashes.SHA256())
    )
    with pytest.raises(PolicyViolation, match="RSA 1024 bits is too weak"):
        issuing.issue(csr, "tls-server")


def test_default_validity_never_outlives_the_issuer(tmp_path: Path, clock: FixedClock) -> None:
    short = CertificateAuthority.create_root(
        ROOT_SUBJECT, tmp_path / "short", passphrase=PASS, days=30, clock=clock
    )
    cert = short.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server").certificate
    assert cert.not_valid_after_utc == short.certificate.not_valid_after_utc
    with pytest.raises(PolicyViolation, match="beyond the issuing CA's notAfter"):
        short.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server", days=60)


def test_name_constraints_bound_issuance(root: CertificateAuthority, tmp_path: Path) -> None:
    constrained = root.create_subordinate(
        "CN=Gov TLS CA,O=Republic of Example,C=EX",
        tmp_path / "gov",
        passphrase=PASS,
        name_constraints=x509.NameConstraints(
            permitted_subtrees=[
                *parse_general_names(["dns:example.gov"]),
                x509.IPAddress(ipaddress.ip_network("93.184.215.0/24")),
            ],
            excluded_subtrees=[x509.DNSName("secret.example.gov")],
        ),
    )
    nc = constrained.certificate.extensions.get_extension_for_class(x509.NameConstraints)
    assert nc.critical
    constrained.issue(
        _csr("CN=www.example.gov", "dns:www.example.gov", "ip:93.184.215.15"), "tls-server"
    )
    # The validator's rules judge the certificate; as in path validation, the first
    # name outside the constraints is the one reported.
    for names, why in [
        (("dns:www.example.org",), "dns:www.example.org is outside the permitted"),
        (("dns:www.example.gov", "ip:93.184.216.16"), "ip:93.184.216.16 is outside"),
        (("dns:a.secret.example.gov",), "inside excluded subtree dns:secret.example.gov"),
    ]:
        with pytest.raises(PolicyViolation, match=why) as info:
            constrained.issue(_csr(f"CN={names[0][4:]}", *names), "tls-server")
        assert [v.field for v in info.value.violations] == ["chain"]
    # A wildcard would also cover the excluded secret.example.gov (CVE-2025-61727).
    with pytest.raises(PolicyViolation, match="excluded subtree"):
        constrained.issue(_csr("CN=*.example.gov", "dns:*.example.gov"), "tls-server")
    constrained.issue(_csr("CN=*.www.example.gov", "dns:*.www.example.gov"), "tls-server")


@pytest.mark.parametrize(
    "bad", ["www..example.gov", "-www.example.gov", "www.example.gov.", "a b.gov"]
)
def test_san_host_names_must_be_host_names(issuing: CertificateAuthority, bad: str) -> None:
    key = generate_key()
    csr = create_csr(key, x509.Name([]), [x509.DNSName(bad)])
    with pytest.raises(PolicyViolation, match=r"subjectAltName: dNSName '.*' .*(BR|RFC) \d"):
        issuing.issue(csr, "tls-server")  # the CA/Browser Forum rules name the clause
    with pytest.raises(PolicyViolation, match="is not a host name"):
        issuing.issue(csr, "tls-client")
    issuing.issue(create_csr(key, x509.Name([]), [x509.DNSName("*.www.example.gov")]), "tls-server")


def test_tls_server_common_name_must_be_a_san(issuing: CertificateAuthority) -> None:
    # CA/Browser Forum BR 7.1.4.3; a certificate that breaks it would fail validation.
    with pytest.raises(PolicyViolation, match=r"subject\.commonName.*7\.1\.4\.3"):
        issuing.issue(_csr("CN=other.example.gov", "dns:www.example.gov"), "tls-server")
    issued = issuing.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    assert issued.certificate.subject.rfc4514_string() == "CN=www.example.gov"
    no_cn = create_csr(generate_key(), x509.Name([]), parse_general_names(["dns:a.example.gov"]))
    issuing.issue(no_cn, "tls-server")  # no commonName at all is fine


def test_unknown_profile_and_ca_options_on_leaves(issuing: CertificateAuthority) -> None:
    with pytest.raises(ProfileError, match="unknown"):
        issuing.issue(_csr("CN=x", "dns:x.example.gov"), "no-such-profile")
    with pytest.raises(ProfileError, match="CA profiles"):
        issuing.issue(_csr("CN=x", "dns:x.example.gov"), "tls-server", path_length=1)


def test_a_directory_holding_a_ca_is_not_overwritten(root: CertificateAuthority) -> None:
    before = (root.directory / "ca.pem").read_bytes()
    with pytest.raises(ConfigError, match="already holds a CA"):
        CertificateAuthority.create_root(ROOT_SUBJECT, root.directory, passphrase=PASS)
    assert (root.directory / "ca.pem").read_bytes() == before


def test_failed_creation_leaves_no_directory(tmp_path: Path) -> None:
    target = tmp_path / "never"
    with pytest.raises(PassphraseError):
        CertificateAuthority.create_root(ROOT_SUBJECT, target, passphrase=None)
    assert not target.exists()


def test_toml_profile_override(root: CertificateAuthority, tmp_path: Path) -> None:
    config = root.directory / "trustkit.toml"
    config.write_text(
        config.read_text()
        + '\n[profiles.tls-server]\nvalidity_days = 90\n\n[profiles.device]\nbase = "tls-client"\n'
        'description = "IoT devices"\nvalidity_days = 30\nmax_validity_days = 30\n'
    )
    ca = CertificateAuthority.open(root.directory, passphrase=PASS, clock=root.clock)
    tls = ca.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server").certificate
    assert tls.not_valid_after_utc - tls.not_valid_before_utc == timedelta(days=90)
    device = ca.issue(_csr("CN=sensor-17"), "device")
    assert device.record.profile == "device"
    with pytest.raises(PolicyViolation, match="exceeds the 30 days"):
        ca.issue(_csr("CN=sensor-18"), "device", days=31)
    ca.close()


def test_ca_on_either_store(tmp_path: Path, clock: FixedClock, store_url: str) -> None:
    """The same CA code issues into SQLite and into a real PostgreSQL server."""
    ca = CertificateAuthority.create_root(
        ROOT_SUBJECT, tmp_path / "ca", passphrase=PASS, store=store_url, clock=clock
    )
    issued = ca.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    ca.close()
    reopened = CertificateAuthority.open(tmp_path / "ca", passphrase=PASS, clock=clock)
    assert reopened.config.store == store_url
    assert reopened.get(issued.serial).der == issued.record.der
    revoked = reopened.revoke(issued.serial, x509.ReasonFlags.key_compromise)
    assert revoked.status is CertStatus.REVOKED
    reopened.close()


def test_a_given_software_key_is_kept(tmp_path: Path, clock: FixedClock) -> None:
    key = generate_key(KeyType.EC_P384)
    ca = CertificateAuthority.create_root(
        ROOT_SUBJECT, tmp_path / "ca", passphrase=PASS, key=key, clock=clock
    )
    assert ca.certificate.public_key() == key.public_key()
    ca.issue(_csr("CN=www.example.gov", "dns:www.example.gov"), "tls-server")
    reopened = CertificateAuthority.open(tmp_path / "ca", passphrase=PASS, clock=clock)
    assert reopened.key.public_key() == key.public_key()
    reopened.close()
