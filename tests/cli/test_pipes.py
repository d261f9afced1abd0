"""A reader that goes away (``trustkit inspect big.crl | head -1``) ends the command quietly.

Python ignores SIGPIPE, so writing to a closed pipe raises ``BrokenPipeError``;
it used to surface as ``trustkit: error: Broken pipe`` and exit status 1. A
Unix tool ends silently with 141 (128 + SIGPIPE), and so does trustkit now.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

ENTRIES = 3000
"""Revoked entries in the CRL: its description is far larger than a pipe's buffer."""


@pytest.fixture(scope="module")
def big_crl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name.from_rfc4514_string("CN=Pipe Test CA,C=EX")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(name)
        .last_update(at)
        .next_update(at + timedelta(days=7))
    )
    for serial in range(1, ENTRIES + 1):
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at)
        builder = builder.add_revoked_certificate(entry.build())
    crl = builder.sign(key, hashes.SHA256())
    path = tmp_path_factory.mktemp("pipes") / "big.crl"
    path.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return path


def _inspect(crl: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "trustkit.cli", "inspect", str(crl), *extra],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("extra", [(), ("--json",)], ids=["text", "json"])
def test_a_closed_pipe_ends_the_command_quietly(big_crl: Path, extra: tuple[str, ...]) -> None:
    with _inspect(big_crl, *extra) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # `| true`: the reader is gone before the first write
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 128 + signal.SIGPIPE
    assert stderr == b""


def test_a_reader_that_reads_one_line_and_leaves(big_crl: Path) -> None:
    with _inspect(big_crl) as process:
        assert process.stdout is not None and process.stderr is not None
        assert process.stdout.readline() == b"[crl]\n"  # `| head -1`
        process.stdout.close()
        stderr = process.stderr.read()
        # Whether the rest still fitted in the pipe is the kernel's business; no words either way.
        assert process.wait(timeout=120) in (0, 128 + signal.SIGPIPE)
    assert stderr == b""


def test_a_reader_that_reads_everything_gets_everything(big_crl: Path) -> None:
    # The twin: the same command with a patient reader succeeds and prints every entry.
    result = subprocess.run(
        [sys.executable, "-m", "trustkit.cli", "inspect", str(big_crl)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    assert result.stdout.count(b"\n") > ENTRIES
