"""DER of one CRL ``revokedCertificates`` entry, written directly (RFC 5280 5.1.2.6, 5.3).

Why by hand: an entry is a tiny fixed structure and the first CRL after a bulk
revocation encodes hundreds of thousands of them. asn1crypto costs about a
millisecond per entry; cryptography has no entry-level encoder (its
``RevokedCertificateBuilder`` only yields DER inside a whole signed CRL). The
structure written here is the whole of what trustkit puts in an entry::

    RevokedCertificate ::= SEQUENCE {
        userCertificate     INTEGER,
        revocationDate      Time,                    -- 4.1.2.5
        crlEntryExtensions  Extensions OPTIONAL }    -- reasonCode, invalidityDate

Each Extension leaves ``critical`` out: it is FALSE, the DEFAULT, and DER
omits a DEFAULT value (X.690 11.5). The tests compare every reason code,
serial length and time encoding with cryptography's own CRL encoding.
"""

from __future__ import annotations

from datetime import UTC, datetime

_UTC_TIME_YEARS = range(1950, 2050)
"""RFC 5280 4.1.2.5 / 5.1.2.4: UTCTime for 1950-2049, GeneralizedTime otherwise."""

_REASON_CODES = {
    # RFC 5280 5.3.1 CRLReason, by the names x509.ReasonFlags values use.
    "unspecified": 0,
    "keyCompromise": 1,
    "cACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "certificateHold": 6,
    # 7 is not used
    "removeFromCRL": 8,
    "privilegeWithdrawn": 9,
    "aACompromise": 10,
}

# Extension SEQUENCE { extnID id-ce-cRLReasons (2.5.29.21), extnValue OCTET STRING { ENUMERATED } }
_REASON_EXTENSIONS = {
    name: bytes.fromhex("300a0603551d1504030a01") + bytes((code,))
    for name, code in _REASON_CODES.items()
}
# Extension SEQUENCE { extnID id-ce-invalidityDate (2.5.29.24), extnValue OCTET STRING {
# GeneralizedTime (15 octets) } }: RFC 5280 5.3.2 always uses GeneralizedTime.
_INVALIDITY_HEAD = bytes.fromhex("30180603551d180411180f")

_INTEGER = 0x02
_SEQUENCE = 0x30


def _header(tag: int, length: int) -> bytes:
    """Identifier and definite-length octets, the shortest form (X.690 8.1.3, 10.1)."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def _utc(value: datetime) -> datetime:
    # A naive value is UTC already (what SQLite hands back): its fields are used as they are.
    if value.tzinfo is None or value.tzinfo is UTC:
        return value
    return value.astimezone(UTC)


def _generalized(value: datetime) -> bytes:
    # Whole seconds and "Z": RFC 5280 4.1.2.5.2 forbids fractional seconds.
    return b"%04d%02d%02d%02d%02d%02dZ" % (
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def _time(value: datetime) -> bytes:
    value = _utc(value)
    if value.year in _UTC_TIME_YEARS:
        return b"\x17\x0d" + _generalized(value)[2:]  # UTCTime, YYMMDDHHMMSSZ
    return b"\x18\x0f" + _generalized(value)  # GeneralizedTime, YYYYMMDDHHMMSSZ


def encode_revoked_entry(
    serial: int,
    revocation_time: datetime,
    reason: str | None,
    invalidity_date: datetime | None,
) -> bytes:
    """DER of one CRL entry.

    ``reason`` is an RFC 5280 reason name (``keyCompromise``, the values of
    ``x509.ReasonFlags``); ``None`` and ``unspecified`` leave the reasonCode
    out, as 5.3.1 asks. Times are written in whole seconds of UTC.
    """
    # Two's complement in the fewest octets (X.690 8.3.2): one more bit than
    # the magnitude needs, for the sign.
    magnitude = serial if serial >= 0 else ~serial
    size = (magnitude.bit_length() + 8) // 8
    body = _header(_INTEGER, size) + serial.to_bytes(size, "big", signed=True)
    body += _time(revocation_time)
    extensions = b""
    if reason is not None and reason != "unspecified":
        try:
            extensions = _REASON_EXTENSIONS[reason]
        except KeyError:
            raise ValueError(f"reason: {reason!r} is not an RFC 5280 5.3.1 CRLReason") from None
    if invalidity_date is not None:
        extensions += _INVALIDITY_HEAD + _generalized(_utc(invalidity_date))
    if extensions:
        body += _header(_SEQUENCE, len(extensions)) + extensions
    return _header(_SEQUENCE, len(body)) + body
