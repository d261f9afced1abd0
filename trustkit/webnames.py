"""Names in publicly-trusted TLS server certificates: the CA/Browser Forum rules.

RFC 5280 lets a dNSName hold any IA5 text; the CA/Browser Forum baseline
requirements (BR) narrow it for the web PKI. :func:`dns_name_problem` and
:func:`ip_address_problem` say why a subjectAltName entry breaks them, or
return ``None``. Public suffixes come from the maintained Public Suffix List
(the ``publicsuffixlist`` package, read once by :mod:`trustkit.matching`, whose
ICANN section BR 3.2.2.6 asks CAs to consult), not from a copy kept here.
"""

from __future__ import annotations

import ipaddress
import re

import idna

from .matching import is_public_suffix, wildcard_over_public_suffix

__all__ = ["MAX_DNS_NAME_LENGTH", "RESERVED_DOMAINS", "dns_name_problem", "ip_address_problem"]

MAX_DNS_NAME_LENGTH = 253
"""RFC 1035 2.3.4: 255 octets on the wire, 253 characters as text without the root dot."""

RESERVED_DOMAINS = frozenset(
    {
        "test",  # RFC 6761 6.2
        "localhost",  # RFC 6761 6.3
        "invalid",  # RFC 6761 6.4
        "example",  # RFC 6761 6.5
        "local",  # RFC 6762 (mDNS)
        "onion",  # RFC 7686 (BR Appendix C has its own rules, not supported here)
        "alt",  # RFC 9476
        "internal",  # ICANN, reserved for private use (2024)
        "home.arpa",  # RFC 8375
    }
)
"""Special-use domains (IANA registry): names under them are internal names (BR 1.6.1)."""

_LDH_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _label_problem(label: str) -> str | None:
    if not label:
        return "has an empty label (RFC 1034 3.5)"
    if len(label) > 63:
        return f"label of {len(label)} characters; at most 63 (RFC 1035 2.3.4)"
    if not _LDH_LABEL.fullmatch(label):
        return (
            f"label {label!r} is not letters, digits and inner hyphens "
            "(LDH, RFC 1034 3.5; BR 7.1.4.2.1 forbids underscores)"
        )
    if label[2:4] == "--":
        if not label.startswith("xn--"):
            return f"label {label!r} is a reserved LDH label (RFC 5890 2.3.1)"
        try:
            idna.decode(label)  # IDNA 2008: the A-label must decode to a valid U-label
        except (idna.IDNAError, UnicodeError) as exc:
            return f"label {label!r} is not a valid IDNA A-label ({exc}) (RFC 5891 5.4)"
    return None


def dns_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a dNSName of a publicly-trusted TLS server certificate.

    A fully-qualified host name in A-labels (BR 7.1.2.7.12, 7.1.4.2.1),
    at most one wildcard as the whole left-most label and not directly over a
    public suffix (BR 3.2.2.6), no internal name: a single label, a special-use
    domain or a top-level domain outside the root zone (BR 1.6.1, 4.2.2), and no
    IP address written as a name (BR 7.1.2.7.12).
    """
    if not value:
        return "is empty"
    if not value.isascii():
        return "is not in A-label form (IDNA 2008, RFC 5890; BR 7.1.4.2.1)"
    if value.endswith("."):
        return "ends in a dot (BR 7.1.4.2.1: no trailing root label)"
    if len(value) > MAX_DNS_NAME_LENGTH:
        return (
            f"is {len(value)} characters; a host name has at most {MAX_DNS_NAME_LENGTH} "
            "(RFC 1035 2.3.4)"
        )
    try:
        ipaddress.ip_address(value)
    except ValueError:
        pass
    else:
        return "is an IP address; an address goes in an iPAddress SAN (BR 7.1.2.7.12)"
    labels = value.lower().split(".")
    wildcard = labels[0] == "*" and len(labels) > 1
    if wildcard:
        labels = labels[1:]
    for label in labels:
        if "*" in label:
            return "has a wildcard other than the whole left-most label (BR 7.1.2.7.12)"
        problem = _label_problem(label)
        if problem is not None:
            return problem
    host = ".".join(labels)
    if wildcard and wildcard_over_public_suffix("*." + host):
        return f"is a wildcard directly over the public suffix {host} (BR 3.2.2.6)"
    if len(labels) < 2:
        return "is a single label, an internal name (BR 1.6.1, 7.1.2.7.12)"
    for reserved in RESERVED_DOMAINS:
        if host == reserved or host.endswith("." + reserved):
            return f"is under the special-use domain {reserved}, an internal name (BR 1.6.1)"
    # The list's ICANN section holds every top-level domain of the root zone.
    if not is_public_suffix(labels[-1]):
        return f"top-level domain {labels[-1]!r} is not in the public DNS root zone (BR 1.6.1)"
    if is_public_suffix(host):
        return f"is the public suffix {host}, not a domain a subscriber can hold (BR 3.2.2.6)"
    return None


def ip_address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why ``address`` cannot be an iPAddress of a publicly-trusted TLS server certificate:
    a reserved address (BR 7.1.2.7.12, from the IANA special-purpose registries)."""
    if not address.is_global:
        return f"{address} is a reserved IP address (BR 7.1.2.7.12, IANA special-purpose)"
    return None
