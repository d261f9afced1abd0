"""Fuzz target: a CA directory's ``trustkit.toml``: TOML (tomllib), then
``config.CAConfig.from_mapping``; a configuration that loads must write and load back."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    import tomllib

    from trustkit.config import CAConfig
    from trustkit.errors import TrustkitError


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return  # CAConfig.load turns these into ConfigError; not trustkit's parser
    try:
        config = CAConfig.from_mapping(document, source="fuzz")
    except TrustkitError:
        return
    again = CAConfig.from_mapping(tomllib.loads(config.to_toml().decode()), source="again")
    assert (again.name, again.crl_url, again.crl_shards) == (
        config.name,
        config.crl_url,
        config.crl_shards,
    )


if __name__ == "__main__":
    main(TestOneInput)
