"""After a checkpoint is signed: ask each configured witness to cosign it, keep the
cosigned checkpoint, and (optionally) write it to WORM storage.

Cosigned checkpoints are kept under ``<data dir>/audit/witnessed/<tree size>.note``: the
C2SP checkpoint with the log's signature and every witness cosignature received for it
(``witnessed/sizes.json`` remembers the last size each witness cosigned, the old size of
the next request). These copies are for packages and for ``verify-log``; they are not
what makes the log trustworthy: the witness keeps its own copy outside the data
directory, and ``verify-log --witness`` asks it (§Monitor Retrieval Mechanism).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from syncledger.audit.files import atomic_write, locked
from syncledger.audit.merkle import MerkleTree
from syncledger.audit.note import NoteError, SignedNote, parse_note
from syncledger.audit.note_checkpoint import parse_note_text
from syncledger.audit.witness_client import WitnessEndpoint, WitnessRefused, request_cosignature
from syncledger.audit.worm import WormError

WormWrite = Callable[[SignedNote], Awaitable[str]]


class WitnessedStore:
    """The cosigned checkpoints kept in the data directory (``audit/witnessed``)."""

    def __init__(self, audit_dir: Path) -> None:
        self.directory = audit_dir / "witnessed"

    def save(self, note: SignedNote) -> SignedNote:
        size = parse_note_text(note.text).tree_size
        path = self.directory / f"{size}.note"
        with locked(self.directory / ".lock"):
            held = self._read(path)
            if held is not None and held.text == note.text:
                note = held.with_signatures(note.signatures)
            atomic_write(path, note.render(), mode=0o644)
        return note

    def notes(self) -> list[SignedNote]:
        """Every kept cosigned checkpoint, by tree size."""
        paths = sorted(self.directory.glob("*.note"), key=lambda p: int(p.stem))
        return [n for n in (self._read(p) for p in paths) if n is not None]

    def at(self, size: int) -> SignedNote | None:
        return self._read(self.directory / f"{size}.note")

    def _read(self, path: Path) -> SignedNote | None:
        try:
            return parse_note(path.read_bytes())
        except (FileNotFoundError, NoteError):
            return None

    def old_size(self, witness: WitnessEndpoint) -> int:
        return int(self._sizes().get(witness.verifier.vkey(), 0))

    def remember(self, witness: WitnessEndpoint, size: int) -> None:
        with locked(self.directory / ".lock"):
            sizes = self._sizes()
            sizes[witness.verifier.vkey()] = size
            atomic_write(self.directory / "sizes.json", json.dumps(sizes).encode(), mode=0o644)

    def _sizes(self) -> dict[str, int]:
        try:
            return dict(json.loads((self.directory / "sizes.json").read_text()))
        except (FileNotFoundError, ValueError):
            return {}


@dataclass
class Published:
    cosigned_by: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    worm: str | None = None
    note: SignedNote | None = None


@dataclass
class CheckpointPublisher:
    """The witnesses to ask (and a WORM writer) for each new checkpoint."""

    witnesses: list[WitnessEndpoint]
    store: WitnessedStore
    worm: WormWrite | None = None
    timeout: float = 10.0
    #: how requests reach the witnesses (tests: an ASGI transport); None: the network
    transport: httpx.AsyncBaseTransport | None = None

    async def witness(self, note: SignedNote, tree: MerkleTree) -> Published:
        """Ask every witness; keep what they cosigned (``refusals`` says who did not)."""
        result = Published(note=note)
        async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as client:
            for witness in self.witnesses:
                await self._ask(client, witness, tree, result)
        if result.cosigned_by and result.note is not None:
            result.note = self.store.save(result.note)
        return result

    async def _ask(
        self,
        client: httpx.AsyncClient,
        witness: WitnessEndpoint,
        tree: MerkleTree,
        result: Published,
    ) -> None:
        assert result.note is not None
        try:
            line = await request_cosignature(
                client, witness, result.note, tree, self.store.old_size(witness)
            )
        except WitnessRefused as exc:
            result.refusals.append(str(exc))
            return
        result.note = result.note.with_signatures([line])
        result.cosigned_by.append(witness.name)
        self.store.remember(witness, parse_note_text(result.note.text).tree_size)

    async def publish_worm(self, result: Published) -> None:
        """Write the (cosigned) checkpoint to WORM storage; a failure is a refusal, the
        checkpoint being in the log already."""
        if self.worm is None or result.note is None:
            return
        try:
            result.worm = await self.worm(result.note)
        except WormError as exc:
            result.refusals.append(str(exc))
