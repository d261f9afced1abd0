"""``trustkit verify``: check a CMS signature, its timestamp and the signer's path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click

from ..clock import SystemClock, utc
from ..cms.verify import SignerReport, verify_cms
from ..encoding import load_certificates, load_crl, read_blocks
from ..errors import InvalidSignatureError
from ..validation import RevocationEvidence, RevocationMode, RevocationStatus, ValidationPolicy
from ._common import echo_json, json_option, read_input


def _revocation_text(evidence: RevocationEvidence, report: SignerReport, crls_given: int) -> str:
    """What decided the certificate's revocation status, in one line."""
    status = evidence.status
    first = evidence.decided_by[0].describe() if evidence.decided_by else evidence.detail
    if status is RevocationStatus.REVOKED:
        assert evidence.revocation_time is not None
        return (
            f"REVOKED at {evidence.revocation_time.isoformat()}"
            f" reason {evidence.reason or 'unspecified'}, at or before the"
            f" {report.validation_time_source.value} {report.validation_time.isoformat()}"
            f" (decided by {first})"
        )
    if status is RevocationStatus.GOOD:
        text = f"good at {report.validation_time.isoformat()} (decided by {first})"
        if evidence.revocation_time is not None:
            text += (
                f"; revoked later, at {evidence.revocation_time.isoformat()} reason"
                f" {evidence.reason or 'unspecified'}: after the"
                f" {report.validation_time_source.value}, so the signature stands"
            )
        return text
    if status is RevocationStatus.UNKNOWN:
        text = f"unknown: {evidence.detail}"
        if crls_given and not evidence.findings:
            text += f" ({crls_given} CRL(s) given, none for this certificate)"
        return text
    return f"{status.value}: {evidence.detail}"


def _describe(report: SignerReport, crls_given: int = 0) -> str:
    when = report.signing_time.isoformat() if report.signing_time else "no signing-time"
    lines = [
        f"signer {report.index}: {'VALID' if report.valid else 'INVALID'}  {report.subject}",
        f"  issuer {report.issuer}",
        f"  signing-time {when} (claimed by the signer)",
    ]
    if report.timestamp is not None:
        lines.append(f"  timestamp {report.timestamp.detail}")
    lines.append(f"  algorithms {report.digest_algorithm}, {report.signature_algorithm}")
    lines.append(
        f"  path validated at {report.validation_time.isoformat()} "
        f"({report.validation_time_source.value})"
    )
    for evidence in report.revocation:
        text = _revocation_text(evidence, report, crls_given)
        lines.append(f"  revocation {evidence.subject}: {text}")
    for check in report.checks:
        detail = f" ({check.detail})" if check.detail else ""
        lines.append(f"  {check.name.value}: {check.outcome.value}{detail}")
    return "\n".join(lines)


@contextlib.contextmanager
def _content(path: Path | None) -> Iterator[BinaryIO | None]:
    if path is None:
        yield None
        return
    with path.open("rb") as stream:
        yield stream


def _parse_at(text: str | None) -> datetime:
    if text is None:
        return SystemClock().now()
    try:
        return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 time", param_hint="--at") from exc


@click.command("verify")
@click.argument(
    "file", required=False, type=click.Path(dir_okay=False, exists=True, path_type=Path)
)
@click.option(
    "--signature",
    "signature_path",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The CMS signature (PEM or DER).",
)
@click.option(
    "--trust",
    "trust_paths",
    required=True,
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Trust anchor certificates (repeatable).",
)
@click.option(
    "--untrusted",
    "untrusted_paths",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Further intermediate certificates.",
)
@click.option(
    "--crl",
    "crl_paths",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CRLs for revocation checking.",
)
@click.option(
    "--revocation",
    type=click.Choice([m.value for m in RevocationMode]),
    default=RevocationMode.SOFT_FAIL.value,
    show_default=True,
)
@click.option("--at", "at_text", help="Verification time, ISO 8601 (default now).")
@json_option
def verify_command(
    file: Path | None,
    signature_path: Path,
    trust_paths: tuple[Path, ...],
    untrusted_paths: tuple[Path, ...],
    crl_paths: tuple[Path, ...],
    revocation: str,
    at_text: str | None,
    as_json: bool,
) -> None:
    """Verify the signature of FILE (leave FILE out for an attached signature)."""
    anchors = [c for p in trust_paths for c in load_certificates(read_input(p), what=str(p))]
    pool = [c for p in untrusted_paths for c in load_certificates(read_input(p), what=str(p))]
    crls = [
        load_crl(block.der, what=str(p))
        for p in crl_paths
        for block in read_blocks(read_input(p), what=str(p))
    ]
    policy = ValidationPolicy(revocation=RevocationMode(revocation))
    with _content(file) as content:
        try:
            reports = verify_cms(
                content,
                read_input(signature_path),
                trust_anchors=anchors,
                intermediates=pool,
                at=_parse_at(at_text),
                crls=crls,
                policy=policy,
            )
        except InvalidSignatureError as exc:
            if as_json:
                echo_json(
                    {
                        "valid": False,
                        "signers": [
                            r.to_dict() for r in exc.reports if isinstance(r, SignerReport)
                        ],
                    }
                )
            else:
                # Which evidence decided, beside the one-line reason on stderr.
                failed = [r for r in exc.reports if isinstance(r, SignerReport)]
                click.echo("\n".join(_describe(r, len(crls)) for r in failed))
            raise
    if as_json:
        echo_json({"valid": True, "signers": [r.to_dict() for r in reports]})
    else:
        click.echo("\n".join(_describe(r, len(crls)) for r in reports))
