"""``trustkit verify``: check a CMS signature, its timestamp and the signer's path."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import click

from .._files import write_atomic
from ..clock import SystemClock, utc
from ..cms.verify import SignerReport, attached_content, verify_cms
from ..encoding import load_certificates, load_crl, load_ocsp_response, read_blocks
from ..errors import InvalidSignatureError, SignatureError
from ..validation import (
    HttpFetcher,
    RevocationEvidence,
    RevocationMode,
    RevocationStatus,
    ValidationPolicy,
)
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


def _same_bytes(path: Path, expected: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``expected``, read in chunks so a
    hostile, much larger file is not loaded whole."""
    with path.open("rb") as stream:
        offset = 0
        while chunk := stream.read(1 << 16):
            if expected[offset : offset + len(chunk)] != chunk:
                return False
            offset += len(chunk)
    return offset == len(expected)


def _echo_failure(exc: InvalidSignatureError, crls_given: int, as_json: bool) -> None:
    failed = [r for r in exc.reports if isinstance(r, SignerReport)]
    if as_json:
        echo_json({"valid": False, "signers": [r.to_dict() for r in failed]})
    else:
        # Which evidence decided, beside the one-line reason on stderr.
        click.echo("\n".join(_describe(r, crls_given) for r in failed))


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
    "--ocsp",
    "ocsp_paths",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="OCSP response file, DER or PEM; repeatable.",
)
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
@click.option("--at", "at_text", help="Verification time, ISO 8601 (default now).")
@click.option(
    "--extract",
    "extract_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the attached content here, only when the signature verifies.",
)
@json_option
def verify_command(
    file: Path | None,
    signature_path: Path,
    trust_paths: tuple[Path, ...],
    untrusted_paths: tuple[Path, ...],
    crl_paths: tuple[Path, ...],
    ocsp_paths: tuple[Path, ...],
    revocation: str,
    fetch: bool,
    at_text: str | None,
    extract_path: Path | None,
    as_json: bool,
) -> None:
    """Verify the signature of FILE (leave FILE out for an attached signature).

    With an attached signature, a FILE given is compared with the content the
    signature carries: the signature holds only for those exact bytes.
    """
    anchors = [c for p in trust_paths for c in load_certificates(read_input(p), what=str(p))]
    pool = [c for p in untrusted_paths for c in load_certificates(read_input(p), what=str(p))]
    crls = [
        load_crl(block.der, what=str(p))
        for p in crl_paths
        for block in read_blocks(read_input(p), what=str(p))
    ]
    responses = [load_ocsp_response(read_input(p), what=str(p)) for p in ocsp_paths]
    signature = read_input(signature_path)
    embedded = attached_content(signature)
    if extract_path is not None and embedded is None:
        raise SignatureError("--extract: the signature is detached; it carries no content")
    policy = ValidationPolicy(revocation=RevocationMode(revocation))
    # An attached signature is verified over its own content; a FILE given beside it
    # is then held against those bytes (RFC 5652 5.2: eContent is what was signed).
    detached = file if embedded is None else None
    with _content(detached) as content:
        try:
            reports = verify_cms(
                content,
                signature,
                trust_anchors=anchors,
                intermediates=pool,
                at=_parse_at(at_text),
                crls=crls,
                ocsp_responses=responses,
                policy=policy,
                fetcher=HttpFetcher() if fetch else None,
            )
        except InvalidSignatureError as exc:
            _echo_failure(exc, len(crls), as_json)
            raise
    if embedded is not None and file is not None and not _same_bytes(file, embedded):
        mismatch = InvalidSignatureError(
            f"content: {file} differs from the content attached to the signature",
            failures=[f"content: {file} differs from the attached content"],
            reports=reports,
        )
        _echo_failure(mismatch, len(crls), as_json)
        raise mismatch
    if extract_path is not None:
        assert embedded is not None
        write_atomic(extract_path, embedded)
    if as_json:
        echo_json({"valid": True, "signers": [r.to_dict() for r in reports]})
    else:
        click.echo("\n".join(_describe(r, len(crls)) for r in reports))
