"""Passphrases without a terminal: one line naming the sources, exit 1, nothing written.

A prompt needs a terminal. Run from a pipe, cron or CI without
``--passphrase-file`` or ``$TRUSTKIT_PASSPHRASE``, a command used to print
Python's ``GetPassWarning``, an echo warning, the prompt and "Aborted!". These
run the real command in a process of its own with standard input from
``/dev/null``, and their twins on a real pseudo-terminal, where the prompt
is still asked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.terminal import run_in_terminal
from trustkit.ca import CertificateAuthority
from trustkit.cli import cli
from trustkit.errors import PassphraseError

ROOT_SUBJECT = "CN=Passphrase Root CA,O=Republic of Example,C=EX"
SUB_SUBJECT = "CN=Passphrase Sub CA,O=Republic of Example,C=EX"
PASSPHRASE = "parent-passphrase-1"


def _env() -> dict[str, str]:
    """This process's environment without any passphrase source."""
    drop = {"TRUSTKIT_PASSPHRASE", "TRUSTKIT_NEW_PASSPHRASE", "TRUSTKIT_CA"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _trustkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trustkit.cli", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("passphrases")
    result = CliRunner().invoke(
        cli,
        ["init", "--ca", str(base / "root"), "--subject", ROOT_SUBJECT],
        env={"TRUSTKIT_PASSPHRASE": PASSPHRASE, "TRUSTKIT_CA": ""},
    )
    assert result.exit_code == 0, result.output
    (base / "parent.pass").write_text(PASSPHRASE + "\n")
    return base


def _assert_one_line(result: subprocess.CompletedProcess[str], option: str, env: str) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    (line,) = lines
    assert line.startswith("trustkit: error: ")
    # The three sources: a prompt (which needs a terminal), the file option, the variable.
    assert "terminal to prompt on" in line and f"{option} FILE" in line and f"${env}" in line
    for noise in ("Warning", "echoed", "Aborted", "Traceback"):
        assert noise not in result.stderr
    return line


def test_crl_without_passphrase_or_terminal_is_one_line(root: Path) -> None:
    result = _trustkit("crl", "--ca", str(root / "root"), "-o", str(root / "root.crl"))
    line = _assert_one_line(result, "--passphrase-file", "TRUSTKIT_PASSPHRASE")
    assert "passphrase for the CA key" in line
    assert not (root / "root.crl").exists()


def test_crl_with_passphrase_file_needs_no_terminal(root: Path) -> None:
    result = _trustkit(
        "crl", "--ca", str(root / "root"), "--passphrase-file", str(root / "parent.pass"),
        "-o", str(root / "twin.crl"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (root / "twin.crl").read_bytes().startswith(b"-----BEGIN X509 CRL-----")


def test_key_generate_without_passphrase_or_terminal_is_one_line(tmp_path: Path) -> None:
    result = _trustkit("key", "generate", "-o", str(tmp_path / "k.pem"))
    _assert_one_line(result, "--passphrase-file", "TRUSTKIT_PASSPHRASE")
    assert not (tmp_path / "k.pem").exists()


def test_subca_does_not_reuse_the_parent_passphrase_file_unasked(root: Path) -> None:
    out = root / "sub-unasked"
    result = _trustkit(
        "subca", "--ca", str(root / "root"), "--out", str(out), "--subject", SUB_SUBJECT,
        "--passphrase-file", str(root / "parent.pass"),
    )  # fmt: skip
    line = _assert_one_line(result, "--new-passphrase-file", "TRUSTKIT_NEW_PASSPHRASE")
    assert "passphrase for the new CA key" in line and "$TRUSTKIT_PASSPHRASE" in line
    assert not out.exists()


def test_subca_uses_one_file_for_both_keys_when_told(root: Path) -> None:
    out = root / "sub-told"
    parent_pass = str(root / "parent.pass")
    result = _trustkit(
        "subca", "--ca", str(root / "root"), "--out", str(out), "--subject", SUB_SUBJECT,
        "--passphrase-file", parent_pass, "--new-passphrase-file", parent_pass,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    with CertificateAuthority.open(out, passphrase=PASSPHRASE.encode()) as ca:
        assert ca.key is not None  # decrypts the key
    with (
        pytest.raises(PassphraseError),
        CertificateAuthority.open(out, passphrase=b"another-passphrase") as ca,
    ):
        assert ca.key is not None


def test_subca_on_a_terminal_still_asks_for_the_new_key(root: Path) -> None:
    out = root / "sub-terminal"
    code, shown = run_in_terminal(
        ["subca", "--ca", str(root / "root"), "--out", str(out), "--subject", SUB_SUBJECT,
         "--passphrase-file", str(root / "parent.pass")],
        ["new-key-passphrase", "new-key-passphrase"],
        env=_env(),
    )  # fmt: skip
    assert code == 0, shown
    assert "Passphrase for the new CA key: " in shown and "new-key-passphrase" not in shown
    with CertificateAuthority.open(out, passphrase=b"new-key-passphrase") as ca:
        assert ca.key is not None


def test_in_process_runs_without_a_terminal_say_the_same(root: Path) -> None:
    # CliRunner's standard input is not a terminal either: the same one line, not click's Abort.
    result = CliRunner().invoke(
        cli, ["crl", "--ca", str(root / "root")], env={"TRUSTKIT_PASSPHRASE": "", "TRUSTKIT_CA": ""}
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "--passphrase-file FILE" in result.stderr
