"""JSON output on a negative answer as on success.

A command's ``--json`` puts a note in the click context; when the command then
ends in a :class:`~trustkit.errors.TrustkitError` without having printed its own
JSON report, the error handler prints the error document on standard output, so
a script that asked for JSON always gets JSON (and the one-line message still
goes to stderr, with exit status 1). The schemas are in ``docs/schemas/``.
"""

from __future__ import annotations

import json

import click

from ..errors import TrustkitError

__all__ = ["echo_error_document", "error_document", "mark_json_printed", "note_json_requested"]

_REQUESTED = "trustkit.json.requested"
_PRINTED = "trustkit.json.printed"


def note_json_requested(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    """Click callback of ``--json``: remember, for the error handler, that JSON was asked for."""
    if value:
        ctx.meta[_REQUESTED] = True
    return value


def mark_json_printed() -> None:
    """Say that the command has printed its own JSON report of a negative answer."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None:
        ctx.meta[_PRINTED] = True


def error_document(exc: TrustkitError) -> dict[str, object]:
    """``{"error": {"kind": ..., "message": ...}}``: the JSON of a refusal.

    ``kind`` is the name of the error class in :mod:`trustkit.errors`
    (``DecodeError``, ``PathBuildingError``...), a stable word a script can test.
    """
    from ._messages import user_message

    return {"error": {"kind": type(exc).__name__, "message": user_message(str(exc))}}


def echo_error_document(ctx: click.Context, exc: TrustkitError) -> None:
    """Print the error document on stdout when ``--json`` was given and nothing was printed."""
    if ctx.meta.get(_REQUESTED) and not ctx.meta.get(_PRINTED):
        click.echo(json.dumps(error_document(exc), indent=2))
