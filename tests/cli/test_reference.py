"""docs/cli.md is generated from the click commands and must match them."""

from __future__ import annotations

from pathlib import Path

from trustkit.cli import cli
from trustkit.cli.reference import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_reference_matches_the_commands() -> None:
    assert DOC.read_text() == render(), "regenerate: python -m trustkit.cli.reference > docs/cli.md"


def test_every_command_and_option_is_documented() -> None:
    import click

    text = DOC.read_text()
    ctx = click.Context(cli, info_name="trustkit")
    for name in cli.list_commands(ctx):
        command = cli.get_command(ctx, name)
        assert command is not None
        assert f"`trustkit {name}`" in text
        for param in command.params:
            if isinstance(param, click.Option):
                assert f"`{param.opts[0]}`" in text
