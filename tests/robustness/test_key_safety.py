"""Private keys stay private: file modes, outputs, logs, errors, command-line passphrases.

Every command that writes a key (key generate, init, subca, tsa init, pki
apply and the demo, which also makes the delegated OCSP signer) leaves it
readable by its owner only. No command prints a private key or the
passphrase, in text, in ``--json``, in log records or in the message and
traceback of a failure. A passphrase typed on the command line itself works
but draws a warning.
"""

from __future__ import annotations

import logging
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.cli import cli
from trustkit.cli._common import COMMAND_LINE_PASSPHRASE_WARNING
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.errors import PassphraseError, TrustkitError
from trustkit.keys import generate_key, load_private_key_file
from trustkit.names import parse_general_names, parse_name

SECRET = "Pa55-phrase-that-must-never-show"
ENV = {"TRUSTKIT_PASSPHRASE": SECRET, "TRUSTKIT_CA": "", "TRUSTKIT_NEW_PASSPHRASE": ""}
SECRET_SUFFIXES = (".key", ".p12", ".pfx", ".pass")


@pytest.fixture(autouse=True)
def _all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env={**ENV, **(env or {})})


def leaks(text: str, *secrets: str) -> list[str]:
    """Which secrets (and private-key PEM markers) appear in ``text``."""
    found = [s for s in (SECRET, *secrets) if s and s in text]
    if "PRIVATE KEY-----" in text:
        found.append("a private key PEM block")
    return found


def check_result(result: Result, caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Nothing secret in the output, the log records, or an exception and its traceback."""
    shown = result.stdout + result.stderr + caplog.text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown += "".join(traceback.format_exception(result.exception))
    assert leaks(shown, *secrets) == []


def exposed(root: Path) -> list[Path]:
    """Key-bearing files under ``root`` that group or others can read."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        secret = path.suffix in SECRET_SUFFIXES or b"PRIVATE KEY-----" in path.read_bytes()
        if secret and stat.S_IMODE(path.stat().st_mode) & 0o077:
            found.append(path)
    return found


def _csr_file(path: Path) -> Path:
    csr = create_csr(
        generate_key("ec-p256"),
        parse_name("CN=www.example.gov"),
        parse_general_names(["dns:www.example.gov"]),
    )
    path.write_bytes(pem_encode("CERTIFICATE REQUEST", csr.public_bytes(Encoding.DER)))
    return path


@pytest.fixture
def made(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> Path:
    """A directory where every key-writing command has run."""
    commands = [
        ("key", "generate", "-o", str(tmp_path / "leaf.key")),
        ("key", "generate", "--no-encrypt", "-o", str(tmp_path / "server.key")),
        ("init", "--ca", str(tmp_path / "root"), "--subject", "CN=Key Root,O=Example,C=EX"),
        ("subca", "--ca", str(tmp_path / "root"), "--out", str(tmp_path / "sub"),
         "--subject", "CN=Key Sub CA,O=Example,C=EX"),
        ("tsa", "init", "--ca", str(tmp_path / "sub"), "--out", str(tmp_path / "tsa"),
         "--subject", "CN=Key TSA,O=Example,C=EX"),
        ("demo", str(tmp_path / "demo")),
    ]  # fmt: skip
    for args in commands:
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.stderr, result.exception)
        check_result(result, caplog)
    return tmp_path


def test_key_files_are_private(made: Path) -> None:
    keys = [p for p in made.rglob("*") if p.suffix == ".key"]
    # The demo's pki apply writes CA, citizen, TSA and OCSP signer keys.
    assert {"ocsp-signer.key", "tsa.key", "ca.key", "leaf.key", "server.key"} <= {
        p.name for p in keys
    }
    assert exposed(made) == []


def test_a_readable_key_is_noticed(made: Path) -> None:
    # The twin: the same check complains about a key file anyone can read.
    key = made / "root" / "ca.key"
    key.chmod(0o640)
    assert exposed(made) == [key]


def test_reading_commands_show_no_key(made: Path, caplog: pytest.LogCaptureFixture) -> None:
    plain = (made / "server.key").read_text()
    body = [line for line in plain.splitlines() if not line.startswith("-----")]
    for args in [
        ("list", "--ca", str(made / "sub"), "--json"),
        ("inspect", str(made / "server.key"), "--json"),
        ("inspect", str(made / "server.key")),
        ("inspect", str(made / "root" / "ca.key"), "--json"),
        ("show", "--ca", str(made / "root"), "--json",
         str(next(iter(_serials(made / "root"))))),
    ]:  # fmt: skip
        result = invoke(*args)
        assert result.exit_code == 0, (args, result.stderr)
        check_result(result, caplog, *body)


def _serials(ca_dir: Path) -> list[str]:
    import json

    return [r["serial"] for r in json.loads(invoke("list", "--ca", str(ca_dir), "--json").stdout)]


def test_failing_commands_show_no_secret(made: Path, caplog: pytest.LogCaptureFixture) -> None:
    req = _csr_file(made / "req.pem")
    wrong = "wrong-passphrase-also-secret"
    plain = (made / "server.key").read_text()
    body = [line for line in plain.splitlines() if not line.startswith("-----")]
    broken = made / "broken.key"
    broken.write_text("\n".join(plain.splitlines()[:3]) + "\n")
    for args, env in [
        (("issue", "--ca", str(made / "sub"), "--csr", str(req)), {"TRUSTKIT_PASSPHRASE": wrong}),
        (("issue", "--ca", str(made / "sub"), "--csr", str(req), "--passphrase", wrong), {}),
        (("inspect", str(broken)), {}),
        (("csr", "create", "--key", str(broken), "--subject", "CN=x", "-o",
          str(made / "x.pem")), {}),
        (("crl", "--ca", str(made / "sub"), "-o", str(made / "x.crl")),
         {"TRUSTKIT_PASSPHRASE": wrong}),
    ]:  # fmt: skip
        result = invoke(*args, env=env)
        assert result.exit_code == 1, (args, result.stdout, result.stderr, result.exception)
        check_result(result, caplog, wrong, *body)


def test_library_errors_carry_no_passphrase(made: Path) -> None:
    wrong = "another-wrong-secret"
    with pytest.raises(PassphraseError) as info:
        load_private_key_file(made / "leaf.key", wrong.encode())
    text = "".join(traceback.format_exception(info.value))
    assert isinstance(info.value, TrustkitError)
    assert leaks(text, wrong) == []


def test_a_leak_is_noticed() -> None:
    # The twin of the output checks.
    assert leaks(f"trustkit: error: passphrase {SECRET} refused") == [SECRET]
    assert leaks("-----BEGIN PRIVATE KEY-----\nMIIB") == ["a private key PEM block"]


def test_a_passphrase_on_the_command_line_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    given = "typed-on-the-command-line"
    ca_dir = tmp_path / "ca"
    result = invoke(
        "init", "--ca", str(ca_dir), "--subject", "CN=Typed CA,O=Example,C=EX",
        "--key-type", "ec-p256", "--passphrase", given,
        env={"TRUSTKIT_PASSPHRASE": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert COMMAND_LINE_PASSPHRASE_WARNING in result.stderr
    check_result(result, caplog, given)
    # It really is the key's passphrase.
    load_private_key_file(ca_dir / "ca.key", given.encode())
    req = _csr_file(tmp_path / "req.pem")
    result = invoke(
        "issue", "--ca", str(ca_dir), "--csr", str(req), "--passphrase", given,
        env={"TRUSTKIT_PASSPHRASE": ""},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert COMMAND_LINE_PASSPHRASE_WARNING in result.stderr
    check_result(result, caplog, given)


def test_a_passphrase_file_is_not_warned_about(tmp_path: Path) -> None:
    secret_file = tmp_path / "pass"
    secret_file.write_text("from-a-file-passphrase\n")
    result = invoke(
        "key", "generate", "-o", str(tmp_path / "k.key"), "--passphrase-file", str(secret_file)
    )
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    load_private_key_file(tmp_path / "k.key", b"from-a-file-passphrase")
