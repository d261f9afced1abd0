"""SIGKILL an issuing process at random points, many times; the store stays consistent.

A child process (``_crash_child``) issues, revokes and builds CRLs in a loop
against one SQLite store and prints what each call returned. The test kills
it with SIGKILL after a random delay, restarts it, and does so again and
again. Afterwards: SQLite's integrity check passes, every returned serial is
recorded (revocations too), no serial was handed out twice, and the CRL
numbers seen never went backwards across the restarts (RFC 5280 5.2.3).
"""

from __future__ import annotations

import itertools
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from trustkit.ca import CertificateAuthority
from trustkit.store import CertStatus

KILLS = 24
DEADLINE_S = 150.0
"""The whole test stops killing after this long, whatever the count."""
MIN_KILLS = 8
MAX_DELAY_S = 0.4
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Log:
    """What the killed processes reported as returned, in the order they printed it."""

    issued: list[int] = field(default_factory=list)
    revoked: list[int] = field(default_factory=list)
    crl_numbers: list[int] = field(default_factory=list)

    def read(self, output: bytes) -> None:
        # A line cut by the kill has no newline; it was not fully reported.
        for line in output.split(b"\n")[:-1]:
            kind, _, value = line.decode().partition(" ")
            if kind == "I":
                self.issued.append(int(value, 16))
            elif kind == "R":
                self.revoked.append(int(value, 16))
            elif kind == "C":
                self.crl_numbers.append(int(value))


def problems(ca: CertificateAuthority, log: Log) -> list[str]:
    """Every way the store disagrees with what was returned before the kills."""
    found: list[str] = []
    records = {r.serial: r for r in ca.list()}
    if len(set(log.issued)) != len(log.issued):
        found.append("a serial was returned twice")
    lost = [s for s in log.issued if s not in records]
    if lost:
        found.append(f"{len(lost)} returned certificates are not in the store")
    unrevoked = [
        s for s in log.revoked if s not in records or records[s].status is not CertStatus.REVOKED
    ]
    if unrevoked:
        found.append(f"{len(unrevoked)} returned revocations are not in the store")
    numbers = log.crl_numbers
    if any(later <= earlier for earlier, later in itertools.pairwise(numbers)):
        found.append("a CRL number went backwards or repeated")
    latest = ca.store.latest_crl(ca.id, shard=None, delta=False)
    if numbers and (latest is None or latest.crl_number < numbers[-1]):
        found.append("the store's latest CRL is older than one returned")
    return found


def _integrity(store_file: Path) -> str:
    connection = sqlite3.connect(store_file)
    try:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        connection.close()


def _run_and_kill(ca_dir: Path, seed: int, rng: random.Random, log: Log) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.robustness._crash_child", str(ca_dir), str(seed)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None
    ready = child.stdout.readline()
    if ready != b"ready\n":
        child.kill()
        _, err = child.communicate()
        raise AssertionError(f"child did not start: {err.decode(errors='replace')}")
    time.sleep(rng.uniform(0.0, MAX_DELAY_S))
    os.kill(child.pid, signal.SIGKILL)
    out, err = child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL, err.decode(errors="replace")
    log.read(out)


def test_sigkill_at_random_points_loses_nothing(tmp_path: Path) -> None:
    ca_dir = tmp_path / "ca"
    CertificateAuthority.create_root(
        "CN=Crash CA,O=Republic of Example,C=EX",
        ca_dir,
        passphrase=None,
        allow_unencrypted_key=True,
        key_type="ec-p256",
        base_url="http://pki.example.gov",
    ).close()
    rng = random.Random(int.from_bytes(os.urandom(4), "big"))
    log = Log()
    started = time.monotonic()
    kills = 0
    while kills < KILLS and time.monotonic() - started < DEADLINE_S:
        _run_and_kill(ca_dir, kills, rng, log)
        kills += 1
        # The store opens cleanly after every kill, before the next child runs.
        assert _integrity(ca_dir / "store.db") == "ok"
    assert kills >= MIN_KILLS
    assert log.issued and log.revoked and log.crl_numbers, "the children did too little"
    with CertificateAuthority.open(ca_dir) as ca:
        assert problems(ca, log) == []


def test_the_check_notices_lost_and_backward_results(tmp_path: Path) -> None:
    # The twin: a log the store cannot back up must be reported.
    ca = CertificateAuthority.create_root(
        "CN=Check CA,O=Republic of Example,C=EX",
        tmp_path / "ca",
        passphrase=None,
        allow_unencrypted_key=True,
        key_type="ec-p256",
    )
    assert problems(ca, Log()) == []
    log = Log(issued=[1 << 70, 1 << 70], revoked=[ca.certificate.serial_number], crl_numbers=[3, 2])
    assert problems(ca, log) == [
        "a serial was returned twice",
        "2 returned certificates are not in the store",
        "1 returned revocations are not in the store",
        "a CRL number went backwards or repeated",
        "the store's latest CRL is older than one returned",
    ]
    ca.close()
