"""trustkit.encoding: PEM splitting on hostile input (regressions from tests/fuzz/), and in
memory proportional to the input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trustkit.encoding import PemBlock, load_certificates, load_crl, pem_encode, read_blocks
from trustkit.errors import DecodeError

HANG_GUARD_SECONDS = 60
"""Far above what the inputs below need (milliseconds); a hang fails instead of blocking CI."""


@pytest.fixture
def hang_guard() -> Iterator[None]:
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {HANG_GUARD_SECONDS} s: quadratic or worse")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HANG_GUARD_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_run_of_unmatched_begin_lines(hang_guard: None) -> None:
    """Each BEGIN used to scan to the end of the input for its END: 288 KB took 74 s."""
    flood = b"-----BEGIN CERTIFICATE-----\n" * 40_000  # 1.1 MB
    with pytest.raises(DecodeError, match="without a matching END"):
        read_blocks(flood)
    # The twin: a real block after the flood is still found.
    block = pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x07")
    assert read_blocks(flood + block) == [PemBlock("CERTIFICATE", b"\x30\x03\x02\x01\x07")]


def test_begin_lines_between_long_bodies(hang_guard: None) -> None:
    body = b"A" * 64 + b"\n"
    data = (b"-----BEGIN X509 CRL-----\n" + body * 100) * 500  # 3 MB, no END anywhere
    with pytest.raises(DecodeError, match="without a matching END"):
        read_blocks(data)


def test_headers_and_crlf_still_read() -> None:
    der = b"\x30\x03\x02\x01\x07"
    text = pem_encode("X509 CRL", der).replace(b"\n", b"\r\n")
    with_headers = text.replace(b"-----\r\n", b"-----\r\nProc-Type: 4,ENCRYPTED\r\n\r\n", 1)
    assert read_blocks(b"text before\n" + with_headers) == [PemBlock("X509 CRL", der)]
    # A body holding another block's boundary is not one block (RFC 7468 2).
    nested = pem_encode("A", der).replace(b"-----\n", b"-----\n" + pem_encode("B", der), 1)
    assert read_blocks(nested) == [PemBlock("B", der)]
    with pytest.raises(DecodeError, match="bad base64"):
        read_blocks(pem_encode("CERTIFICATE", der).replace(b"MAMC", b"M*MC"))


def test_crl_of_unknown_version_is_decode_error() -> None:
    """Found by tests/fuzz/fuzz_crl.py: cryptography's InvalidVersion is not a ValueError."""
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CRL Issuer")])
    at = datetime(2026, 1, 1, tzinfo=UTC)
    der = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer)
        .last_update(at)
        .next_update(at + timedelta(days=1))
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    assert load_crl(der).issuer == issuer  # the twin, version v2
    at_version = der.index(b"\x02\x01\x01") + 2  # the first INTEGER of tbsCertList
    with pytest.raises(DecodeError, match=r"not a valid X\.509 CRL"):
        load_crl(der[:at_version] + b"\x11" + der[at_version + 1 :])


def test_certificate_with_zero_serial_loads_without_a_warning() -> None:
    # RFC 5280 4.1.2.2 forbids the serial, yet asks users to cope; pytest turns any
    # warning that escapes into an error here.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zero")])
    when = datetime(2026, 1, 1, tzinfo=UTC)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cryptography warns while making it
        der = (
            x509.CertificateBuilder(
                issuer_name=name,
                subject_name=name,
                public_key=key.public_key(),
                serial_number=0,
                not_valid_before=when,
                not_valid_after=when + timedelta(days=1),
            )
            .sign(key, hashes.SHA256())
            .public_bytes(Encoding.DER)
        )
    (cert,) = load_certificates(pem_encode("CERTIFICATE", der))
    assert cert.subject == name


def test_label_rules_of_the_begin_line() -> None:
    der = b"\x30\x03\x02\x01\x07"
    good = pem_encode("X509 CRL", der)
    # A label outside RFC 7468's upper case, digits and spaces is no boundary.
    with pytest.raises(DecodeError, match="without a matching END"):
        read_blocks(good.replace(b"X509 CRL", b"x509 crl"))
    # Nor is a BEGIN line with more on it; the block that follows is still found.
    assert read_blocks(b"-----BEGIN A----- trailing\n" + good) == [PemBlock("X509 CRL", der)]
    # An empty label, then a real BEGIN on the same line.
    assert read_blocks(b"-----BEGIN " + good) == [PemBlock("X509 CRL", der)]
    # An END that names another label closes nothing.
    with pytest.raises(DecodeError, match="without a matching END"):
        read_blocks(good.replace(b"END X509 CRL", b"END X509 CRLS"))
    # Whitespace inside the base64 is dropped (RFC 7468 3, laxbase64text).
    spaced = pem_encode("CERTIFICATE", der).replace(b"MAMC", b"MA MC\t")
    assert read_blocks(spaced) == [PemBlock("CERTIFICATE", der)]


def test_der_holding_pem_text_is_der() -> None:
    """One DER SEQUENCE is DER even when its content quotes a PEM block."""
    inner = pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x07")
    for content in (inner, inner * 3, b"x" * 300 + inner):
        octets = bytes((0x04,)) + _length(len(content)) + content
        der = b"\x30" + _length(len(octets)) + octets
        assert read_blocks(der) == [PemBlock(None, der)]
        # The twins: with a byte more or less it is not one element, so the PEM inside
        # is what is read; and PEM text around it is PEM.
        assert read_blocks(der + b"\n")[0].label == "CERTIFICATE"
        assert read_blocks(der[:-1])[0].label == "CERTIFICATE"
        assert read_blocks(b"text\n" + der)[0].label == "CERTIFICATE"


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes((size,))
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


PEAK_SCRIPT = """
import json, resource, sys
from trustkit.encoding import read_blocks
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
base = peak()
data = open(sys.argv[1], "rb").read()
blocks = read_blocks(data)
print(json.dumps({"base": base, "peak": peak(), "blocks": len(blocks)}))
"""

MEMORY_FACTOR = 10
"""Peak memory over the interpreter's own, per input byte: the input, a cleaned copy of
each PEM body and the DER make about 3; the regular expression this replaced took 175."""


def _extra_peak(path: Path) -> tuple[int, int]:
    result = subprocess.run(
        [sys.executable, "-c", PEAK_SCRIPT, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={"PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    facts = json.loads(result.stdout)
    return facts["peak"] - facts["base"], facts["blocks"]


@pytest.mark.parametrize("kind", ["one block", "many blocks"])
def test_pem_memory_is_linear(tmp_path: Path, kind: str) -> None:
    """4 MiB of PEM, in a fresh process: peak RSS grows by under 10 bytes per input byte.

    The old regular expression grew it by about 700 MB here; the bound is generous, and
    no time is measured.
    """
    size = 4 * 1024 * 1024
    if kind == "one block":
        data = pem_encode("PKCS7", b"\x30" + bytes(size * 3 // 4))
        expected = 1
    else:
        block = pem_encode("CERTIFICATE", b"\x30" + bytes(1500))
        expected = size // len(block)
        data = block * expected
    path = tmp_path / "big.pem"
    path.write_bytes(data)
    extra, blocks = _extra_peak(path)
    assert blocks == expected
    assert extra < MEMORY_FACTOR * len(data), f"{extra / len(data):.1f} bytes per input byte"
