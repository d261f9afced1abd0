"""Publishers and revokers in separate processes on one store: every CRL agrees with its number.

Three processes publish complete, partition and delta CRLs, each with its own
``at`` scattered a minute either side (clocks that disagree); two processes
revoke certificates meanwhile. Afterwards every recorded CRL is read back
and, per scope, ordered by number:

- what a CRL says is revoked (a delta with its base) includes everything the
  CRL numbered below it in that scope said;
- a revocation that returned before a publication started is in its CRL;
- thisUpdate never goes back as numbers rise, and every CRL verifies.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509

from trustkit.ca import CertificateAuthority
from trustkit.clock import FixedClock
from trustkit.revocation.crl import build_crl
from trustkit.store import CRLRecord
from trustkit.store.sql import crls

from ..conftest import TEST_TIME
from ..revocation.conftest import PASSPHRASE, issue_leaf, make_ca

PUBLISHERS = 3
CRLS_EACH = 12
REVOKERS = 2
REVOCATIONS_EACH = 15
SHARDS = 2
SKEW = 60
"""Seconds either side of TEST_TIME a publisher's ``at`` may be."""

_Scope = tuple[int | None, bool]
_PLAN: Sequence[_Scope] = [(None, False), (0, False), (None, True), (1, False), (0, True)]
"""What publishers publish, in turn: (shard, delta)."""


def _publisher(ca_dir: str, index: int, start: Any, results: Any) -> None:
    try:
        ca = CertificateAuthority.open(ca_dir, passphrase=PASSPHRASE, clock=FixedClock(TEST_TIME))
        ca.key  # noqa: B018 - unlocked before the start line, not inside the race
        chance = random.Random(index)
        start.wait(timeout=120)
        started: list[tuple[int, float]] = []
        for turn in range(CRLS_EACH):
            shard, delta = _PLAN[(turn + index) % len(_PLAN)]
            at = TEST_TIME + timedelta(seconds=chance.uniform(-SKEW, SKEW))
            began = time.time()
            published = build_crl(ca, at=at, shard=shard, delta=delta)
            started.append((published.crl_number, began))
        ca.close()
        results.put(("publisher", started, None))
    except BaseException as exc:  # reported to the test, which fails on it
        results.put(("publisher", [], f"{type(exc).__name__}: {exc}"))


def _revoker(ca_dir: str, serials: list[int], start: Any, results: Any) -> None:
    try:
        ca = CertificateAuthority.open(ca_dir, passphrase=PASSPHRASE, clock=FixedClock(TEST_TIME))
        start.wait(timeout=120)
        done: list[tuple[int, float]] = []
        for serial in serials:
            ca.revoke(serial, x509.ReasonFlags.key_compromise)
            done.append((serial, time.time()))
            time.sleep(0.01)
        ca.close()
        results.put(("revoker", done, None))
    except BaseException as exc:
        results.put(("revoker", [], f"{type(exc).__name__}: {exc}"))


@dataclass(frozen=True)
class _Seen:
    record: CRLRecord
    serials: frozenset[int]
    """What the CRL says is revoked: its entries, with its base's for a delta."""


def crl_sequence_problems(
    records: Sequence[CRLRecord],
    shard_of: Mapping[int, int],
    revoked_at: Mapping[int, float],
    started_at: Mapping[int, float],
    issuer_key: Any,
) -> list[str]:
    """What is wrong with a CA's recorded CRLs, judged pair by consecutive pair."""
    found: list[str] = []
    by_number = {r.crl_number: r for r in records}
    ordered = sorted(records, key=lambda r: r.crl_number)
    for low, high in itertools.pairwise(ordered):
        if high.this_update < low.this_update:
            found.append(f"thisUpdate goes back from CRL {low.crl_number} to {high.crl_number}")
    own: dict[int, frozenset[int]] = {}
    for record in ordered:
        crl = x509.load_der_x509_crl(record.der)
        if not crl.is_signature_valid(issuer_key):
            found.append(f"CRL {record.crl_number}: signature does not verify")
        own[record.crl_number] = frozenset(entry.serial_number for entry in crl)
    for scope in sorted({r.shard for r in ordered}, key=lambda s: -1 if s is None else s):
        seen: list[_Seen] = []
        for record in (r for r in ordered if r.shard == scope):
            serials = own[record.crl_number]
            if record.delta:
                base = by_number.get(record.base_crl_number or 0)
                if base is None or base.delta or base.shard != scope:
                    found.append(f"delta CRL {record.crl_number}: no complete base of its scope")
                    continue
                newer = [
                    r.crl_number
                    for r in ordered
                    if r.shard == scope
                    and not r.delta
                    and base.crl_number < r.crl_number < record.crl_number
                ]
                if base.crl_number >= record.crl_number or newer:
                    found.append(f"delta CRL {record.crl_number}: not on the newest base")
                serials = serials | own[base.crl_number]
            seen.append(_Seen(record, serials))
        for low_seen, high_seen in itertools.pairwise(seen):
            lost = low_seen.serials - high_seen.serials
            if lost:
                found.append(
                    f"CRL {high_seen.record.crl_number} lacks {len(lost)} serial(s) that "
                    f"CRL {low_seen.record.crl_number} lists"
                )
        for item in seen:
            began = started_at.get(item.record.crl_number)
            in_scope = {
                serial
                for serial, at in revoked_at.items()
                if (scope is None or shard_of[serial] == scope) and began is not None and at < began
            }
            missed = in_scope - item.serials
            if missed:
                found.append(
                    f"CRL {item.record.crl_number} lacks {len(missed)} revocation(s) that "
                    "returned before it was started"
                )
            if item.serials - set(revoked_at):
                found.append(f"CRL {item.record.crl_number} lists serials never revoked")
    return found


def _all_crls(store_url: str, issuer: str) -> list[CRLRecord]:
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(crls.select().where(crls.c.issuer == issuer)).all()
    finally:
        engine.dispose()
    from trustkit.clock import utc

    return [
        CRLRecord(
            issuer=issuer,
            crl_number=int(row.crl_number),
            shard=None if row.shard == -1 else int(row.shard),
            delta=bool(row.delta),
            base_crl_number=None if row.base_crl_number is None else int(row.base_crl_number),
            this_update=utc(row.this_update),
            next_update=utc(row.next_update),
            revocation_seq=int(row.revocation_seq),
            der=bytes(row.der),
        )
        for row in rows
    ]


def _run(ca_dir: Path, victims: list[int]) -> tuple[dict[int, float], dict[int, float], list[str]]:
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    results = context.Queue()
    processes = [
        context.Process(target=_publisher, args=(str(ca_dir), i, start, results))
        for i in range(PUBLISHERS)
    ]
    processes += [
        context.Process(target=_revoker, args=(str(ca_dir), victims[i::REVOKERS], start, results))
        for i in range(REVOKERS)
    ]
    for process in processes:
        process.start()
    start.set()
    revoked_at: dict[int, float] = {}
    started_at: dict[int, float] = {}
    errors: list[str] = []
    for _ in processes:
        kind, got, error = results.get(timeout=300)
        if error is not None:
            errors.append(f"{kind}: {error}")
        target = revoked_at if kind == "revoker" else started_at
        for key, when in got:
            target[key] = when
    for process in processes:
        process.join(timeout=60)
    errors.extend(f"exit code {p.exitcode}" for p in processes if p.exitcode != 0)
    return revoked_at, started_at, errors


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_publishers_and_revokers_in_processes(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    store = None if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    ca = make_ca(tmp_path / "ca", FixedClock(TEST_TIME), store=store, shards=SHARDS, delta=True)
    leaves = [issue_leaf(ca, f"h{i}.example.gov") for i in range(REVOKERS * REVOCATIONS_EACH + 5)]
    shard_of = {leaf.serial: leaf.record.shard for leaf in leaves}
    first = leaves[0].serial
    ca.revoke(first, x509.ReasonFlags.superseded)
    for shard in (None, *range(SHARDS)):
        build_crl(ca, at=TEST_TIME - timedelta(seconds=SKEW * 2), shard=shard)  # delta bases
    store_url = ca.store.url if store is None else store
    issuer, issuer_key = ca.id, ca.certificate.public_key()
    ca.close()

    victims = [leaf.serial for leaf in leaves[1 : 1 + REVOKERS * REVOCATIONS_EACH]]
    revoked_at, started_at, errors = _run(tmp_path / "ca", victims)
    assert errors == []
    assert len(revoked_at) == len(victims) and len(started_at) == PUBLISHERS * CRLS_EACH
    revoked_at[first] = 0.0
    records = _all_crls(store_url, issuer)
    assert len(records) == PUBLISHERS * CRLS_EACH + 1 + SHARDS
    assert crl_sequence_problems(records, shard_of, revoked_at, started_at, issuer_key) == []
    # Once the dust settles, a new complete CRL lists every revocation.
    with CertificateAuthority.open(tmp_path / "ca", passphrase=PASSPHRASE) as again:
        final = build_crl(again, at=TEST_TIME)
    assert {e.serial_number for e in final.crl} == {first, *victims}
    assert final.crl_number == max(r.crl_number for r in records) + 1


def test_the_checks_notice_a_dropped_entry_and_time_going_back(tmp_path: Path) -> None:
    # The twin: the same checks on a doctored sequence must complain.
    ca = make_ca(tmp_path / "ca", FixedClock(TEST_TIME))
    try:
        leaves = [issue_leaf(ca, f"t{i}.example.gov") for i in range(2)]
        shard_of = {leaf.serial: leaf.record.shard for leaf in leaves}
        ca.revoke(leaves[0].serial, x509.ReasonFlags.superseded)
        one = build_crl(ca, at=TEST_TIME)
        revoked_at = {leaves[0].serial: time.time()}
        two = build_crl(ca, at=TEST_TIME + timedelta(minutes=1))
        started = {one.crl_number: time.time() - 100, two.crl_number: time.time()}
        records = _all_crls(ca.store.url, ca.id)
        key = ca.certificate.public_key()
        assert crl_sequence_problems(records, shard_of, revoked_at, started, key) == []
        first, second = sorted(records, key=lambda r: r.crl_number)
        # CRL 2 with CRL 1's entries gone (an empty CRL's DER): a dropped revocation.
        empty_tm = TEST_TIME + timedelta(minutes=2)
        dropped = replace(second, der=_empty_crl_der(ca, empty_tm))
        problems = crl_sequence_problems([first, dropped], shard_of, revoked_at, started, key)
        assert any("lacks" in p for p in problems), problems
        backwards = replace(second, this_update=first.this_update - timedelta(seconds=1))
        problems = crl_sequence_problems([first, backwards], shard_of, revoked_at, started, key)
        assert problems == [
            f"thisUpdate goes back from CRL {first.crl_number} to {second.crl_number}"
        ]
    finally:
        ca.close()


def _empty_crl_der(ca: CertificateAuthority, at: Any) -> bytes:
    from trustkit.keys import signature_hash_for

    key = ca.key
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(at)
        .next_update(at + timedelta(days=1))
        .add_extension(x509.CRLNumber(2), critical=False)
        .sign(key, signature_hash_for(key))
    )
    from cryptography.hazmat.primitives.serialization import Encoding

    return crl.public_bytes(Encoding.DER)
