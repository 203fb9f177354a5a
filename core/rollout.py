"""Incremental rollout (issue 16): a scope rule decides which source records are pushed.

The rule is the ``[rollout]`` table of ``syncledger.toml`` (or ``SYNCLEDGER_ROLLOUT`` as
JSON). A customer is in scope when it matches **any** criterion given:

- ``customers``: source customer ids (``CUST-0001``) or refs (``csv/customer/CUST-0001``);
- ``tags`` with ``tag_field``: one of the tags is among the values of that raw source
  field (a list, or text whose values are separated by ``;`` or ``,``);
- ``regions`` with ``region_field``: that raw source field's value is one of the regions.

Tags and regions compare without regard to case or surrounding spaces. Invoices, payments,
credit notes and refunds follow their customer (``customer_ref``). No rule: everything is
in scope. The fields are the record's raw source fields as the log holds them (personal
ones unsealed), before a ledger mapping's transforms: a column the mapping drops can
still decide the scope.

No platform fact is involved: separators are the ones sources commonly give for
multi-values (HubSpot multi-checkbox properties use ``;``; a CSV cell written by hand
often uses ``,``); anything else is one value (the safe path: it matches only itself).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from syncledger.core.ids import canonical_json

_KEYS = ("customers", "tags", "tag_field", "regions", "region_field")
_SEPARATORS = re.compile(r"[;,]")
_HOW = (
    'write customers = ["<source customer id>", …], tags = [...] with tag_field = '
    '"<source field>", and/or regions = [...] with region_field = "<source field>"'
)


class RolloutRule(BaseModel):
    """Which customers (and so which of their records) are pushed; frozen, validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    customers: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    tag_field: str | None = None
    regions: tuple[str, ...] = ()
    region_field: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"give a [rollout] table: {_HOW}")
        for key, item in value.items():
            _check_entry(str(key), item)
        return value

    @model_validator(mode="after")
    def _complete(self) -> RolloutRule:
        _pair("tags", self.tags, "tag_field", self.tag_field)
        _pair("regions", self.regions, "region_field", self.region_field)
        if not (self.customers or self.tags or self.regions):
            raise ValueError(
                "an empty rollout scope would push nothing: "
                f"{_HOW}; or remove [rollout] to push everything"
            )
        return self

    def as_written(self) -> dict[str, Any]:
        """The rule as configured (only the keys given), for the log."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def digest(self) -> str:
        """sha256 of the rule's canonical form (values sorted, case folded where they
        compare without case): the same scope written twice has one digest."""
        canonical = {
            "customers": sorted(set(self.customers)),
            "tags": sorted(_folded(self.tags)),
            "tag_field": self.tag_field,
            "regions": sorted(_folded(self.regions)),
            "region_field": self.region_field,
        }
        return hashlib.sha256(canonical_json(canonical)).hexdigest()

    @property
    def needs_fields(self) -> bool:
        """Whether the customer's fields decide (tags or regions), not its id alone."""
        return bool(self.tags or self.regions)

    def admits(self, customer_ref: str, fields: Mapping[str, Any]) -> bool:
        """Whether the customer ``customer_ref`` with raw source ``fields`` is in scope."""
        return (
            _listed(customer_ref, self.customers)
            or _tagged(fields, self.tag_field, self.tags)
            or _in_region(fields, self.region_field, self.regions)
        )


def _check_entry(key: str, item: Any) -> None:
    if key not in _KEYS:
        close = difflib.get_close_matches(key, _KEYS, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"unknown key {key!r} in [rollout]{hint}: {_HOW}")
    if key.endswith("_field"):
        if not isinstance(item, str) or not item.strip():
            example = "tags" if key == "tag_field" else "country"
            raise ValueError(f'{key} must be a source field name, e.g. {key} = "{example}"')
        return
    if not isinstance(item, list | tuple) or not all(
        isinstance(one, str) and one.strip() for one in item
    ):
        raise ValueError(f'{key} must be a list of non-empty texts, e.g. {key} = ["A", "B"]')


def _pair(values_key: str, values: tuple[str, ...], field_key: str, field: str | None) -> None:
    if values and field is None:
        raise ValueError(f'{values_key} needs {field_key} = "<source field>" (where to read them)')
    if field is not None and not values:
        raise ValueError(f'{field_key} needs {values_key} = ["...", …] (what to look for)')


def _folded(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v.strip()}


def _listed(customer_ref: str, customers: tuple[str, ...]) -> bool:
    own_id = customer_ref.split("/", 2)[-1]
    return any(c.strip() in (customer_ref, own_id) for c in customers)


def field_values(value: Any) -> set[str]:
    """A raw field's values: a list's items, or text split on ``;`` / ``,``; folded."""
    if isinstance(value, list | tuple):
        return _folded(str(v) for v in value if v is not None)
    if isinstance(value, str):
        return _folded(_SEPARATORS.split(value))
    return set() if value is None else _folded([str(value)])


def _tagged(fields: Mapping[str, Any], field: str | None, tags: tuple[str, ...]) -> bool:
    return field is not None and bool(field_values(fields.get(field)) & _folded(tags))


def _in_region(fields: Mapping[str, Any], field: str | None, regions: tuple[str, ...]) -> bool:
    if field is None:
        return False
    value = fields.get(field)
    return isinstance(value, str) and value.strip().casefold() in _folded(regions)


#: the digest of "no rule": everything in scope (a scope removed is a change too)
EVERYTHING = hashlib.sha256(b"rollout:everything").hexdigest()


def digest_of(rule: RolloutRule | None) -> str:
    return EVERYTHING if rule is None else rule.digest
