"""The transparency-log entry, version 1, as DER (docs/transparency.md has the module).

::

    LogEntry ::= SEQUENCE {
        version   INTEGER { v1(1) },
        time      GeneralizedTime,      -- when the store recorded the action (UTC, seconds)
        issuer    OCTET STRING (SIZE (32)),  -- SHA-256 of the acting CA's subjectPublicKeyInfo
        event     LogEvent }

    LogEvent ::= CHOICE {
        certificate [0] IMPLICIT OCTET STRING,          -- the issued certificate's DER
        revocation  [1] IMPLICIT Revocation,
        crl         [2] IMPLICIT CRLPublished,
        caEvent     [3] IMPLICIT CAEvent }

    Revocation ::= SEQUENCE {
        serialNumber    INTEGER,
        revocationTime  GeneralizedTime,
        reason          CRLReason OPTIONAL,         -- RFC 5280 5.3.1
        invalidityDate  [0] IMPLICIT GeneralizedTime OPTIONAL }

    CRLPublished ::= SEQUENCE {
        crlNumber   INTEGER,
        scope       UTF8String,                    -- "full", "delta" or a shard's name
        thisUpdate  GeneralizedTime,
        digest      OCTET STRING (SIZE (32)) }     -- SHA-256 of the CRL's DER

    CAEvent ::= SEQUENCE {
        kind        UTF8String,                    -- e.g. "ca-created", "key-rotated"
        subject     UTF8String,                    -- the CA's name (RFC 4514)
        detail      UTF8String OPTIONAL }

DER is canonical, so one action has one entry and one leaf hash; the
certificate travels as the exact bytes the CA signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from asn1crypto import core
from asn1crypto import crl as _crl

from ..errors import DecodeError
from .revocation import _CRL_REASONS

_REASON_NAMES = {asn1: rfc for rfc, asn1 in _CRL_REASONS.items()}

__all__ = [
    "ENTRY_VERSION",
    "EntryFields",
    "decode_entry",
    "encode_entry",
]

ENTRY_VERSION = 1


class _Revocation(core.Sequence):
    _fields = [
        ("serial_number", core.Integer),
        ("revocation_time", core.GeneralizedTime),
        ("reason", _crl.CRLReason, {"optional": True}),
        ("invalidity_date", core.GeneralizedTime, {"implicit": 0, "optional": True}),
    ]


class _CRLPublished(core.Sequence):
    _fields = [
        ("crl_number", core.Integer),
        ("scope", core.UTF8String),
        ("this_update", core.GeneralizedTime),
        ("digest", core.OctetString),
    ]


class _CAEvent(core.Sequence):
    _fields = [
        ("kind", core.UTF8String),
        ("subject", core.UTF8String),
        ("detail", core.UTF8String, {"optional": True}),
    ]


class _LogEvent(core.Choice):
    _alternatives = [
        ("certificate", core.OctetString, {"implicit": 0}),
        ("revocation", _Revocation, {"implicit": 1}),
        ("crl", _CRLPublished, {"implicit": 2}),
        ("ca_event", _CAEvent, {"implicit": 3}),
    ]


class _LogEntry(core.Sequence):
    _fields = [
        ("version", core.Integer),
        ("time", core.GeneralizedTime),
        ("issuer", core.OctetString),
        ("event", _LogEvent),
    ]


@dataclass(frozen=True)
class EntryFields:
    """A decoded entry as plain values: ``kind`` names the event, ``values`` its fields."""

    time: datetime
    issuer: bytes
    kind: str
    values: dict[str, object]


def encode_entry(time: datetime, issuer: bytes, kind: str, values: dict[str, object]) -> bytes:
    """DER of one entry; ``values`` are the fields of the ``kind`` alternative.

    A revocation reason is named as RFC 5280 5.3.1 names it (``keyCompromise``).
    """
    if "reason" in values:
        reason = values["reason"]
        if reason not in _CRL_REASONS:
            raise ValueError(f"log entry: reason {reason!r} is not an RFC 5280 CRLReason")
        values = {**values, "reason": _CRL_REASONS[str(reason)]}
    entry = _LogEntry(
        {
            "version": ENTRY_VERSION,
            "time": time.replace(microsecond=0),
            "issuer": issuer,
            "event": _LogEvent(name=kind, value=values["der"] if kind == "certificate" else values),
        }
    )
    return bytes(entry.dump(force=True))


def decode_entry(der: bytes) -> EntryFields:
    """The fields of one entry; anything but a version-1 entry in DER is a DecodeError."""
    try:
        entry = _LogEntry.load(der, strict=True)
        version = entry["version"].native
        if version != ENTRY_VERSION:
            raise DecodeError(f"log entry: version {version}, not {ENTRY_VERSION}")
        event = entry["event"]
        kind = event.name
        if kind == "certificate":
            values: dict[str, object] = {"der": event.chosen.native}
        else:
            values = {
                name: event.chosen[name].native
                for name, _spec, *_ in event.chosen._fields
                if not isinstance(event.chosen[name], core.Void)
            }
        if "reason" in values:
            values["reason"] = _REASON_NAMES[str(values["reason"])]
        if entry.dump(force=True) != der:
            raise DecodeError("log entry: not in DER (its re-encoding differs)")
        return EntryFields(entry["time"].native, entry["issuer"].native, kind, values)
    except DecodeError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise DecodeError(f"log entry: not a version-{ENTRY_VERSION} LogEntry in DER") from exc
