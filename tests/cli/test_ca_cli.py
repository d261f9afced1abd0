"""The CA commands end to end through click: init, subca, key, csr, issue, list, show, inspect."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from tests.terminal import run_in_terminal
from trustkit.cli import cli

ROOT = "CN=Republic of Example Root CA,O=Republic of Example,C=EX"
ENV = {"TRUSTKIT_PASSPHRASE": "s3cret-passphrase", "TRUSTKIT_CA": ""}


def run(
    *args: str, env: dict[str, str] | None = None, input: str | None = None
) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(
        cli, list(args), env={**ENV, **(env or {})}, input=input, catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    assert (
        run(
            "init",
            "--ca",
            str(tmp_path / "root"),
            "--subject",
            ROOT,
            "--base-url",
            "http://pki.example.gov",
        )[0]
        == 0
    )
    code, out, err = run(
        "subca",
        "--ca",
        str(tmp_path / "root"),
        "--out",
        str(tmp_path / "tls"),
        "--subject",
        "CN=e-Services TLS CA,O=Republic of Example,C=EX",
        "--permit",
        "dns:.example.gov",
    )
    assert code == 0, err
    assert "e-services-tls-ca" in out
    return tmp_path


def _csr(tmp_path: Path, *args: str) -> Path:
    key = tmp_path / "key.pem"
    if not key.exists():
        assert run("key", "generate", "-o", str(key))[0] == 0
    out = tmp_path / "req.pem"
    code, _, err = run("csr", "create", "--key", str(key), *args, "-o", str(out))
    assert code == 0, err
    return out


def test_issue_and_verify_with_openssl(pki: Path) -> None:
    key = pki / "key.pem"
    req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    cert = pki / "cert.pem"
    code, _, err = run(
        "issue",
        "--ca",
        str(pki / "tls"),
        "--csr",
        str(req),
        "--profile",
        "tls-server",
        "-o",
        str(cert),
    )
    assert code == 0, err
    assert "issued" in err
    verify = subprocess.run(
        [
            "openssl",
            "verify",
            "-x509_strict",
            "-purpose",
            "sslserver",
            "-CAfile",
            str(pki / "root" / "ca.pem"),
            "-untrusted",
            str(pki / "tls" / "ca.pem"),
            str(cert),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stderr
    code, out, _ = run("list", "--ca", str(pki / "tls"), "--json")
    records = json.loads(out)
    assert [r["subject"] for r in records] == ["CN=www.example.gov"]
    serial = records[0]["serial"]
    code, out, _ = run("show", "--ca", str(pki / "tls"), serial.lower(), "--json")
    assert json.loads(out)["certificate"]["serial"] == serial
    code, out, _ = run("show", "--ca", str(pki / "tls"), "0x" + serial, "--pem")
    assert out == cert.read_text()
    code, out, _ = run("inspect", str(cert), "--json")
    assert json.loads(out)[0]["fields"]["subject"] == "CN=www.example.gov"
    code, out, _ = run("inspect", str(pki / "tls" / "ca.key"))
    assert "encrypted: yes" in out


def test_ca_from_environment(pki: Path) -> None:
    req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
    code, out, _ = run("issue", "--csr", str(req), env={"TRUSTKIT_CA": str(pki / "tls")})
    assert code == 0 and out.startswith("-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--profile", "no-such"), "profile 'no-such': unknown"),
        (("--profile", "citizen-auth"), "subject.serialNumber: required"),
        (("--days", "5000"), "validity"),
        (("--days", "1000000000"), "days 1000000000: must be a whole number of days from 1"),
        (("--days", str(10**30)), "days 1000000000000000000000000000000: must be"),
        (("--san", "dns:www.example.org"), "outside the permitted subtrees"),
        (("--san", "dns:bad..name"), "dns"),
    ],
)
def test_refusals_are_one_line_and_write_nothing(
    pki: Path, args: tuple[str, ...], message: str
) -> None:
    req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
    out = pki / "refused.pem"
    code, _, err = run("issue", "--ca", str(pki / "tls"), "--csr", str(req), *args, "-o", str(out))
    assert code == 1
    assert message in err
    assert err.count("\n") == 1 and err.startswith("trustkit: error:")
    assert not out.exists()
    assert json.loads(run("list", "--ca", str(pki / "tls"), "--json")[1]) == []


def test_bad_inputs(pki: Path) -> None:
    garbage = pki / "garbage.pem"
    garbage.write_bytes(b"\x30\x03\x02\x01\x05 this is not a CSR")
    code, _, err = run("issue", "--ca", str(pki / "tls"), "--csr", str(garbage))
    assert code == 1 and "not a valid PKCS#10 request" in err
    req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
    code, _, err = run(
        "issue", "--ca", str(pki / "tls"), "--csr", str(req), env={"TRUSTKIT_PASSPHRASE": "wrong"}
    )
    assert code == 1 and "wrong passphrase" in err
    code, _, err = run("list", "--ca", str(pki / "nothing-here"))
    assert code == 1 and "not a CA directory" in err
    code, _, err = run("show", "--ca", str(pki / "tls"), "zz")
    assert code == 1 and "hexadecimal" in err
    code, _, err = run("show", "--ca", str(pki / "tls"), "0A0B")
    assert code == 1 and "no such certificate" in err
    code, _, err = run("init", "--ca", str(pki / "x"), "--subject", "CN=x,C=Example")
    assert code == 1 and "two upper-case letters" in err
    assert not (pki / "x").exists()
    code, _, err = run("init", "--ca", str(pki / "root"), "--subject", ROOT)
    assert code == 1 and "already holds a CA" in err


def test_passphrase_prompt_is_not_echoed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TRUSTKIT_PASSPHRASE"}
    code, shown = run_in_terminal(
        ["key", "generate", "-o", str(tmp_path / "k.pem")], ["pw-123", "pw-123"], env=env
    )
    assert code == 0, shown
    assert "Passphrase for the new key: " in shown and "Repeat for confirmation" in shown
    assert "pw-123" not in shown
    pwfile = tmp_path / "pw"
    pwfile.write_text("pw-123\n")
    code, out, err = run(
        "csr",
        "create",
        "--key",
        str(tmp_path / "k.pem"),
        "--subject",
        "CN=a",
        "--passphrase-file",
        str(pwfile),
        env={"TRUSTKIT_PASSPHRASE": ""},
    )
    assert code == 0 and "BEGIN CERTIFICATE REQUEST" in out
    code, _, err = run(
        "csr",
        "create",
        "--key",
        str(tmp_path / "k.pem"),
        "--subject",
        "CN=a",
        env={"TRUSTKIT_PASSPHRASE": "nope"},
    )
    assert code == 1 and "wrong passphrase" in err


def test_the_console_script_runs() -> None:
    result = subprocess.run(["trustkit", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    for command in ("init", "subca", "issue", "list", "show", "inspect", "key", "csr"):
        assert command in result.stdout


@pytest.mark.parametrize("days", ["1000000000", str(10**30), "36526"])
def test_init_refuses_huge_days_in_one_line(tmp_path: Path, days: str) -> None:
    code, out, err = run("init", "--ca", str(tmp_path / "r"), "--subject", ROOT, "--days", days)
    assert code == 1 and out == ""
    assert (
        err == f"trustkit: error: days {days}: must be a whole number of days from 1 to "
        "36525 (a century)\n"
    )
    assert not (tmp_path / "r").exists()
    # The twin: a sound number of days makes the CA.
    code, out, err = run("init", "--ca", str(tmp_path / "r"), "--subject", ROOT, "--days", "3650")
    assert code == 0, err


# -- output that fails after the store committed -------------------------------------


def _issued_serials(ca_dir: Path) -> list[str]:
    records = json.loads(run("list", "--ca", str(ca_dir), "--json")[1])
    return [r["serial"] for r in records if r["profile"] == "tls-server"]


def _check_reported(pki: Path, err: str, count: int = 1) -> list[str]:
    """The error names every committed serial, in one line, and each can be fetched."""
    serials = _issued_serials(pki / "tls")
    assert len(serials) == count
    assert err.startswith("trustkit: error: issued ") and err.count("\n") == 1, err
    for serial in serials:
        assert serial in err
        code, pem, _ = run("show", "--ca", str(pki / "tls"), serial, "--pem")
        assert code == 0 and pem.startswith("-----BEGIN CERTIFICATE-----")
    assert "do not issue again" in err
    return serials


@pytest.mark.parametrize("target", ["/dev/full", "missing-dir/cert.pem"])
def test_a_failed_output_names_the_committed_serial(pki: Path, target: str) -> None:
    req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
    out = target if target.startswith("/") else str(pki / target)
    code, _, err = run("issue", "--ca", str(pki / "tls"), "--csr", str(req), "-o", out)
    assert code == 1
    before = set(_check_reported(pki, err))
    # The twin: a writable output gets the certificate, and the message names the serial too.
    code, _, err = run("issue", "--ca", str(pki / "tls"), "--csr", str(req), "-o", str(pki / "c"))
    assert code == 0 and (pki / "c").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    (new,) = set(_issued_serials(pki / "tls")) - before
    assert new in err


def test_a_full_disk_after_the_commit_names_the_serial(pki: Path) -> None:
    mount = pki / "small"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root); /dev/full covers ENOSPC")
    try:
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)
        req = _csr(pki, "--subject", "CN=www.example.gov", "--san", "dns:www.example.gov")
        code, _, err = run(
            "issue", "--ca", str(pki / "tls"), "--csr", str(req), "-o", str(mount / "cert.pem")
        )
        assert code == 1
        assert "No space left on device" in err
        _check_reported(pki, err)
        assert sorted(p.name for p in mount.iterdir()) == ["filler"]  # no half-written file
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_failed_batch_output_names_every_committed_serial(pki: Path) -> None:
    reqs = pki / "reqs"
    reqs.mkdir()
    for name in ("a", "b", "c"):
        req = _csr(pki, "--subject", f"CN={name}.example.gov", "--san", f"dns:{name}.example.gov")
        req.rename(reqs / f"{name}.pem")
        (pki / "key.pem").unlink()
    code, _, err = run("issue", "--ca", str(pki / "tls"), "--csr-dir", str(reqs), "-o", "/dev/full")
    assert code == 1
    assert "issued 3 certificates" in err
    _check_reported(pki, err, count=3)


# -- a CA without publication URLs says so ----------------------------------------------


def test_init_without_a_base_url_warns_in_one_line(tmp_path: Path) -> None:
    code, out, err = run("init", "--ca", str(tmp_path / "bare"), "--subject", ROOT)
    assert code == 0 and "created root CA" in out
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert "no --base-url" in warnings[0] and "no CRL distribution point or OCSP URL" in err
    code, out, err = run(
        "subca", "--ca", str(tmp_path / "bare"), "--out", str(tmp_path / "bare-sub"),
        "--subject", "CN=Bare Sub CA,O=Republic of Example,C=EX",
    )  # fmt: skip
    assert code == 0 and "no --base-url" in err
    # What the warning is about: the sub-CA's own certificate carries no pointers.
    cert = x509.load_pem_x509_certificate((tmp_path / "bare-sub" / "ca.pem").read_bytes())
    assert x509.CRLDistributionPoints not in {type(e.value) for e in cert.extensions}


def test_a_ca_with_a_base_url_does_not_warn(pki: Path) -> None:
    # The twin: the fixture's CAs were made with --base-url (the subca inherits it).
    code, _, err = run(
        "subca", "--ca", str(pki / "root"), "--out", str(pki / "other"),
        "--subject", "CN=Other CA,O=Republic of Example,C=EX",
    )  # fmt: skip
    assert code == 0, err
    assert "warning" not in err
    cert = x509.load_pem_x509_certificate((pki / "other" / "ca.pem").read_bytes())
    assert x509.CRLDistributionPoints in {type(e.value) for e in cert.extensions}


# -- CA names are unique in a hierarchy ---------------------------------------------------


def _urls(certificate: x509.Certificate) -> set[str]:
    found = set()
    for ext in certificate.extensions:
        if isinstance(ext.value, x509.CRLDistributionPoints):
            found |= {str(n.value) for p in ext.value for n in p.full_name or ()}
        if isinstance(ext.value, x509.AuthorityInformationAccess):
            found |= {str(d.access_location.value) for d in ext.value}
    return found


def test_a_rollover_with_the_same_common_name_gets_its_own_name_and_urls(pki: Path) -> None:
    code, out, err = run(
        "init", "--ca", str(pki / "root-2"), "--subject", ROOT, "--base-url",
        "http://pki.example.gov",
    )  # fmt: skip
    assert code == 0, err
    assert "created root CA republic-of-example-root-ca-2 " in out
    code, _, err = run(
        "subca", "--ca", str(pki / "root-2"), "--out", str(pki / "tls-2"),
        "--subject", "CN=e-Services TLS CA,O=Republic of Example,C=EX",
    )  # fmt: skip
    assert code == 0, err
    new = x509.load_pem_x509_certificate((pki / "tls-2" / "ca.pem").read_bytes())
    old = x509.load_pem_x509_certificate((pki / "tls" / "ca.pem").read_bytes())
    assert "http://pki.example.gov/crl/republic-of-example-root-ca-2.crl" in _urls(new)
    assert "http://pki.example.gov/ca/republic-of-example-root-ca-2.crt" in _urls(new)
    # The twin: the first generation keeps the plain name; no URL of one is the other's.
    assert "http://pki.example.gov/crl/republic-of-example-root-ca.crl" in _urls(old)
    assert _urls(new) & _urls(old) == {"http://pki.example.gov/ocsp"}
    # Its issuing CA, with the sibling's common name, is a new generation as well.
    assert "e-services-tls-ca-2" in (pki / "tls-2" / "trustkit.toml").read_text()


@pytest.mark.parametrize(
    ("command", "taken"),
    [
        (("init", "--subject", ROOT), "e-services-tls-ca"),  # a sibling directory's CA
        # Under the root: the tls CA's pathLenConstraint 0 leaves no room for a CA below it.
        (("subca", "--ca", "root", "--subject", "CN=Leaf CA,O=R,C=EX"), "e-services-tls-ca"),
        (
            ("subca", "--ca", "root", "--subject", "CN=Leaf CA,O=R,C=EX"),
            "republic-of-example-root-ca",
        ),
    ],
)
def test_an_explicit_name_already_used_is_refused(
    pki: Path, command: tuple[str, ...], taken: str
) -> None:
    args = [str(pki / a) if a in ("tls", "root") else a for a in command]
    out_option = "--ca" if command[0] == "init" else "--out"
    where = pki / "elsewhere" / "new"  # not beside the others: only the hierarchy can see it
    if command[0] == "init":
        where = pki / "new"
    code, out, err = run(*args, out_option, str(where), "--name", taken)
    assert code == 1 and out == ""
    assert err.startswith(f"trustkit: error: ca.name '{taken}': already used by ")
    assert err.count("\n") == 1
    assert not where.exists()
    # The twin: a free name is taken as given.
    code, out, err = run(*args, out_option, str(where), "--name", "a-free-name")
    assert code == 0, err
    assert "a-free-name" in out


def test_the_library_keeps_names_unique_above_a_subordinate(tmp_path: Path) -> None:
    from trustkit.ca import CertificateAuthority
    from trustkit.errors import ConfigError

    root = CertificateAuthority.create_root(
        "CN=Same Name,O=R,C=EX", tmp_path / "root", passphrase=b"pw-123456",
        key_type="ec-p256", base_url="http://pki.example.gov",
    )  # fmt: skip
    with root:
        sub = root.create_subordinate(
            "CN=Same Name,O=R,C=EX", tmp_path / "x" / "sub", passphrase=b"pw-123456",
            key_type="ec-p256",
        )  # fmt: skip
        with sub:
            assert sub.config.name == "same-name-2"
            with pytest.raises(ConfigError, match=r"ca.name 'same-name': already used by a CA"):
                sub.create_subordinate(
                    "CN=Third,O=R,C=EX", tmp_path / "y" / "third", passphrase=b"pw-123456",
                    key_type="ec-p256", name="same-name",
                )  # fmt: skip
        assert not (tmp_path / "y").exists()
