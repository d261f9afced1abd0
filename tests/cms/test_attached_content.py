"""An attached signature's content is cut out before asn1crypto decodes the rest
(``trustkit._asn1.cms._without_content``): the same result as decoding it all, one copy
of the content instead of four, and the whole decode kept for anything not DER."""

from __future__ import annotations

import shutil
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit._asn1 import cms as asn1_cms
from trustkit._asn1 import parse_signed_data
from trustkit.cms import Signer, sign
from trustkit.cms.verify import verify_cms
from trustkit.errors import DecodeError, InvalidSignatureError

from .conftest import SIGNED_AT, VERIFY_AT, Pki

CONTENT = b"attached content " * 1000


def _whole(der: bytes) -> asn1_cms.ParsedSignedData:
    """What parse_signed_data gave before: asn1crypto decoding everything."""
    original = asn1_cms._without_content
    asn1_cms._without_content = lambda der: None  # type: ignore[assignment]
    try:
        return parse_signed_data(der)
    finally:
        asn1_cms._without_content = original


def _signed(pki: Pki, content: bytes, *, attached: bool = True) -> bytes:
    key, cert = pki.signers["ec-p256"]
    return sign(content, Signer(key, cert, pki.chain), at=SIGNED_AT, attached=attached)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [0, 1, 127, 128, 65_535, 65_536, 1 << 20])
def test_cut_equals_whole_decode(pki: Pki, size: int) -> None:
    """Content lengths around each DER length form (X.690 8.1.3.4, 8.1.3.5)."""
    content = bytes(range(256)) * (size // 256) + bytes(size % 256)
    der = _signed(pki, content)
    assert asn1_cms._without_content(der) is not None
    parsed = parse_signed_data(der)
    assert parsed == _whole(der)
    assert parsed.content == content


def test_detached_and_malformed_take_the_whole_decode(pki: Pki) -> None:
    detached = _signed(pki, CONTENT, attached=False)
    assert asn1_cms._without_content(detached) is None
    assert parse_signed_data(detached).content is None
    attached = _signed(pki, CONTENT)
    # Trailing bytes: not cut, and the strict whole decode refuses them as before.
    assert asn1_cms._without_content(attached + b"\x00") is None
    with pytest.raises(DecodeError):
        parse_signed_data(attached + b"\x00")
    # A truncated one likewise.
    assert asn1_cms._without_content(attached[:-1]) is None
    with pytest.raises(DecodeError):
        parse_signed_data(attached[:-1])


def test_attached_pem_text_verifies(pki: Pki) -> None:
    """A DER signature over a PEM file: the PEM inside is content, not the signature.
    (Read as PEM before, it found no CMS block and could not be verified.)"""
    content = b"the certificate we agreed on:\n" + pki.root.certificate.public_bytes(Encoding.PEM)
    der = _signed(pki, content)
    (report,) = verify_cms(None, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)
    assert report.valid
    with pytest.raises(InvalidSignatureError):  # the twin: the content changed
        verify_cms(
            None,
            der.replace(b"agreed on", b"agreed to"),
            trust_anchors=[pki.root.certificate],
            at=VERIFY_AT,
        )


def test_tampered_content_still_fails(pki: Pki) -> None:
    der = _signed(pki, CONTENT)
    assert verify_cms(None, der, trust_anchors=[pki.root.certificate], at=VERIFY_AT)[0].valid
    at = der.index(CONTENT[:32]) + 3
    with pytest.raises(InvalidSignatureError, match="message-digest"):
        verify_cms(
            None,
            der[:at] + b"X" + der[at + 1 :],
            trust_anchors=[pki.root.certificate],
            at=VERIFY_AT,
        )


def test_one_copy_of_the_content(pki: Pki) -> None:
    der = _signed(pki, bytes(4 << 20))
    tracemalloc.start()
    try:
        parse_signed_data(der)
        cut_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        _whole(der)
        whole_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cut_peak < 1.5 * len(der) < 3 * len(der) < whole_peak, (cut_peak, whole_peak)


@pytest.mark.interop
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_openssl_streamed_ber_takes_the_whole_decode(pki: Pki, tmp_path: Path) -> None:
    """`openssl cms -sign -stream` writes indefinite lengths (BER): not cut, still verified."""
    key, cert = pki.signers["ec-p256"]
    paths = {}
    for name, data in (
        ("content.bin", CONTENT),
        ("cert.pem", cert.public_bytes(Encoding.PEM)),
        (
            "key.pem",
            key.private_bytes(  # type: ignore[union-attr]
                Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
        ),
    ):
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    result = subprocess.run(
        [
            "openssl",
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-stream",
            "-outform",
            "DER",
            "-in",
            str(paths["content.bin"]),
            "-signer",
            str(paths["cert.pem"]),
            "-inkey",
            str(paths["key.pem"]),
            "-md",
            "sha256",
        ],
        capture_output=True,
        check=True,
    )
    ber = result.stdout
    assert ber[1] == 0x80  # indefinite length
    assert asn1_cms._without_content(ber) is None
    parsed = parse_signed_data(ber)
    assert parsed.content == CONTENT
