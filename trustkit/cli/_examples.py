"""An example or two at the end of every help page (click's epilog).

They live here, one table for the whole CLI, and are given to each command as
it is loaded (:class:`~trustkit.cli.LazyGroup`), so ``trustkit COMMAND --help``
and docs/cli.md show the same lines, and the documentation test checks that
every command and option they use exists.
"""

from __future__ import annotations

import click

__all__ = ["EXAMPLES", "add_examples"]

EXAMPLES: dict[str, tuple[str, ...]] = {
    "init": (
        'trustkit init --ca root --subject "CN=Example Root CA,O=Example,C=EX" '
        "--base-url http://pki.example.gov",
    ),
    "subca": (
        'trustkit subca --ca root --out tls-ca --subject "CN=Example TLS CA,O=Example,C=EX" '
        "--permit dns:.example.gov",
    ),
    "issue": (
        "trustkit issue --ca tls-ca --csr www.csr --profile tls-server -o www.pem --fullchain",
        "trustkit issue --ca tls-ca --csr-dir requests/ --profile tls-client --out-dir issued/",
    ),
    "list": ("trustkit list --ca tls-ca --status revoked", "trustkit list --ca tls-ca --json"),
    "export": (
        "trustkit export --ca citizen-ca --status valid -o valid.pem",
        "trustkit export --ca citizen-ca --subject-id PNOEX-19800101-1234 --format jsonl",
        "trustkit export --ca tls-ca --profile tls-server --issued-after 2026-01-01 "
        "--issued-before 2026-02-01 --format jsonl -o january.jsonl",
    ),
    "show": ("trustkit show --ca tls-ca 1F2E3D --pem",),
    "revoke": ("trustkit revoke --ca tls-ca 1F2E3D --reason keyCompromise",),
    "crl": ("trustkit crl --ca tls-ca -o tls-ca.crl",),
    "key generate": (
        "trustkit key generate -o alice.key",
        "trustkit key generate --type rsa-3072 --no-encrypt -o www.key",
    ),
    "csr create": (
        'trustkit csr create --key www.key --subject "CN=www.example.gov" '
        "--san dns:www.example.gov -o www.csr",
    ),
    "inspect": (
        "trustkit inspect www.pem",
        "trustkit inspect alice.p12 --passphrase-file alice.pass --json",
    ),
    "export-p12": ("trustkit export-p12 --cert alice-chain.pem --key alice.key -o alice.p12",),
    "export-chain": ("trustkit export-chain --ca tls-ca --no-root -o chain.pem",),
    "pki apply": ("trustkit pki apply national-pki.toml --out pki/",),
    "demo": ("trustkit demo demo-pki",),
    "sign": (
        "trustkit sign form.pdf --cert alice-chain.pem --key alice.key -o form.pdf.p7s",
        "trustkit sign form.pdf --cert alice.pem --key alice.key --tsa http://tsa.example.gov/tsa "
        "--attached -o form.p7m",
    ),
    "verify": (
        "trustkit verify form.pdf --signature form.pdf.p7s --trust root.pem",
        "trustkit verify --signature form.p7m --trust root.pem --json",
    ),
    "validate": (
        "trustkit validate www.pem --trust root.pem --untrusted chain.pem --purpose tls-server "
        "--hostname www.example.gov",
        "trustkit validate alice.pem --trust root.pem --crl ca.crl --revocation hard-fail --json",
    ),
    "serve": ("trustkit serve --ca root --ca tls-ca --port 8080",),
    "tsa init": (
        'trustkit tsa init --ca root --out tsa --subject "CN=Example TSA,O=Example,C=EX"',
    ),
}
"""Command path (``"key generate"``) to example command lines."""


def _epilog(lines: tuple[str, ...]) -> str:
    # \b keeps click from re-wrapping the paragraph: one example a line, as typed.
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def add_examples(name: str, command: click.Command) -> None:
    """Give ``command`` (and a group's subcommands) its examples as epilog, once."""
    lines = EXAMPLES.get(name)
    if lines and command.epilog is None:
        command.epilog = _epilog(lines)
    if isinstance(command, click.Group):
        for sub_name, sub in command.commands.items():
            add_examples(f"{name} {sub_name}", sub)
