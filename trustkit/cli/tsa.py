"""``trustkit tsa``: set up an RFC 3161 time-stamp authority directory."""

from __future__ import annotations

from pathlib import Path

import click

from ..ca import CertificateAuthority
from ..keys import KeyType
from ..tsa import DEFAULT_POLICY, TimestampAuthority
from ._common import (
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    ca_option,
    passphrase,
    passphrase_file_option,
)


@click.group("tsa")
def tsa() -> None:
    """Time-stamp authority (RFC 3161) administration."""


@tsa.command("init")
@ca_option
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new TSA directory.",
)
@click.option(
    "--subject",
    default="CN=Time-Stamping Authority,O=trustkit",
    show_default=True,
    help="TSA certificate subject (CN and O required).",
)
@click.option(
    "--key-type",
    type=click.Choice([k.value for k in KeyType]),
    default=KeyType.EC_P256.value,
    show_default=True,
)
@click.option(
    "--days", type=click.IntRange(1), help="Certificate validity (default: the profile's)."
)
@click.option("--policy", default=DEFAULT_POLICY, show_default=True, help="TSA policy OID.")
@passphrase_file_option
@click.option(
    "--new-passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=f"Passphrase for the TSA key (else ${NEW_PASSPHRASE_ENV}, ${PASSPHRASE_ENV}, "
    "a prompt). --passphrase-file is the CA's only: to protect the TSA key with the same "
    "passphrase, give the same file here too.",
)
def init(
    ca_dir: Path,
    out_dir: Path,
    subject: str,
    key_type: str,
    days: int | None,
    policy: str,
    passphrase_file: Path | None,
    new_passphrase_file: Path | None,
) -> None:
    """Issue a `timestamping` certificate from the CA and write a TSA directory."""
    ca_secret = passphrase(passphrase_file, prompt="Passphrase for the CA key")
    tsa_secret = passphrase(
        new_passphrase_file,
        prompt="Passphrase for the TSA key",
        env=NEW_PASSPHRASE_ENV,
        fallback_env=PASSPHRASE_ENV,
        confirm=True,
        option="--new-passphrase-file",
    )
    with CertificateAuthority.open(ca_dir, passphrase=ca_secret) as ca:
        authority = TimestampAuthority.create(
            ca,
            out_dir,
            subject=subject,
            passphrase=tsa_secret,
            key_type=key_type,
            days=days,
            policy=policy,
        )
    serial = authority.certificate.serial_number
    authority.close()
    click.echo(f"TSA {subject} in {out_dir} (certificate serial {serial:X})")
