"""trustkit's TSA replies checked by an independent RFC 3161 implementation (rfc3161-client)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from rfc3161_client import (
    TimeStampRequest,
    TimestampRequestBuilder,
    VerificationError,
    Verifier,
    VerifierBuilder,
    decode_timestamp_response,
)

from trustkit.clock import SystemClock
from trustkit.testing import TEST_PASSPHRASE, Hierarchy, make_pki
from trustkit.tsa import TimestampAuthority

MESSAGE = b"Application form no. 2026-114, signed by Alice Example"


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[tuple[Hierarchy, TimestampAuthority]]:
    # The independent verifier checks certificates at the real current time.
    hierarchy = make_pki(tmp_path, SystemClock())
    tsa = TimestampAuthority.create(
        hierarchy.issuing,
        tmp_path / "tsa",
        subject="CN=Example Time-Stamping Authority,O=Republic of Example,C=EE",
        passphrase=TEST_PASSPHRASE,
    )
    yield hierarchy, tsa
    tsa.close()
    hierarchy.close()


def _verifier(hierarchy: Hierarchy, tsa: TimestampAuthority, request: TimeStampRequest) -> Verifier:
    return (
        VerifierBuilder.from_request(request)
        .tsa_certificate(tsa.certificate)
        .add_intermediate_certificate(hierarchy.issuing.certificate)
        .add_root_certificate(hierarchy.root.certificate)
        .build()
    )


def test_reply_verifies(pki: tuple[Hierarchy, TimestampAuthority]) -> None:
    hierarchy, tsa = pki
    request = (
        TimestampRequestBuilder()
        .data(MESSAGE)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    reply = tsa.respond(request.as_bytes(), at=SystemClock().now())
    response = decode_timestamp_response(reply)
    assert response.tst_info.nonce == request.nonce
    verifier = _verifier(hierarchy, tsa, request)
    assert verifier.verify_message(response, MESSAGE) is True
    # The twins: another message, and a reply to someone else's request.
    with pytest.raises(VerificationError):
        verifier.verify_message(response, MESSAGE + b".")
    other = TimestampRequestBuilder().data(MESSAGE).nonce(nonce=True).build()
    with pytest.raises(VerificationError):
        _verifier(hierarchy, tsa, other).verify_message(response, MESSAGE)


def test_tampered_reply_fails(pki: tuple[Hierarchy, TimestampAuthority]) -> None:
    hierarchy, tsa = pki
    request = (
        TimestampRequestBuilder()
        .data(MESSAGE)
        .nonce(nonce=True)
        .cert_request(cert_request=True)
        .build()
    )
    reply = bytearray(tsa.respond(request.as_bytes(), at=SystemClock().now()))
    # Flip a byte inside the signature value at the end of the token.
    reply[-5] ^= 0x01
    verifier = _verifier(hierarchy, tsa, request)
    with pytest.raises((VerificationError, ValueError)):
        verifier.verify_message(decode_timestamp_response(bytes(reply)), MESSAGE)
