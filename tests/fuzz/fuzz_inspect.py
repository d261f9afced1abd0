"""Fuzz target: ``inspection.inspect_bytes`` (any PKI object, PEM or DER); what it
returns must render as text and as JSON, as ``trustkit inspect`` does."""

from __future__ import annotations

import sys
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    import json

    from trustkit.errors import TrustkitError
    from trustkit.inspection import inspect_bytes, render_text


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    try:
        described = inspect_bytes(data)
    except TrustkitError:
        return
    render_text(described)
    json.dumps([{"kind": d.kind, **d.fields} for d in described])


if __name__ == "__main__":
    main(TestOneInput)
