"""Reads every ledger makes the same way.

``get`` by id answers None for a record the ledger does not have: each platform spells
"not found" with an error code of its own (its translator puts it on the
``PermanentLedgerError``), and any other refusal still goes to the caller.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from syncledger.core.errors import PermanentLedgerError

T = TypeVar("T")


async def unless_absent(read: Awaitable[T], *not_found: str) -> T | None:
    """What ``read`` answers; None when the ledger refused it with one of the codes
    ``not_found`` (the record is not there)."""
    try:
        return await read
    except PermanentLedgerError as exc:
        if exc.code in not_found:
            return None
        raise
