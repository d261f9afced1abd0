"""The one source of certificate serial numbers (and other unique numbers).

RFC 5280 section 4.1.2.2: a positive integer of at most 20 octets. CA/Browser
Forum baseline requirements 7.1: at least 64 bits from a CSPRNG. We take 159
random bits: the top bit of the 20th octet stays clear, so the DER encoding is
never longer than 20 octets and the value is never negative.
"""

from __future__ import annotations

import secrets

__all__ = ["SERIAL_BITS", "new_serial"]

SERIAL_BITS = 159
"""Random bits in each serial number: well above the 64 that RFC 5280 practice asks."""

_MIN_SERIAL = 1 << 64
"""Serials below this are drawn again, so every serial has at least 64 significant bits."""


def new_serial() -> int:
    """A fresh random serial number from the operating system's CSPRNG."""
    while True:
        value = secrets.randbits(SERIAL_BITS)
        if value >= _MIN_SERIAL:
            return value
