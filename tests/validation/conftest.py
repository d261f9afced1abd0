"""Generated PKIs for the validation tests, built with cryptography at fixed times."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

NOT_BEFORE = datetime(2026, 1, 1, tzinfo=UTC)
NOT_AFTER = datetime(2028, 1, 1, tzinfo=UTC)
AT = datetime(2026, 6, 1, tzinfo=UTC)
"""The validation time of every generated-chain test."""

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_KEYS: list[ec.EllipticCurvePrivateKey] = []


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Node:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: PrivateKey
    serials: list[int] = field(default_factory=list)

    @property
    def name(self) -> x509.Name:
        return self.cert.subject


_serial = [1000]


def next_serial() -> int:
    _serial[0] += 1
    return _serial[0]


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "EE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Trustkit Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


KU_CA = x509.KeyUsage(
    digital_signature=False,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)


def ku(**bits: bool) -> x509.KeyUsage:
    fields = dict.fromkeys(
        (
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    fields.update(bits)
    return x509.KeyUsage(**fields)


def issue(
    subject: x509.Name | str,
    issuer: Node | None,
    *,
    key: PrivateKey | None = None,
    ca: bool = False,
    path_length: int | None = None,
    key_usage: x509.KeyUsage | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = None,
    eku_critical: bool = False,
    san: Sequence[x509.GeneralName] = (),
    name_constraints: x509.NameConstraints | None = None,
    not_before: datetime = NOT_BEFORE,
    not_after: datetime = NOT_AFTER,
    crl_urls: Sequence[str] = (),
    ocsp_url: str | None = None,
    ca_issuers_url: str | None = None,
    extra: Sequence[tuple[x509.ExtensionType, bool]] = (),
    hash_algorithm: hashes.SHA256 | hashes.SHA384 | None = None,
    with_ski: bool = True,
) -> Node:
    """One certificate; ``issuer=None`` makes it self-signed."""
    if isinstance(subject, str):
        subject = name(subject)
    key = key if key is not None else new_key()
    signer_key = issuer.key if issuer is not None else key
    issuer_name = issuer.cert.subject if issuer is not None else subject
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(next_serial())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
    )
    if ca or path_length is not None:
        builder = builder.add_extension(x509.BasicConstraints(True, path_length), critical=True)
    else:
        builder = builder.add_extension(x509.BasicConstraints(False, None), critical=True)
    if key_usage is None and ca:
        key_usage = KU_CA
    if key_usage is not None:
        builder = builder.add_extension(key_usage, critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=eku_critical)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(san)), critical=False)
    if name_constraints is not None:
        builder = builder.add_extension(name_constraints, critical=True)
    if with_ski:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if issuer is not None and with_ski:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    if crl_urls:
        builder = builder.add_extension(
            x509.CRLDistributionPoints(
                [
                    x509.DistributionPoint(
                        [x509.UniformResourceIdentifier(u) for u in crl_urls], None, None, None
                    )
                ]
            ),
            critical=False,
        )
    access = []
    if ocsp_url:
        access.append(
            x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.OCSP,
                x509.UniformResourceIdentifier(ocsp_url),
            )
        )
    if ca_issuers_url:
        access.append(
            x509.AccessDescription(
                x509.oid.AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(ca_issuers_url),
            )
        )
    if access:
        builder = builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)
    for ext, critical in extra:
        builder = builder.add_extension(ext, critical=critical)
    cert = builder.sign(signer_key, hash_algorithm or hashes.SHA256())
    return Node(cert, key)


def leaf(
    issuer: Node,
    cn: str | None = None,
    *,
    dns: Sequence[str] = ("leaf.example.gov",),
    ips: Sequence[str] = (),
    key_usage: x509.KeyUsage | None = None,
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.SERVER_AUTH,),
    **kwargs: object,
) -> Node:
    """A TLS-server-like end entity unless told otherwise; its commonName is a copy of
    its first SAN (CA/Browser Forum BR 7.1.4.3) unless given."""
    san: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    san += [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    if cn is None:
        cn = str(san[0].value) if san else "leaf.example.gov"
    return issue(
        cn,
        issuer,
        key_usage=key_usage if key_usage is not None else ku(digital_signature=True),
        eku=eku,
        san=san,
        **kwargs,  # type: ignore[arg-type]
    )


def resign_sha1(cert: x509.Certificate, issuer_key: rsa.RSAPrivateKey) -> x509.Certificate:
    """``cert`` (sha256WithRSAEncryption, 2048-bit issuer) re-signed as sha1WithRSAEncryption.

    cryptography refuses to sign with SHA-1, so the algorithm OID is swapped in the DER
    (same length) and the TBS is signed again.
    """
    sha256_rsa = bytes.fromhex("2a864886f70d01010b")
    sha1_rsa = bytes.fromhex("2a864886f70d010105")
    der = cert.public_bytes(Encoding.DER)
    assert der.count(sha256_rsa) == 2
    swapped = x509.load_der_x509_certificate(der.replace(sha256_rsa, sha1_rsa))
    signature = issuer_key.sign(swapped.tbs_certificate_bytes, padding.PKCS1v15(), hashes.SHA1())
    assert len(signature) == len(cert.signature)
    new_der = swapped.public_bytes(Encoding.DER)
    return x509.load_der_x509_certificate(new_der[: -len(signature)] + signature)


def make_crl(
    issuer: Node,
    revoked: Sequence[tuple[int, x509.ReasonFlags | None]] = (),
    *,
    this_update: datetime = NOT_BEFORE,
    next_update: datetime = NOT_BEFORE + timedelta(days=365),
    number: int = 1,
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer.cert.subject)
        .last_update(this_update)
        .next_update(next_update)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    for serial, reason in revoked:
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(NOT_BEFORE + timedelta(days=30))
        )
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        builder = builder.add_revoked_certificate(entry.build())
    return builder.sign(issuer.key, hashes.SHA256())


@dataclass
class Pki:
    """A root, an intermediate CA and a factory for leaves under it."""

    root: Node
    inter: Node
    make_leaf: Callable[..., Node]


@pytest.fixture(scope="session")
def pki() -> Pki:
    root = issue("Test Root CA", None, ca=True)
    inter = issue("Test Issuing CA", root, ca=True, path_length=0)
    return Pki(root, inter, lambda **kw: leaf(inter, **kw))


@pytest.fixture(scope="session")
def rsa_pki() -> Pki:
    root_key = rsa.generate_private_key(65537, 2048)
    inter_key = rsa.generate_private_key(65537, 2048)
    root = issue("RSA Root CA", None, ca=True, key=root_key)
    inter = issue("RSA Issuing CA", root, ca=True, key=inter_key)
    return Pki(root, inter, lambda **kw: leaf(inter, **kw))
