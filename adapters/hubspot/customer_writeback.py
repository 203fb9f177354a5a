"""Customer details the ledger owns, onto HubSpot companies and contacts (issue #11).

Written with the object batch update, ``POST /crm/objects/2026-03/{companies|contacts}/
batch/update`` with ``BatchInputSimplePublicObjectBatchInput`` = ``{"inputs": [{"id",
"properties"}]}``, answered 200 or 207 (HubSpot's 2026-03 companies and contacts
specifications; SOURCES.md §1.6: batch update by id, at most 100 inputs a request,
batches are not atomic), through ``HubSpotClient.batch_update``. Setting the same values
twice leaves the record as once, so a write repeated after a crash changes nothing. A
batch HubSpot took only part of (207: fewer results than inputs) fails the write-back,
so nothing of it is marked written and all of it is written again on the next run.

Which property takes a detail is the source mapping's (``source_mapping.toml``
``[company]``/``[contact]``), read in reverse:

* a detail mapped to one property is written to it;
* a detail mapped to several (``billing_address`` is five company properties joined by
  line breaks) is refused ``composite``: splitting an address back into street, city,
  state, zip and country is guesswork, and a wrong split would corrupt the CRM record;
* a detail the mapping leaves out (a company's ``email``) is refused ``not_mapped``;
* a record that is not a HubSpot company or contact of ours is refused ``not_ours``.

The values are personal: no log line or error message here carries one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from syncledger.adapters.hubspot.client import HubSpotClient
from syncledger.adapters.hubspot.mapping import SYSTEM, SourceMapping, split_customer_id
from syncledger.core.errors import SourceError
from syncledger.core.source_ports import CustomerDetailsRefusal, CustomerDetailsUpdate

REF_PREFIX = f"{SYSTEM}/customer/"
_WHY = {
    "not_ours": "not a HubSpot company or contact",
    "not_mapped": "the source mapping reads this detail from no property",
    "composite": "the source mapping joins several properties into it; they are not split back",
}


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


def _refusal(update: CustomerDetailsUpdate, field: str, reason: str) -> CustomerDetailsRefusal:
    return CustomerDetailsRefusal(update.source_ref, field, reason, _WHY[reason])


class _Plan:
    """Properties per object type and id, and what cannot be written."""

    def __init__(self, mapping: SourceMapping) -> None:
        self._m = mapping
        self.rows: dict[str, dict[str, dict[str, str]]] = {"companies": {}, "contacts": {}}
        self.refused: list[CustomerDetailsRefusal] = []

    def add(self, update: CustomerDetailsUpdate) -> None:
        found = self._target(update.source_ref)
        if found is None:
            self.refused += [_refusal(update, f, "not_ours") for f in update.values]
            return
        kind, rid = found
        table = self._m.company if kind == "companies" else self._m.contact
        for field, value in update.values.items():
            prop, reason = property_for(table, field)
            if prop is None:
                self.refused.append(_refusal(update, field, reason or "not_mapped"))
            else:
                self.rows[kind].setdefault(rid, {})[prop] = value

    @staticmethod
    def _target(source_ref: str) -> tuple[str, str] | None:
        if not source_ref.startswith(REF_PREFIX):
            return None
        return split_customer_id(source_ref.removeprefix(REF_PREFIX))


async def write_customer_details(
    client: HubSpotClient, mapping: SourceMapping, updates: Sequence[CustomerDetailsUpdate]
) -> list[CustomerDetailsRefusal]:
    """Write what maps to one property of a company or contact; return the rest."""
    plan = _Plan(mapping)
    for update in updates:
        plan.add(update)
    for kind, rows in plan.rows.items():
        if rows:
            taken = await client.batch_update(kind, rows)
            if taken < len(rows):
                raise SourceError(
                    f"HubSpot took {taken} of {len(rows)} {kind} updates; the customer "
                    "details are written again at the next back-sync"
                )
    return plan.refused
