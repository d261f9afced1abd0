"""Hierarchies from a declarative spec, applied and re-applied; PKCS#12 export."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from trustkit._asn1 import QC_PDS, decode_qc_statements
from trustkit.cli import cli
from trustkit.errors import ConfigError
from trustkit.pki import apply, load_spec, parse_spec

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "demo-pki.toml"
PASS = b"demo-passphrase"
QC_STATEMENTS = x509.ObjectIdentifier("1.3.6.1.5.5.7.1.3")


def _openssl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("pki")
    report = apply(load_spec(EXAMPLE), out, passphrase=PASS)
    assert "revoked carol (keyCompromise)" in report.added
    return out


def test_every_chain_verifies_with_openssl(demo: Path) -> None:
    root = demo / "root" / "ca.pem"
    for chain in sorted((demo / "certs").glob("*-chain.pem")):
        leaf = demo / "certs" / chain.name.replace("-chain", "")
        result = _openssl(
            "verify", "-x509_strict", "-CAfile", str(root), "-untrusted", str(chain), str(leaf)
        )
        assert result.returncode == 0, (chain.name, result.stderr)
    other = _openssl(
        "verify", "-CAfile", str(demo / "citizen-ca" / "ca.pem"), str(demo / "certs" / "portal.pem")
    )
    assert other.returncode != 0


def test_pkcs12_files_open_with_their_passphrase(demo: Path) -> None:
    for p12 in sorted((demo / "certs").glob("*.p12")):
        good = _openssl("pkcs12", "-info", "-noout", "-in", str(p12), "-passin", f"file:{p12}.pass")
        assert good.returncode == 0, good.stderr
        bad = _openssl("pkcs12", "-info", "-noout", "-in", str(p12), "-passin", "pass:wrong")
        assert bad.returncode != 0
        assert (p12.stat().st_mode & 0o077) == 0


def test_ca_profiles_reach_the_configuration_and_the_certificates(demo: Path) -> None:
    # The demo spec gives citizen-ca a QcPDS for qualified signatures.
    config = (demo / "citizen-ca" / "trustkit.toml").read_text()
    assert "https://pki.example.gov/pds/en.pdf" in config
    signature = x509.load_pem_x509_certificate(
        (demo / "certs" / "alice-signature.pem").read_bytes()
    )
    qc = signature.extensions.get_extension_for_oid(QC_STATEMENTS).value
    assert isinstance(qc, x509.UnrecognizedExtension)
    found = {s.statement_id: s.values for s in decode_qc_statements(qc.value)}
    assert found[QC_PDS] == ("https://pki.example.gov/pds/en.pdf (en)",)
    # Only where the spec says: citizen-auth has no QCStatements at all.
    alice = x509.load_pem_x509_certificate((demo / "certs" / "alice.pem").read_bytes())
    assert QC_STATEMENTS not in {ext.oid for ext in alice.extensions}
    assert "pds" not in (demo / "eservices-ca" / "trustkit.toml").read_text()


def test_reapplying_adds_nothing(demo: Path) -> None:
    before = {p: p.read_bytes() for p in demo.rglob("*.pem")}
    report = apply(load_spec(EXAMPLE), demo, passphrase=PASS)
    assert report.added == ()
    assert {p: p.read_bytes() for p in demo.rglob("*.pem")} == before


def test_an_edited_spec_adds_only_the_new_part(demo: Path, tmp_path: Path) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(
        EXAMPLE.read_text() + '\n[certificate.dave]\nca = "citizen-ca"\nprofile = "citizen-auth"\n'
        'subject = "CN=Dave Doe,GN=Dave,SN=Doe,serialNumber=PNOEX-20000101-0001,C=EX"\n'
    )
    report = apply(load_spec(spec), demo, passphrase=PASS)
    assert report.added == ("certificate dave (citizen-auth, from citizen-ca)",)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ca": {"root": {}}}, "ca.root.subject: required"),
        ({"ca": {"sub": {"subject": "CN=x,C=EX", "parent": "nope"}}}, "no CA named 'nope'"),
        (
            {
                "ca": {
                    "a": {"subject": "CN=a", "parent": "b"},
                    "b": {"subject": "CN=b", "parent": "a"},
                }
            },
            "their own ancestors",
        ),
        ({"ca": {"Root CA": {"subject": "CN=x"}}}, "lower-case"),
        ({"ca": {"r": {"subject": "CN=x", "key_type": "dsa"}}}, "ca.r.key_type"),
        ({"ca": {"r": {"subject": "CN=x", "days": "ten"}}}, "ca.r.days: must be int"),
        ({"ca": {"r": {"subject": "CN=x", "days": -1}}}, r"ca\.r\.days -1: .* from 1 to 36525"),
        ({"ca": {"r": {"subject": "CN=x", "days": 0}}}, r"ca\.r\.days 0: .* from 1 to 36525"),
        ({"ca": {"r": {"subject": "CN=x", "days": 10**12}}}, r"ca\.r\.days 1000000000000: "),
        (
            {"ca": {"r": {"subject": "CN=x", "path_length": -1}}},
            r"ca\.r\.path_length -1: must be a whole number, 0 or more",
        ),
        (
            {
                "ca": {"r": {"subject": "CN=x"}},
                "certificate": {"c": {"ca": "r", "profile": "p", "days": -1}},
            },
            r"certificate\.c\.days -1: ",
        ),
        (
            {"ca": {"r": {"subject": "CN=x", "profiles": {"tls-server": {"validity_days": -5}}}}},
            r"ca\.r\.profiles: profile tls-server: validity_days -5: ",
        ),
        (
            {"ca": {"r": {"subject": "CN=x"}}, "certificate": {"c": {"ca": "x", "profile": "p"}}},
            "no CA named 'x'",
        ),
        (
            {
                "ca": {"r": {"subject": "CN=x"}},
                "certificate": {"c": {"ca": "r", "profile": "p", "revoke": "oops"}},
            },
            "not an RFC 5280 reason",
        ),
        ({"colour": {}}, "unknown table"),
        ({"ca": {"r": {"subject": "CN=x", "pathlen": 1}}}, r"ca\.r: unknown setting\(s\) pathlen"),
        (
            {
                "ca": {"r": {"subject": "CN=x"}},
                "certificate": {"c": {"ca": "r", "profile": "p", "san": ["dns:x"]}},
            },
            r"certificate\.c: unknown setting\(s\) san;",
        ),
        (
            {"ca": {"r": {"subject": "CN=x", "profiles": {"tls-server": {"colour": 1}}}}},
            r"ca\.r\.profiles: profile tls-server: unknown setting",
        ),
        (
            {
                "ca": {
                    "r": {
                        "subject": "CN=x",
                        "profiles": {"org-seal": {"pds": {"en": "http://x.example/pds"}}},
                    }
                }
            },
            r"ca\.r\.profiles: profile org-seal: pds .*must be https",
        ),
    ],
)
def test_bad_specs(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_spec(data)


def test_cli_apply_and_export(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"TRUSTKIT_PASSPHRASE": "cli-passphrase", "TRUSTKIT_NEW_PASSPHRASE": "p12-passphrase"}
    result = runner.invoke(
        cli, ["pki", "apply", str(EXAMPLE), "--out", str(tmp_path / "pki")], env=env
    )
    assert result.exit_code == 0, result.output
    assert "added: root CA root" in result.stdout
    again = runner.invoke(
        cli, ["pki", "apply", str(EXAMPLE), "--out", str(tmp_path / "pki")], env=env
    )
    assert "nothing to add" in again.stdout
    certs = tmp_path / "pki" / "certs"
    out = tmp_path / "portal.p12"
    result = runner.invoke(
        cli,
        [
            "export-p12",
            "--cert",
            str(certs / "portal-chain.pem"),
            "--key",
            str(certs / "portal.key"),
            "-o",
            str(out),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    info = _openssl("pkcs12", "-info", "-noout", "-in", str(out), "-passin", "pass:p12-passphrase")
    assert info.returncode == 0, info.stderr
    chain = runner.invoke(cli, ["export-chain", "--ca", str(tmp_path / "pki" / "eservices-ca")])
    assert chain.stdout.count("BEGIN CERTIFICATE") == 2
    wrong = runner.invoke(
        cli,
        [
            "export-p12",
            "--cert",
            str(certs / "portal.pem"),
            "--key",
            str(certs / "alice.key"),
            "-o",
            str(out),
        ],
        env=env,
    )
    assert wrong.exit_code == 1 and "does not belong" in wrong.stderr


@pytest.mark.parametrize(
    ("setting", "field"),
    [("days = -1", "ca.root.days -1"), ("path_length = -1", "ca.root.path_length -1")],
)
def test_cli_apply_refuses_bad_numbers_in_one_line(
    tmp_path: Path, setting: str, field: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_text(f'[ca.root]\nsubject = "CN=Spec Root,O=Example,C=EX"\n{setting}\n')
    result = CliRunner().invoke(
        cli, ["pki", "apply", str(spec), "--out", str(tmp_path / "out")],
        env={"TRUSTKIT_PASSPHRASE": "cli-passphrase"},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"trustkit: error: {field}: ")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()
    # The twin: the same spec with a sound number applies.
    spec.write_text(spec.read_text().replace("-1", "1"))
    result = CliRunner().invoke(
        cli, ["pki", "apply", str(spec), "--out", str(tmp_path / "out")],
        env={"TRUSTKIT_PASSPHRASE": "cli-passphrase"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output


def test_apply_refuses_a_directory_with_a_stray_ca_key(tmp_path: Path) -> None:
    # A CA directory without trustkit.toml is not "missing": its key is kept, not replaced.
    stray = tmp_path / "out" / "root"
    stray.mkdir(parents=True)
    (stray / "ca.key").write_bytes(b"an earlier CA's key")
    spec = parse_spec({"ca": {"root": {"subject": "CN=Spec Root,O=Example,C=EX"}}})
    with pytest.raises(ConfigError, match=r"already holds a CA or part of one \(ca\.key\)"):
        apply(spec, tmp_path / "out", passphrase=PASS)
    assert (stray / "ca.key").read_bytes() == b"an earlier CA's key"
    assert sorted(p.name for p in stray.iterdir()) == ["ca.key"]
