"""W4: time and size of a CRL with many revoked entries, beside cryptography's bare builder.

Reproduce with::

    python -m benchmarks.bench_crl    # 1,000,000 issued, 100,000 revoked, 16 shards
    python -m benchmarks.bench_crl --issued 200000 --revoked 20000 --shards 4
    python -m benchmarks.bench_crl --json --quick   # 100,000 issued and revoked, no shards

Test data goes into a SQLite store with bulk SQL inserts (issuing a million
certificates through the CA would take an hour and measure something else).
Entries are encoded into the store the first time a CRL needs them (the
"first CRL" line); every later CRL reuses them, and a process keeps them
between CRLs, reading only those revoked since. Measured: the CRL made again,
made after 100 more revocations, and made by a process that has made none
yet (every entry read from the store). The limit is cryptography's
``CertificateRevocationListBuilder`` given the whole list at once. The peer
``openssl ca -gencrl`` is timed as a whole process on an index.txt holding the
same revoked entries (median of the rounds); cfssl is not installed here, its
figure (0.50 s) is the issue's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.keys import signature_hash_for
from trustkit.revocation.crl import build_crl
from trustkit.serials import new_serial
from trustkit.store import CertStatus
from trustkit.store.sql import REVOCATION_COUNTER, certificates, counters

AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
REASONS = (x509.ReasonFlags.key_compromise, x509.ReasonFlags.superseded, None)


def _median(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def populate(ca: CertificateAuthority, issued: int, revoked: int, shards: int) -> list[tuple]:
    """Insert ``issued`` records, every (issued/revoked)-th revoked; return the revoked ones."""
    engine = sa.create_engine(ca.store.url)
    step = max(1, issued // max(1, revoked))
    revoked_rows: list[tuple] = []
    chunk: list[dict[str, object]] = []
    seq = 0
    with engine.begin() as conn:
        for i in range(issued):
            serial = new_serial()
            is_revoked = i % step == 0 and len(revoked_rows) < revoked
            row: dict[str, object] = {
                "issuer": ca.id,
                "serial": f"{serial:040x}",
                "subject": f"CN=citizen {i}",
                "sans": "[]",
                "profile": "citizen-auth",
                "not_before": AT - timedelta(days=30),
                "not_after": AT + timedelta(days=700),
                "der": b"\x30\x00",
                "status": CertStatus.REVOKED.value if is_revoked else CertStatus.VALID.value,
                "issued_at": AT - timedelta(days=30),
                "shard": i % shards if shards else 0,
                "revocation_time": None,
                "revocation_reason": None,
                "invalidity_date": None,
                "revocation_seq": None,
            }
            if is_revoked:
                seq += 1
                reason = REASONS[seq % len(REASONS)]
                when = AT - timedelta(minutes=seq)
                row.update(
                    revocation_time=when,
                    revocation_reason=None if reason is None else reason.value,
                    revocation_seq=seq,
                )
                revoked_rows.append((serial, when, reason))
            chunk.append(row)
            if len(chunk) == 20000:
                conn.execute(certificates.insert(), chunk)
                chunk = []
        if chunk:
            conn.execute(certificates.insert(), chunk)
        conn.execute(counters.insert().values(issuer=ca.id, name=REVOCATION_COUNTER, value=seq))
    engine.dispose()
    return revoked_rows


def bare_builder(ca: CertificateAuthority, rows: list[tuple]) -> bytes:
    """cryptography's builder with every entry given at once (the limit)."""
    entries = []
    for serial, when, reason in rows:
        entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when)
        if reason is not None:
            entry = entry.add_extension(x509.CRLReason(reason), critical=False)
        entries.append(entry.build())
    builder = (
        x509.CertificateRevocationListBuilder(revoked_certificates=entries)
        .issuer_name(ca.certificate.subject)
        .last_update(AT)
        .next_update(AT + timedelta(days=1))
        .add_extension(x509.CRLNumber(1), critical=False)
    )
    key = ca.key
    return builder.sign(key, signature_hash_for(key)).public_bytes(Encoding.DER)


CFSSL_ISSUE_FIGURE = 0.50
"""cfssl's CRL of 100,000 entries as measured in issue 7, seconds (not installed here)."""

_OPENSSL_REASONS = {
    x509.ReasonFlags.key_compromise: "keyCompromise",
    x509.ReasonFlags.superseded: "superseded",
}


def openssl_gencrl(
    ca: CertificateAuthority, rows: list[tuple], directory: Path, rounds: int
) -> float:
    """Seconds for ``openssl ca -gencrl`` to make the CRL of ``rows`` (median, whole process)."""
    directory.mkdir()
    lines = []
    expiry = (AT + timedelta(days=700)).strftime("%y%m%d%H%M%SZ")
    for serial, when, reason in rows:
        revoked = when.strftime("%y%m%d%H%M%SZ")
        if reason is not None:
            revoked += "," + _OPENSSL_REASONS[reason]
        hex_serial = f"{serial:X}"
        hex_serial = hex_serial if len(hex_serial) % 2 == 0 else "0" + hex_serial
        lines.append(f"R\t{expiry}\t{revoked}\t{hex_serial}\tunknown\t/CN=citizen {serial}")
    (directory / "index.txt").write_text("\n".join(lines) + "\n")
    (directory / "index.txt.attr").write_text("unique_subject = no\n")
    (directory / "crlnumber").write_text("01\n")
    (directory / "ca.cnf").write_text(
        "[ca]\ndefault_ca = CA_default\n[CA_default]\n"
        f"database = {directory / 'index.txt'}\ncrlnumber = {directory / 'crlnumber'}\n"
        "default_md = sha256\ndefault_crl_days = 1\n"
    )
    key = directory / "key.pem"
    key.write_bytes(ca.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    key.chmod(0o600)
    cert = directory / "ca.pem"
    cert.write_bytes(ca.certificate.public_bytes(Encoding.PEM))
    command = [
        "openssl", "ca", "-gencrl", "-batch", "-config", str(directory / "ca.cnf"),
        "-keyfile", str(key), "-cert", str(cert), "-out", str(directory / "crl.pem"),
    ]  # fmt: skip

    def run() -> None:
        subprocess.run(command, check=True, capture_output=True)

    seconds = _median(run, rounds)
    crl = x509.load_pem_x509_crl((directory / "crl.pem").read_bytes())
    assert len(crl) == len(rows), "openssl ca left entries out"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issued", type=int, default=1_000_000)
    parser.add_argument("--revoked", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--quick", action="store_true", help="100,000 issued, all revoked, no shards"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    args = parser.parse_args()
    if args.quick:
        args.issued, args.revoked, args.shards, args.rounds = 100_000, 100_000, 0, 3

    with tempfile.TemporaryDirectory() as tmp:
        clock = FixedClock(AT)
        ca = CertificateAuthority.create_root(
            "CN=Benchmark Citizen CA,O=Example Government,C=EX",
            Path(tmp) / "ca",
            passphrase=b"benchmark passphrase",
            base_url="http://pki.example.gov",
            clock=clock,
        )
        start = time.perf_counter()
        rows = populate(ca, args.issued, args.revoked, 0)
        print(
            f"inserted {args.issued:,} records, {len(rows):,} revoked, in "
            f"{time.perf_counter() - start:.1f} s"
        )

        limit = _median(lambda: bare_builder(ca, rows), args.rounds)
        size_limit = len(bare_builder(ca, rows))
        start = time.perf_counter()
        build_crl(ca, at=AT)
        first = time.perf_counter() - start
        ours = _median(lambda: build_crl(ca, at=AT), args.rounds)
        crl = build_crl(ca, at=AT)
        assert len(crl.crl) == len(rows)
        assert crl.crl.is_signature_valid(ca.certificate.public_key())  # type: ignore[arg-type]

        # A process that has made no CRL yet reads every entry from the store.
        def fresh_process() -> float:
            handle = CertificateAuthority.open(
                Path(tmp) / "ca", passphrase=b"benchmark passphrase", clock=clock
            )
            start = time.perf_counter()
            build_crl(handle, at=AT)
            seconds = time.perf_counter() - start
            handle.close()
            return seconds

        cold = statistics.median(fresh_process() for _ in range(args.rounds))

        # The usual next CRL: a few more revocations since the last one.
        engine = sa.create_engine(ca.store.url)
        with engine.connect() as conn:
            valid = [
                int(serial, 16)
                for serial in conn.execute(
                    sa.select(certificates.c.serial)
                    .where(certificates.c.status == CertStatus.VALID.value)
                    .limit(100 * args.rounds)
                ).scalars()
            ]
        engine.dispose()
        after_revocations = []
        for batch in range(args.rounds):
            for serial in valid[batch * 100 : (batch + 1) * 100]:
                ca.revoke(serial, x509.ReasonFlags.key_compromise, at=AT)
            start = time.perf_counter()
            newer = build_crl(ca, at=AT)
            after_revocations.append(time.perf_counter() - start)
        assert newer.entries == len(rows) + len(valid)
        revoked_since = statistics.median(after_revocations)

        print()
        print(f"| W4 CRL, {len(rows):,} entries | seconds | size (bytes) | ratio to limit |")
        print("| --- | --- | --- | --- |")
        print(
            f"| cryptography builder, list at once (limit) | {limit:.3f} | {size_limit:,} | 1.00 |"
        )
        print(
            f"| trustkit first CRL (encodes entries) | {first:.3f} | {len(crl.der):,} | "
            f"{limit / first:.2f} |"
        )
        print(f"| trustkit build_crl | {ours:.3f} | {len(crl.der):,} | {limit / ours:.2f} |")
        print(
            f"| trustkit, 100 revoked since | {revoked_since:.3f} | | {limit / revoked_since:.2f} |"
        )
        print(f"| trustkit, process's first CRL | {cold:.3f} | | {limit / cold:.2f} |")
        peer = openssl_gencrl(ca, rows, Path(tmp) / "openssl", args.rounds)
        print(f"| openssl ca -gencrl (whole process) | {peer:.3f} | | {limit / peer:.2f} |")
        ca.close()
        result = [
            {
                "workload": f"W4 full CRL with {len(rows):,} revoked entries",
                "trustkit": round(ours, 3),
                "limit": round(limit, 3),
                "ratio": round(limit / ours, 2),
                "unit": "s",
                "peers": {
                    "openssl ca -gencrl": round(peer, 3),
                    "cfssl (issue figure)": CFSSL_ISSUE_FIGURE,
                },
            },
            {
                "workload": "(W4) the same, 100 certificates revoked since the last CRL",
                "trustkit": round(revoked_since, 3),
                "limit": round(limit, 3),
                "ratio": round(limit / revoked_since, 2),
                "unit": "s",
                "peers": {},
            },
            {
                "workload": "(W4) the same, a process's first CRL (reads every entry)",
                "trustkit": round(cold, 3),
                "limit": round(limit, 3),
                "ratio": round(limit / cold, 2),
                "unit": "s",
                "peers": {},
            },
            {
                "workload": "(W4) first CRL after a bulk load: encodes the entries once",
                "trustkit": round(first, 3),
                "limit": round(limit, 3),
                "ratio": round(limit / first, 2),
                "unit": "s",
                "peers": {},
            },
        ]

        if args.shards:
            ca2 = CertificateAuthority.create_root(
                "CN=Benchmark Partitioned CA,O=Example Government,C=EX",
                Path(tmp) / "ca2",
                passphrase=b"benchmark passphrase",
                base_url="http://pki.example.gov",
                clock=clock,
            )
            ca2.close()
            toml = Path(tmp) / "ca2" / "trustkit.toml"
            toml.write_text(toml.read_text().replace("[crl]\n", f"[crl]\nshards = {args.shards}\n"))
            ca2 = CertificateAuthority.open(
                Path(tmp) / "ca2", passphrase=b"benchmark passphrase", clock=clock
            )
            populate(ca2, args.issued, args.revoked, args.shards)

            def all_shards() -> None:
                for shard in range(args.shards):
                    build_crl(ca2, at=AT, shard=shard)

            start = time.perf_counter()
            all_shards()
            first_all = time.perf_counter() - start
            every = _median(all_shards, max(1, args.rounds // 2))
            print(f"| all {args.shards} shards, first time | {first_all:.3f} | | |")
            print(f"| all {args.shards} shards | {every:.3f} | | {limit / every:.2f} |")
            ca2.close()
            result.append(
                {
                    "workload": f"(W4) all {args.shards} partitioned CRLs, {args.issued:,} issued",
                    "trustkit": round(every, 3),
                    "limit": round(limit, 3),
                    "ratio": round(limit / every, 2),
                    "unit": "s",
                    "peers": {},
                }
            )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
