"""Where personal data goes: a data map from the mappings, regions per connection, and
the transfer rules an entity relies on (issue #18, "Personal data that crosses borders").

The map says, for each customer field that can hold personal data, which source fields
it is read from (the source's mapping) and which ledger fields it is written to (the
ledger's ``mapping.toml`` ``[customer.fields]``; a field the ledger mapping does not name
never reaches that ledger), and the region each connection holds its data in — as the
operator configures it (``[data_regions]`` in ``syncledger.toml``: connection id → region,
e.g. ``hubspot = "EU"``, ``qbo = "US"``); syncledger cannot know where a SaaS keeps data.

Transfer rules (``[transfer]``): the destination regions personal data may go to from the
source's region, the mechanism relied on (adequacy, SCCs, BCRs, consent, …) and who
approved it when. With rules set, a customer record carrying personal data is pushed to a
ledger only when the ledger's region is the source's or one of the allowed ones;
otherwise it is refused with ``transfer_not_allowed`` (its invoices then wait on it). No
rules: nothing is refused (the map is still made). An unknown region is never assumed
allowed: a connection without a configured region is refused under rules.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from syncledger.core.model import Customer

#: customer fields that hold personal data wherever the customer is a person; ``name``
#: and ``tax_id`` are personal for a sole trader, not for a company — listed, and marked
MAY_BE_PERSONAL: frozenset[str] = Customer.MAY_NAME_A_BUSINESS
PERSONAL_FIELDS: tuple[str, ...] = tuple(sorted(Customer.PII_FIELDS))
TRANSFER_NOT_ALLOWED = "transfer_not_allowed"


class TransferRules(BaseModel):
    """What an entity relies on to send personal data across borders (``[transfer]`` in
    syncledger.toml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    allowed_regions: tuple[str, ...] = Field(
        description="regions personal data may go to besides the source's own"
    )
    mechanism: str = Field(min_length=1, description="e.g. adequacy, SCCs, BCRs, consent")
    approved_by: str = Field(min_length=1, description="who approved relying on it")
    approved_on: date = Field(description="when (yyyy-mm-dd)")

    def to_json(self) -> dict[str, Any]:
        return {
            "allowed_regions": list(self.allowed_regions),
            "mechanism": self.mechanism,
            "approved_by": self.approved_by,
            "approved_on": self.approved_on.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class FieldFlow:
    field: str
    personal: str  # "yes" | "when the customer is a person"
    source_fields: tuple[str, ...]
    ledger_fields: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "personal": self.personal,
            "source_fields": list(self.source_fields),
            "ledger_fields": list(self.ledger_fields),
        }


@dataclass(frozen=True, slots=True)
class DataMap:
    entity: str
    source: str
    ledger: str
    source_region: str | None
    ledger_region: str | None
    flows: tuple[FieldFlow, ...]
    rules: TransferRules | None = None
    mapping_versions: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "source": {"id": self.source, "region": self.source_region},
            "ledger": {"id": self.ledger, "region": self.ledger_region},
            "personal_fields": [f.to_json() for f in self.flows],
            "transfer_rules": self.rules.to_json() if self.rules else None,
            "transfer": self.verdict() or "allowed",
            "mapping_versions": dict(sorted(self.mapping_versions.items())),
        }

    def digest(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def reaching_the_ledger(self) -> tuple[str, ...]:
        return tuple(f.field for f in self.flows if f.ledger_fields)

    def verdict(self) -> str | None:
        """Why personal data may not go from the source to the ledger, or None."""
        if self.rules is None or not self.reaching_the_ledger():
            return None
        if self.ledger_region is None or self.source_region is None:
            missing = self.ledger if self.ledger_region is None else self.source
            return (
                f"no region is configured for {missing} ([data_regions] in syncledger.toml) "
                "and transfer rules are set: an unknown region is never assumed allowed"
            )
        if self.ledger_region == self.source_region:
            return None
        if self.ledger_region in self.rules.allowed_regions:
            return None
        allowed = ", ".join(self.rules.allowed_regions) or "none"
        return (
            f"personal data may not go from {self.source} ({self.source_region}) to "
            f"{self.ledger} ({self.ledger_region}): the transfer rules allow {allowed} "
            f"({self.rules.mechanism}, approved by {self.rules.approved_by} on "
            f"{self.rules.approved_on.isoformat()})"
        )


def flows(
    source_fields: Mapping[str, tuple[str, ...]], ledger_fields: Mapping[str, tuple[str, ...]]
) -> tuple[FieldFlow, ...]:
    """One flow per personal field the source reads or the ledger writes."""
    found = []
    for name in PERSONAL_FIELDS:
        read, written = source_fields.get(name, ()), ledger_fields.get(name, ())
        if read or written:
            personal = "when the customer is a person" if name in MAY_BE_PERSONAL else "yes"
            found.append(FieldFlow(name, personal, tuple(read), tuple(written)))
    return tuple(found)


def ledger_customer_fields(mapping: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """``[customer.fields]`` of a ledger's mapping file: canonical field → ledger field(s)."""
    table = ((mapping.get("customer") or {}).get("fields")) or {}
    out: dict[str, tuple[str, ...]] = {}
    for name, spec in table.items():
        names = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, list) else []
        kept = tuple(str(n) for n in names if n)
        if kept:
            out[str(name)] = kept
    return out


def has_personal_data(customer: Customer) -> bool:
    fields = Customer.PII_FIELDS - Customer.MAY_NAME_A_BUSINESS
    return any(getattr(customer, f, None) for f in fields)


def lines(data_map: DataMap) -> list[str]:
    """The map in words, for ``syncledger audit data-map``."""
    src = f"{data_map.source} ({data_map.source_region or 'region not configured'})"
    led = f"{data_map.ledger} ({data_map.ledger_region or 'region not configured'})"
    out = [f"entity {data_map.entity}: personal data from {src} to {led}"]
    for f in data_map.flows:
        read = ", ".join(f.source_fields) or "not read"
        written = ", ".join(f.ledger_fields) or "not sent to the ledger"
        out.append(f"  {f.field} (personal: {f.personal}): {read} -> {written}")
    if data_map.rules is None:
        out.append("transfer rules: none set (nothing is refused for its destination)")
    else:
        r = data_map.rules
        out.append(
            f"transfer rules: allowed regions {', '.join(r.allowed_regions) or 'none'}; "
            f"mechanism {r.mechanism}; approved by {r.approved_by} on {r.approved_on}"
        )
    verdict = data_map.verdict()
    out.append(f"transfer: {'refused: ' + verdict if verdict else 'allowed'}")
    return out
