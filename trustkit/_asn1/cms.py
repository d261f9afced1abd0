"""CMS SignedData (RFC 5652) and its ESS attributes, decoded and encoded."""

from __future__ import annotations

import datetime as _dt
import hashlib as _hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any as _Any

from asn1crypto import algos as _algos
from asn1crypto import cms as _cms
from asn1crypto import core
from asn1crypto import tsp as _tsp
from asn1crypto import x509 as _x509

from ..errors import DecodeError
from ._der import _der_tlv, _element

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

_OCTET_STRING = 0x04

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


def _without_content(der: bytes) -> tuple[bytes, bytes] | None:
    """``der`` with its attached eContent left out, and the content's octets; ``None``
    unless the content is a primitive OCTET STRING in DER all the way down.

    asn1crypto keeps a copy of each level's contents as it descends (ContentInfo,
    SignedData, EncapsulatedContentInfo, eContent), so an attached signature over N
    bytes cost four copies of N; cut out first, the content is copied once. The rest
    keeps its bytes: only the headers of the four enclosing elements are written
    again, shorter (X.690 8.1.3, 10.1).
    """
    try:
        tag, info_start, info_end = _element(der, 0, "ContentInfo")
        if tag != 0x30 or info_end != len(der):
            return None
        _, _, type_end = _element(der, info_start, "contentType")
        tag, explicit_start, _ = _element(der, type_end, "content")
        if tag != 0xA0:
            return None
        tag, signed_start, signed_end = _element(der, explicit_start, "SignedData")
        if tag != 0x30:
            return None
        _, _, position = _element(der, signed_start, "version")
        _, _, encap_at = _element(der, position, "digestAlgorithms")
        tag, encap_start, encap_end = _element(der, encap_at, "encapContentInfo")
        if tag != 0x30:
            return None
        _, _, e_type_end = _element(der, encap_start, "eContentType")
        if e_type_end == encap_end:
            return None  # detached: nothing to cut
        tag, octets_at, econtent_end = _element(der, e_type_end, "eContent")
        if tag != 0xA0 or econtent_end != encap_end:
            return None
        tag, content_start, content_end = _element(der, octets_at, "eContent OCTET STRING")
        if tag != _OCTET_STRING or content_end != encap_end:
            return None
    except (ValueError, IndexError):
        return None
    encap = _der_tlv(0x30, der[encap_start:e_type_end])
    signed_body = der[signed_start:encap_at] + encap + der[encap_end:signed_end]
    signed = _der_tlv(0x30, signed_body)
    info = der[info_start:type_end] + _der_tlv(0xA0, signed)
    return _der_tlv(0x30, info), der[content_start:content_end]


def parse_signed_data(der: bytes, *, what: str = "CMS signature") -> ParsedSignedData:
    """Decode a DER ContentInfo of SignedData; :class:`DecodeError` on anything malformed."""
    cut = _without_content(der)
    content: bytes | None = None
    if cut is not None:
        der, content = cut
    try:
        signed = _signed_data(der, what)
        encap = signed["encap_content_info"]
        if cut is None:
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
