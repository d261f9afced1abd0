"""``trustkit validate`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trustkit.cli import cli

from .conftest import AT, Pki, issue, leaf, make_crl


def _write(path: Path, *certs: x509.Certificate, der: bool = False) -> str:
    if der:
        path.write_bytes(certs[0].public_bytes(serialization.Encoding.DER))
    else:
        path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return str(path)


def _args(pki: Pki, tmp_path: Path, *extra: str) -> list[str]:
    ee = pki.make_leaf()
    return [
        "validate",
        _write(tmp_path / "ee.der", ee.cert, der=True),
        "--trust",
        _write(tmp_path / "root.pem", pki.root.cert),
        "--untrusted",
        _write(tmp_path / "chain.pem", pki.inter.cert),
        "--at",
        AT.isoformat(),
        *extra,
    ]


def test_cli_valid_json(pki: Pki, tmp_path: Path) -> None:
    run = CliRunner().invoke(
        cli,
        _args(pki, tmp_path, "--purpose", "tls-server", "--hostname", "leaf.example.gov", "--json"),
    )
    assert run.exit_code == 0, run.output
    data = json.loads(run.output)
    assert data["valid"] is True
    assert [e["index"] for e in data["path"]] == [0, 1, 2]
    assert data["path"][2]["trust_anchor"] is True


def test_cli_valid_text_with_crl(pki: Pki, tmp_path: Path) -> None:
    crl_root = tmp_path / "root.crl"
    crl_root.write_bytes(make_crl(pki.root).public_bytes(serialization.Encoding.DER))
    crl_inter = tmp_path / "inter.crl"
    crl_inter.write_bytes(make_crl(pki.inter).public_bytes(serialization.Encoding.PEM))
    run = CliRunner().invoke(
        cli,
        _args(
            pki,
            tmp_path,
            "--crl",
            str(crl_root),
            "--crl",
            str(crl_inter),
            "--revocation",
            "hard-fail",
        ),
    )
    assert run.exit_code == 0, run.output
    assert "revocation [0]: good (crl" in run.output


def test_cli_wrong_purpose_exit_1(pki: Pki, tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, _args(pki, tmp_path, "--purpose", "code-signing"))
    assert run.exit_code == 1
    assert "code-signing" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    # The report a success prints, for the refusal too: the path, and where it failed.
    assert run.stdout.splitlines()[0].startswith("INVALID: ")
    assert "[0] CN=leaf.example.gov,O=Trustkit Test,C=EE <- refused here" in run.stdout
    assert "[2] " in run.stdout


def test_cli_wrong_root_exit_1(pki: Pki, tmp_path: Path) -> None:
    other = issue("Other Root", None, ca=True)
    args = _args(pki, tmp_path)
    args[args.index("--trust") + 1] = _write(tmp_path / "other.pem", other.cert)
    run = CliRunner().invoke(cli, args)
    assert run.exit_code == 1
    assert "no path" in run.output


def test_cli_hard_fail_without_evidence_and_garbage(pki: Pki, tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, _args(pki, tmp_path, "--revocation", "hard-fail"))
    assert run.exit_code == 1 and "revocation status unknown" in run.output
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate")
    run = CliRunner().invoke(cli, ["validate", str(garbage), "--trust", str(garbage)])
    assert run.exit_code == 1 and "garbage.pem" in run.output
    run = CliRunner().invoke(cli, _args(pki, tmp_path, "--at", "yesterday"))
    assert run.exit_code == 2


def test_cli_refuses_a_hostile_chain_in_one_line(tmp_path: Path) -> None:
    # 500 subtrees over 501 names: over the name-constraint bound, refused with the
    # bound's name and exit status 1; the twin with 500 names is valid.
    root = issue("NC Root", None, ca=True)
    subtrees = [x509.DNSName(f"host{i}.example.gov") for i in range(500)]
    inter = issue("NC CA", root, ca=True, name_constraints=x509.NameConstraints(subtrees, None))
    for count, code in ((501, 1), (500, 0)):
        ee = leaf(inter, dns=[f"host{i % 500}.example.gov" for i in range(count)])
        run = CliRunner().invoke(
            cli,
            [
                "validate",
                _write(tmp_path / "ee.pem", ee.cert),
                "--trust",
                _write(tmp_path / "root.pem", root.cert),
                "--untrusted",
                _write(tmp_path / "chain.pem", inter.cert),
                "--at",
                AT.isoformat(),
            ],
        )
        assert run.exit_code == code, run.output
        if code:
            assert "max_name_constraint_checks" in run.stderr
            assert "Traceback" not in run.output
            assert len(run.stderr.strip().splitlines()) == 1
