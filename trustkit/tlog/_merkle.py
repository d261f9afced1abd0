"""The Merkle tree of RFC 6962 / RFC 9162: hashes, proofs, and their verification.

A log of entries ``D[0:n]`` has the tree hash ``MTH(D[0:n])`` (RFC 9162 2.1.1)::

    MTH({})      = SHA-256()
    MTH({d0})    = SHA-256(0x00 || d0)                       a leaf
    MTH(D[0:n])  = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))
                   k the largest power of two smaller than n

Proofs are built from a :class:`SubtreeSource`, which answers the hash of a
*complete, aligned* subtree (``2**level`` entries starting at a multiple of
``2**level``); every other hash a proof needs is combined from those. The
tiles of C2SP tlog-tiles are one such source (:mod:`trustkit.tlog._tiles`);
a list of leaf hashes in memory is another.

Verification follows RFC 9162 2.1.3.2 (inclusion) and 2.1.4.2 (consistency)
step by step: it needs no source, only the proof, the sizes and the hashes a
client already trusts (from a checkpoint whose signature it checked).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

from ..errors import ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LeafHashes",
    "SubtreeSource",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "perfect_root",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty log (RFC 9162 2.1.1)."""


def leaf_hash(entry: bytes) -> bytes:
    """The hash of one log entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def perfect_root(hashes: Sequence[bytes]) -> bytes:
    """The root over a power-of-two number of hashes (a full tile, or part of one)."""
    count = len(hashes)
    if count == 0 or count & (count - 1):
        raise ValueError(f"perfect_root: {count} hashes is not a power of two")
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


class SubtreeSource(Protocol):
    """Where proofs read their hashes from."""

    def subtree(self, level: int, index: int) -> bytes:
        """MTH(D[index * 2**level : (index + 1) * 2**level]), a complete subtree."""
        ...


class LeafHashes:
    """A :class:`SubtreeSource` over leaf hashes held in memory (a small log, or a test)."""

    def __init__(self, hashes: Sequence[bytes]) -> None:
        self._hashes = list(hashes)

    def subtree(self, level: int, index: int) -> bytes:
        width = 1 << level
        start = index * width
        if start + width > len(self._hashes):
            raise ProofError(f"subtree {level}/{index}: past the {len(self._hashes)} entries held")
        return perfect_root(self._hashes[start : start + width])


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def tree_hash(source: SubtreeSource, start: int, end: int) -> bytes:
    """MTH(D[start:end]), from as few complete subtrees as the range allows."""
    n = end - start
    if n < 0:
        raise ValueError(f"tree_hash: empty range {start}:{end}")
    if n == 0:
        return EMPTY_ROOT
    if n & (n - 1) == 0 and start % n == 0:
        return source.subtree(n.bit_length() - 1, start // n)
    k = _split(n)
    return node_hash(tree_hash(source, start, start + k), tree_hash(source, start + k, end))


def inclusion_proof(source: SubtreeSource, index: int, size: int) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 2.1.3.1, leaf to root."""
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: entry {index} is not in a log of {size} entries")
    proof: list[bytes] = []
    start, end = 0, size
    # Walk from the root down to the leaf, collecting siblings; the proof lists them upwards.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            proof.append(tree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(tree_hash(source, start, start + k))
            start += k
    proof.reverse()
    return proof


def consistency_proof(source: SubtreeSource, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[0:new_size]) of RFC 9162 2.1.4.1."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"consistency proof: {old_size} entries is not a prefix of {new_size}")
    if old_size in (0, new_size):
        return []
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    # SUBPROOF(m, D[start:end], whole), unrolled: each step narrows to one half.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(tree_hash(source, start + k, end))
            end = start + k
        else:
            proof.append(tree_hash(source, start, start + k))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(tree_hash(source, start, end))
    proof.reverse()
    return proof


def _check_hashes(what: str, hashes: Sequence[bytes]) -> None:
    for position, value in enumerate(hashes):
        if len(value) != HASH_SIZE:
            raise ProofError(f"{what}: hash #{position} is {len(value)} bytes, not {HASH_SIZE}")


def verify_inclusion(
    entry_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that the leaf ``entry_hash`` is entry ``index`` of the log whose root is ``root``.

    Raises :class:`~trustkit.errors.ProofError` unless it is (RFC 9162 2.1.3.2).
    """
    _check_hashes("inclusion proof", [entry_hash, root, *proof])
    if not 0 <= index < size:
        raise ProofError(f"inclusion proof: entry {index} is not in a log of {size} entries")
    fn, sn, r = index, size - 1, entry_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof: shorter than the tree is deep")
    if r != root:
        raise ProofError(f"inclusion proof: entry {index} is not in the log of {size} entries")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the log of ``old_size`` entries is a prefix of the one of ``new_size``.

    Raises :class:`~trustkit.errors.ProofError` unless it is (RFC 9162 2.1.4.2):
    a log that rewrote any of its first ``old_size`` entries cannot pass.
    """
    _check_hashes("consistency proof", [old_root, new_root, *proof])
    if not 0 <= old_size <= new_size:
        raise ProofError(f"consistency proof: {old_size} entries is not a prefix of {new_size}")
    if old_size == new_size:
        if proof:
            raise ProofError("consistency proof: must be empty for equal sizes")
        if old_root != new_root:
            raise ProofError(f"consistency proof: two different roots for {new_size} entries")
        return
    if old_size == 0:
        if proof:
            raise ProofError("consistency proof: must be empty from the empty log")
        return
    if not proof:
        raise ProofError("consistency proof: empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof: longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof: shorter than the tree is deep")
    if fr != old_root:
        raise ProofError(f"consistency proof: the log's first {old_size} entries were rewritten")
    if sr != new_root:
        raise ProofError(f"consistency proof: does not lead to the root of {new_size} entries")
