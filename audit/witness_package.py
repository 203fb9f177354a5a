"""The witnessed checkpoint inside an audit package, and the auditor's check of it.

An exported package carries ``checkpoint.note``: its checkpoint as a C2SP signed note
(tlog-checkpoint) with the log's signature and every witness cosignature the export got
(tlog-cosignature), listed and digested in the signed manifest like any file. ``audit
verify --witness <vkey>`` then requires, for each given witness, a valid cosignature on
exactly the checkpoint the manifest states. Packages without the file (exported before
it existed, or from a ``syncledger-checkpoint/v1`` key) fail that check, never pass it.
"""

from __future__ import annotations

from collections.abc import Sequence

from syncledger.audit.checkpoints import Checkpoint
from syncledger.audit.errors import PackageInvalid
from syncledger.audit.note import NoteError, NoteVerifier, SignedNote, parse_note
from syncledger.audit.note_cosignature import Cosignature, verified_cosignature

CHECKPOINT_NOTE = "checkpoint.note"


def checkpoint_file(note: SignedNote | None) -> dict[str, bytes]:
    """The package file for ``note`` (none for a checkpoint that is no C2SP note)."""
    return {} if note is None else {CHECKPOINT_NOTE: note.render()}


def check_witnessed(
    files: dict[str, bytes], cp: Checkpoint, witnesses: Sequence[NoteVerifier]
) -> list[Cosignature]:
    """Each witness's cosignature on the package's checkpoint; PackageInvalid if absent."""
    if not witnesses:
        return []
    note = _note(files, cp)
    found = []
    for witness in witnesses:
        cosig = verified_cosignature(note, witness)
        if cosig is None:
            raise PackageInvalid(
                "checkpoint-not-witnessed",
                f"the checkpoint of tree size {cp.tree_size} carries no valid cosignature "
                f"of witness {witness.name}",
            )
        found.append(cosig)
    return found


def _note(files: dict[str, bytes], cp: Checkpoint) -> SignedNote:
    data = files.get(CHECKPOINT_NOTE)
    if data is None:
        raise PackageInvalid(
            "checkpoint-not-witnessed", f"the package has no {CHECKPOINT_NOTE} to witness"
        )
    try:
        note = parse_note(data)
    except NoteError as exc:
        raise PackageInvalid("checkpoint-not-witnessed", f"{CHECKPOINT_NOTE}: {exc}") from exc
    if note.text != cp.note_text():
        raise PackageInvalid(
            "checkpoint-not-witnessed",
            f"{CHECKPOINT_NOTE} is not the checkpoint the manifest states",
        )
    return note
