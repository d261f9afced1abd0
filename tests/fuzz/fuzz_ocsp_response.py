"""Fuzz target: OCSP responses (DER or PEM), given to validation with ``ocsp_responses=``
(RFC 6960 3.2 checks: signer, CertID, freshness) for a good and a revoked certificate."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, seeded, world
    from trustkit.encoding import load_ocsp_response
    from trustkit.errors import TrustkitError
    from trustkit.validation import RevocationMode, ValidationPolicy, validate


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    w = world()
    try:
        response = load_ocsp_response(data, what="fuzz")
    except TrustkitError:
        return
    for cert in (seeded("leaf"), seeded("revoked")):
        for mode in (RevocationMode.HARD_FAIL, RevocationMode.SOFT_FAIL):
            try:
                validate(
                    cert,
                    trust_anchors=[w.root],
                    intermediates=[w.issuing],
                    at=AT,
                    crls=[w.root_crl],
                    ocsp_responses=[response],
                    policy=ValidationPolicy(revocation=mode),
                )
            except TrustkitError:
                pass


if __name__ == "__main__":
    main(TestOneInput)
