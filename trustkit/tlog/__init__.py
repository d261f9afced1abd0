"""A transparency log in the formats the transparency community standardised.

The engine, with no I/O of its own:

- :mod:`~trustkit.tlog._merkle`: RFC 6962 / RFC 9162 hashing, inclusion and
  consistency proofs, and their verification;
- :mod:`~trustkit.tlog._tiles`: C2SP tlog-tiles paths, tiles, entry bundles,
  the rows a store keeps, and proofs read from tiles;
- :mod:`~trustkit.tlog._note`: C2SP signed notes, checkpoints and Ed25519
  cosignatures (tlog-cosignature v1);
- :mod:`~trustkit.tlog._entry`: the entries, one canonical DER ``LogEntry``
  (version 1) per CA action.

An e-service checks a certificate's inclusion with :func:`verify_inclusion`
against a checkpoint it opened with :func:`open_checkpoint`, and that the log
only grew with :func:`verify_consistency`.
"""

from ._entry import (
    ENTRY_VERSION,
    CAEvent,
    CertificateIssued,
    CRLPublished,
    LogEntry,
    Revoked,
    issuer_id,
    parse_entry,
)
from ._merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    LeafHashes,
    SubtreeSource,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    perfect_root,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)
from ._note import (
    COSIGNATURE_TYPE,
    ED25519_TYPE,
    MAX_NOTE_SIZE,
    Checkpoint,
    Cosigner,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    OpenedNote,
    format_note,
    key_id,
    open_checkpoint,
    open_note,
    parse_checkpoint,
    parse_note,
)
from ._tiles import (
    MAX_ENTRY_SIZE,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileHashes,
    TileReader,
    TileRef,
    entries_path,
    entry_bundle,
    parse_entry_bundle,
    parse_tile_path,
    rows_to_append,
    tile_path,
    tile_width,
    tiles_for_size,
)

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "EMPTY_ROOT",
    "ENTRY_VERSION",
    "HASH_SIZE",
    "MAX_ENTRY_SIZE",
    "MAX_NOTE_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "CAEvent",
    "CRLPublished",
    "CertificateIssued",
    "Checkpoint",
    "Cosigner",
    "LeafHashes",
    "LogEntry",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "OpenedNote",
    "Revoked",
    "SubtreeSource",
    "TileHashes",
    "TileReader",
    "TileRef",
    "consistency_proof",
    "entries_path",
    "entry_bundle",
    "format_note",
    "inclusion_proof",
    "issuer_id",
    "key_id",
    "leaf_hash",
    "node_hash",
    "open_checkpoint",
    "open_note",
    "parse_checkpoint",
    "parse_entry",
    "parse_entry_bundle",
    "parse_note",
    "parse_tile_path",
    "perfect_root",
    "rows_to_append",
    "tile_path",
    "tile_width",
    "tiles_for_size",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]
