"""tls-server names follow the CA/Browser Forum rules; no name hides behind control characters.

Every name the issue reported as issued is refused at issuance with a violation
naming the field and the rule; the same name put into a certificate by hand is
an ERROR for pkilint's ``lint_cabf_serverauth_cert``, so the rule is real; and
the names a public CA does issue still pass, with pkilint finding no ERROR.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from tests.conftest import TEST_TIME
from tests.test_conformance import at_least, lint
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.errors import PolicyViolation
from trustkit.keys import generate_key, signature_hash_for
from trustkit.testing import Hierarchy, make_pki
from trustkit.webnames import dns_name_problem, ip_address_problem

LONG_NAME = ".".join(["a" * 60] * 4 + ["a" * 57]) + ".gov"  # 305 characters, every label within 63
assert len(LONG_NAME) == 305

REFUSED = [
    ("*.com", "wildcard directly over the public suffix com"),
    ("*.co.uk", "wildcard directly over the public suffix co.uk"),
    ("*.xn--55qx5d.cn", "wildcard directly over the public suffix xn--55qx5d.cn"),
    ("localhost", "single label, an internal name"),
    ("intranet", "single label, an internal name"),
    ("printer.local", "special-use domain local"),
    ("host.internal", "special-use domain internal"),
    ("router.home.arpa", "special-use domain home.arpa"),
    ("www.example.corp", "top-level domain 'corp' is not in the public DNS root zone"),
    ("127.0.0.1", "is an IP address"),
    ("bad_name.example.gov", "label 'bad_name' is not letters, digits and inner hyphens"),
    (LONG_NAME, "is 305 characters"),
    ("xn--zz.example.gov", "not a valid IDNA A-label"),
    ("ab--cd.example.gov", "reserved LDH label"),
    ("co.uk", "is the public suffix co.uk"),
    ("www.*.example.gov", "wildcard other than the whole left-most label"),
]

ISSUED = [
    "www.example.gov",
    "*.example.gov",
    "*.portal.example.co.uk",
    "xn--bcher-kva.example.gov",  # bücher
    "a-b.example.gov",
    "example.gov",
    "*.pages.github.io",  # BR 3.2.2.6: the list's ICANN section only; github.io is private
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hierarchy]:
    with make_pki(tmp_path_factory.mktemp("pki"), FixedClock(TEST_TIME)) as pki:
        yield pki


def _csr(*sans: x509.GeneralName, cn: str | None = None) -> x509.CertificateSigningRequest:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    return create_csr(generate_key(), subject, list(sans))


def _by_hand(pki: Hierarchy, *sans: x509.GeneralName) -> x509.Certificate:
    """The tls-server certificate an unchecked CA would sign for ``sans``: a good one
    from the profile, its subjectAltName replaced and re-signed by the issuing CA."""
    good = pki.issue_sample("tls-server").certificate
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([]))
        .issuer_name(good.issuer)
        .public_key(good.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(good.not_valid_before_utc)
        .not_valid_after(good.not_valid_after_utc)
    )
    for ext in good.extensions:
        if isinstance(ext.value, x509.SubjectAlternativeName):
            builder = builder.add_extension(x509.SubjectAlternativeName(list(sans)), critical=True)
        else:
            builder = builder.add_extension(ext.value, critical=ext.critical)
    key = pki.issuing.key
    return builder.sign(key, signature_hash_for(key))


@pytest.mark.parametrize(("name", "rule"), REFUSED, ids=[n[:30] for n, _ in REFUSED])
def test_forbidden_dns_names_are_refused_at_issuance(pki: Hierarchy, name: str, rule: str) -> None:
    with pytest.raises(PolicyViolation) as info:
        pki.issuing.issue(_csr(x509.DNSName(name)), "tls-server")
    [violation] = [v for v in info.value.violations if v.check == "cabf-names"]
    assert violation.field == "subjectAltName"
    assert rule in violation.message
    assert re.search(r"(BR|RFC) \d", violation.message), violation.message
    assert dns_name_problem(name) is not None


@pytest.mark.interop
@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "bad_name.example.gov", LONG_NAME])
def test_pkilint_finds_an_error_in_each_forbidden_name(
    pki: Hierarchy, tmp_path: Path, name: str
) -> None:
    # The negative twin of the refusal: what the old CA signed is an ERROR for pkilint.
    # (pkilint does not judge wildcards over public suffixes: BR 3.2.2.6 binds domain
    # validation, not the certificate profile, so *.com and *.co.uk are not here.)
    findings = lint(
        "lint_cabf_serverauth_cert", _by_hand(pki, x509.DNSName(name)), tmp_path,
        "-t", "DV-FINAL-CERTIFICATE",
    )  # fmt: skip
    assert at_least(findings, "ERROR"), f"pkilint accepts {name!r}"


@pytest.mark.interop
@pytest.mark.parametrize("name", ISSUED)
def test_names_a_public_ca_issues_pass_and_lint_clean(
    pki: Hierarchy, tmp_path: Path, name: str
) -> None:
    assert dns_name_problem(name) is None
    issued = pki.issuing.issue(_csr(x509.DNSName(name)), "tls-server").certificate
    findings = lint("lint_cabf_serverauth_cert", issued, tmp_path, "-t", "DV-FINAL-CERTIFICATE")
    assert at_least(findings, "ERROR") == []


@pytest.mark.interop
def test_a_certificate_with_many_names_and_an_address_lints_clean(
    pki: Hierarchy, tmp_path: Path
) -> None:
    sans: list[x509.GeneralName] = [x509.DNSName(f"host{i}.example.gov") for i in range(99)]
    sans.append(x509.IPAddress(ipaddress.ip_address("93.184.215.14")))
    issued = pki.issuing.issue(_csr(*sans, cn="host0.example.gov"), "tls-server").certificate
    assert len(issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) == 100
    findings = lint("lint_cabf_serverauth_cert", issued, tmp_path, "-t", "DV-FINAL-CERTIFICATE")
    assert at_least(findings, "ERROR") == []


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.0.2.7", "::1", "fd00::1"])
def test_reserved_ip_addresses_are_refused(pki: Hierarchy, address: str) -> None:
    ip = ipaddress.ip_address(address)
    with pytest.raises(PolicyViolation, match=r"subjectAltName: .* reserved IP address .*7\.1\.2"):
        pki.issuing.issue(_csr(x509.IPAddress(ip)), "tls-server")
    assert ip_address_problem(ip) is not None
    assert ip_address_problem(ipaddress.ip_address("93.184.215.14")) is None


def test_ten_thousand_sans_are_refused_in_one_finding(pki: Hierarchy) -> None:
    sans = [x509.DNSName(f"h{i}.example.gov") for i in range(10_000)]
    with pytest.raises(PolicyViolation) as info:
        pki.issuing.issue(_csr(*sans), "tls-server")
    assert [(v.field, v.message) for v in info.value.violations] == [
        ("subjectAltName", "10000 entries; profile tls-server allows at most 100")
    ]
    # The twin at the cap (no commonName: BR 7.1.4.3 lets it go).
    pki.issuing.issue(_csr(*sans[:100]), "tls-server")


@pytest.mark.parametrize(
    "sans",
    [
        ["www.example.gov", "www.example.gov"],
        ["www.example.gov", "WWW.Example.GOV"],
    ],
)
def test_duplicate_sans_are_refused(pki: Hierarchy, sans: list[str]) -> None:
    names = [x509.DNSName(s) for s in sans]
    with pytest.raises(PolicyViolation, match=r"subjectAltName: dns:.* appears more than once"):
        pki.issuing.issue(_csr(*names), "tls-server")
    pki.issuing.issue(_csr(names[0], x509.DNSName("api.example.gov")), "tls-server")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("www.example.gov\u202e", "bidirectional control U+202E"),
        ("Maria\u2067Tax\u2069", "bidirectional control U+2067"),
        ("bad\x00name", "control character U+0000"),
        ("tab\there", "control character U+0009"),
        ("c1\x85", "control character U+0085"),
    ],
)
def test_subject_values_with_controls_are_refused(pki: Hierarchy, value: str, what: str) -> None:
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "records"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, value),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EE"),
        ]
    )
    csr = create_csr(generate_key(), subject, [x509.DNSName("records.example.gov")])
    with pytest.raises(PolicyViolation, match=rf"subject\.organizationName: {re.escape(what)}"):
        pki.issuing.issue(csr, "tls-client")
    clean = x509.Name([*list(subject)[:1], x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Tax")])
    pki.issuing.issue(
        create_csr(generate_key(), clean, [x509.DNSName("r.example.gov")]), "tls-client"
    )


@pytest.mark.parametrize(
    "san",
    [
        x509.DNSName("www.example.gov\x00.evil.com"),
        x509.RFC822Name("clerk\x00@example.gov"),
        x509.UniformResourceIdentifier("https://example.gov/\x1bx"),
        x509.DirectoryName(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "records\u202evog.elpmaxe")])
        ),
    ],
)
def test_san_values_with_controls_are_refused(pki: Hierarchy, san: x509.GeneralName) -> None:
    with pytest.raises(PolicyViolation, match=r"subjectAltName: .*control"):
        pki.issuing.issue(_csr(san, x509.DNSName("ok.example.gov")), "tls-client")
