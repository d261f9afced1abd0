"""Fuzz target: RFC 3161 TimeStampReqs, answered by ``tsa.TimestampAuthority.respond``,
which must never raise and always give a TimeStampResp, granted or rejected."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, world
    from trustkit._asn1 import parse_timestamp_response
    from trustkit.tsa import check_token

GRANTED, REJECTION = 0, 2


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    reply = parse_timestamp_response(world().tsa.respond(data, at=AT))
    assert reply.status in (GRANTED, REJECTION), reply.status
    if reply.status == GRANTED:
        assert reply.token is not None
        check_token(reply.token, extra_certificates=[world().tsa.certificate])


if __name__ == "__main__":
    main(TestOneInput)
