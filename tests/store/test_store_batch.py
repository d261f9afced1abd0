"""CertificateStore.issue_many: a batch in one transaction, against SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography import x509

from trustkit.errors import StoreError
from trustkit.store import CertificateStore, IssueItem, open_store

from ..conftest import TEST_TIME
from .test_store import ISSUER, _certificate


@pytest.fixture
def store(store_url: str) -> Iterator[CertificateStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_a_batch_is_recorded_in_order(store: CertificateStore) -> None:
    items = [IssueItem("tls-server", _certificate, shard=i % 3) for i in range(30)]
    records = store.issue_many(ISSUER, items, at=TEST_TIME)
    assert len({r.serial for r in records}) == 30
    assert [r.shard for r in records] == [i % 3 for i in range(30)]
    for record in records:
        assert store.get(ISSUER, record.serial) == record
        # The issued record holds the certificate that was built: no parsing again.
        assert record.built is not None and record.certificate is record.built
        assert store.get(ISSUER, record.serial).built is None


def test_taken_and_repeated_serials_are_drawn_again(store: CertificateStore) -> None:
    first = store.issue(ISSUER, "p", _certificate, at=TEST_TIME, serial_source=lambda: 3 << 70)
    # The first draw is taken in the store, the second repeats within the batch.
    draws = iter([3 << 70, 4 << 70, 4 << 70, 5 << 70])
    records = store.issue_many(
        ISSUER,
        [IssueItem("p", _certificate), IssueItem("p", _certificate)],
        at=TEST_TIME,
        serial_source=lambda: next(draws),
    )
    assert first.serial == 3 << 70
    assert sorted(r.serial for r in records) == [4 << 70, 5 << 70]
    assert len(list(store.list(ISSUER))) == 3


def test_one_failing_build_writes_nothing_of_the_batch(store: CertificateStore) -> None:
    def broken(serial: int) -> x509.Certificate:
        raise RuntimeError("signing failed")

    items = [IssueItem("p", _certificate), IssueItem("p", broken), IssueItem("p", _certificate)]
    with pytest.raises(RuntimeError):
        store.issue_many(ISSUER, items, at=TEST_TIME)
    assert list(store.list(ISSUER)) == []


def test_a_certificate_without_its_serial_fails_the_batch(store: CertificateStore) -> None:
    items = [IssueItem("p", _certificate), IssueItem("p", lambda s: _certificate(s + 1))]
    with pytest.raises(StoreError, match="serial"):
        store.issue_many(ISSUER, items, at=TEST_TIME)
    assert list(store.list(ISSUER)) == []


def test_an_empty_batch_writes_nothing(store: CertificateStore) -> None:
    assert store.issue_many(ISSUER, [], at=TEST_TIME) == []
    assert list(store.list(ISSUER)) == []
