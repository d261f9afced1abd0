"""Distinguished names (RFC 4514 text) and general names (SANs, name constraints).

The friendly text forms live here, at the edge; the rest of trustkit takes
cryptography's typed objects::

    parse_name("CN=Alice,O=Example,C=EX")       # most significant RDN last (RFC 4514)
    parse_general_name("dns:www.example.gov")   # dns:, ip:, email:, uri:, dirname:, rid:
    parse_name_constraint("ip:10.0.0.0/8")      # the RFC 5280 4.2.1.10 forms

Every parse failure is a :class:`~trustkit.errors.NameSyntaxError` whose
message names the attribute or SAN and the rule it broke.
"""

from __future__ import annotations

import ipaddress
import re
import string
import warnings
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID, ObjectIdentifier

from .errors import NameSyntaxError

try:
    import idna
except ImportError:  # pragma: no cover - the stdlib codec (IDNA 2003) is the fallback
    idna = None  # type: ignore[assignment]  # optional dependency: fall back to the codec

__all__ = [
    "format_general_name",
    "format_name",
    "parse_general_name",
    "parse_general_names",
    "parse_name",
    "parse_name_constraint",
]

# --- distinguished names -------------------------------------------------------------

_KEYWORDS: dict[str, ObjectIdentifier] = {
    "cn": NameOID.COMMON_NAME,
    "commonname": NameOID.COMMON_NAME,
    "c": NameOID.COUNTRY_NAME,
    "countryname": NameOID.COUNTRY_NAME,
    "o": NameOID.ORGANIZATION_NAME,
    "organizationname": NameOID.ORGANIZATION_NAME,
    "ou": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "organizationalunitname": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "l": NameOID.LOCALITY_NAME,
    "localityname": NameOID.LOCALITY_NAME,
    "st": NameOID.STATE_OR_PROVINCE_NAME,
    "stateorprovincename": NameOID.STATE_OR_PROVINCE_NAME,
    "street": NameOID.STREET_ADDRESS,
    "streetaddress": NameOID.STREET_ADDRESS,
    "dc": NameOID.DOMAIN_COMPONENT,
    "domaincomponent": NameOID.DOMAIN_COMPONENT,
    "uid": NameOID.USER_ID,
    "userid": NameOID.USER_ID,
    "serialnumber": NameOID.SERIAL_NUMBER,
    "organizationidentifier": NameOID.ORGANIZATION_IDENTIFIER,
    "givenname": NameOID.GIVEN_NAME,
    "gn": NameOID.GIVEN_NAME,
    "surname": NameOID.SURNAME,
    "sn": NameOID.SURNAME,
    "title": NameOID.TITLE,
    "emailaddress": NameOID.EMAIL_ADDRESS,
    "pseudonym": NameOID.PSEUDONYM,
    "initials": NameOID.INITIALS,
    "generationqualifier": NameOID.GENERATION_QUALIFIER,
    "dnqualifier": NameOID.DN_QUALIFIER,
    "businesscategory": NameOID.BUSINESS_CATEGORY,
    "postalcode": NameOID.POSTAL_CODE,
}

# The keyword format_name writes for each attribute: the short form where
# RFC 4514 section 3 has one, else the X.520 / LDAP attribute name.
_FORMAT_KEYWORDS: dict[ObjectIdentifier, str] = {
    NameOID.COMMON_NAME: "CN",
    NameOID.COUNTRY_NAME: "C",
    NameOID.ORGANIZATION_NAME: "O",
    NameOID.ORGANIZATIONAL_UNIT_NAME: "OU",
    NameOID.LOCALITY_NAME: "L",
    NameOID.STATE_OR_PROVINCE_NAME: "ST",
    NameOID.STREET_ADDRESS: "STREET",
    NameOID.DOMAIN_COMPONENT: "DC",
    NameOID.USER_ID: "UID",
    NameOID.SERIAL_NUMBER: "serialNumber",
    NameOID.ORGANIZATION_IDENTIFIER: "organizationIdentifier",
    NameOID.GIVEN_NAME: "givenName",
    NameOID.SURNAME: "surname",
    NameOID.TITLE: "title",
    NameOID.EMAIL_ADDRESS: "emailAddress",
    NameOID.PSEUDONYM: "pseudonym",
    NameOID.INITIALS: "initials",
    NameOID.GENERATION_QUALIFIER: "generationQualifier",
    NameOID.DN_QUALIFIER: "dnQualifier",
    NameOID.BUSINESS_CATEGORY: "businessCategory",
    NameOID.POSTAL_CODE: "postalCode",
}

# Upper bounds from RFC 5280 appendix A.1 (ub-common-name and friends), in characters.
_UPPER_BOUNDS: dict[ObjectIdentifier, int] = {
    NameOID.COMMON_NAME: 64,
    NameOID.ORGANIZATION_NAME: 64,
    NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
    NameOID.LOCALITY_NAME: 128,
    NameOID.STATE_OR_PROVINCE_NAME: 128,
    NameOID.TITLE: 64,
    NameOID.SERIAL_NUMBER: 64,
    NameOID.EMAIL_ADDRESS: 255,
    NameOID.PSEUDONYM: 128,
    NameOID.GIVEN_NAME: 32768,
    NameOID.SURNAME: 32768,
    NameOID.INITIALS: 32768,
    NameOID.GENERATION_QUALIFIER: 32768,
    NameOID.POSTAL_CODE: 40,
}

# Attributes whose syntax is PrintableString (RFC 5280 appendix A.1: X520countryName,
# X520SerialNumber, X520dnQualifier) or IA5String (emailAddress, domainComponent).
_PRINTABLE_ONLY = (NameOID.COUNTRY_NAME, NameOID.SERIAL_NUMBER, NameOID.DN_QUALIFIER)
_IA5_ONLY = (NameOID.EMAIL_ADDRESS, NameOID.DOMAIN_COMPONENT)
_PRINTABLE_CHARS = frozenset(string.ascii_letters + string.digits + " '()+,-./:=?")

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
"""Unicode bidirectional formatting characters (UAX #9 explicit formatting)."""

_OID_RE = re.compile(r"(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))+")
_DESCR_RE = re.compile(r"[A-Za-z][A-Za-z0-9-]*")
_COUNTRY_RE = re.compile(r"[A-Z]{2}")
# A throwaway attribute type (X.520 "name") with no length limit in cryptography:
# parsing "2.5.4.41=<value>" lets cryptography do RFC 4514 unescaping for us.
_UNESCAPE_OID = "2.5.4.41"


def _attribute_label(oid: ObjectIdentifier) -> str:
    return _FORMAT_KEYWORDS.get(oid, oid.dotted_string)


def _split_unescaped(text: str, separators: str) -> list[str]:
    """Split ``text`` at the characters in ``separators`` not escaped by a backslash."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(text)
    for char in chars:
        if char == "\\":
            current.append(char)
            current.append(next(chars, ""))
        elif char in separators:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _attribute_type(text: str, whole: str) -> ObjectIdentifier:
    keyword = text.strip()
    if _OID_RE.fullmatch(keyword):
        try:
            return ObjectIdentifier(keyword)
        except ValueError as exc:
            raise NameSyntaxError(f"name {whole!r}: bad attribute OID {keyword!r}") from exc
    oid = _KEYWORDS.get(keyword.lower()) if _DESCR_RE.fullmatch(keyword) else None
    if oid is None:
        known = ", ".join(sorted(set(_FORMAT_KEYWORDS.values())))
        raise NameSyntaxError(
            f"name {whole!r}: unknown attribute type {keyword!r}; "
            f"use one of {known} or a dotted OID"
        )
    return oid


def _unescape(raw: str, label: str) -> str:
    """The value of an RFC 4514 attribute-value string, escapes undone."""
    if raw.startswith("#"):
        raise NameSyntaxError(
            f"{label}: hex-encoded BER values (RFC 4514 section 2.4 '#') are not accepted; "
            "write the value as text"
        )
    try:
        parsed = x509.Name.from_rfc4514_string(f"{_UNESCAPE_OID}={raw}")
    except (ValueError, TypeError, UnicodeError) as exc:
        raise NameSyntaxError(
            f"{label}: bad value {raw!r}; escape ',', '+', '\\\\', '\"', ';', '<', '>' and "
            "leading '#' or spaces with a backslash (RFC 4514 section 2.4)"
        ) from exc
    value = parsed.rdns[0].get_attributes_for_oid(ObjectIdentifier(_UNESCAPE_OID))[0].value
    if not isinstance(value, str):  # pragma: no cover - text in, text out
        raise NameSyntaxError(f"{label}: bad value {raw!r}")
    return value


def _trim(raw: str) -> str:
    """``raw`` without unescaped leading or trailing spaces, as in ``CN = Alice, O = Ex``."""
    stripped = raw.lstrip(" ").rstrip(" ")
    backslashes = len(stripped) - len(stripped.rstrip("\\"))
    if backslashes % 2 == 1:
        stripped += " "  # the last space was escaped ("a\\ "): it belongs to the value
    return stripped


def _check_attribute(oid: ObjectIdentifier, value: str) -> None:
    label = _attribute_label(oid)
    if not value:
        raise NameSyntaxError(f"{label}: empty value (X.520 attribute values are non-empty)")
    if oid in (NameOID.COUNTRY_NAME, NameOID.JURISDICTION_COUNTRY_NAME):
        if not _COUNTRY_RE.fullmatch(value):
            raise NameSyntaxError(
                f"{label} {value!r}: must be two upper-case letters (ISO 3166-1 alpha-2, "
                "RFC 5280 appendix A.1)"
            )
    bound = _UPPER_BOUNDS.get(oid)
    if bound is not None and len(value) > bound:
        raise NameSyntaxError(
            f"{label}: {len(value)} characters, at most {bound} allowed (RFC 5280 appendix A.1)"
        )
    if oid in _PRINTABLE_ONLY and not set(value) <= _PRINTABLE_CHARS:
        bad = sorted(set(value) - _PRINTABLE_CHARS)
        raise NameSyntaxError(
            f"{label} {value!r}: characters {''.join(bad)!r} are not allowed in a "
            "PrintableString (RFC 5280 appendix A.1)"
        )
    if oid in _IA5_ONLY and not value.isascii():
        raise NameSyntaxError(f"{label} {value!r}: must be ASCII (IA5String, RFC 5280 A.1)")
    if any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in value):
        raise NameSyntaxError(f"{label}: control characters are not allowed in names")
    if any(char in _BIDI_CONTROLS for char in value):
        # A right-to-left override shows "gov.example" as another name (CVE-2021-42574).
        raise NameSyntaxError(f"{label}: bidirectional control characters are not allowed")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise NameSyntaxError(f"{label}: not valid Unicode text ({exc.reason})") from exc


def _name_attribute(oid: ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    _check_attribute(oid, value)
    asn1_type = _ASN1Type.PrintableString if oid in _PRINTABLE_ONLY else None
    # cryptography measures commonName's 64 limit in UTF-8 bytes, while RFC 5280's
    # ub-common-name counts characters (checked above); let a 40-letter Cyrillic
    # name through instead of refusing it for its 80 bytes.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return x509.NameAttribute(oid, value, asn1_type, _validate=False)


def parse_name(text: str) -> x509.Name:
    """An X.509 name from RFC 4514 text, such as ``CN=Alice,O=Example,C=EX``.

    As RFC 4514 writes names, the most significant RDN comes LAST: the
    example encodes C first. ``+`` joins the attributes of a multi-valued
    RDN; ``\\,`` and ``\\+`` escape those characters inside a value.
    Keywords are case-insensitive: CN, C, O, OU, L, ST, STREET, DC, UID,
    serialNumber, organizationIdentifier, givenName (GN), surname (SN),
    title, emailAddress, pseudonym, initials, generationQualifier,
    dnQualifier, businessCategory, postalCode, or a dotted OID. Unescaped
    spaces around keywords and values are ignored (``CN = Alice, O = Example``,
    as OpenSSL prints names); a hex-encoded ``#`` value is refused.

    Checked: no empty values, countryName is ISO 3166-1 alpha-2 in upper
    case, RFC 5280 upper bounds (commonName at most 64 characters),
    PrintableString characters for C, serialNumber and dnQualifier (which
    are encoded as PrintableString), ASCII for emailAddress and DC.
    """
    if not isinstance(text, str):
        raise NameSyntaxError(f"name: expected text, got {type(text).__name__}")
    if not text.strip():
        raise NameSyntaxError("name: empty; expected RFC 4514 text such as 'CN=Alice,O=Example'")
    rdns: list[x509.RelativeDistinguishedName] = []
    for rdn_text in _split_unescaped(text, ","):
        attributes: list[x509.NameAttribute[str]] = []
        for pair in _split_unescaped(rdn_text, "+"):
            type_text, equals, raw = pair.partition("=")
            if not equals:
                raise NameSyntaxError(
                    f"name {text!r}: {pair.strip()!r} is not TYPE=value (RFC 4514 section 3)"
                )
            oid = _attribute_type(type_text, text)
            attributes.append(_name_attribute(oid, _unescape(_trim(raw), _attribute_label(oid))))
        try:
            rdns.append(x509.RelativeDistinguishedName(attributes))
        except ValueError as exc:
            raise NameSyntaxError(
                f"name {text!r}: RDN {rdn_text.strip()!r} repeats an attribute ({exc})"
            ) from exc
    # RFC 4514 section 2.1: the text lists RDNs from the last one encoded to the first.
    return x509.Name(list(reversed(rdns)))


def format_name(name: x509.Name) -> str:
    """RFC 4514 text for ``name``, most significant RDN last; :func:`parse_name` reads it back."""
    return name.rfc4514_string(attr_name_overrides=_FORMAT_KEYWORDS)


# --- general names ----------------------------------------------------------------------

_LDH_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_MAX_DNS_LENGTH = 253
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_ATEXT = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~")
_MAX_LOCAL_PART = 64  # RFC 5321 section 4.5.3.1.1
_PREFIXES = "dns:, ip:, email:, uri:, dirname:, rid:"


def _to_a_labels(domain: str) -> str:
    """``domain`` in A-labels (IDNA 2008 with UTS #46 mapping when ``idna`` is installed)."""
    if idna is not None:
        return idna.encode(domain, uts46=True, std3_rules=True).decode("ascii")
    return domain.encode("idna").decode("ascii")  # pragma: no cover - IDNA 2003 fallback


def _domain(text: str, what: str, *, wildcard: bool = False) -> str:
    """A DNS name checked for RFC 1034 preferred syntax, IDN converted to A-labels."""
    if not text:
        raise NameSyntaxError(f"{what}: empty domain name")
    if text.endswith("."):
        raise NameSyntaxError(f"{what}: a trailing dot is not allowed in a certificate name")
    labels = text.split(".")
    prefix = ""
    if wildcard and labels[0] == "*":
        if len(labels) < 3:
            raise NameSyntaxError(
                f"{what}: a wildcard needs at least two labels after it ('*.example.gov')"
            )
        prefix, text = "*.", ".".join(labels[1:])
    if _is_ipv4(text):
        raise NameSyntaxError(f"{what}: an IP address is not a DNS name; write ip:{text}")
    if "*" in text:
        rule = "only as the whole left-most label" if wildcard else "not at all here"
        raise NameSyntaxError(f"{what}: wildcard '*' allowed {rule} (RFC 6125 section 6.4.3)")
    try:
        ascii_name = _to_a_labels(text).lower()
    except (UnicodeError, ValueError) as exc:
        raise NameSyntaxError(f"{what}: not a valid domain name ({exc})") from exc
    for label in ascii_name.split("."):
        if not _LDH_LABEL_RE.fullmatch(label):
            raise NameSyntaxError(
                f"{what}: label {label!r} breaks the preferred name syntax (letters, digits, "
                "hyphens, 1 to 63 characters, no hyphen at either end; RFC 5280 4.2.1.6)"
            )
    full = prefix + ascii_name
    if len(full) > _MAX_DNS_LENGTH:
        raise NameSyntaxError(f"{what}: longer than {_MAX_DNS_LENGTH} characters (RFC 1035)")
    return full


def _local_part(local: str, what: str) -> str:
    if not local:
        raise NameSyntaxError(f"{what}: empty local part before '@'")
    if not local.isascii():
        raise NameSyntaxError(
            f"{what}: a non-ASCII local part needs SmtpUTF8Mailbox (RFC 8398), not rfc822Name"
        )
    if len(local) > _MAX_LOCAL_PART:
        raise NameSyntaxError(f"{what}: local part over {_MAX_LOCAL_PART} characters (RFC 5321)")
    atoms = local.split(".")
    if any(not atom or not set(atom) <= _ATEXT for atom in atoms):
        raise NameSyntaxError(
            f"{what}: local part {local!r} is not a dot-atom (RFC 5322 section 3.4.1)"
        )
    return local


def _mailbox(text: str, what: str) -> str:
    local, at, domain = text.rpartition("@")
    if not at:
        raise NameSyntaxError(f"{what}: expected a mailbox such as alice@example.gov")
    return f"{_local_part(local, what)}@{_domain(domain, what)}"


def _uri(text: str, what: str) -> str:
    if not text or any(char.isspace() or ord(char) < 0x20 for char in text):
        raise NameSyntaxError(f"{what}: empty, or contains spaces or control characters")
    scheme, colon, _ = text.partition(":")
    if not colon or not _SCHEME_RE.fullmatch(scheme):
        raise NameSyntaxError(f"{what}: needs a scheme such as https: (RFC 3986 section 3.1)")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise NameSyntaxError(f"{what}: not a valid URI ({exc})") from exc
    host = parts.hostname
    if not host:
        raise NameSyntaxError(f"{what}: needs a host (RFC 5280 4.2.1.6)")
    if ":" in host:
        ascii_host = f"[{_ipv6_literal(host, what)}]"
    elif _is_ipv4(host):
        ascii_host = host
    else:
        ascii_host = _domain(host, what)
    if host.isascii():
        result = text
    else:
        # An IDN host: rebuild the URI around its A-labels (RFC 3987 section 3.1).
        userinfo, at, _ = parts.netloc.rpartition("@")
        netloc = f"{userinfo}{at}{ascii_host}" + (f":{port}" if port is not None else "")
        result = urlunsplit(parts._replace(netloc=netloc))
    if not result.isascii():
        raise NameSyntaxError(
            f"{what}: non-ASCII characters outside the host must be percent-encoded (RFC 3986)"
        )
    return result


def _ipv6_literal(host: str, what: str) -> str:
    try:
        return str(ipaddress.IPv6Address(host))
    except ValueError as exc:
        raise NameSyntaxError(f"{what}: bad IPv6 literal {host!r}") from exc


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _ip_address(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if "/" in text:
        raise NameSyntaxError(
            f"{what}: a SAN holds one address; networks belong in name constraints"
        )
    if "%" in text:
        raise NameSyntaxError(f"{what}: IPv6 zone identifiers are not allowed in certificates")
    try:
        return ipaddress.ip_address(text)
    except ValueError as exc:
        raise NameSyntaxError(f"{what}: not an IPv4 or IPv6 address ({exc})") from exc


def _registered_id(text: str, what: str) -> x509.RegisteredID:
    if not _OID_RE.fullmatch(text):
        raise NameSyntaxError(f"{what}: expected a dotted OID such as 1.2.3.4")
    try:
        return x509.RegisteredID(ObjectIdentifier(text))
    except ValueError as exc:
        raise NameSyntaxError(f"{what}: bad OID ({exc})") from exc


def _directory_name(text: str, what: str) -> x509.DirectoryName:
    try:
        return x509.DirectoryName(parse_name(text))
    except NameSyntaxError as exc:
        raise NameSyntaxError(f"{what}: {exc}") from exc


def _split_prefix(text: object, kind: str) -> tuple[str, str, str]:
    if not isinstance(text, str):
        raise NameSyntaxError(f"{kind}: expected text, got {type(text).__name__}")
    prefix, colon, value = text.partition(":")
    if not colon:
        raise NameSyntaxError(f"{kind} {text!r}: expected PREFIX:value, PREFIX one of {_PREFIXES}")
    return prefix.strip().lower(), value.strip(), f"{kind} {text!r}"


def parse_general_name(text: str) -> x509.GeneralName:
    """A subject alternative name from ``PREFIX:value`` text.

    ``dns:www.example.gov`` (an IDN becomes A-labels; ``*`` only as the whole
    left-most label), ``ip:192.0.2.1`` or ``ip:2001:db8::1``,
    ``email:alice@example.gov``, ``uri:https://example.gov/x`` (scheme and
    host required), ``dirname:CN=Alice,O=Example``, ``rid:1.2.3.4``.
    Prefixes are case-insensitive.
    """
    prefix, value, what = _split_prefix(text, "SAN")
    if prefix == "dns":
        return x509.DNSName(_domain(value, what, wildcard=True))
    if prefix == "ip":
        return x509.IPAddress(_ip_address(value, what))
    if prefix == "email":
        return x509.RFC822Name(_mailbox(value, what))
    if prefix == "uri":
        return x509.UniformResourceIdentifier(_uri(value, what))
    if prefix == "dirname":
        return _directory_name(value, what)
    if prefix == "rid":
        return _registered_id(value, what)
    raise NameSyntaxError(f"{what}: unknown prefix {prefix!r}; use one of {_PREFIXES}")


def parse_general_names(texts: Iterable[str]) -> list[x509.GeneralName]:
    """:func:`parse_general_name` over ``texts``, in order."""
    return [parse_general_name(text) for text in texts]


def format_general_name(name: x509.GeneralName) -> str:
    """``name`` in the ``PREFIX:value`` form of :func:`parse_general_name`.

    Also formats the name-constraint forms (``ip:10.0.0.0/8``). An otherName
    is shown as ``othername:OID:HEX`` (its DER value), which is for display
    only: it is not parsed back.
    """
    if isinstance(name, x509.DNSName):
        return f"dns:{name.value}"
    if isinstance(name, x509.IPAddress):
        return f"ip:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"uri:{name.value}"
    if isinstance(name, x509.DirectoryName):
        return f"dirname:{format_name(name.value)}"
    if isinstance(name, x509.RegisteredID):
        return f"rid:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        return f"othername:{name.type_id.dotted_string}:{name.value.hex()}"
    return f"unknown:{name!r}"  # pragma: no cover - GeneralName has no other subclasses


def parse_name_constraint(text: str) -> x509.GeneralName:
    """A name-constraint subtree base (RFC 5280 4.2.1.10) from ``PREFIX:value`` text.

    - ``dns:gov.example``: that name and every name below it (RFC 5280 4.2.1.10).
      ``dns:.gov.example``: the names below it only, not ``gov.example`` itself;
      the dot is kept in the certificate, where OpenSSL, Go, NSS and trustkit's
      validator read it so, as RFC 5280 reads a leading period in URI and
      e-mail constraints.
    - ``ip:10.0.0.0/8``, ``ip:2001:db8::/32``: address and prefix length, no host bits.
    - ``email:alice@example.gov`` (one mailbox), ``email:example.gov`` or
      ``email:@example.gov`` (every mailbox at that host), ``email:.example.gov``
      (every mailbox in domains below it).
    - ``uri:example.gov`` (that host), ``uri:.example.gov`` (hosts below it).
    - ``dirname:O=Example,C=EX``: names beneath that directory name.
    """
    prefix, value, what = _split_prefix(text, "name constraint")
    if prefix == "dns":
        if value.startswith("."):
            return x509.DNSName("." + _domain(value[1:], what))
        return x509.DNSName(_domain(value, what))
    if prefix == "ip":
        if "/" not in value:
            raise NameSyntaxError(f"{what}: expected address/prefix-length, e.g. 10.0.0.0/8")
        try:
            return x509.IPAddress(ipaddress.ip_network(value, strict=True))
        except ValueError as exc:
            raise NameSyntaxError(f"{what}: not an IP network without host bits ({exc})") from exc
    if prefix == "email":
        if "@" in value.lstrip("@"):
            return x509.RFC822Name(_mailbox(value, what))
        if value.startswith("."):
            return x509.RFC822Name("." + _domain(value[1:], what))
        return x509.RFC822Name(_domain(value.removeprefix("@"), what))
    if prefix == "uri":
        if "/" in value or ":" in value:
            raise NameSyntaxError(
                f"{what}: a URI constraint is a host (example.gov) or a domain (.example.gov), "
                "not a URI (RFC 5280 4.2.1.10)"
            )
        if value.startswith("."):
            return x509.UniformResourceIdentifier("." + _domain(value[1:], what))
        return x509.UniformResourceIdentifier(_domain(value, what))
    if prefix == "dirname":
        return _directory_name(value, what)
    raise NameSyntaxError(
        f"{what}: unknown prefix {prefix!r}; use one of dns:, ip:, email:, uri:, dirname:"
    )
