"""Fuzz target: PEM bundles (``encoding.read_blocks``) and the loaders on top of it; a
block that was read must survive ``pem_encode`` and a second read unchanged."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from trustkit.encoding import load_certificates, load_crl, load_csr, pem_encode, read_blocks
    from trustkit.errors import TrustkitError


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    try:
        blocks = read_blocks(data, what="fuzz")
    except TrustkitError:
        return
    for block in blocks:
        if block.label is not None:
            again = read_blocks(pem_encode(block.label, block.der))
            assert again == [block], (block, again)
    for load in (load_certificates, load_crl, load_csr):
        try:
            load(data, what="fuzz")
        except TrustkitError:
            pass


if __name__ == "__main__":
    main(TestOneInput)
