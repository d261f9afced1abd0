"""CRL state in the SQL store: encoded entries, recorded CRLs, and one publication at a time.

Linearisable publication (RFC 5280 5.2.3 numbers a CRL so that a relying party
can tell the newer one): :func:`publish` opens ONE writing transaction that
first advances the issuer's CRL-number counter, then reads the revocation
sequence number, the entries and the last thisUpdate, and finally records the
signed CRL. Advancing the counter is the lock: on SQLite the transaction began
with ``BEGIN IMMEDIATE`` and holds the database's write lock; on PostgreSQL the
UPDATE holds the counter's row lock until commit. So publications of one issuer
are serialised in CRL-number order, and CRL n+1 reads everything CRL n read plus
what was revoked since.

Revocation sequence numbers commit in order on both backends (each revocation
advances its counter under the same kind of lock), so reading the counter and
then the entries up to it sees every revocation numbered up to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ..clock import utc
from ..errors import StoreError
from . import CertStatus, CRLEntries, CRLRecord
from ._entry import encode_revoked_entry
from ._schema import (
    COMPLETE,
    REVOCATION_COUNTER,
    advance,
    certificates,
    counter,
    crls,
    when,
)

_PUBLISH_ATTEMPTS = 3
"""Tries at taking a CRL number: only the very first publications of an issuer on
PostgreSQL can collide (both INSERT the counter row); one retry settles it."""


def _scope(issuer: str, shard: int | None) -> tuple[Any, ...]:
    scope: tuple[Any, ...] = (
        certificates.c.issuer == issuer,
        certificates.c.status == CertStatus.REVOKED.value,
    )
    if shard is not None:
        scope = (*scope, certificates.c.shard == shard)
    return scope


def missing_entries(conn: Connection, issuer: str, shard: int | None) -> list[tuple[Any, ...]]:
    """The CRL entries of records revoked without one (bulk-loaded data), encoded
    and ready for :func:`store_entries`; empty in the usual case."""
    query = sa.select(
        certificates.c.serial,
        certificates.c.revocation_time,
        certificates.c.revocation_reason,
        certificates.c.invalidity_date,
    ).where(*_scope(issuer, shard), certificates.c.crl_entry.is_(None))
    # Naive times (SQLite) are UTC; the encoder reads them so, and converts
    # aware ones (PostgreSQL), so the rows go to it as they come.
    return [
        (encode_revoked_entry(int(serial, 16), at, reason, invalidity), issuer, serial)
        for serial, at, reason, invalidity in conn.execute(query)
    ]


def store_entries(conn: Connection, values: list[tuple[Any, ...]]) -> None:
    """Write the entries :func:`missing_entries` encoded.

    Straight to the driver's executemany: SQLAlchemy's per-row parameter
    processing costs more than the UPDATE itself, and a first CRL after a bulk
    revocation writes hundreds of thousands of rows.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    table, c = certificates.name, certificates.c
    conn.exec_driver_sql(
        f"UPDATE {table} SET {c.crl_entry.name} = {mark}"
        f" WHERE {c.issuer.name} = {mark} AND {c.serial.name} = {mark}",
        values,
    )


def entries_upto(
    conn: Connection, issuer: str, shard: int | None, after_seq: int, upto_seq: int
) -> tuple[bytes, ...]:
    """DER entries revoked with a sequence number in (``after_seq``, ``upto_seq``]."""
    query = sa.select(certificates.c.crl_entry).where(
        *_scope(issuer, shard), sa.func.coalesce(certificates.c.revocation_seq, 0) <= upto_seq
    )
    if after_seq:
        query = query.where(certificates.c.revocation_seq > after_seq)
    return tuple(conn.execute(query).scalars())


def read_entries(
    engine: Engine, writer: Engine, issuer: str, shard: int | None, after_seq: int
) -> CRLEntries:
    """Entries outside a publication (a reader's view, not a lock)."""
    with engine.connect() as conn:
        missing = missing_entries(conn, issuer, shard)
    if missing:
        with writer.begin() as conn:
            store_entries(conn, missing)
    with engine.connect() as conn:
        # The counter first: entries revoked meanwhile carry a higher number
        # and are left for the next CRL.
        seq = counter(conn, issuer, REVOCATION_COUNTER)
        return CRLEntries(entries_upto(conn, issuer, shard, after_seq, seq), seq)


def _record_of(row: Any) -> CRLRecord:
    return CRLRecord(
        issuer=row.issuer,
        crl_number=int(row.crl_number),
        shard=None if row.shard == COMPLETE else int(row.shard),
        delta=bool(row.delta),
        base_crl_number=None if row.base_crl_number is None else int(row.base_crl_number),
        this_update=utc(row.this_update),
        next_update=utc(row.next_update),
        revocation_seq=int(row.revocation_seq),
        der=bytes(row.der),
    )


def latest(conn: Connection, issuer: str, shard: int | None, delta: bool) -> CRLRecord | None:
    """The CRL of that scope with the highest number."""
    query = (
        crls.select()
        .where(
            crls.c.issuer == issuer,
            crls.c.shard == (COMPLETE if shard is None else shard),
            crls.c.delta == delta,
        )
        .order_by(crls.c.crl_number.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return None if row is None else _record_of(row)


class SQLCRLPublication:
    """One CRL being published: a :class:`~trustkit.store.CRLPublication` on one transaction."""

    def __init__(
        self,
        conn: Connection,
        issuer: str,
        crl_number: int,
        revocation_seq: int,
        last_this_update: datetime | None,
        url: str,
    ) -> None:
        self._conn = conn
        self._issuer = issuer
        self._url = url
        self.crl_number = crl_number
        self.revocation_seq = revocation_seq
        self.last_this_update = last_this_update
        self.recorded = False

    def crl_entries(self, *, shard: int | None = None, after_seq: int = 0) -> CRLEntries:
        missing = missing_entries(self._conn, self._issuer, shard)
        if missing:
            store_entries(self._conn, missing)
        entries = entries_upto(self._conn, self._issuer, shard, after_seq, self.revocation_seq)
        return CRLEntries(entries, self.revocation_seq)

    def latest_crl(self, *, shard: int | None, delta: bool) -> CRLRecord | None:
        return latest(self._conn, self._issuer, shard, delta)

    def record(self, record: CRLRecord) -> None:
        if record.issuer != self._issuer or record.crl_number != self.crl_number:
            raise StoreError(
                f"CRL number {record.crl_number} of {record.issuer}: this publication holds "
                f"number {self.crl_number} of {self._issuer}"
            )
        if record.revocation_seq > self.revocation_seq:
            raise StoreError(
                f"CRL number {record.crl_number}: revocation_seq {record.revocation_seq} is "
                f"beyond the {self.revocation_seq} read under the lock"
            )
        if self.last_this_update is not None and record.this_update < self.last_this_update:
            raise StoreError(
                f"CRL number {record.crl_number}: thisUpdate {record.this_update:%Y-%m-%d %H:%M:%S}"
                f" is before the last CRL's ({self.last_this_update:%Y-%m-%d %H:%M:%S})"
                " (RFC 5280 5.1.2.4: never backwards)"
            )
        try:
            self._conn.execute(
                crls.insert().values(
                    issuer=record.issuer,
                    crl_number=record.crl_number,
                    shard=COMPLETE if record.shard is None else record.shard,
                    delta=record.delta,
                    base_crl_number=record.base_crl_number,
                    this_update=utc(record.this_update),
                    next_update=utc(record.next_update),
                    revocation_seq=record.revocation_seq,
                    der=record.der,
                )
            )
        except IntegrityError as exc:
            raise StoreError(
                f"store {self._url}: CRL number {record.crl_number} of {record.issuer} "
                "was recorded before (RFC 5280 5.2.3: numbers are never reused)"
            ) from exc
        self.recorded = True


@contextmanager
def publish(
    writer: Engine, url: str, issuer: str, counter_name: str
) -> Iterator[SQLCRLPublication]:
    """The transaction of one CRL publication (see the module notes); commits on success."""
    for _ in range(_PUBLISH_ATTEMPTS):
        try:
            conn = writer.connect()
        except SQLAlchemyError as exc:
            raise StoreError(f"store {url}: cannot publish a CRL ({exc})") from exc
        with conn:
            transaction = conn.begin()
            try:
                number = advance(conn, issuer, counter_name)
                seq = counter(conn, issuer, REVOCATION_COUNTER)
                last = conn.execute(
                    sa.select(sa.func.max(crls.c.this_update)).where(crls.c.issuer == issuer)
                ).scalar()
            except IntegrityError:
                # Another publisher created the counter row first; it exists now.
                transaction.rollback()
                continue
            except SQLAlchemyError as exc:
                transaction.rollback()
                raise StoreError(f"store {url}: cannot publish a CRL ({exc})") from exc
            publication = SQLCRLPublication(conn, issuer, number, seq, when(last), url)
            try:
                yield publication
                if not publication.recorded:
                    raise StoreError(f"CRL number {number} of {issuer}: published but not recorded")
                transaction.commit()
            except SQLAlchemyError as exc:
                transaction.rollback()
                raise StoreError(f"store {url}: CRL not recorded ({exc})") from exc
            except BaseException:
                transaction.rollback()
                raise
            return
    raise StoreError(f"store {url}: no CRL number for {issuer} after {_PUBLISH_ATTEMPTS} tries")
