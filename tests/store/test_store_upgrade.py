"""A store written by schema 2 is upgraded to 3 when opened, on SQLite and PostgreSQL.

Schema 2 is frozen here as it was released (the tables trustkit 2 created), so
the test keeps checking the upgrade whatever the current schema becomes.
"""

from __future__ import annotations

import json
import multiprocessing
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from trustkit.errors import StoreError
from trustkit.store import SCHEMA_VERSION, RecordQuery, open_store
from trustkit.store.sql import certificates

from ..conftest import TEST_TIME

ISSUER = "ab" * 20
CITIZEN = "PNOEX-19800101-1234"
_KEY = ec.generate_private_key(ec.SECP256R1())

V2 = sa.MetaData()
sa.Table("trustkit_meta", V2, sa.Column("key", sa.String(64), primary_key=True),
         sa.Column("value", sa.String(255), nullable=False))  # fmt: skip
sa.Table(
    "certificates",
    V2,
    sa.Column("issuer", sa.String(128), primary_key=True),
    sa.Column("serial", sa.String(40), primary_key=True),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("sans", sa.Text, nullable=False),
    sa.Column("profile", sa.String(64), nullable=False),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
    sa.Column("der", sa.LargeBinary, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("shard", sa.Integer, nullable=False, server_default="0"),
    sa.Column("revocation_time", sa.DateTime(timezone=True)),
    sa.Column("revocation_reason", sa.String(32)),
    sa.Column("invalidity_date", sa.DateTime(timezone=True)),
    sa.Column("revocation_seq", sa.BigInteger),
    sa.Column("crl_entry", sa.LargeBinary),
    sa.Index("ix_certificates_status", "issuer", "status", "shard"),
)
sa.Table(
    "crls",
    V2,
    sa.Column("issuer", sa.String(128), primary_key=True),
    sa.Column("crl_number", sa.BigInteger, primary_key=True),
    sa.Column("shard", sa.Integer, nullable=False),
    sa.Column("delta", sa.Boolean, nullable=False),
    sa.Column("base_crl_number", sa.BigInteger),
    sa.Column("this_update", sa.DateTime(timezone=True), nullable=False),
    sa.Column("next_update", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revocation_seq", sa.BigInteger, nullable=False),
    sa.Column("der", sa.LargeBinary, nullable=False),
    sa.Index("ix_crls_scope", "issuer", "shard", "delta", "crl_number"),
)
sa.Table("counters", V2, sa.Column("issuer", sa.String(128), primary_key=True),
         sa.Column("name", sa.String(64), primary_key=True),
         sa.Column("value", sa.BigInteger, nullable=False))  # fmt: skip


def _certificate(serial: int, cn: str, subject_id: str | None) -> x509.Certificate:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if subject_id:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, subject_id))
    name = x509.Name(attributes)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(serial)
        .not_valid_before(TEST_TIME)
        .not_valid_after(TEST_TIME + timedelta(days=30))
        .sign(_KEY, hashes.SHA256())
    )


def _v2_store(url: str, count: int = 2_500, *, version: int = 2, broken: bool = False) -> None:
    """A store as trustkit with schema 2 left it: ``count`` records, every third a
    citizen's (more than one page of the upgrade's)."""
    engine = sa.create_engine(url)
    rows = []
    for index in range(count):
        subject_id = f"PNOEX-{index:08d}" if index % 3 else None
        if index == 1:
            subject_id = CITIZEN
        cert = _certificate(0x1000 + index, f"c{index}", subject_id)
        subject = f"CN=c{index}" + (f",serialNumber={subject_id}" if subject_id else "")
        der = cert.public_bytes(Encoding.DER)
        if broken and index == count - 1:
            der = b"\x30\x03\x02\x01\x00"
        rows.append(
            {
                "issuer": ISSUER,
                "serial": f"{cert.serial_number:040x}",
                "subject": subject,
                "sans": json.dumps([]),
                "profile": "citizen-auth",
                "not_before": TEST_TIME,
                "not_after": TEST_TIME + timedelta(days=30),
                "der": der,
                "status": "valid",
                "issued_at": TEST_TIME + timedelta(seconds=index),
                "shard": 0,
            }
        )
    with engine.begin() as conn:
        V2.create_all(conn)
        conn.execute(V2.tables["certificates"].insert(), rows)
        conn.execute(
            V2.tables["trustkit_meta"].insert().values(key="schema_version", value=str(version))
        )
    engine.dispose()


def _version_and_columns(url: str) -> tuple[str, set[str], set[str]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        version = conn.execute(
            sa.text("SELECT value FROM trustkit_meta WHERE key = 'schema_version'")
        ).scalar_one()
        inspector = sa.inspect(conn)
        columns = {c["name"] for c in inspector.get_columns("certificates")}
        indexes = {str(i["name"]) for i in inspector.get_indexes("certificates")}
    engine.dispose()
    return version, columns, indexes


def test_a_schema_2_store_is_upgraded(store_url: str) -> None:
    _v2_store(store_url)
    assert _version_and_columns(store_url)[0] == "2"
    store = open_store(store_url)
    try:
        found = list(store.list(ISSUER, RecordQuery(subject_id=CITIZEN)))
        assert [r.serial for r in found] == [0x1001]
        every = list(store.list(ISSUER, der=False))
        assert len(every) == 2_500
        # Every record got the identifier its certificate carries, and only those.
        for record in every:
            index = record.serial - 0x1000
            expected = CITIZEN if index == 1 else (f"PNOEX-{index:08d}" if index % 3 else None)
            assert record.subject_id == expected
        # New issuances record theirs too.
        new = store.issue(
            ISSUER, "citizen-auth", lambda s: _certificate(s, "n", CITIZEN), at=TEST_TIME
        )
        assert {r.serial for r in store.list(ISSUER, RecordQuery(subject_id=CITIZEN))} == {
            0x1001,
            new.serial,
        }
    finally:
        store.close()
    version, columns, indexes = _version_and_columns(store_url)
    assert version == str(SCHEMA_VERSION)
    assert "subject_id" in columns
    assert {str(i.name) for i in certificates.indexes} <= indexes
    # Opening again changes nothing.
    open_store(store_url).close()
    assert _version_and_columns(store_url) == (version, columns, indexes)


def test_a_failed_upgrade_leaves_the_store_as_it_was(store_url: str) -> None:
    _v2_store(store_url, 1_200, broken=True)
    before = _version_and_columns(store_url)
    with pytest.raises(StoreError, match="does not parse"):
        open_store(store_url)
    assert _version_and_columns(store_url) == before
    assert "subject_id" not in before[1]


@pytest.mark.parametrize("version", [1, SCHEMA_VERSION + 1])
def test_other_versions_are_refused(store_url: str, version: int) -> None:
    _v2_store(store_url, 3, version=version)
    with pytest.raises(StoreError, match=f"schema version {version}"):
        open_store(store_url)
    assert _version_and_columns(store_url)[0] == str(version)


def _open(url: str) -> None:
    open_store(url).close()


def test_two_processes_upgrading_at_once(store_url: str) -> None:
    _v2_store(store_url, 1_500)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_open, args=(store_url,)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0, 0]
    version, columns, _ = _version_and_columns(store_url)
    assert version == str(SCHEMA_VERSION) and "subject_id" in columns
    store = open_store(store_url)
    try:
        assert [r.serial for r in store.list(ISSUER, RecordQuery(subject_id=CITIZEN))] == [0x1001]
    finally:
        store.close()
