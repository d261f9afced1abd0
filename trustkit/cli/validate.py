"""``trustkit validate``: RFC 5280 path validation of a certificate from the shell."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from ..clock import SystemClock, utc
from ..encoding import format_serial, load_certificates, load_crl, load_ocsp_response
from ..names import format_name
from ..validation import (
    HttpFetcher,
    Purpose,
    RevocationMode,
    ValidationPolicy,
    ValidationResult,
)
from ..validation import validate as validate_path
from ._common import read_input


def _read(path: str) -> bytes:
    return read_input(Path(path))


def _certificates(path: str) -> list[x509.Certificate]:
    return load_certificates(_read(path), what=path)


def _load_ocsp(path: str) -> ocsp.OCSPResponse:
    return load_ocsp_response(_read(path), what=path)


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from exc


def _summary(result: ValidationResult) -> dict[str, object]:
    def oids(values: frozenset[x509.ObjectIdentifier]) -> list[str]:
        return sorted(o.dotted_string for o in values)

    last = len(result.path) - 1
    return {
        "valid": True,
        "path": [
            {
                "index": i,
                "subject": format_name(cert.subject),
                "issuer": format_name(cert.issuer),
                "serial": format_serial(cert.serial_number),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "sha256": cert.fingerprint(hashes.SHA256()).hex(),
                "trust_anchor": i == last,
            }
            for i, cert in enumerate(result.path)
        ],
        "authorities_constrained_policy_set": oids(result.authorities_constrained_policy_set),
        "user_constrained_policy_set": oids(result.user_constrained_policy_set),
        "revocation": [
            {
                "index": e.index,
                "subject": e.subject,
                "status": e.status.value,
                "source": e.source.value,
                "detail": e.detail,
                "this_update": e.this_update.isoformat() if e.this_update else None,
                "next_update": e.next_update.isoformat() if e.next_update else None,
            }
            for e in result.revocation
        ],
    }


@click.command("validate")
@click.argument("cert", type=click.Path(dir_okay=False))
@click.option(
    "--trust",
    "trust",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False),
    help="Trust anchor certificate(s), PEM or DER; repeatable.",
)
@click.option(
    "--untrusted",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="Untrusted intermediates (a PEM bundle or DER); repeatable.",
)
@click.option(
    "--purpose",
    type=click.Choice([p.value for p in Purpose]),
    default="any",
    show_default=True,
    help="What the certificate is to be used for.",
)
@click.option("--hostname", help="Host name or IP address to match (tls-server only).")
@click.option(
    "--crl",
    "crl_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="CRL file, PEM or DER; repeatable.",
)
@click.option(
    "--ocsp",
    "ocsp_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    help="OCSP response file, DER or PEM; repeatable.",
)
@click.option("--at", "at_text", help="Validation time, ISO 8601 (default: now).")
@click.option(
    "--revocation",
    type=click.Choice([m.value for m in RevocationMode]),
    default=RevocationMode.SOFT_FAIL.value,
    show_default=True,
    help="How missing revocation evidence is treated.",
)
@click.option(
    "--fetch", is_flag=True, help="Fetch CRLs, OCSP and issuers over http:// (off: offline)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def validate(
    cert: str,
    trust: tuple[str, ...],
    untrusted: tuple[str, ...],
    purpose: str,
    hostname: str | None,
    crl_files: tuple[str, ...],
    ocsp_files: tuple[str, ...],
    at_text: str | None,
    revocation: str,
    fetch: bool,
    as_json: bool,
) -> None:
    """Validate CERT against the trust anchors (RFC 5280 section 6)."""
    target = _certificates(cert)[0]
    anchors = [c for path in trust for c in _certificates(path)]
    pool = [c for path in untrusted for c in _certificates(path)]
    result = validate_path(
        target,
        trust_anchors=anchors,
        intermediates=pool,
        at=_parse_at(at_text),
        purpose=Purpose(purpose),
        hostname=hostname,
        crls=[load_crl(_read(path), what=path) for path in crl_files],
        ocsp_responses=[_load_ocsp(path) for path in ocsp_files],
        policy=ValidationPolicy(revocation=RevocationMode(revocation)),
        fetcher=HttpFetcher() if fetch else None,
    )
    summary = _summary(result)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"OK: {format_name(target.subject)} is valid for {purpose}")
    for element in summary["path"]:  # type: ignore[attr-defined]
        tag = " (trust anchor)" if element["trust_anchor"] else ""
        click.echo(f"  [{element['index']}] {element['subject']}{tag}")
    policies = summary["user_constrained_policy_set"] or ["none"]
    click.echo(f"policies: {', '.join(policies)}")  # type: ignore[arg-type]
    for e in result.revocation:
        click.echo(f"revocation [{e.index}]: {e.status.value} ({e.source.value}: {e.detail})")
