"""RFC 9162 hashing and proofs, held against the RFC's own recursive definitions.

The reference functions below transcribe RFC 9162 2.1.1, 2.1.3.1 and 2.1.4.1
literally, over lists; trustkit computes the same from complete subtrees and
verifies with the RFC's iterative algorithms. Every index and size up to 70
(past two levels of splitting, and odd shapes on both sides) is compared, and
each proof is tampered with in every position.
"""

from __future__ import annotations

import hashlib

import pytest

from trustkit import tlog
from trustkit.errors import ProofError


def entries(n: int) -> list[bytes]:
    return [f"entry {i}".encode() for i in range(n)]


def mth(d: list[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1 << ((n - 1).bit_length() - 1)
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


SIZES = [*range(1, 34), 63, 64, 65, 70]
"""Every shape up to 33 (two levels of splitting on both sides), then around 64."""


@pytest.fixture(scope="module")
def source() -> tlog.LeafHashes:
    return tlog.LeafHashes([tlog.leaf_hash(e) for e in entries(70)])


def test_hashes_are_rfc_6962() -> None:
    assert tlog.leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert (
        tlog.node_hash(b"a" * 32, b"b" * 32)
        == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()
    )
    assert (
        tlog.EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("size", SIZES)
def test_tree_hash_matches_the_definition(source: tlog.LeafHashes, size: int) -> None:
    assert tlog.tree_hash(source, 0, size) == mth(entries(size))


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_proofs_match_and_verify(source: tlog.LeafHashes, size: int) -> None:
    d = entries(size)
    root = mth(d)
    for index in range(size):
        proof = tlog.inclusion_proof(source, index, size)
        assert proof == path(index, d)
        tlog.verify_inclusion(tlog.leaf_hash(d[index]), index, size, proof, root)


@pytest.mark.parametrize("size", SIZES)
def test_consistency_proofs_match_and_verify(source: tlog.LeafHashes, size: int) -> None:
    d = entries(size)
    for old in range(1, size + 1):
        proof = tlog.consistency_proof(source, old, size)
        assert proof == subproof(old, d, True)
        tlog.verify_consistency(old, size, mth(d[:old]), mth(d), proof)


def _flipped(proof: list[bytes], position: int) -> list[bytes]:
    changed = list(proof)
    changed[position] = bytes([changed[position][0] ^ 1]) + changed[position][1:]
    return changed


@pytest.mark.parametrize("size", [2, 3, 7, 8, 9, 31, 64, 70])
def test_a_tampered_inclusion_proof_fails(source: tlog.LeafHashes, size: int) -> None:
    d = entries(size)
    root = mth(d)
    for index in range(size):
        proof = tlog.inclusion_proof(source, index, size)
        leaf = tlog.leaf_hash(d[index])
        for position in range(len(proof)):
            with pytest.raises(ProofError):
                tlog.verify_inclusion(leaf, index, size, _flipped(proof, position), root)
        # The same proof for another entry, another index, a shorter or longer proof.
        with pytest.raises(ProofError):
            tlog.verify_inclusion(tlog.leaf_hash(b"forged"), index, size, proof, root)
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaf, (index + 1) % size, size, proof, root)
        with pytest.raises(ProofError):
            tlog.verify_inclusion(leaf, index, size, [*proof, root], root)
        if proof:
            with pytest.raises(ProofError):
                tlog.verify_inclusion(leaf, index, size, proof[:-1], root)


@pytest.mark.parametrize("size", [2, 3, 7, 8, 9, 31, 64, 70])
def test_a_rewritten_history_fails_consistency(source: tlog.LeafHashes, size: int) -> None:
    d = entries(size)
    new_root = mth(d)
    for old in range(1, size):
        proof = tlog.consistency_proof(source, old, size)
        old_root = mth(d[:old])
        for position in range(len(proof)):
            with pytest.raises(ProofError):
                tlog.verify_consistency(old, size, old_root, new_root, _flipped(proof, position))
        # A fork: the same old size with one entry changed.
        forked = mth([*d[: old - 1], b"rewritten"])
        with pytest.raises(ProofError, match=r"rewritten|root"):
            tlog.verify_consistency(old, size, forked, new_root, proof)
        with pytest.raises(ProofError):
            tlog.verify_consistency(old, size, old_root, mth([*d[:-1], b"x"]), proof)


def test_edge_cases_of_consistency() -> None:
    root = mth(entries(5))
    tlog.verify_consistency(5, 5, root, root, [])
    tlog.verify_consistency(0, 5, tlog.EMPTY_ROOT, root, [])
    with pytest.raises(ProofError, match="two different roots"):
        tlog.verify_consistency(5, 5, root, mth(entries(4)), [])
    with pytest.raises(ProofError, match="not a prefix"):
        tlog.verify_consistency(6, 5, root, root, [])
    with pytest.raises(ProofError, match="empty"):
        tlog.verify_consistency(3, 5, mth(entries(3)), root, [])
    with pytest.raises(ProofError, match="32"):
        tlog.verify_consistency(3, 5, b"short", root, [root])


def test_edge_cases_of_inclusion(source: tlog.LeafHashes) -> None:
    leaf = tlog.leaf_hash(b"entry 0")
    tlog.verify_inclusion(leaf, 0, 1, [], leaf)
    with pytest.raises(ProofError, match="not in a log"):
        tlog.verify_inclusion(leaf, 1, 1, [], leaf)
    with pytest.raises(ProofError, match="not in a log"):
        tlog.inclusion_proof(source, 5, 5)
    with pytest.raises(ProofError, match="past"):
        tlog.inclusion_proof(source, 0, 71)
