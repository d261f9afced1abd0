"""Signed notes, checkpoints and cosignatures (C2SP signed-note, tlog-checkpoint,
tlog-cosignature): formats, key IDs, and what a verifier must refuse."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustkit import tlog
from trustkit.errors import LogFormatError, ProofError

ORIGIN = "pki.example.gov/log/national"
ROOT = hashlib.sha256(b"root").digest()


@pytest.fixture
def signer() -> tlog.NoteSigner:
    return tlog.NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


def _checkpoint(signer: tlog.NoteSigner, size: int = 20852163, root: bytes = ROOT) -> bytes:
    text = tlog.Checkpoint(ORIGIN, size, root).text()
    return tlog.format_note(text, [signer.sign(text)])


def test_key_id_is_the_specifications_hash(signer: tlog.NoteSigner) -> None:
    raw = base64.b64decode(signer.verifier.vkey.split("+", 2)[2])
    assert raw[0] == 0x01 and len(raw) == 33
    expected = hashlib.sha256(ORIGIN.encode() + b"\n" + raw).digest()[:4]
    assert signer.key_id == int.from_bytes(expected, "big")
    assert tlog.NoteVerifier.from_vkey(signer.verifier.vkey).key_id == signer.key_id


def test_a_checkpoint_round_trips(signer: tlog.NoteSigner) -> None:
    data = _checkpoint(signer)
    text = data.decode()
    assert text.startswith(
        f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\n\n\u2014 {ORIGIN} "
    )
    checkpoint, opened = tlog.open_checkpoint(data, signer.verifier)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root_hash) == (ORIGIN, 20852163, ROOT)
    assert opened.verified_by == (ORIGIN,)


def test_a_forged_or_altered_checkpoint_is_refused(signer: tlog.NoteSigner) -> None:
    data = _checkpoint(signer)
    altered = data.replace(b"20852163", b"20852164")
    with pytest.raises(ProofError, match="does not verify"):
        tlog.open_checkpoint(altered, signer.verifier)
    # Another key under the log's name: its key ID differs, so it is ignored, and then
    # nothing trusted signed the note.
    impostor = tlog.NoteSigner(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(ProofError, match="no signature by a trusted key"):
        tlog.open_checkpoint(_checkpoint(impostor), signer.verifier)
    # The impostor's signature beside the real one is ignored, not fatal.
    text = tlog.Checkpoint(ORIGIN, 5, ROOT).text()
    both = tlog.format_note(text, [impostor.sign(text), signer.sign(text)])
    assert tlog.open_checkpoint(both, signer.verifier)[0].size == 5
    # A known name and key ID with a bad signature sinks the note.
    bad = tlog.NoteSignature(ORIGIN, signer.key_id, b"\x00" * 64)
    with pytest.raises(ProofError, match="does not verify"):
        tlog.open_checkpoint(tlog.format_note(text, [bad, signer.sign(text)]), signer.verifier)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"origin\n1\n", "no blank line"),
        (b"\xff\n\n\xe2\x80\x94 a AAAAAAA=\n", "not UTF-8"),
        (b"a\tb\n\n\xe2\x80\x94 a AAAAAAA=\n", "control character"),
        (b"text\n\n", "no signature lines"),
        (b"text\n\n- name AAAAAAA=\n", "not '\u2014 <name> <base64>'"),
        (b"text\n\n\xe2\x80\x94 na+me AAAAAAA=\n", "no '\\+'"),
        (b"text\n\n\xe2\x80\x94 name ****\n", "not base64"),
        (b"text\n\n\xe2\x80\x94 name AAAA\n", "too short"),
        (b"text\n\n" + b"\xe2\x80\x94 name AAAAAAA=\n" * 101, "over the limit of 100"),
        (b"x" * (tlog.MAX_NOTE_SIZE + 1), "over the limit"),
    ],
)
def test_malformed_notes_are_refused_by_name(data: bytes, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        tlog.parse_note(data)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("origin\n1\n", "fewer than three lines"),
        ("\n1\n" + base64.b64encode(ROOT).decode() + "\n", "origin line is empty"),
        ("o\n01\n" + base64.b64encode(ROOT).decode() + "\n", "tree size"),
        ("o\n-1\n" + base64.b64encode(ROOT).decode() + "\n", "tree size"),
        ("o\n1\n" + base64.b64encode(b"short").decode() + "\n", "5 bytes"),
        ("o\n1\n" + base64.b64encode(ROOT).decode() + "\n\n", "empty extension"),
    ],
)
def test_malformed_checkpoints_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(LogFormatError, match=message):
        tlog.parse_checkpoint(text)


def test_a_checkpoint_of_another_log_is_refused(signer: tlog.NoteSigner) -> None:
    other = tlog.NoteSigner("other.example/log", Ed25519PrivateKey.generate())
    text = tlog.Checkpoint(ORIGIN, 1, ROOT).text()
    with pytest.raises(ProofError, match="not the log's name"):
        tlog.open_checkpoint(tlog.format_note(text, [other.sign(text)]), other.verifier)


def test_cosignatures_are_timestamped_and_checked(signer: tlog.NoteSigner) -> None:
    witness = tlog.Cosigner("witness.example/w1", Ed25519PrivateKey.generate())
    text = tlog.Checkpoint(ORIGIN, 7, ROOT).text()
    at = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    cosignature = witness.cosign(text, at)
    assert len(cosignature.signature) == 72
    assert base64.b64decode(witness.verifier.vkey.split("+", 2)[2])[0] == tlog.COSIGNATURE_TYPE
    data = tlog.format_note(text, [signer.sign(text), cosignature])
    _, opened = tlog.open_checkpoint(data, signer.verifier, witnesses=[witness.verifier])
    assert opened.verified_by == (ORIGIN, "witness.example/w1")
    assert opened.cosigned_at == {"witness.example/w1": at}
    # The signed message is cosignature/v1, the time line and the text (tlog-cosignature):
    # the same signature under another time does not verify.
    moved = tlog.NoteSignature(
        cosignature.name, cosignature.key_id, (1).to_bytes(8, "big") + cosignature.signature[8:]
    )
    with pytest.raises(ProofError, match=r"witness\.example/w1 does not verify"):
        tlog.open_checkpoint(
            tlog.format_note(text, [signer.sign(text), moved]),
            signer.verifier,
            witnesses=[witness.verifier],
        )
    # A cosignature alone is not the log's signature.
    with pytest.raises(ProofError, match="not signed by the log key"):
        tlog.open_checkpoint(
            tlog.format_note(text, [cosignature]), signer.verifier, witnesses=[witness.verifier]
        )


@pytest.mark.parametrize(
    "vkey",
    ["name", "name+0000000+AQ==", "name+00000000+AQ==", "name+00000000+!!!", "na me+00000000+AQ=="],
)
def test_malformed_verifier_keys_are_refused(vkey: str) -> None:
    with pytest.raises(LogFormatError):
        tlog.NoteVerifier.from_vkey(vkey)


def test_a_verifier_key_whose_id_does_not_match_is_refused(signer: tlog.NoteSigner) -> None:
    name, _, key = signer.verifier.vkey.split("+", 2)
    with pytest.raises(LogFormatError, match="key ID does not match"):
        tlog.NoteVerifier.from_vkey(f"{name}+{(signer.key_id ^ 1):08x}+{key}")


def test_a_verifier_key_whose_base64_holds_a_plus_reads_back() -> None:
    # '+' separates the fields of a verifier key and is also a base64 digit.
    for seed in range(256):
        signer = tlog.NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))
        if "+" in signer.verifier.vkey.split("+", 2)[2]:
            break
    else:
        pytest.fail("no seed gave a '+' in the key's base64")
    assert tlog.NoteVerifier.from_vkey(signer.verifier.vkey).key_id == signer.key_id
