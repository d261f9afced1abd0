"""Where a CA keeps what it has issued and revoked.

A store holds one :class:`CertificateRecord` per certificate, keyed by the
issuing CA (``issuer``, the hex key identifier of the CA's key) and the serial
number, plus per-issuer counters (CRL numbers and the like). Backends sit
behind the :class:`CertificateStore` protocol and are picked by the scheme of
a store URL (:func:`open_store`): ``sqlite:///path/store.db`` is the default,
``postgresql+psycopg://user@host/db`` lets several machines share one CA.

Uniqueness of a serial per issuer is enforced by the store itself (a primary
key), and :meth:`CertificateStore.issue` claims the serial and commits the
certificate in one transaction, so a certificate is never handed out before it
is recorded. :meth:`CertificateStore.issue_many` does the same for a whole
batch in one transaction: one commit (one ``fsync``) for a thousand
certificates instead of a thousand.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cryptography import x509

from ..errors import ConfigError, StoreError
from ..serials import new_serial

__all__ = [
    "SCHEMA_VERSION",
    "CRLEntries",
    "CRLPublication",
    "CRLRecord",
    "CertStatus",
    "CertificateRecord",
    "CertificateStore",
    "IssueItem",
    "RecordQuery",
    "Revocation",
    "RevokedEntry",
    "SerialStatus",
    "open_store",
]

SCHEMA_VERSION = 3
"""Version of the store schema. A store of an older version that this one knows how to
upgrade (:data:`UPGRADABLE_FROM` and later) is upgraded when opened; any other is refused."""

UPGRADABLE_FROM = 2
"""The oldest schema version a store is upgraded from."""


class CertStatus(enum.Enum):
    """Whether a certificate stands or was revoked."""

    VALID = "valid"
    REVOKED = "revoked"


@dataclass(frozen=True)
class CertificateRecord:
    """What the store knows about one issued certificate."""

    issuer: str
    """Key identifier (hex) of the CA that issued it."""
    serial: int
    """Serial number, unique per issuer."""
    subject: str
    """Subject as RFC 4514 text."""
    sans: tuple[str, ...]
    """Subject alternative names in ``dns:``/``ip:``/``email:``/``uri:`` form."""
    profile: str
    """Name of the profile it was issued under."""
    not_before: datetime
    not_after: datetime
    der: bytes
    """The certificate, DER-encoded; empty when read with ``der=False``
    (:meth:`CertificateStore.list`)."""
    status: CertStatus
    issued_at: datetime
    """When the CA recorded it."""
    shard: int = 0
    """CRL partition the certificate belongs to (0 when CRLs are not partitioned)."""
    subject_id: str | None = None
    """The subject's serialNumber attribute (X.520 2.5.4.5), such as a citizen's
    ``PNOEX-19800101-1234``; ``None`` if the subject has none."""
    revocation_time: datetime | None = None
    revocation_reason: x509.ReasonFlags | None = None
    invalidity_date: datetime | None = None
    built: x509.Certificate | None = field(default=None, compare=False, repr=False)
    """The certificate object the CA just signed, when the record comes from issuance
    (so that :attr:`certificate` need not parse ``der`` again); ``None`` when read back."""

    @property
    def certificate(self) -> x509.Certificate:
        """The certificate, parsed."""
        if self.built is not None:
            return self.built
        if not self.der:
            raise StoreError(
                f"certificate {self.serial:X}: read without its DER (list with der=True)"
            )
        return x509.load_der_x509_certificate(self.der)


@dataclass(frozen=True)
class RecordQuery:
    """Which records :meth:`CertificateStore.list` yields: every field given narrows the set.

    Each filter is served by an index that ends in the listing order
    (``issued_at``, ``serial``), so a listing reads its index from where the
    previous page ended instead of sorting. Times compare in UTC.
    """

    status: CertStatus | None = None
    profile: str | None = None
    subject_id: str | None = None
    """The subject's serialNumber attribute, compared exactly."""
    issued_after: datetime | None = None
    """Recorded at or after this time (inclusive)."""
    issued_before: datetime | None = None
    """Recorded before this time (exclusive): consecutive ranges never overlap."""
    expires_before: datetime | None = None
    """notAfter before this time: expired by then (RFC 5280 4.1.2.5, notAfter is inclusive)."""
    expires_from: datetime | None = None
    """notAfter at or after this time: not yet expired then."""


@dataclass(frozen=True)
class Revocation:
    """One certificate of a batch given to :meth:`CertificateStore.revoke_many`."""

    serial: int
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified
    invalidity_date: datetime | None = None


@dataclass(frozen=True)
class IssueItem:
    """One certificate of a batch given to :meth:`CertificateStore.issue_many`."""

    profile: str
    """Name of the profile it is issued under."""
    build: Callable[[int], x509.Certificate]
    """Signs the certificate with the serial number it is given."""
    shard: int = 0
    """CRL partition of the certificate."""
    subject: str | None = None
    """The subject as RFC 4514 text, as recorded; read from the certificate when ``None``."""
    sans: tuple[str, ...] | None = None
    """The SANs in ``dns:``/``ip:`` form, as recorded; read from the certificate when ``None``."""


@dataclass(frozen=True)
class RevokedEntry:
    """One revoked certificate, as a CRL or an OCSP response needs it."""

    serial: int
    revocation_time: datetime
    reason: x509.ReasonFlags | None
    invalidity_date: datetime | None
    shard: int = 0


@dataclass(frozen=True)
class SerialStatus:
    """The revocation status of one serial, as an OCSP responder needs it (RFC 6960 2.2)."""

    serial: int
    status: CertStatus
    revocation_time: datetime | None = None
    reason: x509.ReasonFlags | None = None


@dataclass(frozen=True)
class CRLEntries:
    """Encoded CRL entries of one issuer, as of one revocation sequence number."""

    entries: tuple[bytes, ...]
    """DER ``revokedCertificates`` items (RFC 5280 5.1.2.6), one per revoked certificate."""
    revocation_seq: int
    """The store's revocation sequence number these entries are complete up to."""


@dataclass(frozen=True)
class CRLRecord:
    """A CRL that was issued and published, kept so that numbers and deltas stay coherent."""

    issuer: str
    crl_number: int
    shard: int | None
    """The partition it covers, or ``None`` for a CRL of the whole CA."""
    delta: bool
    base_crl_number: int | None
    """For a delta CRL, the CRL number of the complete CRL it updates (RFC 5280 5.2.4)."""
    this_update: datetime
    next_update: datetime
    revocation_seq: int
    """Revocations up to this sequence number are in it (with its base, for a delta)."""
    der: bytes


class CRLPublication(Protocol):
    """One CRL being published, inside the store's publication lock.

    Everything read through it comes from the one transaction that also took
    :attr:`crl_number`, so the number, the entries and the times agree
    (:meth:`CertificateStore.publish_crl`).
    """

    crl_number: int
    """The number this CRL carries: one more than any before, shared by every scope."""
    revocation_seq: int
    """The issuer's revocation sequence number when the lock was taken."""
    last_this_update: datetime | None
    """The latest thisUpdate of any CRL the issuer recorded before, if any."""

    def crl_entries(self, *, shard: int | None = None, after_seq: int = 0) -> CRLEntries:
        """Entries revoked with a sequence number above ``after_seq``, up to
        :attr:`revocation_seq` (of ``shard`` if given)."""
        ...

    def latest_crl(self, *, shard: int | None, delta: bool) -> CRLRecord | None:
        """The CRL of that scope with the highest number recorded before this one."""
        ...

    def record(self, record: CRLRecord) -> None:
        """Record the signed CRL; committed when the publication ends without an error.

        A record whose number is not :attr:`crl_number`, whose thisUpdate is
        before :attr:`last_this_update`, or whose ``revocation_seq`` is beyond
        :attr:`revocation_seq` is a :class:`~trustkit.errors.StoreError`.
        """
        ...


class CertificateStore(Protocol):
    """The narrow interface every store backend provides."""

    url: str
    """The URL the store was opened with, password removed."""

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
        """Take a fresh serial, build the certificate with it, and commit both at once.

        ``build`` is called with a fresh serial before the transaction that
        claims it, so that signing never holds the store's write lock; if the
        serial turns out to be taken, ``build`` is called again with another.
        If ``build`` raises, nothing is written. The record is committed
        before it is returned.
        """
        ...

    def issue_many(
        self,
        issuer: str,
        items: Sequence[IssueItem],
        *,
        at: datetime,
        serial_source: Callable[[], int] = new_serial,
    ) -> list[CertificateRecord]:
        """Issue a batch: a fresh serial for each item, every record committed in ONE transaction.

        All or nothing: if any ``build`` raises, or the transaction fails,
        nothing of the batch is written. Records come back in the order of
        ``items``, after the commit.
        """
        ...

    def add(self, issuer: str, profile: str, cert: x509.Certificate, *, at: datetime) -> None:
        """Record a certificate made elsewhere, such as a root CA's own; a serial the
        issuer has used already is a :class:`~trustkit.errors.DuplicateSerialError`."""
        ...

    def get(self, issuer: str, serial: int) -> CertificateRecord:
        """The record for ``serial``; :class:`~trustkit.errors.NotFoundError` if none."""
        ...

    def find(self, issuer: str, serial: int) -> CertificateRecord | None:
        """The record for ``serial``, or ``None``."""
        ...

    def list(
        self,
        issuer: str,
        query: RecordQuery | None = None,
        *,
        status: CertStatus | None = None,
        der: bool = True,
    ) -> Iterator[CertificateRecord]:
        """The records of ``issuer`` that ``query`` selects (all by default), oldest first
        (by ``issued_at``, then serial), optionally only those with ``status``.

        Streams: records are read a page at a time as the iterator is consumed,
        so memory stays the same whatever the store holds. Each page is its own
        short read, so a record revoked during a long listing may show either
        state; none is skipped or repeated. With ``der=False`` the certificates
        themselves are not read (``der`` is empty).
        """
        ...

    def highest_serial(self, issuer: str, query: RecordQuery | None = None) -> int | None:
        """The highest serial among the records ``query`` selects, or ``None`` if none."""
        ...

    def revoke(
        self,
        issuer: str,
        serial: int,
        *,
        reason: x509.ReasonFlags,
        at: datetime,
        invalidity_date: datetime | None = None,
    ) -> CertificateRecord:
        """Mark ``serial`` revoked; unknown or already revoked serials change nothing."""
        ...

    def revoke_many(self, issuer: str, revocations: Sequence[Revocation], *, at: datetime) -> int:
        """Revoke a batch in ONE transaction (an import, a mass revocation after an incident).

        All or nothing: a serial ``issuer`` never issued is a
        :class:`~trustkit.errors.NotFoundError`, one revoked already (or twice in
        the batch) an :class:`~trustkit.errors.AlreadyRevokedError`, and then
        nothing is written. Each gets its revocation sequence number and its
        encoded CRL entry as :meth:`revoke` gives them. Returns how many.
        """
        ...

    def revoked(self, issuer: str, *, shard: int | None = None) -> Iterator[RevokedEntry]:
        """Every revoked certificate of ``issuer`` (of one shard if given), by serial."""
        ...

    def next_counter(self, issuer: str, name: str) -> int:
        """Atomically increment and return a per-issuer counter (first value 1)."""
        ...

    def status(self, issuer: str, serial: int) -> SerialStatus | None:
        """The status of ``serial``, or ``None`` if ``issuer`` never issued it (one lookup)."""
        ...

    def statuses(self, issuer: str, serials: Sequence[int]) -> dict[int, SerialStatus]:
        """The status of each of ``serials`` that ``issuer`` issued, in one query;
        serials it never issued are left out."""
        ...

    def revocation_seq(self, issuer: str) -> int:
        """How many revocations ``issuer`` has recorded; changes whenever one is added."""
        ...

    def crl_entries(
        self, issuer: str, *, shard: int | None = None, after_seq: int = 0
    ) -> CRLEntries:
        """DER CRL entries of ``issuer``'s revoked certificates (of ``shard`` if given).

        Only revocations with a sequence number above ``after_seq`` are
        included (a delta CRL's entries). Entries are encoded once, when the
        certificate is revoked, and kept with its record.
        """
        ...

    def publish_crl(self, issuer: str, counter: str) -> AbstractContextManager[CRLPublication]:
        """Publish one CRL of ``issuer`` under a lock: linearisable (RFC 5280 5.2.3).

        Entering advances the counter ``counter`` (the CRL number) and takes
        the issuer's publication lock in the same transaction; inside, the
        entries, the latest CRL of a scope and the last thisUpdate are read from
        that transaction; :meth:`CRLPublication.record` keeps the signed CRL,
        and leaving commits both. Publications of one issuer are thus
        serialised in number order: CRL n+1 lists everything CRL n listed plus
        what was revoked since. An error inside rolls everything back (the
        number is not used). Sign inside, but unlock keys before entering.
        """
        ...

    def latest_crl(self, issuer: str, *, shard: int | None, delta: bool) -> CRLRecord | None:
        """The CRL of that scope with the highest number, if any was recorded."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_store(url: str) -> CertificateStore:
    """Open (creating if needed) the store at ``url``; the scheme picks the backend."""
    scheme = url.partition(":")[0].partition("+")[0]
    factory = _BACKENDS.get(scheme)
    if factory is None:
        raise ConfigError(
            f"store {url.split('@')[-1]!r}: unknown scheme {scheme!r}; "
            f"use one of {', '.join(sorted(_BACKENDS))}"
        )
    return factory(url)


def _sql_store(url: str) -> CertificateStore:
    from .sql import SQLStore

    return SQLStore(url)


_BACKENDS: dict[str, Callable[[str], CertificateStore]] = {
    "sqlite": _sql_store,
    "postgresql": _sql_store,
}
