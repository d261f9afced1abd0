"""Describe any PKI object in a file: certificates, CSRs, CRLs, keys, OCSP, CMS, RFC 3161.

:func:`inspect_bytes` reads PEM (any number of blocks) or DER and returns one
:class:`Described` per object: its kind and a JSON-ready dictionary of fields
named as the RFCs name them. Unknown extensions and unparseable blocks are
reported as such rather than dropped, so the output is honest about what
trustkit did not understand. Object identifiers a reader must recognise (ETSI
QC statements and QcType values, certificate policies, CMS content types,
extended key usages) are named next to the number in the text rendering,
``QcSSCD (0.4.0.1862.1.4)``; the JSON-ready fields keep the dotted number.
A PKCS#12 file is read with the passphrase the caller supplies when asked.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_der_private_key,
    load_der_public_key,
)
from cryptography.x509 import ocsp

from ._asn1 import (
    ID_CT_TST_INFO,
    decode_qc_statements,
    parse_signed_data,
    parse_timestamp_request,
    parse_timestamp_response,
    parse_tst_info,
)
from .bundles import load_pkcs12, looks_like_pkcs12
from .encoding import format_serial, read_blocks
from .errors import DecodeError, PassphraseError
from .keys import describe_key
from .names import format_general_name, format_name
from .profiles import ANY_POLICY, ETSI_POLICY, SEMANTICS_ID_LEGAL, SEMANTICS_ID_NATURAL, QcType

__all__ = ["Described", "describe_certificate", "inspect_bytes", "render_text"]

_QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")

_PRIVATE_KEY_LABELS = {"PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY"}

OID_NAMES: dict[str, str] = {
    # ETSI EN 319 412-5 4.2 QC statements, and RFC 3739 3.2.6's.
    "0.4.0.1862.1.1": "QcCompliance",
    "0.4.0.1862.1.2": "QcLimitValue",
    "0.4.0.1862.1.3": "QcRetentionPeriod",
    "0.4.0.1862.1.4": "QcSSCD",
    "0.4.0.1862.1.5": "QcPDS",
    "0.4.0.1862.1.6": "QcType",
    "0.4.0.1862.1.7": "QcCClegislation",
    "1.3.6.1.5.5.7.11.2": "id-qcs-pkixQCSyntax-v2",
    # ETSI EN 319 412-5 4.2.3 QcType values.
    QcType.ESIGN.value: "qct-esign",
    QcType.ESEAL.value: "qct-eseal",
    QcType.WEB.value: "qct-web",
    # ETSI EN 319 412-1 5.1 semantics identifiers.
    SEMANTICS_ID_NATURAL: "id-etsi-qcs-semanticsId-Natural",
    SEMANTICS_ID_LEGAL: "id-etsi-qcs-semanticsId-Legal",
    # Certificate policies: ETSI EN 319 411-1/-2, CA/Browser Forum BR 7.1.6.1, RFC 5280.
    ETSI_POLICY.NCP: "NCP",
    ETSI_POLICY.NCP_PLUS: "NCP+",
    ETSI_POLICY.QCP_N: "QCP-n",
    ETSI_POLICY.QCP_L: "QCP-l",
    ETSI_POLICY.QCP_N_QSCD: "QCP-n-qscd",
    ETSI_POLICY.QCP_L_QSCD: "QCP-l-qscd",
    "0.4.0.194112.1.4": "QCP-w",
    "0.4.0.2042.1.4": "EVCP",
    "0.4.0.2042.1.6": "DVCP",
    "0.4.0.2042.1.7": "OVCP",
    "0.4.0.2042.1.8": "IVCP",
    "2.23.140.1.1": "CA/B EV",
    "2.23.140.1.2.1": "CA/B domain-validated",
    "2.23.140.1.2.2": "CA/B organization-validated",
    "2.23.140.1.2.3": "CA/B individual-validated",
    ANY_POLICY: "anyPolicy",
    # ETSI EN 319 422 5.2.1: the best-practices time-stamp policy.
    "0.4.0.2023.1.1": "ETSI best-practices TSA policy",
    # CMS content types (RFC 5652 4-5, RFC 3161 2.4.2).
    "1.2.840.113549.1.7.1": "id-data",
    "1.2.840.113549.1.7.2": "id-signedData",
    "1.2.840.113549.1.7.3": "id-envelopedData",
    "1.2.840.113549.1.9.16.1.4": "id-ct-TSTInfo",
    # Extended key usages (RFC 5280 4.2.1.12, RFC 3161 2.3, ETSI, Microsoft, Adobe).
    "1.3.6.1.5.5.7.3.1": "serverAuth",
    "1.3.6.1.5.5.7.3.2": "clientAuth",
    "1.3.6.1.5.5.7.3.3": "codeSigning",
    "1.3.6.1.5.5.7.3.4": "emailProtection",
    "1.3.6.1.5.5.7.3.8": "timeStamping",
    "1.3.6.1.5.5.7.3.9": "OCSPSigning",
    "2.5.29.37.0": "anyExtendedKeyUsage",
    "1.3.6.1.4.1.311.20.2.2": "smartcardLogon",
    "1.3.6.1.4.1.311.10.3.12": "documentSigning (Microsoft)",
    "1.2.840.113583.1.1.5": "PDF authenticDocumentsTrust (Adobe)",
    "0.4.0.2231.3.0": "ETSI TSL signing",
}
"""Names of the object identifiers a reader of eIDAS certificates must recognise."""


def oid_label(dotted: str) -> str:
    """``name (dotted)`` for a well-known object identifier, else the number alone."""
    name = OID_NAMES.get(dotted)
    return f"{name} ({dotted})" if name else dotted


@dataclass(frozen=True)
class Described:
    """One object found in the input."""

    kind: str
    """``certificate``, ``csr``, ``crl``, ``private-key``, ``public-key``,
    ``ocsp-request``, ``ocsp-response``, ``cms``, ``timestamp-token``,
    ``timestamp-reply``, ``timestamp-query`` or ``unknown``."""
    fields: dict[str, Any]
    """What the object says, JSON-ready."""


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _safe_name(name: x509.Name) -> str:
    try:
        return format_name(name)
    except Exception:  # fall back to cryptography's own rendering
        return name.rfc4514_string()


def _safe_general_name(name: x509.GeneralName) -> str:
    try:
        return format_general_name(name)
    except Exception:  # names trustkit does not format
        return f"{type(name).__name__}:{name.value!r}"


def _extension_value(ext: x509.Extension[x509.ExtensionType]) -> Any:
    value = ext.value
    if isinstance(value, x509.BasicConstraints):
        return {"ca": value.ca, "path_length": value.path_length}
    if isinstance(value, x509.KeyUsage):
        bits = [
            "digital_signature",
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_agreement",
            "key_cert_sign",
            "crl_sign",
        ]
        names = [bit for bit in bits if getattr(value, bit)]
        if value.key_agreement:
            names += [b for b in ("encipher_only", "decipher_only") if getattr(value, b)]
        return names
    if isinstance(value, x509.ExtendedKeyUsage):
        return [oid.dotted_string for oid in value]
    if isinstance(value, x509.SubjectAlternativeName | x509.IssuerAlternativeName):
        return [_safe_general_name(n) for n in value]
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest.hex()
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return None if value.key_identifier is None else value.key_identifier.hex()
    if isinstance(value, x509.CertificatePolicies):
        return [p.policy_identifier.dotted_string for p in value]
    if isinstance(value, x509.CRLDistributionPoints):
        return [_safe_general_name(n) for point in value for n in (point.full_name or [])]
    if isinstance(value, x509.AuthorityInformationAccess):
        return [f"{d.access_method._name}: {_safe_general_name(d.access_location)}" for d in value]
    if isinstance(value, x509.NameConstraints):
        return {
            "permitted": [_safe_general_name(n) for n in value.permitted_subtrees or []],
            "excluded": [_safe_general_name(n) for n in value.excluded_subtrees or []],
        }
    if isinstance(value, x509.CRLNumber | x509.DeltaCRLIndicator):
        return value.crl_number
    if isinstance(value, x509.OCSPNoCheck):
        return True
    if isinstance(value, x509.UnrecognizedExtension):
        if ext.oid == _QC_STATEMENTS:
            try:
                return [
                    {"id": s.statement_id, "values": list(s.values)}
                    for s in decode_qc_statements(value.value)
                ]
            except DecodeError:
                pass
        return {"unrecognised": base64.b64encode(value.value).decode()}
    return str(value)


def _extensions(extensions: x509.Extensions) -> list[dict[str, Any]]:
    return [
        {
            "oid": ext.oid.dotted_string,
            "name": "qcStatements" if ext.oid == _QC_STATEMENTS else ext.oid._name,
            "critical": ext.critical,
            "value": _extension_value(ext),
        }
        for ext in extensions
    ]


def _public_key_fields(key: Any) -> dict[str, Any]:
    spki = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(spki)
    return {"algorithm": describe_key(key), "spki_sha256": digest.finalize().hex()}


def describe_certificate(cert: x509.Certificate) -> dict[str, Any]:
    """The fields of a certificate, JSON-ready."""
    digest = cert.fingerprint(hashes.SHA256()).hex()
    oid = cert.signature_algorithm_oid
    signature = oid.dotted_string if oid._name == "Unknown OID" else oid._name
    fields: dict[str, Any] = {
        "serial": format_serial(cert.serial_number),
        "subject": _safe_name(cert.subject),
        "issuer": _safe_name(cert.issuer),
        "not_before": _time(cert.not_valid_before_utc),
        "not_after": _time(cert.not_valid_after_utc),
        "signature_algorithm": signature,
        "sha256_fingerprint": digest,
    }
    try:
        fields["public_key"] = _public_key_fields(cert.public_key())
    except Exception:  # an unsupported key type is still a certificate
        fields["public_key"] = {"algorithm": "unsupported"}
    try:
        fields["extensions"] = _extensions(cert.extensions)
    except Exception as exc:  # malformed extensions are reported
        fields["extensions"] = {"error": str(exc)}
    return fields


def _describe_csr(der: bytes) -> Described:
    csr = x509.load_der_x509_csr(der)
    fields: dict[str, Any] = {"subject": _safe_name(csr.subject)}
    try:
        fields["public_key"] = _public_key_fields(csr.public_key())
    except Exception:
        fields["public_key"] = {"algorithm": "unsupported"}
    try:
        fields["signature_valid"] = csr.is_signature_valid
    except Exception:
        fields["signature_valid"] = False
    try:
        fields["extensions"] = _extensions(csr.extensions)
    except Exception as exc:
        fields["extensions"] = {"error": str(exc)}
    return Described("csr", fields)


def _describe_crl(der: bytes) -> Described:
    crl = x509.load_der_x509_crl(der)
    revoked = []
    for entry in crl:
        item: dict[str, Any] = {
            "serial": format_serial(entry.serial_number),
            "revocation_date": _time(entry.revocation_date_utc),
        }
        try:
            reason = entry.extensions.get_extension_for_class(x509.CRLReason).value.reason
            item["reason"] = reason.name
        except x509.ExtensionNotFound:
            pass
        revoked.append(item)
    return Described(
        "crl",
        {
            "issuer": _safe_name(crl.issuer),
            "this_update": _time(crl.last_update_utc),
            "next_update": _time(crl.next_update_utc),
            "extensions": _extensions(crl.extensions),
            "revoked": revoked,
        },
    )


def _describe_private_key(der: bytes) -> Described:
    key = load_der_private_key(der, None)
    return Described("private-key", {"encrypted": False, **_public_key_fields(key.public_key())})


def _describe_public_key(der: bytes) -> Described:
    return Described("public-key", _public_key_fields(load_der_public_key(der)))


def _describe_ocsp_request(der: bytes) -> Described:
    request = ocsp.load_der_ocsp_request(der)
    return Described(
        "ocsp-request",
        {
            "serial": format_serial(request.serial_number),
            "hash_algorithm": request.hash_algorithm.name,
            "issuer_key_hash": request.issuer_key_hash.hex(),
            "extensions": _extensions(request.extensions),
        },
    )


def _describe_ocsp_response(der: bytes) -> Described:
    response = ocsp.load_der_ocsp_response(der)
    fields: dict[str, Any] = {"response_status": response.response_status.name}
    if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        fields["produced_at"] = _time(response.produced_at_utc)
        fields["responses"] = [
            {
                "serial": format_serial(single.serial_number),
                "status": single.certificate_status.name,
                "this_update": _time(single.this_update_utc),
                "next_update": _time(single.next_update_utc),
                "revocation_time": _time(single.revocation_time_utc),
            }
            for single in response.responses
        ]
    return Described("ocsp-response", fields)


def _describe_tst_info(content: bytes) -> dict[str, Any]:
    info = parse_tst_info(content)
    return {
        "gen_time": _time(info.gen_time),
        "policy": info.policy,
        "serial": format_serial(info.serial_number),
        "hash_algorithm": info.hash_algorithm,
        "hashed_message": info.hashed_message.hex(),
        "accuracy_seconds": None if info.accuracy is None else info.accuracy.total_seconds(),
        "nonce": None if info.nonce is None else f"{info.nonce:x}",
    }


def _describe_cms(der: bytes) -> Described:
    parsed = parse_signed_data(der)
    certificates = [x509.load_der_x509_certificate(c) for c in parsed.certificates]
    fields: dict[str, Any] = {
        "content_type": parsed.content_type,
        "content": "detached"
        if parsed.content is None
        else f"attached, {len(parsed.content)} bytes",
        "certificates": [_safe_name(c.subject) for c in certificates],
        "signers": [
            {
                "issuer_serial": None
                if signer.sid_serial is None
                else format_serial(signer.sid_serial),
                "subject_key_id": None if signer.sid_key_id is None else signer.sid_key_id.hex(),
                "digest_algorithm": signer.digest_algorithm,
                "signature_algorithm": signer.signature_algorithm,
                "signing_time": _time(signer.signing_time),
                "signing_certificate_v2": signer.ess_version == 2,
                "timestamps": len(signer.timestamp_tokens),
            }
            for signer in parsed.signers
        ],
    }
    if parsed.content_type == ID_CT_TST_INFO and parsed.content is not None:
        fields["timestamp"] = _describe_tst_info(parsed.content)
        return Described("timestamp-token", fields)
    return Described("cms", fields)


def _describe_timestamp_response(der: bytes) -> Described:
    response = parse_timestamp_response(der)
    fields: dict[str, Any] = {
        "status": response.status,
        "status_text": list(response.status_text),
        "failure_info": list(response.failure_info),
    }
    if response.token is not None:
        fields["token"] = _describe_cms(response.token).fields
    return Described("timestamp-reply", fields)


def _describe_timestamp_request(der: bytes) -> Described:
    request = parse_timestamp_request(der)
    return Described(
        "timestamp-query",
        {
            "hash_algorithm": request.hash_algorithm,
            "hashed_message": request.hashed_message.hex(),
            "policy": request.policy,
            "nonce": None if request.nonce is None else f"{request.nonce:x}",
            "cert_req": request.cert_req,
        },
    )


_BY_LABEL: dict[str, Callable[[bytes], Described]] = {
    "CERTIFICATE": lambda der: Described(
        "certificate", describe_certificate(x509.load_der_x509_certificate(der))
    ),
    "CERTIFICATE REQUEST": _describe_csr,
    "NEW CERTIFICATE REQUEST": _describe_csr,
    "X509 CRL": _describe_crl,
    "PRIVATE KEY": _describe_private_key,
    "EC PRIVATE KEY": _describe_private_key,
    "RSA PRIVATE KEY": _describe_private_key,
    "PUBLIC KEY": _describe_public_key,
    "PKCS7": _describe_cms,
    "CMS": _describe_cms,
    "TIMESTAMP RESPONSE": _describe_timestamp_response,
    "TIMESTAMP QUERY": _describe_timestamp_request,
}

# For DER input, the kinds are tried in this order; the first that parses wins.
_DER_ORDER = (
    "CERTIFICATE",
    "CERTIFICATE REQUEST",
    "X509 CRL",
    "PRIVATE KEY",
    "PUBLIC KEY",
)
_DER_EXTRA: tuple[Callable[[bytes], Described], ...] = (
    _describe_ocsp_response,
    _describe_ocsp_request,
    _describe_cms,
    _describe_timestamp_response,
    _describe_timestamp_request,
)


def _describe_der(der: bytes, what: str) -> Described:
    for parser in (*(_BY_LABEL[label] for label in _DER_ORDER), *_DER_EXTRA):
        try:
            return parser(der)
        except Exception:  # try the next kind
            continue
    raise DecodeError(
        f"{what}: DER, but not a certificate, CSR, CRL, key, OCSP, CMS or RFC 3161 object"
    )


def _describe_pkcs12(der: bytes, passphrase: Callable[[], bytes] | None, what: str) -> Described:
    # An unencrypted PKCS#12 (or one with an empty password) opens without asking.
    try:
        key, cert, extra = load_pkcs12(der, b"", what=what)
    except PassphraseError:
        if passphrase is None:
            return Described("pkcs12", {"encrypted": True, "contents": "needs the passphrase"})
        key, cert, extra = load_pkcs12(der, passphrase(), what=what)
    fields: dict[str, Any] = {
        "key": None if key is None else _public_key_fields(key.public_key()),
        "key_matches_certificate": None
        if key is None or cert is None
        else key.public_key() == cert.public_key(),
        "certificate": None if cert is None else describe_certificate(cert),
        "chain": [_safe_name(c.subject) for c in extra],
    }
    return Described("pkcs12", fields)


def inspect_bytes(
    data: bytes, *, what: str = "input", passphrase: Callable[[], bytes] | None = None
) -> list[Described]:
    """Describe every object in ``data`` (PEM blocks or one DER object); ``what``
    names the input (a file name) in errors. ``passphrase`` is called for an
    encrypted PKCS#12 file, only when one is met; without it, such a file is
    described as needing one."""
    results = []
    for block in read_blocks(data, what=what):
        if block.label is None:
            if looks_like_pkcs12(block.der):
                results.append(_describe_pkcs12(block.der, passphrase, what))
            else:
                results.append(_describe_der(block.der, what))
            continue
        if block.label == "ENCRYPTED PRIVATE KEY":
            results.append(Described("private-key", {"encrypted": True}))
            continue
        parser = _BY_LABEL.get(block.label)
        if parser is None:
            results.append(Described("unknown", {"label": block.label, "size": len(block.der)}))
            continue
        try:
            results.append(parser(block.der))
        except Exception as exc:  # report, do not crash
            raise DecodeError(
                f"{what}: PEM block {block.label!r} cannot be parsed ({exc})"
            ) from exc
    return results


def _scalar(value: Any) -> str:
    """A value as a person writes it: yes/no, not True/False; "-" for nothing; a
    well-known object identifier with its name."""
    if isinstance(value, str) and value in OID_NAMES:
        return oid_label(value)
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if value is None or value == [] or value == {}:
        return "-"
    return str(value)


def _render(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                lines.append(f"{pad}{key}:")
                lines.extend(_render(item, indent + 1))
            else:
                lines.append(f"{pad}{key}: {_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                sub = _render(item, indent + 1)
                lines.append(f"{pad}- {sub[0].strip()}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_scalar(item)}")
    else:
        lines.append(f"{pad}{_scalar(value)}")
    return lines


def render_text(described: list[Described]) -> str:
    """A human-readable rendering of :func:`inspect_bytes` results."""
    out: list[str] = []
    for index, item in enumerate(described):
        if index:
            out.append("")
        out.append(f"[{item.kind}]")
        out.extend(_render(item.fields, 1))
    return "\n".join(out)
