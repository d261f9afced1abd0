"""Fuzz target: ``trustkit pki`` spec files: TOML (tomllib), then ``pki.parse_spec``."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    import tomllib

    from trustkit.errors import TrustkitError
    from trustkit.pki import parse_spec


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # load_spec turns these into ConfigError; not trustkit's parser
    try:
        parse_spec(document)
    except TrustkitError:
        pass


if __name__ == "__main__":
    main(TestOneInput)
