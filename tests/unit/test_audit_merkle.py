"""RFC 9162 Merkle code against a naive reference implementation of §2.1."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncledger.audit.errors import MerkleError
from syncledger.audit.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

# ---------------------------------------------------------------- naive reference (RFC text)


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: list[bytes]) -> bytes:
    if not d:
        return _h(b"")
    if len(d) == 1:
        return _h(b"\x00" + d[0])
    k = _k(len(d))
    return _h(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [ref_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


def entries(n: int) -> list[bytes]:
    return [f"event-{i}".encode() for i in range(n)]


def tree_of(n: int) -> MerkleTree:
    tree = MerkleTree()
    tree.append_entries(entries(n))
    return tree


# ---------------------------------------------------------------- exhaustive small sizes

MAX_EXHAUSTIVE = 70


def test_roots_match_reference_for_every_size() -> None:
    tree = MerkleTree()
    assert tree.root() == EMPTY_ROOT
    data = entries(300)
    for n, entry in enumerate(data, 1):
        tree.append_entries([entry])
        assert tree.root() == ref_mth(data[:n]), n
    for n in range(301):
        assert tree.root(n) == ref_mth(data[:n]), n


def test_inclusion_proofs_for_every_size_and_index() -> None:
    data = entries(MAX_EXHAUSTIVE)
    tree = tree_of(MAX_EXHAUSTIVE)
    for n in range(1, MAX_EXHAUSTIVE + 1):
        root = ref_mth(data[:n])
        for m in range(n):
            proof = tree.inclusion_proof(m, n)
            assert proof == ref_path(m, data[:n]), (m, n)
            assert verify_inclusion(m, n, leaf_hash(data[m]), proof, root)


def test_consistency_proofs_for_every_pair_of_sizes() -> None:
    data = entries(MAX_EXHAUSTIVE)
    tree = tree_of(MAX_EXHAUSTIVE)
    for n in range(1, MAX_EXHAUSTIVE + 1):
        for m in range(1, n + 1):
            proof = tree.consistency_proof(m, n)
            assert proof == ref_subproof(m, data[:n], True), (m, n)
            assert verify_consistency(m, n, ref_mth(data[:m]), ref_mth(data[:n]), proof)


# ---------------------------------------------------------------- properties up to 400 leaves

BIG = MerkleTree()
BIG.append_entries(entries(400))
BIG_DATA = entries(400)


@st.composite
def size_and_index(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 400))
    return n, draw(st.integers(0, n - 1))


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 400))
    return draw(st.integers(1, n)), n


@settings(max_examples=400, deadline=None)
@given(size_and_index())
def test_inclusion_matches_reference_and_verifies(case: tuple[int, int]) -> None:
    n, m = case
    proof = BIG.inclusion_proof(m, n)
    assert proof == ref_path(m, BIG_DATA[:n])
    assert verify_inclusion(m, n, leaf_hash(BIG_DATA[m]), proof, BIG.root(n))


@settings(max_examples=300, deadline=None)
@given(size_and_index(), st.data())
def test_inclusion_rejects_any_altered_proof(case: tuple[int, int], data: st.DataObject) -> None:
    n, m = case
    leaf, proof, root = leaf_hash(BIG_DATA[m]), BIG.inclusion_proof(m, n), BIG.root(n)
    assert not verify_inclusion(m, n, leaf_hash(b"other"), proof, root)
    assert not verify_inclusion(m, n, leaf, proof, leaf_hash(b"other root"))
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1 :]]
        assert not verify_inclusion(m, n, leaf, bad, root)
        assert not verify_inclusion(m, n, leaf, proof[:-1], root)
    assert not verify_inclusion(m, n, leaf, [*proof, root], root)
    if n > 1:
        other = data.draw(st.integers(0, n - 1).filter(lambda j: j != m))
        assert not verify_inclusion(other, n, leaf, proof, root)


@settings(max_examples=400, deadline=None)
@given(two_sizes())
def test_consistency_matches_reference_and_verifies(case: tuple[int, int]) -> None:
    m, n = case
    proof = BIG.consistency_proof(m, n)
    assert proof == ref_subproof(m, BIG_DATA[:n], True)
    assert verify_consistency(m, n, BIG.root(m), BIG.root(n), proof)


@settings(max_examples=300, deadline=None)
@given(two_sizes(), st.data())
def test_consistency_rejects_forks(case: tuple[int, int], data: st.DataObject) -> None:
    m, n = case
    proof = BIG.consistency_proof(m, n)
    forked = entries(n)
    j = data.draw(st.integers(0, m - 1))
    forked[j] = b"rewritten history"
    assert not verify_consistency(m, n, ref_mth(forked[:m]), BIG.root(n), proof)
    assert not verify_consistency(m, n, BIG.root(m), ref_mth(forked), proof)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        bad = [*proof[:i], bytes([proof[i][0] ^ 1]) + proof[i][1:], *proof[i + 1 :]]
        assert not verify_consistency(m, n, BIG.root(m), BIG.root(n), bad)


# ---------------------------------------------------------------- edges


def test_incremental_append_equals_bulk_build() -> None:
    one_by_one = MerkleTree()
    for entry in entries(257):
        one_by_one.append(leaf_hash(entry))
    assert one_by_one.levels == tree_of(257).levels


def test_levels_restore_the_same_tree() -> None:
    tree = tree_of(123)
    again = MerkleTree(tree.levels)
    again.append_entries([b"next"])
    tree.append_entries([b"next"])
    assert again.root() == tree.root()


def test_malformed_levels_are_refused() -> None:
    tree = tree_of(8)
    with pytest.raises(MerkleError):
        MerkleTree([tree.levels[0], tree.levels[1][:32]])


def test_out_of_range_requests_are_refused() -> None:
    tree = tree_of(5)
    with pytest.raises(MerkleError):
        tree.inclusion_proof(5, 5)
    with pytest.raises(MerkleError):
        tree.consistency_proof(0, 5)
    with pytest.raises(MerkleError):
        tree.root(6)
    with pytest.raises(MerkleError):
        root_from_inclusion(3, 3, b"\x00" * 32, [])


def test_degenerate_hashes_are_refused() -> None:
    tree = tree_of(4)
    leaf, proof, root = tree.leaf(1), tree.inclusion_proof(1), tree.root()
    assert verify_inclusion(1, 4, leaf, proof, root)
    for bad in (b"", leaf[:31], leaf + b"\x00"):
        assert not verify_inclusion(1, 4, bad, proof, root)
        assert not verify_inclusion(1, 4, leaf, proof, bad)
        assert not verify_inclusion(1, 4, leaf, [proof[0], bad], root)
    assert not verify_inclusion(0, 1, b"", [], b"")
    c_proof = tree.consistency_proof(3, 4)
    assert verify_consistency(3, 4, tree.root(3), root, c_proof)
    for bad in (b"", root[:16], root + b"\x01"):
        assert not verify_consistency(3, 4, bad, root, c_proof)
        assert not verify_consistency(3, 4, tree.root(3), bad, c_proof)
        assert not verify_consistency(3, 4, tree.root(3), root, [*c_proof[:-1], bad])


def test_trivial_consistency_cases() -> None:
    tree = tree_of(4)
    assert verify_consistency(4, 4, tree.root(), tree.root(), [])
    assert not verify_consistency(4, 4, tree.root(), tree.root(3), [])
    assert not verify_consistency(0, 4, EMPTY_ROOT, tree.root(), [])
    assert not verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(3, 4, tree.root(3), tree.root(), [])
    assert not verify_consistency(5, 4, tree.root(), tree.root(), [])


def test_every_proof_up_to_300_leaves_verifies_against_the_reference_roots() -> None:
    data = entries(300)
    roots = [ref_mth(data[:n]) for n in range(301)]
    tree = tree_of(300)
    for n in range(1, 301):
        for m in range(n):
            assert verify_inclusion(m, n, leaf_hash(data[m]), tree.inclusion_proof(m, n), roots[n])
        for m in range(1, n + 1):
            assert verify_consistency(m, n, roots[m], roots[n], tree.consistency_proof(m, n))
