"""Fuzz target: certificates (``encoding.load_certificates``), then RFC 5280 path validation
with the fuzzed certificates as end entity, as untrusted intermediates and as trust anchors."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, world
    from trustkit.encoding import load_certificates
    from trustkit.errors import TrustkitError
    from trustkit.validation import Purpose, RevocationMode, ValidationPolicy, validate

HARD_FAIL = ValidationPolicy(revocation=RevocationMode.HARD_FAIL)
MAX_CERTIFICATES = 4
"""Certificates of one input that are validated (a bundle may hold many)."""


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    w = world()
    try:
        certificates = load_certificates(data, what="fuzz")[:MAX_CERTIFICATES]
    except TrustkitError:
        return
    crls = [w.crl, w.root_crl]
    for cert in certificates:
        for anchors, target, pool in (
            ([w.root], cert, [w.issuing, *certificates]),
            (certificates, w.leaf, [w.issuing]),
        ):
            try:
                validate(
                    target,
                    trust_anchors=anchors,
                    intermediates=pool,
                    at=AT,
                    crls=crls,
                    purpose=Purpose.TLS_SERVER,
                    hostname="www.example.gov",
                    policy=HARD_FAIL,
                )
            except TrustkitError:
                pass


if __name__ == "__main__":
    main(TestOneInput)
