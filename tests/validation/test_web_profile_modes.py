"""Where the default (browser) web profile departs from the CA/Browser Forum Baseline
Requirements, and the strict mode that refuses each departure.

Every case is a certificate that ``WebProfile.BROWSER`` accepts for TLS and
``WebProfile.STRICT`` refuses with the rule named, beside a compliant twin that both
accept. docs/security.md gives the reason for each default.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID as EKU

from trustkit.errors import InvalidPurposeError, PathValidationError
from trustkit.matching import hostname_matches, is_public_suffix, wildcard_over_public_suffix
from trustkit.validation import Purpose, ValidationPolicy, ValidationResult, WebProfile, validate

from .conftest import AT, Node, Pki, issue, leaf

STRICT = ValidationPolicy(web_profile=WebProfile.STRICT)


def _tls(
    pki: Pki,
    ee: Node,
    *,
    hostname: str | None = None,
    policy: ValidationPolicy | None = None,
    inter: Node | None = None,
    purpose: Purpose = Purpose.TLS_SERVER,
) -> ValidationResult:
    return validate(
        ee.cert,
        trust_anchors=[pki.root.cert],
        intermediates=[(inter or pki.inter).cert],
        at=AT,
        purpose=purpose,
        hostname=hostname,
        policy=policy,
    )


def _browser_only(
    pki: Pki, ee: Node, why: str, *, index: int = 0, inter: Node | None = None
) -> None:
    """``ee`` passes the browser profile and fails the strict one with ``why``."""
    assert _tls(pki, ee, inter=inter)
    with pytest.raises(PathValidationError, match=why) as info:
        _tls(pki, ee, inter=inter, policy=STRICT)
    assert info.value.index == index
    # The strict profile is about the web PKI: other purposes are not held to it.
    assert _tls(pki, ee, inter=inter, policy=STRICT, purpose=Purpose.ANY)


def test_a_compliant_chain_passes_the_strict_profile(pki: Pki) -> None:
    ee = pki.make_leaf(dns=["leaf.example.gov", "*.portal.example.gov"])
    assert _tls(pki, ee, hostname="x.portal.example.gov", policy=STRICT)


def test_common_name_not_a_san(pki: Pki) -> None:
    ee = pki.make_leaf(cn="elsewhere.example.gov", dns=["leaf.example.gov"])
    _browser_only(pki, ee, r"commonName 'elsewhere.example.gov'.*7\.1\.4\.3")
    # The browser profile still matches the host on the SANs alone, never the CN.
    with pytest.raises(InvalidPurposeError):
        _tls(pki, ee, hostname="elsewhere.example.gov")


def test_common_name_rule_is_for_servers(pki: Pki) -> None:
    # A TLS client certificate names a person; the rule is about server names.
    ee = pki.make_leaf(cn="Mari Maasikas", dns=["leaf.example.gov"], eku=[EKU.CLIENT_AUTH])
    assert _tls(pki, ee, policy=STRICT, purpose=Purpose.TLS_CLIENT)
    with pytest.raises(PathValidationError, match="extendedKeyUsage is required"):
        _tls(pki, pki.make_leaf(eku=None), policy=STRICT, purpose=Purpose.TLS_CLIENT)


def test_leaf_without_extended_key_usage(pki: Pki) -> None:
    _browser_only(pki, pki.make_leaf(eku=None), "extendedKeyUsage is required")


def test_underscore_in_a_host_name(pki: Pki) -> None:
    ee = pki.make_leaf(dns=["my_host.example.gov"])
    _browser_only(pki, ee, "underscore")
    assert _tls(pki, ee, hostname="my_host.example.gov")


def test_rsa_modulus_not_a_whole_number_of_bytes(pki: Pki) -> None:
    odd = pki.make_leaf(key=rsa.generate_private_key(65537, 2052))
    _browser_only(pki, odd, "RSA modulus of 2052 bits is not a multiple of 8")
    assert _tls(pki, pki.make_leaf(key=rsa.generate_private_key(65537, 2048)), policy=STRICT)


def _non_critical_nc(pki: Pki, critical: bool) -> Node:
    nc = x509.NameConstraints([x509.DNSName("example.gov")], None)
    return issue("Constrained CA", pki.root, ca=True, extra=[(nc, critical)])


def test_non_critical_name_constraints(pki: Pki) -> None:
    inter = _non_critical_nc(pki, critical=False)
    _browser_only(pki, leaf(inter), "nameConstraints must be critical", index=1, inter=inter)
    # Not critical, and still enforced: a name outside is refused in either profile.
    with pytest.raises(PathValidationError, match="outside the permitted subtrees"):
        _tls(pki, leaf(inter, dns=["leaf.example.org"]), inter=inter)
    critical = _non_critical_nc(pki, critical=True)
    assert _tls(pki, leaf(critical), inter=critical, policy=STRICT)


@pytest.mark.parametrize(
    ("pattern", "host"),
    [("*.co.uk", "victim.co.uk"), ("*.gov.ee", "ria.gov.ee"), ("*.com", "example.com")],
)
def test_wildcard_over_an_icann_public_suffix_matches_no_host(
    pki: Pki, pattern: str, host: str
) -> None:
    ee = pki.make_leaf(dns=["leaf.example.gov", pattern])
    with pytest.raises(InvalidPurposeError, match="not in subjectAltName"):
        _tls(pki, ee, hostname=host)
    with pytest.raises(PathValidationError, match="public suffix"):
        _tls(pki, ee, policy=STRICT)
    # The twin: one label more, a name one registrant holds.
    twin = pki.make_leaf(dns=["leaf.example.gov", "*.registrant." + pattern[2:]])
    assert _tls(pki, twin, hostname="www.registrant." + pattern[2:], policy=STRICT)


def test_wildcard_over_a_private_public_suffix(pki: Pki) -> None:
    # github.io is in the list's private section: Chrome matches *.github.io, so the
    # browser profile does; the Baseline Requirements' public suffixes include it.
    ee = pki.make_leaf(dns=["leaf.example.gov", "*.github.io"])
    assert _tls(pki, ee, hostname="someone.github.io")
    with pytest.raises(PathValidationError, match=r"'\*\.github\.io' is a wildcard"):
        _tls(pki, ee, policy=STRICT)


def test_public_suffix_helpers() -> None:
    assert is_public_suffix("co.uk") and is_public_suffix("GOV.")
    assert not is_public_suffix("example.co.uk")
    assert not is_public_suffix("github.io") and is_public_suffix("github.io", icann_only=False)
    assert not is_public_suffix("corp")  # an unknown TLD is not taken for one
    assert not is_public_suffix("")
    assert wildcard_over_public_suffix("*.co.uk.")
    assert not wildcard_over_public_suffix("www.co.uk")
    sans: Sequence[x509.GeneralName] = [x509.DNSName("*.example.co.uk")]
    assert hostname_matches(sans, "a.example.co.uk")


def test_web_profile_must_be_a_web_profile() -> None:
    with pytest.raises(TypeError, match="web_profile"):
        ValidationPolicy(web_profile="strict")  # type: ignore[arg-type]
