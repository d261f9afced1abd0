"""The one place asn1crypto is used.

cryptography parses and builds the X.509 structures trustkit needs, except a
few it leaves opaque (QCStatements, CMS SignedData internals, RFC 3161
structures). Those are encoded and decoded here, and only here, so the rest
of trustkit deals in cryptography objects and plain Python values.
"""

from __future__ import annotations

import datetime as _dt
import functools as _functools
import hashlib as _hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any as _Any

from asn1crypto import algos as _algos
from asn1crypto import cms as _cms
from asn1crypto import core
from asn1crypto import crl as _crl
from asn1crypto import ocsp as _ocsp
from asn1crypto import tsp as _tsp
from asn1crypto import x509 as _x509

from .errors import DecodeError

__all__ = [
    "QC_COMPLIANCE",
    "QC_PDS",
    "QC_SSCD",
    "QC_SYNTAX_V2",
    "QC_TYPE",
    "CertificateEncoding",
    "QcStatementInfo",
    "certificate_encoding",
    "decode_policy_mappings",
    "decode_qc_statements",
    "encode_qc_statements",
]

# --- QCStatements (RFC 3739, ETSI EN 319 412-5) ---

QC_COMPLIANCE = "0.4.0.1862.1.1"
QC_SSCD = "0.4.0.1862.1.4"
QC_PDS = "0.4.0.1862.1.5"
QC_TYPE = "0.4.0.1862.1.6"
QC_SYNTAX_V2 = "1.3.6.1.5.5.7.11.2"
"""id-qcs-pkixQCSyntax-v2 (RFC 3739 3.2.6.1), which carries ETSI semantics identifiers."""


class _PdsLocation(core.Sequence):
    _fields = [("url", core.IA5String), ("language", core.PrintableString)]


class _PdsLocations(core.SequenceOf):
    _child_spec = _PdsLocation


class _QcTypes(core.SequenceOf):
    _child_spec = core.ObjectIdentifier


class _SemanticsInformation(core.Sequence):
    _fields = [("semantics_identifier", core.ObjectIdentifier, {"optional": True})]


class _QCStatement(core.Sequence):
    _fields = [
        ("statement_id", core.ObjectIdentifier),
        ("statement_info", core.Any, {"optional": True}),
    ]


class _QCStatements(core.SequenceOf):
    _child_spec = _QCStatement


@dataclass(frozen=True)
class QcStatementInfo:
    """One decoded QCStatement: its OID and what trustkit understood of its info."""

    statement_id: str
    values: tuple[str, ...] = ()
    """QcType OIDs, PDS ``url (lang)`` entries, or the semantics identifier."""


def encode_qc_statements(
    *,
    compliance: bool,
    sscd: bool,
    qc_type: str | None,
    pds: Sequence[tuple[str, str]] = (),
    semantics_id: str | None = None,
) -> bytes:
    """DER of a QCStatements extension value (ETSI EN 319 412-5 4.2).

    Statements are in the order ETSI lists them; ``pds`` holds (url, language)
    pairs and ``semantics_id`` the OID put in an id-qcs-pkixQCSyntax-v2 statement.
    """
    statements = []
    if semantics_id is not None:
        info = _SemanticsInformation({"semantics_identifier": semantics_id})
        statements.append({"statement_id": QC_SYNTAX_V2, "statement_info": info})
    if compliance:
        statements.append({"statement_id": QC_COMPLIANCE})
    if sscd:
        statements.append({"statement_id": QC_SSCD})
    if pds:
        locations = _PdsLocations([{"url": url, "language": lang} for url, lang in pds])
        statements.append({"statement_id": QC_PDS, "statement_info": locations})
    if qc_type is not None:
        statements.append({"statement_id": QC_TYPE, "statement_info": _QcTypes([qc_type])})
    return bytes(_QCStatements(statements).dump())


def decode_qc_statements(der: bytes) -> list[QcStatementInfo]:
    """The statements of a QCStatements extension value; unknown ones keep their OID only."""
    try:
        parsed = _QCStatements.load(der, strict=True)
        result = []
        for statement in parsed:
            oid = statement["statement_id"].dotted
            info = statement["statement_info"]
            values: tuple[str, ...] = ()
            if info.native is not None:
                raw = info.dump()
                if oid == QC_TYPE:
                    values = tuple(t.dotted for t in _QcTypes.load(raw))
                elif oid == QC_PDS:
                    values = tuple(
                        f"{loc['url'].native} ({loc['language'].native})"
                        for loc in _PdsLocations.load(raw)
                    )
                elif oid == QC_SYNTAX_V2:
                    semantics = _SemanticsInformation.load(raw)["semantics_identifier"]
                    values = (semantics.dotted,) if semantics.native is not None else ()
            result.append(QcStatementInfo(oid, values))
        return result
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"QCStatements: malformed ({exc})") from exc


# --- keys (PKCS#8 encryption with a tunable KDF, which cryptography does not offer) ---


def encode_pbes2_private_key_info(
    *, salt: bytes, iterations: int, iv: bytes, ciphertext: bytes
) -> bytes:
    """DER EncryptedPrivateKeyInfo (RFC 5958 section 3) under PBES2 (RFC 8018 section 6.2).

    The key derivation is PBKDF2 with HMAC-SHA256 (RFC 8018 appendix B.1.2,
    NULL parameters) and the cipher AES-256-CBC with ``iv``; ``ciphertext`` is
    the padded PrivateKeyInfo already encrypted by the caller.
    """
    from asn1crypto import algos as asn1_algos
    from asn1crypto import keys as asn1_keys

    kdf_params = {
        "salt": asn1_algos.Pbkdf2Salt(name="specified", value=salt),
        "iteration_count": iterations,
        "prf": {"algorithm": "sha256", "parameters": core.Null()},
    }
    algorithm = asn1_algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": {
                "key_derivation_func": {"algorithm": "pbkdf2", "parameters": kdf_params},
                "encryption_scheme": {"algorithm": "aes256_cbc", "parameters": iv},
            },
        }
    )
    info = asn1_keys.EncryptedPrivateKeyInfo(
        {"encryption_algorithm": algorithm, "encrypted_data": ciphertext}
    )
    return bytes(info.dump())


# --- validation (policyMappings, which cryptography leaves unrecognised) ---


def decode_policy_mappings(der: bytes) -> list[tuple[str, str]]:
    """PolicyMappings (RFC 5280 4.2.1.5) as (issuerDomainPolicy, subjectDomainPolicy) OIDs."""
    from asn1crypto import x509 as asn1_x509

    try:
        parsed = asn1_x509.PolicyMappings.load(der)
        pairs = [
            (m["issuer_domain_policy"].dotted, m["subject_domain_policy"].dotted) for m in parsed
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"policyMappings: not a valid SEQUENCE OF PolicyMapping ({exc})") from exc
    return pairs


@dataclass(frozen=True)
class CertificateEncoding:
    """How a certificate is encoded, where cryptography does not say."""

    signature_algorithms_match: bool
    """signatureAlgorithm equals the TBSCertificate signature field (RFC 5280 4.1.1.2)."""
    validity_times_well_encoded: bool
    """No GeneralizedTime for a year UTCTime can hold, 1950 to 2049 (RFC 5280 4.1.2.5)."""


def _element(der: bytes, offset: int, what: str) -> tuple[int, int, int]:
    """(identifier octet, start, end of the contents) of the DER element at ``offset``
    (X.690 8.1.2, 8.1.3; single-octet tags and definite lengths, as DER has them)."""
    tag = der[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError(f"{what}: unexpected multi-octet tag")
    first = der[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or start + count > len(der):
            raise ValueError(f"{what}: bad length octets")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError(f"{what}: truncated")
    return tag, start, end


def certificate_encoding(der: bytes) -> CertificateEncoding:
    """Encoding facts of a DER certificate that cryptography has already parsed.

    cryptography has checked the structure, so only the outer headers are walked
    here: asn1crypto took longer to decode the whole certificate than validation
    takes for everything else.
    """
    try:
        _, start, _ = _element(der, 0, "Certificate")
        _, tbs_start, tbs_end = _element(der, start, "TBSCertificate")
        _, _, outer_end = _element(der, tbs_end, "signatureAlgorithm")
        tag, _, end = _element(der, tbs_start, "version")
        position = end if tag == 0xA0 else tbs_start  # [0] EXPLICIT version, DEFAULT v1
        _, _, position = _element(der, position, "serialNumber")
        _, _, signature_end = _element(der, position, "signature")
        same = der[position:signature_end] == der[tbs_end:outer_end]
        _, _, issuer_end = _element(der, signature_end, "issuer")
        tag, time_at, validity_end = _element(der, issuer_end, "validity")
        if tag != 0x30:
            raise ValueError("validity: not a SEQUENCE")
        well_encoded = True
        for _ in range(2):
            tag, value_start, time_at = _element(der, time_at, "validity")
            if tag == 0x18:  # GeneralizedTime: YYYY first
                year = int(der[value_start : value_start + 4].decode("ascii"))
                if 1950 <= year < 2050:
                    well_encoded = False
            elif tag != 0x17:  # UTCTime
                raise ValueError("validity: not a UTCTime or GeneralizedTime")
        if time_at != validity_end:
            raise ValueError("validity: more than two times")
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        raise DecodeError(f"certificate: cannot be decoded ({exc})") from exc
    return CertificateEncoding(same, well_encoded)


# --- CRL and OCSP (revocation) ---
#
# cryptography builds a CRL from a list of entries each time (encoding every
# entry again) and its OCSP builders take one certificate per message. A CRL
# of 100,000 entries and multi-request OCSP messages are assembled here from
# pieces cryptography already made (the entry-less CRL as a template, the
# signer's key and certificate) and signed with the key directly.


_UTC_TIME_LIMIT_YEAR = 2050
"""RFC 5280 4.1.2.5 / 5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050."""

_CRL_REASONS = {
    # RFC 5280 5.3.1 CRLReason values, by the names cryptography's ReasonFlags use.
    "unspecified": "unspecified",
    "keyCompromise": "key_compromise",
    "cACompromise": "ca_compromise",
    "affiliationChanged": "affiliation_changed",
    "superseded": "superseded",
    "cessationOfOperation": "cessation_of_operation",
    "certificateHold": "certificate_hold",
    "removeFromCRL": "remove_from_crl",
    "privilegeWithdrawn": "privilege_withdrawn",
    "aACompromise": "aa_compromise",
}

_OCSP_NONCE_MAX = 32
"""RFC 8954 2.1: a nonce of 1 to 32 octets."""


def _x509_time(value: datetime) -> _x509.Time:
    if value.year < _UTC_TIME_LIMIT_YEAR:
        return _x509.Time(name="utc_time", value=value)
    return _x509.Time(name="general_time", value=value)


def encode_revoked_entry(
    serial: int,
    revocation_time: datetime,
    reason: str | None,
    invalidity_date: datetime | None,
) -> bytes:
    """DER of one CRL ``revokedCertificates`` entry (RFC 5280 5.1.2.6, 5.3).

    ``reason`` is an RFC 5280 reason name (``keyCompromise``); ``None`` and
    ``unspecified`` leave the reasonCode out, as 5.3.1 asks.
    """
    extensions = []
    if reason is not None and reason != "unspecified":
        extensions.append(
            {"extn_id": "crl_reason", "critical": False, "extn_value": _CRL_REASONS[reason]}
        )
    if invalidity_date is not None:
        extensions.append(
            {"extn_id": "invalidity_date", "critical": False, "extn_value": invalidity_date}
        )
    entry: dict[str, object] = {
        "user_certificate": serial,
        "revocation_date": _x509_time(revocation_time),
    }
    if extensions:
        entry["crl_entry_extensions"] = extensions
    return bytes(_crl.RevokedCertificate(entry).dump())


def crl_tbs_with_entries(template_der: bytes, entries: Sequence[bytes]) -> bytes:
    """The TBSCertList of ``template_der`` (a CRL without entries) with ``entries`` in it.

    ``entries`` are DER ``revokedCertificates`` items from
    :func:`encode_revoked_entry`; they are placed as they are, not re-encoded.
    Everything else (version, issuer, times, extensions) is kept byte for byte.
    """
    template = _crl.CertificateList.load(template_der)
    tbs = template["tbs_cert_list"]
    if entries:
        tbs["revoked_certificates"] = _crl.RevokedCertificates(contents=b"".join(entries))
    return bytes(tbs.dump(force=False))


def assemble_crl(template_der: bytes, tbs_der: bytes, signature: bytes) -> bytes:
    """A CertificateList of ``tbs_der`` and ``signature``, with the template's algorithm."""
    template = _crl.CertificateList.load(template_der)
    algorithm = template["signature_algorithm"].dump()
    return bytes(
        _DerSequence(contents=tbs_der + algorithm + core.OctetBitString(signature).dump()).dump()
    )


class _DerSequence(core.Sequence):
    """A SEQUENCE whose contents are already DER (used to wrap signed bodies)."""


@dataclass(frozen=True)
class OCSPCertID:
    """One CertID of an OCSP request (RFC 6960 4.1.1), as received."""

    hash_algorithm: str
    """Dotted OID of the hash used for the name and key hashes."""
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int
    der: bytes
    """The CertID as the client encoded it, echoed in the response."""


@dataclass(frozen=True)
class OCSPRequestInfo:
    """What an OCSP responder needs from a request (RFC 6960 4.1.1)."""

    cert_ids: tuple[OCSPCertID, ...]
    nonce: bytes | None
    """The nonce extension's value as received (DER of an OCTET STRING), if any."""
    nonce_value: bytes | None = None
    """The nonce octets themselves (RFC 8954: 1 to 32 of them)."""


def parse_ocsp_request(der: bytes, *, max_cert_ids: int | None = None) -> OCSPRequestInfo:
    """Parse an OCSPRequest; garbage raises DecodeError.

    More than ``max_cert_ids`` requests (CertIDs) is a DecodeError, raised after
    counting them and before any is decoded, so a hostile request costs little.
    """
    try:
        request = _ocsp.OCSPRequest.load(der, strict=True)
        tbs = request["tbs_request"]
        request_list = tbs["request_list"]
        if max_cert_ids is not None and len(request_list) > max_cert_ids:
            raise DecodeError(
                f"OCSP request: {len(request_list)} CertIDs in requestList; "
                f"this responder answers at most {max_cert_ids} per request"
            )
        cert_ids = []
        for item in request_list:
            cert_id = item["req_cert"]
            received = bytes(cert_id.dump())
            if bytes(cert_id.copy().dump(force=True)) != received:
                # Echoed into the response, so it must be DER (RFC 6960 4.1.1, X.690 10).
                raise DecodeError("OCSP request: a CertID is not DER-encoded")
            cert_ids.append(
                OCSPCertID(
                    hash_algorithm=cert_id["hash_algorithm"]["algorithm"].dotted,
                    issuer_name_hash=bytes(cert_id["issuer_name_hash"].native),
                    issuer_key_hash=bytes(cert_id["issuer_key_hash"].native),
                    serial=int(cert_id["serial_number"].native),
                    der=received,
                )
            )
        nonce: bytes | None = None
        nonce_value: bytes | None = None
        for ext in tbs["request_extensions"] or ():
            if ext["extn_id"].dotted != "1.3.6.1.5.5.7.48.1.2":
                if ext["critical"].native:
                    raise DecodeError(
                        f"OCSP request: critical extension {ext['extn_id'].dotted} not "
                        "understood (RFC 6960 4.4)"
                    )
                continue
            raw = bytes(ext["extn_value"].contents)
            inner = core.OctetString.load(raw, strict=True)
            value = bytes(inner.native)
            if not 1 <= len(value) <= _OCSP_NONCE_MAX:
                raise DecodeError(
                    f"OCSP request: nonce of {len(value)} octets; RFC 8954 2.1 allows 1 to 32"
                )
            nonce, nonce_value = raw, value
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, IndexError) as exc:
        raise DecodeError(f"OCSP request: malformed ({exc.__class__.__name__})") from exc
    if not cert_ids:
        raise DecodeError("OCSP request: requestList is empty (RFC 6960 4.1.1)")
    return OCSPRequestInfo(tuple(cert_ids), nonce, nonce_value)


@dataclass(frozen=True)
class OCSPSingleAnswer:
    """The status of one CertID, to be put in a response (RFC 6960 4.2.1)."""

    cert_id_der: bytes
    status: str
    """``good``, ``revoked`` or ``unknown``."""
    this_update: datetime
    next_update: datetime | None
    revocation_time: datetime | None = None
    reason: str | None = None
    """RFC 5280 reason name, or ``None`` to leave revocationReason out."""


def ocsp_response_data(
    *,
    responder_key_hash: bytes,
    produced_at: datetime,
    answers: Sequence[OCSPSingleAnswer],
    nonce: bytes | None,
) -> bytes:
    """DER of a ResponseData (RFC 6960 4.2.1), responder identified by key hash."""
    responses = []
    for answer in answers:
        status: _ocsp.CertStatus
        if answer.status == "revoked":
            assert answer.revocation_time is not None
            info: dict[str, object] = {"revocation_time": answer.revocation_time}
            if answer.reason is not None:
                info["revocation_reason"] = _CRL_REASONS[answer.reason]
            status = _ocsp.CertStatus(name="revoked", value=info)
        elif answer.status == "good":
            status = _ocsp.CertStatus(name="good", value=core.Null())
        else:
            status = _ocsp.CertStatus(name="unknown", value=core.Null())
        single: dict[str, object] = {
            "cert_id": _ocsp.CertId.load(answer.cert_id_der),
            "cert_status": status,
            "this_update": answer.this_update,
        }
        if answer.next_update is not None:
            single["next_update"] = answer.next_update
        responses.append(single)
    data: dict[str, object] = {
        "responder_id": _ocsp.ResponderId(name="by_key", value=responder_key_hash),
        "produced_at": produced_at,
        "responses": responses,
    }
    if nonce is not None:
        data["response_extensions"] = [
            {
                "extn_id": "nonce",
                "critical": False,
                "extn_value": core.OctetString.load(nonce),
            }
        ]
    return bytes(_ocsp.ResponseData(data).dump())


def ocsp_signature_algorithm(kind: str, hash_name: str | None) -> bytes:
    """DER AlgorithmIdentifier for ``kind`` (``ec``, ``rsa``, ``ed25519``, ``ed448``)."""
    if kind == "ec":
        return bytes(_algos.SignedDigestAlgorithm({"algorithm": f"{hash_name}_ecdsa"}).dump())
    if kind == "rsa":
        # RFC 4055 5: sha*WithRSAEncryption parameters are NULL.
        return bytes(
            _algos.SignedDigestAlgorithm(
                {"algorithm": f"{hash_name}_rsa", "parameters": core.Null()}
            ).dump()
        )
    return bytes(_algos.SignedDigestAlgorithm({"algorithm": kind}).dump())


def ocsp_successful_response(
    response_data_der: bytes,
    signature_algorithm_der: bytes,
    signature: bytes,
    certificates: Sequence[bytes] = (),
) -> bytes:
    """DER of an OCSPResponse with status successful and a BasicOCSPResponse (4.2.1)."""
    basic: dict[str, object] = {
        "tbs_response_data": _ocsp.ResponseData.load(response_data_der),
        "signature_algorithm": _algos.SignedDigestAlgorithm.load(signature_algorithm_der),
        "signature": signature,
    }
    if certificates:
        basic["certs"] = [_x509.Certificate.load(c) for c in certificates]
    return bytes(
        _ocsp.OCSPResponse(
            {
                "response_status": "successful",
                "response_bytes": {
                    "response_type": "basic_ocsp_response",
                    "response": _ocsp.BasicOCSPResponse(basic),
                },
            }
        ).dump()
    )


# --- CMS and RFC 3161 ---
#
# CMS SignedData (RFC 5652), ESS signing-certificate attributes (RFC 2634,
# RFC 5035) and the time-stamp protocol (RFC 3161) as plain values. Names of
# algorithms are asn1crypto's: ``sha256``, ``sha256_rsa``, ``rsassa_pss``,
# ``sha256_ecdsa``, ``ed25519``.


ID_DATA = "1.2.840.113549.1.7.1"
"""id-data (RFC 5652 4)."""
ID_SIGNED_DATA = "1.2.840.113549.1.7.2"
"""id-signedData (RFC 5652 5.1)."""
ID_CT_TST_INFO = "1.2.840.113549.1.9.16.1.4"
"""id-ct-TSTInfo (RFC 3161 2.4.2)."""

_CMS_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)
"""What asn1crypto raises on malformed input; it parses lazily, so any access may raise."""


@dataclass(frozen=True)
class EssCertId:
    """One ESSCertID(v2) of a signing-certificate attribute (RFC 2634 5.4, RFC 5035 3)."""

    hash_algorithm: str
    """``sha1`` for signing-certificate (v1), else the v2 hashAlgorithm (default sha256)."""
    cert_hash: bytes
    """Hash of the whole DER certificate."""
    issuer_serial: tuple[bytes, int] | None
    """(issuer Name DER, serial) from issuerSerial when it names a directory name."""


@dataclass(frozen=True)
class ParsedSignerInfo:
    """One SignerInfo (RFC 5652 5.3), decoded into plain values."""

    sid_issuer: bytes | None
    """The issuer Name DER when the signer is identified by issuer and serial."""
    sid_serial: int | None
    sid_key_id: bytes | None
    """The subject key identifier when the signer is identified by it."""
    digest_algorithm: str
    signature_algorithm: str
    """asn1crypto's signature_algo: ``rsassa_pkcs1v15``, ``rsassa_pss``, ``ecdsa``, ``ed25519``."""
    signature_hash: str | None
    """The hash named by the signature algorithm (the PSS parameters' hash for PSS)."""
    pss_mgf_hash: str | None
    pss_salt_length: int | None
    signed_attrs: bytes | None
    """The signed attributes as the SET OF that was signed (RFC 5652 5.4), or ``None``."""
    content_type: str | None
    """The content-type attribute (RFC 5652 11.1), dotted."""
    message_digest: bytes | None
    """The message-digest attribute (RFC 5652 11.2)."""
    signing_time: _dt.datetime | None
    """The signing-time attribute (RFC 5652 11.3)."""
    ess_cert_ids: tuple[EssCertId, ...]
    """signing-certificate-v2 entries, else signing-certificate (v1) entries."""
    ess_version: int | None
    """2 for signing-certificate-v2, 1 for signing-certificate, ``None`` for neither."""
    duplicate_attributes: tuple[str, ...]
    """Signed attributes present more than once or with several values (RFC 5652 5.3)."""
    signature: bytes
    timestamp_tokens: tuple[bytes, ...]
    """id-aa-signatureTimeStampToken values (RFC 3161 appendix A), ContentInfo DER each."""


@dataclass(frozen=True)
class ParsedSignedData:
    """A CMS ContentInfo holding SignedData, decoded into plain values."""

    content_type: str
    """eContentType, dotted."""
    content: bytes | None
    """The encapsulated content, or ``None`` for a detached signature."""
    certificates: tuple[bytes, ...]
    """DER of every X.509 certificate in the certificates field."""
    signers: tuple[ParsedSignerInfo, ...]


ID_AA_TIMESTAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"
"""id-aa-signatureTimeStampToken (RFC 3161 appendix A)."""


def _present(value: object) -> list[_Any]:
    """The elements of an OPTIONAL SET OF / SEQUENCE OF, none when it is absent.

    Checked by type rather than ``.native``, which would decode the whole value.
    """
    return [] if isinstance(value, core.Void) else list(value)  # type: ignore[call-overload]


def _version(native: object) -> int:
    return 1 if native == "v1" else int(native)  # type: ignore[call-overload]


def _signed_data(der: bytes, what: str) -> _cms.SignedData:
    info = _cms.ContentInfo.load(der, strict=True)
    if info["content_type"].dotted != ID_SIGNED_DATA:
        raise DecodeError(
            f"{what}: content type {info['content_type'].dotted} is not id-signedData "
            "(RFC 5652 5.1)"
        )
    return info["content"]


def _one(values: object, name: str, duplicates: list[str]) -> object:
    items = list(values)  # type: ignore[call-overload]
    if len(items) != 1:
        duplicates.append(name)
    return items[0] if items else None


def _ess_ids(attr_type: str, value: object) -> tuple[EssCertId, ...]:
    ids = []
    for cert_id in value["certs"]:  # type: ignore[index]
        algorithm = "sha1" if attr_type == "signing_certificate" else cert_id["hash_algorithm"]
        hash_name = algorithm if isinstance(algorithm, str) else algorithm["algorithm"].native
        issuer_serial = None
        chosen = cert_id["issuer_serial"]
        if not isinstance(chosen, core.Void):  # checked without decoding it all (.native)
            for general in chosen["issuer"]:
                if general.name == "directory_name":
                    issuer_serial = (
                        general.chosen.untag().dump(),
                        int(chosen["serial_number"].native),
                    )
                    break
        ids.append(EssCertId(hash_name, bytes(cert_id["cert_hash"].native), issuer_serial))
    return tuple(ids)


def _parse_signer(info: _cms.SignerInfo) -> ParsedSignerInfo:
    sid = info["sid"]
    issuer = serial = key_id = None
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = int(sid.chosen["serial_number"].native)
    else:
        key_id = bytes(sid.chosen.native)
    sig_alg = info["signature_algorithm"]
    signature_algo = sig_alg.signature_algo
    try:
        signature_hash: str | None = sig_alg.hash_algo
    except ValueError:
        signature_hash = None  # rsaEncryption: the digestAlgorithm is the hash (RFC 3370 3.2)
    mgf_hash = salt = None
    if signature_algo == "rsassa_pss":
        params = sig_alg["parameters"]
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].native != "mgf1":
            raise ValueError("RSASSA-PSS mask generation function is not MGF1 (RFC 8017 B.2.1)")
        mgf_hash = mgf["parameters"]["algorithm"].native
        salt = int(params["salt_length"].native)
    attrs = info["signed_attrs"]
    signed_attrs = content_type = digest = signing_time = None
    ess: tuple[EssCertId, ...] = ()
    ess_version: int | None = None
    duplicates: list[str] = []
    if not isinstance(attrs, core.Void) and len(attrs):
        raw = attrs.dump()
        # RFC 5652 5.4: the signature covers the attributes with an EXPLICIT SET OF
        # tag, not the IMPLICIT [0] they are carried under.
        signed_attrs = b"\x31" + raw[1:]
        seen: set[str] = set()
        for attr in attrs:
            attr_type = attr["type"].native
            if attr_type in seen:
                duplicates.append(attr_type)
            seen.add(attr_type)
            if attr_type == "content_type":
                content_type = _one(attr["values"], attr_type, duplicates).dotted  # type: ignore[attr-defined]
            elif attr_type == "message_digest":
                digest = bytes(_one(attr["values"], attr_type, duplicates).native)  # type: ignore[attr-defined]
            elif attr_type == "signing_time":
                signing_time = _one(attr["values"], attr_type, duplicates).native  # type: ignore[attr-defined]
            elif attr_type in ("signing_certificate_v2", "signing_certificate"):
                value = _one(attr["values"], attr_type, duplicates)
                version = 2 if attr_type == "signing_certificate_v2" else 1
                if ess_version is None or version > ess_version:
                    ess, ess_version = _ess_ids(attr_type, value), version
    tokens: list[bytes] = []
    for attr in _present(info["unsigned_attrs"]):
        if attr["type"].dotted == ID_AA_TIMESTAMP_TOKEN:
            tokens.extend(value.dump() for value in attr["values"])
    return ParsedSignerInfo(
        sid_issuer=issuer,
        sid_serial=serial,
        sid_key_id=key_id,
        digest_algorithm=info["digest_algorithm"]["algorithm"].native,
        signature_algorithm=signature_algo,
        signature_hash=signature_hash,
        pss_mgf_hash=mgf_hash,
        pss_salt_length=salt,
        signed_attrs=signed_attrs,
        content_type=content_type,
        message_digest=digest,
        signing_time=signing_time,
        ess_cert_ids=ess,
        ess_version=ess_version,
        duplicate_attributes=tuple(duplicates),
        signature=bytes(info["signature"].native),
        timestamp_tokens=tuple(tokens),
    )


def parse_signed_data(der: bytes, *, what: str = "CMS signature") -> ParsedSignedData:
    """Decode a DER ContentInfo of SignedData; :class:`DecodeError` on anything malformed."""
    try:
        signed = _signed_data(der, what)
        encap = signed["encap_content_info"]
        content_value = encap["content"]
        content = None if isinstance(content_value, core.Void) else bytes(content_value)
        certificates = tuple(
            choice.chosen.dump()
            for choice in _present(signed["certificates"])
            if choice.name == "certificate"
        )
        signers = tuple(_parse_signer(info) for info in signed["signer_infos"])
        result = ParsedSignedData(encap["content_type"].dotted, content, certificates, signers)
    except DecodeError:
        raise
    except _CMS_ERRORS as exc:
        raise DecodeError(f"{what}: malformed SignedData (RFC 5652 5): {exc}") from exc
    if not signers:
        raise DecodeError(f"{what}: SignedData has no SignerInfo (RFC 5652 5.1)")
    return result


def _time(value: _dt.datetime) -> _cms.Time:
    # RFC 5652 11.3: UTCTime from 1950 to 2049, GeneralizedTime otherwise.
    if 1950 <= value.year < 2050:
        return _cms.Time({"utc_time": value})
    return _cms.Time({"generalized_time": value})


def _signing_certificate_attribute(
    cert_hash_algorithm: str, cert_hash: bytes, issuer: bytes, serial: int
) -> _cms.CMSAttribute:
    """The ESS signing-certificate-v2 attribute (RFC 5035 3) naming one certificate."""
    # Built bottom up, each level dumped and loaded again: asn1crypto re-encodes
    # nested values it constructed itself on every parent dump, which made this
    # ten times slower than the signature it precedes.
    names = _x509.GeneralNames(
        [_x509.GeneralName({"directory_name": _x509.Name.load(issuer)})]
    ).dump()
    issuer_serial = _tsp.IssuerSerial(
        {"issuer": _x509.GeneralNames.load(names), "serial_number": serial}
    ).dump()
    cert_id: dict[str, object] = {
        "cert_hash": cert_hash,
        "issuer_serial": _tsp.IssuerSerial.load(issuer_serial),
    }
    if cert_hash_algorithm != "sha256":
        # DER leaves out a DEFAULT value: sha256 is ESSCertIDv2's default (RFC 5035 4).
        cert_id["hash_algorithm"] = {"algorithm": cert_hash_algorithm}
    ids = _tsp.ESSCertIDv2s([_tsp.ESSCertIDv2.load(_tsp.ESSCertIDv2(cert_id).dump())]).dump()
    signing_certificate = _tsp.SigningCertificateV2({"certs": _tsp.ESSCertIDv2s.load(ids)}).dump()
    return _cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [_tsp.SigningCertificateV2.load(signing_certificate)],
        }
    )


def encode_signed_attributes(
    *,
    content_type: str,
    message_digest: bytes,
    signing_time: _dt.datetime | None,
    cert_hash_algorithm: str,
    cert_hash: bytes,
    issuer: bytes,
    serial: int,
) -> bytes:
    """DER of the signed attributes, as the SET OF that is signed (RFC 5652 5.4).

    content-type, message-digest, signing-time (unless ``None``) and ESS
    signing-certificate-v2 (RFC 5035 3) naming the signer's certificate by
    its hash and by issuer and serial. asn1crypto sorts the SET OF as DER asks.
    """
    attrs = [
        _cms.CMSAttribute({"type": "content_type", "values": [content_type]}),
        _cms.CMSAttribute({"type": "message_digest", "values": [message_digest]}),
        _signing_certificate_attribute(cert_hash_algorithm, cert_hash, issuer, serial),
    ]
    if signing_time is not None:
        attrs.append(_cms.CMSAttribute({"type": "signing_time", "values": [_time(signing_time)]}))
    # asn1crypto sorts the SET OF as DER asks (X.690 11.6).
    loaded = [_cms.CMSAttribute.load(attr.dump()) for attr in attrs]
    return bytes(_cms.CMSAttributes(loaded).dump())


def _signature_algorithm(name: str, pss_hash: str | None) -> _algos.SignedDigestAlgorithm:
    if name != "rsassa_pss":
        return _algos.SignedDigestAlgorithm({"algorithm": name})
    assert pss_hash is not None
    # RFC 4056 3: MGF1 with the same hash, salt as long as the hash, trailer 1.
    params = _algos.RSASSAPSSParams(
        {
            "hash_algorithm": {"algorithm": pss_hash},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": pss_hash}},
            "salt_length": _hashlib.new(pss_hash).digest_size,
        }
    )
    return _algos.SignedDigestAlgorithm({"algorithm": "rsassa_pss", "parameters": params})


def encode_signer_info(
    *,
    issuer: bytes,
    serial: int,
    digest_algorithm: str,
    signed_attrs: bytes,
    signature_algorithm: str,
    pss_hash: str | None,
    signature: bytes,
) -> bytes:
    """DER of a version 1 SignerInfo naming its signer by issuer and serial (RFC 5652 5.3)."""
    info = _cms.SignerInfo(
        {
            "version": "v1",
            "sid": _cms.SignerIdentifier(
                {
                    "issuer_and_serial_number": {
                        "issuer": _x509.Name.load(issuer),
                        "serial_number": serial,
                    }
                }
            ),
            "digest_algorithm": {"algorithm": digest_algorithm},
            "signed_attrs": _cms.CMSAttributes.load(signed_attrs),
            "signature_algorithm": _signature_algorithm(signature_algorithm, pss_hash),
            "signature": signature,
        }
    )
    return bytes(info.dump())


def _content_info(signed: _cms.SignedData) -> bytes:
    return bytes(_cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump())


def _digest_algorithms(names: Sequence[str]) -> _cms.DigestAlgorithms:
    return _cms.DigestAlgorithms([{"algorithm": name} for name in dict.fromkeys(names)])


def _certificate_set(certificates: Sequence[bytes]) -> _cms.CertificateSet:
    unique = list(dict.fromkeys(certificates))
    return _cms.CertificateSet(
        [_cms.CertificateChoices({"certificate": _x509.Certificate.load(c)}) for c in unique]
    )


def encode_signed_data(
    *,
    content_type: str,
    content: bytes | None,
    digest_algorithms: Sequence[str],
    certificates: Sequence[bytes],
    signer_infos: Sequence[bytes],
) -> bytes:
    """DER of a ContentInfo of SignedData (RFC 5652 5.1); ``content=None`` makes it detached."""
    # RFC 5652 5.1: version 3 when eContentType is not id-data, else 1 (issuerAndSerial sids).
    version = "v1" if content_type == ID_DATA else "v3"
    encap: dict[str, object] = {"content_type": content_type}
    if content is not None:
        # asn1crypto types id-data content as OctetString, other types as parsable.
        encap["content"] = content if content_type == ID_DATA else core.ParsableOctetString(content)
    signed = _cms.SignedData(
        {
            "version": version,
            "digest_algorithms": _digest_algorithms(digest_algorithms),
            "encap_content_info": encap,
            "certificates": _certificate_set(certificates),
            "signer_infos": [_cms.SignerInfo.load(info) for info in signer_infos],
        }
    )
    return _content_info(signed)


def add_signer_info(
    der: bytes,
    *,
    digest_algorithm: str,
    certificates: Sequence[bytes],
    signer_info: bytes,
) -> bytes:
    """``der`` with one more SignerInfo; the SignerInfos already there keep their bytes."""
    try:
        signed = _signed_data(der, "CMS signature")
        algorithms = [a["algorithm"].native for a in signed["digest_algorithms"]]
        existing = [
            c.chosen.dump() for c in _present(signed["certificates"]) if c.name == "certificate"
        ]
        infos = [_cms.SignerInfo.load(info.dump()) for info in signed["signer_infos"]]
        rebuilt = _cms.SignedData(
            {
                "version": signed["version"].native,
                "digest_algorithms": _digest_algorithms([*algorithms, digest_algorithm]),
                "encap_content_info": signed["encap_content_info"],
                "certificates": _certificate_set([*existing, *certificates]),
                "signer_infos": [*infos, _cms.SignerInfo.load(signer_info)],
            }
        )
        return _content_info(rebuilt)
    except DecodeError:
        raise
    except _CMS_ERRORS as exc:
        raise DecodeError(f"CMS signature: malformed SignedData (RFC 5652 5): {exc}") from exc


def add_unsigned_attribute(der: bytes, index: int, attr_type: str, value: bytes) -> bytes:
    """``der`` with an unsigned attribute ``attr_type`` (dotted) holding ``value`` (DER)
    added to SignerInfo ``index``; other SignerInfos keep their bytes."""
    try:
        signed = _signed_data(der, "CMS signature")
        infos = [_cms.SignerInfo.load(info.dump()) for info in signed["signer_infos"]]
        target = infos[index]
        attrs = list(_present(target["unsigned_attrs"]))
        name = _cms.CMSAttributeType._map.get(attr_type)
        spec = _cms.CMSAttribute._oid_specs.get(name)
        element = spec._child_spec.load(value) if spec is not None else core.Any.load(value)
        attrs.append(_cms.CMSAttribute({"type": attr_type, "values": [element]}))
        target["unsigned_attrs"] = _cms.CMSAttributes(attrs)
        rebuilt = _cms.SignedData(
            {
                "version": signed["version"],
                "digest_algorithms": signed["digest_algorithms"],
                "encap_content_info": signed["encap_content_info"],
                "certificates": signed["certificates"],
                "signer_infos": infos,
            }
        )
        return _content_info(rebuilt)
    except DecodeError:
        raise
    except _CMS_ERRORS as exc:
        raise DecodeError(f"CMS signature: malformed SignedData (RFC 5652 5): {exc}") from exc


# CMS signing templates. What one signer repeats in every signature (digest algorithm,
# certificates, sid, signature algorithm, the ESS attribute) is encoded once, by
# asn1crypto above; each signature then only frames its variable parts (message digest,
# signing time, signature value, content) in DER headers. tests/cms/test_template.py
# checks the result byte for byte against asn1crypto's encoding of the same values.

_SEQUENCE = 0x30
_SET = 0x31
_OCTET_STRING = 0x04
_UTC_TIME = 0x17
_GENERALIZED_TIME = 0x18
_CONTEXT_0 = 0xA0  # [0], constructed
_OID_SIGNED_DATA = bytes(_cms.ContentType("signed_data").dump())
_OID_MESSAGE_DIGEST = bytes(_cms.CMSAttributeType("message_digest").dump())
_OID_SIGNING_TIME = bytes(_cms.CMSAttributeType("signing_time").dump())


def _der_header(tag: int, length: int) -> bytes:
    """Identifier and definite-length octets (X.690 8.1.3; the shortest form, DER 10.1)."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def _der_tlv(tag: int, content: bytes) -> bytes:
    return _der_header(tag, len(content)) + content


@dataclass(frozen=True)
class SignerTemplate:
    """The DER one signer repeats in every SignedData it makes (RFC 5652 5.1, 5.3)."""

    digest_algorithms: bytes
    """SignedData digestAlgorithms: the SET OF with the signer's digest algorithm."""
    certificates: bytes
    """SignedData certificates: the [0] IMPLICIT CertificateSet, sorted as DER asks."""
    signer_info_head: bytes
    """The SignerInfo's version, sid (issuer and serial) and digestAlgorithm."""
    signature_algorithm: bytes
    """The SignerInfo's signatureAlgorithm."""
    signing_certificate: bytes
    """The ESS signing-certificate-v2 Attribute naming the signer (RFC 5035 3)."""


def signer_template(
    *,
    issuer: bytes,
    serial: int,
    digest_algorithm: str,
    certificates: Sequence[bytes],
    signature_algorithm: str,
    pss_hash: str | None,
    cert_hash: bytes,
) -> SignerTemplate:
    """Encode, once, what :func:`signed_data_from_template` repeats for a signer.

    ``cert_hash`` is the ``digest_algorithm`` hash of the signer certificate's DER.
    """
    info = _cms.SignerInfo.load(
        encode_signer_info(
            issuer=issuer,
            serial=serial,
            digest_algorithm=digest_algorithm,
            signed_attrs=encode_signed_attributes(
                content_type=ID_DATA,
                message_digest=cert_hash,
                signing_time=None,
                cert_hash_algorithm=digest_algorithm,
                cert_hash=cert_hash,
                issuer=issuer,
                serial=serial,
            ),
            signature_algorithm=signature_algorithm,
            pss_hash=pss_hash,
            signature=b"\x00",
        )
    )
    attribute = _signing_certificate_attribute(digest_algorithm, cert_hash, issuer, serial)
    return SignerTemplate(
        digest_algorithms=bytes(_digest_algorithms([digest_algorithm]).dump()),
        certificates=bytes(
            _cms.SignedData({"certificates": _certificate_set(certificates)})["certificates"].dump()
        ),
        signer_info_head=bytes(
            info["version"].dump() + info["sid"].dump() + info["digest_algorithm"].dump()
        ),
        signature_algorithm=bytes(info["signature_algorithm"].dump()),
        signing_certificate=bytes(attribute.dump()),
    )


@_functools.lru_cache(maxsize=32)
def _content_type_attribute(content_type: str) -> bytes:
    return bytes(_cms.CMSAttribute({"type": "content_type", "values": [content_type]}).dump())


@_functools.lru_cache(maxsize=32)
def _content_type_oid(content_type: str) -> bytes:
    return bytes(_cms.ContentType(content_type).dump())


def _signing_time_attribute(value: _dt.datetime) -> bytes:
    value = value.astimezone(_dt.UTC)
    if value.microsecond:
        raise ValueError("signing_time: DER times here carry whole seconds")
    # RFC 5652 11.3: UTCTime from 1950 to 2049, GeneralizedTime otherwise (X.690 11.7, 11.8).
    if 1950 <= value.year < 2050:
        time = _der_tlv(_UTC_TIME, value.strftime("%y%m%d%H%M%SZ").encode("ascii"))
    else:
        time = _der_tlv(_GENERALIZED_TIME, f"{value.year:04d}{value:%m%d%H%M%S}Z".encode("ascii"))
    return _der_tlv(_SEQUENCE, _OID_SIGNING_TIME + _der_tlv(_SET, time))


def signed_attributes_from_template(
    template: SignerTemplate,
    *,
    content_type: str,
    message_digest: bytes,
    signing_time: _dt.datetime | None,
) -> bytes:
    """The signed attributes that :func:`encode_signed_attributes` makes, as the SET OF
    that is signed (RFC 5652 5.4), from the template's ESS attribute."""
    attrs = [
        _content_type_attribute(content_type),
        _der_tlv(
            _SEQUENCE, _OID_MESSAGE_DIGEST + _der_tlv(_SET, _der_tlv(_OCTET_STRING, message_digest))
        ),
        template.signing_certificate,
    ]
    if signing_time is not None:
        attrs.append(_signing_time_attribute(signing_time))
    # X.690 11.6: the encodings of a SET OF in ascending order.
    return _der_tlv(_SET, b"".join(sorted(attrs)))


def signed_data_from_template(
    template: SignerTemplate,
    *,
    content_type: str,
    content: bytes | None,
    signed_attrs: bytes,
    signature: bytes,
) -> bytes:
    """The ContentInfo that :func:`encode_signed_data` makes for one SignerInfo built from
    ``template``, ``signed_attrs`` (the SET OF) and ``signature`` (RFC 5652 5.1, 5.3)."""
    # The SignerInfo carries the attributes under [0] IMPLICIT rather than SET (5.3).
    signer_info = _der_tlv(
        _SEQUENCE,
        template.signer_info_head
        + bytes((_CONTEXT_0,))
        + signed_attrs[1:]
        + template.signature_algorithm
        + _der_tlv(_OCTET_STRING, signature),
    )
    signer_infos = _der_tlv(_SET, signer_info)
    # RFC 5652 5.1: version 3 when eContentType is not id-data, else 1.
    version = b"\x02\x01\x01" if content_type == ID_DATA else b"\x02\x01\x03"
    oid = _content_type_oid(content_type)
    # The content may be large: headers are computed from lengths and joined once.
    encap_parts = [oid]
    if content is not None:
        octets = _der_header(_OCTET_STRING, len(content))
        encap_parts += [_der_header(_CONTEXT_0, len(octets) + len(content)), octets, content]
    encap_length = sum(len(part) for part in encap_parts)
    head = [version, template.digest_algorithms, _der_header(_SEQUENCE, encap_length)]
    tail = [template.certificates, signer_infos]
    signed_length = sum(len(p) for p in head) + encap_length + sum(len(p) for p in tail)
    signed_header = _der_header(_SEQUENCE, signed_length)
    explicit = _der_header(_CONTEXT_0, len(signed_header) + signed_length)
    total = len(_OID_SIGNED_DATA) + len(explicit) + len(signed_header) + signed_length
    return b"".join(
        [
            _der_header(_SEQUENCE, total),
            _OID_SIGNED_DATA,
            explicit,
            signed_header,
            *head,
            *encap_parts,
            *tail,
        ]
    )


@dataclass(frozen=True)
class TimestampRequest:
    """A TimeStampReq (RFC 3161 2.4.1), decoded into plain values."""

    version: int
    hash_algorithm: str
    """asn1crypto's name of the hash (``sha256``), or the dotted OID when unknown."""
    hashed_message: bytes
    policy: str | None
    """reqPolicy, dotted."""
    nonce: int | None
    cert_req: bool
    extensions: tuple[str, ...]
    """OIDs of the request's extensions, dotted."""


@dataclass(frozen=True)
class TstInfo:
    """A TSTInfo (RFC 3161 2.4.2), decoded into plain values."""

    version: int
    policy: str
    hash_algorithm: str
    hashed_message: bytes
    serial_number: int
    gen_time: _dt.datetime
    accuracy: _dt.timedelta | None
    ordering: bool
    nonce: int | None
    tsa: bytes | None
    """The tsa field's directory name, Name DER, when it is one."""


@dataclass(frozen=True)
class TimestampResponse:
    """A TimeStampResp (RFC 3161 2.4.2), decoded into plain values."""

    status: int
    """PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, ..."""
    status_text: tuple[str, ...]
    failure_info: tuple[str, ...]
    """PKIFailureInfo bits set, by asn1crypto's names (``bad_alg``, ``bad_request``, ...)."""
    token: bytes | None
    """The TimeStampToken, a ContentInfo DER, when one was granted."""


def encode_timestamp_request(
    *,
    hash_algorithm: str,
    hashed_message: bytes,
    nonce: int | None,
    policy: str | None = None,
    cert_req: bool = True,
) -> bytes:
    """DER of a TimeStampReq, version 1 (RFC 3161 2.4.1)."""
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashed_message,
        },
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return bytes(_tsp.TimeStampReq(fields).dump())


def parse_timestamp_request(der: bytes) -> TimestampRequest:
    """Decode a TimeStampReq; :class:`DecodeError` when it is not one (RFC 3161 2.4.1)."""
    try:
        request = _tsp.TimeStampReq.load(der, strict=True)
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"]
        extensions = request["extensions"]
        return TimestampRequest(
            version=_version(request["version"].native),
            hash_algorithm=algorithm.native,
            hashed_message=bytes(imprint["hashed_message"].native),
            policy=request["req_policy"].dotted if request["req_policy"].native else None,
            nonce=request["nonce"].native,
            cert_req=bool(request["cert_req"].native),
            extensions=tuple(e["extn_id"].dotted for e in extensions) if extensions.native else (),
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(
            f"timestamp request: malformed TimeStampReq (RFC 3161 2.4.1): {exc}"
        ) from exc


def encode_tst_info(
    *,
    policy: str,
    hash_algorithm: str,
    hashed_message: bytes,
    serial_number: int,
    gen_time: _dt.datetime,
    accuracy: _dt.timedelta | None,
    nonce: int | None,
    tsa: bytes | None,
) -> bytes:
    """DER of a TSTInfo (RFC 3161 2.4.2); ``tsa`` is the TSA's subject Name DER."""
    fields: dict[str, object] = {
        "version": "v1",
        "policy": policy,
        "message_imprint": {
            "hash_algorithm": {"algorithm": hash_algorithm},
            "hashed_message": hashed_message,
        },
        "serial_number": serial_number,
        "gen_time": gen_time,
    }
    if accuracy is not None:
        seconds = int(accuracy.total_seconds())
        micros = accuracy.microseconds
        value: dict[str, int] = {}
        if seconds:
            value["seconds"] = seconds
        if micros // 1000:
            value["millis"] = micros // 1000
        if micros % 1000:
            value["micros"] = micros % 1000
        fields["accuracy"] = value
    if nonce is not None:
        fields["nonce"] = nonce
    if tsa is not None:
        fields["tsa"] = _x509.GeneralName({"directory_name": _x509.Name.load(tsa)})
    return bytes(_tsp.TSTInfo(fields).dump())


def parse_tst_info(der: bytes) -> TstInfo:
    """Decode a TSTInfo; :class:`DecodeError` when it is not one (RFC 3161 2.4.2)."""
    try:
        info = _tsp.TSTInfo.load(der, strict=True)
        accuracy = None
        if info["accuracy"].native is not None:
            acc = info["accuracy"].native
            accuracy = _dt.timedelta(
                seconds=acc.get("seconds") or 0,
                milliseconds=acc.get("millis") or 0,
                microseconds=acc.get("micros") or 0,
            )
        tsa = None
        if info["tsa"].native is not None and info["tsa"].name == "directory_name":
            tsa = info["tsa"].chosen.untag().dump()
        imprint = info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"]
        gen_time = info["gen_time"].native
        if not isinstance(gen_time, _dt.datetime):
            raise ValueError("genTime is not a time")
        return TstInfo(
            version=_version(info["version"].native),
            policy=info["policy"].dotted,
            hash_algorithm=algorithm.native,
            hashed_message=bytes(imprint["hashed_message"].native),
            serial_number=int(info["serial_number"].native),
            gen_time=gen_time,
            accuracy=accuracy,
            ordering=bool(info["ordering"].native),
            nonce=info["nonce"].native,
            tsa=tsa,
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(f"timestamp token: malformed TSTInfo (RFC 3161 2.4.2): {exc}") from exc


class _TimeStampResp(core.Sequence):
    """TimeStampResp (RFC 3161 2.4.2); asn1crypto's own makes the OPTIONAL token required."""

    _fields = [
        ("status", _tsp.PKIStatusInfo),
        ("time_stamp_token", _cms.ContentInfo, {"optional": True}),
    ]


def encode_timestamp_response(
    *,
    status: int,
    token: bytes | None = None,
    failure: str | None = None,
    text: str | None = None,
) -> bytes:
    """DER of a TimeStampResp (RFC 3161 2.4.2): a granted token, or a rejection whose
    PKIFailureInfo has the bit ``failure`` (asn1crypto's name, ``bad_alg``...) set."""
    status_info: dict[str, object] = {"status": status}
    if text is not None:
        status_info["status_string"] = [text]
    if failure is not None:
        status_info["fail_info"] = {failure}
    fields: dict[str, object] = {"status": status_info}
    if token is not None:
        fields["time_stamp_token"] = _cms.ContentInfo.load(token)
    return bytes(_TimeStampResp(fields).dump())


def parse_timestamp_response(der: bytes) -> TimestampResponse:
    """Decode a TimeStampResp; :class:`DecodeError` when it is not one (RFC 3161 2.4.2)."""
    try:
        response = _TimeStampResp.load(der, strict=True)
        status = response["status"]
        status_code = status["status"].native
        code = {v: k for k, v in _tsp.PKIStatus._map.items()}.get(status_code, status_code)
        texts = tuple(status["status_string"].native or ())
        fail = status["fail_info"].native
        token = response["time_stamp_token"]
        return TimestampResponse(
            status=int(code),
            status_text=tuple(str(t) for t in texts),
            failure_info=tuple(sorted(fail)) if fail else (),
            # An absent token is asn1crypto's Void; .native would decode a whole
            # present token just to learn that it is there.
            token=None if isinstance(token, core.Void) else token.dump(),
        )
    except _CMS_ERRORS as exc:
        raise DecodeError(
            f"timestamp reply: malformed TimeStampResp (RFC 3161 2.4.2): {exc}"
        ) from exc
