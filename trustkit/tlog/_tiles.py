"""Tiles and entry bundles of C2SP tlog-tiles: paths, contents, and reading hashes back.

A log keeps one *row* of hashes per tile level: row 0 holds the leaf hashes,
row ``L + 1`` one hash per full tile of row ``L`` (the root of its 256
hashes, a complete subtree of ``256**(L+1)`` entries). Tile ``N`` of level
``L`` is hashes ``N*256 ...`` of row ``L``, 8,192 bytes when full; the
rightmost tile of each row is partial, of width ``(size // 256**L) % 256``
for a tree of ``size`` entries. Entry bundles hold the entries themselves,
each prefixed by its length as a big-endian uint16.

:func:`rows_to_append` says which hashes new entries add to each row, so a
store keeps the rows with one insert per hash and never re-reads the tree;
:class:`TileHashes` turns tiles (from a store or fetched over HTTP) into the
:class:`~trustkit.tlog._merkle.SubtreeSource` that proofs read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import LogFormatError, ProofError
from ._merkle import HASH_SIZE, leaf_hash, perfect_root

__all__ = [
    "MAX_ENTRY_SIZE",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileHashes",
    "TileReader",
    "TileRef",
    "entries_path",
    "entry_bundle",
    "parse_entry_bundle",
    "parse_tile_path",
    "rows_to_append",
    "tile_path",
    "tile_width",
    "tiles_for_size",
]

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
MAX_LEVEL = 63
MAX_ENTRY_SIZE = 0xFFFF
"""An entry bundle prefixes each entry with a uint16 length."""


def _index_path(index: int) -> str:
    if index < 0:
        raise ValueError(f"tile index {index} is negative")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _width_suffix(width: int) -> str:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"tile width {width} is not in 1..{TILE_WIDTH}")
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(level: int, index: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]``: index 1234067 is ``x001/x234/067``."""
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f"tile level {level} is not in 0..{MAX_LEVEL}")
    return f"tile/{level}/{_index_path(index)}{_width_suffix(width)}"


def entries_path(index: int, width: int = TILE_WIDTH) -> str:
    """``tile/entries/<N>[.p/<W>]``."""
    return f"tile/entries/{_index_path(index)}{_width_suffix(width)}"


@dataclass(frozen=True)
class TileRef:
    """A tile (``level`` 0..63) or an entry bundle (``level`` None), as a path names it."""

    level: int | None
    index: int
    width: int

    @property
    def path(self) -> str:
        if self.level is None:
            return entries_path(self.index, self.width)
        return tile_path(self.level, self.index, self.width)


_TILE_PATH = re.compile(
    r"tile/(?P<level>entries|0|[1-9][0-9]?)/(?P<index>(?:x[0-9]{3}/)*[0-9]{3})"
    r"(?:\.p/(?P<width>[1-9][0-9]{0,2}))?"
)


def parse_tile_path(path: str) -> TileRef:
    """The tile or bundle a path names, refusing every spelling the specification forbids."""
    match = _TILE_PATH.fullmatch(path)
    if match is None:
        raise LogFormatError(f"tile path {path!r}: not tile/<L>/<N>[.p/<W>] (C2SP tlog-tiles)")
    groups = match["index"].replace("x", "").split("/")
    if len(groups) > 1 and groups[0] == "000":
        raise LogFormatError(f"tile path {path!r}: the index has a leading zero group")
    index = int("".join(groups))
    width = int(match["width"]) if match["width"] else TILE_WIDTH
    if match["width"] and width >= TILE_WIDTH:
        raise LogFormatError(f"tile path {path!r}: a partial tile is 1 to 255 wide")
    level = None if match["level"] == "entries" else int(match["level"])
    if level is not None and level > MAX_LEVEL:
        raise LogFormatError(f"tile path {path!r}: level {level} is over {MAX_LEVEL}")
    return TileRef(level, index, width)


def tile_width(size: int, level: int, index: int) -> int:
    """The width tile ``index`` of ``level`` has in a tree of ``size`` entries (0: none)."""
    row = size >> (TILE_HEIGHT * level)
    full = row >> TILE_HEIGHT
    if index < full:
        return TILE_WIDTH
    if index == full:
        return row % TILE_WIDTH
    return 0


def tiles_for_size(size: int) -> Iterator[TileRef]:
    """The rightmost tile of every level for a tree of ``size``: what a new checkpoint needs."""
    level = 0
    while size >> (TILE_HEIGHT * level):
        row = size >> (TILE_HEIGHT * level)
        width = row % TILE_WIDTH
        index = row >> TILE_HEIGHT
        if width:
            yield TileRef(level, index, width)
        else:
            yield TileRef(level, index - 1, TILE_WIDTH)
        level += 1


RowReader = Callable[[int, int, int], Sequence[bytes]]
"""``read(level, start, count)``: hashes ``start ... start + count - 1`` of a row."""


def rows_to_append(
    size: int, new_leaf_hashes: Sequence[bytes], read: RowReader
) -> dict[int, tuple[int, list[bytes]]]:
    """What appending ``new_leaf_hashes`` to a log of ``size`` entries adds to each row.

    Returns ``{level: (first index, hashes)}``; ``read`` is asked only for the
    hashes of a tile that the new ones complete (at most 255 per level).
    """
    added: dict[int, tuple[int, list[bytes]]] = {}
    level, start, new = 0, size, list(new_leaf_hashes)
    while new:
        added[level] = (start, new)
        end = start + len(new)
        first_tile, last_tile = start >> TILE_HEIGHT, end >> TILE_HEIGHT
        completed: list[bytes] = []
        for tile in range(first_tile, last_tile):
            tile_start = tile << TILE_HEIGHT
            old = list(read(level, tile_start, start - tile_start)) if tile_start < start else []
            begin = max(tile_start, start) - start
            hashes = old + new[begin : begin + TILE_WIDTH - len(old)]
            completed.append(perfect_root(hashes))
        level, start, new = level + 1, first_tile, completed
    return added


class TileReader(Protocol):
    """Where :class:`TileHashes` gets tile bytes (a store, a directory, an HTTP client)."""

    def read_tile(self, level: int, index: int, width: int) -> bytes: ...


class TileHashes:
    """A :class:`~trustkit.tlog._merkle.SubtreeSource` over the tiles of a tree of ``size``.

    Each tile is read once (a proof needs O(log n) of them) and checked for its
    length; a tile's *contents* are checked by the proof they enter, against a
    root hash from a signed checkpoint.
    """

    def __init__(self, reader: TileReader, size: int) -> None:
        self._reader = reader
        self._size = size
        self._tiles: dict[tuple[int, int], bytes] = {}

    def _tile(self, level: int, index: int) -> bytes:
        key = (level, index)
        data = self._tiles.get(key)
        if data is None:
            width = tile_width(self._size, level, index)
            if not width:
                raise ProofError(f"tile {level}/{index} is past a tree of {self._size} entries")
            data = self._reader.read_tile(level, index, width)
            if len(data) != width * HASH_SIZE:
                raise LogFormatError(
                    f"{tile_path(level, index, width)}: {len(data)} bytes,"
                    f" not {width} hashes of {HASH_SIZE}"
                )
            self._tiles[key] = data
        return data

    def subtree(self, level: int, index: int) -> bytes:
        tile_level, within = divmod(level, TILE_HEIGHT)
        count = 1 << within
        first = index << within
        if (first + count) << (TILE_HEIGHT * tile_level) > self._size:
            raise ProofError(f"subtree {level}/{index} is past a tree of {self._size} entries")
        tile, offset = divmod(first, TILE_WIDTH)
        data = self._tile(tile_level, tile)
        hashes = [
            data[(offset + i) * HASH_SIZE : (offset + i + 1) * HASH_SIZE] for i in range(count)
        ]
        return perfect_root(hashes)


def entry_bundle(entries: Sequence[bytes]) -> bytes:
    """An entry bundle: each entry prefixed by its length (big-endian uint16)."""
    if not 1 <= len(entries) <= TILE_WIDTH:
        raise ValueError(f"an entry bundle holds 1 to {TILE_WIDTH} entries, not {len(entries)}")
    parts = []
    for entry in entries:
        if len(entry) > MAX_ENTRY_SIZE:
            raise LogFormatError(f"log entry: {len(entry)} bytes, over {MAX_ENTRY_SIZE}")
        parts.append(len(entry).to_bytes(2, "big") + entry)
    return b"".join(parts)


def parse_entry_bundle(data: bytes, width: int, *, tile: bytes | None = None) -> list[bytes]:
    """The ``width`` entries of a bundle; with the level-0 ``tile``, each checked against it."""
    entries: list[bytes] = []
    position = 0
    while position < len(data):
        if position + 2 > len(data):
            raise LogFormatError(f"entry bundle: truncated length at byte {position}")
        length = int.from_bytes(data[position : position + 2], "big")
        position += 2
        if position + length > len(data):
            raise LogFormatError(f"entry bundle: entry #{len(entries)} is truncated")
        entries.append(data[position : position + length])
        position += length
        if len(entries) > width:
            break
    if len(entries) != width:
        raise LogFormatError(f"entry bundle: {len(entries)} entries where {width} were expected")
    if tile is not None:
        if len(tile) != width * HASH_SIZE:
            raise LogFormatError(f"level-0 tile: {len(tile)} bytes for {width} entries")
        for i, entry in enumerate(entries):
            if leaf_hash(entry) != tile[i * HASH_SIZE : (i + 1) * HASH_SIZE]:
                raise ProofError(f"entry bundle: entry #{i} does not hash to its leaf")
    return entries
