"""certificate_encoding: the two DER facts validation reads that cryptography does not give."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from hypothesis import given, settings
from hypothesis import strategies as st

from trustkit._asn1 import _element, certificate_encoding
from trustkit.errors import DecodeError

from .conftest import Pki

ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")
ECDSA_SHA384 = bytes.fromhex("300a06082a8648ce3d040303")


def _header(tag: int, length: int) -> bytes:
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def _with_validity(der: bytes, validity: bytes) -> bytes:
    """``der`` with its Validity replaced (the signature no longer matters here)."""
    _, start, _ = _element(der, 0, "Certificate")
    _, tbs_start, tbs_end = _element(der, start, "TBSCertificate")
    children = []
    position = tbs_start
    while position < tbs_end:
        _, _, end = _element(der, position, "child")
        children.append(der[position:end])
        position = end
    index = 4 if children[0][0] == 0xA0 else 3  # after version, serial, signature, issuer
    children[index] = validity
    tbs_content = b"".join(children)
    tbs = _header(0x30, len(tbs_content)) + tbs_content
    rest = der[tbs_end:]
    return _header(0x30, len(tbs) + len(rest)) + tbs + rest


def _validity(*times: tuple[int, bytes]) -> bytes:
    content = b"".join(_header(tag, len(value)) + value for tag, value in times)
    return _header(0x30, len(content)) + content


def test_a_certificate_from_cryptography_is_well_encoded(pki: Pki) -> None:
    der = pki.make_leaf().cert.public_bytes(Encoding.DER)
    facts = certificate_encoding(der)
    assert facts.signature_algorithms_match
    assert facts.validity_times_well_encoded


def test_outer_signature_algorithm_differs(pki: Pki) -> None:
    der = pki.make_leaf().cert.public_bytes(Encoding.DER)
    at = der.rindex(ECDSA_SHA256)  # the outer signatureAlgorithm, after the TBS
    assert der.index(ECDSA_SHA256) < at
    changed = der[:at] + ECDSA_SHA384 + der[at + len(ECDSA_SHA384) :]
    assert not certificate_encoding(changed).signature_algorithms_match


@pytest.mark.parametrize(
    ("times", "well_encoded"),
    [
        (((0x17, b"260101000000Z"), (0x17, b"490101000000Z")), True),
        (((0x17, b"260101000000Z"), (0x18, b"20500101000000Z")), True),
        (((0x17, b"260101000000Z"), (0x18, b"20490101000000Z")), False),
        (((0x18, b"19500101000000Z"), (0x17, b"260101000000Z")), False),
        (((0x18, b"19491231235959Z"), (0x17, b"260101000000Z")), True),
    ],
)
def test_generalized_time_before_2050(
    pki: Pki, times: tuple[tuple[int, bytes], ...], well_encoded: bool
) -> None:
    der = pki.make_leaf().cert.public_bytes(Encoding.DER)
    changed = _with_validity(der, _validity(*times))
    assert certificate_encoding(changed).validity_times_well_encoded is well_encoded


@pytest.mark.parametrize(
    "validity",
    [
        _validity((0x17, b"260101000000Z")),  # one time
        _validity((0x17, b"260101000000Z"), (0x17, b"270101000000Z"), (0x17, b"280101000000Z")),
        _validity((0x17, b"260101000000Z"), (0x04, b"270101000000Z")),  # not a time
        _validity((0x17, b"260101000000Z"), (0x18, b"2O490101000000Z")),  # letter O
        bytes.fromhex("3100"),  # a SET
    ],
)
def test_malformed_validity_is_a_decode_error(pki: Pki, validity: bytes) -> None:
    der = pki.make_leaf().cert.public_bytes(Encoding.DER)
    with pytest.raises(DecodeError, match="certificate: cannot be decoded"):
        certificate_encoding(_with_validity(der, validity))


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=300))
def test_garbage_is_a_decode_error_or_an_answer(data: bytes) -> None:
    try:
        certificate_encoding(data)
    except DecodeError:
        pass
