"""Fuzz target: CMS signatures (``cms.verify.verify_cms``), detached over the world's
content and attached, with signer path validation and embedded timestamps."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, CONTENT, world
    from trustkit.cms.verify import verify_cms
    from trustkit.errors import TrustkitError


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    w = world()
    for content in (CONTENT, None):
        try:
            reports = verify_cms(content, data, trust_anchors=[w.root], at=AT, crls=[w.crl])
        except TrustkitError:
            continue
        for report in reports:
            report.to_dict()


if __name__ == "__main__":
    main(TestOneInput)
