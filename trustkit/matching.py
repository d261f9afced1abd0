"""Name comparison (RFC 5280 7.1), name constraints (RFC 5280 4.2.1.10) and
host-name matching (RFC 9525).

One engine serves both sides: the issuance policy checks that a request stays
inside the issuing CA's name constraints, and path validation checks every
certificate against the constraints accumulated along the path.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from urllib.parse import urlsplit

import idna
from cryptography import x509
from cryptography.x509.oid import NameOID
from publicsuffixlist import PublicSuffixList

from .names import format_general_name

__all__ = [
    "NameConstraintState",
    "common_name_problem",
    "constrained_names",
    "dns_name_problem",
    "hostname_matches",
    "is_public_suffix",
    "names_equal",
    "normalize_name",
    "wildcard_over_public_suffix",
]

_SPACES = re.compile(r"\s+")

NormalizedName = tuple[frozenset[tuple[str, object]], ...]


def _normalize_value(value: object) -> object:
    # RFC 5280 7.1 / RFC 4518: case-insensitive, leading and trailing space
    # removed, internal runs of space folded to one, for DirectoryString values.
    if isinstance(value, str):
        return _SPACES.sub(" ", value.strip()).casefold()
    return value


def normalize_name(name: x509.Name) -> NormalizedName:
    """``name`` as a comparable value: RDN order kept, attributes in an RDN a set."""
    return tuple(
        frozenset((attr.oid.dotted_string, _normalize_value(attr.value)) for attr in rdn)
        for rdn in name.rdns
    )


def names_equal(a: x509.Name, b: x509.Name) -> bool:
    """Whether two distinguished names match under RFC 5280 7.1 comparison."""
    return a == b or normalize_name(a) == normalize_name(b)


# --- name constraints (RFC 5280 4.2.1.10, 6.1.3 b, c and 6.1.4 g) ---------------------


_DNS_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?")
"""A host-name label, as certificates use them (letters, digits, hyphens; underscores
appear in real names). IDNs are in their A-label form."""


def _dns_within(name: str, base: str) -> bool:
    name = name.rstrip(".").lower()
    base = base.rstrip(".").lower()
    if not base:
        return True
    if base.startswith("."):
        # A leading period means the names below only, as RFC 5280 4.2.1.10 reads it
        # for URI and e-mail bases and OpenSSL, Go and NSS read it for dNSName.
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def dns_name_problem(value: str, *, wildcard: bool) -> str | None:
    """Why ``value`` is not a host name (RFC 5280 4.2.1.6 "preferred name syntax");
    ``wildcard`` admits a whole left-most ``*`` label (RFC 9525 6.3)."""
    labels = value.rstrip(".").lower().split(".")
    if wildcard and len(labels) > 1 and labels[0] == "*":
        labels = labels[1:]
    if all(_DNS_LABEL.fullmatch(label) for label in labels):
        return None
    return f"{value!r} is not a host name"


def _email_problem(value: str) -> str | None:
    local, at, host = value.rpartition("@")
    if at and local and "@" not in local and dns_name_problem(host, wildcard=False) is None:
        return None
    return f"{value!r} is not a mailbox (local-part@domain, RFC 5280 4.2.1.6)"


def _name_problem(name: x509.GeneralName) -> str | None:
    """Why a name cannot be held to constraints of its form; ``None`` when it can."""
    if isinstance(name, x509.DNSName):
        return dns_name_problem(name.value, wildcard=True)
    if isinstance(name, x509.RFC822Name):
        return _email_problem(name.value)
    if isinstance(name, x509.IPAddress) and not isinstance(
        name.value, ipaddress.IPv4Address | ipaddress.IPv6Address
    ):
        return f"{format_general_name(name)} is a network, not an address (RFC 5280 4.2.1.6)"
    return None


def _base_problem(base: x509.GeneralName) -> str | None:
    """Why a subtree base is malformed (RFC 5280 4.2.1.10); ``None`` when it is not."""
    if isinstance(base, x509.DNSName) and base.value:
        # A dNSName constraint is a host name, or one with a leading period for the
        # names below it only (see _dns_within).
        return dns_name_problem(base.value.removeprefix("."), wildcard=False)
    if isinstance(base, x509.IPAddress) and not isinstance(
        base.value, ipaddress.IPv4Network | ipaddress.IPv6Network
    ):
        return "an iPAddress constraint is an address and mask"
    return None


def _email_within(mailbox: str, base: str) -> bool:
    local, at, host = mailbox.rpartition("@")
    if not at:
        return False
    base_l = base.lower()
    if "@" in base:
        b_local, _, b_host = base.rpartition("@")
        return local == b_local and host.lower() == b_host.lower()
    if base_l.startswith("."):
        return host.lower().endswith(base_l)
    return host.lower() == base_l


def _uri_host(uri: str) -> str | None:
    try:
        host = urlsplit(uri).hostname
    except ValueError:
        return None
    return host or None


def _uri_within(uri: str, base: str) -> bool:
    host = _uri_host(uri)
    if host is None:
        return False
    base_l = base.lower()
    if base_l.startswith("."):
        return host.lower().endswith(base_l)
    return host.lower() == base_l


def _ip_within(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
    base: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> bool:
    return address.version == base.version and address in base


def _dn_within(name: x509.Name, base: x509.Name) -> bool:
    n, b = normalize_name(name), normalize_name(base)
    return len(n) >= len(b) and n[: len(b)] == b


def _within(name: x509.GeneralName, base: x509.GeneralName) -> bool:
    if isinstance(name, x509.DNSName) and isinstance(base, x509.DNSName):
        return _dns_within(name.value, base.value)
    if isinstance(name, x509.RFC822Name) and isinstance(base, x509.RFC822Name):
        return _email_within(name.value, base.value)
    if isinstance(name, x509.UniformResourceIdentifier) and isinstance(
        base, x509.UniformResourceIdentifier
    ):
        return _uri_within(name.value, base.value)
    if isinstance(name, x509.IPAddress) and isinstance(base, x509.IPAddress):
        if not isinstance(base.value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
        if not isinstance(name.value, ipaddress.IPv4Address | ipaddress.IPv6Address):
            return False
        return _ip_within(name.value, base.value)
    if isinstance(name, x509.DirectoryName) and isinstance(base, x509.DirectoryName):
        return _dn_within(name.value, base.value)
    if isinstance(name, x509.OtherName) and isinstance(base, x509.OtherName):
        return name.type_id == base.type_id and name.value == base.value
    if isinstance(name, x509.RegisteredID) and isinstance(base, x509.RegisteredID):
        return name.value == base.value
    return False


def _host_subtree_within(base: str, outer: str) -> bool:
    """Whether every host of subtree ``base`` is in subtree ``outer``: both a host (that
    host; for dNSName also the names below it) or ``.domain`` (the names below it)."""
    base, outer = base.lower(), outer.lower()
    if not outer:
        return True
    below = outer if outer.startswith(".") else "." + outer
    return base.endswith(below) or (not base.startswith(".") and base == outer)


def _subtree_within(base: x509.GeneralName, outer: x509.GeneralName) -> bool:
    """Whether subtree ``base`` lies inside subtree ``outer`` (RFC 5280 4.2.1.10 forms)."""
    if isinstance(base, x509.DNSName) and isinstance(outer, x509.DNSName):
        return _base_problem(base) is None and _host_subtree_within(base.value, outer.value)
    if isinstance(base, x509.RFC822Name) and isinstance(outer, x509.RFC822Name):
        if "@" in base.value:
            return _email_within(base.value, outer.value)
        if "@" in outer.value:
            return False
        if not base.value.startswith(".") and not outer.value.startswith("."):
            return base.value.lower() == outer.value.lower()
        return (outer.value.startswith(".") or not base.value.startswith(".")) and (
            _host_subtree_within(base.value, outer.value)
        )
    if isinstance(base, x509.UniformResourceIdentifier) and isinstance(
        outer, x509.UniformResourceIdentifier
    ):
        if not base.value.startswith(".") and not outer.value.startswith("."):
            return base.value.lower() == outer.value.lower()
        return (outer.value.startswith(".") or not base.value.startswith(".")) and (
            _host_subtree_within(base.value, outer.value)
        )
    if isinstance(base, x509.IPAddress) and isinstance(outer, x509.IPAddress):
        inner_net, outer_net = base.value, outer.value
        if not isinstance(inner_net, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
        if not isinstance(outer_net, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return False
        return inner_net.version == outer_net.version and inner_net.subnet_of(outer_net)  # type: ignore[arg-type]
    return _within(base, outer)


def _kind(name: x509.GeneralName) -> type:
    return type(name)


_LISTED_SUBTREES = 5
"""How many subtrees a violation message names before saying how many more there are."""


def _listed(bases: Sequence[x509.GeneralName]) -> str:
    shown = ", ".join(format_general_name(b) for b in bases[:_LISTED_SUBTREES])
    more = len(bases) - _LISTED_SUBTREES
    return shown + (f" and {more} more" if more > 0 else "")


def _key(name: x509.GeneralName) -> object:
    """What a name or subtree is compared by, worked out once: a host name lower-cased
    without its trailing period, a distinguished name normalised (RFC 5280 7.1)."""
    if isinstance(name, x509.DNSName):
        return name.value.rstrip(".").lower()
    if isinstance(name, x509.DirectoryName):
        return normalize_name(name.value)
    return name


def _dns_in(host: str, base: str) -> bool:
    """:func:`_dns_within` over keys (lower case, no trailing period)."""
    if base.startswith("."):  # the names below only (see _dns_within)
        return host.endswith(base)
    return not base or host == base or (host.endswith(base) and host[-len(base) - 1] == ".")


def _dns_reaches(host: str, base: str) -> bool:
    """Whether a host that ``host`` matches can be inside subtree ``base`` (keys): as
    :func:`_dns_in`, and for a wildcard, also when ``base`` is one of the hosts it
    matches (``*.example.com`` reaches ``bar.example.com``; CVE-2025-61727)."""
    if _dns_in(host, base):
        return True
    if not host.startswith("*."):
        return False
    first, dot, parent = base.partition(".")
    return bool(first) and bool(dot) and parent == host[2:]


def _dn_in(name: NormalizedName, base: NormalizedName) -> bool:
    return len(name) >= len(base) and name[: len(base)] == base


def _key_within(
    name: x509.GeneralName, key: object, base: x509.GeneralName, base_key: object
) -> bool:
    if isinstance(key, str) and isinstance(base_key, str):  # dNSName keys
        return _dns_in(key, base_key)
    if isinstance(name, x509.DirectoryName) and isinstance(base, x509.DirectoryName):
        return _dn_in(key, base_key)  # type: ignore[arg-type]
    return _within(name, base)


def _key_excluded(
    name: x509.GeneralName, key: object, base: x509.GeneralName, base_key: object
) -> bool:
    if isinstance(key, str) and isinstance(base_key, str):  # dNSName keys
        return _dns_reaches(key, base_key)
    return _key_within(name, key, base, base_key)


@dataclass(frozen=True)
class _Bases:
    """The subtrees of one name form, read once per state instead of once per name."""

    excluded: tuple[tuple[x509.GeneralName, object], ...]
    """Each excluded subtree with its comparison key."""
    permitted: tuple[tuple[tuple[x509.GeneralName, object], ...], ...]
    """Only the permitted sets that hold a subtree of this form: the others do not
    constrain it (RFC 5280 6.1.4 g: the intersection leaves other forms alone)."""
    broken: str | None
    """Why the first malformed subtree of this form is malformed, if one is."""
    comparisons: int
    """Subtrees a name of this form is compared with."""


@dataclass(frozen=True)
class NameConstraintState:
    """permitted_subtrees and excluded_subtrees of RFC 5280 6.1.2 (g, h).

    Instead of intersecting subtrees, each certificate's permitted set is
    kept whole; a name must fall inside at least one subtree of its form in
    every set that constrains that form. That is the intersection, exactly.
    """

    permitted: tuple[tuple[x509.GeneralName, ...], ...] = ()
    excluded: tuple[x509.GeneralName, ...] = ()

    def add(self, constraints: x509.NameConstraints) -> NameConstraintState:
        """The state after a certificate's nameConstraints (RFC 5280 6.1.4 g)."""
        permitted = self.permitted
        if constraints.permitted_subtrees is not None:
            permitted = (*permitted, tuple(constraints.permitted_subtrees))
        excluded = self.excluded + tuple(constraints.excluded_subtrees or ())
        return NameConstraintState(permitted, excluded)

    @cached_property
    def _by_kind(self) -> dict[type, _Bases]:
        kinds = {_kind(b) for b in self.excluded}
        kinds.update(_kind(b) for subtrees in self.permitted for b in subtrees)
        found: dict[type, _Bases] = {}
        for kind in kinds:
            excluded = tuple(b for b in self.excluded if _kind(b) is kind)
            permitted = tuple(
                same
                for same in (
                    tuple(b for b in subtrees if _kind(b) is kind) for subtrees in self.permitted
                )
                if same
            )
            bases = [*excluded, *(b for same in permitted for b in same)]
            broken = next(
                (
                    f"name constraint {format_general_name(b)}: {problem} (RFC 5280 4.2.1.10)"
                    for b in bases
                    if (problem := _base_problem(b)) is not None
                ),
                None,
            )
            found[kind] = _Bases(
                tuple((b, _key(b)) for b in excluded) if broken is None else (),
                tuple(tuple((b, _key(b)) for b in same) for same in permitted)
                if broken is None
                else (),
                broken,
                len(bases),
            )
        return found

    def comparisons(self, names: Iterable[x509.GeneralName]) -> int:
        """How many name-to-subtree comparisons checking ``names`` takes: the work that
        a bound on name-constraint checking counts, known before any is done."""
        by_kind = self._by_kind
        return sum(
            bases.comparisons for name in names if (bases := by_kind.get(_kind(name))) is not None
        )

    def violations(self, names: Iterable[x509.GeneralName]) -> Iterator[str]:
        """Why each of ``names`` breaks the constraints, if it does.

        A name of a constrained form that is not well formed (a host name with an
        empty label, a mailbox with two "@", a network in place of an address)
        cannot be shown to be inside or outside a subtree, and so breaks them; so
        does a malformed subtree of the name's form, permitted or excluded.
        """
        by_kind = self._by_kind
        for name in names:
            bases = by_kind.get(_kind(name))
            if bases is None:
                continue
            problem = _name_problem(name)
            if problem is not None:
                yield f"{problem}, so it cannot meet the name constraints on its form"
                continue
            if bases.broken is not None:
                yield bases.broken
                continue
            key = _key(name)
            if isinstance(key, str):  # a host name: string keys, compared inline
                for base, base_key in bases.excluded:
                    if _dns_reaches(key, base_key):  # type: ignore[arg-type]
                        yield (
                            f"{format_general_name(name)} is inside excluded subtree "
                            f"{format_general_name(base)}"
                        )
                for same in bases.permitted:
                    if not any(_dns_in(key, b_key) for _, b_key in same):  # type: ignore[arg-type]
                        yield (
                            f"{format_general_name(name)} is outside the permitted subtrees "
                            + _listed([b for b, _ in same])
                        )
                continue
            for base, base_key in bases.excluded:
                if _key_excluded(name, key, base, base_key):
                    yield (
                        f"{format_general_name(name)} is inside excluded subtree "
                        f"{format_general_name(base)}"
                    )
            for same in bases.permitted:
                if not any(_key_within(name, key, b, b_key) for b, b_key in same):
                    yield (
                        f"{format_general_name(name)} is outside the permitted subtrees "
                        + _listed([b for b, _ in same])
                    )

    def subtree_problems(self, constraints: x509.NameConstraints) -> Iterator[str]:
        """Why the nameConstraints of a new CA certificate do not lie inside these.

        Each permitted subtree must sit inside a subtree of its form in every
        permitted set that constrains the form, and not wholly inside an excluded
        one (RFC 5280 4.2.1.10: a subordinate's constraints can only narrow; a
        subtree outside its issuer's would be refused at every certificate below).
        """
        for base in constraints.permitted_subtrees or ():
            kind = _kind(base)
            for same in ([b for b in subtrees if _kind(b) is kind] for subtrees in self.permitted):
                if same and not any(_subtree_within(base, outer) for outer in same):
                    yield (
                        f"permitted subtree {format_general_name(base)} is outside the "
                        "issuer's permitted subtrees "
                        + ", ".join(format_general_name(b) for b in same)
                    )
            for outer in self.excluded:
                if _kind(outer) is kind and _subtree_within(base, outer):
                    yield (
                        f"permitted subtree {format_general_name(base)} is inside the "
                        f"issuer's excluded subtree {format_general_name(outer)}"
                    )

    def violation(self, names: Iterable[x509.GeneralName]) -> str | None:
        """Why the first offending name breaks the constraints, or ``None``."""
        return next(self.violations(names), None)


def constrained_names(
    subject: x509.Name, san: Sequence[x509.GeneralName]
) -> list[x509.GeneralName]:
    """The names of a certificate that name constraints apply to (RFC 5280 6.1.3 b)."""
    names: list[x509.GeneralName] = []
    if subject.rdns:
        names.append(x509.DirectoryName(subject))
    # RFC 5280 4.2.1.10: rfc822Name constraints also bind emailAddress in the subject.
    for attr in subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        if isinstance(attr.value, str):
            names.append(x509.RFC822Name(attr.value))
    names.extend(san)
    return names


def common_name_problem(subject: x509.Name, sans: Sequence[x509.GeneralName]) -> str | None:
    """Why a TLS server certificate's commonName is not a copy of one of its SANs, or
    ``None`` (CA/Browser Forum BR 7.1.4.3: a dNSName character for character, an
    iPAddress in its canonical text, RFC 5952 for IPv6)."""
    allowed = {n.value for n in sans if isinstance(n, x509.DNSName)}
    allowed |= {
        str(n.value)
        for n in sans
        if isinstance(n, x509.IPAddress)
        and isinstance(n.value, ipaddress.IPv4Address | ipaddress.IPv6Address)
    }
    for attribute in subject.get_attributes_for_oid(NameOID.COMMON_NAME):
        if attribute.value not in allowed:
            return (
                f"commonName {attribute.value!r} is not one of the subjectAltName values "
                "(CABF BR 7.1.4.3)"
            )
    return None


# --- host names (RFC 9525) ---------------------------------------------------------------


@cache
def _public_suffix_list(icann_only: bool) -> PublicSuffixList:
    # Read once per process, on first use (about 0.2 s), from the list that ships with
    # the publicsuffixlist package; updating the package updates the list. A TLD the
    # list does not know (an intranet's "corp") is not taken for a public suffix, as
    # Chrome's registry_controlled_domains does not (EXCLUDE_UNKNOWN_REGISTRIES).
    # Rules are kept in U-labels (accept_encoded_idn=False) and A-labels decoded for
    # the lookup: the list parses in a third of the time, which a CA process's first
    # issuance pays.
    return PublicSuffixList(only_icann=icann_only, accept_unknown=False, accept_encoded_idn=False)


def _u_labels(domain: str) -> str | None:
    try:
        return ".".join(
            idna.decode(label) if label.startswith("xn--") else label for label in domain.split(".")
        )
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def is_public_suffix(domain: str, *, icann_only: bool = True) -> bool:
    """Whether ``domain`` (A-labels) is a public suffix: one of the ICANN section of the
    Public Suffix List (``co.uk``, ``gov``), or with ``icann_only=False`` also one of
    its private section (``github.io``, ``appspot.com``)."""
    listed = _u_labels(domain.rstrip(".").lower())
    return (
        listed is not None
        and bool(listed)
        and bool(_public_suffix_list(icann_only).is_public(listed))
    )


def wildcard_over_public_suffix(pattern: str, *, icann_only: bool = True) -> bool:
    """Whether ``pattern`` is a wildcard whose fixed part is a public suffix
    (``*.co.uk``): a name no one registrant holds (CA/Browser Forum BR 3.2.2.6)."""
    pattern = pattern.rstrip(".").lower()
    return pattern.startswith("*.") and is_public_suffix(pattern[2:], icann_only=icann_only)


def _to_alabel(host: str) -> str | None:
    host = host.rstrip(".")
    if not host:
        return None
    try:
        if host.isascii():
            return host.lower()
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def _parse_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if ":" not in host and not host[-1:].isdigit():
        return None  # a DNS name: IPv4 text ends in a digit, IPv6 text has colons
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _dns_matches(pattern: str, host: str) -> bool:
    pattern = pattern.rstrip(".").lower()
    if not pattern.isascii() or not pattern:
        return False
    p_labels = pattern.split(".")
    h_labels = host.split(".")
    if len(p_labels) != len(h_labels):
        return False
    first, rest = p_labels[0], p_labels[1:]
    if any("*" in label for label in rest):
        return False
    if first == "*":
        # RFC 9525 6.3: a wildcard is only the whole left-most label, matches exactly
        # one label, and needs at least two labels after it. It must not stand for a
        # public suffix's registrants (*.co.uk), as Chrome refuses for the ICANN
        # section (RFC 9525 6.3 leaves clients free to refuse more wildcards).
        return (
            len(rest) >= 2
            and rest == h_labels[1:]
            and bool(h_labels[0])
            and not wildcard_over_public_suffix(pattern)
        )
    if "*" in first:
        return False
    return p_labels == h_labels


def hostname_matches(san: Sequence[x509.GeneralName], hostname: str) -> bool:
    """Whether ``hostname`` (DNS name, U-label, or IP literal) is named by ``san``.

    DNS names match dNSName entries only (no common-name fallback), IP
    addresses match iPAddress entries only (RFC 9525 6.2, 6.3). A wildcard over a
    public suffix of the ICANN section (``*.co.uk``) matches nothing.
    """
    ip = _parse_ip(hostname)
    if ip is not None:
        return any(isinstance(n, x509.IPAddress) and n.value == ip for n in san)
    host = _to_alabel(hostname)
    if host is None:
        return False
    return any(isinstance(n, x509.DNSName) and _dns_matches(n.value, host) for n in san)
