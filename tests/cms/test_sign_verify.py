"""Signing and verifying CMS signatures in-process: every key type, and the twins that fail."""

from __future__ import annotations

import io
import os
import tracemalloc
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit._asn1 import ID_AA_TIMESTAMP_TOKEN, add_unsigned_attribute, parse_signed_data
from trustkit.clock import FixedClock
from trustkit.cms import DigestAlgorithm, RSAPadding, Signer, cosign, sign
from trustkit.cms.verify import CheckName, Outcome, TimeSource, verify_cms
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.errors import InvalidSignatureError, SignatureError, TrustkitError
from trustkit.keys import generate_key
from trustkit.names import format_name, parse_name
from trustkit.tsa import LocalTimestamper

from .conftest import KEY_TYPES, SIGNED_AT, VERIFY_AT, Pki

CONTENT = b"Decision 2025/17: the application is granted.\n" * 100


def _signer(pki: Pki, key_type: str, **kwargs: object) -> Signer:
    key, cert = pki.signers[key_type]
    return Signer(key, cert, pki.chain, **kwargs)  # type: ignore[arg-type]


def _verify(pki: Pki, content: bytes | None, der: bytes, **kwargs: object) -> list:  # type: ignore[type-arg]
    return verify_cms(
        content,
        der,
        trust_anchors=[pki.root.certificate],
        at=VERIFY_AT,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("key_type", KEY_TYPES)
@pytest.mark.parametrize("attached", [False, True], ids=["detached", "attached"])
def test_sign_and_verify(pki: Pki, key_type: str, attached: bool) -> None:
    der = sign(CONTENT, _signer(pki, key_type), at=SIGNED_AT, attached=attached)
    (report,) = _verify(pki, None if attached else CONTENT, der)
    assert report.valid
    assert report.subject == format_name(pki.signers[key_type][1].subject)
    assert report.signing_time == SIGNED_AT
    assert report.check(CheckName.SIGNING_CERTIFICATE).outcome is Outcome.PASSED
    assert report.check(CheckName.TIMESTAMP).outcome is Outcome.ABSENT
    assert report.validation_time_source is TimeSource.VERIFICATION_TIME
    assert report.path[-1] == pki.root.certificate


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_tampered_content_is_invalid(pki: Pki, key_type: str) -> None:
    der = sign(CONTENT, _signer(pki, key_type), at=SIGNED_AT)
    tampered = b"X" + CONTENT[1:]
    with pytest.raises(InvalidSignatureError, match="message-digest") as info:
        _verify(pki, tampered, der)
    (report,) = info.value.reports
    assert report.check(CheckName.MESSAGE_DIGEST).outcome is Outcome.FAILED  # type: ignore[attr-defined]


@pytest.mark.parametrize("digest", list(DigestAlgorithm))
@pytest.mark.parametrize("padding", list(RSAPadding))
def test_rsa_paddings_and_hashes(pki: Pki, digest: DigestAlgorithm, padding: RSAPadding) -> None:
    signer = _signer(pki, "rsa-2048", digest=digest, rsa_padding=padding)
    der = sign(CONTENT, signer, at=SIGNED_AT)
    (report,) = _verify(pki, CONTENT, der)
    assert report.digest_algorithm == digest.value
    assert ("pss" in report.signature_algorithm) is (padding is RSAPadding.PSS)


def test_wrong_root_is_invalid(pki: Pki) -> None:
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    with pytest.raises(InvalidSignatureError, match="certificate-path"):
        verify_cms(CONTENT, der, trust_anchors=[pki.other_root.certificate], at=VERIFY_AT)


def test_wrong_key_is_refused(pki: Pki) -> None:
    _, cert = pki.signers["ec-p256"]
    with pytest.raises(SignatureError, match="does not match"):
        sign(CONTENT, Signer(generate_key("ec-p256"), cert), at=SIGNED_AT)


def test_ed25519_needs_sha512(pki: Pki) -> None:
    with pytest.raises(SignatureError, match="RFC 8419"):
        sign(CONTENT, _signer(pki, "ed25519", digest=DigestAlgorithm.SHA256), at=SIGNED_AT)


def test_tampered_signature_value_is_invalid(pki: Pki) -> None:
    der = sign(CONTENT, _signer(pki, "rsa-2048"), at=SIGNED_AT)
    signature = parse_signed_data(der).signers[0].signature
    position = der.index(signature) + 10
    tampered = der[:position] + bytes([der[position] ^ 1]) + der[position + 1 :]
    with pytest.raises(InvalidSignatureError, match="signature: does not verify"):
        _verify(pki, CONTENT, tampered)


def test_pem_signature_is_read(pki: Pki) -> None:
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    assert _verify(pki, CONTENT, pem_encode("CMS", der))[0].valid


def test_cosign_keeps_existing_signer_bytes(pki: Pki) -> None:
    first = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    both = cosign(
        first, CONTENT, _signer(pki, "rsa-2048", rsa_padding=RSAPadding.PSS), at=SIGNED_AT
    )
    before, after = parse_signed_data(first), parse_signed_data(both)
    # SignerInfos is a SET OF: DER may reorder it, but the existing one is unchanged.
    assert before.signers[0] in after.signers
    assert len(after.signers) == 2
    reports = _verify(pki, CONTENT, both)
    assert {r.subject for r in reports} == {
        format_name(pki.signers["ec-p256"][1].subject),
        format_name(pki.signers["rsa-2048"][1].subject),
    }


def test_cosign_refuses_other_content(pki: Pki) -> None:
    first = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    with pytest.raises(SignatureError, match="content differs"):
        cosign(
            first,
            b"other content",
            _signer(pki, "ec-p384", digest=DigestAlgorithm.SHA256),
            at=SIGNED_AT,
        )


def test_one_bad_cosigner_makes_it_invalid(pki: Pki) -> None:
    first = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    other_key = generate_key("ec-p256")
    subject = parse_name("CN=Outsider,O=Other,C=EX,2.5.4.97=VATEX-9")
    outsider = pki.other_root.issue(create_csr(other_key, subject), "org-seal", at=SIGNED_AT)
    both = cosign(first, CONTENT, Signer(other_key, outsider.certificate), at=SIGNED_AT)
    with pytest.raises(InvalidSignatureError) as info:
        _verify(pki, CONTENT, both)
    validity = {r.subject: r.valid for r in info.value.reports}  # type: ignore[attr-defined]
    assert validity == {
        format_name(pki.signers["ec-p256"][1].subject): True,
        "CN=Outsider,O=Other,C=EX,organizationIdentifier=VATEX-9": False,
    }


def test_signature_timestamp(pki: Pki) -> None:
    timestamper = LocalTimestamper(pki.tsa, FixedClock(SIGNED_AT))
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT, timestamper=timestamper)
    (report,) = _verify(pki, CONTENT, der)
    assert report.timestamp is not None and report.timestamp.valid
    assert report.timestamp.time == SIGNED_AT
    assert report.timestamp.tsa == "CN=Test TSA,O=Test"
    assert report.validation_time == SIGNED_AT
    assert report.validation_time_source is TimeSource.TIMESTAMP


def test_timestamp_of_another_signature_is_invalid(pki: Pki) -> None:
    """The twin: a token moved from another signature does not stamp this one."""
    timestamper = LocalTimestamper(pki.tsa, FixedClock(SIGNED_AT))
    stamped = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT, timestamper=timestamper)
    token = parse_signed_data(stamped).signers[0].timestamp_tokens[0]
    plain = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    moved = add_unsigned_attribute(plain, 0, ID_AA_TIMESTAMP_TOKEN, token)
    with pytest.raises(InvalidSignatureError, match="imprint"):
        _verify(pki, CONTENT, moved)


def test_tampered_timestamp_is_invalid(pki: Pki) -> None:
    timestamper = LocalTimestamper(pki.tsa, FixedClock(SIGNED_AT))
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT, timestamper=timestamper)
    token = parse_signed_data(der).signers[0].timestamp_tokens[0]
    at = der.index(token) + len(token) - 20  # inside the TSA's signature value
    tampered = der[:at] + bytes([der[at] ^ 0x01]) + der[at + 1 :]
    with pytest.raises(TrustkitError):
        _verify(pki, CONTENT, tampered)


def test_timestamp_from_untrusted_tsa_is_invalid(pki: Pki) -> None:
    timestamper = LocalTimestamper(pki.tsa, FixedClock(SIGNED_AT))
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT, timestamper=timestamper)
    issuing_only = [pki.root.certificate]
    assert verify_cms(CONTENT, der, trust_anchors=issuing_only, at=VERIFY_AT)
    with pytest.raises(InvalidSignatureError):
        verify_cms(CONTENT, der, trust_anchors=[pki.other_root.certificate], at=VERIFY_AT)


def test_detached_signature_without_content_is_refused(pki: Pki) -> None:
    der = sign(CONTENT, _signer(pki, "ec-p256"), at=SIGNED_AT)
    with pytest.raises(SignatureError, match="detached"):
        _verify(pki, None, der)


LARGE = 256 << 20
"""A sparse file of 256 MiB: hashed in 1 MiB chunks, so memory must stay near one chunk."""


def test_streaming_memory_is_bounded(pki: Pki, tmp_path: Path) -> None:
    path = tmp_path / "large.bin"
    with path.open("wb") as handle:
        handle.truncate(LARGE)
        handle.seek(LARGE // 2)
        handle.write(b"middle")
    signer = _signer(pki, "ec-p256")
    seen: list[int] = []
    tracemalloc.start()
    try:
        with path.open("rb") as stream:
            der = sign(stream, signer, at=SIGNED_AT, progress=seen.append)
        with path.open("rb") as stream:
            (report,) = verify_cms(stream, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.valid
    assert sum(seen) == LARGE
    assert peak < 8 << 20, f"peak {peak} bytes for a {LARGE}-byte file"
    assert os.path.getsize(path) == LARGE


def test_signer_validates_its_arguments(pki: Pki) -> None:
    key, cert = pki.signers["ec-p256"]
    with pytest.raises(TypeError, match="certificate"):
        Signer(key, cert.public_bytes(Encoding.DER))  # type: ignore[arg-type]
    assert sign(io.BytesIO(CONTENT), Signer(key, cert, pki.chain), at=SIGNED_AT)
