"""Profile conformance of certificates, CRLs and OCSP responses, by pkilint's validators.

pkilint (DigiCert's linter, the ``lint`` extra) holds the requirements of
RFC 5280, RFC 6960, the CA/Browser Forum TLS Baseline Requirements and ETSI
EN 319 412 as validators. This module runs them in-process and picks the
linter a serious CA would run for each object, as pkilint's own command-line
tools do for one object at a time:

- a certificate with ETSI certificate policies (arc ``0.4.0``) or
  QCStatements (RFC 3739), that is not a CA: ``etsi``, as the certificate
  type pkilint detects (EN 319 412-2/-3/-5; it holds the PKIX and, for
  website certificates, the TLS requirements too);
- an end-entity certificate for ``serverAuth`` (or with a CA/Browser Forum
  policy): ``cabf-serverauth``, as the type pkilint detects (BR 7.1);
- any other certificate, a CA's included: ``pkix`` (RFC 5280);
- a CRL: ``crl`` under the PKIX profile, as an ARL when its
  issuingDistributionPoint says onlyContainsCACerts (RFC 5280 5.2.5);
- an OCSP response: ``ocsp`` (RFC 6960).

Findings are filtered as the tools filter them (a PKIX finding that a
CA/Browser Forum or ETSI requirement supersedes is dropped), so a file gives
the findings ``lint_etsi_cert``, ``lint_cabf_serverauth_cert``,
``lint_pkix_cert``, ``lint_crl`` or ``lint_ocsp_response`` give on it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID

from .encoding import read_blocks
from .errors import ConfigError, DecodeError

__all__ = [
    "Finding",
    "LintReport",
    "Severity",
    "lint_der",
    "lint_file_data",
]

_ETSI_ARC = "0.4.0."
"""itu-t(0) identified-organization(4) etsi(0): ETSI's policy OIDs (EN 319 411-1/-2)."""

_CABF_ARC = "2.23.140.1."
"""The CA/Browser Forum's certificate-policies arc (BR 7.1.6.1)."""

_QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")
"""id-pe-qcStatements (RFC 3739 3.2.6)."""

_CERTIFICATE_LABELS = ("CERTIFICATE", "TRUSTED CERTIFICATE")
_CRL_LABELS = ("X509 CRL",)
_OCSP_LABELS = ("OCSP RESPONSE",)


class Severity(enum.IntEnum):
    """pkilint's finding severities, most severe first (the order of its own enum)."""

    FATAL = 0
    ERROR = 1
    WARNING = 2
    NOTICE = 3
    INFO = 4
    DEBUG = 5

    def at_least(self, threshold: Severity) -> bool:
        """Whether this severity is ``threshold`` or worse."""
        return self <= threshold


@dataclass(frozen=True)
class Finding:
    """One finding of a pkilint validator."""

    severity: Severity
    code: str
    """pkilint's code, e.g. ``pkix.certificate_skid_missing``; it names the requirement."""
    message: str | None
    node: str
    """Where in the object: the ASN.1 path, e.g. ``certificate.tbsCertificate.extensions``."""
    validator: str


@dataclass(frozen=True)
class LintReport:
    """What one linter found in one object."""

    source: str
    """The file (and, for a file of several objects, ``#N``, counting from 1)."""
    kind: str
    """``certificate``, ``crl`` or ``ocsp-response``."""
    linter: str
    """``pkix``, ``cabf-serverauth``, ``etsi``, ``crl`` or ``ocsp``."""
    profile: str | None
    """The pkilint certificate or CRL type the linter ran as, e.g. ``DV-FINAL-CERTIFICATE``."""
    findings: tuple[Finding, ...]

    def at_least(self, threshold: Severity) -> tuple[Finding, ...]:
        """The findings of ``threshold`` or worse."""
        return tuple(f for f in self.findings if f.severity.at_least(threshold))


def lint_file_data(data: bytes, *, source: str) -> list[LintReport]:
    """Lint every certificate, CRL and OCSP response in ``data`` (PEM, several; or one DER).

    :raises DecodeError: ``data`` holds none of them, or one that cannot be parsed.
    :raises ConfigError: pkilint is not installed.
    """
    blocks = read_blocks(data, what=source)
    many = len(blocks) > 1
    reports = []
    for index, block in enumerate(blocks, 1):
        name = f"{source}#{index}" if many else source
        if block.label is not None and block.label not in (
            *_CERTIFICATE_LABELS,
            *_CRL_LABELS,
            *_OCSP_LABELS,
        ):
            raise DecodeError(
                f"{name}: a {block.label} cannot be linted; certificates, CRLs and OCSP "
                "responses can"
            )
        reports.append(lint_der(block.der, source=name, label=block.label))
    return reports


def lint_der(der: bytes, *, source: str, label: str | None = None) -> LintReport:
    """Lint one DER object: a certificate, CRL or OCSP response (``label`` says which, if known).

    :raises DecodeError: it is none of these, or cannot be parsed.
    :raises ConfigError: pkilint is not installed.
    """
    if label in _CERTIFICATE_LABELS or label is None:
        try:
            certificate = x509.load_der_x509_certificate(der)
        except ValueError:
            if label is not None:
                raise DecodeError(f"{source}: not a DER certificate") from None
        else:
            return _lint_certificate(der, certificate, source)
    if label in _CRL_LABELS or label is None:
        try:
            crl = x509.load_der_x509_crl(der)
        except ValueError:
            if label is not None:
                raise DecodeError(f"{source}: not a DER CRL") from None
        else:
            return _lint_crl(der, crl, source)
    try:
        ocsp.load_der_ocsp_response(der)
    except ValueError:
        raise DecodeError(
            f"{source}: not a certificate, CRL or OCSP response (PEM or DER)"
        ) from None
    return _lint_ocsp(der, source)


def _pkilint() -> Any:
    try:
        import pkilint  # noqa: F401
    except ModuleNotFoundError as exc:
        raise ConfigError(f"trustkit lint needs {exc.name} (pip install 'trustkit[lint]')") from exc
    from pkilint import loader

    return loader


def _certificate_linter(certificate: x509.Certificate) -> str:
    """``etsi``, ``cabf-serverauth`` or ``pkix``: see the module docstring."""
    try:
        extensions = {ext.oid: ext.value for ext in certificate.extensions}
    except ValueError:  # an extension cryptography cannot read: RFC 5280's linter says why
        return "pkix"
    constraints = extensions.get(ExtensionOID.BASIC_CONSTRAINTS)
    is_ca = isinstance(constraints, x509.BasicConstraints) and constraints.ca
    if is_ca:
        return "pkix"
    policies = extensions.get(ExtensionOID.CERTIFICATE_POLICIES)
    oids = (
        [p.policy_identifier.dotted_string for p in policies]
        if isinstance(policies, x509.CertificatePolicies)
        else []
    )
    if _QC_STATEMENTS in extensions or any(o.startswith(_ETSI_ARC) for o in oids):
        return "etsi"
    usages = extensions.get(ExtensionOID.EXTENDED_KEY_USAGE)
    server = isinstance(usages, x509.ExtendedKeyUsage) and (
        ExtendedKeyUsageOID.SERVER_AUTH in list(usages)
    )
    if server or any(o.startswith(_CABF_ARC) for o in oids):
        return "cabf-serverauth"
    return "pkix"


def _load(loader_cls: Any, der: bytes, source: str) -> Any:
    try:
        return loader_cls().load_der_document(der, source)
    except Exception as exc:
        # pkilint's decoder (pyasn1) raises its own types; the object already parsed
        # with cryptography, so this is pkilint's stricter reading of the DER. Its own
        # words name Python types; they stay on the chained exception (--debug).
        raise DecodeError(f"{source}: pkilint's stricter DER decoder refuses it") from exc


def _lint_certificate(der: bytes, certificate: x509.Certificate, source: str) -> LintReport:
    loader = _pkilint()
    from pkilint import finding_filter
    from pkilint.pkix import certificate as pkix_certificate

    document = _load(loader.RFC5280CertificateDocumentLoader, der, source)
    linter = _certificate_linter(certificate)
    profile: str | None = None
    filters: list[Any] = []
    if linter == "etsi":
        from pkilint import etsi

        etsi_type = etsi.determine_certificate_type(document)
        profile = etsi_type.to_option_str
        validator = pkix_certificate.create_pkix_certificate_validator_container(
            etsi.create_decoding_validators(etsi_type), etsi.create_validators(etsi_type)
        )
        filters = etsi.create_etsi_finding_filters(etsi_type)
    elif linter == "cabf-serverauth":
        from pkilint.cabf import serverauth

        cabf_type = serverauth.determine_certificate_type(document)
        profile = cabf_type.to_option_str
        # The BR's effective dates are judged at the certificate's own notBefore,
        # as lint_cabf_serverauth_cert does by default ("DOCUMENT").
        validator = pkix_certificate.create_pkix_certificate_validator_container(
            serverauth.create_decoding_validators(), serverauth.create_validators(cabf_type)
        )
        filters = serverauth.create_serverauth_finding_filters(cabf_type)
    else:
        from pkilint.pkix import extension, name

        validator = pkix_certificate.create_pkix_certificate_validator_container(
            pkix_certificate.create_decoding_validators(
                name.ATTRIBUTE_TYPE_MAPPINGS, extension.EXTENSION_MAPPINGS
            ),
            [
                pkix_certificate.create_issuer_validator_container([]),
                pkix_certificate.create_validity_validator_container(),
                pkix_certificate.create_subject_validator_container([]),
                pkix_certificate.create_extensions_validator_container([]),
                pkix_certificate.create_spki_validator_container([]),
            ],
        )
    results = validator.validate(document.root)
    if filters:
        results, _ = finding_filter.filter_results(filters, results)
    return LintReport(source, "certificate", linter, profile, _findings(results))


def _lint_crl(der: bytes, crl: x509.CertificateRevocationList, source: str) -> LintReport:
    loader = _pkilint()
    from pkilint import pkix
    from pkilint.pkix import crl as pkix_crl
    from pkilint.pkix import extension, name

    try:
        point = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
        authority = point.only_contains_ca_certs
    except x509.ExtensionNotFound:
        authority = False
    crl_type = (
        pkix_crl.CertificateRevocationListType.ARL
        if authority
        else pkix_crl.CertificateRevocationListType.CRL
    )
    validator = pkix_crl.create_pkix_crl_validator_container(
        [
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [
            pkix_crl.create_issuer_validator_container([]),
            pkix_crl.create_validity_validator_container([]),
            pkix_crl.create_extensions_validator_container([]),
        ],
    )
    document = _load(loader.RFC5280CertificateListDocumentLoader, der, source)
    results = validator.validate(document.root)
    return LintReport(source, "crl", "crl", crl_type.name, _findings(results))


def _lint_ocsp(der: bytes, source: str) -> LintReport:
    loader = _pkilint()
    from pkilint import pkix
    from pkilint.pkix import extension, name
    from pkilint.pkix import ocsp as pkix_ocsp

    validator = pkix_ocsp.create_pkix_ocsp_response_validator_container(
        [
            pkix_ocsp.create_response_decoder(),
            pkix.create_attribute_decoder(name.ATTRIBUTE_TYPE_MAPPINGS),
            pkix.create_extension_decoder(extension.EXTENSION_MAPPINGS),
        ],
        [],
    )
    document = _load(loader.RFC6960OCSPResponseDocumentLoader, der, source)
    results = validator.validate(document.root)
    return LintReport(source, "ocsp-response", "ocsp", None, _findings(results))


def _findings(results: Any) -> tuple[Finding, ...]:
    return tuple(
        Finding(
            severity=Severity[description.finding.severity.name],
            code=description.finding.code,
            message=description.message,
            node=result.node.path,
            validator=str(result.validator),
        )
        for result in results
        for description in result.finding_descriptions
    )
