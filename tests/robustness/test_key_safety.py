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
import multiprocessing
import os
import stat
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority
from trustkit.cli import cli
from trustkit.cli._common import COMMAND_LINE_PASSPHRASE_WARNING
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.errors import ConfigError, KeyFileError, PassphraseError, TrustkitError
from trustkit.keys import generate_key, load_private_key_file, save_private_key
from trustkit.names import parse_general_names, parse_name

from ..conftest import TEST_TIME

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


# -- CA directories are never overwritten --------------------------------------------

CA_SUBJECT = "CN=Guarded Root,O=Example,C=EX"


def _make_root(ca_dir: Path, *, name: str | None = None) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        CA_SUBJECT,
        ca_dir,
        passphrase=SECRET.encode(),
        key_type="ec-p256",
        name=name,
        clock=FixedClock(TEST_TIME),
    )


def _snapshot(directory: Path) -> dict[str, bytes | str]:
    return {
        p.name: os.readlink(p) if p.is_symlink() else p.read_bytes()
        for p in sorted(directory.iterdir())
    }


@pytest.mark.parametrize("left", ["trustkit.toml", "ca.key", "ca.pem", "chain.pem", "store.db"])
def test_init_refuses_a_directory_holding_any_ca_file(tmp_path: Path, left: str) -> None:
    ca_dir = tmp_path / "ca"
    _make_root(ca_dir).close()
    # Item 5 of the report: the configuration lost, the key beside it must survive.
    for path in ca_dir.iterdir():
        if path.name != left:
            path.unlink()
    before = _snapshot(ca_dir)
    result = invoke("init", "--ca", str(ca_dir), "--subject", CA_SUBJECT, "--key-type", "ec-p256")
    assert result.exit_code == 1, result.stdout
    assert result.stdout == ""  # no "created root CA"
    assert result.stderr.startswith("trustkit: error:") and result.stderr.count("\n") == 1
    assert left in result.stderr
    assert _snapshot(ca_dir) == before
    with pytest.raises(ConfigError, match=left):
        _make_root(ca_dir)
    with _make_root(tmp_path / "parent") as parent, pytest.raises(ConfigError, match=left):
        parent.create_subordinate(
            "CN=Guarded Sub,O=Example,C=EX", ca_dir, passphrase=SECRET.encode(), key_type="ec-p256"
        )
    assert _snapshot(ca_dir) == before
    # Nothing was recorded in the parent's store for the refused subordinate.
    with CertificateAuthority.open(tmp_path / "parent") as parent:
        assert [r.profile for r in parent.list()] == ["root-ca"]


def test_init_takes_an_empty_or_unrelated_directory(tmp_path: Path) -> None:
    # The twin: a directory without CA files is a fine place for a new CA.
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    (ca_dir / "README").write_text("notes\n")
    result = invoke("init", "--ca", str(ca_dir), "--subject", CA_SUBJECT, "--key-type", "ec-p256")
    assert result.exit_code == 0, result.stderr
    assert "created root CA" in result.stdout
    assert (ca_dir / "README").read_text() == "notes\n"


@pytest.mark.parametrize("target", [os.devnull, "fifo", "elsewhere.key", "nowhere.key"])
def test_a_ca_key_is_never_written_through_a_link(
    tmp_path: Path, target: str, request: pytest.FixtureRequest
) -> None:
    # Item 6: ca.key -> /dev/null made init report success with the key gone.
    ca_dir = tmp_path / "ca"
    ca_dir.mkdir()
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")
        # A reader is waiting, as an attacker's would: a key written into the FIFO is
        # taken, not stuck.
        reader = os.open(tmp_path / "fifo", os.O_RDONLY | os.O_NONBLOCK)
        request.addfinalizer(lambda: os.close(reader))
    elif target == "elsewhere.key":
        (tmp_path / target).write_bytes(b"another key")
    link = ca_dir / "ca.key"
    link.symlink_to(target if target == os.devnull else tmp_path / target)
    result = invoke("init", "--ca", str(ca_dir), "--subject", CA_SUBJECT, "--key-type", "ec-p256")
    assert result.exit_code == 1
    assert "created" not in result.stdout + result.stderr
    assert "ca.key" in result.stderr and result.stderr.count("\n") == 1
    assert [p.name for p in ca_dir.iterdir()] == ["ca.key"] and link.is_symlink()
    if target == "elsewhere.key":
        assert (tmp_path / target).read_bytes() == b"another key"
    assert not (tmp_path / "nowhere.key").exists()


@pytest.mark.parametrize("target", [os.devnull, "fifo", "elsewhere.key"])
def test_save_private_key_refuses_a_link_or_special_file(
    tmp_path: Path, target: str, request: pytest.FixtureRequest
) -> None:
    # The write itself refuses, so a link planted after the directory check is no way in.
    if target == "fifo":
        os.mkfifo(tmp_path / "ca.key")
        reader = os.open(tmp_path / "ca.key", os.O_RDONLY | os.O_NONBLOCK)
        request.addfinalizer(lambda: os.close(reader))
    else:
        if target == "elsewhere.key":
            (tmp_path / target).write_bytes(b"another key")
        (tmp_path / "ca.key").symlink_to(target if target == os.devnull else tmp_path / target)
    key = generate_key("ec-p256")
    with pytest.raises(KeyFileError, match=r"ca\.key: cannot write private key .*regular file"):
        save_private_key(key, tmp_path / "ca.key", SECRET.encode())
    if target == "elsewhere.key":
        assert (tmp_path / target).read_bytes() == b"another key"
    # The twin: a plain path gets the key, which a second exclusive write does not replace.
    save_private_key(key, tmp_path / "new.key", SECRET.encode(), exclusive=True)
    first = (tmp_path / "new.key").read_bytes()
    with pytest.raises(KeyFileError, match="not replaced"):
        save_private_key(
            generate_key("ec-p256"), tmp_path / "new.key", SECRET.encode(), exclusive=True
        )
    assert (tmp_path / "new.key").read_bytes() == first


def test_ca_directories_are_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        result = invoke(
            "init", "--ca", str(tmp_path / "deep" / "root"), "--subject", CA_SUBJECT,
            "--key-type", "ec-p256",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        result = invoke(
            "subca", "--ca", str(tmp_path / "deep" / "root"), "--out", str(tmp_path / "sub"),
            "--subject", "CN=Guarded Sub,O=Example,C=EX", "--key-type", "ec-p256",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    finally:
        os.umask(old)
    for directory in (tmp_path / "deep", tmp_path / "deep" / "root", tmp_path / "sub"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    for key in (tmp_path / "deep" / "root" / "ca.key", tmp_path / "sub" / "ca.key"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert exposed(tmp_path) == []


def _race_root(ca_dir: str, index: int, start: Any, results: Any) -> None:
    try:
        start.wait(timeout=60)
        CertificateAuthority.create_root(
            f"CN=Racer {index},O=Example,C=EX",
            ca_dir,
            passphrase=None,
            allow_unencrypted_key=True,
            key_type="ec-p256",
            name=f"racer-{index}",
            clock=FixedClock(TEST_TIME),
        ).close()
        results.put((index, None))
    except TrustkitError as exc:
        results.put((index, f"refused: {exc}"))
    except FileExistsError as exc:
        results.put((index, f"refused: {exc}"))
    except BaseException as exc:
        results.put((index, f"BROKEN {type(exc).__name__}: {exc}"))


def test_two_processes_making_one_ca_directory_leave_one_whole_ca(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    racers = 3
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(racers)
    results = context.Queue()
    processes = [
        context.Process(target=_race_root, args=(str(ca_dir), i, start, results))
        for i in range(racers)
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    winners = [i for i, problem in outcomes.items() if problem is None]
    assert len(winners) == 1, outcomes
    assert all(p is None or p.startswith("refused") for p in outcomes.values()), outcomes
    with CertificateAuthority.open(ca_dir) as ca:
        assert ca.config.name == f"racer-{winners[0]}"
        assert ca.key.public_key() == ca.certificate.public_key()
        assert [r.subject for r in ca.list()] == [f"CN=Racer {winners[0]},O=Example,C=EX"]
