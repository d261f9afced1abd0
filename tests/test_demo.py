"""`trustkit demo` end to end, checked with independent tools."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from trustkit.cli import cli


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("demo") / "pki"
    result = CliRunner().invoke(cli, ["demo", str(out)], env={"TRUSTKIT_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    return out, result.output


def test_walkthrough(demo: tuple[Path, str]) -> None:
    out, output = demo
    assert "root CA root" in output
    assert "revoked carol" in output
    assert "valid:     yes" in output
    assert f"trustkit serve --ca {out}" in output
    assert (out / "passphrase.txt").stat().st_mode & 0o077 == 0


def test_every_chain_verifies(demo: tuple[Path, str]) -> None:
    out, _ = demo
    root = str(out / "root" / "ca.pem")
    chains = sorted((out / "certs").glob("*-chain.pem"))
    assert len(chains) >= 5
    for chain in chains:
        leaf = out / "certs" / chain.name.replace("-chain", "")
        result = _openssl(
            "verify", "-x509_strict", "-CAfile", root, "-untrusted", str(chain), str(leaf)
        )
        assert result.returncode == 0, (chain.name, result.stderr)
    for extra in (out / "citizen-ca" / "ocsp-signer.pem", out / "tsa" / "tsa.pem"):
        issuers = out / ("citizen-ca" if "ocsp" in extra.name else "eservices-ca") / "ca.pem"
        result = _openssl("verify", "-CAfile", root, "-untrusted", str(issuers), str(extra))
        assert result.returncode == 0, (extra, result.stderr)


def test_pkcs12_files_open_with_the_printed_passphrase(demo: tuple[Path, str]) -> None:
    out, output = demo
    printed = dict(re.findall(r"certs/([a-z]+)\.p12  passphrase: (\S+)", output))
    assert set(printed) == {"alice", "bob", "carol"}
    for name, secret in printed.items():
        p12 = str(out / "certs" / f"{name}.p12")
        assert (
            _openssl(
                "pkcs12", "-info", "-noout", "-in", p12, "-passin", f"pass:{secret}"
            ).returncode
            == 0
        )
        assert (
            _openssl("pkcs12", "-info", "-noout", "-in", p12, "-passin", "pass:guess").returncode
            != 0
        )


def test_signed_document_verifies_with_openssl(demo: tuple[Path, str]) -> None:
    out, _ = demo
    form = out / "documents" / "application-form.txt"
    signature = out / "documents" / "application-form.txt.p7s"
    root = str(out / "root" / "ca.pem")
    ok = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature), "-content", str(form),
        "-CAfile", root, "-purpose", "any", "-out", "/dev/null",
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    tampered = form.with_name("tampered.txt")
    tampered.write_bytes(form.read_bytes().replace(b"Alice", b"Mallory"))
    bad = _openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature),
        "-content", str(tampered), "-CAfile", root, "-purpose", "any", "-out", "/dev/null",
    )  # fmt: skip
    assert bad.returncode != 0


def test_revoked_citizen_fails_crl_check(demo: tuple[Path, str]) -> None:
    out, _ = demo
    root = str(out / "root" / "ca.pem")
    crls = out / "crls.pem"
    pems = [
        _openssl("crl", "-inform", "DER", "-in", str(p)).stdout
        for p in sorted((out / "public" / "crl").glob("*.crl"))
    ]
    crls.write_text("".join(pems))
    for name, expected_ok in (("alice", True), ("carol", False)):
        result = _openssl(
            "verify", "-crl_check_all", "-CRLfile", str(crls), "-CAfile", root,
            "-untrusted", str(out / "certs" / f"{name}-chain.pem"),
            str(out / "certs" / f"{name}.pem"),
        )  # fmt: skip
        assert (result.returncode == 0) is expected_ok, (name, result.stdout, result.stderr)
        if not expected_ok:
            assert "revoked" in result.stdout + result.stderr


def test_running_twice_keeps_everything(demo: tuple[Path, str]) -> None:
    out, _ = demo
    before = {p: p.read_bytes() for p in out.rglob("*.pem")}
    before.update({p: p.read_bytes() for p in out.rglob("*.key")})
    result = CliRunner().invoke(cli, ["demo", str(out)], env={"TRUSTKIT_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    assert "+ certificate" not in result.output
    after = {p: p.read_bytes() for p in before}
    assert after == before


def _printed_p12(output: str) -> dict[str, str]:
    return dict(re.findall(r"certs/([a-z]+)\.p12  passphrase: (\S+)", output))


def test_running_twice_keeps_pkcs12_files_and_passphrases(
    demo: tuple[Path, str], tmp_path: Path
) -> None:
    import shutil

    first_out, first_output = demo
    out = tmp_path / "pki"
    shutil.copytree(first_out, out)
    before = {p.name: p.read_bytes() for p in (out / "certs").glob("*.p12*")}
    assert len(before) == 6
    result = CliRunner().invoke(cli, ["demo", str(out)], env={"TRUSTKIT_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    assert {p.name: p.read_bytes() for p in (out / "certs").glob("*.p12*")} == before
    assert _printed_p12(result.output) == _printed_p12(first_output)
    assert "made again" not in result.output
    assert "time-stamping authority" in result.output and "kept" in result.output


def test_a_removed_pkcs12_file_is_made_again_and_said_so(
    demo: tuple[Path, str], tmp_path: Path
) -> None:
    import shutil

    first_out, first_output = demo
    out = tmp_path / "pki"
    shutil.copytree(first_out, out)
    (out / "certs" / "alice.p12").unlink()
    bob = (out / "certs" / "bob.p12").read_bytes()
    result = CliRunner().invoke(cli, ["demo", str(out)], env={"TRUSTKIT_PASSPHRASE": ""})
    assert result.exit_code == 0, result.output
    alice_line = next(line for line in result.output.splitlines() if "alice.p12" in line)
    assert "made again, NEW passphrase" in alice_line
    printed = _printed_p12(result.output)
    assert printed["alice"] != _printed_p12(first_output)["alice"]
    assert printed["bob"] == _printed_p12(first_output)["bob"]
    assert (out / "certs" / "bob.p12").read_bytes() == bob
    p12 = str(out / "certs" / "alice.p12")
    opened = _openssl(
        "pkcs12", "-info", "-noout", "-in", p12, "-passin", f"pass:{printed['alice']}"
    )
    assert opened.returncode == 0, opened.stderr
