"""RFC 9162 §2.1 Merkle trees: hashing, inclusion and consistency proofs, verification.

Leaves are ``SHA-256(0x00 || entry)``, interior nodes ``SHA-256(0x01 || left || right)``.
:class:`MerkleTree` keeps every complete subtree hash, level by level, so appending a
leaf is amortised O(1) (worst case O(log n)), the root of any size is O(log n), and a
proof for any leaf of any earlier tree size costs O(log² n) at most, never a recompute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from syncledger.audit.errors import MerkleError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_MEMO_LIMIT = 8192


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes | bytearray, right: bytes | bytearray) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_pow2_below(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class SubtreeHashes(Protocol):
    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for ``0 ≤ start < end ≤ size``."""
        ...


def inclusion_path(tree: SubtreeHashes, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf-side first."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = largest_pow2_below(hi - lo)
        if index - lo < k:
            path.append(tree.subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(tree.subtree(lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_path(tree: SubtreeHashes, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (empty when the sizes match)."""
    if not 0 < old_size <= new_size:
        raise MerkleError(f"no consistency proof from size {old_size} to {new_size}")
    path: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = largest_pow2_below(hi - lo)
        if m <= k:
            path.append(tree.subtree(lo + k, hi))
            hi = lo + k
        else:
            path.append(tree.subtree(lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        path.append(tree.subtree(lo, hi))
    path.reverse()
    return path


def _shift_until_odd_or_zero(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def root_from_inclusion(index: int, size: int, leaf: bytes, path: Sequence[bytes]) -> bytes:
    """The root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4)."""
    if not 0 <= index < size:
        raise MerkleError(f"leaf {index} is not in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            raise MerkleError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise MerkleError("inclusion proof is shorter than the tree is deep")
    return r


def _all_hashes(*hashes: bytes, path: Sequence[bytes] = ()) -> bool:
    """Every value is a SHA-256 hash: 32 bytes, no more, no fewer (empty is not one)."""
    return all(len(h) == HASH_SIZE for h in (*hashes, *path))


def verify_inclusion(
    index: int, size: int, leaf: bytes, path: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does ``path`` prove ``leaf`` at ``index`` under ``root``?

    Refuses degenerate input outright: a leaf, root or path entry that is not a 32-byte
    hash (an empty root and leaf for a one-leaf tree would otherwise "match")."""
    if not _all_hashes(leaf, root, path=path):
        return False
    try:
        return root_from_inclusion(index, size, leaf, path) == root
    except MerkleError:
        return False


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2, plus the trivial case of equal sizes (empty proof, same root).

    Refused: an old size of 0 (a consistency proof from the empty tree proves nothing,
    RFC 9162 §2.1.4 defines proofs for ``0 < m ≤ n`` only), an old size above the new one,
    and, whenever hashing is involved, any root or path entry that is not a 32-byte hash.
    Equal sizes are only a byte comparison of the two roots, exactly as in
    transparency-dev/merkle's published vectors (tests/fixtures/merkle_vectors/)."""
    if not 0 < old_size <= new_size:
        return False
    if old_size == new_size:
        return not path and old_root == new_root
    if not _all_hashes(old_root, new_root, path=path):
        return False
    if not path:
        return False
    return _check_consistency(old_size, new_size, old_root, new_root, list(path))


def _check_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, path: list[bytes]
) -> bool:
    if old_size & (old_size - 1) == 0:
        path = [old_root, *path]
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_until_odd_or_zero(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


class MerkleTree:
    """An append-only tree holding every complete subtree hash, level by level.

    ``levels[k]`` is the concatenation of the hashes of the complete subtrees of ``2**k``
    leaves, left to right; it holds ``size >> k`` hashes.
    """

    def __init__(self, levels: Sequence[bytes | bytearray] = ()) -> None:
        self.levels: list[bytearray] = [bytearray(level) for level in levels] or [bytearray()]
        self._memo: dict[tuple[int, int], bytes] = {}
        self._check_shape()

    def _check_shape(self) -> None:
        size = len(self.levels[0]) // HASH_SIZE
        for k, level in enumerate(self.levels):
            if len(level) != (size >> k) * HASH_SIZE:
                raise MerkleError(f"level {k} holds {len(level)} bytes; tree size is {size}")

    @property
    def size(self) -> int:
        return len(self.levels[0]) // HASH_SIZE

    def leaf(self, index: int) -> bytes:
        return self.node(0, index)

    def node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self.levels[level][start : start + HASH_SIZE])

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; completes every subtree that it closes."""
        self.extend((leaf,))

    def append_entries(self, entries: Iterable[bytes]) -> None:
        self.extend(leaf_hash(entry) for entry in entries)

    def extend(self, leaves: Iterable[bytes]) -> None:
        old_size = self.size
        level0 = self.levels[0]
        for leaf in leaves:
            if len(leaf) != HASH_SIZE:
                raise MerkleError("a leaf hash must be 32 bytes")
            level0 += leaf
        self._complete_from(old_size)

    def _complete_from(self, old_size: int) -> None:
        new_size, k = self.size, 0
        while (new_size >> (k + 1)) > (old_size >> (k + 1)):
            if len(self.levels) == k + 1:
                self.levels.append(bytearray())
            src, dst = self.levels[k], self.levels[k + 1]
            for j in range(old_size >> (k + 1), new_size >> (k + 1)):
                off = 2 * j * HASH_SIZE
                dst += node_hash(src[off : off + HASH_SIZE], src[off + HASH_SIZE : off + 64])
            k += 1

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from stored complete subtrees (memoised when incomplete)."""
        if not 0 <= start < end <= self.size:
            raise MerkleError(f"no subtree [{start}, {end}) in a tree of size {self.size}")
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.node(width.bit_length() - 1, start // width)
        cached = self._memo.get((start, end))
        if cached is None:
            k = largest_pow2_below(width)
            cached = node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[(start, end)] = cached
        return cached

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (the whole tree by default)."""
        size = self.size if size is None else size
        if size > self.size or size < 0:
            raise MerkleError(f"tree has {self.size} leaves, not {size}")
        return self.subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]), walking up the aligned levels: at level ``k`` the sibling
        of the node holding ``index`` is a stored complete subtree, the (memoised) hash of
        the incomplete right edge, or absent (a lone node is promoted, RFC 9162 §2.1.1)."""
        size = self.size if size is None else size
        if size > self.size:
            raise MerkleError(f"tree has {self.size} leaves, not {size}")
        if not 0 <= index < size:
            raise MerkleError(f"leaf {index} is not in a tree of size {size}")
        path: list[bytes] = []
        k = 0
        while (1 << k) < size:
            sibling = (index >> k) ^ 1
            start, end = sibling << k, (sibling + 1) << k
            if end <= size:
                level = self.levels[k]
                path.append(bytes(level[sibling * HASH_SIZE : (sibling + 1) * HASH_SIZE]))
            elif start < size:
                path.append(self.subtree(start, size))
            k += 1
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new_size = self.size if new_size is None else new_size
        if new_size > self.size:
            raise MerkleError(f"tree has {self.size} leaves, not {new_size}")
        return consistency_path(self, old_size, new_size)
