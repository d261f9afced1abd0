"""Fuzz target: inputs a thousand times larger than the others' (``encoding.read_blocks``,
the X.509 loaders, ``inspect_bytes`` and ``verify_cms`` on half a mebibyte or more).

A small fuzz input becomes a large one: its first byte picks a shape, the rest is the
unit that fills it (:func:`amplify`). Beyond "only TrustkitError escapes", every input
is held to linear memory: the peak of Python's allocations while the readers and
``verify_cms`` take it (tracemalloc, which sees the regular-expression engine's stack
too) must stay under :data:`MEMORY_FACTOR` times the input. The regular expression
that split PEM before took about 160 bytes per input byte, and one upload of 50 MB
took 9 GB.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

if not __package__:  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fuzz._harness import instrumented, main

with instrumented(__name__):
    from tests.fuzz._world import AT, world
    from trustkit.cms.verify import verify_cms
    from trustkit.encoding import load_certificates, load_crl, load_csr, read_blocks
    from trustkit.errors import TrustkitError
    from trustkit.inspection import inspect_bytes

LARGE = 512 * 1024
"""Bytes of input made from each fuzz input (the memory bound is a ratio, so size only
needs to dwarf the interpreter's own noise; a bundle this size holds 650 certificates,
which ``inspect_bytes`` describes in about a second)."""
MEMORY_FACTOR = 10
"""Peak traced allocation per input byte allowed while one input is read."""
SHAPES = ("repeat", "stretch", "pem", "der")


def amplify(data: bytes) -> bytes:
    """``data[1:]`` grown to about :data:`LARGE` bytes in the shape ``data[0]`` picks:
    repeated end to end (a bundle of many blocks), stretched at its middle byte (one
    huge element), as the body of one PEM block, or inside one DER SEQUENCE."""
    if not data:
        return b""
    shape, unit = SHAPES[data[0] % len(SHAPES)], data[1:] or b"0"
    count = max(1, LARGE // len(unit))
    if shape == "repeat":
        return unit * count
    if shape == "stretch":
        middle = len(unit) // 2
        return unit[:middle] + unit[middle : middle + 1] * LARGE + unit[middle + 1 :]
    if shape == "pem":
        return b"-----BEGIN CMS-----\n" + unit * count + b"\n-----END CMS-----\n"
    body = unit * count
    return b"\x30\x84" + len(body).to_bytes(4, "big") + body


def _parse(data: bytes) -> None:
    """The readers held to linear memory."""
    try:
        read_blocks(data, what="fuzz")
    except TrustkitError:
        pass
    for load in (load_certificates, load_crl, load_csr):
        try:
            load(data, what="fuzz")
        except TrustkitError:
            pass
    try:
        verify_cms(None, data, trust_anchors=[world().root], at=AT)
    except TrustkitError:
        pass


def _describe(data: bytes) -> None:
    """inspect_bytes: every object described, a few kilobytes of text each (untraced:
    tracing its many small allocations would make a bundle of a thousand
    certificates take seconds)."""
    try:
        for described in inspect_bytes(data):
            str(described)
    except TrustkitError:
        pass


def TestOneInput(data: bytes) -> None:  # the name atheris and libFuzzer call
    world()  # built once, before memory is counted
    large = amplify(data)
    tracemalloc.start()
    try:
        _parse(large)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = MEMORY_FACTOR * max(len(large), LARGE)
    assert peak <= bound, f"{peak} bytes at peak for {len(large)} bytes of input"
    _describe(large)


if __name__ == "__main__":
    main(TestOneInput)
