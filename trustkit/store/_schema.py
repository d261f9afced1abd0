"""The SQL store's tables and connections, shared by its modules (SQLite and PostgreSQL).

Serial numbers are up to 160 bits, more than any SQL integer type holds, so
they are kept as 40-digit zero-padded hex text: unique per issuer through the
primary key, and ordered like the numbers they stand for.

SQLite: the file lives in the CA directory, in WAL mode so that OCSP and CRL
readers never wait for an issuance; every writing transaction starts with
``BEGIN IMMEDIATE`` (execution option :data:`WRITE`) so two processes writing
at once queue on the write lock instead of failing half-way, and
``synchronous=FULL`` keeps a committed issuance on disk through a power cut.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.x509.oid import NameOID
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError

from ..clock import utc
from ..errors import StoreError
from ..names import format_general_name
from . import CertificateRecord, CertStatus

SERIAL_DIGITS = 40
SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_POOL_SIZE = 4
POOL_RECYCLE_S = 1800
"""Server connections older than this are replaced at checkout: below common idle
limits (PgBouncer, cloud load balancers, firewalls; often 1 h or more)."""

WRITE = "trustkit_write"
"""Execution option of a writing connection: BEGIN IMMEDIATE on SQLite."""

metadata = sa.MetaData()

meta_table = sa.Table(
    "trustkit_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(255), nullable=False),
)

certificates = sa.Table(
    "certificates",
    metadata,
    sa.Column("issuer", sa.String(128), primary_key=True),
    sa.Column("serial", sa.String(SERIAL_DIGITS), primary_key=True),
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
    # The issuer's revocation counter when this one was recorded: delta CRLs
    # list what came after their base's value.
    sa.Column("revocation_seq", sa.BigInteger),
    # DER of this certificate's CRL entry, encoded once at revocation.
    sa.Column("crl_entry", sa.LargeBinary),
    # The subject's serialNumber attribute (X.520, 2.5.4.5; ETSI EN 319 412-1
    # 5.1.3 puts a natural person's identifier there): what an operator looks
    # a citizen's certificates up by. NULL when the subject has none.
    sa.Column("subject_id", sa.Text),
    sa.Index("ix_certificates_status", "issuer", "status", "shard"),
    # One index per filter of list/export, each ending in the listing order
    # (issued_at, serial) so that a filtered listing is a range scan of its
    # index, read page by page from where the last page ended.
    sa.Index("ix_certificates_issued", "issuer", "issued_at", "serial"),
    sa.Index("ix_certificates_status_issued", "issuer", "status", "issued_at", "serial"),
    sa.Index("ix_certificates_profile_issued", "issuer", "profile", "issued_at", "serial"),
    sa.Index("ix_certificates_subject_id", "issuer", "subject_id", "issued_at", "serial"),
    # No index on not_after: "expired" and "valid" are read off the status
    # index in listing order and checked row by row. An index on not_after
    # would tempt the planner into sorting every expired record for each page.
)

COMPLETE = -1
"""``crls.shard`` of a CRL covering the whole CA (a primary key column cannot be NULL)."""

crls = sa.Table(
    "crls",
    metadata,
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

REVOCATION_COUNTER = "revocations"
"""The per-issuer counter that numbers revocations."""

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("issuer", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)


def serial_key(serial: int) -> str:
    return f"{serial:0{SERIAL_DIGITS}x}"


def when(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return None if value is None else utc(value)


def record_of(row: Any) -> CertificateRecord:
    reason = row.revocation_reason
    return CertificateRecord(
        issuer=row.issuer,
        serial=int(row.serial, 16),
        subject=row.subject,
        sans=tuple(json.loads(row.sans)),
        profile=row.profile,
        not_before=utc(row.not_before),
        not_after=utc(row.not_after),
        der=bytes(row.der) if "der" in row._mapping else b"",
        status=CertStatus(row.status),
        issued_at=utc(row.issued_at),
        shard=row.shard,
        subject_id=row.subject_id,
        revocation_time=when(row.revocation_time),
        revocation_reason=None if reason is None else x509.ReasonFlags(reason),
        invalidity_date=when(row.invalidity_date),
    )


def subject_id_of(cert: x509.Certificate) -> str | None:
    """The subject's (first) serialNumber attribute, or ``None``."""
    found = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    return str(found[0].value) if found else None


def sans_of(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [format_general_name(name) for name in ext.value]


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Connections are pooled: opening one (and its PRAGMAs) costs more than
        # an OCSP status lookup. A connection never crosses a fork: see checkout.
        engine = sa.create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            poolclass=sa.pool.QueuePool,
            pool_size=SQLITE_POOL_SIZE,
        )

        @event.listens_for(engine, "checkout")
        def _on_checkout(_dbapi: Any, record: Any, proxy: Any) -> None:
            # SQLAlchemy's recipe for pools and os.fork(): a child process
            # never uses its parent's SQLite connection.
            if record.info.get("pid") != os.getpid():
                record.dbapi_connection = proxy.dbapi_connection = None
                raise DisconnectionError("connection made in another process")

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            record.info["pid"] = os.getpid()
            # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own
            # transaction handling would defer it and defeat BEGIN IMMEDIATE).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            immediate = connection.get_execution_options().get(WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    # No pool_pre_ping: it costs a round trip on every checkout (about a
    # millisecond per status lookup). Connections are recycled before idle
    # timeouts on the server or a middlebox close them, and a call that meets a
    # dead connection anyway is retried once on a fresh one (sql.reconnecting).
    return sa.create_engine(url, pool_recycle=POOL_RECYCLE_S)


def advance(conn: Connection, issuer: str, name: str, by: int = 1) -> int:
    """Add ``by`` to a per-issuer counter inside the caller's transaction and return the
    new value (a counter never advanced is 0): the values taken are the ``by`` up to it."""
    where = (counters.c.issuer == issuer, counters.c.name == name)
    # UPDATE first: on PostgreSQL it takes the row lock, held to the end of the
    # transaction, so two processes never read the same value.
    updated = conn.execute(counters.update().where(*where).values(value=counters.c.value + by))
    if updated.rowcount == 0:
        conn.execute(counters.insert().values(issuer=issuer, name=name, value=by))
        return by
    return int(conn.execute(sa.select(counters.c.value).where(*where)).scalar_one())


def counter(conn: Connection, issuer: str, name: str) -> int:
    """A per-issuer counter's value, 0 if it was never advanced."""
    value = conn.execute(
        sa.select(counters.c.value).where(counters.c.issuer == issuer, counters.c.name == name)
    ).scalar()
    return 0 if value is None else int(value)


_UPGRADE_PAGE = 1000
"""Certificates parsed per page while an upgrade fills in ``subject_id``."""


def upgrade(conn: Connection, version: int) -> None:
    """Bring a store of schema ``version`` to the current one, inside the caller's
    writing transaction (DDL is transactional on SQLite and PostgreSQL: a failed
    upgrade leaves the store as it was)."""
    if version < 3:
        # 3: subject_id and the indexes of list/export's filters.
        conn.exec_driver_sql(f"ALTER TABLE {certificates.name} ADD COLUMN subject_id TEXT")
        _fill_subject_ids(conn)
    for index in sorted(certificates.indexes, key=lambda index: str(index.name)):
        index.create(conn, checkfirst=True)


def _recorded_subject_id(row: Any) -> str | None:
    try:
        return subject_id_of(x509.load_der_x509_certificate(bytes(row.der)))
    except ValueError as exc:
        # The whole upgrade rolls back: the store stays as it was, readable by
        # the trustkit that wrote it.
        raise StoreError(
            f"store upgrade: certificate {row.serial.lstrip('0') or '0'} of issuer "
            f"{row.issuer}: recorded DER does not parse ({exc})"
        ) from exc


def _fill_subject_ids(conn: Connection) -> None:
    # Only subjects whose text shows a serialNumber need their certificate parsed.
    query = (
        sa.select(certificates.c.issuer, certificates.c.serial, certificates.c.der)
        .where(sa.func.lower(certificates.c.subject).like("%serialnumber=%"))
        .order_by(certificates.c.issuer, certificates.c.serial)
        .limit(_UPGRADE_PAGE)
    )
    after: tuple[str, str] | None = None
    while True:
        page = query
        if after is not None:
            page = page.where(sa.tuple_(certificates.c.issuer, certificates.c.serial) > after)
        rows = conn.execute(page).all()
        values = [
            {"i": row.issuer, "s": row.serial, "v": _recorded_subject_id(row)} for row in rows
        ]
        if values:
            conn.execute(
                certificates.update()
                .where(
                    certificates.c.issuer == sa.bindparam("i"),
                    certificates.c.serial == sa.bindparam("s"),
                )
                .values(subject_id=sa.bindparam("v")),
                values,
            )
        if len(rows) < _UPGRADE_PAGE:
            return
        after = (rows[-1].issuer, rows[-1].serial)
