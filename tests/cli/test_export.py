"""``trustkit list`` and ``trustkit export`` end to end through click.

A CA with certificates of several profiles, one citizen's, one revoked and one
expired; the PEM bundle is read back by openssl, every JSON line validated
against docs/schemas/export.schema.json, and bad filter values give a one-line
error that names the option.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.cli import cli
from trustkit.clock import FixedClock, utcnow
from trustkit.csr import create_csr
from trustkit.encoding import format_serial
from trustkit.errors import StoreError
from trustkit.keys import generate_key
from trustkit.names import parse_name
from trustkit.store import CertificateRecord

from .test_json_schemas import check

PASSPHRASE = b"s3cret-passphrase"
ENV = {"TRUSTKIT_PASSPHRASE": PASSPHRASE.decode(), "TRUSTKIT_CA": ""}
CITIZEN = "PNOEX-19800101-1234"


@dataclass(frozen=True)
class Population:
    ca_dir: Path
    root: int
    citizen: tuple[int, int]
    servers: tuple[int, ...]
    revoked: int
    expired: int


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=ENV, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _issue(ca: CertificateAuthority, subject: str, profile: str, **options: object) -> int:
    csr = create_csr(generate_key(), parse_name(subject))
    return ca.issue(csr, profile, **options).serial  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Population:
    ca_dir = tmp_path_factory.mktemp("export") / "ca"
    then = utcnow() - timedelta(days=400)
    ca = CertificateAuthority.create_root(
        "CN=Export Root CA,O=Republic of Example,C=EX",
        ca_dir,
        passphrase=PASSPHRASE,
        clock=FixedClock(then),
    )
    try:
        expired = _issue(
            ca, "CN=old.example.gov", "tls-server", days=30, sans=[x509.DNSName("old.example.gov")]
        )
    finally:
        ca.close()
    with CertificateAuthority.open(ca_dir, passphrase=PASSPHRASE) as ca:
        person = f"CN=Jaan Tamm,serialNumber={CITIZEN},C=EX"
        citizen = (_issue(ca, person, "tls-client"), _issue(ca, person, "tls-client"))
        servers = tuple(
            _issue(
                ca, f"CN=s{i}.example.gov", "tls-server", sans=[x509.DNSName(f"s{i}.example.gov")]
            )
            for i in range(3)
        )
        ca.revoke(servers[1], x509.ReasonFlags.key_compromise)
        root = ca.certificate.serial_number
    return Population(ca_dir, root, citizen, servers, servers[1], expired)


def _pem_serials(pem: str, tmp_path: Path) -> list[int]:
    """The serials of a PEM bundle as openssl reads it (every block must parse)."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_text(pem)
    listed = subprocess.run(
        ["openssl", "storeutl", "-noout", "-certs", str(bundle)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    count = int(listed.stdout.rsplit("Total found:", 1)[1])
    blocks = [
        b + "-----END CERTIFICATE-----\n" for b in pem.split("-----END CERTIFICATE-----\n")[:-1]
    ]
    serials = []
    for block in blocks:
        out = subprocess.run(
            ["openssl", "x509", "-noout", "-serial"],
            input=block,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        serials.append(int(out.strip().split("=", 1)[1], 16))
    assert count == len(serials)
    return serials


def test_list_text_is_as_before(population: Population) -> None:
    code, out, _ = run("list", "--ca", str(population.ca_dir))
    assert code == 0
    lines = out.splitlines()
    width = max(
        len(format_serial(s))
        for s in (population.root, *population.citizen, *population.servers, population.expired)
    )
    assert lines[0] == f"{'SERIAL':<{width}}  STATUS   EXPIRES     {'PROFILE':<19}  SUBJECT"
    serials = [int(line.split()[0], 16) for line in lines[1:]]
    # Oldest first: the root and the expired certificate were recorded 400 days ago.
    assert set(serials[2:]) == {*population.citizen, *population.servers}
    assert set(serials[:2]) == {population.root, population.expired}
    revoked_line = lines[1 + serials.index(population.revoked)]
    assert revoked_line.split()[1] == "revoked"
    code, out, _ = run("list", "--ca", str(population.ca_dir), "--status", "revoked")
    assert [int(line.split()[0], 16) for line in out.splitlines()[1:]] == [population.revoked]


def test_list_json_is_one_indented_array(population: Population) -> None:
    code, out, _ = run("list", "--ca", str(population.ca_dir), "--json")
    assert code == 0
    document = json.loads(out)
    check("list", document)
    # Printed a record at a time, byte for byte what one json.dumps of the list prints.
    assert out == json.dumps(document, indent=2) + "\n"
    assert len(document) == 7
    code, out, _ = run("list", "--ca", str(population.ca_dir), "--json", "--status", "revoked")
    assert [r["serial"] for r in json.loads(out)] == [format_serial(population.revoked)]


def test_list_json_of_nothing(tmp_path: Path) -> None:
    ca = CertificateAuthority.create_root("CN=Empty,C=EX", tmp_path / "ca", passphrase=PASSPHRASE)
    ca.close()
    code, out, _ = run("list", "--ca", str(tmp_path / "ca"), "--json", "--status", "revoked")
    assert (code, out) == (0, "[]\n")
    check("list", json.loads(out))


def test_export_pem_bundle_parses_with_openssl(population: Population, tmp_path: Path) -> None:
    code, out, err = run("export", "--ca", str(population.ca_dir))
    assert code == 0 and err.strip() == "exported 7 certificates"
    serials = _pem_serials(out, tmp_path)
    assert set(serials) == {
        population.root,
        population.expired,
        *population.citizen,
        *population.servers,
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (("--status", "revoked"), lambda p: {p.revoked}),
        (("--status", "expired"), lambda p: {p.expired}),
        (("--status", "valid"), lambda p: {p.root, *p.citizen, *p.servers} - {p.revoked}),
        (("--profile", "tls-client"), lambda p: set(p.citizen)),
        (("--profile", "root-ca"), lambda p: {p.root}),
        (("--subject-id", CITIZEN), lambda p: set(p.citizen)),
        (("--subject-id", CITIZEN[:-1]), lambda p: set()),
        (("--profile", "tls-server", "--status", "valid"), lambda p: {p.servers[0], p.servers[2]}),
    ],
    ids=["revoked", "expired", "valid", "profile", "root", "subject-id", "prefix", "combined"],
)
def test_export_filters(population: Population, options: tuple[str, ...], expected: object) -> None:
    code, out, err = run("export", "--ca", str(population.ca_dir), "--format", "jsonl", *options)
    assert code == 0, err
    lines = out.splitlines()
    for line in lines:
        check("export", json.loads(line))
    assert {int(json.loads(line)["serial"], 16) for line in lines} == expected(population)  # type: ignore[operator]
    assert err.strip() == f"exported {len(lines)} certificates"


def test_export_issuance_range(population: Population) -> None:
    with CertificateAuthority.open(population.ca_dir) as ca:
        records = {r.serial: r for r in ca.list(der=False)}
    first_citizen = records[population.citizen[0]].issued_at
    last_server = records[population.servers[-1]].issued_at

    def exported(*options: str) -> set[int]:
        code, out, err = run(
            "export", "--ca", str(population.ca_dir), "--format", "jsonl", *options
        )
        assert code == 0, err
        return {int(json.loads(line)["serial"], 16) for line in out.splitlines()}

    recent = exported("--issued-after", first_citizen.isoformat())
    assert recent == {*population.citizen, *population.servers}
    older = exported("--issued-before", first_citizen.isoformat())
    assert older == {population.root, population.expired}  # the bound itself is excluded
    # A time given without a zone is UTC; the same instant in another zone is the same range.
    naive = first_citizen.replace(tzinfo=None).isoformat()
    assert exported("--issued-after", naive) == recent
    shifted = first_citizen.astimezone(timezone(timedelta(hours=-7)))
    assert exported("--issued-after", shifted.isoformat()) == recent
    assert exported("--issued-after", (last_server + timedelta(seconds=1)).isoformat()) == set()


def test_jsonl_record_carries_the_certificate(population: Population) -> None:
    _, out, _ = run(
        "export", "--ca", str(population.ca_dir), "--format", "jsonl", "--subject-id", CITIZEN
    )
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["subject_id"] for r in records] == [CITIZEN, CITIZEN]
    for record in records:
        cert = x509.load_pem_x509_certificate(record["pem"].encode())
        assert format_serial(cert.serial_number) == record["serial"]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--issued-after", "yesterday"), "--issued-after 'yesterday'"),
        (("--issued-before", "2026-13-01"), "--issued-before '2026-13-01'"),
        (("--issued-after", "2026-02-01", "--issued-before", "2026-01-01"), "--issued-after"),
        (("--issued-after", "2026-01-01", "--issued-before", "2026-01-01"), "--issued-after"),
        (("--subject-id", "PNOEX_1980"), "--subject-id 'PNOEX_1980'"),
        (("--subject-id", "P" * 65), "--subject-id"),
        (("--subject-id", ""), "--subject-id"),
        (("--profile", "no-such-profile"), "--profile 'no-such-profile'"),
    ],
)
def test_bad_filter_values_are_one_line_errors(
    population: Population, tmp_path: Path, options: tuple[str, ...], named: str
) -> None:
    target = tmp_path / "out.pem"
    code, out, err = run("export", "--ca", str(population.ca_dir), "-o", str(target), *options)
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and named in err and "Traceback" not in err
    assert not target.exists() and list(tmp_path.iterdir()) == []


def test_unknown_status_and_format_are_usage_errors(population: Population) -> None:
    for options in (("--status", "suspended"), ("--format", "der")):
        code, out, err = run("export", "--ca", str(population.ca_dir), *options)
        assert code == 2 and out == "" and options[0] in err


def test_export_to_a_file_is_atomic(
    population: Population, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "all.pem"
    code, out, err = run("export", "--ca", str(population.ca_dir), "-o", str(target))
    assert code == 0 and out == ""
    assert target.stat().st_mode & 0o777 == 0o644
    assert len(_pem_serials(target.read_text(), tmp_path)) == 7
    whole = target.read_bytes()

    # The twin: the store fails after the first record; the earlier file stays whole.
    real_list = CertificateAuthority.list

    def failing(self: CertificateAuthority, *args: object, **kwargs: object) -> object:
        records = real_list(self, *args, **kwargs)  # type: ignore[arg-type]

        def broken() -> object:
            first: CertificateRecord = next(records)
            yield first
            raise StoreError("store sqlite:///...: connection lost")

        return broken()

    monkeypatch.setattr(CertificateAuthority, "list", failing)
    code, out, err = run("export", "--ca", str(population.ca_dir), "-o", str(target))
    assert code == 1 and "connection lost" in err and len(err.strip().splitlines()) == 1
    assert target.read_bytes() == whole
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
