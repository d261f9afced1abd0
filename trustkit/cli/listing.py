"""``trustkit list`` and ``trustkit export``: a CA's records, streamed.

Both read the store a page at a time (:meth:`~trustkit.store.CertificateStore.list`)
and print as they read, so a store of millions of certificates is listed or
exported in the memory of one page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import click

from .._files import atomic_writer
from ..ca import CertificateAuthority
from ..encoding import format_serial, pem_encode
from ..errors import InputError
from ..store import CertificateRecord, CertStatus, RecordQuery
from ._common import ca_option, complete_profile, json_option
from .revoke import parse_time

__all__ = ["export", "list_", "record_json"]

_CHUNK = 1000
"""Lines printed per write: a write per record would cost more than reading it."""

EXPORT_STATUSES = ("valid", "revoked", "expired")
"""``--status`` of export: revoked (whatever the dates), else expired (notAfter passed),
else valid."""

_SUBJECT_ID = re.compile(r"[A-Za-z0-9 '()+,\-./:=?]{1,64}")
"""X.520 serialNumber: a PrintableString of at most 64 characters (ub-serial-number)."""


def record_json(record: CertificateRecord) -> dict[str, object]:
    """The JSON of one record, as ``list --json`` and ``show --json`` print it."""
    return {
        "serial": format_serial(record.serial),
        "status": record.status.value,
        "profile": record.profile,
        "subject": record.subject,
        "sans": list(record.sans),
        "not_before": record.not_before.isoformat(),
        "not_after": record.not_after.isoformat(),
        "issued_at": record.issued_at.isoformat(),
        "revocation_time": record.revocation_time and record.revocation_time.isoformat(),
        "revocation_reason": record.revocation_reason and record.revocation_reason.name,
        "invalidity_date": record.invalidity_date and record.invalidity_date.isoformat(),
    }


def _echo_chunks(lines: Iterable[str]) -> None:
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) >= _CHUNK:
            click.echo("\n".join(chunk))
            chunk.clear()
    if chunk:
        click.echo("\n".join(chunk))


def _json_array(records: Iterator[CertificateRecord]) -> Iterator[str]:
    """The lines ``json.dumps(list, indent=2)`` would print, one record at a time."""
    first = next(records, None)
    if first is None:
        yield "[]"
        return
    yield "["
    record: CertificateRecord | None = first
    while record is not None:
        following = next(records, None)
        text = json.dumps(record_json(record), indent=2)
        lines = ["  " + line for line in text.splitlines()]
        if following is not None:
            lines[-1] += ","
        yield from lines
        record = following
    yield "]"


@click.command("list")
@ca_option
@click.option(
    "--status", type=click.Choice([s.value for s in CertStatus]), help="Only this status."
)
@json_option
def list_(ca_dir: Path, status: str | None, as_json: bool) -> None:
    """List the certificates this CA issued, oldest first."""
    from ._json import mark_json_printed

    query = RecordQuery(status=CertStatus(status) if status else None)
    with CertificateAuthority.open(ca_dir) as ca:
        records = ca.list(query, der=False)
        if as_json:
            _echo_chunks(_json_array(records))
            mark_json_printed()
            return
        # The column is as wide as the widest serial listed: the highest one's.
        highest = ca.store.highest_serial(ca.id, query)
        width = 6 if highest is None else len(format_serial(highest))
        click.echo(f"{'SERIAL':<{width}}  STATUS   EXPIRES     {'PROFILE':<19}  SUBJECT")
        _echo_chunks(
            f"{format_serial(record.serial):<{width}}  {record.status.value:<7}  "
            f"{record.not_after:%Y-%m-%d}  {record.profile:<19}  "
            f"{record.subject or ', '.join(record.sans)}"
            for record in records
        )


def _query(
    ca: CertificateAuthority,
    status: str | None,
    profile: str | None,
    subject_id: str | None,
    issued_after: str | None,
    issued_before: str | None,
) -> RecordQuery:
    """The store query of export's filters, each checked and named in its error."""
    after = parse_time(issued_after, option="--issued-after") if issued_after else None
    before = parse_time(issued_before, option="--issued-before") if issued_before else None
    if after is not None and before is not None and after >= before:
        raise InputError(
            f"--issued-after {issued_after!r}: must be earlier than --issued-before "
            f"{issued_before!r} (the range is [after, before))"
        )
    if subject_id is not None and not _SUBJECT_ID.fullmatch(subject_id):
        raise InputError(
            f"--subject-id {subject_id!r}: a subject serialNumber is 1 to 64 PrintableString "
            "characters (X.520), such as PNOEX-19800101-1234"
        )
    if profile is not None and profile not in ca.config.profiles:
        # A profile dropped from the configuration may still have records.
        if next(ca.list(RecordQuery(profile=profile), der=False), None) is None:
            known = ", ".join(sorted(ca.config.profiles))
            raise InputError(
                f"--profile {profile!r}: not a profile of this CA and no certificate was "
                f"issued under it (profiles: {known})"
            )
    now = ca.clock.now()
    by_status = {
        None: RecordQuery(),
        "revoked": RecordQuery(status=CertStatus.REVOKED),
        "expired": RecordQuery(status=CertStatus.VALID, expires_before=now),
        "valid": RecordQuery(status=CertStatus.VALID, expires_from=now),
    }[status]
    return RecordQuery(
        status=by_status.status,
        expires_before=by_status.expires_before,
        expires_from=by_status.expires_from,
        profile=profile,
        subject_id=subject_id,
        issued_after=after,
        issued_before=before,
    )


def _pem(record: CertificateRecord) -> bytes:
    return pem_encode("CERTIFICATE", record.der)


def _jsonl(record: CertificateRecord) -> bytes:
    document = {
        **record_json(record),
        "subject_id": record.subject_id,
        "pem": pem_encode("CERTIFICATE", record.der).decode(),
    }
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


def _write(
    records: Iterator[CertificateRecord],
    encode: Callable[[CertificateRecord], bytes],
    out: BinaryIO,
) -> int:
    count = 0
    chunk: list[bytes] = []
    for record in records:
        chunk.append(encode(record))
        count += 1
        if len(chunk) >= _CHUNK:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    return count


@click.command("export")
@ca_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["pem", "jsonl"]),
    default="pem",
    show_default=True,
    help="A PEM bundle, or JSON lines (one record a line, with its PEM; schema: "
    "docs/schemas/export.schema.json).",
)
@click.option(
    "--status",
    type=click.Choice(EXPORT_STATUSES),
    help="revoked; expired (notAfter passed, not revoked); valid (neither).",
)
@click.option("--profile", shell_complete=complete_profile, help="Only this profile.")
@click.option(
    "--subject-id",
    help="Only this subject serialNumber attribute, such as PNOEX-19800101-1234.",
)
@click.option(
    "--issued-after",
    metavar="TIME",
    help="Issued at or after this ISO 8601 time (UTC if no zone).",
)
@click.option(
    "--issued-before",
    metavar="TIME",
    help="Issued before this ISO 8601 time (UTC if no zone).",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here, whole or not at all (default: standard output).",
)
def export(
    ca_dir: Path,
    output_format: str,
    status: str | None,
    profile: str | None,
    subject_id: str | None,
    issued_after: str | None,
    issued_before: str | None,
    out: Path | None,
) -> None:
    """Export the certificates this CA issued, oldest first, streamed.

    Memory stays that of one page of records however many are exported.
    """
    encode = _pem if output_format == "pem" else _jsonl
    with CertificateAuthority.open(ca_dir) as ca:
        query = _query(ca, status, profile, subject_id, issued_after, issued_before)
        records = ca.list(query, der=True)
        if out is None or str(out) == "-":
            count = _write(records, encode, click.get_binary_stream("stdout"))
        else:
            # A failed export leaves no partial file (an OSError is reported by the CLI).
            with atomic_writer(out) as handle:
                count = _write(records, encode, handle)
    click.echo(f"exported {count} certificates", err=True)
