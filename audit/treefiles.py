"""The Merkle tree of the log, persisted under ``<data>/audit/tree``.

One file per level of complete subtree hashes (``level-NN.bin``, 32 bytes per node) and
``meta.json`` holding the committed tree size. New nodes are appended and synced before
``meta.json`` is replaced, so a crash leaves at most some unreferenced bytes at the end of
a level file, which the next load ignores and the next save overwrites.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from syncledger.audit.files import atomic_write
from syncledger.audit.merkle import HASH_SIZE, MerkleTree


class TreeFiles:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @property
    def lock_path(self) -> Path:
        return self.directory / ".lock"

    def _level(self, k: int) -> Path:
        return self.directory / f"level-{k:02d}.bin"

    def _meta(self) -> Path:
        return self.directory / "meta.json"

    def committed_size(self) -> int:
        try:
            return int(json.loads(self._meta().read_text())["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0

    def load(self) -> MerkleTree:
        """The stored tree, or an empty one when nothing usable is stored."""
        size = self.committed_size()
        levels: list[bytes] = []
        k = 0
        while size >> k or k == 0:
            want = (size >> k) * HASH_SIZE
            data = self._read_prefix(self._level(k), want)
            if data is None:
                return MerkleTree()
            levels.append(data)
            k += 1
        return MerkleTree(levels)

    @staticmethod
    def _read_prefix(path: Path, length: int) -> bytes | None:
        if length == 0:
            return b""
        try:
            with open(path, "rb") as fh:
                data = fh.read(length)
        except OSError:
            return None
        return data if len(data) == length else None

    def save(self, tree: MerkleTree) -> None:
        old = min(self.committed_size(), tree.size)
        self.directory.mkdir(parents=True, exist_ok=True)
        for k, level in enumerate(tree.levels):
            self._append_level(k, level, (old >> k) * HASH_SIZE)
        atomic_write(self._meta(), json.dumps({"format": 1, "size": tree.size}).encode())

    def clear(self) -> None:
        """Forget the stored tree (it will be rebuilt from the log)."""
        self._meta().unlink(missing_ok=True)
        for path in self.directory.glob("level-*.bin"):
            path.unlink()

    def _append_level(self, k: int, level: bytearray, keep: int) -> None:
        path = self._level(k)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        with os.fdopen(fd, "r+b") as fh:
            fh.truncate(keep)
            fh.seek(keep)
            fh.write(level[keep:])
            fh.flush()
            os.fsync(fh.fileno())
