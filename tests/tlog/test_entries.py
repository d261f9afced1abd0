"""Log entries: canonical DER, every kind round-trips, and whatever is not a version-1
entry in DER is refused with a LogFormatError."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_TIME
from trustkit import tlog
from trustkit.clock import FixedClock
from trustkit.errors import LogFormatError
from trustkit.testing import make_pki

AT = datetime(2026, 12, 4, 9, 30, 15, tzinfo=UTC)
ISSUER = hashlib.sha256(b"a CA key").digest()

EVENTS = [
    tlog.Revoked(0x1234567890ABCDEF, AT, "keyCompromise", datetime(2026, 12, 1, tzinfo=UTC)),
    tlog.Revoked(7, AT),
    tlog.Revoked(8, AT, "certificateHold"),
    tlog.CRLPublished(42, "full", AT, hashlib.sha256(b"crl").digest()),
    tlog.CRLPublished(43, "delta", AT, hashlib.sha256(b"delta").digest()),
    tlog.CAEvent("ca-created", "CN=Republic of Example Root CA,C=EX"),
    tlog.CAEvent("key-rotated", "CN=Citizen CA,C=EX", "new key on the token, label citizen-2027"),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_every_kind_round_trips(event: object) -> None:
    entry = tlog.LogEntry(AT, ISSUER, event)  # type: ignore[arg-type]
    der = entry.encode()
    assert tlog.parse_entry(der) == entry
    assert entry.encode() == der  # one action, one encoding, one leaf hash


def test_a_certificate_travels_as_the_bytes_signed(tmp_path: Path) -> None:
    with make_pki(tmp_path, FixedClock(TEST_TIME)) as pki:
        issued = pki.issue_sample("tls-server").issued
        ca = pki.issuing
    der = issued.certificate.public_bytes(Encoding.DER)
    entry = tlog.LogEntry(AT, tlog.issuer_id(ca.certificate), tlog.CertificateIssued(der))
    encoded = entry.encode()
    parsed = tlog.parse_entry(encoded)
    assert isinstance(parsed.event, tlog.CertificateIssued)
    assert parsed.event.der == der and parsed.event.certificate == issued.certificate
    spki = ca.certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    assert parsed.issuer == hashlib.sha256(spki).digest()
    # OpenSSL reads the entry as the DER the module describes.
    path = tmp_path / "entry.der"
    path.write_bytes(encoded)
    shown = subprocess.run(
        ["openssl", "asn1parse", "-inform", "DER", "-in", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "GENERALIZEDTIME   :20261204093015Z" in shown  # the time
    assert "prim: cont [ 0 ]" in shown  # the certificate alternative, its DER as the value


def test_microseconds_are_dropped_so_the_encoding_is_canonical() -> None:
    entry = tlog.LogEntry(AT.replace(microsecond=999), ISSUER, tlog.Revoked(1, AT))
    assert tlog.parse_entry(entry.encode()).time == AT


def _der() -> bytes:
    return tlog.LogEntry(AT, ISSUER, tlog.Revoked(7, AT, "keyCompromise")).encode()


@pytest.mark.parametrize(
    ("der", "message"),
    [
        (b"", "not a version-1"),
        (b"\x30\x00", "not a version-1"),
        (_der() + b"\x00", "not a version-1"),
        (_der()[:-1], "not a version-1"),
        (_der().replace(b"\x02\x01\x01", b"\x02\x01\x02", 1), "version 2"),
        # BER: the outer length in long form, where DER takes the short one.
        (b"\x30\x81" + _der()[1:], "not in DER|not a version-1"),
    ],
)
def test_what_is_not_a_der_v1_entry_is_refused(der: bytes, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        tlog.parse_entry(der)


def test_bad_fields_are_refused_when_encoding() -> None:
    with pytest.raises(LogFormatError, match="issuer is 20 bytes"):
        tlog.LogEntry(AT, b"x" * 20, tlog.Revoked(1, AT)).encode()
    with pytest.raises(LogFormatError, match="not an RFC 5280 CRLReason"):
        tlog.LogEntry(AT, ISSUER, tlog.Revoked(1, AT, "lostMyCard")).encode()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_are_refused_by_name(data: bytes) -> None:
    try:
        tlog.parse_entry(data)
    except LogFormatError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_der()) - 1), st.integers(1, 255))
def test_a_changed_byte_never_decodes_to_a_different_encoding(position: int, xor: int) -> None:
    data = bytearray(_der())
    data[position] ^= xor
    try:
        entry = tlog.parse_entry(bytes(data))
    except LogFormatError:
        return
    # Whatever still parses is canonical: it encodes back to exactly these bytes.
    assert entry.encode() == bytes(data)
