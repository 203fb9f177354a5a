"""Where ``verify-log --witness`` finds the checkpoints witnesses cosigned: from the
witnesses themselves (tlog-witness §Monitor Retrieval Mechanism: ``GET <prefix>/<origin
hash>/checkpoint``) at each ``--witness-url`` and at each configured witness
(``SYNCLEDGER_WITNESSES``) whose vkey was given, from ``--witnessed`` files, and (in
:func:`~syncledger.audit.verifylog.verify_log`) from the copies in the data directory.

Only notes carrying a valid cosignature of a given witness count; the copies in the data
directory alone cannot hide a later witnessed head, the witness's own answer can.
A witness that cannot be reached is an error: its silence must not pass for agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import httpx

from syncledger.audit.note import NoteError, NoteVerifier, SignedNote, parse_note
from syncledger.audit.witness_client import WitnessEndpoint, fetch_witnessed, parse_witnesses
from syncledger.core.errors import ConfigurationError


def trusted_witnesses(vkeys: Sequence[str]) -> list[NoteVerifier]:
    try:
        return [NoteVerifier.from_vkey(v) for v in vkeys]
    except NoteError as exc:
        raise ConfigurationError(f"--witness: {exc}") from exc


def _configured(trusted: Sequence[NoteVerifier]) -> list[WitnessEndpoint]:
    from syncledger.core.settings_check import load_settings

    wanted = {v.vkey() for v in trusted}
    endpoints = parse_witnesses(load_settings({}).witnesses)
    return [e for e in endpoints if e.verifier.vkey() in wanted]


def _read(path: Path) -> SignedNote:
    try:
        return parse_note(path.read_bytes())
    except (OSError, NoteError) as exc:
        raise ConfigurationError(f"--witnessed {path}: not a signed note ({exc})") from exc


async def gather_witnessed(
    origin: str, trusted: Sequence[NoteVerifier], urls: Sequence[str], files: Sequence[Path]
) -> list[SignedNote]:
    if not trusted:
        return []
    notes = [_read(path) for path in files]
    endpoints = [WitnessEndpoint(u.rstrip("/"), trusted[0]) for u in urls]
    endpoints += _configured(trusted)
    async with httpx.AsyncClient(timeout=10.0) as client:
        for endpoint in endpoints:
            note = await fetch_witnessed(client, endpoint, origin)
            if note is not None:
                notes.append(note)
    return notes
