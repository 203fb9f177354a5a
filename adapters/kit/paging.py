"""Reading a ledger's list page by page.

Platforms page differently — a page number, an offset, the last id seen (keyset), a
link to the next page — but every loop is the same: read a page from a cursor, hand on
its rows, go on from where the page says the next one starts, stop when it says there is
none. A platform writes only its ``read`` (one page: its rows and the next cursor).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Page(Generic[T, C]):
    """One page's rows and where the next page starts (None: this was the last)."""

    rows: Sequence[T]
    after: C | None = None


async def walk(read: Callable[[C], Awaitable[Page[T, C]]], first: C) -> AsyncIterator[T]:
    """Every row of every page, from the page at ``first`` on, in order."""
    cursor: C | None = first
    while cursor is not None:
        page = await read(cursor)
        for row in page.rows:
            yield row
        cursor = page.after


def next_number(page: int, rows: Sequence[object], size: int, last: bool = False) -> int | None:
    """The next page number after ``page``, or None when it was the last: it says so
    (``last``) or holds fewer than ``size`` rows."""
    return None if last or len(rows) < size else page + 1


def next_offset(offset: int, rows: Sequence[object], more: bool) -> int | None:
    """The offset of the next page, or None when the ledger says none follows (or the
    page was empty, so going on could not advance)."""
    return offset + len(rows) if more and rows else None
