"""Elliptic-curve keys whose curve is spelled out (ECParameters' specifiedCurve), built here.

cryptography never writes such keys, and reads one whose parameters are P-256's as an
ordinary secp256r1 key; RFC 5480 2.1.1 forbids them in PKIX. Each helper takes what
cryptography made for a named-curve key and replaces the curve's OID by the explicit
P-256 domain parameters (SEC 2 2.4.2), re-signing where a signature covers the change,
so the result is the named twin in every other byte.
"""

from __future__ import annotations

from asn1crypto import core
from asn1crypto import csr as asn1_csr
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

# SEC 2 version 2, 2.4.2: secp256r1.
_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
_GX = 0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296
_GY = 0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5
_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def explicit_p256() -> asn1_keys.ECDomainParameters:
    """P-256 as a SpecifiedECDomain (SEC 1 C.2), the form `openssl ecparam -param_enc
    explicit` writes."""
    return asn1_keys.ECDomainParameters(
        name="specified",
        value=asn1_keys.SpecifiedECDomain(
            {
                "version": "ecdpVer1",
                "field_id": {"field_type": "prime_field", "parameters": core.Integer(_P)},
                "curve": {
                    "a": (_P - 3).to_bytes(32, "big"),
                    "b": _B.to_bytes(32, "big"),
                },
                "base": b"\x04" + _GX.to_bytes(32, "big") + _GY.to_bytes(32, "big"),
                "order": _N,
                "cofactor": 1,
            }
        ),
    )


def explicit_spki(spki_der: bytes) -> asn1_keys.PublicKeyInfo:
    """The SubjectPublicKeyInfo of a P-256 key with its curve given explicitly."""
    info = asn1_keys.PublicKeyInfo.load(spki_der)
    return asn1_keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": explicit_p256()},
            "public_key": info["public_key"].native,
        }
    )


def _sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def with_explicit_key(
    cert: x509.Certificate, signer: ec.EllipticCurvePrivateKey
) -> x509.Certificate:
    """``cert`` with its own key's curve made explicit, re-signed by ``signer``."""
    parsed = asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))
    tbs = parsed["tbs_certificate"]
    tbs["subject_public_key_info"] = explicit_spki(tbs["subject_public_key_info"].dump())
    tbs_der = tbs.dump(force=True)
    rebuilt = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": parsed["signature_algorithm"],
            "signature_value": _sign(signer, tbs_der),
        }
    )
    return x509.load_der_x509_certificate(rebuilt.dump())


def explicit_csr(csr: x509.CertificateSigningRequest, key: ec.EllipticCurvePrivateKey) -> bytes:
    """DER of ``csr`` with its key's curve made explicit, signed again by ``key``."""
    parsed = asn1_csr.CertificationRequest.load(csr.public_bytes(serialization.Encoding.DER))
    info = parsed["certification_request_info"]
    info["subject_pk_info"] = explicit_spki(info["subject_pk_info"].dump())
    info_der = info.dump(force=True)
    return bytes(
        asn1_csr.CertificationRequest(
            {
                "certification_request_info": asn1_csr.CertificationRequestInfo.load(info_der),
                "signature_algorithm": parsed["signature_algorithm"],
                "signature": _sign(key, info_der),
            }
        ).dump()
    )


def explicit_pkcs8(key: ec.EllipticCurvePrivateKey) -> bytes:
    """DER PrivateKeyInfo (RFC 5958) of ``key`` with explicit curve parameters."""
    named = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    inner = asn1_keys.ECPrivateKey.load(named["private_key"].parsed.dump())
    return bytes(
        asn1_keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": {"algorithm": "ec", "parameters": explicit_p256()},
                "private_key": asn1_keys.ECPrivateKey(
                    {
                        "version": "ecPrivkeyVer1",
                        # The field itself, not its int: an int is re-encoded in as few
                        # octets as it needs, and RFC 5915 wants the curve's full 32.
                        "private_key": inner["private_key"].copy(),
                        "public_key": inner["public_key"].native,
                    }
                ),
            }
        ).dump()
    )


def explicit_sec1(key: ec.EllipticCurvePrivateKey) -> bytes:
    """DER ECPrivateKey (RFC 5915, SEC 1) of ``key`` with explicit [0] parameters."""
    named = asn1_keys.ECPrivateKey.load(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return bytes(
        asn1_keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": named["private_key"].copy(),
                "parameters": explicit_p256(),
                "public_key": named["public_key"].native,
            }
        ).dump()
    )
