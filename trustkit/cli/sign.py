"""``trustkit sign``: a CAdES signature (CMS, RFC 5652) of a file, optionally timestamped."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import click
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from ..bundles import load_certificate_bundle
from ..clock import SystemClock
from ..cms import DigestAlgorithm, RSAPadding, Signer, cosign, sign
from ..errors import PassphraseError
from ..keys import load_private_key
from ..names import format_name
from ..tsa import HttpTimestamper
from ._common import (
    lazy_pin,
    passphrase,
    passphrase_file_option,
    pin_file_option,
    read_input,
    write_output,
)

PROGRESS_THRESHOLD = 16 << 20
"""Files from this size on (16 MiB) get a progress bar on a terminal."""


@contextlib.contextmanager
def _progress(path: Path) -> Iterator[Callable[[int], None] | None]:
    size = path.stat().st_size
    if size < PROGRESS_THRESHOLD:
        yield None
        return
    with click.progressbar(length=size, label=f"hashing {path.name}", file=None) as bar:
        yield bar.update


@click.command("sign")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "--cert",
    "cert_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Signer certificate (PEM or DER), optionally followed by its chain; "
    "NAME-chain.pem beside NAME.pem is read too.",
)
@click.option(
    "--key",
    "key_ref",
    required=True,
    help="Signer private key: a file (PEM or DER, encrypted or not) or a pkcs11: URI.",
)
@click.option(
    "--chain",
    "chain_path",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="More issuing CA certificates to include (PEM bundle).",
)
@click.option("--tsa", "tsa_url", help="RFC 3161 TSA URL: add a signature timestamp (CAdES-T).")
@click.option("--attached", is_flag=True, help="Include the content in the signature.")
@click.option(
    "--hash",
    "hash_name",
    type=click.Choice([d.value for d in DigestAlgorithm]),
    help="Digest algorithm (default: matched to the key).",
)
@click.option("--pss", is_flag=True, help="RSA keys: sign with RSASSA-PSS instead of PKCS#1 v1.5.")
@click.option(
    "--cosign",
    "existing",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Add this signer to an existing signature of FILE.",
)
@click.option(
    "-o",
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the signature (DER).",
)
@passphrase_file_option
@pin_file_option
def sign_command(
    file: Path,
    cert_path: Path,
    key_ref: str,
    chain_path: Path | None,
    tsa_url: str | None,
    attached: bool,
    hash_name: str | None,
    pss: bool,
    existing: Path | None,
    out: Path,
    passphrase_file: Path | None,
    pin_file: Path | None,
) -> None:
    """Sign FILE: CMS SignedData with signing-certificate-v2 (CAdES B-B, B-T with --tsa).

    The signer's chain is embedded, so a verifier needs only the root: the
    certificates after the first in --cert, those in --chain, or NAME-chain.pem
    beside NAME.pem.

    With --key pkcs11:..., the signature is made on the token (the PIN from
    --pin-file, $TRUSTKIT_PKCS11_PIN or a prompt; the module from
    $TRUSTKIT_PKCS11_MODULE).
    """
    key: PrivateKeyTypes
    if key_ref.startswith("pkcs11:"):
        from ..pkcs11 import load_token_key

        key = load_token_key(key_ref, pin=lazy_pin(pin_file)())
    else:
        key_path = Path(key_ref)
        key_data = read_input(key_path)
        try:
            key = load_private_key(key_data, None, what=str(key_path))
        except PassphraseError:
            secret = passphrase(passphrase_file, prompt=f"Passphrase for {key_path}")
            key = load_private_key(key_data, secret, what=str(key_path))
    bundle = load_certificate_bundle(cert_path, chain_path)
    signer = Signer(
        key,
        bundle.certificate,
        bundle.chain,
        digest=DigestAlgorithm(hash_name) if hash_name else None,
        rsa_padding=RSAPadding.PSS if pss else RSAPadding.PKCS1V15,
    )
    timestamper = HttpTimestamper(tsa_url) if tsa_url else None
    now = SystemClock().now()
    with _progress(file) as progress, file.open("rb") as stream:
        if existing is not None:
            der = cosign(
                read_input(existing),
                stream,
                signer,
                at=now,
                timestamper=timestamper,
                progress=progress,
            )
        else:
            der = sign(
                stream,
                signer,
                at=now,
                attached=attached,
                timestamper=timestamper,
                progress=progress,
            )
    write_output(out, der)
    carried = f"{len(bundle.chain)} CA certificate{'' if len(bundle.chain) == 1 else 's'}"
    if bundle.chain_source is not None:
        carried += f" from {bundle.chain_source}"
    click.echo(
        f"signed {file} as {format_name(signer.certificate.subject)} with {carried} -> {out}",
        err=True,
    )
