"""Fuzz target: OCSP requests, answered by ``revocation.ocsp.OCSPResponder.respond``,
which must never raise and always give a well-formed OCSPResponse (RFC 6960 4.2.1)."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from cryptography.x509 import ocsp

    from tests.fuzz._world import AT, world


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    answer = world().responder.respond(data, at=AT)
    response = ocsp.load_der_ocsp_response(answer)
    if response.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL:
        assert response.responses, "a successful OCSP response answers at least one CertID"


if __name__ == "__main__":
    main(TestOneInput)
