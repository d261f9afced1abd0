"""Options and helpers shared by the CLI commands.

Passphrases come from ``--passphrase-file``, then ``$TRUSTKIT_PASSPHRASE``,
then a prompt that does not echo; they are never printed or logged.
``--passphrase TEXT`` works like ``$TRUSTKIT_PASSPHRASE`` but warns: text on
a command line is visible to other users (``ps``) and kept in shell history.
A prompt needs a terminal: when standard input is not one (a pipe, a cron
job, CI), a missing passphrase is one line naming the three sources and exit
status 1, never a prompt that reads the pipe or hangs.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from click.shell_completion import CompletionItem

from .._files import PUBLIC_MODE, write_atomic
from ..encoding import DEFAULT_MAX_INPUT_BYTES
from ..errors import InputError, InputTooLargeError, PassphraseError

F = TypeVar("F", bound=Callable[..., Any])

PASSPHRASE_ENV = "TRUSTKIT_PASSPHRASE"
NEW_PASSPHRASE_ENV = "TRUSTKIT_NEW_PASSPHRASE"


def complete_profile(
    ctx: click.Context, _param: click.Parameter, incomplete: str
) -> list[CompletionItem]:
    """Shell completion for ``--profile``: the built-in profiles and those of the CA in
    ``--ca`` (or ``$TRUSTKIT_CA``, or the current directory), if it is one."""
    from ..config import CAConfig
    from ..errors import TrustkitError
    from ..profiles import BUILTIN_PROFILES

    names = set(BUILTIN_PROFILES)
    ca_dir = ctx.params.get("ca_dir") or os.environ.get("TRUSTKIT_CA") or "."
    try:
        names |= set(CAConfig.load(Path(ca_dir)).profiles)
    except (TrustkitError, OSError, ValueError):
        pass  # not a CA directory (yet): the built-in names still complete
    return [CompletionItem(name) for name in sorted(names) if name.startswith(incomplete)]


def ca_option(func: F) -> F:
    """``--ca DIR``: the CA directory, default ``$TRUSTKIT_CA`` or the current directory."""
    return click.option(
        "--ca",
        "ca_dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="TRUSTKIT_CA",
        default=".",
        show_default="$TRUSTKIT_CA or .",
        help="CA directory.",
    )(func)


COMMAND_LINE_PASSPHRASE_WARNING = (
    "warning: a passphrase on the command line is visible to other users (ps, shell history); "
    f"use --passphrase-file or ${PASSPHRASE_ENV}"
)
_COMMAND_LINE_PASSPHRASE = "trustkit.command_line_passphrase"
"""Where the ``--passphrase`` value waits in the click context's ``meta``."""


def _take_command_line_passphrase(
    ctx: click.Context, _param: click.Parameter, value: str | None
) -> None:
    if value is None:
        return
    click.echo(COMMAND_LINE_PASSPHRASE_WARNING, err=True)
    if not value:
        raise click.BadParameter("must not be empty", param_hint="--passphrase")
    ctx.meta[_COMMAND_LINE_PASSPHRASE] = value.encode()


def passphrase_file_option(func: F) -> F:
    """``--passphrase-file FILE``: read the key passphrase from the file's first line.

    Also adds ``--passphrase TEXT``, which stands in for
    ``$TRUSTKIT_PASSPHRASE`` and prints a warning to stderr.
    """
    func = click.option(
        "--passphrase",
        "command_line_passphrase",
        expose_value=False,
        callback=_take_command_line_passphrase,
        help="The key passphrase itself; discouraged and warned about, as other users see it "
        "(ps, shell history): prefer --passphrase-file.",
    )(func)
    return click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help=f"Read the key passphrase from this file (else ${PASSPHRASE_ENV}, else a prompt "
        "on a terminal).",
    )(func)


def _command_line_passphrase() -> bytes | None:
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    value = ctx.find_root().meta.get(_COMMAND_LINE_PASSPHRASE)
    return value if isinstance(value, bytes) else None


def json_option(func: F) -> F:
    """``--json``: machine-readable output."""
    from ._json import note_json_requested

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=note_json_requested,
        help="Print JSON, on a negative answer too (schema: docs/schemas/).",
    )(func)


def read_passphrase_file(path: Path, option: str = "--passphrase-file") -> bytes:
    """The first line of ``path``: a passphrase given in a file (``option`` names it in errors)."""
    try:
        lines = path.read_bytes().splitlines()
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot be read ({exc.strerror})") from None
    if not lines or not lines[0]:
        raise InputError(f"{option} {path}: empty; the first line is the passphrase")
    return lines[0]


def stdin_is_terminal() -> bool:
    """Whether a prompt can be answered: standard input is a terminal."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def passphrase(
    path: Path | None,
    *,
    prompt: str,
    env: str = PASSPHRASE_ENV,
    confirm: bool = False,
    fallback_env: str | None = None,
    option: str = "--passphrase-file",
) -> bytes:
    """The passphrase from ``path``, ``$env`` (or ``$fallback_env``), or an interactive prompt.

    Where ``$TRUSTKIT_PASSPHRASE`` would be read, ``--passphrase``
    comes first. ``option`` is the command's option for ``path``, named when
    no passphrase is given and there is no terminal to prompt on.

    :raises PassphraseError: no passphrase given and standard input is not a terminal.
    """
    if path is not None:
        return read_passphrase_file(path, option)
    for name in (env, fallback_env):
        if name == PASSPHRASE_ENV:
            given = _command_line_passphrase()
            if given is not None:
                return given
        if name and os.environ.get(name):
            return os.environ[name].encode()
    if not stdin_is_terminal():
        variables = " or ".join(f"${name}" for name in (env, fallback_env) if name)
        raise PassphraseError(
            f"{prompt[:1].lower()}{prompt[1:]}: none given, and standard input is not a "
            f"terminal to prompt on; give {option} FILE or set {variables}"
        )
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    if not value:
        raise InputError("passphrase: must not be empty")
    return value.encode()


def lazy_passphrase(path: Path | None, *, prompt: str) -> Callable[[], bytes]:
    """A passphrase asked for only when the key is really needed."""
    cache: list[bytes] = []

    def get() -> bytes:
        if not cache:
            cache.append(passphrase(path, prompt=prompt))
        return cache[0]

    return get


def write_output(path: Path | None, data: bytes, *, mode: int = PUBLIC_MODE) -> None:
    """Write ``data`` to ``path`` atomically, or to standard output when no path."""
    if path is None or str(path) == "-":
        click.echo(data.decode() if data.isascii() else data, nl=False)
        return
    write_atomic(path, data, mode=mode)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON (the command's own report: no error document follows)."""
    from ._json import mark_json_printed

    click.echo(json.dumps(value, indent=2, sort_keys=False, default=str))
    mark_json_printed()


MAX_INPUT_ENV = "TRUSTKIT_MAX_INPUT"
"""Overrides :data:`~trustkit.encoding.DEFAULT_MAX_INPUT_BYTES`: bytes, or with a K, M or G
suffix (powers of 1024)."""

_SIZE_SUFFIXES = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}


def max_input_bytes() -> int:
    """The most an input file may hold: ``$TRUSTKIT_MAX_INPUT``, else 16 MiB."""
    text = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not text:
        return DEFAULT_MAX_INPUT_BYTES
    number, suffix = text.rstrip("KMGkmg"), text[len(text.rstrip("KMGkmg")) :].upper()
    if not number.isdigit() or suffix not in _SIZE_SUFFIXES or int(number) <= 0:
        raise InputError(
            f"${MAX_INPUT_ENV} {text!r}: expected a positive number of bytes, "
            "optionally with a K, M or G suffix"
        )
    return int(number) * _SIZE_SUFFIXES[suffix]


def _too_large(name: str, limit: int, size: int | None) -> InputTooLargeError:
    seen = f"{size} bytes" if size is not None else "more"
    return InputTooLargeError(
        f"{name}: {seen}, over the input limit of {limit} bytes (raise it with ${MAX_INPUT_ENV})",
        limit=limit,
        size=size,
    )


def read_input(path: Path, *, limit: int | None = None) -> bytes:
    """The bytes of an input file (``-`` is standard input), with a one-line error when it
    cannot be read or holds more than ``limit`` bytes (default :func:`max_input_bytes`).

    A regular file's size is checked before anything is read; a pipe is read up to one
    byte past the limit, never further.
    """
    limit = max_input_bytes() if limit is None else limit
    if str(path) == "-":
        data = sys.stdin.buffer.read(limit + 1)
        if len(data) > limit:
            raise _too_large("standard input", limit, None)
        return data
    try:
        with path.open("rb") as stream:
            status = os.fstat(stream.fileno())
            if stat.S_ISREG(status.st_mode) and status.st_size > limit:
                raise _too_large(str(path), limit, status.st_size)
            data = stream.read(limit + 1)
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if len(data) > limit:
        raise _too_large(str(path), limit, None)
    return data


def pin_file_option(func: F) -> F:
    """``--pin-file FILE``: the PKCS#11 user PIN for a CA key on a token."""
    return click.option(
        "--pin-file",
        type=click.Path(dir_okay=False, exists=True, path_type=Path),
        help="PKCS#11 user PIN for a key on a token (else $TRUSTKIT_PKCS11_PIN, else a prompt).",
    )(func)


def lazy_pin(path: Path | None) -> Callable[[], str]:
    """The token PIN from ``path``, ``$TRUSTKIT_PKCS11_PIN`` or a prompt, asked for when needed."""
    cache: list[str] = []

    def get() -> str:
        if not cache:
            from ..pkcs11 import resolve_pin

            cache.append(
                resolve_pin(
                    pin_file=path,
                    prompt=_pin_prompt,
                )
            )
        return cache[0]

    return get


def _pin_prompt(message: str) -> str:
    if not stdin_is_terminal():
        raise PassphraseError(
            "PKCS#11 PIN: none given, and standard input is not a terminal to prompt on; "
            "give --pin-file FILE or set $TRUSTKIT_PKCS11_PIN"
        )
    return str(click.prompt(message, hide_input=True, err=True))


def new_ca_key(
    uri: str | None,
    *,
    key_type: str,
    existing: bool,
    pin_file: Path | None,
    module: str | None,
    ask_passphrase: Callable[[], bytes],
) -> tuple[Any, bytes | None]:
    """``(key, passphrase)`` for a new CA: a key on a PKCS#11 token when ``uri`` names
    one (generated there, or the existing one with ``existing``), else no key yet
    (the CA generates it) and the passphrase that will encrypt it."""
    if uri is None:
        return None, ask_passphrase()
    from ..pkcs11 import generate_key_on_token, load_token_key

    pin = lazy_pin(pin_file)()
    if existing:
        return load_token_key(uri, pin=pin, module=module), None
    return generate_key_on_token(uri, key_type, pin=pin, module=module), None
