"""``trustkit completion SHELL``: the shell completion script, as click writes it."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")
COMPLETE_VAR = "_TRUSTKIT_COMPLETE"
"""The variable through which the completion script asks ``trustkit`` for candidates."""


@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
def completion(shell: str) -> None:
    """Print the completion script for SHELL: commands, options, choices, files and the
    profile names of the CA in --ca (or $TRUSTKIT_CA) complete.

    \b
    Examples:
      eval "$(trustkit completion bash)"          # in ~/.bashrc
      eval "$(trustkit completion zsh)"           # in ~/.zshrc
      trustkit completion fish > ~/.config/fish/completions/trustkit.fish
    """
    from click.shell_completion import get_completion_class

    from . import cli

    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one click knows
    click.echo(completer(cli, {}, "trustkit", COMPLETE_VAR).source())
