"""Where the PKCS#11 module and the user PIN come from."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import HSMError

if TYPE_CHECKING:
    from ._uri import PKCS11URI


ENV_MODULE = "TRUSTKIT_PKCS11_MODULE"
"""Environment variable naming the PKCS#11 module when neither argument nor URI does."""

ENV_PIN = "TRUSTKIT_PKCS11_PIN"
"""Environment variable holding the user PIN when no argument gives it."""


def resolve_module_path(
    module: str | os.PathLike[str] | None = None,
    *,
    uri: PKCS11URI | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The PKCS#11 module to load: ``module``, else the URI's ``module-path``, else the env.

    :raises HSMError: none is given, or the file does not exist.
    """
    env = os.environ if environ is None else environ
    chosen: str | os.PathLike[str] | None = module
    if chosen is None and uri is not None:
        chosen = uri.module_path
    if chosen is None:
        chosen = env.get(ENV_MODULE) or None
    if chosen is None:
        raise HSMError(
            "module-path: no PKCS#11 module given; set it in the CA configuration, "
            f"as module-path= in the URI, or in ${ENV_MODULE}"
        )
    path = os.fspath(chosen)
    if not Path(path).is_file():
        raise HSMError(f"module-path: PKCS#11 module {path!r} does not exist")
    return path


def resolve_pin(
    pin: str | None = None,
    *,
    pin_file: str | os.PathLike[str] | None = None,
    uri: PKCS11URI | None = None,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
) -> str:
    """The user PIN: ``pin``, else ``pin_file``, else the URI's ``pin-value``, else the env.

    ``pin_file`` holds the PIN on its first line. When all of these are
    missing, ``prompt`` (the CLI passes a hidden-input prompt) is asked.

    :raises HSMError: no PIN anywhere, or the PIN file cannot be read.
    """
    if pin is not None:
        return pin
    if pin_file is not None:
        try:
            lines = Path(pin_file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise HSMError(f"pin-file: cannot read {os.fspath(pin_file)!r}: {exc}") from exc
        if not lines or not lines[0]:
            raise HSMError(f"pin-file: {os.fspath(pin_file)!r} is empty")
        return lines[0]
    if uri is not None and uri.pin_value is not None:
        return uri.pin_value
    env = os.environ if environ is None else environ
    from_env = env.get(ENV_PIN)
    if from_env:
        return from_env
    if prompt is not None:
        where = f" for token {uri.token!r}" if uri is not None and uri.token else ""
        return prompt(f"PKCS#11 user PIN{where}")
    raise HSMError(f"pin: no PIN given; use the prompt, --pin-file or ${ENV_PIN}")
