"""What every ledger adapter does with the item codes of a document's lines.

A line naming an item is booked to it (``LedgerAdapter.find_item``); a line naming no item
of the ledger refuses the whole document before anything is written, with the one error
every adapter raises for it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

from syncledger.core.errors import PermanentLedgerError
from syncledger.core.model import CreditNote, Invoice

UNKNOWN_ITEM: Final = "unknown_item"

T = TypeVar("T")


def unknown_item(
    platform: str, document: Invoice | CreditNote, line_no: int, code: str
) -> PermanentLedgerError:
    """The refusal of a document whose line ``line_no`` (from 1) names no item."""
    what = document.kind.replace("_", " ")
    return PermanentLedgerError(
        f"{what} {document.number} line {line_no}: {platform} has no item {code!r} (by its "
        f"code or its id): create the item in {platform}, or map the code to one in "
        "[items.map] of the mapping file, then retry",
        code=UNKNOWN_ITEM,
    )


async def items_for_lines(
    document: Invoice | CreditNote,
    find: Callable[[str], Awaitable[T | None]],
    platform: str,
) -> dict[str, T]:
    """Each distinct item code ``document``'s lines name → what ``find`` found for it
    (looked up once a code); the first code naming nothing refuses the document."""
    found: dict[str, T] = {}
    for line_no, line in enumerate(document.lines, start=1):
        code = line.item_code
        if code is None or code in found:
            continue
        item = await find(code)
        if item is None:
            raise unknown_item(platform, document, line_no, code)
        found[code] = item
    return found
