"""``trustkit pki apply``, ``trustkit export-p12`` and ``trustkit export-chain``."""

from __future__ import annotations

from pathlib import Path

import click

from .._files import PRIVATE_MODE
from ..bundles import chain_pem, export_pkcs12, load_certificate_bundle
from ..ca import CertificateAuthority
from ..errors import InputError, PassphraseError
from ..keys import load_private_key
from ..pki import apply, load_spec
from ._common import (
    NEW_PASSPHRASE_ENV,
    PASSPHRASE_ENV,
    ca_option,
    passphrase,
    passphrase_file_option,
    read_input,
    write_output,
)


@click.group("pki")
def pki() -> None:
    """Whole hierarchies from a declarative spec."""


@pki.command("apply")
@click.argument("spec", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@passphrase_file_option
def apply_(spec: Path, out: Path, passphrase_file: Path | None) -> None:
    """Create what SPEC describes under --out; existing keys and certificates are kept."""
    parsed = load_spec(spec)
    if parsed.base_url is None and parsed.cas:
        click.echo(
            "warning: no [pki] base_url: the certificates these CAs issue will carry no CRL "
            "distribution point or OCSP URL (RFC 5280 4.2.1.13, 4.2.2.1), so relying parties "
            "cannot check their revocation",
            err=True,
        )
    secret = passphrase(passphrase_file, prompt="Passphrase for the PKI's keys", confirm=True)
    report = apply(parsed, out, passphrase=secret)
    for line in report.added:
        click.echo(f"added: {line}")
    for line in report.kept:
        click.echo(f"kept:  {line}")
    if not report.added:
        click.echo("nothing to add: the PKI already matches the spec")


@click.command("export-p12")
@click.option(
    "--cert",
    "cert_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
)
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--chain",
    "chain_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="More issuer certificates (PEM bundle), added to those after the first in --cert.",
)
@click.option("--name", "friendly_name", help="Friendly name shown by browsers.")
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@passphrase_file_option
@click.option(
    "--p12-passphrase-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help=f"PKCS#12 passphrase (else ${NEW_PASSPHRASE_ENV}, ${PASSPHRASE_ENV}, prompt).",
)
def export_p12(
    cert_path: Path,
    key_path: Path,
    chain_path: Path | None,
    friendly_name: str | None,
    out: Path,
    passphrase_file: Path | None,
    p12_passphrase_file: Path | None,
) -> None:
    """Bundle a certificate, its key and chain into a passphrase-protected PKCS#12 file."""
    bundle = load_certificate_bundle(cert_path, chain_path)
    data = read_input(key_path)
    try:
        key = load_private_key(data, None)
    except PassphraseError:
        key = load_private_key(
            data, passphrase(passphrase_file, prompt=f"Passphrase for {key_path}")
        )
    secret = passphrase(
        p12_passphrase_file,
        prompt="Passphrase for the PKCS#12 file",
        env=NEW_PASSPHRASE_ENV,
        fallback_env=PASSPHRASE_ENV,
        confirm=True,
        option="--p12-passphrase-file",
    )
    if len(secret) < 8:
        raise InputError("PKCS#12 passphrase: at least 8 characters")
    p12 = export_pkcs12(bundle.certificate, key, bundle.chain, secret, friendly_name=friendly_name)
    write_output(out, p12, mode=PRIVATE_MODE)
    click.echo(f"wrote {out} ({1 + len(bundle.chain)} certificates and the key)", err=True)


@click.command("export-chain")
@ca_option
@click.option("--root/--no-root", default=True, show_default=True, help="Include the root.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path))
def export_chain(ca_dir: Path, root: bool, out: Path | None) -> None:
    """Write the CA's certificate and its issuers as one PEM bundle."""
    with CertificateAuthority.open(ca_dir) as ca:
        chain = [ca.certificate, *ca.chain]
    if not root and len(chain) > 1:
        chain = chain[:-1]
    write_output(out, chain_pem(chain))
