"""``trustkit revoke``, ``crl`` and ``serve --help`` through click's runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from tests.revocation.conftest import PASSPHRASE, make_hierarchy, openssl
from trustkit.cli import cli
from trustkit.encoding import format_serial, load_crl


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"TRUSTKIT_PASSPHRASE": PASSPHRASE.decode(), "TRUSTKIT_CA": None})


def test_revoke_then_crl(tmp_path: Path, runner: CliRunner) -> None:
    h = make_hierarchy(tmp_path)
    h.ca.close()
    ca_dir = str(h.ca.directory)
    serial = format_serial(h.good.serial)
    result = runner.invoke(
        cli,
        [
            "revoke",
            "--ca",
            ca_dir,
            serial,
            "--reason",
            "keyCompromise",
            "--invalidity-date",
            "2026-01-01T00:00:00Z",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert '"reason": "keyCompromise"' in result.output
    out = tmp_path / "ca.crl"
    made = runner.invoke(cli, ["crl", "--ca", ca_dir, "-o", str(out)])
    assert made.exit_code == 0, made.output
    crl = load_crl(out.read_bytes())
    assert {r.serial_number for r in crl} == {h.good.serial, h.revoked.serial}
    check = openssl("crl", "-in", out, "-CAfile", h.root_pem, "-noout")
    assert "verify OK" in check.stdout + check.stderr
    again = runner.invoke(cli, ["crl", "--ca", ca_dir, "--der", "-o", str(out)])
    assert again.exit_code == 0
    number = load_crl(out.read_bytes()).extensions.get_extension_for_class(x509.CRLNumber)
    assert number.value.crl_number == 2


def test_revoke_twice_and_unknown_fail(tmp_path: Path, runner: CliRunner) -> None:
    h = make_hierarchy(tmp_path)
    h.ca.close()
    ca_dir = str(h.ca.directory)
    twice = runner.invoke(cli, ["revoke", "--ca", ca_dir, format_serial(h.revoked.serial)])
    assert twice.exit_code == 1 and "already revoked" in twice.output
    unknown = runner.invoke(cli, ["revoke", "--ca", ca_dir, "0A:0B:0C:0D:0E:0F:10:11"])
    assert unknown.exit_code == 1 and "no such certificate" in unknown.output
    not_hex = runner.invoke(cli, ["revoke", "--ca", ca_dir, "xyz"])
    assert not_hex.exit_code == 1
    bad_reason = runner.invoke(cli, ["revoke", "--ca", ca_dir, "0A", "--reason", "removeFromCRL"])
    assert bad_reason.exit_code == 2


def test_all_shards_and_delta(tmp_path: Path, runner: CliRunner) -> None:
    h = make_hierarchy(tmp_path, shards=2, delta=True)
    h.ca.close()
    ca_dir = str(h.ca.directory)
    out_dir = tmp_path / "published"
    full = runner.invoke(cli, ["crl", "--ca", ca_dir, "--all-shards", "--out-dir", str(out_dir)])
    assert full.exit_code == 0, full.output
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "test-root-0.crl",
        "test-root-1.crl",
        "test-root.crl",
    ]
    delta = runner.invoke(
        cli, ["crl", "--ca", ca_dir, "--all-shards", "--delta", "--out-dir", str(out_dir)]
    )
    assert delta.exit_code == 0, delta.output
    assert (out_dir / "test-root-1-delta.crl").exists()
    wrong = runner.invoke(cli, ["crl", "--ca", ca_dir, "--shard", "5"])
    assert wrong.exit_code == 1 and "shard 5" in wrong.output


def test_crl_with_wrong_passphrase_fails(tmp_path: Path) -> None:
    h = make_hierarchy(tmp_path)
    h.ca.close()
    runner = CliRunner(env={"TRUSTKIT_PASSPHRASE": "Zq9-not-it", "TRUSTKIT_CA": None})
    result = runner.invoke(cli, ["crl", "--ca", str(h.ca.directory)])
    assert result.exit_code == 1 and "passphrase" in result.output
    assert "Zq9-not-it" not in result.output


def test_serve_help() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0 and "--ca" in result.output
