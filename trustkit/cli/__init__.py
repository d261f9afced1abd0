"""The ``trustkit`` command line.

Each command lives in a module of this package and is imported only when it
runs, so ``trustkit --help`` and a single ``trustkit issue`` stay quick. A
command parses its arguments, calls one library function and prints; every
:class:`~trustkit.errors.TrustkitError` becomes a one-line message on stderr
and exit status 1, here and nowhere else.
"""

from __future__ import annotations

import importlib
import inspect
import os
import signal
import sys
from typing import Any

import click

from .. import __version__

# command name -> "module:attribute" inside trustkit.cli
_COMMANDS: dict[str, str] = {
    "init": "ca_cmds:init",
    "subca": "ca_cmds:subca",
    "issue": "ca_cmds:issue",
    "list": "listing:list_",
    "export": "listing:export",
    "show": "ca_cmds:show",
    "key": "key_cmds:key",
    "csr": "key_cmds:csr",
    "inspect": "key_cmds:inspect",
    "pki": "pki_cmds:pki",
    "export-p12": "pki_cmds:export_p12",
    "export-chain": "pki_cmds:export_chain",
    "demo": "demo:demo",
    "validate": "validate:validate",
    "sign": "sign:sign_command",
    "verify": "verify:verify_command",
    "tsa": "tsa:tsa",
    "revoke": "revoke:revoke",
    "crl": "crl:crl",
    "serve": "serve:serve",
    "lint": "lint:lint",
    "completion": "completion:completion",
}

EXIT_NEGATIVE = 1
"""Exit status for a negative answer: invalid, revoked, refused by policy, bad input."""

EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""Exit status when the reader of standard output went away (``trustkit show ... | head -1``):
what a shell reports for a Unix tool that SIGPIPE ended."""


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        spec = _COMMANDS.get(cmd_name)
        if spec is None:
            return super().get_command(ctx, cmd_name)
        module_name, _, attr = spec.partition(":")
        module = importlib.import_module(f"{__name__}.{module_name}")
        command = getattr(module, attr)
        assert isinstance(command, click.Command)
        from ._examples import add_examples

        add_examples(cmd_name, command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click cuts each description to one line ("Sign a new CRL; its number is one
        # more than any before..."); the whole first paragraph, wrapped, says what it does.
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, _summary(command)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        from ..errors import TrustkitError

        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # Python ignores SIGPIPE, so a closed pipe is an exception here rather than
            # a quiet end; the reader has what it wanted, so say nothing (the Python
            # documentation's "Note on SIGPIPE"). SIGPIPE is not restored to its default
            # instead: `trustkit serve` must outlive a client that hangs up.
            _discard_stdout()
            ctx.exit(EXIT_BROKEN_PIPE)
        except TrustkitError as exc:
            from ._json import echo_error_document
            from ._messages import user_message

            echo_error_document(ctx, exc)
            click.echo(f"trustkit: error: {user_message(str(exc))}", err=True)
            if ctx.meta.get(DEBUG):
                import traceback

                click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
            ctx.exit(EXIT_NEGATIVE)
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"trustkit: error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(EXIT_NEGATIVE)


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so the flush at exit finds no closed pipe."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (click's test runner)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _summary(command: click.Command) -> str:
    """The first paragraph of a command's help, on one line."""
    text = command.short_help or inspect.cleandoc(command.help or "")
    return " ".join(text.split("\n\n")[0].split())


DEBUG = "trustkit.debug"
"""Where ``--debug`` waits in the click context's ``meta``."""


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="trustkit")
@click.option(
    "--debug",
    is_flag=True,
    help="On an error, also print the parser's own words and the traceback.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """trustkit: a certificate authority, revocation, document signing and validation."""
    if debug:
        ctx.meta[DEBUG] = True


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="trustkit", standalone_mode=True))
