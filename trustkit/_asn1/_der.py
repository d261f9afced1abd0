"""DER headers read and written by hand, where asn1crypto would decode or re-encode too much
(X.690 8.1.2, 8.1.3, 10.1)."""

from __future__ import annotations


def _element(der: bytes, offset: int, what: str) -> tuple[int, int, int]:
    """(identifier octet, start, end of the contents) of the DER element at ``offset``
    (X.690 8.1.2, 8.1.3; single-octet tags and definite lengths, as DER has them)."""
    tag = der[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError(f"{what}: unexpected multi-octet tag")
    first = der[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or start + count > len(der):
            raise ValueError(f"{what}: bad length octets")
        length = int.from_bytes(der[start : start + count], "big")
        start += count
    end = start + length
    if end > len(der):
        raise ValueError(f"{what}: truncated")
    return tag, start, end


def _der_header(tag: int, length: int) -> bytes:
    """Identifier and definite-length octets (X.690 8.1.3; the shortest form, DER 10.1)."""
    if length < 0x80:
        return bytes((tag, length))
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big")


def _der_tlv(tag: int, content: bytes) -> bytes:
    return _der_header(tag, len(content)) + content
