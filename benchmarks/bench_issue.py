"""W1 and W1b: issuing P-256 leaves from CSRs, beside cryptography's bare cost.

Reproduce with::

    python -m benchmarks.bench_issue            # 1,000 certificates, 5 rounds
    python -m benchmarks.bench_issue --quick    # 200 certificates, 3 rounds
    python -m benchmarks.bench_issue --json     # rows for the benchmark runner

W1 (library). The limit is what a hand-written loop over cryptography does
for the same certificates, without a store: check the CSR's signature, build
a certificate with the same subject, SANs and extensions (their values made
once), sign it. trustkit does that plus its policy checks and the store
write; measured with single ``ca.issue`` calls (one commit, one ``fsync``,
each), with one ``ca.issue_many`` batch (one commit for all), and with two
processes each issuing batches into one SQLite store (against the limit run
in two processes). cfssl ``serve`` made 4,400 certificates/s on the
reference machine with both cores.

W1b (a whole ``trustkit issue`` process). The limit is Python's own start-up
(``python -c pass``); the peer is ``openssl x509 -req`` per process. The CA
key is encrypted with PBKDF2 at 600,000 rounds, a deliberate cost of
70-170 ms that is not lowered; the figure is given with that key and with
an unencrypted test key (benchmark only). The batch rows are one process
issuing every CSR of a directory: one key unlock, one transaction, then a
file (and a disk sync) per certificate, or one bundle.

Ratios are "limit / trustkit" for times and "trustkit / limit" for rates:
1.0 is the limit, higher is better.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from trustkit.ca import CertificateAuthority, Enrollment
from trustkit.csr import create_csr
from trustkit.encoding import pem_encode
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name

PASSPHRASE = "benchmark passphrase"
PROFILE = "tls-server"
BATCH = 250
"""Certificates per ``issue_many`` call in the two-process workload."""


@dataclass(frozen=True)
class Row:
    """One line of the performance table (the runner's row format)."""

    workload: str
    trustkit: float
    limit: float
    ratio: float
    unit: str
    peers: dict[str, float] = field(default_factory=dict)


def _csrs(count: int, tag: str = "") -> list[x509.CertificateSigningRequest]:
    key = generate_key("ec-p256")
    return [
        create_csr(
            key,
            parse_name(f"CN=host{tag}{i}.example.gov"),
            parse_general_names([f"dns:host{tag}{i}.example.gov"]),
        )
        for i in range(count)
    ]


def _make_ca(directory: Path, *, encrypted: bool) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        "CN=Benchmark Issuing CA,O=Republic of Example,C=EX",
        directory,
        passphrase=PASSPHRASE.encode() if encrypted else None,
        allow_unencrypted_key=not encrypted,
        key_type="ec-p256",
        base_url="http://pki.example.gov",
    )


def bare_issue(
    ca: CertificateAuthority,
) -> Callable[[Sequence[x509.CertificateSigningRequest]], None]:
    """The limit: cryptography alone makes the same tls-server certificates, no store."""
    key = ca.key
    sample = ca.issue(_csrs(1, "sample")[0], PROFILE).certificate
    # Every extension but the two that depend on the request, made once.
    fixed = [
        e
        for e in sample.extensions
        if not isinstance(e.value, x509.SubjectKeyIdentifier | x509.SubjectAlternativeName)
    ]
    issuer = ca.certificate.subject
    start = sample.not_valid_before_utc
    end = start + timedelta(days=90)

    def run(csrs: Sequence[x509.CertificateSigningRequest]) -> None:
        for csr in csrs:
            if not csr.is_signature_valid:
                raise SystemExit("CSR signature does not verify")
            public = csr.public_key()
            sans = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            extensions = [
                *fixed[:2],
                x509.Extension(
                    x509.SubjectKeyIdentifier.oid,
                    False,
                    x509.SubjectKeyIdentifier.from_public_key(public),  # type: ignore[arg-type]
                ),
                sans,
                *fixed[2:],
            ]
            (
                x509.CertificateBuilder(extensions=extensions)
                .subject_name(csr.subject)
                .issuer_name(issuer)
                .public_key(public)  # type: ignore[arg-type]
                .serial_number(x509.random_serial_number())
                .not_valid_before(start)
                .not_valid_after(end)
                .sign(key, hashes.SHA256())
            )

    return run


def _rate(count: int, run: Callable[[], object], rounds: int) -> float:
    """Certificates per second: the median of ``rounds`` runs of ``count``."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return count / statistics.median(times)


# --- two processes -----------------------------------------------------------------------------


def _worker(ca_dir: str, kind: str, count: int, tag: str, start: Any, results: Any) -> None:
    ca = CertificateAuthority.open(ca_dir, passphrase=PASSPHRASE.encode())
    csrs = _csrs(count, tag)
    limit = bare_issue(ca) if kind == "limit" else None
    ca.key  # noqa: B018 - unlocked before the start line
    start.wait()
    began = time.monotonic()
    if limit is not None:
        limit(csrs)
    else:
        for first in range(0, count, BATCH):
            ca.issue_many([Enrollment(csr, PROFILE) for csr in csrs[first : first + BATCH]])
    results.put((began, time.monotonic()))
    ca.close()


def _two_processes(ca_dir: Path, kind: str, count: int, round_: int) -> float:
    """Certificates per second of two processes, ``count`` each, from first start to last end."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(
            target=_worker, args=(str(ca_dir), kind, count, f"{kind}{round_}p{i}-", start, results)
        )
        for i in range(2)
    ]
    for worker in workers:
        worker.start()
    time.sleep(0.2)
    start.set()
    spans = [results.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
    return 2 * count / (max(end for _, end in spans) - min(began for began, _ in spans))


# --- whole processes ---------------------------------------------------------------------------


def _process_env(cache: Path) -> dict[str, str]:
    """The environment of measured processes: bytecode cached, as in an installed package.

    Without a bytecode cache (``PYTHONDONTWRITEBYTECODE``) every start compiles
    trustkit from source, which no installation does; the cache goes to a
    temporary directory, not into the source tree.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _wall_ms(args: list[str], runs: int, env: dict[str, str]) -> float:
    """Median wall time of running ``args`` as a process, in milliseconds (after a warm-up)."""
    subprocess.run(args, check=True, capture_output=True, env=env)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _write_csrs(directory: Path, csrs: Sequence[x509.CertificateSigningRequest]) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, csr in enumerate(csrs):
        path = directory / f"{i:05}.pem"
        path.write_bytes(pem_encode("CERTIFICATE REQUEST", csr.public_bytes(Encoding.DER)))
        paths.append(path)
    return paths


def _openssl_peer(work: Path, csr: Path, runs: int, env: dict[str, str]) -> float | None:
    if shutil.which("openssl") is None:
        return None
    key, cert = work / "openssl-ca.key", work / "openssl-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=openssl CA",
         "-days", "30"],
        check=True, capture_output=True,
    )  # fmt: skip
    return _wall_ms(
        ["openssl", "x509", "-req", "-in", str(csr), "-CA", str(cert), "-CAkey", str(key),
         "-days", "90", "-out", str(work / "openssl-leaf.pem")],
        runs,
        env,
    )  # fmt: skip


def measure(count: int, rounds: int, runs: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        ca = _make_ca(work / "ca", encrypted=True)
        limit_run = bare_issue(ca)
        csrs = _csrs(count)
        limit_run(csrs[:50])  # warm up
        limit = _rate(count, lambda: limit_run(csrs), rounds)
        single = _rate(count, lambda: [ca.issue(csr, PROFILE) for csr in csrs], rounds)
        batch = _rate(
            count, lambda: ca.issue_many([Enrollment(csr, PROFILE) for csr in csrs]), rounds
        )
        # The limit again after: the machine may be shared; take the better of the two.
        limit = max(limit, _rate(count, lambda: limit_run(csrs), rounds))
        rows.append(
            Row("W1 issue, library, one ca.issue each", single, limit, single / limit, "certs/s")
        )
        rows.append(
            Row(
                f"W1 issue, library, one issue_many of {count:,}",
                batch,
                limit,
                batch / limit,
                "certs/s",
            )
        )
        ca.close()

        per_process = count
        two_limit = statistics.median(
            _two_processes(work / "ca", "limit", per_process, r) for r in range(max(1, rounds // 2))
        )
        two = statistics.median(
            _two_processes(work / "ca", "batch", per_process, r) for r in range(max(1, rounds // 2))
        )
        rows.append(
            Row(
                f"W1 issue, 2 processes, batches of {BATCH}, one SQLite store",
                two,
                two_limit,
                two / two_limit,
                "certs/s",
                {"cfssl serve (reference machine)": 4400.0},
            )
        )

        plain = _make_ca(work / "plain", encrypted=False)
        plain.close()
        secret = work / "passphrase"
        secret.write_text(PASSPHRASE + "\n")
        paths = _write_csrs(work / "csrs", _csrs(count, "cli"))
        env = _process_env(work / "pycache")
        python = _wall_ms([sys.executable, "-c", "pass"], runs, env)
        peer = _openssl_peer(work, paths[0], runs, env)
        peers = {} if peer is None else {"openssl x509 -req": peer}

        def issue(ca_dir: Path, *extra: str) -> list[str]:
            return [sys.executable, "-m", "trustkit.cli", "issue", "--ca", str(ca_dir),
                    "--passphrase-file", str(secret), *extra]  # fmt: skip

        one = [*issue(work / "ca"), "--csr", str(paths[0]), "-o", str(work / "one.pem")]
        encrypted_ms = _wall_ms(one, runs, env)
        one_plain = [*issue(work / "plain"), "--csr", str(paths[0]), "-o", str(work / "one.pem")]
        plain_ms = _wall_ms(one_plain, runs, env)
        rows.append(
            Row("W1b one trustkit issue process, CA key PBKDF2 600,000", encrypted_ms, python,
                python / encrypted_ms, "ms", peers)
        )  # fmt: skip
        rows.append(
            Row("W1b one trustkit issue process, unencrypted test key", plain_ms, python,
                python / plain_ms, "ms", peers)
        )  # fmt: skip
        batch = [*issue(work / "ca"), "--csr-dir", str(work / "csrs")]
        for label, output in (
            ("a file each (--out-dir)", ["--out-dir", str(work / "out")]),
            ("one bundle (-o)", ["-o", str(work / "bundle.pem")]),
        ):
            batch_ms = _wall_ms([*batch, *output], max(1, runs // 3), env)
            rate = count / (batch_ms / 1000)
            rows.append(
                Row(f"W1b one trustkit issue process, batch of {count:,} CSRs, {label}",
                    rate, limit, rate / limit, "certs/s")
            )  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000, help="certificates per workload")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=15, help="processes per W1b figure")
    parser.add_argument("--quick", action="store_true", help="200 certificates, 3 rounds")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    options = parser.parse_args()
    if options.quick:
        options.count, options.rounds, options.runs = 200, 3, 5
    rows = measure(options.count, options.rounds, options.runs)
    if options.json:
        print(json.dumps([asdict(row) for row in rows], indent=2))
        return
    print(f"{'workload':62} {'trustkit':>10} {'limit':>10} {'ratio':>6}  unit     peers")
    for row in rows:
        peers = ", ".join(f"{name} {value:,.0f}" for name, value in row.peers.items())
        print(
            f"{row.workload:62} {row.trustkit:>10,.0f} {row.limit:>10,.0f} {row.ratio:>6.2f}"
            f"  {row.unit:<8} {peers}"
        )


if __name__ == "__main__":
    main()
