"""Eight processes issue 200 certificates each into one store: nothing lost, nothing locked.

Each worker makes single ``ca.issue`` calls, as a user's program would, all
starting together so that they contend for the store's write lock. SQLite
queues writers (busy timeout and ``BEGIN IMMEDIATE``); PostgreSQL runs them
side by side. Either way every returned serial must be recorded once, and no
"database is locked" (or any other error) may reach a caller.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.csr import create_csr
from trustkit.keys import generate_key
from trustkit.names import parse_general_names, parse_name

from ..conftest import TEST_TIME

WORKERS = 8
PER_WORKER = 200
PROFILE = "tls-server"


def _worker(ca_dir: str, index: int, start: Any, results: Any) -> None:
    try:
        ca = CertificateAuthority.open(ca_dir, clock=FixedClock(TEST_TIME))
        csrs = [
            create_csr(
                generate_key("ec-p256"),
                parse_name(f"CN=w{index}-{i}.example.gov"),
                parse_general_names([f"dns:w{index}-{i}.example.gov"]),
            )
            for i in range(PER_WORKER)
        ]
        ca.key  # noqa: B018 - unlock before the start line, not inside the race
        start.wait(timeout=120)
        serials = [ca.issue(csr, PROFILE).serial for csr in csrs]
        ca.close()
        results.put((index, serials, None))
    except BaseException as exc:  # reported to the test, which fails on it
        results.put((index, [], f"{type(exc).__name__}: {exc}"))


def _make_ca(directory: Path, store: str | None) -> CertificateAuthority:
    return CertificateAuthority.create_root(
        "CN=Concurrency CA,O=Republic of Example,C=EX",
        directory,
        passphrase=None,
        allow_unencrypted_key=True,
        key_type="ec-p256",
        store=store,
        clock=FixedClock(TEST_TIME),
    )


def _run_workers(ca_dir: Path) -> tuple[list[int], list[str]]:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    workers = [
        context.Process(target=_worker, args=(str(ca_dir), i, start, results))
        for i in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    start.set()
    serials: list[int] = []
    errors: list[str] = []
    for _ in workers:
        _, got, error = results.get(timeout=240)
        serials.extend(got)
        if error is not None:
            errors.append(error)
    for worker in workers:
        worker.join(timeout=60)
    errors.extend(f"worker exit code {w.exitcode}" for w in workers if w.exitcode != 0)
    return serials, errors


def problems(ca: CertificateAuthority, returned: list[int], expected: int) -> list[str]:
    """What is wrong with the store after ``returned`` serials were handed out."""
    found: list[str] = []
    if len(returned) != expected:
        found.append(f"{len(returned)} serials returned, {expected} expected")
    if len(set(returned)) != len(returned):
        found.append("a serial was returned twice")
    recorded = [r.serial for r in ca.list() if r.profile == PROFILE]
    if len(set(recorded)) != len(recorded):
        found.append("a serial is recorded twice")
    missing = set(returned) - set(recorded)
    if missing:
        found.append(f"{len(missing)} returned serials are not recorded (lost writes)")
    extra = set(recorded) - set(returned)
    if extra:
        found.append(f"{len(extra)} records were never returned")
    return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_eight_processes_issue_into_one_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = None if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    ca = _make_ca(tmp_path / "ca", store)
    ca.close()
    serials, errors = _run_workers(tmp_path / "ca")
    assert errors == []
    with CertificateAuthority.open(tmp_path / "ca") as reopened:
        assert problems(reopened, serials, WORKERS * PER_WORKER) == []


def test_a_lost_write_is_noticed(tmp_path: Path) -> None:
    # The twin: the same check on a store that lost a record must complain.
    ca = _make_ca(tmp_path / "ca", None)
    csrs = [
        create_csr(generate_key("ec-p256"), parse_name(f"CN=h{i}.example.gov"),
                   parse_general_names([f"dns:h{i}.example.gov"]))
        for i in range(3)
    ]  # fmt: skip
    serials = [ca.issue(csr, PROFILE).serial for csr in csrs]
    assert problems(ca, serials, 3) == []
    engine = sa.create_engine(ca.store.url)
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM certificates WHERE serial = ?", (f"{serials[1]:040x}",))
    engine.dispose()
    assert problems(ca, serials, 3) == ["1 returned serials are not recorded (lost writes)"]
    assert "a serial was returned twice" in problems(ca, [*serials, serials[0]], 4)
    ca.close()
