"""Customer details the ledger owns, onto HubSpot companies and contacts (issue #11).

Written with the object batch update, ``POST /crm/objects/2026-03/{companies|contacts}/
batch/update`` with ``BatchInputSimplePublicObjectBatchInput`` = ``{"inputs": [{"id",
"objectWriteTraceId", "properties"}]}``, answered 200 or 207 (HubSpot's 2026-03 companies
and contacts specifications; SOURCES.md §1.6: batch update by id, at most 100 inputs a
request, batches are not atomic, ``objectWriteTraceId`` "correlates multi-status
results"), through ``HubSpotClient.batch_write``. Setting the same values twice leaves the
record as once, so a write repeated after a crash changes nothing.

Which property takes a detail is the source mapping's (``source_mapping.toml``
``[company]``/``[contact]``), read in reverse:

* a detail mapped to one property is written to it;
* ``billing_address`` mapped to several properties (five company properties joined by
  line breaks) is written in parts, never split: the ledger says which parts it holds and
  which the bookkeeper changed (``CustomerDetailsUpdate.address``, core/customer_details.py),
  and each changed part goes to its property by :data:`ADDRESS_PROPERTIES` (street →
  ``address``, city → ``city``, region → ``state``, postal code → ``zip``, country →
  ``country``: the names the source mapping reads the address from, ``source_mapping.toml``
  ``[company]``, where they are marked unverified; SOURCES.md documents no address
  property). A part whose property the mapping does not read (a second street line: no
  ``address2`` is mapped or verified) refuses the whole address ``no_property``, so nothing
  is half-written; an address without parts is refused ``composite``. A part the ledger
  does not hold, or the bookkeeper cleared, is not sent: HubSpot keeps its value;
* a detail the mapping leaves out (a company's ``email``) is refused ``not_mapped``;
* a record that is not a HubSpot company or contact of ours is refused ``not_ours``.

A batch HubSpot takes only part of (**207**, ``errors`` beside the ``results``): an
input counts as written only when a result comes back for it (matched by its
``objectWriteTraceId``, else the result's id); the others are sent again one input a
request, :data:`ATTEMPTS` tries in all, so the last error of each is its own. Then:

* a last error that is HubSpot's own refusal (a 4xx: say a contact ``email`` another
  contact holds, which HubSpot keeps unique) refuses that record's details ``refused``
  with HubSpot's error category (its message is left out: it may quote the value);
  ``OBJECT_NOT_FOUND`` (or 404) refuses them ``not_found``; its neighbours are written
  and marked as usual;
* a last error a later try may get past (5xx, 429) raises :class:`SourceError` once every
  other input was sent: nothing of the run is marked, and all of it is written again at
  the next back-sync (the same values: nothing changes twice). Refusing it would drop the
  bookkeeper's change for good.

A whole request refused with 404 (what HubSpot answers for an id that does not exist is
not documented; the sandbox refuses the whole request, adapters/hubspot/writeback.py
takes the same safe path) is halved until the 404 is down to single records, each of
which is refused ``not_found``. Any other whole-request refusal raises: the caller leaves
the batch pending.

The values are personal: no log line or error message here carries one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from syncledger.adapters.hubspot.client import BATCH, HubSpotClient
from syncledger.adapters.hubspot.errors import HubSpotError
from syncledger.adapters.hubspot.mapping import SYSTEM, SourceMapping, split_customer_id
from syncledger.core.customer_details import AddressParts
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import CustomerDetailsRefusal, CustomerDetailsUpdate

REF_PREFIX = f"{SYSTEM}/customer/"
#: tries of an input HubSpot did not take (the batch, then alone)
ATTEMPTS = 3
_WHY = {
    "not_ours": "not a HubSpot company or contact",
    "not_mapped": "the source mapping reads this detail from no property",
    "composite": "the source mapping joins several properties into it; they are not split back",
    "no_property": "the ledger's address has a part no property of the source mapping takes",
}
#: the address part → the HubSpot property it is written to (when the mapping reads it)
ADDRESS_PROPERTIES = {
    "street": "address",
    "city": "city",
    "region": "state",
    "postal_code": "zip",
    "country": "country",
}
Rows = Mapping[str, Mapping[str, str]]


def property_for(table: Mapping[str, Any], field: str) -> tuple[str | None, str | None]:
    """(the one property ``field`` is read from, None) or (None, the reason code)."""
    spec = table.get(field)
    names = [spec] if isinstance(spec, str) else list(spec or [])
    names = [n for n in names if n]
    if not names:
        return None, "not_mapped"
    if len(names) > 1:
        return None, "composite"
    return names[0], None


def address_properties(
    table: Mapping[str, Any], parts: AddressParts | None
) -> tuple[dict[str, str], str | None]:
    """({property: value} for the parts to write, None) or ({}, the reason code)."""
    spec = table.get("billing_address")
    mapped = {spec} if isinstance(spec, str) else set(spec or ())
    if parts is None:
        return {}, "composite"
    if len(parts.street) > 1:
        return {}, "no_property"
    out: dict[str, str] = {}
    for part, prop in ADDRESS_PROPERTIES.items():
        value = parts.part(part)
        if value and prop not in mapped:
            return {}, "no_property"
        if value:
            out[prop] = value
    return out, None


def _refusal(update: CustomerDetailsUpdate, field: str, reason: str) -> CustomerDetailsRefusal:
    return CustomerDetailsRefusal(update.source_ref, field, reason, _WHY[reason])


class _Plan:
    """Properties per object type and id, who asked for each, and what cannot be written."""

    def __init__(self, mapping: SourceMapping) -> None:
        self._m = mapping
        self.rows: dict[str, dict[str, dict[str, str]]] = {"companies": {}, "contacts": {}}
        self.asked: dict[tuple[str, str], list[tuple[str, str]]] = {}
        self.refused: list[CustomerDetailsRefusal] = []

    def add(self, update: CustomerDetailsUpdate) -> None:
        found = self._target(update.source_ref)
        if found is None:
            self.refused += [_refusal(update, f, "not_ours") for f in update.values]
            return
        kind, rid = found
        table = self._m.company if kind == "companies" else self._m.contact
        for field, value in update.values.items():
            props, reason = self._properties(table, update, field, value)
            if reason is not None:
                self.refused.append(_refusal(update, field, reason))
            else:
                self.rows[kind].setdefault(rid, {}).update(props)
                self.asked.setdefault((kind, rid), []).append((update.source_ref, field))

    @staticmethod
    def _properties(
        table: Mapping[str, Any], update: CustomerDetailsUpdate, field: str, value: str
    ) -> tuple[dict[str, str], str | None]:
        """The properties one detail is written to, or why it is not."""
        prop, reason = property_for(table, field)
        if prop is not None:
            return {prop: value}, None
        if field == "billing_address" and reason == "composite":
            return address_properties(table, update.address)
        return {}, reason or "not_mapped"

    def refuse(self, kind: str, rid: str, reason: str, message: str) -> None:
        """Every detail asked of a record HubSpot would not take."""
        for source_ref, field in self.asked.get((kind, rid), []):
            self.refused.append(CustomerDetailsRefusal(source_ref, field, reason, message))

    @staticmethod
    def _target(source_ref: str) -> tuple[str, str] | None:
        if not source_ref.startswith(REF_PREFIX):
            return None
        return split_customer_id(source_ref.removeprefix(REF_PREFIX))


# ------------------------------------------------------------------ one request


@dataclass(frozen=True, slots=True)
class _Sent:
    """What one request did: the ids a result came back for, and its errors' words."""

    written: frozenset[str]
    errors: tuple[Mapping[str, Any], ...] = ()

    @property
    def transient(self) -> bool:
        return any(_status(e).startswith("5") or _status(e) == "429" for e in self.errors)

    @property
    def gone(self) -> bool:
        return any(
            e.get("category") == "OBJECT_NOT_FOUND" or _status(e) == "404" for e in self.errors
        )

    def categories(self) -> str:
        found = [str(e.get("category") or "error") for e in self.errors]
        return ", ".join(dict.fromkeys(found)) or "no result for it"


def _status(error: Mapping[str, Any]) -> str:
    return str(error.get("status", ""))


def _input(rid: str, props: Mapping[str, str]) -> dict[str, Any]:
    return {"id": rid, "objectWriteTraceId": rid, "properties": dict(props)}


def _id_of(result: Mapping[str, Any]) -> str:
    return str(result.get("objectWriteTraceId") or result.get("id"))


def _sent(answer: Mapping[str, Any]) -> _Sent:
    results = [r for r in answer.get("results") or [] if isinstance(r, dict)]
    errors = tuple(e for e in answer.get("errors") or [] if isinstance(e, dict))
    return _Sent(frozenset(_id_of(r) for r in results), errors)


def _chunks(rows: Rows) -> Iterator[dict[str, Mapping[str, str]]]:
    ids = list(rows)
    for start in range(0, len(ids), BATCH):
        yield {i: rows[i] for i in ids[start : start + BATCH]}


# ------------------------------------------------------------------ one object type


@dataclass
class _KindWriter:
    """Writes ``{record id: properties}`` of one object type; refuses on ``plan`` what
    HubSpot keeps refusing, and says which records are left for a later try."""

    client: HubSpotClient
    kind: str
    plan: _Plan
    _last: dict[str, _Sent] = dc_field(default_factory=dict, init=False)

    async def write(self, rows: Rows) -> list[str]:
        """The ids still not taken after every try because of a transient error."""
        left: dict[str, Mapping[str, str]] = {}
        for chunk in _chunks(rows):
            left.update(await self._send(chunk))
        for _ in range(ATTEMPTS - 1):
            retried: dict[str, Mapping[str, str]] = {}
            for rid, props in left.items():
                retried.update(await self._send({rid: props}))
            left = retried
        return self._settle_last(left)

    async def _send(self, rows: Rows) -> dict[str, Mapping[str, str]]:
        """One batch; the rows neither written nor refused."""
        inputs = [_input(rid, props) for rid, props in rows.items()]
        try:
            answer = await self.client.batch_write(self.kind, "update", inputs)
        except HubSpotError as exc:
            if exc.code != "404":
                raise
            return await self._halve(rows)
        sent = _sent(answer)
        left = {rid: p for rid, p in rows.items() if rid not in sent.written}
        self._last.update(dict.fromkeys(left, sent))
        return left

    async def _halve(self, rows: Rows) -> dict[str, Mapping[str, str]]:
        """A whole-request 404: each half again, down to the single records that are gone."""
        if len(rows) == 1:
            self._gone(next(iter(rows)))
            return {}
        items = list(rows.items())
        middle = len(items) // 2
        left = await self._send(dict(items[:middle]))
        left.update(await self._send(dict(items[middle:])))
        return left

    def _gone(self, rid: str) -> None:
        self.plan.refuse(self.kind, rid, "not_found", f"HubSpot has no {self.kind} record {rid}")

    def _settle_last(self, left: Rows) -> list[str]:
        pending: list[str] = []
        for rid in left:
            sent = self._last.get(rid, _Sent(frozenset()))
            if sent.transient:
                pending.append(rid)
            elif sent.gone:
                self._gone(rid)
            else:
                why = f"HubSpot refused the {self.kind} record {rid} ({sent.categories()})"
                self.plan.refuse(self.kind, rid, "refused", why)
        return pending


async def write_customer_details(
    client: HubSpotClient, mapping: SourceMapping, updates: Sequence[CustomerDetailsUpdate]
) -> list[CustomerDetailsRefusal]:
    """Write what maps to one property of a company or contact; return the rest (module
    docstring: what HubSpot keeps refusing is refused; a transient failure raises)."""
    plan = _Plan(mapping)
    for update in updates:
        plan.add(update)
    pending = 0
    for kind, rows in plan.rows.items():
        if rows:
            pending += len(await _KindWriter(client, kind, plan).write(rows))
    if pending:
        raise SourceError(
            f"HubSpot did not take {pending} customer record(s) after {ATTEMPTS} tries "
            "(a temporary error); the customer details are written again at the next back-sync"
        )
    return plan.refused
