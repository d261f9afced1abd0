"""``trustkit key generate``, ``trustkit csr create`` and ``trustkit inspect``."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from .._files import PRIVATE_MODE
from ..csr import create_csr
from ..encoding import pem_encode
from ..errors import PassphraseError
from ..inspection import inspect_bytes, render_text
from ..keys import DEFAULT_LEAF_KEY_TYPE, KeyType, generate_key, load_private_key
from ..keys import serialize_private_key as _serialize
from ..names import parse_general_names, parse_name
from ._common import (
    echo_json,
    json_option,
    lazy_passphrase,
    passphrase,
    passphrase_file_option,
    read_input,
    write_output,
)


@click.group("key")
def key() -> None:
    """Private keys."""


@key.command("generate")
@click.option(
    "--type",
    "key_type",
    type=click.Choice([k.value for k in KeyType]),
    default=DEFAULT_LEAF_KEY_TYPE.value,
    show_default=True,
)
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--no-encrypt",
    is_flag=True,
    help="Write the key unencrypted (still mode 0600), e.g. for a TLS server.",
)
@passphrase_file_option
def generate(key_type: str, out: Path, no_encrypt: bool, passphrase_file: Path | None) -> None:
    """Generate a private key, encrypted PKCS#8 PEM with mode 0600."""
    secret = (
        None
        if no_encrypt
        else passphrase(passphrase_file, prompt="Passphrase for the new key", confirm=True)
    )
    private_key = generate_key(key_type)
    write_output(out, _serialize(private_key, secret), mode=PRIVATE_MODE)
    click.echo(f"generated {key_type} key -> {out}", err=True)


@click.group("csr")
def csr() -> None:
    """Certificate signing requests."""


@csr.command("create")
@click.option(
    "--key", "key_path", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option("--subject", default="", help='RFC 4514 name, e.g. "CN=www.example.gov".')
@click.option("--san", "sans", multiple=True, help="dns:NAME, ip:ADDR, email:ADDR, uri:URI")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: stdout).",
)
@passphrase_file_option
def create(
    key_path: Path,
    subject: str,
    sans: tuple[str, ...],
    out: Path | None,
    passphrase_file: Path | None,
) -> None:
    """Create a PKCS#10 request signed by the key."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    data = read_input(key_path)
    try:
        private_key = load_private_key(data, None)
    except PassphraseError:
        secret = passphrase(passphrase_file, prompt=f"Passphrase for {key_path}")
        private_key = load_private_key(data, secret)
    name = parse_name(subject) if subject else x509.Name([])
    request = create_csr(private_key, name, parse_general_names(sans))
    write_output(out, pem_encode("CERTIFICATE REQUEST", request.public_bytes(Encoding.DER)))


@click.command("inspect")
@click.argument(
    "file", type=click.Path(dir_okay=False, exists=True, allow_dash=True, path_type=Path)
)
@json_option
@passphrase_file_option
def inspect(file: Path, as_json: bool, passphrase_file: Path | None) -> None:
    """Describe a certificate, CSR, CRL, key, OCSP, CMS, RFC 3161 or PKCS#12 object.

    PEM or DER. Well-known object identifiers are named beside the number.

    A PKCS#12 file's passphrase comes from --passphrase-file, $TRUSTKIT_PASSPHRASE or a
    prompt, asked for only when the file is one.
    """
    data = read_input(file)
    what = "standard input" if str(file) == "-" else str(file)
    described = inspect_bytes(
        data,
        what=what,
        passphrase=lazy_passphrase(passphrase_file, prompt=f"Passphrase for {what}"),
    )
    if as_json:
        echo_json([asdict(d) for d in described])
    else:
        click.echo(render_text(described))
