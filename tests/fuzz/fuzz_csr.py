"""Fuzz target: PKCS#10 requests (``csr.load_csr``), their requested SANs and extensions,
proof of possession, and, for a request that proves possession, issuance policy."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, world
    from trustkit.csr import (
        load_csr,
        requested_extensions,
        requested_sans,
        verify_proof_of_possession,
    )
    from trustkit.errors import TrustkitError
    from trustkit.names import format_general_name, format_name


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    try:
        csr = load_csr(data, what="fuzz")
    except TrustkitError:
        return
    for step in (
        lambda: format_name(csr.subject),
        lambda: [format_general_name(n) for n in requested_sans(csr)],
        lambda: list(requested_extensions(csr)),
    ):
        try:
            step()
        except TrustkitError:
            pass
    try:
        verify_proof_of_possession(csr)
        # As the CLI and service do: only a request that proves possession is issued.
        world().issuing_ca.issue(csr, "tls-server", at=AT)
    except TrustkitError:
        pass


if __name__ == "__main__":
    main(TestOneInput)
