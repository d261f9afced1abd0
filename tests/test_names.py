"""RFC 4514 names, SAN text and name-constraint text."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from trustkit.csr import create_csr
from trustkit.errors import NameSyntaxError
from trustkit.keys import generate_key
from trustkit.names import (
    format_general_name,
    format_name,
    parse_general_name,
    parse_general_names,
    parse_name,
    parse_name_constraint,
)

# --- distinguished names ---------------------------------------------------------------


def test_rfc4514_order_most_significant_last() -> None:
    name = parse_name("CN=Alice,O=Example,C=EX")
    assert [rdn.rfc4514_string() for rdn in name.rdns] == ["C=EX", "O=Example", "CN=Alice"]
    assert format_name(name) == "CN=Alice,O=Example,C=EX"


@pytest.mark.parametrize(
    ("keyword", "oid", "value"),
    [
        ("CN", NameOID.COMMON_NAME, "Alice"),
        ("C", NameOID.COUNTRY_NAME, "EX"),
        ("O", NameOID.ORGANIZATION_NAME, "Example Agency"),
        ("OU", NameOID.ORGANIZATIONAL_UNIT_NAME, "Identity"),
        ("L", NameOID.LOCALITY_NAME, "Capital"),
        ("ST", NameOID.STATE_OR_PROVINCE_NAME, "Region"),
        ("STREET", NameOID.STREET_ADDRESS, "1 Main Street"),
        ("DC", NameOID.DOMAIN_COMPONENT, "example"),
        ("UID", NameOID.USER_ID, "alice"),
        ("serialNumber", NameOID.SERIAL_NUMBER, "PNOEX-19800101-1234"),
        ("organizationIdentifier", NameOID.ORGANIZATION_IDENTIFIER, "VATEX-123456789"),
        ("givenName", NameOID.GIVEN_NAME, "Alice"),
        ("GN", NameOID.GIVEN_NAME, "Alice"),
        ("surname", NameOID.SURNAME, "Example"),
        ("SN", NameOID.SURNAME, "Example"),
        ("title", NameOID.TITLE, "Clerk"),
        ("emailAddress", NameOID.EMAIL_ADDRESS, "alice@example.gov"),
        ("pseudonym", NameOID.PSEUDONYM, "A1"),
        ("initials", NameOID.INITIALS, "A. E."),
        ("generationQualifier", NameOID.GENERATION_QUALIFIER, "III"),
        ("dnQualifier", NameOID.DN_QUALIFIER, "q1"),
        ("2.5.4.3", NameOID.COMMON_NAME, "By OID"),
        ("1.3.6.1.4.1.99999.1", x509.ObjectIdentifier("1.3.6.1.4.1.99999.1"), "private"),
    ],
)
def test_each_keyword(keyword: str, oid: x509.ObjectIdentifier, value: str) -> None:
    for spelling in (keyword, keyword.lower(), keyword.upper()):
        name = parse_name(f"{spelling}={value}")
        (attribute,) = name.get_attributes_for_oid(oid)
        assert attribute.value == value
        assert parse_name(format_name(name)) == name


def test_friendly_keywords_in_format() -> None:
    text = (
        "serialNumber=PNOEX-19800101-1234,givenName=Alice,surname=Example,"
        "organizationIdentifier=VATEX-123456789,C=EX"
    )
    assert format_name(parse_name(text)) == text


def test_semantics_identifier_serial_number_is_printable_string() -> None:
    name = parse_name("CN=Alice Example,serialNumber=PNOEX-19800101-1234,C=EX")
    (attribute,) = name.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    assert attribute._type == _ASN1Type.PrintableString
    # DER of the encoded name: PrintableString tag 0x13 before the value.
    der = name.public_bytes()
    assert b"\x13\x13PNOEX-19800101-1234" in der


def test_serial_number_outside_printable_string_refused() -> None:
    with pytest.raises(NameSyntaxError, match=r"serialNumber .*PrintableString"):
        parse_name("serialNumber=PNO_EX*1")


def test_organization_identifier_is_encoded_with_its_oid() -> None:
    name = parse_name("organizationIdentifier=VATEX-123456789,O=Example,C=EX")
    (attribute,) = name.get_attributes_for_oid(x509.ObjectIdentifier("2.5.4.97"))
    assert attribute.value == "VATEX-123456789"


@pytest.mark.parametrize("country", ["EX", "DE"])
def test_country_two_upper_case_letters(country: str) -> None:
    (attribute,) = parse_name(f"C={country}").get_attributes_for_oid(NameOID.COUNTRY_NAME)
    assert attribute._type == _ASN1Type.PrintableString


@pytest.mark.parametrize("country", ["ex", "E", "EXA", "E1", "Ex", "ÄX"])
def test_country_negative(country: str) -> None:
    with pytest.raises(NameSyntaxError, match=r"C .*ISO 3166-1 alpha-2"):
        parse_name(f"CN=Alice,C={country}")


def test_escaped_comma_and_plus_in_values() -> None:
    name = parse_name(r"CN=Example\, Inc.,O=A\+B,C=EX")
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Example, Inc."
    assert name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "A+B"
    assert len(name.rdns) == 3
    assert parse_name(format_name(name)) == name


def test_multi_valued_rdn() -> None:
    name = parse_name("CN=Alice+UID=alice,O=Example,C=EX")
    assert len(name.rdns) == 3
    assert len(name.rdns[-1]) == 2
    assert parse_name(format_name(name)) == name
    with pytest.raises(NameSyntaxError, match="repeats an attribute"):
        parse_name("CN=Alice+CN=Alice")


def test_hex_escapes_and_utf8() -> None:
    name = parse_name(r"CN=J\C3\BCrgen,O=Åsa Örn,C=EX")
    assert name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "Jürgen"
    assert parse_name(format_name(name)) == name


def test_spaces_around_separators_are_tolerated() -> None:
    assert parse_name("CN = Alice, O = Example, C = EX") == parse_name("CN=Alice,O=Example,C=EX")
    # An escaped trailing space is part of the value.
    value = parse_name("CN=Alice\\ ").get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert value == "Alice "


def test_common_name_length_counts_characters() -> None:
    assert parse_name("CN=" + "ж" * 64)  # 128 UTF-8 bytes, 64 characters: allowed
    with pytest.raises(NameSyntaxError, match="CN: 65 characters, at most 64"):
        parse_name("CN=" + "a" * 65)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("CN=", "CN: empty value"),
        ("CN=Alice,O=", "O: empty value"),
        ("Alice", "not TYPE=value"),
        ("CN=Alice,,O=Example", "not TYPE=value"),
        ("XX=1", "unknown attribute type 'XX'"),
        ("CN=#0403616263", "hex-encoded"),
        ("CN=a\\zz", "bad value"),
        ("CN=a\x00b", "bad value|control characters"),
        ("emailAddress=jürgen@example.gov", "must be ASCII"),
        ("dnQualifier=a&b", "PrintableString"),
    ],
)
def test_bad_names(text: str, rule: str) -> None:
    with pytest.raises(NameSyntaxError, match=rule):
        parse_name(text)


@pytest.mark.interop
def test_openssl_prints_the_parsed_subject(tmp_path: Path) -> None:
    """OpenSSL reads the encoding: C first, the semantics identifier intact."""
    subject = parse_name("CN=Alice Example,serialNumber=PNOEX-19800101-1234,O=Agency,C=EX")
    csr = create_csr(generate_key(), subject)
    path = tmp_path / "req.pem"
    path.write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    result = subprocess.run(
        ["openssl", "req", "-in", str(path), "-noout", "-subject", "-nameopt", "RFC2253"],
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode().strip() == (
        "subject=CN=Alice Example,serialNumber=PNOEX-19800101-1234,O=Agency,C=EX"
    )


# --- general names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dns:www.example.gov", x509.DNSName("www.example.gov")),
        ("DNS:WWW.Example.GOV", x509.DNSName("www.example.gov")),
        ("dns:*.example.gov", x509.DNSName("*.example.gov")),
        ("dns:bücher.example", x509.DNSName("xn--bcher-kva.example")),
        ("ip:192.0.2.1", x509.IPAddress(ipaddress.IPv4Address("192.0.2.1"))),
        ("ip:2001:db8::1", x509.IPAddress(ipaddress.IPv6Address("2001:db8::1"))),
        ("email:alice@example.gov", x509.RFC822Name("alice@example.gov")),
        ("email:alice@bücher.example", x509.RFC822Name("alice@xn--bcher-kva.example")),
        ("uri:https://example.gov/x", x509.UniformResourceIdentifier("https://example.gov/x")),
        (
            "uri:https://bücher.example:8443/a?b=c",
            x509.UniformResourceIdentifier("https://xn--bcher-kva.example:8443/a?b=c"),
        ),
        (
            "uri:ldap://[2001:db8::1]/o=x",
            x509.UniformResourceIdentifier("ldap://[2001:db8::1]/o=x"),
        ),
        (
            "dirname:CN=Alice,O=Example,C=EX",
            x509.DirectoryName(parse_name("CN=Alice,O=Example,C=EX")),
        ),
        ("rid:1.2.3.4", x509.RegisteredID(x509.ObjectIdentifier("1.2.3.4"))),
    ],
)
def test_general_names_and_round_trip(text: str, expected: x509.GeneralName) -> None:
    parsed = parse_general_name(text)
    assert parsed == expected
    assert parse_general_name(format_general_name(parsed)) == parsed


def test_parse_general_names_keeps_order() -> None:
    names = parse_general_names(["dns:a.example", "ip:192.0.2.1"])
    assert [format_general_name(n) for n in names] == ["dns:a.example", "ip:192.0.2.1"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("dns:*.gov", "at least two labels after it"),
        ("dns:www.*.example.gov", "only as the whole left-most label"),
        ("dns:w*.example.gov", "only as the whole left-most label"),
        ("dns:*", "at least two labels"),
        ("dns:foo_bar.example", "not a valid domain name|preferred name syntax"),
        ("dns:-a.example", "not a valid domain name|preferred name syntax"),
        ("dns:a..example", "not a valid domain name|preferred name syntax"),
        ("dns:example.gov.", "trailing dot"),
        ("dns:192.0.2.1", "not a DNS name; write ip:192.0.2.1"),
        ("dns:", "empty"),
        ("dns:" + "a" * 64 + ".example", "not a valid domain name|preferred name syntax"),
        ("dns:" + ".".join(["a" * 60] * 5), "not a valid domain name|longer than 253"),
        ("ip:192.0.2", "not an IPv4 or IPv6 address"),
        ("ip:192.0.2.256", "not an IPv4 or IPv6 address"),
        ("ip:192.168.01.1", "not an IPv4 or IPv6 address"),
        ("ip:2001:db8:::1", "not an IPv4 or IPv6 address"),
        ("ip:10.0.0.0/8", "networks belong in name constraints"),
        ("ip:fe80::1%eth0", "zone identifiers"),
        ("email:alice", "expected a mailbox"),
        ("email:@example.gov", "empty local part"),
        ("email:a..b@example.gov", "dot-atom"),
        ("email:a b@example.gov", "dot-atom"),
        ("email:jürgen@example.gov", "SmtpUTF8Mailbox"),
        ("email:alice@exa_mple.gov", "not a valid domain name|preferred name syntax"),
        ("email:alice@*.example.gov", "wildcard"),
        ("uri:example.gov/x", "needs a scheme"),
        ("uri:urn:isbn:123", "needs a host"),
        ("uri:https://ex ample.gov/", "spaces"),
        ("uri:https://example.gov:99999/", "not a valid URI"),
        ("dirname:XX=1", "unknown attribute type"),
        ("rid:1", "dotted OID"),
        ("smtp:alice@example.gov", "unknown prefix 'smtp'"),
        ("www.example.gov", "expected PREFIX:value"),
    ],
)
def test_bad_general_names(text: str, rule: str) -> None:
    with pytest.raises(NameSyntaxError, match=rule) as info:
        parse_general_name(text)
    assert "SAN" in str(info.value)


def test_format_other_name_for_display() -> None:
    other = x509.OtherName(x509.ObjectIdentifier("1.3.6.1.5.5.7.8.9"), b"\x0c\x01a")
    assert format_general_name(other) == "othername:1.3.6.1.5.5.7.8.9:0c0161"


# --- name constraints ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("dns:.gov.example", x509.DNSName(".gov.example")),
        ("dns:gov.example", x509.DNSName("gov.example")),
        ("ip:10.0.0.0/8", x509.IPAddress(ipaddress.IPv4Network("10.0.0.0/8"))),
        ("ip:2001:db8::/32", x509.IPAddress(ipaddress.IPv6Network("2001:db8::/32"))),
        ("email:@example.gov", x509.RFC822Name("example.gov")),
        ("email:example.gov", x509.RFC822Name("example.gov")),
        ("email:.example.gov", x509.RFC822Name(".example.gov")),
        ("email:alice@example.gov", x509.RFC822Name("alice@example.gov")),
        ("uri:.example.gov", x509.UniformResourceIdentifier(".example.gov")),
        ("uri:example.gov", x509.UniformResourceIdentifier("example.gov")),
        ("dirname:O=Example,C=EX", x509.DirectoryName(parse_name("O=Example,C=EX"))),
    ],
)
def test_name_constraints(text: str, expected: x509.GeneralName) -> None:
    parsed = parse_name_constraint(text)
    assert parsed == expected
    assert parse_name_constraint(format_general_name(parsed)) == parsed
    # The constraint goes into a real NameConstraints extension.
    assert x509.NameConstraints(permitted_subtrees=[parsed], excluded_subtrees=None)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("ip:10.0.0.1/8", "host bits"),
        ("ip:10.0.0.1", "address/prefix-length"),
        ("ip:10.0.0.0/33", "not an IP network"),
        ("dns:*.gov.example", "wildcard"),
        ("dns:.", "empty domain name"),
        ("dns:..gov.example", "preferred name syntax|not a valid domain name"),
        ("uri:https://example.gov", "not a URI"),
        ("email:.", "empty domain name"),
        ("dirname:", "empty"),
        ("rid:1.2.3", "unknown prefix"),
    ],
)
def test_bad_name_constraints(text: str, rule: str) -> None:
    with pytest.raises(NameSyntaxError, match=rule):
        parse_name_constraint(text)


# --- fuzz ------------------------------------------------------------------------------

_NAMEISH = st.text(alphabet=st.sampled_from(list('CNOU=,+\\#"; ab1.é*')), max_size=40)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(st.text(max_size=80), _NAMEISH))
def test_fuzz_parse_name_raises_only_name_syntax_error(text: str) -> None:
    try:
        name = parse_name(text)
    except NameSyntaxError:
        return
    assert parse_name(format_name(name)) == name


_PREFIXED = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["dns:", "ip:", "email:", "uri:", "dirname:", "rid:", "x:", ""]),
    st.one_of(st.text(max_size=60), st.text(alphabet=st.sampled_from(list("a.*-@:/[]%1é_")))),
)


@settings(max_examples=500, deadline=None)
@given(text=_PREFIXED)
def test_fuzz_parse_general_name_raises_only_name_syntax_error(text: str) -> None:
    try:
        name = parse_general_name(text)
    except NameSyntaxError:
        return
    assert parse_general_name(format_general_name(name)) == name


@settings(max_examples=300, deadline=None)
@given(text=_PREFIXED)
def test_fuzz_parse_name_constraint_raises_only_name_syntax_error(text: str) -> None:
    try:
        parse_name_constraint(text)
    except NameSyntaxError:
        pass


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("CN=gov\u202eexample", "bidirectional control"),
        ("CN=a\u2066b", "bidirectional control"),
        ("CN=a\x85b", "control characters"),
    ],
)
def test_names_refuse_bidi_and_c1_controls(text: str, rule: str) -> None:
    # A right-to-left override makes a name read as another (CVE-2021-42574 style).
    with pytest.raises(NameSyntaxError, match=rule):
        parse_name(text)
    assert parse_name("CN=gov example")
