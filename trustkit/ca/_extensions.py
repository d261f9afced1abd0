"""The extensions a CA writes: per-profile templates, CRL and OCSP pointers, and the
certificate builder for one checked request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import AuthorityInformationAccessOID

from ..config import CAConfig
from ..policy import IssuanceRequest
from ..profiles import Profile

__all__ = [
    "QC_STATEMENTS_OID",
    "ProfileTemplate",
    "certificate_builder",
    "crl_url",
    "make_template",
]

QC_STATEMENTS_OID = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")

_Ext = x509.Extension[x509.ExtensionType]


def _extension(value: x509.ExtensionType, critical: bool) -> _Ext:
    return x509.Extension(value.oid, critical, value)


@dataclass(frozen=True)
class ProfileTemplate:
    """The extensions all certificates of one profile share, in certificate order."""

    profile: Profile
    config: CAConfig
    """The configuration the URLs were taken from (a new one makes a new template)."""
    head: tuple[_Ext, ...]
    """keyUsage and extendedKeyUsage."""
    authority_key_identifier: _Ext
    policies: tuple[_Ext, ...]
    tail: tuple[_Ext, ...]
    """authorityInfoAccess, qcStatements, ocspNoCheck."""
    shard_extensions: Callable[[Profile, int], tuple[_Ext, ...]]
    _shards: dict[int, tuple[_Ext, ...]] = field(default_factory=dict)

    def for_shard(self, shard: int) -> tuple[_Ext, ...]:
        """cRLDistributionPoints and freshestCRL of ``shard``, made once."""
        cached = self._shards.get(shard)
        if cached is None:
            cached = self._shards[shard] = self.shard_extensions(self.profile, shard)
        return cached


def make_template(profile: Profile, config: CAConfig, issuer: x509.Certificate) -> ProfileTemplate:
    """The extensions every certificate of ``profile`` from ``issuer`` shares."""
    head: list[_Ext] = [_extension(profile.key_usage_extension(), True)]
    if profile.extended_key_usage:
        head.append(
            _extension(
                x509.ExtendedKeyUsage(list(profile.extended_key_usage)),
                profile.extended_key_usage_critical,
            )
        )
    policies: list[_Ext] = []
    if profile.certificate_policies:
        policies.append(
            _extension(
                x509.CertificatePolicies(
                    [
                        x509.PolicyInformation(x509.ObjectIdentifier(oid), None)
                        for oid in profile.certificate_policies
                    ]
                ),
                False,
            )
        )
    tail: list[_Ext] = []
    aia = _authority_information_access(config, profile)
    if aia is not None:
        tail.append(_extension(aia, False))
    if profile.qc_statements is not None:
        from .._asn1 import encode_qc_statements

        qc = profile.qc_statements
        der = encode_qc_statements(
            compliance=qc.compliance,
            sscd=qc.sscd,
            qc_type=qc.qc_type.value if qc.qc_type else None,
            pds=tuple((url, language) for language, url in qc.pds),
            semantics_id=qc.semantics_id,
        )
        tail.append(_extension(x509.UnrecognizedExtension(QC_STATEMENTS_OID, der), False))
    if profile.ocsp_no_check:
        tail.append(_extension(x509.OCSPNoCheck(), False))

    def shard_extensions(profile: Profile, shard: int) -> tuple[_Ext, ...]:
        return _shard_extensions(config, profile, shard)

    return ProfileTemplate(
        profile=profile,
        config=config,
        head=tuple(head),
        authority_key_identifier=_extension(_authority_key_identifier(issuer), False),
        policies=tuple(policies),
        tail=tuple(tail),
        shard_extensions=shard_extensions,
    )


def certificate_builder(
    template: ProfileTemplate,
    request: IssuanceRequest,
    shard: int,
    *,
    path_length: int | None,
    name_constraints: x509.NameConstraints | None,
) -> x509.CertificateBuilder:
    """The certificate builder for ``request``, waiting for its serial number."""
    profile = request.profile
    public_key = request.public_key
    extensions: list[_Ext] = []
    if profile.is_ca:
        length = path_length if path_length is not None else profile.path_length
        extensions.append(_extension(x509.BasicConstraints(ca=True, path_length=length), True))
    extensions.extend(template.head)
    extensions.append(_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False))
    extensions.append(template.authority_key_identifier)
    if request.sans:
        # RFC 5280 4.2.1.6: critical when the subject is empty.
        extensions.append(
            _extension(x509.SubjectAlternativeName(list(request.sans)), not list(request.subject))
        )
    extensions.extend(template.policies)
    if name_constraints is not None:
        # RFC 5280 4.2.1.10: conforming CAs MUST mark name constraints critical.
        extensions.append(_extension(name_constraints, True))
    extensions.extend(template.tail)
    extensions.extend(template.for_shard(shard))
    # The extensions go in at once: each is of a distinct type by construction,
    # and add_extension's duplicate scan per call would cost more than signing's
    # share of the Python work.
    return (
        x509.CertificateBuilder(extensions=extensions)
        .subject_name(request.subject)
        .issuer_name(request.issuer.subject)
        .public_key(public_key)
        .not_valid_before(request.not_before)
        .not_valid_after(request.not_after)
    )


def crl_url(config: CAConfig, shard: int = 0) -> str | None:
    """The CRL distribution point URL for certificates of ``shard``."""
    url = config.effective_crl_url
    if url is None or config.crl_shards <= 0:
        return url
    stem, dot, ext = url.rpartition(".")
    return f"{stem}-{shard}.{ext}" if dot else f"{url}-{shard}"


def _shard_extensions(config: CAConfig, profile: Profile, shard: int) -> tuple[_Ext, ...]:
    """Where the CRL (and delta CRL) of ``shard`` is published, if ``profile`` says so."""
    crl_dp = _crl_distribution_points(config, profile, shard)
    if crl_dp is None:
        return ()
    extensions = [_extension(crl_dp, False)]
    url = crl_url(config, shard)
    if url is not None and config.crl_delta:
        # RFC 5280 4.2.1.15: where the delta CRL is; non-critical.
        stem, dot, ext = url.rpartition(".")
        delta = f"{stem}-delta.{ext}" if dot else f"{url}-delta"
        point = x509.DistributionPoint([x509.UniformResourceIdentifier(delta)], None, None, None)
        extensions.append(_extension(x509.FreshestCRL([point]), False))
    return tuple(extensions)


def _authority_key_identifier(issuer: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    try:
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.public_key()  # type: ignore[arg-type]
        )


def _crl_distribution_points(
    config: CAConfig, profile: Profile, shard: int
) -> x509.CRLDistributionPoints | None:
    url = crl_url(config, shard)
    if not profile.revocation_info or url is None:
        return None
    point = x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        reasons=None,
        crl_issuer=None,
    )
    return x509.CRLDistributionPoints([point])


def _authority_information_access(
    config: CAConfig, profile: Profile
) -> x509.AuthorityInformationAccess | None:
    descriptions = []
    ocsp = config.effective_ocsp_url
    if profile.revocation_info and ocsp is not None:
        descriptions.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(ocsp)
            )
        )
    issuers = config.effective_ca_issuers_url
    if issuers is not None:
        descriptions.append(
            x509.AccessDescription(
                AuthorityInformationAccessOID.CA_ISSUERS,
                x509.UniformResourceIdentifier(issuers),
            )
        )
    return x509.AuthorityInformationAccess(descriptions) if descriptions else None
