"""The CLI reads at most 16 MiB of any input file (``$TRUSTKIT_MAX_INPUT`` sets another limit).

Past the limit the command exits 1 with one line naming the file and the limit,
before parsing anything: a regular file is refused on its size alone, a pipe
is read one byte past the limit and no further.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trustkit.cli import cli
from trustkit.cli._common import read_input
from trustkit.encoding import DEFAULT_MAX_INPUT_BYTES
from trustkit.errors import InputError, InputTooLargeError

ROOT = Path(__file__).resolve().parent.parent.parent


def _csr_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "limit.example.gov")])
    csr = x509.CertificateSigningRequestBuilder().subject_name(name).sign(key, hashes.SHA256())
    return csr.public_bytes(Encoding.PEM)


def _inspect(path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["inspect", str(path)], env=env or {})
    return result.exit_code, result.output


def test_default_limit_refuses_one_byte_more(tmp_path: Path) -> None:
    """A sparse file one byte past 16 MiB is refused on its size; 16 MiB itself is read."""
    over = tmp_path / "over.pem"
    with over.open("wb") as stream:
        stream.truncate(DEFAULT_MAX_INPUT_BYTES + 1)
    code, output = _inspect(over, {"TRUSTKIT_MAX_INPUT": ""})
    assert code == 1
    assert output.strip().splitlines() == [
        f"trustkit: error: {over}: {DEFAULT_MAX_INPUT_BYTES + 1} bytes, over the input limit of "
        f"{DEFAULT_MAX_INPUT_BYTES} bytes (raise it with $TRUSTKIT_MAX_INPUT)"
    ]
    with pytest.raises(InputTooLargeError) as caught:
        read_input(over)
    assert (caught.value.limit, caught.value.size) == (
        DEFAULT_MAX_INPUT_BYTES,
        DEFAULT_MAX_INPUT_BYTES + 1,
    )
    # The twin: exactly at the limit the file is read (and found not to be PEM or DER).
    at_limit = tmp_path / "at.pem"
    with at_limit.open("wb") as stream:
        stream.truncate(DEFAULT_MAX_INPUT_BYTES)
    assert len(read_input(at_limit)) == DEFAULT_MAX_INPUT_BYTES


def test_configured_limit(tmp_path: Path) -> None:
    pem = _csr_pem()
    path = tmp_path / "req.pem"
    path.write_bytes(pem)
    code, output = _inspect(path, {"TRUSTKIT_MAX_INPUT": str(len(pem) - 1)})
    assert code == 1
    assert f"over the input limit of {len(pem) - 1} bytes" in output
    assert "Traceback" not in output
    code, output = _inspect(path, {"TRUSTKIT_MAX_INPUT": str(len(pem))})
    assert code == 0, output
    assert "limit.example.gov" in output
    code, output = _inspect(path, {"TRUSTKIT_MAX_INPUT": "1K"})
    assert code == 0, output


@pytest.mark.parametrize("text", ["lots", "-5", "0", "12T", "1.5M"])
def test_bad_limit_setting_is_named(tmp_path: Path, text: str) -> None:
    path = tmp_path / "req.pem"
    path.write_bytes(_csr_pem())
    code, output = _inspect(path, {"TRUSTKIT_MAX_INPUT": text})
    assert code == 1
    assert f"$TRUSTKIT_MAX_INPUT {text!r}: expected a positive number of bytes" in output


def test_pipe_is_read_no_further_than_the_limit(tmp_path: Path) -> None:
    """Standard input of unbounded length: refused after limit + 1 bytes, not read to its end."""
    script = (
        "import sys; from pathlib import Path; from trustkit.cli._common import read_input\n"
        "from trustkit.errors import InputTooLargeError\n"
        "try:\n    read_input(Path('-'), limit=1000)\n"
        "except InputTooLargeError as exc:\n    print(exc, exc.limit, exc.size)\n"
    )
    # `yes` never ends: the reader must stop on its own, or the test hangs (timeout).
    with subprocess.Popen(["yes"], stdout=subprocess.PIPE) as producer:
        result = subprocess.run(
            [sys.executable, "-c", script],
            stdin=producer.stdout,
            capture_output=True,
            text=True,
            timeout=60,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            check=True,
        )
        producer.kill()
    assert result.stdout.strip() == (
        "standard input: more, over the input limit of 1000 bytes "
        "(raise it with $TRUSTKIT_MAX_INPUT) 1000 None"
    )


def _root_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Limit Root")])
    when = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder(
            issuer_name=name,
            subject_name=name,
            public_key=key.public_key(),
            serial_number=1,
            not_valid_before=when,
            not_valid_after=when + timedelta(days=1),
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(Encoding.PEM)


def test_verify_signature_over_the_limit(tmp_path: Path) -> None:
    """``trustkit verify --signature``: the signature file is capped, the document is not."""
    document = tmp_path / "doc.txt"
    document.write_bytes(b"x" * 5000)
    signature = tmp_path / "doc.p7s"
    trust = tmp_path / "root.pem"
    trust.write_bytes(_root_pem())
    args = ["verify", str(document), "--signature", str(signature), "--trust", str(trust)]
    env = {"TRUSTKIT_MAX_INPUT": "2000"}
    signature.write_bytes(b"\x30\x82\x0b\xb4" + b"\x00" * 2996)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert result.output == (
        f"trustkit: error: {signature}: 3000 bytes, over the input limit of 2000 bytes "
        "(raise it with $TRUSTKIT_MAX_INPUT)\n"
    )
    # The twin: a signature under the limit is parsed (and refused as garbage); the
    # 5000-byte document, streamed, is never held to the limit.
    signature.write_bytes(b"\x30\x82\x07\xcc" + b"\x00" * 1996)
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 1
    assert "input limit" not in result.output
    assert "malformed SignedData (RFC 5652 5)" in result.output, result.output


def test_unreadable_input_is_still_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        read_input(tmp_path / "missing.pem")
