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
  every deal). A result that says ``new`` refuses that deal (HubSpot created one: the
  deal was deleted or a person cleared the reference meanwhile; below).
- ``POST /crm/objects/2026-03/0-3/batch/update`` by record id (never creates: the
  spec's "Update a batch of deals by internal ID") for every deal not known to hold its
  reference; it writes the reference with the values. Setting the same values twice
  leaves the deal as once, and the reference is a function of the deal id, so this path is
  idempotent as well.

N deals therefore cost ceil(N/100) requests on either path (one more at most when a run
mixes both). What became of each deal is returned (``WriteBackOutcome``), so a deal that
is gone never holds back the others:

- **207 multi-status** (``errors`` of ``StandardError`` beside the ``results``): the
  spec names no field tying an error to its input, so an input counts as written only
  when a result comes back for it (matched by ``objectWriteTraceId``, which "correlates
  multi-status results", §1.6, or the result's id). The rest are retried one input a
  request (by record id, which never creates), up to :data:`ATTEMPTS` tries in all, so a
  last error is that deal's own: a 5xx/429 leaves it *not attempted* (written again next
  run), ``OBJECT_NOT_FOUND`` (or status 404) refuses it ``source_record_gone``, any
  other refuses it ``source_refused`` with HubSpot's category and message.
- **A whole-request 404 on** ``batch/update``: what HubSpot answers for an id that does
  not exist is not documented (the deals spec gives 200, 207 and a default ``Error``; no
  source says whether a missing id fails its input or the request). The sandbox refuses
  the whole request with 404 ``OBJECT_NOT_FOUND`` (its own choice), so the safe path is
  taken: the batch is halved and each half sent again until the 404 is down to single
  inputs (SOURCES.md §1.6: "bisect"), each of which is a deal that is gone
  (``source_record_gone``, never retried; about 2·log2(100) ≈ 14 extra requests for one
  gone deal in a full batch, instead of 100 one by one). Other whole-request refusals
  (400, 401, 409, a 429 or 5xx after the HTTP layer's retries) raise
  :class:`HubSpotError`: the caller leaves the whole batch pending.
- **An upsert that says** ``new``: HubSpot created a deal, since no live deal held the
  reference (it was deleted, or a person cleared the property). The update is refused
  ``source_record_gone`` naming the created deal (delete it in HubSpot); nothing of it is
  retried. Deals the reader sees deleted are forgotten as upsert targets
  (:meth:`StatusProperties.forget`), so this takes a deletion this reader has not read
  yet.

Batch writes are not atomic (§1.6), so a deal written in a request that then failed is
simply written again next time (the same values: idempotent).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from syncledger.adapters.hubspot.client import BATCH, HubSpotClient
from syncledger.adapters.hubspot.errors import HubSpotError
from syncledger.core.source_ports import StatusUpdate, WriteBackOutcome

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
            if deal.get("archived") is True:
                self.stamped.discard(rid)
            elif (deal.get("properties") or {}).get(UNIQUE) == reference(rid):
                self.stamped.add(rid)

    def forget(self, deals: Iterable[Mapping[str, Any]]) -> None:
        """Deals read as deleted: an upsert on their reference would create a deal."""
        for deal in deals:
            self.stamped.discard(str(deal.get("id")))

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

Rows = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Sent:
    """What one batch request did: the deal ids a result came back for, the deals HubSpot
    created (our deal id → the created deal's id), and what its errors say: one a later
    try may get past, one saying a record was not found, and HubSpot's own words."""

    written: frozenset[str]
    created: Mapping[str, str] = field(default_factory=dict)
    transient: bool = False
    gone: bool = False
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


def _statuses(errors: Iterable[Mapping[str, Any]]) -> list[str]:
    return [str(e.get("status", "")) for e in errors]


def _transient(errors: Sequence[Mapping[str, Any]]) -> bool:
    return any(s.startswith("5") or s == "429" for s in _statuses(errors))


def _not_found(errors: Sequence[Mapping[str, Any]]) -> bool:
    found = [e.get("category") == "OBJECT_NOT_FOUND" for e in errors]
    return any(found) or "404" in _statuses(errors)


def _said(errors: Iterable[Mapping[str, Any]]) -> tuple[str, ...]:
    """HubSpot's category and message of each distinct error (deal properties only: no
    personal data, no credential)."""
    found = [f"{e.get('category') or 'error'}: {str(e.get('message') or '')[:200]}" for e in errors]
    return tuple(dict.fromkeys(found))


def _sent(answer: Mapping[str, Any]) -> Sent:
    results = [r for r in answer["results"] if isinstance(r, dict)]
    created = {_deal_of(r): str(r.get("id")) for r in results if r.get("new") is True}
    written = frozenset(_deal_of(r) for r in results if r.get("new") is not True)
    errors = [e for e in answer.get("errors") or [] if isinstance(e, dict)]
    return Sent(written, created, _transient(errors), _not_found(errors), _said(errors))


# ----------------------------------------------------------------------- outcomes


def _gone(deal: str) -> WriteBackOutcome:
    return WriteBackOutcome.refused(
        reference(deal),
        code="source_record_gone",
        message=f"HubSpot has no deal {deal} (deleted there): its payment status has nowhere to go",
    )


def _created(deal: str, made: str) -> WriteBackOutcome:
    return WriteBackOutcome.refused(
        reference(deal),
        code="source_record_gone",
        message=f"HubSpot created deal {made} on the upsert for deal {deal}: no live deal "
        f"holds {UNIQUE} {reference(deal)} (deal {deal} deleted, or the property cleared); "
        f"delete deal {made} in HubSpot",
    )


def _given_up(deal: str, sent: Sent) -> WriteBackOutcome:
    said = "; ".join(sent.said[:3]) or "no result for it"
    if sent.transient:
        return WriteBackOutcome.not_attempted(
            reference(deal),
            f"HubSpot did not take deal {deal} after {ATTEMPTS} tries ({said}); written "
            "again on the next run",
        )
    if sent.gone:
        return _gone(deal)
    return WriteBackOutcome.refused(
        reference(deal), code="source_refused", message=f"HubSpot refused deal {deal}: {said}"
    )


# ----------------------------------------------------------------------- the writer


@dataclass
class DealWriter:
    """Writes ``{deal id: values}``, keeps ``stamped`` up to date and says what became of
    each deal (:meth:`write`)."""

    client: HubSpotClient
    stamped: set[str]
    _outcomes: dict[str, WriteBackOutcome] = field(default_factory=dict, init=False)
    _last: dict[str, Sent] = field(default_factory=dict, init=False)

    async def write(self, wanted: Rows) -> dict[str, WriteBackOutcome]:
        """The outcome of each deal written, refused or given up on (by deal id)."""
        keyed = [d for d in wanted if d in self.stamped]
        fresh = [d for d in wanted if d not in self.stamped]
        left: dict[str, Mapping[str, str]] = {}
        for chunk in _chunks(keyed):
            left.update(await self._send("upsert", {d: wanted[d] for d in chunk}))
        for chunk in _chunks(fresh):
            left.update(await self._send("update", {d: wanted[d] for d in chunk}))
        await self._retry(left)
        return self._outcomes

    async def _send(self, action: Literal["update", "upsert"], rows: Rows) -> dict[str, Any]:
        """Send one batch; the rows neither written nor refused."""
        make = _upsert_input if action == "upsert" else _update_input
        try:
            answer = await self.client.batch_write(
                "deals", action, [make(d, p) for d, p in rows.items()]
            )
        except HubSpotError as exc:
            if exc.code != "404" or action != "update":
                raise
            return await self._halve(rows)
        return self._settle(rows, _sent(answer))

    def _settle(self, rows: Rows, sent: Sent) -> dict[str, Any]:
        for deal, made in sent.created.items():
            if deal in rows:
                self._outcomes[deal] = _created(deal, made)
        done = sent.written & set(rows)
        self.stamped |= done
        self._outcomes.update({d: WriteBackOutcome.written(reference(d)) for d in done})
        left = {d: p for d, p in rows.items() if d not in done and d not in sent.created}
        self._last.update(dict.fromkeys(left, sent))
        return left

    async def _halve(self, rows: Rows) -> dict[str, Any]:
        """A whole-request 404: each half again, down to the single deals that are gone."""
        if len(rows) == 1:
            self._outcomes[next(iter(rows))] = _gone(next(iter(rows)))
            return {}
        items = list(rows.items())
        middle = len(items) // 2
        left = await self._send("update", dict(items[:middle]))
        left.update(await self._send("update", dict(items[middle:])))
        return left

    async def _retry(self, left: Rows) -> None:
        """The deals not taken again, one a request by record id (never creates a deal),
        so the last error of each is its own."""
        for _ in range(ATTEMPTS - 1):
            retried: dict[str, Any] = {}
            for deal, props in left.items():
                retried.update(await self._send("update", {deal: props}))
            left = retried
        for deal in left:
            self._outcomes[deal] = _given_up(deal, self._last[deal])


def _chunks(ids: Sequence[str]) -> Iterable[list[str]]:
    return (list(ids[i : i + BATCH]) for i in range(0, len(ids), BATCH))


async def write_back(
    client: HubSpotClient, props: StatusProperties, updates: Sequence[StatusUpdate]
) -> list[WriteBackOutcome]:
    """Write what refers to a deal (the latest update of each deal); what became of each
    update. One that names no HubSpot deal is not attempted (it waits for its own source).
    Raises :class:`HubSpotError` when HubSpot refuses a whole request for another reason
    than a deal not found (nothing is then marked)."""
    wanted = {d: values(u) for u in updates if (d := deal_id(u.source_ref)) is not None}
    found: dict[str, WriteBackOutcome] = {}
    if wanted:
        await props.ensure()
        found = await DealWriter(client, props.stamped).write(wanted)
    return [_outcome_of(u, found) for u in updates]


def _outcome_of(update: StatusUpdate, found: Mapping[str, WriteBackOutcome]) -> WriteBackOutcome:
    deal = deal_id(update.source_ref)
    if deal is None:
        return WriteBackOutcome.not_attempted(update.source_ref, "not a HubSpot deal")
    return found.get(deal) or WriteBackOutcome.not_attempted(update.source_ref)
