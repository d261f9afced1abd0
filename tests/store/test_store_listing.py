"""Listing and exporting a store: order, filters, pages, constant memory, bulk revocation.

Run against SQLite and a real PostgreSQL server. The memory test is a
correctness check of streaming (peak memory must not follow the store's
size), not a timing test.
"""

from __future__ import annotations

import random
import tracemalloc
from collections.abc import Iterator
from datetime import timedelta, timezone
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from trustkit.errors import AlreadyRevokedError, NotFoundError, StoreError
from trustkit.store import (
    CertificateStore,
    CertStatus,
    IssueItem,
    RecordQuery,
    Revocation,
    _listing,
    open_store,
)
from trustkit.store.sql import SQLStore

from ..conftest import TEST_TIME

ISSUER = "ab" * 20
_PLUS_FIVE = timezone(timedelta(hours=5))
OTHER = "cd" * 20
_KEY = ec.generate_private_key(ec.SECP256R1())


def _builder(cn: str, *, subject_id: str | None = None, days: int = 30) -> x509.CertificateBuilder:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if subject_id is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, subject_id))
    name = x509.Name(attributes)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .not_valid_before(TEST_TIME)
        .not_valid_after(TEST_TIME + timedelta(days=days))
    )


def _item(
    cn: str, profile: str = "tls-server", *, subject_id: str | None = None, days: int = 30
) -> IssueItem:
    builder = _builder(cn, subject_id=subject_id, days=days)
    return IssueItem(
        profile, lambda serial: builder.serial_number(serial).sign(_KEY, hashes.SHA256())
    )


@pytest.fixture
def store(store_url: str) -> Iterator[CertificateStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> int:
    # Pages of three records, so that a dozen cross several page boundaries.
    monkeypatch.setattr(_listing, "PAGE", 3)
    return 3


def test_list_is_oldest_first_across_pages(store: CertificateStore, small_pages: int) -> None:
    # Eleven records at one instant (only the serial orders them), then three later:
    # a page boundary inside a run of equal issued_at must skip and repeat nothing.
    same = store.issue_many(ISSUER, [_item(f"a{i}") for i in range(11)], at=TEST_TIME)
    later = store.issue_many(
        ISSUER, [_item(f"b{i}") for i in range(3)], at=TEST_TIME - timedelta(hours=1)
    )
    store.issue_many(OTHER, [_item("other")], at=TEST_TIME)
    listed = [r.serial for r in store.list(ISSUER)]
    assert listed == sorted(r.serial for r in later) + sorted(r.serial for r in same)
    assert len(set(listed)) == 14


def test_list_without_der_reads_no_certificate(store: CertificateStore) -> None:
    record = store.issue(ISSUER, "p", _item("x").build, at=TEST_TIME)
    (light,) = store.list(ISSUER, der=False)
    (full,) = store.list(ISSUER)
    assert light.der == b"" and full.der == record.der
    assert full.certificate.serial_number == record.serial
    with pytest.raises(StoreError, match="without its DER"):
        _ = light.certificate


def test_subject_id_is_recorded_and_filtered(store: CertificateStore, small_pages: int) -> None:
    citizen = "PNOEX-19800101-1234"
    mine = store.issue_many(
        ISSUER, [_item(f"c{i}", subject_id=citizen) for i in range(4)], at=TEST_TIME
    )
    store.issue_many(
        ISSUER,
        [_item("n", subject_id="PNOEX-19800101-12345"), _item("none")],
        at=TEST_TIME,
    )
    assert [r.subject_id for r in mine] == [citizen] * 4
    found = list(store.list(ISSUER, RecordQuery(subject_id=citizen)))
    assert {r.serial for r in found} == {r.serial for r in mine}
    assert all(r.subject_id == citizen for r in found)
    # Exact match only: a prefix of another identifier selects nothing.
    assert list(store.list(ISSUER, RecordQuery(subject_id="PNOEX-19800101-123"))) == []
    assert [r.subject_id for r in store.list(ISSUER) if r.subject.startswith("CN=none")] == [None]


def test_each_filter_selects_exactly_its_records(store: CertificateStore, small_pages: int) -> None:
    t0 = TEST_TIME
    early = store.issue_many(ISSUER, [_item(f"e{i}", "tls-client") for i in range(4)], at=t0)
    middle = store.issue_many(
        ISSUER, [_item(f"m{i}", days=400) for i in range(4)], at=t0 + timedelta(days=1)
    )
    late = store.issue_many(ISSUER, [_item(f"l{i}") for i in range(4)], at=t0 + timedelta(days=2))
    revoked = {middle[0].serial, late[1].serial}
    for serial in revoked:
        store.revoke(ISSUER, serial, reason=x509.ReasonFlags.superseded, at=t0)

    def serials(query: RecordQuery) -> set[int]:
        return {r.serial for r in store.list(ISSUER, query)}

    every = {r.serial for r in early + middle + late}
    assert serials(RecordQuery()) == every
    assert serials(RecordQuery(status=CertStatus.REVOKED)) == revoked
    assert serials(RecordQuery(status=CertStatus.VALID)) == every - revoked
    assert serials(RecordQuery(profile="tls-client")) == {r.serial for r in early}
    assert serials(RecordQuery(profile="tls")) == set()
    # [after, before): the day-1 batch only; its own instant is in, the next day's out.
    one_day = RecordQuery(issued_after=t0 + timedelta(days=1), issued_before=t0 + timedelta(days=2))
    assert serials(one_day) == {r.serial for r in middle}
    assert serials(RecordQuery(issued_before=t0 + timedelta(days=1))) == {r.serial for r in early}
    # Expiry: notAfter is TEST_TIME + 30 days except for the 400-day ones.
    at = TEST_TIME + timedelta(days=31)
    assert serials(RecordQuery(expires_before=at)) == every - {r.serial for r in middle}
    assert serials(RecordQuery(expires_from=at)) == {r.serial for r in middle}
    # notAfter itself is still within validity (RFC 5280 4.1.2.5).
    edge = TEST_TIME + timedelta(days=30)
    assert serials(RecordQuery(expires_from=edge)) == every
    assert serials(RecordQuery(expires_before=edge)) == set()
    # Combined: expired and not revoked.
    assert (
        serials(RecordQuery(status=CertStatus.VALID, expires_before=at, profile="tls-server"))
        == {r.serial for r in late} - revoked
    )
    # A time with another zone is the same instant.
    tz = RecordQuery(issued_after=(t0 + timedelta(days=1)).astimezone(_PLUS_FIVE))
    assert serials(tz) == {r.serial for r in middle + late}


def test_highest_serial_follows_the_query(store: CertificateStore) -> None:
    assert store.highest_serial(ISSUER) is None
    draws = iter([0x1000, 0xFFFF_FFFF, 0x20])
    for profile in ("a", "b", "a"):
        store.issue(
            ISSUER, profile, _item("x").build, at=TEST_TIME, serial_source=lambda: next(draws)
        )
    assert store.highest_serial(ISSUER) == 0xFFFF_FFFF
    assert store.highest_serial(ISSUER, RecordQuery(profile="a")) == 0x1000
    assert store.highest_serial(ISSUER, RecordQuery(profile="c")) is None


def _fill(store: CertificateStore, count: int) -> None:
    items = [_item(f"h{i}.example.gov") for i in range(250)]
    for _ in range(count // len(items)):
        store.issue_many(ISSUER, items, at=TEST_TIME)


def _peak_listing(store: CertificateStore) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(len(r.der) > 0 for r in store.list(ISSUER))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _peaks(url: str) -> tuple[int, int]:
    """Peak memory of listing 500 records and then 5,000, in one store."""
    store = open_store(url)
    try:
        _fill(store, 500)
        small_count, small_peak = _peak_listing(store)
        _fill(store, 4_500)
        large_count, large_peak = _peak_listing(store)
    finally:
        store.close()
    assert (small_count, large_count) == (500, 5_000)
    return small_peak, large_peak


@pytest.mark.slow
def test_listing_memory_does_not_grow_with_the_store(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_listing, "PAGE", 100)
    small_peak, large_peak = _peaks(store_url)
    # Ten times the records, the same peak: one page's.
    assert large_peak < small_peak * 1.5 + 256 * 1024, (small_peak, large_peak)


@pytest.mark.slow
def test_the_memory_check_sees_a_listing_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The twin: one page larger than the store is the old read-everything listing,
    # and the same measurement must see its peak follow the store's size.
    monkeypatch.setattr(_listing, "PAGE", 1_000_000)
    small_peak, large_peak = _peaks(f"sqlite:///{tmp_path}/store.db")
    assert large_peak > small_peak * 5, (small_peak, large_peak)


def test_revoke_many_is_all_or_nothing(store: CertificateStore) -> None:
    issued = store.issue_many(ISSUER, [_item(f"r{i}") for i in range(6)], at=TEST_TIME)
    serials = [r.serial for r in issued]
    store.revoke(ISSUER, serials[5], reason=x509.ReasonFlags.superseded, at=TEST_TIME)
    seq = store.revocation_seq(ISSUER)
    for batch, error in (
        ([*serials[:3], 0x1234_5678_9ABC], NotFoundError),
        ([*serials[:3], serials[5]], AlreadyRevokedError),
        ([*serials[:3], serials[1]], AlreadyRevokedError),
    ):
        with pytest.raises(error):
            store.revoke_many(ISSUER, [Revocation(s) for s in batch], at=TEST_TIME)
        assert store.revocation_seq(ISSUER) == seq
        assert [r.serial for r in store.list(ISSUER, status=CertStatus.REVOKED)] == [serials[5]]
    with pytest.raises(NotFoundError):  # another issuer's store of serials
        store.revoke_many(OTHER, [Revocation(serials[0])], at=TEST_TIME)
    assert store.revoke_many(ISSUER, [], at=TEST_TIME) == 0


def test_revoke_many_matches_revoke_one_by_one(store_url: str) -> None:
    """Same status, reason, times, sequence numbers and CRL entry bytes as revoke()."""
    reasons = [r for r in x509.ReasonFlags if r is not x509.ReasonFlags.remove_from_crl]
    one = open_store(store_url)
    try:
        issued = one.issue_many(ISSUER, [_item(f"s{i}") for i in range(16)], at=TEST_TIME)
        serials = sorted(r.serial for r in issued)
        plan = [
            Revocation(
                serial,
                reasons[index % len(reasons)],
                TEST_TIME - timedelta(days=index) if index % 2 else None,
            )
            for index, serial in enumerate(serials[:12])
        ]
        at = TEST_TIME + timedelta(hours=3)
        # The same certificates in a second issuer of the same store: one by one there.
        for record in issued:
            one.add(OTHER, "tls-server", record.certificate, at=TEST_TIME)
        for item in plan:  # by serial: the order revoke_many numbers them in
            one.revoke(
                OTHER, item.serial, reason=item.reason, at=at, invalidity_date=item.invalidity_date
            )
        shuffled = list(plan)
        random.Random(7).shuffle(shuffled)
        assert one.revoke_many(ISSUER, shuffled, at=at) == 12
        assert isinstance(one, SQLStore)
        mine, theirs = list(one.list(ISSUER)), list(one.list(OTHER))
        fields = ("serial", "status", "revocation_time", "revocation_reason", "invalidity_date")
        as_tuples = [tuple(getattr(r, f) for f in fields) for r in mine]
        assert sorted(as_tuples) == sorted(tuple(getattr(r, f) for f in fields) for r in theirs)
        assert one.crl_entries(ISSUER).entries == one.crl_entries(OTHER).entries
        assert one.revocation_seq(ISSUER) == one.revocation_seq(OTHER) == 12
        # A delta from the sixth revocation on has the same six entries.
        assert one.crl_entries(ISSUER, after_seq=6) == one.crl_entries(OTHER, after_seq=6)
        assert len(one.crl_entries(ISSUER, after_seq=6).entries) == 6
        status = one.status(ISSUER, serials[0])
        assert status is not None and status.status is CertStatus.REVOKED
        assert one.status(ISSUER, serials[13]).status is CertStatus.VALID  # type: ignore[union-attr]
    finally:
        one.close()
