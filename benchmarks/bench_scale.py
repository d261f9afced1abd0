"""W15: the same operations on an empty store and on a population-sized one.

Reproduce with::

    python -m benchmarks.bench_scale                                   # SQLite, 100,000 / 10,000
    python -m benchmarks.bench_scale --issued 1000000 --revoked 100000 # SQLite, a million
    python -m benchmarks.bench_scale --store postgresql+psycopg://postgres@127.0.0.1:55432/tk_scale
    python -m benchmarks --only scale --scale-issued 100000 --scale-revoked 10000
    python -m benchmarks.bench_scale --quick --json                    # 2,000 / 200

The population is built through trustkit's own API: real certificates, signed
by the CA and checked by its issuance policy (``CertificateAuthority.issue_many``
in batches of a thousand, citizen-auth certificates whose subject carries a
serialNumber), then ``revoked`` of them revoked at once
(``CertificateStore.revoke_many``, one transaction). Beside it, a CA with an
empty store; "empty" means the root's own record plus the ~1,300 certificates
the measurements themselves issue there.

Per-operation figures (issuance, status lookup, OCSP latency uncached: distinct
serials, the responder's cache off) are compared as population / empty; the
target is at most 1.5. Whole-population operations (the first CRL after the
bulk revocation, every CRL scope, ``trustkit list``, ``trustkit export``, the
store's size) are given with their per-item constant; ``list`` and ``export``
run as the real command line in a child process, whose peak memory (maxrss) is
reported. With ``--doc`` the table goes into docs/performance.md, in this
backend's section (the runner keeps those sections when it rewrites the page).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from trustkit.ca import CertificateAuthority, Enrollment
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_name
from trustkit.revocation.crl import build_crl, crl_scopes
from trustkit.revocation.ocsp import OCSPResponder, ResponderSettings, SigningMode
from trustkit.store import Revocation

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "docs" / "performance.md"
AT = datetime(2026, 1, 15, 12, tzinfo=UTC)
PASSPHRASE = b"benchmark passphrase"
PROFILE = "citizen-auth"
BATCH = 1000
SHARDS = 16
REASONS = (x509.ReasonFlags.key_compromise, x509.ReasonFlags.superseded, None)
TARGET = 1.5
"""Population / empty, at most, for every per-operation figure."""
ASKED = {"SQLite": (1_000_000, 100_000), "PostgreSQL": (10_000_000, 1_000_000)}
"""The population each backend is meant to be measured at (issued, revoked)."""
HEADING = "## Population scale (bench_scale)"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").replace("_", "").replace(",", "")
    return int(value) if value else default


def _subject(index: int) -> str:
    return f"CN=Citizen {index},GN=Citizen,SN=No {index},serialNumber=PNOEX-{index:09d},C=EX"


@dataclass
class Side:
    """One CA and what was measured on it."""

    label: str
    ca_dir: Path
    ca: CertificateAuthority
    store_url: str | None
    serials: list[int] = field(default_factory=list)
    revoked: set[int] = field(default_factory=set)
    figures: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


class Population:
    """Enrollments for ``count`` citizens, over a pool of keys (each CSR signed once)."""

    def __init__(self, pool: int = 64) -> None:
        self.csrs = [create_csr(generate_key(), parse_name(f"CN=key {i}")) for i in range(pool)]
        self.next = 0

    def enrollments(self, count: int) -> list[Enrollment]:
        start, self.next = self.next, self.next + count
        return [
            Enrollment(self.csrs[i % len(self.csrs)], PROFILE, subject=_subject(i))
            for i in range(start, start + count)
        ]


def make_ca(directory: Path, store_url: str | None) -> CertificateAuthority:
    ca = CertificateAuthority.create_root(
        "CN=Scale Citizen CA,O=Example Government,C=EX",
        directory,
        passphrase=PASSPHRASE,
        key_type="ec-p256",
        base_url="http://pki.example.gov",
        store=store_url,
        clock=FixedClock(AT),
    )
    ca.close()
    toml = directory / "trustkit.toml"
    toml.write_text(toml.read_text().replace("[crl]\n", f"[crl]\nshards = {SHARDS}\n"))
    return CertificateAuthority.open(directory, passphrase=PASSPHRASE, clock=FixedClock(AT))


def build(side: Side, people: Population, issued: int, revoked: int) -> None:
    """Issue ``issued`` certificates in batches, then revoke ``revoked`` at once."""
    start = time.perf_counter()
    step = max(issued // 10, BATCH)
    done = 0
    while done < issued:
        count = min(BATCH, issued - done)
        side.serials += [c.serial for c in side.ca.issue_many(people.enrollments(count))]
        done += count
        if done % step < count:
            rate = done / (time.perf_counter() - start)
            print(f"  {side.label}: {done:,} issued ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    side.figures["build_issue_s"] = time.perf_counter() - start
    chosen = random.Random(15).sample(side.serials, revoked)
    revocations = [
        Revocation(serial, REASONS[i % 3] or x509.ReasonFlags.unspecified)
        for i, serial in enumerate(chosen)
    ]
    start = time.perf_counter()
    side.ca.store.revoke_many(side.ca.id, revocations, at=AT)
    side.figures["bulk_revoke_s"] = time.perf_counter() - start
    side.revoked.update(chosen)
    # The first CRL after they arrived at once: every entry new to the CRL.
    start = time.perf_counter()
    first = build_crl(side.ca, at=AT)
    side.figures["first_crl_s"] = time.perf_counter() - start
    assert first.entries == len(side.revoked)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _ocsp_requests(ca: CertificateAuthority, serials: Sequence[int]) -> list[bytes]:
    first = ca.get(serials[0]).certificate
    template = ocsp.load_der_ocsp_request(
        ocsp.OCSPRequestBuilder()
        .add_certificate(first, ca.certificate, hashes.SHA1())
        .build()
        .public_bytes(Encoding.DER)
    )
    return [
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(
            template.issuer_name_hash, template.issuer_key_hash, serial, hashes.SHA1()
        )
        .build()
        .public_bytes(Encoding.DER)
        for serial in serials
    ]


def measure(side: Side, people: Population, samples: int) -> None:
    """The per-operation figures, then the whole-population ones."""
    ca, fig = side.ca, side.figures
    single = []
    for enrollment in people.enrollments(30):
        single.append(
            _timed(
                lambda e=enrollment: side.serials.append(  # type: ignore[misc]
                    ca.issue(e.csr, PROFILE, subject=e.subject).serial
                )
            )
        )
    fig["issue_single_ms"] = statistics.median(single) * 1e3
    batch = []
    for _ in range(3):
        enrollments = people.enrollments(400)
        batch.append(
            _timed(lambda e=enrollments: side.serials.extend(c.serial for c in ca.issue_many(e)))
            / 400
        )
    fig["issue_batch_ms"] = statistics.median(batch) * 1e3

    rng = random.Random(7)
    probes = rng.sample(side.serials, min(samples, len(side.serials)))
    lookups = [_timed(lambda s=serial: ca.store.status(ca.id, s)) for serial in probes]
    fig["status_p50_ms"] = _percentile(lookups, 0.5) * 1e3

    responder = OCSPResponder(
        [ca],
        settings=ResponderSettings(signing=SigningMode.DELEGATED, cache_size=0),
        passphrase=PASSPHRASE,
    )
    requests = _ocsp_requests(ca, rng.sample(side.serials, min(samples, len(side.serials))))
    responder.respond(requests[0], at=AT)  # the delegated signer made before timing
    answers = [_timed(lambda r=request: responder.respond(r, at=AT)) for request in requests[1:]]
    fig["ocsp_p50_ms"] = _percentile(answers, 0.5) * 1e3
    fig["ocsp_p99_ms"] = _percentile(answers, 0.99) * 1e3

    start = time.perf_counter()
    entries = sum(build_crl(ca, at=AT, shard=scope).entries for scope in crl_scopes(ca))
    fig["all_crls_s"] = time.perf_counter() - start
    fig["all_crls_entries"] = entries

    for command, extra in (("list", ()), ("export", ("--format", "pem"))):
        seconds, maxrss_kib, lines = _cli(side, command, *extra)
        fig[f"{command}_s"] = seconds
        fig[f"{command}_maxrss_mib"] = maxrss_kib / 1024
        fig[f"{command}_count"] = lines
    fig["records"] = len(side.serials) + 1
    fig["store_bytes"] = _store_bytes(side)


def _cli(side: Side, command: str, *extra: str) -> tuple[float, int, int]:
    """Run ``trustkit COMMAND --ca DIR`` as a child; its time, maxrss (KiB), records out."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TRUSTKIT_CA": ""}
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-m", "trustkit.cli", command, "--ca", str(side.ca_dir), *extra],
            stdout=out,
            stderr=subprocess.PIPE,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err = child.stderr.read().decode() if child.stderr else ""
        if child.returncode != 0:
            raise RuntimeError(f"trustkit {command}: exit {child.returncode}: {err.strip()}")
        out.seek(0)
        if command == "list":
            count = sum(1 for _ in out) - 1  # the header
        else:
            count = sum(line.startswith(b"-----BEGIN CERTIFICATE") for line in out)
    return seconds, usage.ru_maxrss, count


def _store_bytes(side: Side) -> float:
    if side.store_url is None:
        db = side.ca_dir / "store.db"
        engine = sa.create_engine(f"sqlite:///{db}")
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        return float(sum(p.stat().st_size for p in side.ca_dir.glob("store.db*")))
    engine = sa.create_engine(side.store_url)
    with engine.connect() as conn:
        size = conn.exec_driver_sql(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ).scalar()
    engine.dispose()
    return float(size or 0)


@contextmanager
def _pg_schema(base: str, label: str) -> Iterator[str]:
    """A fresh schema in the benchmark database, dropped afterwards."""
    schema = f"scale_{label}_{secrets.token_hex(4)}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def _ratio(large: float, empty: float) -> float:
    return large / empty if empty else float("inf")


PER_OP = (
    ("issue_single_ms", "issuance, one certificate (ca.issue, its own commit)", "ms"),
    ("issue_batch_ms", "issuance in batches of 400 (ca.issue_many), per certificate", "ms"),
    ("status_p50_ms", "status lookup (store.status), p50", "ms"),
    ("ocsp_p50_ms", "OCSP answer, uncached, distinct serials, p50", "ms"),
    ("ocsp_p99_ms", "OCSP answer, uncached, distinct serials, p99", "ms"),
)


def rows(empty: Side, large: Side) -> list[dict[str, object]]:
    """Rows for the runner: per-op figures population against empty (ratio = large/empty)."""
    out: list[dict[str, object]] = []
    for key, label, unit in PER_OP:
        out.append(
            {
                "workload": f"W15 {label} (ratio population/empty)",
                "trustkit": round(large.figures[key], 3),
                "limit": round(empty.figures[key], 3),
                "ratio": round(_ratio(large.figures[key], empty.figures[key]), 2),
                "unit": unit,
                "peers": {},
            }
        )
    return out


def table(empty: Side, large: Side, backend: str, issued: int, revoked: int) -> list[str]:
    f, e = large.figures, empty.figures
    records = f["records"]
    lines = [
        f"Population: {issued:,} certificates issued, {revoked:,} revoked, {SHARDS} CRL shards, "
        f"{backend}. Built in {f['build_issue_s']:.0f} s "
        f"({issued / f['build_issue_s']:,.0f} certificates/s through ca.issue_many); "
        f"store {f['store_bytes'] / 2**20:,.0f} MiB "
        f"({f['store_bytes'] / records:,.0f} bytes per certificate; empty store "
        f"{e['store_bytes'] / 2**20:,.1f} MiB for {e['records']:,.0f} records).",
        "",
        _sizes_note(backend, issued, revoked),
        "",
        "| operation | empty store | population | population / empty | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key, label, unit in PER_OP:
        ratio = _ratio(f[key], e[key])
        verdict = "met" if ratio <= TARGET else "**missed**"
        lines.append(
            f"| {label} | {e[key]:.3f} {unit} | {f[key]:.3f} {unit} | {ratio:.2f} "
            f"| <= {TARGET} ({verdict}) |"
        )
    lines += [
        "",
        "| whole-population operation | time | per item | peak memory |",
        "| --- | --- | --- | --- |",
        f"| {revoked:,} revocations at once (store.revoke_many, one transaction) "
        f"| {f['bulk_revoke_s']:.2f} s | {f['bulk_revoke_s'] / revoked * 1e6:.1f} µs "
        "per revocation | - |",
        f"| the first CRL after them (complete CRL, {revoked:,} entries) "
        f"| {f['first_crl_s']:.2f} s | {f['first_crl_s'] / revoked * 1e6:.1f} µs per entry | - |",
        f"| every CRL scope (complete + {SHARDS} shards, {f['all_crls_entries']:,.0f} entries) "
        f"| {f['all_crls_s']:.2f} s | {f['all_crls_s'] / f['all_crls_entries'] * 1e6:.1f} µs "
        "per entry | - |",
    ]
    for command in ("list", "export"):
        count = f[f"{command}_count"]
        what = "`trustkit list`" if command == "list" else "`trustkit export --format pem`"
        lines.append(
            f"| {what}, {count:,.0f} records (child process) | {f[f'{command}_s']:.1f} s "
            f"| {f[f'{command}_s'] / count * 1e6:.1f} µs per record "
            f"| {f[f'{command}_maxrss_mib']:.0f} MiB (empty store: "
            f"{e[f'{command}_maxrss_mib']:.0f} MiB) |"
        )
    return lines


def _sizes_note(backend: str, issued: int, revoked: int) -> str:
    asked_issued, asked_revoked = ASKED[backend]
    if issued >= asked_issued and revoked >= asked_revoked:
        return f"This is the full size asked of {backend} ({asked_issued:,} / {asked_revoked:,})."
    return (
        f"Not the full size: {backend} is meant to be measured at {asked_issued:,} issued / "
        f"{asked_revoked:,} revoked, which was not run here; this run is {issued:,} / "
        f"{revoked:,}."
    )


def write_doc(backend: str, lines: list[str], command: str) -> None:
    """Put this backend's table into docs/performance.md, replacing its last one."""
    begin, end = f"<!-- scale:{backend} -->", f"<!-- /scale:{backend} -->"
    block = "\n".join(
        [
            begin,
            f"### Population scale, {backend}",
            "",
            f"`{command}` on {datetime.now(UTC):%Y-%m-%d}:",
            "",
            *lines,
            end,
        ]
    )
    text = REPORT.read_text() if REPORT.exists() else "# Performance\n"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        if HEADING not in text:
            text = text.rstrip() + "\n\n" + HEADING + "\n"
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issued", type=int, default=_env_int("TRUSTKIT_SCALE_ISSUED", 100_000))
    parser.add_argument("--revoked", type=int, default=_env_int("TRUSTKIT_SCALE_REVOKED", 10_000))
    parser.add_argument(
        "--store",
        default=os.environ.get("TRUSTKIT_SCALE_STORE") or None,
        help="a PostgreSQL URL (a database for the benchmark: schemas are made and dropped "
        "in it); default SQLite files in a temporary directory",
    )
    parser.add_argument("--samples", type=int, default=1000, help="lookups and OCSP requests")
    parser.add_argument("--quick", action="store_true", help="2,000 issued, 200 revoked")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON, last line")
    parser.add_argument(
        "--doc", action="store_true", help="write the table into docs/performance.md"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.issued, args.revoked, args.samples = 2_000, 200, 300
    if not 0 < args.revoked <= args.issued:
        parser.error("--revoked must be between 1 and --issued")
    backend = "PostgreSQL" if args.store else "SQLite"

    with tempfile.TemporaryDirectory() as tmp:
        with _store(args.store, "empty") as empty_url, _store(args.store, "pop") as pop_url:
            people = Population()
            empty = Side(
                "empty", Path(tmp) / "empty", make_ca(Path(tmp) / "empty", empty_url), empty_url
            )
            large = Side(
                "population", Path(tmp) / "pop", make_ca(Path(tmp) / "pop", pop_url), pop_url
            )
            try:
                print(f"building {args.issued:,} / {args.revoked:,} on {backend}", file=sys.stderr)
                build(large, people, args.issued, args.revoked)
                for side in (empty, large):
                    print(f"measuring {side.label}", file=sys.stderr, flush=True)
                    measure(side, people, args.samples)
            finally:
                empty.ca.close()
                large.ca.close()
    lines = table(empty, large, backend, args.issued, args.revoked)
    print("\n".join(lines))
    if args.doc:
        command = (
            "python -m benchmarks.bench_scale"
            + (f" --issued {args.issued} --revoked {args.revoked}")
            + (" --store postgresql+psycopg://..." if args.store else "")
        )
        write_doc(backend, lines, command)
    if args.json:
        print(json.dumps(rows(empty, large)))
    return 0


@contextmanager
def _store(base: str | None, label: str) -> Iterator[str | None]:
    if base is None:
        yield None
        return
    with _pg_schema(base, label) as url:
        yield url


if __name__ == "__main__":
    sys.exit(main())
