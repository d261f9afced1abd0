"""``trustkit demo [DIR]``: the Republic of Example's PKI, end to end, in seconds."""

from __future__ import annotations

import os
import time
from pathlib import Path

import click

from ..demo import run_demo


@click.command("demo")
@click.argument("directory", default="demo-pki", type=click.Path(file_okay=False, path_type=Path))
def demo(directory: Path) -> None:
    """Build the demo national PKI in DIRECTORY (default: demo-pki) and walk through it.

    Safe to run again: existing keys and certificates are kept.
    """
    started = time.perf_counter()
    given = os.environ.get("TRUSTKIT_PASSPHRASE")
    result = run_demo(directory, passphrase=given.encode() if given else None)
    elapsed = time.perf_counter() - started
    out = result.out
    echo = click.echo
    echo(f"Republic of Example PKI in {out}/ ({elapsed:.1f} s)")
    echo("")
    for line in result.applied.added:
        echo(f"  + {line}")
    if result.applied.kept:
        echo(f"  = {len(result.applied.kept)} CAs and certificates already there, kept")
    echo(f"  + CRLs published in {out}/public/crl/ (as http://pki.example.gov/crl/...)")
    echo(f"    OCSP responder certificate {out}/citizen-ca/ocsp-signer.pem (renewed when due)")
    tsa_mark = "+" if result.tsa_created else "="
    tsa_note = "" if result.tsa_created else ", kept"
    echo(f"  {tsa_mark} time-stamping authority in {out}/tsa/{tsa_note}")
    echo("")
    key_note = "from $TRUSTKIT_PASSPHRASE" if given else f"in {result.passphrase_file} (mode 0600)"
    echo(f"CA and citizen keys are encrypted with the passphrase {key_note}.")
    echo("Citizens' PKCS#12 files (import into a browser for e-service login):")
    for name, secret in result.p12_passphrases.items():
        note = "  (was missing: made again, NEW passphrase)" if name in result.p12_remade else ""
        echo(f"  {out}/certs/{name}.p12  passphrase: {secret}{note}")
    echo("  carol's certificate is revoked (keyCompromise).")
    echo("")
    echo(f"Signed {result.document} -> {result.signature}")
    for report in result.signers:
        stamp = (
            report.timestamp.time.isoformat()
            if report.timestamp and report.timestamp.time
            else "none"
        )
        echo(f"  signer:    {report.subject}")
        echo(f"  signed at: {report.signing_time.isoformat() if report.signing_time else '-'}")
        echo(f"  timestamp: {stamp}")
        echo(f"  valid:     {'yes' if report.valid else 'NO'}")
    echo("")
    echo("Next, try:")
    secret_option = "" if given else f" --passphrase-file {result.passphrase_file}"
    echo(f"  trustkit serve --ca {out} --tsa {out}/tsa{secret_option}")
    echo("      # OCSP, CRLs and CA certificates of every CA, and the TSA, on 127.0.0.1:8080")
    echo(f"  trustkit list --ca {out}/citizen-ca")
    echo(
        f"  trustkit verify {result.document} --signature {result.signature} "
        f"--trust {out}/root/ca.pem"
    )
    echo(
        f"  trustkit validate {out}/certs/carol.pem --trust {out}/root/ca.pem "
        f"--untrusted {out}/certs/carol-chain.pem --crl {out}/public/crl/citizen-ca.crl "
        "--purpose citizen-auth"
    )
    echo(f"  trustkit inspect {out}/certs/alice.pem")
