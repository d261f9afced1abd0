"""The CLI reference, generated from the click definitions themselves.

``python -m trustkit.cli.reference > docs/cli.md`` writes it; a test checks
that the file in the repository is what this module makes, so the reference
cannot drift from the commands.
"""

from __future__ import annotations

import inspect
import textwrap

import click

from . import cli
from ._examples import EXAMPLES

__all__ = ["render"]


def _option_line(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        return f"- `{param.human_readable_name}` (argument{'' if param.required else ', optional'})"
    assert isinstance(param, click.Option)
    names = ", ".join(f"`{n}`" for n in (*param.opts, *param.secondary_opts))
    parts = [f"- {names}"]
    if isinstance(param.type, click.Choice):
        parts.append(f"one of {', '.join(f'`{c}`' for c in param.type.choices)}")
    if param.required:
        parts.append("required")
    if param.multiple:
        parts.append("repeatable")
    help_text = " ".join((param.help or "").split())
    line = parts[0] + (f" ({'; '.join(parts[1:])})" if len(parts) > 1 else "")
    return f"{line}: {help_text}" if help_text else line


def _paragraph(text: str) -> list[str]:
    """A help paragraph as Markdown: prose on one line; a ``\\b`` block (click's mark for
    "keep these lines") as a heading line and a code block, as examples are written."""
    if not text.startswith("\b"):
        return [" ".join(text.split())]
    body = text.split("\n")[1:]
    head = [body.pop(0).strip()] if body and body[0].rstrip().endswith(":") else []
    code = textwrap.dedent("\n".join(body)).strip("\n")
    return ["", *head, "", "```sh", code, "```"] if head else ["", "```sh", code, "```"]


def _command(name: str, command: click.Command, ctx: click.Context, depth: int) -> list[str]:
    lines = [f"{'#' * depth} `trustkit {name}`", ""]
    sub_ctx = click.Context(command, info_name=name.split()[-1], parent=ctx)
    lines.append(f"```\n{command.get_usage(sub_ctx).replace('Usage: ', '')}\n```")
    lines.append("")
    if command.help:
        for paragraph in inspect.cleandoc(command.help).split("\n\n"):
            lines.extend(_paragraph(paragraph))
        lines.append("")
    examples = EXAMPLES.get(name, ())
    if examples:
        lines.extend(["Examples:", "", "```sh", *examples, "```", ""])
    params = [p for p in command.params if not (isinstance(p, click.Option) and p.hidden)]
    if params:
        lines.extend(_option_line(p) for p in params)
        lines.append("")
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(sub_ctx):
            sub = command.get_command(sub_ctx, sub_name)
            if sub is not None:
                lines.extend(_command(f"{name} {sub_name}", sub, sub_ctx, depth + 1))
    return lines


_CERTIFICATE_BUNDLES = [
    "Certificates and their chains: every `--cert FILE` (`sign`, `export-p12`) is read",
    "the same way. The first certificate in FILE (PEM or DER) is the end entity;",
    "certificates after it are its chain; `--chain FILE` adds more (a certificate given",
    "twice is kept once). When FILE holds the end entity alone and `NAME-chain.pem`",
    "lies beside `NAME.pem` (as `pki apply` writes it, or `issue --fullchain` output",
    "saved under that name) and starts with the same certificate, its other",
    "certificates are the chain. The chain is embedded in signatures and PKCS#12",
    "files, so the other end needs only the root.",
    "",
]


_JSON_OUTPUT = [
    "JSON output: a command's `--json` prints JSON on standard output on success and on",
    "a negative answer alike (the one-line message still goes to stderr, with exit",
    "status 1). Each command's output is described by `docs/schemas/COMMAND.schema.json`",
    "(JSON Schema 2020-12). `validate --json` prints the same report for a refused path",
    'as for a valid one, with `"valid": false` and an `error` naming the certificate at',
    'fault by its `index` in `path`; the other commands print `{"error": {"kind":',
    '..., "message": ...}}`, where `kind` is the error class of `trustkit.errors`.',
    "",
]


def render() -> str:
    """The whole reference as Markdown."""
    ctx = click.Context(cli, info_name="trustkit")
    lines = [
        "# CLI reference",
        "",
        "Generated from the click definitions by `python -m trustkit.cli.reference`;",
        "`tests/cli/test_reference.py` fails when this file and the commands disagree.",
        "",
        "Exit status: 0 success; 1 a negative answer (invalid, revoked, policy violation,",
        "bad input) with a one-line reason on stderr; 2 a usage error. The reason names the",
        "object, the field and the rule in plain words; the global option `--debug` (before",
        "the command) adds the parser's own words and the traceback. When the reader of",
        "standard output goes away (`trustkit inspect big.crl | head -1`), a command ends",
        "quietly with 141 (128 + SIGPIPE), as a Unix tool that SIGPIPE ended does.",
        "",
        "Passphrases come from `--passphrase-file FILE` (its first line), then",
        "`$TRUSTKIT_PASSPHRASE`, then a prompt that does not echo. A prompt needs a",
        "terminal: when standard input is not one (a pipe, cron, CI) and neither source",
        "is given, the command prints one line naming them and exits 1. A command that",
        "also makes a new key (`subca`, `tsa init`, `export-p12`) takes that key's",
        "passphrase from its own option (`--new-passphrase-file`, `--p12-passphrase-file`),",
        "then `$TRUSTKIT_NEW_PASSPHRASE`, then `$TRUSTKIT_PASSPHRASE`, then a prompt;",
        "`--passphrase-file` never serves the new key unless the same file is given to",
        "both options.",
        "",
        "Input files (certificates, CSRs, CRLs, keys, signatures, OCSP messages) are read up",
        "to 16 MiB each; `$TRUSTKIT_MAX_INPUT` sets another limit (bytes, or with a K, M or",
        "G suffix). A larger file is refused with a one-line message naming the limit.",
        "",
        *_CERTIFICATE_BUNDLES,
        *_JSON_OUTPUT,
    ]
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        if command is not None:
            lines.extend(_command(name, command, ctx, 2))
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    click.echo(render(), nl=False)
