"""HubSpot's 2026-03 CRM API, the calls the source makes (SOURCES.md §1):

- ``GET /crm/objects/2026-03/{type}`` list pages with ``after`` (backfills, archived
  records) — companies, contacts, line_items, products by name; deals by object type id
  ``0-3`` (§1.1, deals.json paths);
- ``POST /crm/objects/2026-03/{type}/search`` (§1.4): 200 per page, 5 requests/s per
  account — its own client-side limiter, since search is limited apart from the burst
  (§1.3 "110 / 10 s ... excludes CRM Search");
- ``POST .../{type}/batch/read`` (``archived`` query), ``.../batch/update`` and
  ``.../batch/upsert`` (:meth:`HubSpotClient.batch_write`: the answer as HubSpot gives
  it, 200 or 207 multi-status), at most 100 inputs a call (§1.3);
- ``POST /crm/associations/2026-03/{from}/{to}/batch/read`` (§1.6);
- ``GET|POST /crm/properties/2026-03/deals[/{name}]`` (§1.6);
- ``GET /settings/currencies/2026-03/company-currency`` and ``.../exchange-rates`` (paged
  with ``after``): the portal's own exchange rates (facts and sources:
  :mod:`syncledger.adapters.hubspot.rates`).

Every other request shares the account's burst window: 100 per 10 s, the lowest
published tier (Free/Starter, §1.3), unless told otherwise. 429 and 5xx answers are
retried by adapters/http.py with backoff (HubSpot documents ``Retry-After`` only for the
webhooks it sends, so the backoff is ours).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from syncledger.adapters.http import LedgerHttp
from syncledger.adapters.hubspot.errors import HubSpotError, boundary
from syncledger.adapters.ratelimit import Rate

#: the path segment of each object type (deals by their object type id, SOURCES.md §1.1)
PATHS = {
    "companies": "companies",
    "contacts": "contacts",
    "deals": "0-3",
    "line_items": "line_items",
    "products": "products",
}
SEARCH_RATE = Rate(5, 1.0)
BURST_RATE = Rate(100, 10.0)
PAGE = 200
BATCH = 100
LIST_PAGE = 100


@dataclass(frozen=True, slots=True)
class Page:
    results: list[dict[str, Any]]
    after: str | None
    total: int | None = None


def _page(body: Any) -> Page:
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise HubSpotError("HubSpot answered a page without results", transient=True)
    nxt = (body.get("paging") or {}).get("next") or {}
    after = nxt.get("after")
    total = body.get("total")
    return Page(
        body["results"], str(after) if after else None, int(total) if total is not None else None
    )


def _chunks(ids: Sequence[str], size: int = BATCH) -> Iterable[Sequence[str]]:
    return (ids[i : i + size] for i in range(0, len(ids), size))


class HubSpotClient:
    """The calls above over two HTTP layers sharing one auth: ``api`` (burst-limited) and
    ``searcher`` (search-limited)."""

    def __init__(self, api: LedgerHttp, searcher: LedgerHttp) -> None:
        self._api = api
        self._searcher = searcher

    async def list_page(
        self, kind: str, after: str | None, properties: Sequence[str], *, archived: bool = False
    ) -> Page:
        params: dict[str, str | int] = {
            "limit": LIST_PAGE,
            "properties": ",".join(properties),
            "archived": "true" if archived else "false",
        }
        if after:
            params["after"] = after
        with boundary(f"listing HubSpot {kind}"):
            body = await self._api.json(
                "GET", f"/crm/objects/2026-03/{PATHS[kind]}", params=params, idempotent=True
            )
        return _page(body)

    async def search(self, kind: str, request: Mapping[str, Any]) -> Page:
        with boundary(f"searching HubSpot {kind}"):
            body = await self._searcher.json(
                "POST", f"/crm/objects/2026-03/{PATHS[kind]}/search", body=request, idempotent=True
            )
        return _page(body)

    async def batch_read(
        self,
        kind: str,
        ids: Sequence[str],
        properties: Sequence[str],
        *,
        archived: bool = False,
        history: Sequence[str] = (),
    ) -> list[Any]:
        found: list[Any] = []
        for chunk in _chunks(list(dict.fromkeys(ids))):
            body = {
                "inputs": [{"id": i} for i in chunk],
                "properties": list(properties),
                "propertiesWithHistory": list(history),
            }
            answer = await self._post(
                f"reading HubSpot {kind}",
                f"/crm/objects/2026-03/{PATHS[kind]}/batch/read",
                body,
                {"archived": "true" if archived else "false"},
            )
            found += _page(answer).results
        return found

    async def associations(self, frm: str, to: str, ids: Sequence[str]) -> dict[str, list[str]]:
        """``{from id: [to ids]}``; an input's own ``paging.next.after`` is followed."""
        linked: dict[str, list[str]] = {}
        pending = [{"id": i} for i in dict.fromkeys(ids)]
        while pending:
            batch, pending = pending[:BATCH], pending[BATCH:]
            answer = await self._post(
                f"reading HubSpot {frm} → {to} associations",
                f"/crm/associations/2026-03/{frm}/{to}/batch/read",
                {"inputs": batch},
            )
            for row in _page(answer).results:
                source = str(row["from"]["id"])
                linked.setdefault(source, []).extend(str(t["toObjectId"]) for t in row["to"])
                after = ((row.get("paging") or {}).get("next") or {}).get("after")
                if after:
                    pending.append({"id": source, "after": str(after)})
        return linked

    async def group_exists(self, kind: str, name: str) -> bool:
        return await self._exists(f"/crm/properties/2026-03/{kind}/groups/{name}")

    async def create_group(self, kind: str, definition: Mapping[str, Any]) -> None:
        await self._create(f"/crm/properties/2026-03/{kind}/groups", definition)

    async def property_exists(self, kind: str, name: str) -> bool:
        return await self._exists(f"/crm/properties/2026-03/{kind}/{name}")

    async def _exists(self, path: str) -> bool:
        try:
            with boundary(f"reading HubSpot {path}"):
                await self._api.json("GET", path, idempotent=True)
        except HubSpotError as exc:
            if exc.code == "404":
                return False
            raise
        return True

    async def create_property(self, kind: str, definition: Mapping[str, Any]) -> None:
        await self._create(f"/crm/properties/2026-03/{kind}", definition)

    async def _create(self, path: str, definition: Mapping[str, Any]) -> None:
        """Create it; one that already exists (a 409, from a race) is fine."""
        try:
            with boundary(f"creating HubSpot {path} {definition['name']}"):
                await self._api.json("POST", path, body=dict(definition), idempotent=False)
        except HubSpotError as exc:
            if exc.code != "409":
                raise

    async def batch_update(self, kind: str, updates: Mapping[str, Mapping[str, str]]) -> int:
        written = 0
        for chunk in _chunks(list(updates)):
            inputs = [{"id": i, "properties": dict(updates[i])} for i in chunk]
            # the same values twice leave the record as once: safe to resend
            answer = await self._post(
                f"updating HubSpot {kind}",
                f"/crm/objects/2026-03/{PATHS[kind]}/batch/update",
                {"inputs": inputs},
            )
            written += len(_page(answer).results)
        return written

    async def batch_write(
        self, kind: str, action: Literal["update", "upsert"], inputs: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        """One ``batch/update`` or ``batch/upsert`` of at most :data:`BATCH` inputs; the
        answer's body (``results``, and ``errors`` on a 207). A whole-request refusal
        raises :class:`HubSpotError` with the HTTP status as its ``code``."""
        if len(inputs) > BATCH:
            raise ValueError(f"at most {BATCH} inputs a batch write, not {len(inputs)}")
        # the same values twice leave the record as once: safe to resend (an upsert only
        # on a unique value the record already holds: adapters/hubspot/writeback.py)
        answer = await self._post(
            f"writing {len(inputs)} HubSpot {kind} ({action})",
            f"/crm/objects/2026-03/{PATHS[kind]}/batch/{action}",
            {"inputs": [dict(i) for i in inputs]},
        )
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise HubSpotError(
                f"HubSpot answered a {kind} batch {action} without results", transient=True
            )
        return answer

    async def _post(
        self, what: str, path: str, body: Any, params: Mapping[str, str] | None = None
    ) -> Any:
        """A ``POST`` that is safe to resend (a batch read, or a write that leaves the
        records as once), its failure said as ``what``."""
        with boundary(what):
            return await self._api.json("POST", path, body=body, params=params, idempotent=True)

    async def company_currency(self) -> str:
        with boundary("reading HubSpot's company currency"):
            body = await self._api.json(
                "GET", "/settings/currencies/2026-03/company-currency", idempotent=True
            )
        code = body.get("id") if isinstance(body, dict) else None
        if not code:
            raise HubSpotError("HubSpot answered the company currency without its code")
        return str(code)

    async def exchange_rates(self) -> list[dict[str, Any]]:
        """Every dated rate of the portal, all pages."""
        rows: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            params: dict[str, str | int] = {"after": after} if after else {}
            with boundary("reading HubSpot's exchange rates"):
                body = await self._api.json(
                    "GET",
                    "/settings/currencies/2026-03/exchange-rates",
                    params=params,
                    idempotent=True,
                )
            page = _page(body)
            rows += page.results
            if page.after is None:
                return rows
            after = page.after

    async def aclose(self) -> None:
        await self._api.aclose()
        await self._searcher.aclose()
