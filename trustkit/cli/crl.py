"""``trustkit crl``: make and sign a new CRL (complete, delta, or partitions)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import click

from ..ca import CertificateAuthority
from ..errors import InputError
from ..revocation.crl import PublishedCRL, build_crl, delta_crl_url
from ._common import ca_option, lazy_passphrase, passphrase_file_option, write_output


def _render(crl: PublishedCRL, der: bool) -> bytes:
    return crl.der if der else crl.pem()


def _file_name(ca: CertificateAuthority, shard: int | None, delta: bool) -> str:
    url = ca.config.effective_crl_url if shard is None else ca.crl_url(shard)
    name = Path(urlparse(url).path).name if url else ""
    if not name:
        name = f"{ca.config.name}.crl" if shard is None else f"{ca.config.name}-{shard}.crl"
    return delta_crl_url(name) if delta else name


@click.command("crl")
@ca_option
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Output file.")
@click.option("--der", is_flag=True, help="Write DER instead of PEM.")
@click.option("--delta", is_flag=True, help="A delta CRL over the last complete one.")
@click.option("--shard", type=click.IntRange(min=0), help="Only this CRL partition.")
@click.option("--all-shards", is_flag=True, help="The complete CRL and every partition.")
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), help="For --all-shards."
)
@passphrase_file_option
def crl(
    ca_dir: Path,
    out: Path | None,
    der: bool,
    delta: bool,
    shard: int | None,
    all_shards: bool,
    out_dir: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Sign a new CRL; its number is one more than any before (RFC 5280 5.2.3)."""
    if all_shards and (shard is not None or out is not None or out_dir is None):
        raise InputError("--all-shards: give --out-dir, and neither --shard nor -o")
    secret = lazy_passphrase(passphrase_file, prompt="Passphrase for the CA key")
    with CertificateAuthority.open(ca_dir, passphrase=secret) as ca:
        if not all_shards:
            published = build_crl(ca, at=ca.clock.now(), shard=shard, delta=delta)
            write_output(out, _render(published, der))
            if out is not None:
                click.echo(
                    f"{out}: CRL number {published.crl_number}, {published.entries} entries",
                    err=True,
                )
            return
        assert out_dir is not None
        out_dir.mkdir(parents=True, exist_ok=True)
        now = ca.clock.now()
        for scope in [None, *range(ca.config.crl_shards)]:
            published = build_crl(ca, at=now, shard=scope, delta=delta)
            target = out_dir / _file_name(ca, scope, delta)
            write_output(target, _render(published, der))
            click.echo(
                f"{target}: CRL number {published.crl_number}, {published.entries} entries",
                err=True,
            )
