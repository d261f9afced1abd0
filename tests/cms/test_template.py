"""The DER templates a Signer signs with, byte for byte against asn1crypto's encoding."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from trustkit._asn1 import (
    ID_DATA,
    encode_signed_attributes,
    encode_signed_data,
    encode_signer_info,
    parse_signed_data,
    signed_attributes_from_template,
    signed_data_from_template,
    signer_template,
)
from trustkit.cms import DigestAlgorithm, RSAPadding, Signer, sign
from trustkit.cms._signer import make_signer_info
from trustkit.cms.verify import verify_cms
from trustkit.errors import InvalidSignatureError, SignatureError

from .conftest import KEY_TYPES, SIGNED_AT, VERIFY_AT, Pki

CONTENT = b"Permit 2025/88: the building may be extended.\n" * 50
OTHER_TYPE = "1.3.6.1.4.1.99999.1"
"""An eContentType asn1crypto does not know: its content stays opaque octets."""


def _template_inputs(pki: Pki, digest: str) -> dict[str, object]:
    _, cert = pki.signers["ec-p256"]
    der = cert.public_bytes(Encoding.DER)
    return {
        "issuer": cert.issuer.public_bytes(),
        "serial": cert.serial_number,
        "digest_algorithm": digest,
        "certificates": [der, *(c.public_bytes(Encoding.DER) for c in pki.chain)],
        "signature_algorithm": f"{digest}_ecdsa",
        "pss_hash": None,
        "cert_hash": hashlib.new(digest, der).digest(),
    }


def _reference(
    inputs: dict[str, object],
    *,
    content_type: str,
    content: bytes | None,
    message_digest: bytes,
    signing_time: datetime | None,
    signature: bytes,
) -> bytes:
    """The same SignedData built the slow way, every level by asn1crypto."""
    attrs = encode_signed_attributes(
        content_type=content_type,
        message_digest=message_digest,
        signing_time=signing_time,
        cert_hash_algorithm=inputs["digest_algorithm"],  # type: ignore[arg-type]
        cert_hash=inputs["cert_hash"],  # type: ignore[arg-type]
        issuer=inputs["issuer"],  # type: ignore[arg-type]
        serial=inputs["serial"],  # type: ignore[arg-type]
    )
    info = encode_signer_info(
        issuer=inputs["issuer"],  # type: ignore[arg-type]
        serial=inputs["serial"],  # type: ignore[arg-type]
        digest_algorithm=inputs["digest_algorithm"],  # type: ignore[arg-type]
        signed_attrs=attrs,
        signature_algorithm=inputs["signature_algorithm"],  # type: ignore[arg-type]
        pss_hash=None,
        signature=signature,
    )
    return encode_signed_data(
        content_type=content_type,
        content=content,
        digest_algorithms=[inputs["digest_algorithm"]],  # type: ignore[list-item]
        certificates=inputs["certificates"],  # type: ignore[arg-type]
        signer_infos=[info],
    )


def _fast(
    inputs: dict[str, object],
    *,
    content_type: str,
    content: bytes | None,
    message_digest: bytes,
    signing_time: datetime | None,
    signature: bytes,
) -> bytes:
    template = signer_template(**inputs)  # type: ignore[arg-type]
    attrs = signed_attributes_from_template(
        template,
        content_type=content_type,
        message_digest=message_digest,
        signing_time=signing_time,
    )
    return signed_data_from_template(
        template,
        content_type=content_type,
        content=content,
        signed_attrs=attrs,
        signature=signature,
    )


_TIMES = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))


@settings(max_examples=40, deadline=None)
@given(
    digest=st.sampled_from(["sha256", "sha384", "sha512"]),
    content=st.none() | st.binary(max_size=300),
    large=st.sampled_from([0, 70_000]),
    message_digest=st.binary(min_size=1, max_size=200),
    signing_time=st.none() | _TIMES,
    signature=st.binary(min_size=1, max_size=600),
    content_type=st.sampled_from([ID_DATA, OTHER_TYPE]),
)
def test_template_matches_asn1crypto(
    pki: Pki,
    digest: str,
    content: bytes | None,
    large: int,
    message_digest: bytes,
    signing_time: datetime | None,
    signature: bytes,
    content_type: str,
) -> None:
    # Short and long (three-octet) lengths, years on both sides of UTCTime's range.
    if content is not None and large:
        content = content + b"\x5a" * large
    inputs = _template_inputs(pki, digest)
    values = {
        "content_type": content_type,
        "content": content,
        "message_digest": message_digest,
        "signing_time": signing_time,
        "signature": signature,
    }
    assert _fast(inputs, **values) == _reference(inputs, **values)  # type: ignore[arg-type]


def test_template_differs_when_a_value_differs(pki: Pki) -> None:
    inputs = _template_inputs(pki, "sha256")
    values: dict[str, object] = {
        "content_type": ID_DATA,
        "content": None,
        "message_digest": b"\x01" * 32,
        "signing_time": SIGNED_AT,
        "signature": b"\x02" * 70,
    }
    fast = _fast(inputs, **values)  # type: ignore[arg-type]
    later = {**values, "signing_time": SIGNED_AT + timedelta(seconds=1)}
    assert fast != _reference(inputs, **later)  # type: ignore[arg-type]
    parsed = parse_signed_data(fast)
    assert parsed.signers[0].signing_time == SIGNED_AT
    assert parsed.signers[0].message_digest == b"\x01" * 32
    assert parsed.certificates == tuple(sorted(inputs["certificates"]))  # type: ignore[call-overload]


def test_signing_time_must_be_whole_seconds(pki: Pki) -> None:
    template = signer_template(**_template_inputs(pki, "sha256"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="whole seconds"):
        signed_attributes_from_template(
            template,
            content_type=ID_DATA,
            message_digest=b"\x00" * 32,
            signing_time=SIGNED_AT.replace(microsecond=5),
        )


@pytest.mark.parametrize(
    ("key_type", "padding"),
    [("ed25519", RSAPadding.PKCS1V15), ("rsa-2048", RSAPadding.PKCS1V15)],
)
@pytest.mark.parametrize("attached", [False, True], ids=["detached", "attached"])
def test_sign_equals_the_asn1crypto_encoding(
    pki: Pki, key_type: str, padding: RSAPadding, attached: bool
) -> None:
    # Ed25519 and RSA PKCS#1 v1.5 signatures are deterministic: the whole DER must match.
    key, cert = pki.signers[key_type]
    signer = Signer(key, cert, pki.chain, rsa_padding=padding)
    algorithm = signer.digest_algorithm
    der = sign(CONTENT, signer, at=SIGNED_AT, attached=attached)
    info = make_signer_info(
        key,
        cert,
        digest=algorithm,
        rsa_padding=padding,
        content_type=ID_DATA,
        message_digest=hashlib.new(algorithm.value, CONTENT).digest(),
        signing_time=SIGNED_AT,
    )
    expected = encode_signed_data(
        content_type=ID_DATA,
        content=CONTENT if attached else None,
        digest_algorithms=[algorithm.value],
        certificates=signer.certificates_der(),
        signer_infos=[info],
    )
    assert der == expected
    other = sign(CONTENT + b"!", signer, at=SIGNED_AT, attached=attached)
    assert other != expected


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_a_signer_reused_signs_each_content(pki: Pki, key_type: str) -> None:
    key, cert = pki.signers[key_type]
    signer = Signer(key, cert, pki.chain)
    anchors = [pki.root.certificate]
    for content in (b"first", b"second"):
        der = sign(content, signer, at=SIGNED_AT)
        verify_cms(content, der, trust_anchors=anchors, at=VERIFY_AT)
        # The twin: the same signature over the other content must fail.
        with pytest.raises(InvalidSignatureError, match="message-digest"):
            verify_cms(content + b"x", der, trust_anchors=anchors, at=VERIFY_AT)


def test_rsa_pss_template_verifies(pki: Pki) -> None:
    key, cert = pki.signers["rsa-2048"]
    signer = Signer(key, cert, pki.chain, digest=DigestAlgorithm.SHA384, rsa_padding=RSAPadding.PSS)
    der = sign(CONTENT, signer, at=SIGNED_AT)
    (report,) = verify_cms(CONTENT, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    assert report.signature_algorithm.startswith("rsassa_pss (sha384")
    tampered = bytearray(der)
    tampered[-5] ^= 0x01  # inside the signature value
    with pytest.raises(InvalidSignatureError, match="signature"):
        verify_cms(CONTENT, bytes(tampered), trust_anchors=[pki.root.certificate], at=VERIFY_AT)


def test_an_embedded_certificate_with_a_negative_serial_is_refused(pki: Pki) -> None:
    key, cert = pki.signers["ec-p256"]
    der = sign(CONTENT, Signer(key, cert, pki.chain), at=SIGNED_AT)
    anchors = [pki.root.certificate]
    verify_cms(CONTENT, der, trust_anchors=anchors, at=VERIFY_AT)  # the twin that passes
    issuing = pki.issuing.certificate.public_bytes(Encoding.DER)
    version_and_serial = b"\xa0\x03\x02\x01\x02\x02"
    at = issuing.index(version_and_serial) + len(version_and_serial) + 1
    negative = issuing[:at] + bytes([issuing[at] | 0x80]) + issuing[at + 1 :]
    assert der.count(issuing) == 1
    with pytest.raises(SignatureError, match=r"certificate \d cannot be parsed.*4\.1\.2\.2"):
        verify_cms(CONTENT, der.replace(issuing, negative), trust_anchors=anchors, at=VERIFY_AT)
