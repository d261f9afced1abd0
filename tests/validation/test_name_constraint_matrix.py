"""Name constraints and host names, every combination: the matrix of Netflix BetterTLS's
``nameconstraints`` suite (https://github.com/Netflix/bettertls, Apache-2.0), rebuilt here.

Each case is a TLS server chain ``leaf -> local_ica -> local_root -> root`` where the
issuing CA may carry a DNS and an IP whitelist and blacklist, and the leaf a DNS and an
IP SAN and a commonName, each absent, "valid" or "invalid". The expectations follow
BetterTLS's rules: the requested host must be in a SAN (the commonName is never used),
any SAN a constraint denies rejects the chain, and a commonName a DNS or IP constraint
would deny does not (RFC 5280 4.2.1.10 binds dNSName and iPAddress constraints to the
subjectAltName, not to the CN). BetterTLS's "soft" results are read as it exports them
(soft fail rejects, soft pass accepts).
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from trustkit.errors import ValidationError
from trustkit.validation import Purpose, validate

from .conftest import AT, NOT_AFTER, NOT_BEFORE, ku


class V(Enum):
    """An extension or value: absent, one that fits the requested host, or one that does not."""

    NONE = 0
    VALID = 1
    INVALID = 2


HOST = {"DNS": "test.localhost", "IP": "127.0.0.1"}
OTHER = {"DNS": "bad.example.com", "IP": "1.1.1.1"}
WHITELIST = {
    V.VALID: (x509.DNSName("localhost"), "127.0.0.0/24"),
    V.INVALID: (x509.DNSName("example.com"), "1.1.1.0/24"),
}
BLACKLIST = {
    V.VALID: (x509.DNSName("localhost"), "127.0.0.0/24"),
    V.INVALID: (x509.DNSName("bad.example.com"), "1.1.1.0/24"),
}


@dataclass(frozen=True)
class Case:
    host_type: str  # "DNS" or "IP": what the client asks for
    cn_type: str
    cn: V
    dns_san: V
    ip_san: V
    dns_white: V
    ip_white: V
    dns_black: V
    ip_black: V

    @property
    def host(self) -> str:
        return HOST[self.host_type]

    def expected(self) -> bool:
        """Whether the chain is accepted for the host (BetterTLS's ExpectedResult)."""
        san = self.dns_san if self.host_type == "DNS" else self.ip_san
        if san is not V.VALID:
            return False  # the host is in no SAN; a matching commonName does not count
        white, black = (
            (self.dns_white, self.dns_black)
            if self.host_type == "DNS"
            else (self.ip_white, self.ip_black)
        )
        if white is V.INVALID or black is V.VALID:
            return False  # a constraint denies the host itself

        def denied(value: V, white: V, black: V) -> bool:
            if value is V.VALID:
                return white is V.INVALID or black is V.VALID
            if value is V.INVALID:
                return white is V.VALID or black is V.INVALID
            return False

        return not (
            denied(self.dns_san, self.dns_white, self.dns_black)
            or denied(self.ip_san, self.ip_white, self.ip_black)
        )


def _cases() -> Iterator[Case]:
    values = list(V)
    for host_type, cn_type in itertools.product(["DNS", "IP"], repeat=2):
        for rest in itertools.product(values, repeat=7):
            yield Case(host_type, cn_type, *rest)


CASES = list(_cases())
KEYS = [ec.generate_private_key(ec.SECP256R1()) for _ in range(8)]


def _name(cn: str | None, serial: int) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else []
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "bettertls.com"),
        x509.NameAttribute(NameOID.SERIAL_NUMBER, str(serial)),
    ]
    return x509.Name(attributes)


def _certificate(
    subject: x509.Name,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    key: ec.EllipticCurvePrivateKey,
    serial: int,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer is not None else (subject, key)
    builder = x509.CertificateBuilder(
        issuer_name=issuer_name,
        subject_name=subject,
        public_key=key.public_key(),
        serial_number=serial,
        not_valid_before=NOT_BEFORE,
        not_valid_after=NOT_AFTER,
    )
    if issuer is not None:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        builder = builder.add_extension(aki, critical=False)
    for value, critical in extensions:
        builder = builder.add_extension(value, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _ca_extensions(key: ec.EllipticCurvePrivateKey) -> list[tuple[x509.ExtensionType, bool]]:
    return [
        (x509.BasicConstraints(ca=True, path_length=None), True),
        (ku(key_cert_sign=True), True),
        (x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False),
    ]


ROOT_NAME = _name("bettertls_trust_root", 1)
ROOT = _certificate(ROOT_NAME, None, KEYS[0], 1, _ca_extensions(KEYS[0]))
LOCAL_ROOT_NAME = _name("local_root", 2)
LOCAL_ROOT = _certificate(
    LOCAL_ROOT_NAME, (ROOT_NAME, KEYS[0]), KEYS[1], 2, _ca_extensions(KEYS[1])
)


def _chain(case: Case, serial: int) -> tuple[x509.Certificate, x509.Certificate]:
    """The leaf and the constrained issuing CA of ``case``."""
    permitted: list[x509.GeneralName] = []
    excluded: list[x509.GeneralName] = []
    for table, dns, ip, into in (
        (WHITELIST, case.dns_white, case.ip_white, permitted),
        (BLACKLIST, case.dns_black, case.ip_black, excluded),
    ):
        if dns is not V.NONE:
            into.append(table[dns][0])
        if ip is not V.NONE:
            into.append(x509.IPAddress(ipaddress.ip_network(table[ip][1])))
    ica_name = _name("local_ica", serial)
    extensions = _ca_extensions(KEYS[2])
    if permitted or excluded:
        extensions.append((x509.NameConstraints(permitted or None, excluded or None), True))
    ica = _certificate(ica_name, (LOCAL_ROOT_NAME, KEYS[1]), KEYS[2], serial, extensions)
    cn = {V.NONE: None, V.VALID: HOST[case.cn_type], V.INVALID: OTHER[case.cn_type]}[case.cn]
    sans: list[x509.GeneralName] = []
    if case.dns_san is not V.NONE:
        sans.append(x509.DNSName(HOST["DNS"] if case.dns_san is V.VALID else OTHER["DNS"]))
    if case.ip_san is not V.NONE:
        text = HOST["IP"] if case.ip_san is V.VALID else OTHER["IP"]
        sans.append(x509.IPAddress(ipaddress.ip_address(text)))
    leaf_extensions: list[tuple[x509.ExtensionType, bool]] = [
        (ku(digital_signature=True), True),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
    ]
    if sans:
        leaf_extensions.append((x509.SubjectAlternativeName(sans), False))
    leaf = _certificate(
        _name(cn, serial + 1), (ica_name, KEYS[2]), KEYS[3], serial + 1, leaf_extensions
    )
    return leaf, ica


def test_the_matrix_has_both_outcomes() -> None:
    accepted = sum(case.expected() for case in CASES)
    assert len(CASES) == 2 * 2 * 3**7
    assert 0 < accepted < len(CASES)


@pytest.mark.parametrize("start", range(0, len(CASES), 729), ids=lambda s: f"cases{s}")
def test_name_constraint_matrix(start: int) -> None:
    wrong = []
    for index, case in enumerate(CASES[start : start + 729], start):
        leaf, ica = _chain(case, 1000 + 2 * index)
        try:
            validate(
                leaf,
                trust_anchors=[ROOT],
                intermediates=[ica, LOCAL_ROOT],
                at=AT + timedelta(seconds=1),
                purpose=Purpose.TLS_SERVER,
                hostname=case.host,
            )
            accepted, why = True, ""
        except ValidationError as exc:
            accepted, why = False, str(exc)
        if accepted != case.expected():
            wrong.append(f"{case}: expected {case.expected()}, got {accepted} {why}")
    assert wrong == [], "\n".join(wrong[:10])
