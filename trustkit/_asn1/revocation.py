"""CRL entries and OCSP messages assembled from pieces, and OCSP requests read."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import algos as _algos
from asn1crypto import core
from asn1crypto import crl as _crl
from asn1crypto import ocsp as _ocsp
from asn1crypto import x509 as _x509

from ..errors import DecodeError

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
