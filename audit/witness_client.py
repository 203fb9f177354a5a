"""Asking witnesses to cosign a checkpoint (tlog-witness §add-checkpoint, client side), and
reading the checkpoint a witness holds for a log (§Monitor Retrieval Mechanism).

The configured witnesses are ``SYNCLEDGER_WITNESSES`` (or ``witnesses`` in
syncledger.toml): entries separated by commas or newlines, each a base URL (the
submission and monitoring prefix) and the witness's cosignature vkey (type 0x04,
tlog-cosignature §Format), separated by a space::

    http://witness.example:7380 witness.example/w1+1a2b3c4d+BG...

The client first sends the old size it last had cosigned by that witness (0 at first);
on 409 it reads the witness's size (``text/x.tlog.size``) and sends once more with a
consistency proof from that size, as the spec suggests. A witness's answer is only kept
when its cosignature verifies under the configured vkey; other lines are ignored.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from syncledger.audit.errors import AuditError
from syncledger.audit.merkle import MerkleTree
from syncledger.audit.note import NoteError, NoteSignature, NoteVerifier, SignedNote, parse_note
from syncledger.audit.note_checkpoint import parse_note_text
from syncledger.audit.note_cosignature import verified_cosignature
from syncledger.core.errors import ConfigurationError


class WitnessRefused(AuditError):
    """A witness did not cosign (its HTTP status and first line say why)."""

    def __init__(self, witness: str, status: int, detail: str) -> None:
        super().__init__(f"witness {witness} refused the checkpoint ({status}): {detail}")
        self.status = status


@dataclass(frozen=True)
class WitnessEndpoint:
    url: str
    verifier: NoteVerifier

    @property
    def name(self) -> str:
        return self.verifier.name


def parse_witnesses(text: str | None) -> list[WitnessEndpoint]:
    """``URL VKEY`` entries separated by commas or newlines (empty: none)."""
    result = []
    for entry in (text or "").replace("\n", ",").split(","):
        if not entry.strip():
            continue
        parts = entry.split()
        if len(parts) != 2 or not parts[0].startswith(("http://", "https://")):
            raise ConfigurationError(
                f"SYNCLEDGER_WITNESSES entry {entry.strip()[:60]!r} is not "
                "'<http(s) URL> <witness vkey>'"
            )
        try:
            verifier = NoteVerifier.from_vkey(parts[1])
        except NoteError as exc:
            raise ConfigurationError(f"SYNCLEDGER_WITNESSES: {exc}") from exc
        result.append(WitnessEndpoint(parts[0].rstrip("/"), verifier))
    return result


def submission(note: SignedNote, old_size: int, proof: Sequence[bytes]) -> bytes:
    lines = [f"old {old_size}\n", *(base64.b64encode(p).decode() + "\n" for p in proof)]
    return "".join(lines).encode() + b"\n" + note.render()


async def request_cosignature(
    client: httpx.AsyncClient,
    witness: WitnessEndpoint,
    note: SignedNote,
    tree: MerkleTree,
    old_size: int,
) -> NoteSignature:
    """The witness's verified cosignature of ``note`` (a checkpoint of ``tree``)."""
    size = parse_note_text(note.text).tree_size
    answer = await _post(client, witness, note, tree, old_size, size)
    if answer.status_code == 409:
        held = _held_size(witness, answer)
        answer = await _post(client, witness, note, tree, held, size)
    if answer.status_code != 200:
        detail = answer.text.strip().splitlines()[0] if answer.text.strip() else "no reason"
        raise WitnessRefused(witness.name, answer.status_code, detail)
    return _cosignature(witness, note, answer.content)


async def _post(
    client: httpx.AsyncClient,
    witness: WitnessEndpoint,
    note: SignedNote,
    tree: MerkleTree,
    old_size: int,
    size: int,
) -> httpx.Response:
    proof = tree.consistency_proof(old_size, size) if 0 < old_size < size else []
    try:
        return await client.post(
            f"{witness.url}/add-checkpoint", content=submission(note, old_size, proof)
        )
    except httpx.HTTPError as exc:
        raise WitnessRefused(witness.name, 0, f"unreachable ({type(exc).__name__})") from exc


def _held_size(witness: WitnessEndpoint, answer: httpx.Response) -> int:
    text = answer.text.strip()
    if not answer.headers.get("content-type", "").startswith("text/x.tlog.size"):
        raise WitnessRefused(witness.name, 409, "conflict without a text/x.tlog.size body")
    if not text.isdigit():
        raise WitnessRefused(witness.name, 409, f"conflict with size {text[:20]!r}")
    return int(text)


def _cosignature(witness: WitnessEndpoint, note: SignedNote, body: bytes) -> NoteSignature:
    try:
        answered = parse_note(note.text.encode() + b"\n" + body)
    except NoteError as exc:
        raise WitnessRefused(witness.name, 200, f"unreadable cosignature: {exc}") from exc
    line = answered.by(witness.verifier)
    if line is None or verified_cosignature(answered, witness.verifier) is None:
        raise WitnessRefused(witness.name, 200, "no valid cosignature by its configured key")
    return line


def origin_hash(origin: str) -> str:
    return hashlib.sha256(origin.encode()).hexdigest()


async def fetch_witnessed(
    client: httpx.AsyncClient, witness: WitnessEndpoint, origin: str
) -> SignedNote | None:
    """The checkpoint ``witness`` holds for ``origin`` (None: it has none)."""
    try:
        answer = await client.get(f"{witness.url}/{origin_hash(origin)}/checkpoint")
    except httpx.HTTPError as exc:
        raise WitnessRefused(witness.name, 0, f"unreachable ({type(exc).__name__})") from exc
    if answer.status_code == 404:
        return None
    if answer.status_code != 200:
        raise WitnessRefused(witness.name, answer.status_code, "checkpoint not served")
    try:
        return parse_note(answer.content)
    except NoteError as exc:
        raise WitnessRefused(witness.name, 200, f"unreadable checkpoint: {exc}") from exc
