"""tlog-tiles: paths as the specification spells them, rows grown incrementally, proofs
read from tiles, and entry bundles checked against their tile."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tlog._dirlog import DirectoryLog
from trustkit import tlog
from trustkit.errors import LogFormatError, ProofError


@pytest.mark.parametrize(
    ("level", "index", "width", "path"),
    [
        (0, 0, 256, "tile/0/000"),
        (0, 1234067, 256, "tile/0/x001/x234/067"),
        (3, 1234067, 8, "tile/3/x001/x234/067.p/8"),
        (1, 1000, 1, "tile/1/x001/000.p/1"),
        (0, 999, 255, "tile/0/999.p/255"),
    ],
)
def test_tile_paths_round_trip(level: int, index: int, width: int, path: str) -> None:
    assert tlog.tile_path(level, index, width) == path
    assert tlog.parse_tile_path(path) == tlog.TileRef(level, index, width)
    entries = path.replace(f"tile/{level}/", "tile/entries/", 1)
    assert tlog.entries_path(index, width) == entries
    assert tlog.parse_tile_path(entries) == tlog.TileRef(None, index, width)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/1",  # not three digits
        "tile/00/000",  # level with a leading zero
        "tile/64/000",  # level over 63
        "tile/0/x000/001",  # a leading zero group
        "tile/0/001/002",  # a non-final group without x
        "tile/0/000.p/0",
        "tile/0/000.p/256",  # a full tile has no .p
        "tile/0/000.p/007",
        "tile/entries/000/",
        "tile/../000",
        "tile/0/000\n",
    ],
)
def test_tile_paths_the_specification_forbids_are_refused(path: str) -> None:
    with pytest.raises(LogFormatError, match="tile path"):
        tlog.parse_tile_path(path)


def test_the_specifications_example_of_70000_entries() -> None:
    # "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1
    # tile, one partial level 1 tile of width 17, and one partial level 2 tile of width 1".
    size = 70_000
    assert [tlog.tile_width(size, 0, n) for n in (0, 272, 273, 274)] == [256, 256, 112, 0]
    assert [tlog.tile_width(size, 1, n) for n in (0, 1, 2)] == [256, 17, 0]
    assert [tlog.tile_width(size, 2, n) for n in (0, 1)] == [1, 0]
    assert list(tlog.tiles_for_size(size)) == [
        tlog.TileRef(0, 273, 112),
        tlog.TileRef(1, 1, 17),
        tlog.TileRef(2, 0, 1),
    ]
    assert list(tlog.tiles_for_size(256)) == [tlog.TileRef(0, 0, 256), tlog.TileRef(1, 0, 1)]


@pytest.mark.parametrize(
    "batches", [[1] * 300, [255, 1, 1], [256, 256], [70_000], [600, 65_000, 5]]
)
def test_rows_grown_in_any_batches_give_the_same_tree(tmp_path: Path, batches: list[int]) -> None:
    log = DirectoryLog(tmp_path)
    total = sum(batches)
    everything = [f"certificate {i}".encode() for i in range(total)]
    done = 0
    for count in batches:
        log.append(everything[done : done + count])
        done += count
    whole = DirectoryLog(tmp_path)
    whole.append(everything)
    assert log.rows == whole.rows
    assert log.root() == tlog.tree_hash(
        tlog.LeafHashes([tlog.leaf_hash(e) for e in everything]), 0, total
    )


def test_proofs_from_tiles_verify(tmp_path: Path) -> None:
    log = DirectoryLog(tmp_path)
    log.append([f"certificate {i}".encode() for i in range(66_000)])
    old_size, old_root = log.size, log.root()
    log.append([f"certificate {i}".encode() for i in range(66_000, 70_001)])
    root = log.root()
    reads: list[tuple[int, int, int]] = []

    class Counting:
        def read_tile(self, level: int, index: int, width: int) -> bytes:
            reads.append((level, index, width))
            return log.read_tile(level, index, width)

    for index in (0, 255, 256, 65_535, 65_536, 70_000):
        reads.clear()
        proof = tlog.inclusion_proof(tlog.TileHashes(Counting(), log.size), index, log.size)
        tlog.verify_inclusion(tlog.leaf_hash(log.entries[index]), index, log.size, proof, root)
        # O(log n) tiles: a few per level, never the whole row.
        assert len(reads) <= 3 * 3, reads
    proof = tlog.consistency_proof(tlog.TileHashes(log, log.size), old_size, log.size)
    tlog.verify_consistency(old_size, log.size, old_root, root, proof)


def test_a_tile_of_the_wrong_length_or_past_the_tree_is_refused(tmp_path: Path) -> None:
    log = DirectoryLog(tmp_path)
    log.append([b"a", b"b", b"c"])

    class Short:
        def read_tile(self, level: int, index: int, width: int) -> bytes:
            return log.read_tile(level, index, width)[:-1]

    with pytest.raises(LogFormatError, match=r"tile/0/000\.p/3: 95 bytes"):
        tlog.tree_hash(tlog.TileHashes(Short(), 3), 0, 3)
    with pytest.raises(ProofError, match="past a tree of 3"):
        tlog.inclusion_proof(tlog.TileHashes(log, 3), 0, 4)


def test_entry_bundles_round_trip_and_are_checked_against_their_tile() -> None:
    entries = [b"", b"x" * 65_535, b"certificate"]
    bundle = tlog.entry_bundle(entries)
    tile = b"".join(tlog.leaf_hash(e) for e in entries)
    assert tlog.parse_entry_bundle(bundle, 3, tile=tile) == entries
    with pytest.raises(LogFormatError, match="65536 bytes"):
        tlog.entry_bundle([b"x" * 65_536])
    with pytest.raises(LogFormatError, match="2 entries where 3"):
        tlog.parse_entry_bundle(tlog.entry_bundle(entries[:2]), 3)
    with pytest.raises(LogFormatError, match="4 entries where 3"):
        tlog.parse_entry_bundle(bundle + b"\x00\x00", 3)
    with pytest.raises(LogFormatError, match="truncated"):
        tlog.parse_entry_bundle(bundle[:-1], 3)
    changed = bundle[:-1] + b"X"
    with pytest.raises(ProofError, match="entry #2 does not hash"):
        tlog.parse_entry_bundle(changed, 3, tile=tile)
