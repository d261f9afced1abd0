"""``trustkit lint FILE...``: pkilint's validators on certificates, CRLs and OCSP responses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..lint import Finding, LintReport, Severity, lint_file_data
from ._common import echo_json, json_option, read_input

DEFAULT_SEVERITY = Severity.WARNING
"""Findings of this severity or worse are shown and make the exit status 1."""


def _line(report: LintReport, finding: Finding) -> str:
    text = f"{report.source}: {finding.severity.name} {finding.code} at {finding.node}"
    return f"{text}: {' '.join(finding.message.split())}" if finding.message else text


def _as_json(report: LintReport, threshold: Severity) -> dict[str, Any]:
    return {
        "file": report.source,
        "kind": report.kind,
        "linter": report.linter,
        "profile": report.profile,
        "findings": [
            {
                "severity": f.severity.name,
                "code": f.code,
                "message": f.message,
                "node": f.node,
                "validator": f.validator,
            }
            for f in report.at_least(threshold)
        ],
    }


@click.command("lint")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--severity",
    type=click.Choice([s.name for s in Severity], case_sensitive=False),
    default=DEFAULT_SEVERITY.name,
    show_default=True,
    help="Show findings of this severity or worse; any makes the exit status 1.",
)
@json_option
def lint(files: tuple[Path, ...], severity: str, as_json: bool) -> None:
    """Check certificates, CRLs and OCSP responses against their profiles with pkilint.

    Each object gets the linter that fits it: ETSI EN 319 412 for qualified
    and seal certificates (ETSI policies or QCStatements), the CA/Browser
    Forum TLS Baseline Requirements for TLS server certificates, RFC 5280 for
    other certificates and for CRLs, RFC 6960 for OCSP responses. One line
    per finding: FILE: SEVERITY code at NODE: message. Exit status 1 when any
    finding is at --severity or worse. Needs the `lint` extra (pkilint).

    \b
    Examples:
      trustkit lint www.pem
      trustkit lint --severity NOTICE --json alice-signature-chain.pem ca.crl
    """
    threshold = Severity[severity.upper()]
    reports = [
        report for path in files for report in lint_file_data(read_input(path), source=str(path))
    ]
    found = any(report.at_least(threshold) for report in reports)
    if as_json:
        echo_json(
            {
                "severity": threshold.name,
                "clean": not found,
                "reports": [_as_json(r, threshold) for r in reports],
            }
        )
    else:
        for report in reports:
            for finding in report.at_least(threshold):
                click.echo(_line(report, finding))
        summary = ", ".join(
            f"{r.source}: {r.linter}" + (f" as {r.profile}" if r.profile else "") for r in reports
        )
        click.echo(
            f"{'findings' if found else 'no findings'} at {threshold.name} or worse ({summary})",
            err=True,
        )
    if found:
        click.get_current_context().exit(1)
