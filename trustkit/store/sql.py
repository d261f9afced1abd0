"""The SQL store: one schema on SQLAlchemy Core for SQLite and PostgreSQL.

Serial numbers are up to 160 bits, more than any SQL integer type holds, so
they are kept as 40-digit zero-padded hex text: unique per issuer through the
primary key, and ordered like the numbers they stand for.

SQLite: the file lives in the CA directory, in WAL mode so that OCSP and CRL
readers never wait for an issuance; every writing transaction starts with
``BEGIN IMMEDIATE`` so two processes issuing at once queue on the write lock
instead of failing half-way, and ``synchronous=FULL`` keeps a committed
issuance on disk through a power cut. Certificates are signed before the
writing transaction begins, so the write lock is held only for the INSERT and
the commit; a batch (:meth:`SQLStore.issue_many`) pays one commit for all.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DisconnectionError, IntegrityError, SQLAlchemyError

from ..clock import utc
from ..errors import AlreadyRevokedError, DuplicateSerialError, NotFoundError, StoreError
from ..names import format_general_name, format_name
from ..serials import new_serial
from . import (
    SCHEMA_VERSION,
    CertificateRecord,
    CertStatus,
    CRLEntries,
    CRLRecord,
    IssueItem,
    RevokedEntry,
    SerialStatus,
)

__all__ = ["SQLStore"]

_SERIAL_DIGITS = 40
_SQLITE_BUSY_TIMEOUT_S = 30
_SQLITE_POOL_SIZE = 4
_ISSUE_ATTEMPTS = 8
"""A fresh 159-bit serial colliding even once is as good as impossible; eight is plenty."""
_IN_CHUNK = 500
"""Serials per ``IN (...)`` list: well below SQLite's limit on bound parameters."""

_WRITE = "trustkit_write"

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
    sa.Column("serial", sa.String(_SERIAL_DIGITS), primary_key=True),
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
    sa.Index("ix_certificates_status", "issuer", "status", "shard"),
)

_COMPLETE = -1
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


def _serial_key(serial: int) -> str:
    return f"{serial:0{_SERIAL_DIGITS}x}"


def _when(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return None if value is None else utc(value)


def _record(row: Any) -> CertificateRecord:
    reason = row.revocation_reason
    return CertificateRecord(
        issuer=row.issuer,
        serial=int(row.serial, 16),
        subject=row.subject,
        sans=tuple(json.loads(row.sans)),
        profile=row.profile,
        not_before=utc(row.not_before),
        not_after=utc(row.not_after),
        der=bytes(row.der),
        status=CertStatus(row.status),
        issued_at=utc(row.issued_at),
        shard=row.shard,
        revocation_time=_when(row.revocation_time),
        revocation_reason=None if reason is None else x509.ReasonFlags(reason),
        invalidity_date=_when(row.invalidity_date),
    )


def _sans_of(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [format_general_name(name) for name in ext.value]


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # Connections are pooled: opening one (and its PRAGMAs) costs more than
        # an OCSP status lookup. A connection never crosses a fork: see checkout.
        engine = sa.create_engine(
            url,
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            poolclass=sa.pool.QueuePool,
            pool_size=_SQLITE_POOL_SIZE,
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
            immediate = connection.get_execution_options().get(_WRITE, False)
            connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


class SQLStore:
    """A :class:`~trustkit.store.CertificateStore` on SQLAlchemy Core."""

    def __init__(self, url: str) -> None:
        try:
            self.url = sa.make_url(url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            raise StoreError("store URL: not a valid database URL") from None
        try:
            self._engine = _make_engine(url)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"store {self.url}: driver {exc.name!r} is not installed "
                "(pip install 'trustkit[postgres]')"
            ) from exc
        self._writer = self._engine.execution_options(**{_WRITE: True})
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
            version = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar()
            if version is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )
            elif int(version) != SCHEMA_VERSION:
                raise StoreError(
                    f"store {self.url}: schema version {version}, this trustkit reads "
                    f"version {SCHEMA_VERSION}"
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
            "serial": _serial_key(cert.serial_number),
            "subject": format_name(cert.subject) if subject is None else subject,
            "sans": json.dumps(_sans_of(cert) if sans is None else list(sans)),
            "profile": profile,
            "not_before": cert.not_valid_before_utc,
            "not_after": cert.not_valid_after_utc,
            "der": cert.public_bytes(Encoding.DER),
            "status": CertStatus.VALID.value,
            "issued_at": utc(at),
            "shard": shard,
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
            built=built,
        )

    def find(self, issuer: str, serial: int) -> CertificateRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(
                certificates.select().where(
                    certificates.c.issuer == issuer,
                    certificates.c.serial == _serial_key(serial),
                )
            ).first()
        return None if row is None else _record(row)

    def get(self, issuer: str, serial: int) -> CertificateRecord:
        record = self.find(issuer, serial)
        if record is None:
            raise NotFoundError(serial)
        return record

    def list(self, issuer: str, *, status: CertStatus | None = None) -> Iterator[CertificateRecord]:
        query = certificates.select().where(certificates.c.issuer == issuer)
        if status is not None:
            query = query.where(certificates.c.status == status.value)
        query = query.order_by(certificates.c.issued_at, certificates.c.serial)
        with self._engine.connect() as conn:
            rows = conn.execute(query).all()
        return iter([_record(row) for row in rows])

    def revoke(
        self,
        issuer: str,
        serial: int,
        *,
        reason: x509.ReasonFlags,
        at: datetime,
        invalidity_date: datetime | None = None,
    ) -> CertificateRecord:
        where = (certificates.c.issuer == issuer, certificates.c.serial == _serial_key(serial))
        # asn1crypto is imported only when a revocation needs it: issuing does not.
        from .._asn1 import encode_revoked_entry

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
                    seq = self._advance(conn, issuer, REVOCATION_COUNTER)
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
                return _record(updated)
            except IntegrityError:
                # Another process created the revocation counter first; go again.
                continue
        raise StoreError(f"store {self.url}: revocation of {serial:X} could not be recorded")

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
                    invalidity_date=_when(row.invalidity_date),
                    shard=row.shard,
                )
                for row in rows
            ]
        )

    def next_counter(self, issuer: str, name: str) -> int:
        for _ in range(2):
            try:
                with self._writer.begin() as conn:
                    return self._advance(conn, issuer, name)
            except IntegrityError:
                # Another process created the counter first; its row exists now.
                continue
        raise StoreError(f"store {self.url}: counter {name!r} of {issuer} could not be advanced")

    @staticmethod
    def _advance(conn: Connection, issuer: str, name: str) -> int:
        where = (counters.c.issuer == issuer, counters.c.name == name)
        # UPDATE first: on PostgreSQL it takes the row lock, so two
        # processes never read the same value.
        updated = conn.execute(counters.update().where(*where).values(value=counters.c.value + 1))
        if updated.rowcount == 0:
            conn.execute(counters.insert().values(issuer=issuer, name=name, value=1))
            return 1
        return int(conn.execute(sa.select(counters.c.value).where(*where)).scalar_one())

    @staticmethod
    def _counter(conn: Connection, issuer: str, name: str) -> int:
        value = conn.execute(
            sa.select(counters.c.value).where(counters.c.issuer == issuer, counters.c.name == name)
        ).scalar()
        return 0 if value is None else int(value)

    def status(self, issuer: str, serial: int) -> SerialStatus | None:
        query = sa.select(
            certificates.c.status, certificates.c.revocation_time, certificates.c.revocation_reason
        ).where(certificates.c.issuer == issuer, certificates.c.serial == _serial_key(serial))
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        reason = row.revocation_reason
        return SerialStatus(
            serial=serial,
            status=CertStatus(row.status),
            revocation_time=_when(row.revocation_time),
            reason=None if reason is None else x509.ReasonFlags(reason),
        )

    def revocation_seq(self, issuer: str) -> int:
        with self._engine.connect() as conn:
            return self._counter(conn, issuer, REVOCATION_COUNTER)

    def crl_entries(
        self, issuer: str, *, shard: int | None = None, after_seq: int = 0
    ) -> CRLEntries:
        scope: tuple[Any, ...] = (
            certificates.c.issuer == issuer,
            certificates.c.status == CertStatus.REVOKED.value,
        )
        if shard is not None:
            scope = (*scope, certificates.c.shard == shard)
        self._encode_missing_entries(scope)
        with self._engine.connect() as conn:
            # Read the counter first: entries revoked meanwhile carry a higher
            # number and are left for the next CRL.
            seq = self._counter(conn, issuer, REVOCATION_COUNTER)
            query = sa.select(certificates.c.crl_entry).where(
                *scope, sa.func.coalesce(certificates.c.revocation_seq, 0) <= seq
            )
            if after_seq:
                query = query.where(certificates.c.revocation_seq > after_seq)
            entries = tuple(conn.execute(query).scalars())
        return CRLEntries(entries, seq)

    def _encode_missing_entries(self, scope: tuple[Any, ...]) -> None:
        """Encode the CRL entries of records revoked without one (bulk-loaded data)."""
        query = sa.select(
            certificates.c.issuer,
            certificates.c.serial,
            certificates.c.revocation_time,
            certificates.c.revocation_reason,
            certificates.c.invalidity_date,
        ).where(*scope, certificates.c.crl_entry.is_(None))
        with self._engine.connect() as conn:
            missing = conn.execute(query).all()
        if not missing:
            return
        from .._asn1 import encode_revoked_entry

        with self._writer.begin() as conn:
            conn.execute(
                certificates.update()
                .where(
                    certificates.c.issuer == sa.bindparam("b_issuer"),
                    certificates.c.serial == sa.bindparam("b_serial"),
                )
                .values(crl_entry=sa.bindparam("b_entry")),
                [
                    {
                        "b_issuer": row.issuer,
                        "b_serial": row.serial,
                        "b_entry": encode_revoked_entry(
                            int(row.serial, 16),
                            utc(row.revocation_time),
                            row.revocation_reason,
                            _when(row.invalidity_date),
                        ),
                    }
                    for row in missing
                ],
            )

    def record_crl(self, record: CRLRecord) -> None:
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    crls.insert().values(
                        issuer=record.issuer,
                        crl_number=record.crl_number,
                        shard=_COMPLETE if record.shard is None else record.shard,
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
                f"store {self.url}: CRL number {record.crl_number} of {record.issuer} "
                "was recorded before (RFC 5280 5.2.3: numbers are never reused)"
            ) from exc

    def latest_crl(self, issuer: str, *, shard: int | None, delta: bool) -> CRLRecord | None:
        query = (
            crls.select()
            .where(
                crls.c.issuer == issuer,
                crls.c.shard == (_COMPLETE if shard is None else shard),
                crls.c.delta == delta,
            )
            .order_by(crls.c.crl_number.desc())
            .limit(1)
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return CRLRecord(
            issuer=row.issuer,
            crl_number=int(row.crl_number),
            shard=None if row.shard == _COMPLETE else int(row.shard),
            delta=bool(row.delta),
            base_crl_number=None if row.base_crl_number is None else int(row.base_crl_number),
            this_update=utc(row.this_update),
            next_update=utc(row.next_update),
            revocation_seq=int(row.revocation_seq),
            der=bytes(row.der),
        )

    def close(self) -> None:
        self._engine.dispose()
