"""Payment status from the ledger onto the HubSpot deal (SOURCES.md §1.6).

Custom deal properties are created once if missing: ``GET
/crm/properties/2026-03/deals/{name}`` first (HubSpot documents no 409 for "already
exists", §1.6), then ``POST /crm/properties/2026-03/deals`` with the required
``groupName, name, label, type, fieldType`` (a 409 from a race is taken as "exists").
They live in their own property group ``syncledger`` (created the same way through
``/crm/properties/2026-03/deals/groups``, required ``name, label``: properties.json),
since no default group name is documented. Values go with ``batch/update`` by deal id
(``hs_object_id`` cannot be an upsert key, §1.6); setting the same values twice leaves the
deal as once, so a retried write-back changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from syncledger.adapters.hubspot.client import HubSpotClient
from syncledger.core.source_ports import StatusUpdate

REF_PREFIX = "hubspot/invoice/"
GROUP = {"name": "syncledger", "label": "syncledger"}
#: property name → (label, type, fieldType); types/fieldTypes from properties.json enums
PROPERTIES: Mapping[str, tuple[str, str, str]] = {
    "syncledger_payment_status": ("Payment status (ledger)", "string", "text"),
    "syncledger_amount_paid": ("Amount paid (ledger)", "number", "number"),
    "syncledger_balance": ("Balance due (ledger)", "number", "number"),
    "syncledger_currency": ("Currency (ledger)", "string", "text"),
    "syncledger_ledger_number": ("Ledger invoice number", "string", "text"),
    "syncledger_ledger_link": ("Ledger invoice link", "string", "text"),
}


def _definition(name: str) -> dict[str, Any]:
    label, kind, field_type = PROPERTIES[name]
    return {
        "name": name,
        "label": label,
        "type": kind,
        "fieldType": field_type,
        "groupName": GROUP["name"],
    }


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


class StatusProperties:
    """Creates the deal properties at most once per reader."""

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client
        self._ready = False

    async def ensure(self) -> None:
        if self._ready:
            return
        if not await self._client.group_exists("deals", GROUP["name"]):
            await self._client.create_group("deals", GROUP)
        for name in PROPERTIES:
            if not await self._client.property_exists("deals", name):
                await self._client.create_property("deals", _definition(name))
        self._ready = True


async def write_back(
    client: HubSpotClient, props: StatusProperties, updates: Sequence[StatusUpdate]
) -> int:
    """Write what refers to a deal; the count HubSpot took."""
    by_deal = {d: values(u) for u in updates if (d := deal_id(u.source_ref)) is not None}
    if not by_deal:
        return 0
    await props.ensure()
    return await client.batch_update("deals", by_deal)
