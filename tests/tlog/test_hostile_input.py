"""What a log client reads comes from the network: every parser refuses garbage with a
LogFormatError (or a ProofError once verification starts), never another exception."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from trustkit import tlog
from trustkit.errors import LogFormatError, ProofError

SIGNER = tlog.NoteSigner("pki.example.gov/log", Ed25519PrivateKey.from_private_bytes(b"k" * 32))
TEXT = tlog.Checkpoint(SIGNER.name, 3, b"\x07" * 32).text()
GOOD = tlog.format_note(TEXT, [SIGNER.sign(TEXT)])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_notes_from_random_bytes(data: bytes) -> None:
    try:
        tlog.open_checkpoint(data, SIGNER.verifier)
    except (LogFormatError, ProofError):
        pass


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255))
def test_a_signed_checkpoint_with_one_byte_changed(position: int, xor: int) -> None:
    data = bytearray(GOOD)
    data[position] ^= xor
    with pytest.raises((LogFormatError, ProofError)):
        tlog.open_checkpoint(bytes(data), SIGNER.verifier)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_tile_paths_from_random_text(path: str) -> None:
    try:
        ref = tlog.parse_tile_path(path)
    except LogFormatError:
        return
    assert ref.path == path  # only canonical spellings are accepted


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(1, 256))
def test_entry_bundles_from_random_bytes(data: bytes, width: int) -> None:
    try:
        entries = tlog.parse_entry_bundle(data, width)
    except LogFormatError:
        return
    assert tlog.entry_bundle(entries) == data


def test_a_huge_note_is_refused_before_it_is_decoded() -> None:
    with pytest.raises(LogFormatError, match="over the limit"):
        tlog.parse_note(GOOD + b"\xe2\x80\x94 x AAAAAAA=\n" * 100_000)
