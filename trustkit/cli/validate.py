"""``trustkit validate``: RFC 5280 path validation of a certificate from the shell."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import click
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509 import ocsp

from ..clock import SystemClock, utc
from ..encoding import format_serial, load_certificates, load_crl, load_ocsp_response
from ..errors import RevokedError, ValidationError, ValidationLimitError
from ..names import format_name
from ..validation import (
    HttpFetcher,
    Purpose,
    RevocationMode,
    ValidationPolicy,
    ValidationResult,
)
from ..validation import validate as validate_path
from ._common import echo_json, json_option, read_input
from ._json import error_document


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


def _path_json(path: Sequence[x509.Certificate], *, complete: bool) -> list[dict[str, object]]:
    last = len(path) - 1
    return [
        {
            "index": i,
            "subject": format_name(cert.subject),
            "issuer": format_name(cert.issuer),
            "serial": format_serial(cert.serial_number),
            "not_after": cert.not_valid_after_utc.isoformat(),
            "sha256": cert.fingerprint(hashes.SHA256()).hex(),
            "trust_anchor": complete and i == last,
        }
        for i, cert in enumerate(path)
    ]


def _summary(
    target: x509.Certificate, purpose: str, at: datetime, result: ValidationResult
) -> dict[str, object]:
    def oids(values: frozenset[x509.ObjectIdentifier]) -> list[str]:
        return sorted(o.dotted_string for o in values)

    return {
        "valid": True,
        "subject": format_name(target.subject),
        "purpose": purpose,
        "at": at.isoformat(),
        "path": _path_json(result.path, complete=True),
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
        "error": None,
    }


def _refusal(
    target: x509.Certificate, purpose: str, at: datetime, exc: ValidationError
) -> dict[str, object]:
    """The same report as on success, for a path that was refused: the path as far as
    it was built (no trust anchor flagged when none was reached), and the error with
    the index of the certificate at fault."""
    path = [c for c in exc.path if isinstance(c, x509.Certificate)]
    error = error_document(exc)["error"]
    assert isinstance(error, dict)
    error["index"] = exc.index
    if isinstance(exc, RevokedError):
        error["serial"] = format_serial(exc.serial)
        error["revocation_time"] = exc.revocation_time.isoformat()
        error["reason"] = exc.reason
    if isinstance(exc, ValidationLimitError):
        error["limit"] = exc.limit
        error["value"] = exc.value
    return {
        "valid": False,
        "subject": format_name(target.subject),
        "purpose": purpose,
        "at": at.isoformat(),
        "path": _path_json(path, complete=False),
        "authorities_constrained_policy_set": [],
        "user_constrained_policy_set": [],
        "revocation": [],
        "error": error,
    }


def _echo_path(summary: dict[str, object], fault: int | None) -> None:
    for element in summary["path"]:  # type: ignore[attr-defined]
        tag = " (trust anchor)" if element["trust_anchor"] else ""
        if element["index"] == fault:
            tag += " <- refused here"
        click.echo(f"  [{element['index']}] {element['subject']}{tag}")


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
@json_option
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
    at = _parse_at(at_text)
    try:
        result = validate_path(
            target,
            trust_anchors=anchors,
            intermediates=pool,
            at=at,
            purpose=Purpose(purpose),
            hostname=hostname,
            crls=[load_crl(_read(path), what=path) for path in crl_files],
            ocsp_responses=[_load_ocsp(path) for path in ocsp_files],
            policy=ValidationPolicy(revocation=RevocationMode(revocation)),
            fetcher=HttpFetcher() if fetch else None,
        )
    except ValidationError as exc:
        # The report a success prints, for the refusal too; the error itself then
        # goes to stderr as one line, with exit status 1, from the CLI's handler.
        refused = _refusal(target, purpose, at, exc)
        if as_json:
            echo_json(refused)
        else:
            click.echo(f"INVALID: {refused['subject']} is not valid for {purpose}")
            _echo_path(refused, exc.index)
        raise
    summary = _summary(target, purpose, at, result)
    if as_json:
        echo_json(summary)
        return
    click.echo(f"OK: {summary['subject']} is valid for {purpose}")
    _echo_path(summary, None)
    policies = summary["user_constrained_policy_set"] or ["none"]
    click.echo(f"policies: {', '.join(policies)}")  # type: ignore[arg-type]
    for e in result.revocation:
        click.echo(f"revocation [{e.index}]: {e.status.value} ({e.source.value}: {e.detail})")
