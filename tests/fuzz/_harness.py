"""What every fuzz target shares: atheris only when run as a script, the corpus, a mutator.

A target is ``tests/fuzz/fuzz_<parser>.py`` with a ``TestOneInput(data)`` that
lets only :class:`~trustkit.errors.TrustkitError` pass silently; anything
else escaping is a finding. Run as a script it fuzzes under atheris::

    python tests/fuzz/fuzz_cms.py tests/fuzz/corpus/cms/ -max_total_time=60

Imported (by ``test_targets.py``) it is plain Python: atheris is not needed.
This module imports nothing of trustkit, so a target can instrument those
imports after importing it.
"""

from __future__ import annotations

import contextlib
import functools
import random
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"
"""``tests/fuzz/corpus/<parser>/``: the seed inputs ``make_corpus.py`` writes."""
FINDINGS = Path(__file__).resolve().parent / "findings"
"""``tests/fuzz/findings/<parser>-<what>.der``: an input for every finding, fixed or not."""

INSTRUMENTED = ("trustkit", "asn1crypto", "tomllib")
"""Python packages whose code atheris instruments for coverage (cryptography's
parsers are Rust, outside its reach; its Python wrappers add nothing)."""


@dataclass(frozen=True)
class KnownFinding:
    """A finding reported to the owners of the code at fault and not fixed yet.

    The fuzzers step over it so that they can look for others; ``test_targets.py``
    replays its reproducer, expected to fail until the fix lands (strict xfail).
    """

    target: str
    """The parser whose target finds it."""
    exception: type[BaseException]
    message: str
    """A part of the exception's text that singles the finding out."""
    reproducer: str
    """File under ``tests/fuzz/findings/`` holding an input that triggers it."""
    where: str
    """The code at fault."""


KNOWN_FINDINGS: tuple[KnownFinding, ...] = ()


def is_known(target: str, exc: BaseException) -> bool:
    """Whether ``exc``, escaping ``target``, is one of :data:`KNOWN_FINDINGS`."""
    return any(
        k.target == target and isinstance(exc, k.exception) and k.message in str(exc)
        for k in KNOWN_FINDINGS
    )


def stepping_over_known(
    target: str, test_one_input: Callable[[bytes], None]
) -> Callable[[bytes], None]:
    """``test_one_input``, with the known findings of ``target`` swallowed."""

    @functools.wraps(test_one_input)
    def run(data: bytes) -> None:
        try:
            test_one_input(data)
        except Exception as exc:
            if not is_known(target, exc):
                raise

    return run


def instrumented(module_name: str) -> contextlib.AbstractContextManager[object]:
    """Instrument the imports inside the block when the target runs as a script."""
    if module_name != "__main__":
        return contextlib.nullcontext()
    import atheris

    return atheris.instrument_imports(include=list(INSTRUMENTED))


def main(test_one_input: Callable[[bytes], None]) -> None:
    """Fuzz ``test_one_input`` with atheris; libFuzzer options come from ``sys.argv``.

    Known findings are stepped over unless ``--stop-on-known`` is given first.
    """
    import atheris

    argv = list(sys.argv)
    if "--stop-on-known" in argv:
        argv.remove("--stop-on-known")
    else:
        target = Path(argv[0]).stem.removeprefix("fuzz_")
        test_one_input = stepping_over_known(target, test_one_input)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


def seeds(parser: str) -> list[bytes]:
    """The seed corpus of ``parser``, in file-name order."""
    return [p.read_bytes() for p in sorted((CORPUS / parser).iterdir()) if p.is_file()]


def mutate(data: bytes, rng: random.Random, others: list[bytes]) -> bytes:
    """One to four random edits of ``data``, some of them splices from ``others``:
    a poor man's libFuzzer, for exercising the harness in CI without atheris."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randint(0, len(out))
        edit = rng.randrange(7)
        if edit == 0 and out:  # flip one bit
            pos = min(pos, len(out) - 1)
            out[pos] ^= 1 << rng.randrange(8)
        elif edit == 1 and out:  # set a byte to an interesting value
            pos = min(pos, len(out) - 1)
            out[pos] = rng.choice((0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0xFF, rng.randrange(256)))
        elif edit == 2:  # delete a run
            del out[pos : pos + rng.randint(1, 32)]
        elif edit == 3:  # insert random bytes
            out[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif edit == 4:  # truncate
            del out[pos:]
        elif edit == 5 and others:  # splice in a piece of another seed
            other = rng.choice(others)
            start = rng.randint(0, len(other))
            out[pos:pos] = other[start : start + rng.randint(1, 64)]
        else:  # duplicate a run (repeated structures, long lengths)
            out[pos:pos] = out[pos : pos + rng.randint(1, 64)] * rng.randint(1, 4)
    return bytes(out)


def inputs(parser: str, count: int, *, seed: int = 0) -> Iterator[bytes]:
    """The seeds of ``parser``, then ``count`` mutations of them, reproducibly."""
    corpus = seeds(parser)
    yield from corpus
    rng = random.Random(f"{parser}:{seed}")
    for _ in range(count):
        yield mutate(rng.choice(corpus), rng, corpus)
