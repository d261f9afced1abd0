"""What a trustkit log records: one canonical DER entry per CA action (version 1).

Four kinds of entry, each stamped with the time the store recorded it and
the acting CA (the SHA-256 of its subjectPublicKeyInfo, which names a CA key
without trusting its name):

- :class:`CertificateIssued`: the whole certificate, as signed, so a monitor
  reads every name in it;
- :class:`Revoked`: serial, time, reason, invalidity date;
- :class:`CRLPublished`: CRL number, scope, thisUpdate and the SHA-256 of the
  CRL's DER, so a CRL shown to one relying party and not another is noticed;
- :class:`CAEvent`: a CA created, a key rotated or taken offline.

Nothing secret enters an entry: the types hold no key, passphrase or PIN.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .._asn1.tlog import ENTRY_VERSION, decode_entry, encode_entry
from ..errors import DecodeError, LogFormatError

__all__ = [
    "ENTRY_VERSION",
    "CAEvent",
    "CRLPublished",
    "CertificateIssued",
    "LogEntry",
    "Revoked",
    "issuer_id",
    "parse_entry",
]


def issuer_id(ca_certificate: x509.Certificate) -> bytes:
    """SHA-256 of the CA's subjectPublicKeyInfo: the ``issuer`` of its entries."""
    spki = ca_certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).digest()


@dataclass(frozen=True)
class CertificateIssued:
    """A certificate the CA signed, as the exact DER it signed."""

    der: bytes

    kind = "certificate"

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    def fields(self) -> dict[str, object]:
        return {"der": self.der}


@dataclass(frozen=True)
class Revoked:
    """A revocation; ``reason`` as RFC 5280 5.3.1 names it (``keyCompromise``), if given."""

    serial_number: int
    revocation_time: datetime
    reason: str | None = None
    invalidity_date: datetime | None = None

    kind = "revocation"

    def fields(self) -> dict[str, object]:
        values: dict[str, object] = {
            "serial_number": self.serial_number,
            "revocation_time": self.revocation_time.replace(microsecond=0),
        }
        if self.reason is not None:
            values["reason"] = self.reason
        if self.invalidity_date is not None:
            values["invalidity_date"] = self.invalidity_date.replace(microsecond=0)
        return values


@dataclass(frozen=True)
class CRLPublished:
    """A CRL published: its number, scope (``full``, ``delta`` or a shard), thisUpdate, SHA-256."""

    crl_number: int
    scope: str
    this_update: datetime
    digest: bytes

    kind = "crl"

    def fields(self) -> dict[str, object]:
        return {
            "crl_number": self.crl_number,
            "scope": self.scope,
            "this_update": self.this_update.replace(microsecond=0),
            "digest": self.digest,
        }


@dataclass(frozen=True)
class CAEvent:
    """Something a CA did besides issuing and revoking (``ca-created``, ``key-rotated``...)."""

    action: str
    subject: str
    detail: str | None = None

    kind = "ca_event"

    def fields(self) -> dict[str, object]:
        values: dict[str, object] = {"kind": self.action, "subject": self.subject}
        if self.detail is not None:
            values["detail"] = self.detail
        return values


Event = CertificateIssued | Revoked | CRLPublished | CAEvent


@dataclass(frozen=True)
class LogEntry:
    """One action of one CA, at the time the store recorded it."""

    time: datetime
    issuer: bytes
    event: Event

    def encode(self) -> bytes:
        if len(self.issuer) != 32:
            raise LogFormatError(f"log entry: issuer is {len(self.issuer)} bytes, not 32")
        try:
            return encode_entry(self.time, self.issuer, self.event.kind, self.event.fields())
        except ValueError as exc:
            raise LogFormatError(str(exc)) from exc


def parse_entry(der: bytes) -> LogEntry:
    """The entry ``der`` encodes; a LogFormatError names what is wrong with it."""
    try:
        decoded = decode_entry(der)
    except DecodeError as exc:
        raise LogFormatError(str(exc)) from exc
    values: dict[str, Any] = decoded.values
    if len(decoded.issuer) != 32:
        raise LogFormatError(f"log entry: issuer is {len(decoded.issuer)} bytes, not 32")
    event: Event
    if decoded.kind == "certificate":
        event = CertificateIssued(values["der"])
    elif decoded.kind == "revocation":
        event = Revoked(
            values["serial_number"],
            values["revocation_time"],
            values.get("reason"),
            values.get("invalidity_date"),
        )
    elif decoded.kind == "crl":
        if len(values["digest"]) != 32:
            raise LogFormatError("log entry: a CRL digest is SHA-256, 32 bytes")
        event = CRLPublished(
            values["crl_number"], values["scope"], values["this_update"], values["digest"]
        )
    else:
        event = CAEvent(values["kind"], values["subject"], values.get("detail"))
    return LogEntry(decoded.time, decoded.issuer, event)
