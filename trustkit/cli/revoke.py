"""``trustkit revoke``: mark a certificate revoked in the CA's store."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from cryptography import x509

from ..ca import CertificateAuthority
from ..clock import utc
from ..encoding import format_serial, parse_serial
from ..errors import InputError
from ._common import ca_option, echo_json, json_option

REASONS = {
    flag.value: flag for flag in x509.ReasonFlags if flag != x509.ReasonFlags.remove_from_crl
}
"""RFC 5280 5.3.1 reason names; removeFromCRL belongs to delta CRLs only."""


def parse_time(text: str, *, option: str) -> datetime:
    """An ISO 8601 time; without a zone it is taken as UTC."""
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise InputError(
            f"{option} {text!r}: expected ISO 8601, e.g. 2026-01-15T12:00:00Z"
        ) from None


@click.command("revoke")
@ca_option
@click.argument("serial")
@click.option(
    "--reason",
    type=click.Choice(sorted(REASONS)),
    default="unspecified",
    show_default=True,
    help="RFC 5280 reason code.",
)
@click.option("--invalidity-date", help="When the key was known or suspected to be compromised.")
@json_option
def revoke(
    ca_dir: Path, serial: str, reason: str, invalidity_date: str | None, as_json: bool
) -> None:
    """Revoke the certificate with SERIAL (hexadecimal, as OpenSSL prints it)."""
    number = parse_serial(serial)
    invalidity = (
        parse_time(invalidity_date, option="--invalidity-date") if invalidity_date else None
    )
    with CertificateAuthority.open(ca_dir) as ca:
        record = ca.revoke(number, REASONS[reason], invalidity_date=invalidity)
    assert record.revocation_time is not None
    if as_json:
        echo_json(
            {
                "serial": format_serial(record.serial),
                "revocation_time": record.revocation_time.isoformat(),
                "reason": reason,
                "invalidity_date": invalidity and invalidity.isoformat(),
            }
        )
    else:
        click.echo(
            f"revoked {format_serial(record.serial)} ({reason}) at "
            f"{record.revocation_time.isoformat()}"
        )
