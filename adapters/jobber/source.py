"""``JobberSource``: delta reads, webhook hints re-read by id, payment write-back.

Reads (``read_changes``): one page of clients, then invoices, then payments, each after its
own window of the cursor (``cursor.py``); ``more`` while any type has another page. An
invoice with more line items than one page is reported malformed rather than cut short.
Write-back: ``writeback.py``. Webhooks: ``webhooks.py``; a ``PROPERTY_*`` hint re-reads the
client owning the property (``queries.PROPERTY_OWNER``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from syncledger.adapters.jobber import cursor as cursors
from syncledger.adapters.jobber import customer_writeback, queries, webhooks, writeback
from syncledger.adapters.jobber.client import JobberGraphQL
from syncledger.adapters.jobber.mapping import SYSTEM, SourceMapping, item
from syncledger.core.ports import SourceItem
from syncledger.core.source_ports import (
    CustomerDetailsRefusal,
    CustomerDetailsUpdate,
    RecordHint,
    SourceChanges,
    StatusUpdate,
    WebhookDelivery,
    WebhookRequest,
    WriteBackOutcome,
)
from syncledger.core.validation import MALFORMED_FIELD


def _truncated(node: dict[str, Any], connection: str, what: str) -> list[str]:
    page = (node.get(connection) or {}).get("pageInfo") or {}
    if not page.get("hasNextPage"):
        return []
    return [f"more {what} than syncledger reads in one request: not imported, split it in Jobber"]


class JobberSource:
    system = SYSTEM

    def __init__(
        self, api: JobberGraphQL, mapping: SourceMapping, *, currency: str, client_secret: str
    ) -> None:
        self._api = api
        self._mapping = mapping
        self._currency = currency
        self._secret = client_secret

    # ------------------------------------------------------------------ delta reads

    def _item(self, kind: str, node: dict[str, Any]) -> SourceItem | None:
        found = item(self._mapping, kind, node, self._currency)
        if found is not None and kind == "invoice":
            problems = _truncated(node, "lineItems", f"than {queries.LINES} line items")
            if problems:
                found.fields[MALFORMED_FIELD] = [*found.fields.get(MALFORMED_FIELD, []), *problems]
        return found

    async def _page(
        self, plural: str, window: cursors.Window
    ) -> tuple[list[SourceItem], cursors.Window, bool]:
        variables: dict[str, Any] = {"first": queries.PAGE, "after": window.page}
        if window.since is not None:
            variables["since"] = window.since
        query = queries.listing(plural, filtered=window.since is not None)
        data, _ = await self._api.run(f"list_{plural}", query, variables)
        conn = data.get(plural) or {}
        fresh: list[SourceItem] = []
        for node in conn.get("nodes") or []:
            found = self._item(queries.KIND_OF[plural], node)
            if found is None:  # a draft: nothing to read yet
                continue
            if not window.delivered(found):
                fresh.append(found)
                window = window.saw(found)
        info = conn.get("pageInfo") or {}
        more = bool(info.get("hasNextPage"))
        return fresh, window.next_page(info.get("endCursor"), more), more

    async def read_changes(self, cursor: str | None) -> SourceChanges:
        windows = cursors.load(cursor)
        items: list[SourceItem] = []
        more = False
        for plural in cursors.TYPES:
            if plural == "payments" and not self._mapping.reads_payments:
                continue  # the ledger's: written back, never read back (mapping.PAYMENT_OWNERS)
            found, windows[plural], has_more = await self._page(plural, windows[plural])
            items.extend(found)
            more = more or has_more
        return SourceChanges(tuple(items), cursors.dump(windows), more)

    # ------------------------------------------------------------------ webhooks

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        return webhooks.verify(self._secret, request)

    async def fetch(self, hints: Sequence[RecordHint]) -> list[SourceItem]:
        found: list[SourceItem] = []
        for hint in hints:
            if hint.kind == webhooks.PROPERTY:
                found.extend(await self._owner(hint))
                continue
            if hint.kind not in queries.SINGULAR:
                continue
            if hint.kind == "payment" and not self._mapping.reads_payments:
                continue
            data, _ = await self._api.run(
                f"get_{hint.kind}", queries.by_id(hint.kind), {"id": hint.id}
            )
            node = data.get(queries.SINGULAR[hint.kind])
            one = self._item(hint.kind, node) if node else self._gone(hint)
            if one is not None:  # a draft announced by a webhook: nothing to read yet
                found.append(one)
        return found

    async def _owner(self, hint: RecordHint) -> list[SourceItem]:
        """The client owning the property a ``PROPERTY_*`` webhook names, re-read whole (its
        service locations are checked with it). A property Jobber no longer has (after
        ``PROPERTY_DESTROY``) names no client: nothing is read, and nothing is deleted; the
        client comes with the next delta read that finds it changed."""
        data, _ = await self._api.run("get_property_owner", queries.PROPERTY_OWNER, {"id": hint.id})
        client = (data.get("property") or {}).get("client")
        one = self._item("customer", client) if isinstance(client, dict) else None
        return [one] if one is not None else []

    def _gone(self, hint: RecordHint) -> SourceItem:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return SourceItem(SYSTEM, hint.kind, hint.id, now, {"id": hint.id}, deleted=True)

    # ------------------------------------------------------------------ write-back

    async def write_back(self, updates: Sequence[StatusUpdate]) -> list[WriteBackOutcome]:
        if self._mapping.reads_payments:  # Jobber's own payments: writing them back would loop
            return writeback.owned_payments(updates)
        return await writeback.write_back(self._api, self._currency, updates)

    async def write_customer_details(
        self, updates: Sequence[CustomerDetailsUpdate]
    ) -> list[CustomerDetailsRefusal]:
        """Customer details the ledger owns onto clients (customer_writeback.py)."""
        return await customer_writeback.write_customer_details(self._api, updates)

    async def aclose(self) -> None:
        await self._api.aclose()
