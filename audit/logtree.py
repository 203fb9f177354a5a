"""The Merkle tree over the event log, kept up to date incrementally.

Leaf ``i`` is the event at stream sequence ``i + 1``, hashed over its exact stored bytes.
``sync`` reads only the events appended since the last sync (after re-checking the last
one it had seen, so a cache from another log or a rewritten event is noticed).
"""

from __future__ import annotations

from pathlib import Path

from syncledger.audit.errors import LogDivergence
from syncledger.audit.files import locked
from syncledger.audit.merkle import MerkleTree, leaf_hash
from syncledger.audit.treefiles import TreeFiles
from syncledger.core.store import EventStore, StoredEvent


class LogTree:
    def __init__(self, tree: MerkleTree, files: TreeFiles | None = None) -> None:
        self.tree = tree
        self.files = files

    @classmethod
    def open(cls, audit_dir: Path) -> LogTree:
        files = TreeFiles(audit_dir / "tree")
        return cls(files.load(), files)

    @classmethod
    def in_memory(cls) -> LogTree:
        return cls(MerkleTree())

    @property
    def size(self) -> int:
        return self.tree.size

    async def sync(self, store: EventStore) -> int:
        """Append the leaves of every event stored since the last sync; return the size."""
        if self.files is None:
            await self._read_new(store)
            return self.size
        with locked(self.files.lock_path):
            if self.files.committed_size() != self.size:
                self.tree = self.files.load()
            await self._read_new(store)
            self.files.save(self.tree)
        return self.size

    async def _read_new(self, store: EventStore) -> None:
        start = self.size
        async for stored in store.read(from_seq=max(start, 1)):
            if stored.seq == start and start > 0:
                self._check_known(stored)
                continue
            self._append(stored)

    def _check_known(self, stored: StoredEvent) -> None:
        if leaf_hash(stored.raw) != self.tree.leaf(stored.seq - 1):
            raise LogDivergence(
                f"event {stored.seq} no longer hashes to the leaf recorded for it: the log was "
                "altered or this data directory belongs to another log; run "
                "`syncledger audit verify-log`"
            )

    def _append(self, stored: StoredEvent) -> None:
        expected = self.size + 1
        if stored.seq != expected:
            raise LogDivergence(
                f"event {expected} is missing from the log (next stored event is "
                f"{stored.seq}): events were deleted"
            )
        self.tree.append(leaf_hash(stored.raw))
