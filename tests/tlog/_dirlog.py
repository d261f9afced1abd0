"""A log written to a directory exactly as tlog-tiles serves it, for the tests.

Rows are kept in memory and grown with :func:`trustkit.tlog.rows_to_append`;
:meth:`DirectoryLog.publish` writes the tiles and entry bundles a checkpoint of
the current size needs, then the checkpoint signed by the log key, as a
static-file log would.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from trustkit import tlog


class DirectoryLog:
    def __init__(self, directory: Path, origin: str = "pki.example.gov/log/national") -> None:
        self.directory = directory
        self.signer = tlog.NoteSigner(origin, Ed25519PrivateKey.generate())
        self.entries: list[bytes] = []
        self.rows: dict[int, list[bytes]] = {}

    @property
    def size(self) -> int:
        return len(self.entries)

    def _read(self, level: int, start: int, count: int) -> Sequence[bytes]:
        return self.rows[level][start : start + count]

    def append(self, entries: Sequence[bytes]) -> None:
        hashes = [tlog.leaf_hash(e) for e in entries]
        for level, (start, new) in tlog.rows_to_append(self.size, hashes, self._read).items():
            row = self.rows.setdefault(level, [])
            assert len(row) == start, (level, len(row), start)
            row.extend(new)
        self.entries.extend(entries)

    def read_tile(self, level: int, index: int, width: int) -> bytes:
        start = index * tlog.TILE_WIDTH
        return b"".join(self.rows[level][start : start + width])

    def root(self) -> bytes:
        return tlog.tree_hash(tlog.TileHashes(self, self.size), 0, self.size)

    def checkpoint(self) -> bytes:
        text = tlog.Checkpoint(self.signer.name, self.size, self.root()).text()
        return tlog.format_note(text, [self.signer.sign(text)])

    def _write(self, path: str, data: bytes) -> None:
        target = self.directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def publish(self, name: str = "checkpoint") -> bytes:
        """Write every tile and bundle of the current size, then the checkpoint."""
        for level, row in self.rows.items():
            limit = self.size >> (tlog.TILE_HEIGHT * level)
            for index in range(0, limit, tlog.TILE_WIDTH):
                width = min(tlog.TILE_WIDTH, limit - index)
                number = index // tlog.TILE_WIDTH
                self._write(
                    tlog.tile_path(level, number, width), b"".join(row[index : index + width])
                )
                if level == 0:
                    bundle = tlog.entry_bundle(self.entries[index : index + width])
                    self._write(tlog.entries_path(number, width), bundle)
        checkpoint = self.checkpoint()
        self._write(name, checkpoint)
        return checkpoint
