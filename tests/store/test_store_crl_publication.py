"""The store's CRL publication: one transaction, one lock, all or nothing, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from cryptography import x509

from trustkit.errors import StoreError
from trustkit.store import CertificateStore, CRLRecord, open_store

from ..conftest import TEST_TIME
from .test_store import ISSUER, _certificate

COUNTER = "crl_number"


@pytest.fixture
def store(store_url: str) -> Iterator[CertificateStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def _record(number: int, seq: int, at: object = TEST_TIME) -> CRLRecord:
    return CRLRecord(
        issuer=ISSUER,
        crl_number=number,
        shard=None,
        delta=False,
        base_crl_number=None,
        this_update=at,  # type: ignore[arg-type]
        next_update=TEST_TIME + timedelta(days=1),
        revocation_seq=seq,
        der=b"crl %d" % number,
    )


def test_numbers_entries_and_times_come_from_one_transaction(store: CertificateStore) -> None:
    record = store.issue(ISSUER, "p", _certificate, at=TEST_TIME)
    store.revoke(ISSUER, record.serial, reason=x509.ReasonFlags.superseded, at=TEST_TIME)
    with store.publish_crl(ISSUER, COUNTER) as publication:
        assert publication.crl_number == 1
        assert publication.revocation_seq == 1
        assert publication.last_this_update is None
        entries = publication.crl_entries()
        assert len(entries.entries) == 1 and entries.revocation_seq == 1
        publication.record(_record(1, 1))
    assert store.latest_crl(ISSUER, shard=None, delta=False) == _record(1, 1)
    with store.publish_crl(ISSUER, COUNTER) as publication:
        assert publication.crl_number == 2
        assert publication.last_this_update == TEST_TIME
        assert publication.latest_crl(shard=None, delta=False) == _record(1, 1)
        assert publication.crl_entries(after_seq=1).entries == ()
        publication.record(_record(2, 1))


def test_an_error_inside_rolls_everything_back(store: CertificateStore) -> None:
    with pytest.raises(RuntimeError), store.publish_crl(ISSUER, COUNTER) as publication:
        assert publication.crl_number == 1
        publication.record(_record(1, 0))
        raise RuntimeError("signing failed")
    assert store.latest_crl(ISSUER, shard=None, delta=False) is None
    # The number was not used: the next publication takes it.
    with store.publish_crl(ISSUER, COUNTER) as publication:
        assert publication.crl_number == 1
        publication.record(_record(1, 0))
    assert store.latest_crl(ISSUER, shard=None, delta=False) is not None


def test_a_publication_that_records_nothing_is_rolled_back(store: CertificateStore) -> None:
    with pytest.raises(StoreError, match="not recorded"), store.publish_crl(ISSUER, COUNTER):
        pass
    with store.publish_crl(ISSUER, COUNTER) as publication:
        assert publication.crl_number == 1
        publication.record(_record(1, 0))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"crl_number": 7}, "holds number 1"),
        ({"revocation_seq": 5}, "beyond the 0 read under the lock"),
        ({"this_update": TEST_TIME - timedelta(seconds=1)}, "before the last CRL's"),
    ],
    ids=["number", "seq", "backwards"],
)
def test_a_record_that_disagrees_with_the_lock_is_refused(
    store: CertificateStore, change: dict[str, object], message: str
) -> None:
    with store.publish_crl(ISSUER, COUNTER) as first:
        first.record(_record(1, 0))
    number = 2 if "crl_number" not in change else 7
    bad = _record(number, 0)
    bad = CRLRecord(**{**bad.__dict__, **change})
    if "crl_number" in change:
        message = "holds number 2"
    with pytest.raises(StoreError, match=message), store.publish_crl(ISSUER, COUNTER) as p:
        p.record(bad)
    # The twin: the same record with the lock's values is kept.
    with store.publish_crl(ISSUER, COUNTER) as p:
        p.record(_record(2, 0))
