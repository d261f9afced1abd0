"""Fuzz target: RFC 3161 TimeStampResps (``tsa.check_reply``) and the tokens in them
(``tsa.check_token``): structure, signature, ESS binding, imprint and nonce."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import TSA_DIGEST, TSA_NONCE
    from trustkit.errors import TrustkitError
    from trustkit.tsa import check_reply, check_token


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    for check in (
        lambda: check_reply(data, digest=TSA_DIGEST, nonce=TSA_NONCE),
        lambda: check_token(data),
    ):
        try:
            token = check()
        except TrustkitError:
            continue
        token.tsa_subject  # noqa: B018 - formatting the signer's name must not fail either


if __name__ == "__main__":
    main(TestOneInput)
