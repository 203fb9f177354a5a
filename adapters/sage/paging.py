"""Sage Accounting v3.1 list answers, page by page.

``GET /<resource>?items_per_page=`` (≤ 200) answers ``{"$items", "$next", ...}``; ``$next``
is a path relative to the API root that repeats the query with the next page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from syncledger.adapters.http import LedgerHttp
from syncledger.core.errors import PermanentLedgerError

PAGE_LIMIT = 200


async def pages(
    http: LedgerHttp, path: str, params: Mapping[str, str | int], per_page: int
) -> AsyncIterator[dict[str, Any]]:
    """Every item of ``GET path`` with ``params``, following ``$next``."""
    query: dict[str, str | int] = {"attributes": "all", "items_per_page": per_page}
    url: str | None = path
    args: dict[str, str | int] | None = {**query, **params}
    while url is not None:
        answer = as_dict(await http.json("GET", url, params=args, idempotent=True))
        for raw in answer.get("$items", []):
            yield raw
        url, args = next_path(answer.get("$next")), None


def next_path(link: Any) -> str | None:
    """``$next`` is relative to the API root; a full path keeps its query."""
    if not isinstance(link, str) or not link:
        return None
    return httpx.URL(link).raw_path.decode().removeprefix("/v3.1")


def as_dict(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise PermanentLedgerError("Sage Accounting answered with something other than an object")
    return answer
