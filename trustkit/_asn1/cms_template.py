"""CMS SignedData framed from a per-signer template (RFC 5652 5.1, 5.3)."""

from __future__ import annotations

import datetime as _dt
import functools as _functools
from collections.abc import Sequence
from dataclasses import dataclass

from asn1crypto import cms as _cms

from ._der import _der_header, _der_tlv
from .cms import (
    ID_DATA,
    _certificate_set,
    _digest_algorithms,
    _signing_certificate_attribute,
    encode_signed_attributes,
    encode_signer_info,
)

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
