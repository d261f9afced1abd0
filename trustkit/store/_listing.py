"""Listing the SQL store's records in constant memory, and revoking in bulk.

A listing is read by keyset pagination: a page of :data:`PAGE` records in
(``issued_at``, ``serial``) order, and the next page starts after the last
(``issued_at``, ``serial``) seen. Every filter of :class:`RecordQuery` has an
index ending in that order (:mod:`._schema`), so each page is a range scan that
costs the same on an empty store and on a population-sized one, nothing is
sorted, and nothing is held between pages: no long transaction, no server-side
cursor, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..clock import utc
from . import CertificateRecord, CertStatus, RecordQuery
from ._schema import certificates, record_of

PAGE = 1000
"""Records per page of a listing: memory for a thousand records, whatever the store holds."""


def with_status(query: RecordQuery | None, status: CertStatus | None) -> RecordQuery:
    """``query`` narrowed to ``status`` (the older keyword of ``list``)."""
    query = query or RecordQuery()
    if status is None:
        return query
    if query.status is not None and query.status is not status:
        raise ValueError(f"list: status {status.value!r} and the query's {query.status.value!r}")
    return dataclasses.replace(query, status=status)


def conditions(issuer: str, query: RecordQuery) -> list[sa.ColumnElement[bool]]:
    """The WHERE clause of ``query`` for ``issuer``'s records."""
    c = certificates.c
    where: list[sa.ColumnElement[bool]] = [c.issuer == issuer]
    if query.status is not None:
        where.append(c.status == query.status.value)
    if query.profile is not None:
        where.append(c.profile == query.profile)
    if query.subject_id is not None:
        where.append(c.subject_id == query.subject_id)
    # UTC throughout: SQLite keeps naive UTC text and compares it as text.
    if query.issued_after is not None:
        where.append(c.issued_at >= utc(query.issued_after))
    if query.issued_before is not None:
        where.append(c.issued_at < utc(query.issued_before))
    if query.expires_before is not None:
        where.append(c.not_after < utc(query.expires_before))
    if query.expires_from is not None:
        where.append(c.not_after >= utc(query.expires_from))
    return where


def first_page(issuer: str, query: RecordQuery, *, der: bool) -> sa.Select[Any]:
    """The SELECT of a listing's first page (the crl_entry column is never read)."""
    columns = [c for c in certificates.c if c.name != "crl_entry" and (der or c.name != "der")]
    return (
        sa.select(*columns)
        .where(*conditions(issuer, query))
        .order_by(certificates.c.issued_at, certificates.c.serial)
        .limit(PAGE)
    )


def page_after(select: sa.Select[Any], after: tuple[Any, str] | None) -> sa.Select[Any]:
    """``select`` narrowed to the records after ``after`` = (issued_at, serial key)."""
    if after is None:
        return select
    position = sa.tuple_(certificates.c.issued_at, certificates.c.serial)
    # Typed literals: the time is bound as the column binds it (SQLite's text form).
    return select.where(
        position
        > sa.tuple_(
            sa.literal(after[0], certificates.c.issued_at.type),
            sa.literal(after[1], certificates.c.serial.type),
        )
    )


def records(
    select: sa.Select[Any], read: Callable[[sa.Select[Any]], Sequence[Any]]
) -> Iterator[CertificateRecord]:
    """The records of a listing, a page at a time; ``read`` runs one page's SELECT."""
    after: tuple[Any, str] | None = None
    while True:
        rows = read(page_after(select, after))
        for row in rows:
            yield record_of(row)
        if len(rows) < PAGE:
            return
        after = (rows[-1].issued_at, rows[-1].serial)


def revoke_rows(conn: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Mark rows revoked, straight through the driver's executemany.

    Each row is (revocation_time, reason, invalidity_date, revocation_seq,
    crl_entry, issuer, serial key). SQLAlchemy's per-row parameter processing
    would cost more than the UPDATE itself in a batch of a hundred thousand.
    """
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    c = certificates.c
    # Times bound as the column binds them (SQLite keeps them as text).
    to_db = c.revocation_time.type.bind_processor(conn.dialect)
    if to_db is not None:
        rows = [(to_db(row[0]), row[1], to_db(row[2]), *row[3:]) for row in rows]
    conn.exec_driver_sql(
        f"UPDATE {certificates.name} SET {c.status.name} = '{CertStatus.REVOKED.value}',"
        f" {c.revocation_time.name} = {mark}, {c.revocation_reason.name} = {mark},"
        f" {c.invalidity_date.name} = {mark}, {c.revocation_seq.name} = {mark},"
        f" {c.crl_entry.name} = {mark}"
        f" WHERE {c.issuer.name} = {mark} AND {c.serial.name} = {mark}",
        rows,
    )


def utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)
