"""HubSpot's sandbox app: the 2026-03 CRM endpoints the adapter uses, in memory.

Facts (each from /work/shared/SOURCES.md §1, which cites HubSpot's docs and its
HubSpot/HubSpot-public-api-spec-collection 2026-03 specs):

- list ``GET /crm/objects/2026-03/{type}`` (``limit``, ``after``, ``properties``,
  ``archived``; ``paging.next.after``), ``POST .../{type}/search``, ``.../batch/read``
  (``archived`` query), ``.../batch/update`` and ``.../batch/upsert`` (writes.py: a
  unique-value ``idProperty``, per-input errors in a 207); deals by object type id
  ``0-3`` (§1.1);
- associations ``POST /crm/associations/2026-03/{from}/{to}/batch/read``: ``from.id``,
  ``to[].toObjectId``, ``associationTypes`` (§1.6);
- properties ``GET|POST /crm/properties/2026-03/{type}[/{name}]`` with the required
  ``groupName, name, label, type, fieldType`` (§1.6); a create of an existing name is
  answered 409 here — HubSpot documents no code for it (§1.6), the adapter reads first;
- OAuth ``POST /oauth/v3/token`` refresh grant with client id and secret in the form
  body; the answer carries ``hub_id`` (§1.2);
- search: 5 requests/s per account → 429 ``{"status":"error","errorType":"RATE_LIMIT",
  ...}`` (§1.3; search answers carry no rate-limit headers), 200 per page, 10,000 results
  per query (configurable ``search_cap``) → 400 past it (§1.4); every other request
  counts against the per-10-s burst (100 / 10 s, the lowest tier, §1.3) → 429 with
  ``policyName: TEN_SECONDLY_ROLLING``. Error bodies follow the spec's ``Error``
  (``status, message, correlationId, category``); the category of a 429 is not
  documented, so the sandbox sends ``errorType`` and ``policyName`` only as §1.3 quotes.

- the Webhooks Journal (2026-03 ``webhooksJournal`` spec, SOURCES.md §1.7):
  ``GET /webhooks-journal/journal/2026-03/{earliest,latest}``, ``/offset/{offset}/next``,
  ``/batch/{earliest,latest}/{count}``, ``/batch/{offset}/next/{count}``, ``POST
  /batch/read`` (``inputs``: offsets) and ``/status/{statusId}``, served from the
  store's journal (store.py: one entry per edit). An entry is the spec's
  ``JournalFetchResponse`` (``currentOffset``, ``expiresAt``, ``url``), a batch its
  ``BatchResponseJournalFetchResponse`` (``status``, ``results``, ``startedAt``,
  ``completedAt``); the ``url`` is a link to the entry's file, fetched without
  credentials (journal-entries guide). OAuth tokens only (§1.7); the journal paths are
  exempt from the daily and ten-secondly limits (the spec's
  ``x-hubspot-rate-limit-exemptions``), so they count against neither here. A single
  ``next`` with nothing after the offset answers 204 (undocumented: ours).

Tests can make "other apps" of the account use its allowance (:meth:`HubSpotSandbox.
others_use`): the burst window for a number of requests, or the day's allowance until
:meth:`HubSpotSandbox.new_day`.

Every refusal (status, category, message, source) is a row of ``refusals.py``.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.hubspot.sandbox import search
from syncledger.adapters.hubspot.sandbox.currencies import Currencies
from syncledger.adapters.hubspot.sandbox.refusals import REFUSALS
from syncledger.adapters.hubspot.sandbox.store import (
    MODIFIED,
    JournalEntry,
    Record,
    Store,
    iso_ms,
    object_type,
)
from syncledger.adapters.hubspot.sandbox.writes import BatchRefused, BatchWrites
from syncledger.adapters.jsonwire import decode_json
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.common import plain_json, token_fields
from syncledger.adapters.sandbox.refusals import Refusal
from syncledger.adapters.sandbox.scaffold import SandboxLogin, oauth_server
from syncledger.adapters.sandbox.throttle import WindowThrottle

#: the sandbox's public test credentials (not secrets: anyone may use them)
TEST_ACCESS_TOKEN = "pat-na1-sandbox-static-token"  # noqa: S105
TEST_PORTAL_ID = "62515"
SEARCH_RATE = Rate(5, 1.0)
BURST_RATE = Rate(100, 10.0)
ACCESS_TTL = 1800.0  # "currently 30 minutes" (SOURCES.md §1.2)
LOGIN = SandboxLogin(
    "hubspot-sandbox-client",
    "hubspot-sandbox-client-secret",
    "hubspot-sandbox-refresh-token",
    ACCESS_TTL,
)
TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REFRESH_TOKEN = LOGIN.credentials()
Handler = Callable[[Request], Awaitable[Response]]
#: the ``policyName`` a 429 names (SOURCES.md §1.3; none is quoted for search)
POLICIES = {"rate.burst": "TEN_SECONDLY_ROLLING", "rate.daily": "DAILY"}
#: requests a day per account, the lowest published tier (SOURCES.md §1.3)
DAILY_LIMIT = 250_000


def refuse(rule: str, **values: Any) -> Response:
    """The answer to a refusal, from its row in ``REFUSALS``: the spec's ``Error`` body, a
    429 with ``errorType`` (and ``policyName`` for the burst limit), or the token endpoint's
    ``{"status", "message"}``."""
    row = REFUSALS[rule]
    if rule.startswith("oauth."):
        return plain_json(row.status, {"status": row.code, "message": row.text(**values)})
    if rule.startswith("rate."):
        return _rate_limited(row, POLICIES.get(rule))
    body = {
        "status": "error",
        "message": row.text(**values),
        "correlationId": str(uuid.uuid4()),
        "category": row.code,
    }
    return plain_json(row.status, body)


def _rate_limited(row: Refusal, policy: str | None) -> Response:
    extra = {"policyName": policy} if policy else {}
    body = {
        "status": "error",
        "message": row.message,
        "errorType": row.code,
        "correlationId": str(uuid.uuid4()),
        **extra,
    }
    return plain_json(row.status, body)


@dataclass
class OtherApps:
    """Other apps of the account using its allowance: after ``after`` more requests,
    ``policy`` ("burst" or "daily") is used up — the burst for ``requests`` requests, the
    day's allowance until :meth:`HubSpotSandbox.new_day`."""

    policy: str
    after: int
    requests: int


class HubSpotSandbox:
    """The store behind the app, the throttles, the token server and counters tests read."""

    def __init__(self, *, rate_scale: float = 1.0, search_cap: int = search.SEARCH_CAP) -> None:
        self.store = Store()
        self.writes = BatchWrites(self.store)
        self.currencies = Currencies()
        self.search_cap = search_cap
        self.search_throttle = WindowThrottle(SEARCH_RATE.scaled(rate_scale))
        self.burst_throttle = WindowThrottle(BURST_RATE.scaled(rate_scale))
        self.search_refusals = 0
        self.throttled = 0
        self.cap_refusals = 0
        #: the account's daily allowance (SOURCES.md §1.3: 250,000 on Free/Starter) and
        #: what is used of it; every admitted request counts, searches too
        self.daily_limit = DAILY_LIMIT
        self.daily_used = 0
        self.daily_refusals = 0
        self.requests: list[tuple[str, str]] = []
        self.others: OtherApps | None = None
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self.oauth = oauth_server(self._db, LOGIN)

    def close(self) -> None:
        self._db.close()

    def authorised(self, request: Request) -> bool:
        given = request.headers.get("authorization", "")
        if not given.startswith("Bearer "):
            return False
        token = given.removeprefix("Bearer ")
        return token == TEST_ACCESS_TOKEN or self.oauth.access_ok(token)

    def others_use(self, policy: str, *, after: int = 0, requests: int = 1) -> None:
        if policy not in {"burst", "daily"}:
            raise ValueError(f"policy {policy!r}: burst or daily")
        self.others = OtherApps(policy, after, requests)

    def new_day(self) -> None:
        """HubSpot reset the daily allowance."""
        self.daily_used = 0

    def oauth_authorised(self, request: Request) -> bool:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.oauth.access_ok(token)

    def _others_refusal(self) -> Response | None:
        others = self.others
        if others is None:
            return None
        if others.after > 0:
            others.after -= 1
            return None
        if others.policy == "daily":
            self.daily_used, self.others = self.daily_limit, None
            return None
        others.requests -= 1
        if others.requests <= 0:
            self.others = None
        self.throttled += 1
        return refuse("rate.burst")

    def admit(self, searching: bool) -> Response | None:
        others = self._others_refusal()
        if others is not None:
            return others
        if self.daily_used >= self.daily_limit:
            self.daily_refusals += 1
            return refuse("rate.daily")
        refused = self._admit_window(searching)
        if refused is None:
            self.daily_used += 1
        return refused

    def limit_headers(self) -> dict[str, str]:
        """The daily allowance on every answer but a search's (SOURCES.md §1.3: search
        responses carry no rate-limit headers)."""
        return {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, self.daily_limit - self.daily_used)),
        }

    def _admit_window(self, searching: bool) -> Response | None:
        if searching:
            if self.search_throttle.admit(TEST_PORTAL_ID) is not None:
                self.search_refusals += 1
                self.throttled += 1
                return refuse("rate.search")
            return None
        if self.burst_throttle.admit(TEST_PORTAL_ID) is not None:
            self.throttled += 1
            return refuse("rate.burst")
        return None


# --------------------------------------------------------------------- handlers


def _props_param(request: Request) -> list[str] | None:
    raw = [p for v in request.query_params.getlist("properties") for p in v.split(",") if p]
    return raw or None


def _archived(request: Request) -> bool:
    return request.query_params.get("archived", "false").lower() == "true"


async def list_page(sb: HubSpotSandbox, kind: str, request: Request) -> Response:
    rows = sb.store.live(kind, archived=_archived(request))
    limit = min(int(request.query_params.get("limit", "10")), 100)
    after = int(request.query_params.get("after") or "0")
    page = [r for r in rows if int(r.id) > after][:limit]
    body: dict[str, Any] = {"results": [r.wire(kind, _props_param(request)) for r in page]}
    if page and any(int(r.id) > int(page[-1].id) for r in rows):
        body["paging"] = {"next": {"after": page[-1].id}}
    return plain_json(200, body)


async def do_search(sb: HubSpotSandbox, kind: str, body: dict[str, Any]) -> Response:
    groups = body.get("filterGroups") or []
    prop, descending = search.sort_key(body.get("sorts") or [])
    try:
        hits = [r for r in sb.store.live(kind) if search.matches(r.all_properties(kind), groups)]
        hits.sort(key=lambda r: _sort_value(r.all_properties(kind), prop, r.id), reverse=descending)
        offset, size = search.page_window(body, len(hits), sb.search_cap)
    except search.SearchRefused as exc:
        sb.cap_refusals += exc.rule == "search.past_cap"
        return refuse(exc.rule, **exc.values)
    names = body.get("properties") or None
    page = hits[offset : offset + size]
    answer: dict[str, Any] = {"total": len(hits), "results": [r.wire(kind, names) for r in page]}
    if offset + size < len(hits):  # offered even where following it passes the cap
        answer["paging"] = {"next": {"after": str(offset + size)}}
    return plain_json(200, answer)


async def batch_read(
    sb: HubSpotSandbox, kind: str, request: Request, body: dict[str, Any]
) -> Response:
    archived = _archived(request)
    rows = sb.store.records[kind]
    found = [rows[i["id"]] for i in body.get("inputs", []) if i.get("id") in rows]
    found = [r for r in found if (r.archived_ms is not None) == archived]
    names = body.get("properties") or None
    history = body.get("propertiesWithHistory") or []
    results = [r.wire(kind, names, history) for r in found]
    return plain_json(200, _batch(results))


def _sort_value(props: dict[str, str], prop: str, rid: str) -> tuple[int, Any, int]:
    value = search.comparable(props.get(prop, ""))
    return (0, value, int(rid)) if isinstance(value, Decimal) else (1, value, int(rid))


def _batch(results: list[dict[str, Any]]) -> dict[str, Any]:
    now = iso_ms(int(time.time() * 1000))
    return {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}


async def batch_update(sb: HubSpotSandbox, kind: str, body: dict[str, Any]) -> Response:
    rows = sb.store.records[kind]
    inputs = body.get("inputs", [])
    if len(inputs) > 100:
        return refuse("batch.too_many")
    # a deleted (archived) deal is not found either; the whole request is refused, as the
    # spec does not say whether a missing id fails its input or the request (refusals.py)
    missing = [i.get("id") for i in inputs if _gone(rows.get(str(i.get("id"))))]
    if missing:
        return refuse("batch.object_not_found", kind=kind, ids=missing)
    unknown = _unknown_properties(sb, kind, inputs)
    if unknown:
        return refuse("batch.property_unknown", names=unknown)
    return plain_json(*sb.writes.update_inputs(kind, inputs))


def _gone(record: Record | None) -> bool:
    return record is None or record.archived_ms is not None


async def batch_upsert(sb: HubSpotSandbox, kind: str, body: dict[str, Any]) -> Response:
    unknown = _unknown_properties(sb, kind, body.get("inputs") or [])
    if unknown:
        return refuse("batch.property_unknown", names=unknown)
    try:
        return plain_json(*sb.writes.upsert(kind, body))
    except BatchRefused as exc:
        return refuse(exc.rule, **exc.values)


def _unknown_properties(sb: HubSpotSandbox, kind: str, inputs: list[Any]) -> list[str]:
    defined = sb.store.property_defs[kind]
    return sorted(
        {
            n
            for i in inputs
            for n in i.get("properties", {})
            if n.startswith("syncledger_") and n not in defined
        }
    )


async def associations(sb: HubSpotSandbox, frm: str, to: str, body: dict[str, Any]) -> Response:
    results = []
    for i in body.get("inputs", []):
        ids = sb.store.linked(frm, str(i.get("id")), to)
        if ids:
            results.append(
                {
                    "from": {"id": str(i["id"])},
                    "to": [
                        {
                            "toObjectId": t,
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": 0, "label": None}
                            ],
                        }
                        for t in ids
                    ],
                }
            )
    return plain_json(200, _batch(results))


async def groups(sb: HubSpotSandbox, kind: str, request: Request) -> Response:
    defs = sb.store.property_groups.setdefault(kind, {})
    name = request.path_params.get("name")
    if request.method == "GET":
        if name not in defs:
            return refuse("group.not_found", name=name)
        return plain_json(200, defs[name])
    body = decode_json(await request.body())
    if not body.get("name") or not body.get("label"):
        return refuse("group.fields_missing")
    if body["name"] in defs:
        return refuse("group.exists", name=body["name"])
    defs[body["name"]] = {**body, "archived": False}
    return plain_json(201, defs[body["name"]])


async def properties(sb: HubSpotSandbox, kind: str, request: Request) -> Response:
    defs = sb.store.property_defs[kind]
    name = request.path_params.get("name")
    if request.method == "GET":
        if name is None:
            return plain_json(200, {"results": list(defs.values())})
        return (
            plain_json(200, defs[name]) if name in defs else refuse("property.not_found", name=name)
        )
    body = decode_json(await request.body())
    missing = [k for k in ("groupName", "name", "label", "type", "fieldType") if not body.get(k)]
    if missing:
        return refuse("property.fields_missing", fields=", ".join(missing))
    if body.get("groupName") not in sb.store.property_groups.get(kind, {}):
        return refuse("property.group_unknown", group=body.get("groupName"))
    if body["name"] in defs:
        return refuse("property.exists", name=body["name"])
    if (
        body.get("hasUniqueValue")
        and sum(bool(d.get("hasUniqueValue")) for d in defs.values()) >= 10
    ):
        return refuse("property.unique_limit", kind=kind)
    defs[body["name"]] = {**body, "hubspotDefined": False, "archived": False}
    return plain_json(201, defs[body["name"]])


async def company_currency(sb: HubSpotSandbox, _request: Request) -> Response:
    return plain_json(200, sb.currencies.company())


async def exchange_rates(sb: HubSpotSandbox, request: Request) -> Response:
    after = request.query_params.get("after")
    page = sb.currencies.page(after, request.query_params.get("fromCurrencyCode"))
    if page is None:
        return refuse("currencies.after_unknown", after=after)
    return plain_json(200, page)


async def token(sb: HubSpotSandbox, request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode()))
    if not sb.oauth.client_ok(None, form):
        return refuse("oauth.bad_client_id")
    if form.get("grant_type") != "refresh_token":
        return refuse("oauth.grant_unsupported")
    tokens = sb.oauth.exchange(form.get("refresh_token", ""))
    if tokens is None:
        return refuse("oauth.bad_refresh_token")
    return plain_json(200, token_fields(tokens, "bearer", hub_id=int(TEST_PORTAL_ID)))


# --------------------------------------------------------------------- the journal

JOURNAL = "/webhooks-journal/journal/2026-03"
#: how long an entry's file link is said to live (undocumented: the sandbox's own)
LINK_TTL_MS = 3_600_000


def _fetched(sb: HubSpotSandbox, request: Request, entry: JournalEntry) -> dict[str, Any]:
    """The spec's ``JournalFetchResponse``."""
    base = str(request.base_url).rstrip("/")
    return {
        "currentOffset": entry.offset,
        "expiresAt": iso_ms(sb.store.clock() + LINK_TTL_MS),
        "url": f"{base}/_journal-files/{entry.offset}?signature={entry.key}",
    }


def _journal_batch(sb: HubSpotSandbox, r: Request, entries: list[JournalEntry]) -> Response:
    return plain_json(200, _batch([_fetched(sb, r, e) for e in entries]))


def _count(request: Request) -> int | None:
    try:
        count = int(request.path_params["count"])
    except ValueError:
        return None
    return count if count >= 1 else None


async def journal_one(sb: HubSpotSandbox, request: Request, which: str) -> Response:
    kept = sb.store.journal.kept(sb.store.clock())
    if not kept:
        return refuse("journal.empty")
    return plain_json(200, _fetched(sb, request, kept[0] if which == "earliest" else kept[-1]))


async def journal_next(sb: HubSpotSandbox, request: Request) -> Response:
    offset = request.path_params["offset"]
    after = sb.store.journal.after(offset, sb.store.clock())
    if after is None:
        return refuse("journal.offset_unknown", offset=offset)
    return plain_json(200, _fetched(sb, request, after[0])) if after else Response(status_code=204)


async def journal_batch(sb: HubSpotSandbox, request: Request) -> Response:
    count = _count(request)
    if count is None:
        return refuse("journal.count_invalid")
    offset = request.path_params.get("offset")
    kept = sb.store.journal.kept(sb.store.clock())
    if offset is None:
        which = request.path_params["which"]
        if which not in {"earliest", "latest"}:
            return refuse("journal.offset_unknown", offset=which)
        return _journal_batch(sb, request, kept[:count] if which == "earliest" else kept[-count:])
    after = sb.store.journal.after(offset, sb.store.clock())
    if after is None:
        return refuse("journal.offset_unknown", offset=offset)
    return _journal_batch(sb, request, after[:count])


async def journal_read(sb: HubSpotSandbox, request: Request) -> Response:
    body = decode_json(await request.body())
    kept = {e.offset: e for e in sb.store.journal.kept(sb.store.clock())}
    wanted = [str(i) for i in body.get("inputs", [])]
    return _journal_batch(sb, request, [kept[o] for o in wanted if o in kept])


async def journal_file(sb: HubSpotSandbox, request: Request) -> Response:
    sb.requests.append((request.method, request.url.path))
    entry = sb.store.journal.find(request.path_params["offset"])
    if entry is None or request.query_params.get("signature") != entry.key:
        return refuse("journal.file_unknown")
    return plain_json(200, entry.document())


def _journal_guarded(
    sb: HubSpotSandbox, handler: Callable[[Request], Awaitable[Response]]
) -> Handler:
    """OAuth only; exempt from the account's limits (module docstring)."""

    async def endpoint(request: Request) -> Response:
        sb.requests.append((request.method, request.url.path))
        if not sb.authorised(request):
            return refuse("auth.credentials_missing")
        if not sb.oauth_authorised(request):
            return refuse("journal.oauth_only")
        return await handler(request)

    return endpoint


def journal_routes(sb: HubSpotSandbox) -> list[Route]:
    async def _earliest(r: Request) -> Response:
        return await journal_one(sb, r, "earliest")

    async def _latest(r: Request) -> Response:
        return await journal_one(sb, r, "latest")

    async def _next(r: Request) -> Response:
        return await journal_next(sb, r)

    async def _batch_of(r: Request) -> Response:
        return await journal_batch(sb, r)

    async def _read(r: Request) -> Response:
        return await journal_read(sb, r)

    async def _status(r: Request) -> Response:
        return refuse("journal.status_unknown", status=r.path_params["status"])

    async def _file(r: Request) -> Response:
        return await journal_file(sb, r)

    def guarded(h: Callable[[Request], Awaitable[Response]]) -> Handler:
        return _journal_guarded(sb, h)

    return [
        Route(JOURNAL + "/earliest", guarded(_earliest), methods=["GET"]),
        Route(JOURNAL + "/latest", guarded(_latest), methods=["GET"]),
        Route(JOURNAL + "/offset/{offset}/next", guarded(_next), methods=["GET"]),
        Route(JOURNAL + "/batch/read", guarded(_read), methods=["POST"]),
        Route(JOURNAL + "/batch/{which:str}/{count}", guarded(_batch_of), methods=["GET"]),
        Route(JOURNAL + "/batch/{offset}/next/{count}", guarded(_batch_of), methods=["GET"]),
        Route(JOURNAL + "/status/{status}", guarded(_status), methods=["GET"]),
        Route("/_journal-files/{offset}", _file, methods=["GET"]),
    ]


# --------------------------------------------------------------------- the app


def _guarded(
    sb: HubSpotSandbox,
    handler: Callable[[Request, str], Awaitable[Response]],
    *,
    searching: bool = False,
) -> Handler:
    async def endpoint(request: Request) -> Response:
        sb.requests.append((request.method, request.url.path))
        if not sb.authorised(request):
            return refuse("auth.credentials_missing")
        refused = sb.admit(searching)
        if refused is not None:
            return refused
        kind = object_type(request.path_params.get("kind", "deals"))
        if kind is None:
            return refuse("request.object_type_unknown")
        answer = await handler(request, kind)
        if not searching:
            answer.headers.update(sb.limit_headers())
        return answer

    return endpoint


def create_app(sb: HubSpotSandbox | None = None) -> Starlette:
    sb = sb or HubSpotSandbox()

    async def _list(r: Request, k: str) -> Response:
        return await list_page(sb, k, r)

    async def _search(r: Request, k: str) -> Response:
        return await do_search(sb, k, decode_json(await r.body()))

    async def _read(r: Request, k: str) -> Response:
        return await batch_read(sb, k, r, decode_json(await r.body()))

    async def _update(r: Request, k: str) -> Response:
        return await batch_update(sb, k, decode_json(await r.body()))

    async def _upsert(r: Request, k: str) -> Response:
        return await batch_upsert(sb, k, decode_json(await r.body()))

    async def _assoc(r: Request, k: str) -> Response:
        to = object_type(r.path_params["to"])
        if to is None:
            return refuse("request.object_type_unknown")
        return await associations(sb, k, to, decode_json(await r.body()))

    async def _props(r: Request, k: str) -> Response:
        return await properties(sb, k, r)

    async def _groups(r: Request, k: str) -> Response:
        return await groups(sb, k, r)

    async def _token(r: Request) -> Response:
        return await token(sb, r)

    async def _company(r: Request, _k: str) -> Response:
        return await company_currency(sb, r)

    async def _rates(r: Request, _k: str) -> Response:
        return await exchange_rates(sb, r)

    currencies = "/settings/currencies/2026-03"

    objects = "/crm/objects/2026-03/{kind}"
    routes = [
        Route(objects, _guarded(sb, _list), methods=["GET"]),
        Route(objects + "/search", _guarded(sb, _search, searching=True), methods=["POST"]),
        Route(objects + "/batch/read", _guarded(sb, _read), methods=["POST"]),
        Route(objects + "/batch/update", _guarded(sb, _update), methods=["POST"]),
        Route(objects + "/batch/upsert", _guarded(sb, _upsert), methods=["POST"]),
        Route(
            "/crm/associations/2026-03/{kind}/{to}/batch/read",
            _guarded(sb, _assoc),
            methods=["POST"],
        ),
        Route("/crm/properties/2026-03/{kind}/groups", _guarded(sb, _groups), methods=["POST"]),
        Route(
            "/crm/properties/2026-03/{kind}/groups/{name}", _guarded(sb, _groups), methods=["GET"]
        ),
        Route("/crm/properties/2026-03/{kind}", _guarded(sb, _props), methods=["GET", "POST"]),
        Route("/crm/properties/2026-03/{kind}/{name}", _guarded(sb, _props), methods=["GET"]),
        Route(currencies + "/company-currency", _guarded(sb, _company), methods=["GET"]),
        Route(currencies + "/exchange-rates", _guarded(sb, _rates), methods=["GET"]),
        Route("/oauth/v3/token", _token, methods=["POST"]),
        *journal_routes(sb),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = sb
    return app


def sandbox_of(app: Starlette) -> HubSpotSandbox:
    found = app.state.sandbox
    if not isinstance(found, HubSpotSandbox):
        raise TypeError("not a HubSpot sandbox app")
    return found


__all__ = ["MODIFIED", "HubSpotSandbox", "create_app", "sandbox_of"]
