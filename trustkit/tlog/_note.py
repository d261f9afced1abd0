"""Signed notes (C2SP signed-note), checkpoints (tlog-checkpoint) and cosignatures.

A note is UTF-8 text ending in a newline, a blank line, then signature lines
``— <key name> base64(key ID || signature)``. The key ID is the first four
bytes of SHA-256(name || 0x0A || type || public key): type 0x01 for the log's
Ed25519 signature over the text, 0x04 for a witness's timestamped Ed25519
cosignature (tlog-cosignature), which signs ``cosignature/v1``, a ``time``
line and the text.

Verifiers are configured with a name and a public key, written as a
*verifier key* (``name+hex key ID+base64(type || key)``, the form Go's
``golang.org/x/mod/sumdb/note`` reads). :func:`open_note` ignores signatures
by unknown keys, refuses a note whose known-key signature fails, and needs
at least one that verifies, as the specification requires.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..errors import LogFormatError, ProofError
from ._merkle import HASH_SIZE

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "MAX_NOTE_SIZE",
    "Checkpoint",
    "Cosigner",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "format_note",
    "key_id",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_note",
]

ED25519_TYPE = 0x01
COSIGNATURE_TYPE = 0x04
MAX_NOTE_SIZE = 1 << 20
"""A note larger than this is refused unread (the specification asks for a limit)."""
MAX_SIGNATURES = 100
"""At least 16 must be accepted; a hundred leaves room for many witnesses."""

_DASH = "\u2014"
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f]")


def _check_name(name: str) -> str:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise LogFormatError(f"key name {name!r}: must be non-empty, with no spaces and no '+'")
    return name


def key_id(name: str, signature_type: int, public_key: bytes) -> int:
    """The uint32 key ID: SHA-256(name || 0x0A || type || public key), first four bytes."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public_key)
    return int.from_bytes(digest.digest()[:4], "big")


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class NoteSignature:
    """One signature line: who (name and key ID) and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH} {self.name} {base64.b64encode(blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    """A note's text (with its final newline) and its signature lines."""

    text: str
    signatures: tuple[NoteSignature, ...]


def format_note(text: str, signatures: tuple[NoteSignature, ...] | list[NoteSignature]) -> bytes:
    """The note as served: text, a blank line, one line per signature."""
    if not text.endswith("\n"):
        raise LogFormatError("note text: must end with a newline")
    return (text + "\n" + "".join(s.line() for s in signatures)).encode()


def parse_note(data: bytes) -> Note:
    """A note's text and signatures, every format rule checked; nothing is verified yet."""
    if len(data) > MAX_NOTE_SIZE:
        raise LogFormatError(f"note: {len(data)} bytes, over the limit of {MAX_NOTE_SIZE}")
    try:
        whole = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LogFormatError(f"note: not UTF-8 (byte {exc.start})") from exc
    if _CONTROL.search(whole):
        raise LogFormatError("note: holds a control character other than newline")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise LogFormatError("note: no blank line between the text and the signatures")
    text, block = whole[: split + 1], whole[split + 2 :]
    lines = block.split("\n")[:-1]
    if not lines:
        raise LogFormatError("note: no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise LogFormatError(f"note: {len(lines)} signatures, over the limit of {MAX_SIGNATURES}")
    signatures = []
    for number, line in enumerate(lines, 1):
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != _DASH:
            raise LogFormatError(f"note: signature line {number} is not '— <name> <base64>'")
        name = _check_name(parts[1])
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LogFormatError(f"note: signature line {number} is not base64") from exc
        if len(blob) < 5:
            raise LogFormatError(f"note: signature line {number} is too short for a key ID")
        signatures.append(NoteSignature(name, int.from_bytes(blob[:4], "big"), blob[4:]))
    return Note(text, tuple(signatures))


class NoteSigner:
    """A log's Ed25519 note key (never a CA key)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._key = key
        self.key_id = key_id(name, ED25519_TYPE, _raw(key.public_key()))

    def sign(self, text: str) -> NoteSignature:
        return NoteSignature(self.name, self.key_id, self._key.sign(text.encode()))

    @property
    def verifier(self) -> NoteVerifier:
        return NoteVerifier(self.name, self._key.public_key())


class NoteVerifier:
    """A trusted note key: a name and an Ed25519 public key (type 0x01 or, for a witness, 0x04)."""

    def __init__(
        self, name: str, public_key: Ed25519PublicKey, signature_type: int = ED25519_TYPE
    ) -> None:
        if signature_type not in (ED25519_TYPE, COSIGNATURE_TYPE):
            raise LogFormatError(f"verifier key {name}: signature type {signature_type:#04x}")
        self.name = _check_name(name)
        self.public_key = public_key
        self.signature_type = signature_type
        self.key_id = key_id(name, signature_type, _raw(public_key))

    @property
    def vkey(self) -> str:
        """``name+hex key ID+base64(type || key)``."""
        blob = bytes([self.signature_type]) + _raw(self.public_key)
        return f"{self.name}+{self.key_id:08x}+{base64.b64encode(blob).decode()}"

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise LogFormatError(f"verifier key {vkey!r}: not name+<8 hex digits>+<base64 key>")
        try:
            blob = base64.b64decode(parts[2], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise LogFormatError(f"verifier key {parts[0]}: the key is not base64") from exc
        if len(blob) != 33:
            raise LogFormatError(f"verifier key {parts[0]}: not an Ed25519 key")
        verifier = cls(parts[0], Ed25519PublicKey.from_public_bytes(blob[1:]), blob[0])
        if verifier.key_id != int(parts[1], 16):
            raise LogFormatError(f"verifier key {parts[0]}: the key ID does not match the key")
        return verifier

    def signed_message(self, text: str, signature: bytes) -> tuple[bytes, bytes, int | None]:
        """(message, raw signature, timestamp) for a signature by this key over ``text``."""
        if self.signature_type == ED25519_TYPE:
            return text.encode(), signature, None
        if len(signature) != 8 + 64:
            raise ProofError(f"cosignature by {self.name}: {len(signature)} bytes, not 72")
        (timestamp,) = struct.unpack(">Q", signature[:8])
        if timestamp >= 1 << 63:
            raise ProofError(f"cosignature by {self.name}: timestamp out of range")
        message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        return message, signature[8:], timestamp

    def verify(self, text: str, signature: NoteSignature) -> int | None:
        """Check one signature of this key; returns a cosignature's timestamp."""
        message, raw, timestamp = self.signed_message(text, signature.signature)
        try:
            self.public_key.verify(raw, message)
        except InvalidSignature as exc:
            raise ProofError(f"note: the signature by {self.name} does not verify") from exc
        return timestamp


class Cosigner:
    """A witness's Ed25519 key, making timestamped cosignatures (C2SP tlog-cosignature v1)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._key = key
        self.verifier = NoteVerifier(name, key.public_key(), COSIGNATURE_TYPE)

    def cosign(self, text: str, at: datetime) -> NoteSignature:
        timestamp = int(at.timestamp())
        message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
        signature = struct.pack(">Q", timestamp) + self._key.sign(message)
        return NoteSignature(self.name, self.verifier.key_id, signature)


@dataclass(frozen=True)
class OpenedNote:
    """A note with the names of the trusted keys whose signatures verified."""

    note: Note
    verified_by: tuple[str, ...]
    cosigned_at: dict[str, datetime]


def open_note(data: bytes, verifiers: Sequence[NoteVerifier]) -> OpenedNote:
    """Parse ``data`` and verify it against the trusted ``verifiers``.

    A signature whose name and key ID both match a trusted key must verify;
    others are ignored. At least one must verify.
    """
    note = parse_note(data)
    known = {(v.name, v.key_id): v for v in verifiers}
    verified: list[str] = []
    cosigned: dict[str, datetime] = {}
    for signature in note.signatures:
        verifier = known.get((signature.name, signature.key_id))
        if verifier is None:
            continue
        timestamp = verifier.verify(note.text, signature)
        verified.append(signature.name)
        if timestamp is not None:
            cosigned[signature.name] = datetime.fromtimestamp(timestamp, UTC)
    if not verified:
        names = ", ".join(sorted({v.name for v in verifiers})) or "none"
        raise ProofError(f"note: no signature by a trusted key (trusted: {names})")
    return OpenedNote(note, tuple(verified), cosigned)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, its size and the root hash at that size."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root_hash).decode()]
        return "\n".join([*lines, *self.extensions]) + "\n"


def parse_checkpoint(text: str) -> Checkpoint:
    """The checkpoint a note's text holds (C2SP tlog-checkpoint)."""
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise LogFormatError("checkpoint: fewer than three lines, or no final newline")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin:
        raise LogFormatError("checkpoint: the origin line is empty")
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text) or int(size_text) >= 1 << 63:
        raise LogFormatError(f"checkpoint: tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LogFormatError("checkpoint: the root hash is not base64") from exc
    if len(root) != HASH_SIZE:
        raise LogFormatError(f"checkpoint: the root hash is {len(root)} bytes, not {HASH_SIZE}")
    if any(not line for line in extensions):
        raise LogFormatError("checkpoint: an empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def open_checkpoint(
    data: bytes, log: NoteVerifier, *, witnesses: Sequence[NoteVerifier] = ()
) -> tuple[Checkpoint, OpenedNote]:
    """A checkpoint signed by the ``log`` key (and any ``witnesses`` that cosigned it)."""
    opened = open_note(data, [log, *witnesses])
    if log.name not in opened.verified_by:
        raise ProofError(f"checkpoint: not signed by the log key {log.name}")
    checkpoint = parse_checkpoint(opened.note.text)
    if checkpoint.origin != log.name:
        raise ProofError(
            f"checkpoint: origin {checkpoint.origin!r} is not the log's name {log.name!r}"
        )
    return checkpoint, opened
