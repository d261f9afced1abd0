"""The store contract, run against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import ipaddress
import multiprocessing
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from trustkit.errors import (
    AlreadyRevokedError,
    ConfigError,
    DuplicateSerialError,
    NotFoundError,
    StoreError,
)
from trustkit.store import CertificateStore, CertStatus, open_store
from trustkit.store.sql import SQLStore

from ..conftest import TEST_TIME

ISSUER = "ab" * 20
_KEY = ec.generate_private_key(ec.SECP256R1())


def _certificate(serial: int, cn: str = "leaf.example.gov") -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, cn)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(TEST_TIME)
        .not_valid_after(TEST_TIME + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(cn), x509.IPAddress(ipaddress.ip_address("192.0.2.7"))]
            ),
            critical=False,
        )
        .sign(_KEY, hashes.SHA256())
    )


@pytest.fixture
def store(store_url: str) -> Iterator[CertificateStore]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def test_issue_records_before_returning(store: CertificateStore) -> None:
    record = store.issue(ISSUER, "tls-server", _certificate, at=TEST_TIME)
    assert record.serial.bit_length() > 64
    again = store.get(ISSUER, record.serial)
    assert again == record
    assert again.subject == "CN=leaf.example.gov"
    assert again.sans == ("dns:leaf.example.gov", "ip:192.0.2.7")
    assert again.status is CertStatus.VALID
    assert again.certificate.serial_number == record.serial
    assert again.not_after - again.not_before == timedelta(days=30)


def test_serials_are_unique_per_issuer(store: CertificateStore) -> None:
    draws = iter([7 << 70, 7 << 70, 9 << 70])
    first = store.issue(ISSUER, "p", _certificate, at=TEST_TIME, serial_source=lambda: next(draws))
    # The second draw repeats the first serial: the store draws again.
    second = store.issue(ISSUER, "p", _certificate, at=TEST_TIME, serial_source=lambda: next(draws))
    assert (first.serial, second.serial) == (7 << 70, 9 << 70)
    # The same serial under another issuer is a different certificate.
    other = store.issue("cd" * 20, "p", _certificate, at=TEST_TIME, serial_source=lambda: 7 << 70)
    assert other.serial == first.serial
    assert isinstance(store, SQLStore)
    with pytest.raises(DuplicateSerialError):
        store.add(ISSUER, "p", _certificate(7 << 70), at=TEST_TIME)


def test_failed_build_writes_nothing(store: CertificateStore) -> None:

    def broken(serial: int) -> x509.Certificate:
        raise RuntimeError("signing failed")

    with pytest.raises(RuntimeError):
        store.issue(ISSUER, "p", broken, at=TEST_TIME, serial_source=lambda: 5 << 70)
    assert list(store.list(ISSUER)) == []
    with pytest.raises(NotFoundError):
        store.get(ISSUER, 5 << 70)


def test_a_certificate_with_another_serial_is_refused(store: CertificateStore) -> None:
    with pytest.raises(StoreError, match="serial"):
        store.issue(ISSUER, "p", lambda serial: _certificate(serial + 1), at=TEST_TIME)
    assert list(store.list(ISSUER)) == []


def test_revoke_once(store: CertificateStore) -> None:
    record = store.issue(ISSUER, "p", _certificate, at=TEST_TIME)
    later = TEST_TIME + timedelta(days=1)
    revoked = store.revoke(
        ISSUER,
        record.serial,
        reason=x509.ReasonFlags.key_compromise,
        at=later,
        invalidity_date=TEST_TIME,
    )
    assert revoked.status is CertStatus.REVOKED
    assert revoked.revocation_time == later
    assert revoked.revocation_reason is x509.ReasonFlags.key_compromise
    assert revoked.invalidity_date == TEST_TIME
    with pytest.raises(AlreadyRevokedError) as info:
        store.revoke(ISSUER, record.serial, reason=x509.ReasonFlags.superseded, at=later)
    assert info.value.revocation_time == later
    # Nothing changed by the refused second revocation.
    assert store.get(ISSUER, record.serial).revocation_reason is x509.ReasonFlags.key_compromise
    with pytest.raises(NotFoundError):
        store.revoke(ISSUER, 12345, reason=x509.ReasonFlags.superseded, at=later)
    entries = list(store.revoked(ISSUER))
    assert [e.serial for e in entries] == [record.serial]
    assert [r.serial for r in store.list(ISSUER, status=CertStatus.REVOKED)] == [record.serial]
    assert list(store.list(ISSUER, status=CertStatus.VALID)) == []


def test_statuses_in_one_query(store: CertificateStore) -> None:
    issued = [store.issue(ISSUER, "p", _certificate, at=TEST_TIME) for _ in range(3)]
    store.revoke(ISSUER, issued[1].serial, reason=x509.ReasonFlags.superseded, at=TEST_TIME)
    never = 0x1234567890ABCDEF1234
    found = store.statuses(ISSUER, [r.serial for r in issued] + [never, issued[0].serial])
    assert set(found) == {r.serial for r in issued}  # the serial never issued is left out
    assert found[issued[1].serial].status is CertStatus.REVOKED
    assert found[issued[1].serial].reason is x509.ReasonFlags.superseded
    assert found[issued[0].serial].status is CertStatus.VALID
    # The same answers one by one; another issuer has none of them.
    for record in issued:
        assert store.status(ISSUER, record.serial) == found[record.serial]
    assert store.statuses("ef" * 20, [r.serial for r in issued]) == {}


def test_counters_advance(store: CertificateStore) -> None:
    assert [store.next_counter(ISSUER, "crl_number") for _ in range(3)] == [1, 2, 3]
    assert store.next_counter("ef" * 20, "crl_number") == 1


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown scheme 'mysql'"):
        open_store("mysql://root:secret@db/ca")


def test_store_of_another_schema_version_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    open_store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE trustkit_meta SET value = '99' WHERE key = 'schema_version'")
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(url)


def test_password_is_not_shown(postgres_url: str) -> None:
    url = postgres_url.replace("postgres@", "postgres:sekrit@")
    store = open_store(url)
    assert "sekrit" not in store.url
    store.close()


def _issue_many(url: str, count: int, queue: multiprocessing.Queue[list[int]]) -> None:
    store = open_store(url)
    queue.put([store.issue(ISSUER, "p", _certificate, at=TEST_TIME).serial for _ in range(count)])


def test_two_processes_issue_into_one_store(store_url: str) -> None:
    open_store(store_url).close()
    context = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[list[int]] = context.Queue()
    workers = [context.Process(target=_issue_many, args=(store_url, 25, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    serials = queue.get(timeout=120) + queue.get(timeout=120)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert len(set(serials)) == 50
    store = open_store(store_url)
    assert {r.serial for r in store.list(ISSUER)} == set(serials)
    store.close()
