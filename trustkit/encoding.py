"""PEM and DER helpers, serial-number text, and loading of X.509 objects.

Every loader accepts PEM or DER, whichever it is given, and turns parse
failures into :class:`~trustkit.errors.DecodeError` naming what was expected.
"""

from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from cryptography import x509
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509 import ocsp

from .errors import DecodeError

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "PemBlock",
    "format_serial",
    "is_pem",
    "load_certificate",
    "load_certificates",
    "load_crl",
    "load_csr",
    "load_ocsp_response",
    "parse_serial",
    "pem_encode",
    "read_blocks",
]

DEFAULT_MAX_INPUT_BYTES = 16 * 1024 * 1024
"""The most the CLI reads of a certificate bundle, CSR, CRL, key, signature or OCSP
message (16 MiB); beyond it an :class:`~trustkit.errors.InputTooLargeError` names the limit.
The readers here use memory proportional to the input whatever its size."""

_BEGIN = b"-----BEGIN "
_DASHES = b"-----"
_LABEL_CHARACTERS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "
"""RFC 7468 3 allows printable characters but hyphen-minus in a label; every label in use
is upper case, digits and spaces, and OpenSSL reads no other."""
_WHITESPACE = b" \t\r\n\x0b\x0c"
"""Whitespace in a PEM body, dropped before the base64 is decoded (RFC 7468 3, laxbase64text)."""


@dataclass(frozen=True)
class PemBlock:
    """One object read from a file: its PEM label (``None`` for raw DER) and DER bytes."""

    label: str | None
    der: bytes


def _one_der_sequence(data: bytes) -> bool:
    """Whether ``data`` is exactly one DER SEQUENCE: its definite length (X.690 8.1.3)
    ends where the input does."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    count = first & 0x7F
    if not 1 <= count <= 8 or len(data) < 2 + count:
        return False
    return 2 + count + int.from_bytes(data[2 : 2 + count], "big") == len(data)


def is_pem(data: bytes) -> bool:
    """Whether ``data`` holds at least one PEM block.

    A DER object may carry PEM text inside it (an attached signature over a PEM file, a
    certificate whose extension quotes one): one whole DER SEQUENCE is DER whatever it
    contains, since PEM text never starts with the 0x30 and the length octets that
    would span it exactly.
    """
    return b"-----BEGIN " in data and not _one_der_sequence(data)


def _pem_blocks(data: bytes) -> Iterator[tuple[str, int, int]]:
    """``(label, body start, body end)`` of each PEM block of ``data``, in order.

    A scan with ``bytes.find``, so time and memory stay linear in the input: the
    regular expression this replaces kept backtracking state for every body byte
    (about 175 bytes of memory per input byte). The body never holds ``-----``
    (RFC 7468 bodies are base64 and RFC 1421 headers), so the first ``-----``
    after a BEGIN line must start its END line; a BEGIN without its END fails
    there instead of scanning on to the end of the input, which would make a run
    of BEGIN lines quadratic.
    """
    position = 0
    while (begin := data.find(_BEGIN, position)) >= 0:
        label_start = begin + len(_BEGIN)
        label_end = data.find(_DASHES, label_start)
        if label_end < 0:
            return
        label = data[label_start:label_end]
        body_start = label_end + len(_DASHES)
        if data.startswith(b"\r\n", body_start):
            body_start += 2
        elif data.startswith(b"\n", body_start):
            body_start += 1
        else:
            body_start = -1  # the BEGIN line goes on: not a boundary (RFC 7468 3)
        if body_start < 0 or not label or label.translate(None, _LABEL_CHARACTERS):
            position = label_end
            continue
        body_end = data.find(_DASHES, body_start)
        if body_end < 0:
            return
        end_line = b"-----END " + label + _DASHES
        if data.startswith(end_line, body_end):
            yield label.decode("ascii"), body_start, body_end
            position = body_end + len(end_line)
        else:
            position = body_end  # perhaps the BEGIN of the next block


def _pem_body(data: bytes, start: int, end: int) -> bytes:
    """The base64 of a PEM body without whitespace or RFC 1421 header lines."""
    body = data[start:end]
    if b":" in body:
        # Encapsulated headers (RFC 1421 4.4: Proc-Type, DEK-Info) are "name: value" lines.
        body = b"".join(line for line in body.splitlines() if b":" not in line)
    return body.translate(None, _WHITESPACE)


def read_blocks(data: bytes, *, what: str = "input") -> list[PemBlock]:
    """Split ``data`` into DER objects: every PEM block, or the whole input as DER.

    Memory stays within a small multiple of ``len(data)``: the input, one body
    copy while it is cleaned, and the decoded DER.
    """
    if not is_pem(data):
        if not data or data[0] != 0x30:
            raise DecodeError(f"{what}: neither PEM nor DER (DER starts with a SEQUENCE)")
        return [PemBlock(None, data)]
    blocks = []
    for label, start, end in _pem_blocks(data):
        try:
            der = base64.b64decode(_pem_body(data, start, end), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecodeError(f"{what}: PEM block {label!r} has bad base64") from exc
        blocks.append(PemBlock(label, der))
    if not blocks:
        raise DecodeError(f"{what}: PEM header without a matching END line")
    return blocks


def pem_encode(label: str, der: bytes) -> bytes:
    """``der`` as a PEM block with ``label`` (RFC 7468), lines of 64 characters."""
    b64 = base64.b64encode(der)
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (
        f"-----BEGIN {label}-----\n".encode()
        + b"\n".join(lines)
        + f"\n-----END {label}-----\n".encode()
    )


def _blocks_of(data: bytes, labels: tuple[str, ...], what: str) -> list[bytes]:
    ders = [b.der for b in read_blocks(data, what=what) if b.label is None or b.label in labels]
    if not ders:
        raise DecodeError(f"{what}: no {labels[0]} PEM block found")
    return ders


def load_certificates(data: bytes, *, what: str = "certificate") -> list[x509.Certificate]:
    """Every certificate in ``data`` (a PEM bundle, or one DER certificate)."""
    certs = []
    for der in _blocks_of(data, ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"), what):
        try:
            with warnings.catch_warnings():
                # A serial that is not positive breaks RFC 5280 4.1.2.2, which still asks
                # users to cope with it: validation does (PKITS 4.4.14 and 4.4.15 carry
                # such serials), CMS signing refuses it; cryptography's warning is for us.
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                certs.append(x509.load_der_x509_certificate(der))
        except (ValueError, x509.InvalidVersion) as exc:
            raise DecodeError(f"{what}: not a valid X.509 certificate ({exc})") from exc
    return certs


def load_certificate(data: bytes, *, what: str = "certificate") -> x509.Certificate:
    """The first certificate in ``data``, PEM or DER."""
    return load_certificates(data, what=what)[0]


def load_csr(data: bytes, *, what: str = "CSR") -> x509.CertificateSigningRequest:
    """A PKCS#10 certificate signing request, PEM or DER."""
    der = _blocks_of(data, ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"), what)[0]
    try:
        return x509.load_der_x509_csr(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise DecodeError(f"{what}: not a valid PKCS#10 request ({exc})") from exc


def load_crl(data: bytes, *, what: str = "CRL") -> x509.CertificateRevocationList:
    """A certificate revocation list, PEM or DER."""
    der = _blocks_of(data, ("X509 CRL",), what)[0]
    try:
        return x509.load_der_x509_crl(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError
        raise DecodeError(f"{what}: not a valid X.509 CRL ({exc})") from exc


def load_ocsp_response(data: bytes, *, what: str = "OCSP response") -> ocsp.OCSPResponse:
    """An OCSP response (RFC 6960 4.2.1), DER or the first PEM block."""
    der = read_blocks(data, what=what)[0].der
    try:
        return ocsp.load_der_ocsp_response(der)
    except ValueError as exc:
        raise DecodeError(f"{what}: not a valid OCSP response (RFC 6960 4.2.1): {exc}") from exc


def format_serial(serial: int) -> str:
    """A serial number as OpenSSL's ``-serial`` prints it: upper-case hex, even length."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


def parse_serial(text: str) -> int:
    """A serial number from hex text: ``0A1B``, ``0a:1b`` or ``0x0a1b``."""
    cleaned = text.strip().replace(":", "").replace(" ", "")
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    if not cleaned or not re.fullmatch(r"[0-9A-Fa-f]+", cleaned):
        raise DecodeError(f"serial {text!r}: expected hexadecimal, as OpenSSL prints it")
    value = int(cleaned, 16)
    if value <= 0:
        raise DecodeError(f"serial {text!r}: must be positive (RFC 5280 4.1.2.2)")
    return value
