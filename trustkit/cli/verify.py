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
from ..validation import RevocationMode, ValidationPolicy
from ._common import echo_json, json_option, read_input


def _describe(report: SignerReport) -> str:
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
        lines.append(
            f"  revocation {evidence.subject}: {evidence.status.value} ({evidence.source.value})"
        )
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
            raise
    if as_json:
        echo_json({"valid": True, "signers": [r.to_dict() for r in reports]})
    else:
        click.echo("\n".join(_describe(r) for r in reports))
