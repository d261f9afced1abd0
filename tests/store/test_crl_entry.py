"""The store's CRL entry encoder against cryptography's own CRL encoding.

Every reason code, serial lengths around the octet boundaries and the
UTCTime/GeneralizedTime switch (RFC 5280 4.1.2.5): the TBSCertList made with
the entry spliced in must be byte for byte the one cryptography builds with
the same entry.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit._asn1 import assemble_crl, crl_tbs_with_entries
from trustkit._asn1 import encode_revoked_entry as asn1crypto_entry
from trustkit.store._entry import encode_revoked_entry

KEY = ec.generate_private_key(ec.SECP256R1())
ISSUER = x509.Name.from_rfc4514_string("CN=Entry Test CA,C=EX")
THIS_UPDATE = datetime(2026, 1, 15, 12, tzinfo=UTC)
REVOKED_AT = datetime(2026, 1, 10, 8, 30, 15, tzinfo=UTC)


def _builder() -> x509.CertificateRevocationListBuilder:
    return (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ISSUER)
        .last_update(THIS_UPDATE)
        .next_update(THIS_UPDATE + timedelta(days=1))
    )


TEMPLATE = _builder().sign(KEY, hashes.SHA256()).public_bytes(Encoding.DER)


def _reference_tbs(
    serial: int, at: datetime, reason: x509.ReasonFlags | None, invalidity: datetime | None
) -> bytes:
    entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
    if reason is not None and reason is not x509.ReasonFlags.unspecified:
        entry = entry.add_extension(x509.CRLReason(reason), critical=False)
    if invalidity is not None:
        entry = entry.add_extension(x509.InvalidityDate(invalidity), critical=False)
    crl = _builder().add_revoked_certificate(entry.build()).sign(KEY, hashes.SHA256())
    return crl.tbs_certlist_bytes


def _ours(
    serial: int, at: datetime, reason: x509.ReasonFlags | None, invalidity: datetime | None
) -> bytes:
    entry = encode_revoked_entry(serial, at, None if reason is None else reason.value, invalidity)
    return crl_tbs_with_entries(TEMPLATE, [entry])


@pytest.mark.parametrize("reason", [None, *x509.ReasonFlags], ids=str)
@pytest.mark.parametrize("invalidity", [None, datetime(2026, 1, 9, 23, 59, 59, tzinfo=UTC)])
def test_every_reason_code_encodes_as_cryptography_does(
    reason: x509.ReasonFlags | None, invalidity: datetime | None
) -> None:
    assert _ours(0x1234, REVOKED_AT, reason, invalidity) == _reference_tbs(
        0x1234, REVOKED_AT, reason, invalidity
    )


SERIALS = [1, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 2**63, 2**64 - 1, 2**152, 2**159 - 1]


@pytest.mark.parametrize("serial", SERIALS, ids=hex)
def test_every_serial_length_encodes_as_cryptography_does(serial: int) -> None:
    reason = x509.ReasonFlags.key_compromise
    assert _ours(serial, REVOKED_AT, reason, None) == _reference_tbs(
        serial, REVOKED_AT, reason, None
    )


TIMES = [
    datetime(1950, 1, 1, tzinfo=UTC),  # first UTCTime year
    datetime(2049, 12, 31, 23, 59, 59, tzinfo=UTC),  # last UTCTime second
    datetime(2050, 1, 1, tzinfo=UTC),  # first GeneralizedTime second
    datetime(2050, 1, 1, 0, 0, 0, 999_999, tzinfo=UTC),  # no fractional seconds (4.1.2.5.2)
    datetime(2026, 6, 1, 10, 11, 12, 345_678, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
]


@pytest.mark.parametrize("at", TIMES, ids=str)
def test_times_either_side_of_2050_encode_as_cryptography_does(at: datetime) -> None:
    reason = x509.ReasonFlags.superseded
    whole = at.replace(microsecond=0)
    ours = _ours(77, at, reason, at)
    assert ours == _reference_tbs(77, whole, reason, whole)
    # Decoded by cryptography: the same values come back.
    entry = encode_revoked_entry(77, at, reason.value, at)
    crl = x509.load_der_x509_crl(_signed_with(entry))
    revoked = crl.get_revoked_certificate_by_serial_number(77)
    assert revoked is not None
    assert revoked.revocation_date_utc == whole
    assert revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason is reason
    invalidity = revoked.extensions.get_extension_for_class(x509.InvalidityDate).value
    assert invalidity.invalidity_date_utc == whole


def _signed_with(entry: bytes) -> bytes:
    tbs = crl_tbs_with_entries(TEMPLATE, [entry])
    return assemble_crl(TEMPLATE, tbs, KEY.sign(tbs, ec.ECDSA(hashes.SHA256())))


def test_a_naive_or_foreign_zone_time_is_read_as_utc() -> None:
    local = datetime(2026, 1, 10, 10, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    assert encode_revoked_entry(5, local, None, None) == encode_revoked_entry(
        5, REVOKED_AT, None, None
    )
    # Mirror: a different instant is a different entry.
    assert encode_revoked_entry(5, REVOKED_AT + timedelta(seconds=1), None, None) != (
        encode_revoked_entry(5, REVOKED_AT, None, None)
    )


@pytest.mark.parametrize("serial", [0, -1, -128, -129, -(2**70)])
def test_zero_and_negative_serials_of_legacy_certificates_encode_as_asn1crypto_does(
    serial: int,
) -> None:
    # cryptography refuses to build these; asn1crypto is the reference (X.690 8.3).
    assert encode_revoked_entry(serial, REVOKED_AT, "keyCompromise", None) == asn1crypto_entry(
        serial, REVOKED_AT, "keyCompromise", None
    )


def test_an_unknown_reason_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match="reason: 'compromised'"):
        encode_revoked_entry(1, REVOKED_AT, "compromised", None)
