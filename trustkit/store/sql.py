"""The SQL store: one schema on SQLAlchemy Core for SQLite and PostgreSQL.

The tables and connection set-up are in :mod:`._schema`; CRL state and the
publication lock in :mod:`._crl`. Certificates are signed before the writing
transaction begins, so the write lock (SQLite) is held only for the INSERT and
the commit; a batch (:meth:`SQLStore.issue_many`) pays one commit for all.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from ..clock import utc
from ..errors import AlreadyRevokedError, DuplicateSerialError, NotFoundError, StoreError
from ..names import format_name
from ..serials import new_serial
from . import (
    SCHEMA_VERSION,
    UPGRADABLE_FROM,
    CertificateRecord,
    CertStatus,
    CRLEntries,
    CRLPublication,
    CRLRecord,
    IssueItem,
    RecordQuery,
    Revocation,
    RevokedEntry,
    SerialStatus,
    _crl,
    _listing,
)
from ._entry import encode_revoked_entry
from ._schema import (
    REVOCATION_COUNTER,
    WRITE,
    advance,
    certificates,
    counter,
    counters,
    crls,
    make_engine,
    meta_table,
    metadata,
    record_of,
    sans_of,
    serial_key,
    subject_id_of,
    upgrade,
    when,
)

__all__ = ["REVOCATION_COUNTER", "SQLStore", "certificates", "counters", "crls"]

_ISSUE_ATTEMPTS = 8
"""A fresh 159-bit serial colliding even once is as good as impossible; eight is plenty."""
_IN_CHUNK = 500
"""Serials per ``IN (...)`` list: well below SQLite's limit on bound parameters."""


def _serial_status(serial: int, row: Any) -> SerialStatus:
    reason = row.revocation_reason
    return SerialStatus(
        serial=serial,
        status=CertStatus(row.status),
        revocation_time=when(row.revocation_time),
        reason=None if reason is None else x509.ReasonFlags(reason),
    )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _met_dead_connection(exc: BaseException) -> bool:
    """True if ``exc`` (or what it wraps) is a statement that found its connection dead.

    Only a failed statement counts, never a failed COMMIT: a statement's
    transaction died with the connection (the server rolls it back), so running
    the call again cannot apply anything twice; after a COMMIT was sent the
    outcome is unknown and the caller must be told.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DBAPIError):
            return bool(seen.connection_invalidated) and seen.statement is not None
        seen = seen.__cause__
    return False


def reconnecting(
    method: Callable[Concatenate[SQLStore, _P], _R],
) -> Callable[Concatenate[SQLStore, _P], _R]:
    """Run a store call once more if it met a connection the server had closed.

    This replaces a liveness ping on every checkout. SQLAlchemy invalidates the
    pool when it sees a disconnect, so the second run gets a fresh connection.
    """

    @functools.wraps(method)
    def run(self: SQLStore, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return method(self, *args, **kwargs)
        except (SQLAlchemyError, StoreError) as exc:
            if not _met_dead_connection(exc):
                raise
        return method(self, *args, **kwargs)

    return run


class SQLStore:
    """A :class:`~trustkit.store.CertificateStore` on SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        try:
            self.url = sa.make_url(url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            raise StoreError("store URL: not a valid database URL") from None
        try:
            self._engine = make_engine(url)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"store {self.url}: driver {exc.name!r} is not installed "
                "(pip install 'trustkit[postgres]')"
            ) from exc
        self._writer = self._engine.execution_options(**{WRITE: True})
        try:
            self._prepare()
        except BaseException:
            self._engine.dispose()
            raise

    def _prepare(self) -> None:
        try:
            self._create_schema()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"store {self.url}: cannot open ({getattr(exc, 'orig', None) or exc})"
            ) from exc

    def _create_schema(self) -> None:
        try:
            # The common case, a store of this version, needs one read and no
            # write transaction (whose commit would cost a sync on SQLite).
            with self._engine.connect() as conn:
                current = conn.execute(
                    sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
                ).scalar()
        except SQLAlchemyError:
            current = None  # no schema yet
        if current is not None and current == str(SCHEMA_VERSION):
            return
        with self._writer.begin() as conn:
            metadata.create_all(conn)
            # FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the
            # write lock): a second process opening the store meanwhile waits
            # here, then reads the version the first one wrote and upgrades nothing.
            version = conn.execute(
                sa.select(meta_table.c.value)
                .where(meta_table.c.key == "schema_version")
                .with_for_update()
            ).scalar()
            if version is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif UPGRADABLE_FROM <= int(version) < SCHEMA_VERSION:
                upgrade(conn, int(version))
                conn.execute(
                    meta_table.update()
                    .where(meta_table.c.key == "schema_version")
                    .values(value=str(SCHEMA_VERSION))
                )
            elif int(version) != SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.url}: schema version {version}, this trustkit reads "
                    f"version {SCHEMA_VERSION} and upgrades from {UPGRADABLE_FROM}"
                )

    def issue(
        self,
        issuer: str,
        profile: str,
        build: Callable[[int], x509.Certificate],
        *,
        at: datetime,
        shard: int = 0,
        serial_source: Callable[[], int] = new_serial,
    ) -> CertificateRecord:
        item = IssueItem(profile, build, shard)
        return self.issue_many(issuer, (item,), at=at, serial_source=serial_source)[0]

    @reconnecting
    def issue_many(
        self,
        issuer: str,
        items: Sequence[IssueItem],
        *,
        at: datetime,
        serial_source: Callable[[], int] = new_serial,
    ) -> list[CertificateRecord]:
        if not items:
            return []
        issued_at = utc(at)
        drawn: set[int] = set()
        # Signing happens before the transaction: the write lock (SQLite) is
        # held only for the INSERT and the commit, so processes sign in parallel.
        built = [self._build(item, self._draw(serial_source, drawn)) for item in items]
        rows = [
            self._item_values(issuer, item, cert, issued_at)
            for item, cert in zip(items, built, strict=True)
        ]
        for _ in range(_ISSUE_ATTEMPTS):
            try:
                with self._writer.begin() as conn:
                    conn.execute(certificates.insert(), rows)
            except IntegrityError:
                # A serial was taken (before, or by another process meanwhile):
                # draw again for those only; the primary key is the arbiter.
                taken = self._taken(issuer, [row["serial"] for row in rows])
                if not taken:
                    raise StoreError(
                        f"store {self.url}: issuance not recorded (constraint violated)"
                    ) from None
                for index, row in enumerate(rows):
                    if row["serial"] in taken:
                        item = items[index]
                        cert = self._build(item, self._draw(serial_source, drawn))
                        built[index] = cert
                        rows[index] = self._item_values(issuer, item, cert, issued_at)
                continue
            except SQLAlchemyError as exc:
                raise StoreError(f"store {self.url}: issuance not recorded ({exc})") from exc
            return [
                self._record_of(row, item, cert)
                for row, item, cert in zip(rows, items, built, strict=True)
            ]
        raise StoreError(f"store {self.url}: no free serial after {_ISSUE_ATTEMPTS} draws")

    @staticmethod
    def _draw(serial_source: Callable[[], int], drawn: set[int]) -> int:
        """A serial not drawn before for this batch."""
        for _ in range(_ISSUE_ATTEMPTS):
            serial = serial_source()
            if serial not in drawn:
                drawn.add(serial)
                return serial
        raise StoreError(f"issue: no fresh serial after {_ISSUE_ATTEMPTS} draws")

    @staticmethod
    def _build(item: IssueItem, serial: int) -> x509.Certificate:
        cert = item.build(serial)
        if cert.serial_number != serial:
            raise StoreError("issue: the certificate built does not carry its serial")
        return cert

    def _taken(self, issuer: str, keys: Sequence[str]) -> set[str]:
        """Which of the serial keys ``issuer`` has recorded already."""
        taken: set[str] = set()
        with self._engine.connect() as conn:
            for start in range(0, len(keys), _IN_CHUNK):
                query = sa.select(certificates.c.serial).where(
                    certificates.c.issuer == issuer,
                    certificates.c.serial.in_(keys[start : start + _IN_CHUNK]),
                )
                taken.update(conn.execute(query).scalars())
        return taken

    @reconnecting
    def add(self, issuer: str, profile: str, cert: x509.Certificate, *, at: datetime) -> None:
        """Record a certificate made elsewhere (such as a CA's own certificate)."""
        values = self._values(issuer, profile, cert, at=at, shard=0)
        try:
            with self._writer.begin() as conn:
                conn.execute(certificates.insert().values(**values))
        except IntegrityError as exc:
            raise DuplicateSerialError(cert.serial_number) from exc

    @classmethod
    def _item_values(
        cls, issuer: str, item: IssueItem, cert: x509.Certificate, at: datetime
    ) -> dict[str, Any]:
        return cls._values(
            issuer,
            item.profile,
            cert,
            at=at,
            shard=item.shard,
            subject=item.subject,
            sans=item.sans,
        )

    @staticmethod
    def _values(
        issuer: str,
        profile: str,
        cert: x509.Certificate,
        *,
        at: datetime,
        shard: int,
        subject: str | None = None,
        sans: tuple[str, ...] | None = None,
    ) -> dict[str, Any]:
        return {
            "issuer": issuer,
            "serial": serial_key(cert.serial_number),
            "subject": format_name(cert.subject) if subject is None else subject,
            "sans": json.dumps(sans_of(cert) if sans is None else list(sans)),
            "profile": profile,
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "der": cert.public_bytes(Encoding.DER),
            "status": CertStatus.VALID.value,
            "issued_at": utc(at),
            "shard": shard,
            "subject_id": subject_id_of(cert),
        }

    @staticmethod
    def _record_of(
        values: dict[str, Any], item: IssueItem, built: x509.Certificate
    ) -> CertificateRecord:
        return CertificateRecord(
            issuer=values["issuer"],
            serial=built.serial_number,
            subject=values["subject"],
            sans=item.sans if item.sans is not None else tuple(json.loads(values["sans"])),
            profile=values["profile"],
            not_before=values["not_before"],
            not_after=values["not_after"],
            der=values["der"],
            status=CertStatus.VALID,
            issued_at=values["issued_at"],
            shard=values["shard"],
            subject_id=values["subject_id"],
            built=built,
        )

    @reconnecting
    def find(self, issuer: str, serial: int) -> CertificateRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                certificates.select().where(
                    certificates.c.issuer == issuer,
                    certificates.c.serial == serial_key(serial),
                )
            ).first()
        return None if row is None else record_of(row)

    def get(self, issuer: str, serial: int) -> CertificateRecord:
        record = self.find(issuer, serial)
        if record is None:
            raise NotFoundError(serial)
        return record

    def list(
        self,
        issuer: str,
        query: RecordQuery | None = None,
        *,
        status: CertStatus | None = None,
        der: bool = True,
    ) -> Iterator[CertificateRecord]:
        select = _listing.first_page(issuer, _listing.with_status(query, status), der=der)
        return _listing.records(select, self._read_page)

    @reconnecting
    def _read_page(self, select: sa.Select[Any]) -> Sequence[Any]:
        with self._engine.connect() as conn:
            return conn.execute(select).all()

    @reconnecting
    def highest_serial(self, issuer: str, query: RecordQuery | None = None) -> int | None:
        select = sa.select(sa.func.max(certificates.c.serial)).where(
            *_listing.conditions(issuer, query or RecordQuery())
        )
        with self._engine.connect() as conn:
            highest = conn.execute(select).scalar()
        return None if highest is None else int(highest, 16)

    @reconnecting
    def revoke(
        self,
        issuer: str,
        serial: int,
        *,
        reason: x509.ReasonFlags,
        at: datetime,
        invalidity_date: datetime | None = None,
    ) -> CertificateRecord:
        where = (certificates.c.issuer == issuer, certificates.c.serial == serial_key(serial))
        invalidity = None if invalidity_date is None else utc(invalidity_date)
        entry = encode_revoked_entry(serial, utc(at), reason.value, invalidity)
        for _ in range(2):
            try:
                with self._writer.begin() as conn:
                    row = conn.execute(certificates.select().where(*where)).first()
                    if row is None:
                        raise NotFoundError(serial)
                    if row.status == CertStatus.REVOKED.value:
                        raise AlreadyRevokedError(serial, utc(row.revocation_time))
                    seq = advance(conn, issuer, REVOCATION_COUNTER)
                    conn.execute(
                        certificates.update()
                        .where(*where, certificates.c.status == CertStatus.VALID.value)
                        .values(
                            status=CertStatus.REVOKED.value,
                            revocation_time=utc(at),
                            revocation_reason=reason.value,
                            invalidity_date=invalidity,
                            revocation_seq=seq,
                            crl_entry=entry,
                        )
                    )
                    updated = conn.execute(certificates.select().where(*where)).one()
                return record_of(updated)
            except IntegrityError:
                # Another process created the revocation counter first; go again.
                continue
        raise StoreError(f"store {self.url}: revocation of {serial:X} could not be recorded")

    @reconnecting
    def revoke_many(self, issuer: str, revocations: Sequence[Revocation], *, at: datetime) -> int:
        if not revocations:
            return 0
        revoked_at = utc(at)
        keys: dict[str, Revocation] = {}
        for item in revocations:
            key = serial_key(item.serial)
            if key in keys:
                raise AlreadyRevokedError(item.serial, revoked_at)
            keys[key] = item
        # In serial order: the sequence numbers (and so a delta CRL's content)
        # do not depend on the order the batch came in.
        ordered = sorted(keys)
        invalidity = {key: _listing.utc_or_none(keys[key].invalidity_date) for key in ordered}
        entries = [
            encode_revoked_entry(
                keys[key].serial, revoked_at, keys[key].reason.value, invalidity[key]
            )
            for key in ordered
        ]
        for _ in range(2):
            try:
                with self._writer.begin() as conn:
                    self._check_revocable(conn, issuer, ordered)
                    last = advance(conn, issuer, REVOCATION_COUNTER, by=len(ordered))
                    first = last - len(ordered) + 1
                    rows = [
                        (
                            revoked_at,
                            keys[key].reason.value,
                            invalidity[key],
                            first + index,
                            entry,
                            issuer,
                            key,
                        )
                        for index, (key, entry) in enumerate(zip(ordered, entries, strict=True))
                    ]
                    _listing.revoke_rows(conn, rows)
                return len(ordered)
            except IntegrityError:
                # Another process created the revocation counter first; go again.
                continue
        raise StoreError(f"store {self.url}: bulk revocation could not be recorded")

    @staticmethod
    def _check_revocable(conn: sa.Connection, issuer: str, keys: Sequence[str]) -> None:
        """Every one of ``keys`` issued by ``issuer`` and not revoked, read inside the
        writing transaction (so under its lock)."""
        found: dict[str, Any] = {}
        for start in range(0, len(keys), _IN_CHUNK):
            query = sa.select(
                certificates.c.serial, certificates.c.status, certificates.c.revocation_time
            ).where(
                certificates.c.issuer == issuer,
                certificates.c.serial.in_(keys[start : start + _IN_CHUNK]),
            )
            found.update((row.serial, row) for row in conn.execute(query))
        for key in keys:
            row = found.get(key)
            if row is None:
                raise NotFoundError(int(key, 16))
            if row.status == CertStatus.REVOKED.value:
                raise AlreadyRevokedError(int(key, 16), utc(row.revocation_time))

    @reconnecting
    def revoked(self, issuer: str, *, shard: int | None = None) -> Iterator[RevokedEntry]:
        query = sa.select(
            certificates.c.serial,
            certificates.c.revocation_time,
            certificates.c.revocation_reason,
            certificates.c.invalidity_date,
            certificates.c.shard,
        ).where(
            certificates.c.issuer == issuer,
            certificates.c.status == CertStatus.REVOKED.value,
        )
        if shard is not None:
            query = query.where(certificates.c.shard == shard)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(certificates.c.serial)).all()
        return iter(
            [
                RevokedEntry(
                    serial=int(row.serial, 16),
                    revocation_time=utc(row.revocation_time),
                    reason=None
                    if row.revocation_reason is None
                    else x509.ReasonFlags(row.revocation_reason),
                    invalidity_date=when(row.invalidity_date),
                    shard=row.shard,
                )
                for row in rows
            ]
        )

    @reconnecting
    def next_counter(self, issuer: str, name: str) -> int:
        for _ in range(2):
            try:
                with self._writer.begin() as conn:
                    return advance(conn, issuer, name)
            except IntegrityError:
                # Another process created the counter first; its row exists now.
                continue
        raise StoreError(f"store {self.url}: counter {name!r} of {issuer} could not be advanced")

    @reconnecting
    def status(self, issuer: str, serial: int) -> SerialStatus | None:
        query = sa.select(
            certificates.c.status, certificates.c.revocation_time, certificates.c.revocation_reason
        ).where(certificates.c.issuer == issuer, certificates.c.serial == serial_key(serial))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        return None if row is None else _serial_status(serial, row)

    @reconnecting
    def statuses(self, issuer: str, serials: Sequence[int]) -> dict[int, SerialStatus]:
        keys = sorted({serial_key(serial) for serial in serials})
        found: dict[int, SerialStatus] = {}
        with self._engine.connect() as conn:
            for start in range(0, len(keys), _IN_CHUNK):
                query = sa.select(
                    certificates.c.serial,
                    certificates.c.status,
                    certificates.c.revocation_time,
                    certificates.c.revocation_reason,
                ).where(
                    certificates.c.issuer == issuer,
                    certificates.c.serial.in_(keys[start : start + _IN_CHUNK]),
                )
                for row in conn.execute(query):
                    serial = int(row.serial, 16)
                    found[serial] = _serial_status(serial, row)
        return found

    @reconnecting
    def revocation_seq(self, issuer: str) -> int:
        with self._engine.connect() as conn:
            return counter(conn, issuer, REVOCATION_COUNTER)

    @reconnecting
    def crl_entries(
        self, issuer: str, *, shard: int | None = None, after_seq: int = 0
    ) -> CRLEntries:
        return _crl.read_entries(self._engine, self._writer, issuer, shard, after_seq)

    def publish_crl(self, issuer: str, counter: str) -> AbstractContextManager[CRLPublication]:
        return _crl.publish(self._writer, self.url, issuer, counter)

    @reconnecting
    def latest_crl(self, issuer: str, *, shard: int | None, delta: bool) -> CRLRecord | None:
        with self._engine.connect() as conn:
            return _crl.latest(conn, issuer, shard, delta)

    def close(self) -> None:
        self._engine.dispose()
