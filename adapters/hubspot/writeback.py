"""Payment status from the ledger onto the HubSpot deal (SOURCES.md §1.3, §1.6).

Custom deal properties are created once if missing: ``GET
/crm/properties/2026-03/deals/{name}`` first (HubSpot documents no 409 for "already
exists", §1.6), then ``POST /crm/properties/2026-03/deals`` with the required
``groupName, name, label, type, fieldType`` (a 409 from a race is taken as "exists").
They live in their own property group ``syncledger`` (created the same way through
``/crm/properties/2026-03/deals/groups``, required ``name, label``: properties.json),
since no default group name is documented. One of them, ``syncledger_deal_ref``, is
declared ``hasUniqueValue`` (the properties spec: "Whether or not the property's value
must be unique. Once set, this can't be changed"; at most 10 per object, §1.6): it holds
the deal's own source reference (``hubspot/invoice/{deal id}``), which HubSpot then keeps
unique across deals. Deals have no built-in unique property (§1.6).

Writes go in batches of at most 100 inputs (§1.3):

- ``POST /crm/objects/2026-03/0-3/batch/upsert`` keyed on ``idProperty:
  syncledger_deal_ref`` (the deals spec's ``SimplePublicObjectBatchInputUpsert``: ``id,
  idProperty, objectWriteTraceId, properties``). HubSpot documents no upsert keyed on the
  record id (the spec: records "identified by a unique property value"; ``hs_object_id``
  as ``idProperty`` fails, §1.6), and an upsert whose value no deal holds *creates* a
  deal. So only deals known to hold their reference are upserted: those this reader
  stamped (below) or read from HubSpot holding it (the reader asks for the property with
  every deal). A result that says ``new`` is refused loudly (HubSpot created a
  deal; that can only happen when a person cleared the reference meanwhile).
- ``POST /crm/objects/2026-03/0-3/batch/update`` by record id (never creates: the
  spec's "Update a batch of deals by internal ID") for every deal not known to hold its
  reference; it writes the reference with the values. Setting the same values twice
  leaves the deal as once, and the reference is a function of the deal id, so this path is
  idempotent as well.

N deals therefore cost ceil(N/100) requests on either path (one more at most when a run
mixes both). HubSpot answers a partial
failure with 207 "multiple statuses" (``errors`` of ``StandardError`` beside the
``results``); the spec names no field tying an error to its input, so an input counts as
written only when a result comes back for it (matched by ``objectWriteTraceId``, which
"correlates multi-status results", §1.6, or the result's id). The rest are retried alone
(by record id, which never creates), up to :data:`ATTEMPTS` times; whatever is still not
written raises :class:`HubSpotError`, so the caller marks nothing of the batch as written
(core/writeback.py marks a batch only when ``write_back`` returns). Batch writes are not
atomic (§1.6), so the deals that were written are simply written again next time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from syncledger.adapters.hubspot.client import BATCH, PATHS, HubSpotClient
from syncledger.adapters.hubspot.errors import HubSpotError, boundary
from syncledger.core.source_ports import StatusUpdate

REF_PREFIX = "hubspot/invoice/"
GROUP = {"name": "syncledger", "label": "syncledger"}
#: the unique-value property that keys the upserts
UNIQUE = "syncledger_deal_ref"
#: property name → (label, type, fieldType); types/fieldTypes from properties.json enums
PROPERTIES: Mapping[str, tuple[str, str, str]] = {
    "syncledger_payment_status": ("Payment status (ledger)", "string", "text"),
    "syncledger_amount_paid": ("Amount paid (ledger)", "number", "number"),
    "syncledger_balance": ("Balance due (ledger)", "number", "number"),
    "syncledger_currency": ("Currency (ledger)", "string", "text"),
    "syncledger_ledger_number": ("Ledger invoice number", "string", "text"),
    "syncledger_ledger_link": ("Ledger invoice link", "string", "text"),
    UNIQUE: ("Deal reference (syncledger)", "string", "text"),
}
#: tries of one input: the batch, then alone by record id twice
ATTEMPTS = 3


def _definition(name: str) -> dict[str, Any]:
    label, kind, field_type = PROPERTIES[name]
    found: dict[str, Any] = {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": GROUP["name"],
    }
    if name == UNIQUE:
        found["hasUniqueValue"] = True
    return found


def _text(value: Decimal | str | None) -> str:
    return "" if value is None else str(value)


def values(update: StatusUpdate) -> dict[str, str]:
    return {
        "syncledger_payment_status": update.status,
        "syncledger_amount_paid": _text(update.amount_paid),
        "syncledger_balance": _text(update.balance),
        "syncledger_currency": _text(update.currency),
        "syncledger_ledger_number": _text(update.ledger_number),
        "syncledger_ledger_link": _text(update.link),
    }


def deal_id(source_ref: str) -> str | None:
    rid = source_ref.removeprefix(REF_PREFIX)
    return rid if source_ref.startswith(REF_PREFIX) and rid.isdigit() else None


def reference(deal: str) -> str:
    """The unique value a deal carries once stamped."""
    return REF_PREFIX + deal


class StatusProperties:
    """Creates the deal properties at most once per reader, and remembers which deals this
    reader has stamped with their reference (those may be upserted)."""

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client
        self._ready = False
        self.stamped: set[str] = set()

    def learn(self, deals: Iterable[Mapping[str, Any]]) -> None:
        """Deals read from HubSpot that hold their own reference may be upserted."""
        for deal in deals:
            rid = str(deal.get("id"))
            if (deal.get("properties") or {}).get(UNIQUE) == reference(rid):
                self.stamped.add(rid)

    async def ensure(self) -> None:
        if self._ready:
            return
        if not await self._client.group_exists("deals", GROUP["name"]):
            await self._client.create_group("deals", GROUP)
        for name in PROPERTIES:
            if not await self._client.property_exists("deals", name):
                await self._client.create_property("deals", _definition(name))
        self._ready = True


# ----------------------------------------------------------------------- one request


@dataclass(frozen=True, slots=True)
class Sent:
    """What one batch request wrote: the deal ids a result came back for, the deals HubSpot
    says it created, and whether any error was one a later try may get past."""

    written: frozenset[str]
    created: tuple[str, ...] = ()
    transient: bool = False
    said: tuple[str, ...] = ()


def _upsert_input(deal: str, props: Mapping[str, str]) -> dict[str, Any]:
    return {
        "idProperty": UNIQUE,
        "id": reference(deal),
        "objectWriteTraceId": deal,
        "properties": dict(props),
    }


def _update_input(deal: str, props: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": deal,
        "objectWriteTraceId": deal,
        "properties": {**props, UNIQUE: reference(deal)},
    }


def _deal_of(result: Mapping[str, Any]) -> str:
    trace = result.get("objectWriteTraceId")
    if trace:
        return str(trace)
    ref = str((result.get("properties") or {}).get(UNIQUE) or "")
    return deal_id(ref) or str(result.get("id"))


def _transient(errors: Iterable[Any]) -> bool:
    statuses = [str(e.get("status", "")) for e in errors if isinstance(e, dict)]
    return any(s.startswith("5") or s == "429" for s in statuses)


def _said(errors: Iterable[Any]) -> tuple[str, ...]:
    """HubSpot's category and message of each distinct error (deal properties only: no
    personal data, no credential)."""
    found = [
        f"{e.get('category') or 'error'}: {str(e.get('message') or '')[:200]}"
        for e in errors
        if isinstance(e, dict)
    ]
    return tuple(dict.fromkeys(found))


def _sent(answer: Any) -> Sent:
    if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
        raise HubSpotError("HubSpot answered a batch write without results", transient=True)
    results = [r for r in answer["results"] if isinstance(r, dict)]
    created = tuple(str(r.get("id")) for r in results if r.get("new") is True)
    written = frozenset(_deal_of(r) for r in results if r.get("new") is not True)
    errors = answer.get("errors") or []
    return Sent(written, created, _transient(errors), _said(errors))


async def _post(client: HubSpotClient, action: str, inputs: list[dict[str, Any]]) -> Sent:
    with boundary(f"writing payment status to {len(inputs)} HubSpot deal(s) ({action})"):
        # HubSpotClient has no batch/upsert call; client.py is not this module's file,
        # so its HTTP layer is used directly (same limiter, auth and retries)
        answer = await client._api.json(
            "POST",
            f"/crm/objects/2026-03/{PATHS['deals']}/batch/{action}",
            body={"inputs": inputs},
            idempotent=True,  # same values twice leave the deal as once (see above)
        )
    return _sent(answer)


# ----------------------------------------------------------------------- the writer


@dataclass
class DealWriter:
    """Writes ``{deal id: values}`` and keeps ``stamped`` up to date."""

    client: HubSpotClient
    stamped: set[str]
    _transient: bool = field(default=False, init=False)
    _said: tuple[str, ...] = field(default=(), init=False)

    async def write(self, wanted: Mapping[str, Mapping[str, str]]) -> None:
        keyed = [d for d in wanted if d in self.stamped]
        fresh = [d for d in wanted if d not in self.stamped]
        left: dict[str, Mapping[str, str]] = {}
        for chunk in _chunks(keyed):
            left.update(await self._send("upsert", {d: wanted[d] for d in chunk}))
        for chunk in _chunks(fresh):
            left.update(await self._send("update", {d: wanted[d] for d in chunk}))
        await self._retry(left)

    async def _send(
        self, action: str, rows: Mapping[str, Mapping[str, str]]
    ) -> dict[str, Mapping[str, str]]:
        """Send one batch; the rows not written."""
        make = _upsert_input if action == "upsert" else _update_input
        sent = await _post(self.client, action, [make(d, p) for d, p in rows.items()])
        if sent.created:
            raise HubSpotError(
                f"HubSpot created deal(s) {', '.join(sent.created)} on an upsert keyed on "
                f"{UNIQUE}: a deal's reference was cleared or changed in HubSpot. Delete the "
                "created deal(s) in HubSpot, then let the write-back run again"
            )
        self.stamped |= sent.written & set(rows)
        self._transient |= sent.transient
        self._said = tuple(dict.fromkeys((*self._said, *sent.said)))
        return {d: p for d, p in rows.items() if d not in sent.written}

    async def _retry(self, left: Mapping[str, Mapping[str, str]]) -> None:
        """Only the failed inputs again, by record id (which never creates a deal)."""
        for _ in range(ATTEMPTS - 1):
            if not left:
                return
            self._transient, self._said = False, ()
            retried: dict[str, Mapping[str, str]] = {}
            for chunk in _chunks(list(left)):
                retried.update(await self._send("update", {d: left[d] for d in chunk}))
            left = retried
        if left:
            raise self._not_taken(left)

    def _not_taken(self, left: Mapping[str, Mapping[str, str]]) -> HubSpotError:
        said = f" (HubSpot said: {'; '.join(self._said[:3])})" if self._said else ""
        return HubSpotError(
            f"HubSpot did not take the payment status of deal(s) {', '.join(sorted(left))} "
            f"after {ATTEMPTS} tries{said}; nothing of this batch is marked written, it is "
            "written again on the next run",
            transient=self._transient,
        )


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    return (list(ids[i : i + BATCH]) for i in range(0, len(ids), BATCH))


async def write_back(
    client: HubSpotClient, props: StatusProperties, updates: Sequence[StatusUpdate]
) -> int:
    """Write what refers to a deal (the latest update of each deal); the count written.
    Raises :class:`HubSpotError` unless every one of them was written."""
    wanted = {d: values(u) for u in updates if (d := deal_id(u.source_ref)) is not None}
    if not wanted:
        return 0
    await props.ensure()
    await DealWriter(client, props.stamped).write(wanted)
    return len(wanted)
