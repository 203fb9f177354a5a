"""The sandbox's batch writes: ``batch/update`` (by record id, as before) and
``batch/upsert`` keyed on a unique-value property, with HubSpot's multi-status answer.

Facts (HubSpot's 2026-03 deals spec, read for facts only; SOURCES.md §1.3, §1.6):

- ``POST /crm/objects/2026-03/0-3/batch/upsert`` takes ``inputs`` of ``id``,
  ``properties`` (required), ``idProperty`` and ``objectWriteTraceId``; it creates or
  updates "records identified by a unique property value as specified by the
  ``idProperty``", a property "whose values are unique for the object". An answer is 200
  (``BatchResponseSimplePublicUpsertObject``: ``status``, ``results``, ``startedAt``,
  ``completedAt``; each result has ``id``, ``new``, ``properties``, ``createdAt``,
  ``updatedAt``, ``archived``, ``objectWriteTraceId``) or 207 "multiple statuses" (the
  same with ``errors`` of ``StandardError``: ``status``, ``category``, ``message``,
  ``context``, ``errors``, ``links``; and ``numErrors``);
- at most 100 inputs a call (§1.3);
- ``hs_object_id`` is not a unique property: an upsert keyed on it fails with
  VALIDATION_ERROR (§1.6, segmentio/action-destinations#3957), as does any property not
  declared ``hasUniqueValue`` (the properties spec: "Whether or not the property's value
  must be unique");
- two inputs of one upsert naming the same record are refused (§1.6,
  segmentio/action-destinations#3969);
- a value a unique property already holds on another record is refused for that input.

The sandbox's own choices (undocumented): which key of an error's ``context`` names the
failed input (``ids``, holding the input's ``id``); the per-input refusal's message and
``status``; a deal created by an upsert needs nothing more than its properties (HubSpot
says a new deal "should" carry ``dealname`` and ``dealstage``, so it may well be created
without them — the adapter never lets an upsert reach a deal that lacks its key).
Tests make an input fail with :meth:`InputFaults.fail` (a transient 5xx-like per-input
error by default).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from syncledger.adapters.hubspot.sandbox.store import Record, Store, iso_ms

BATCH_LIMIT = 100
#: properties HubSpot documents as unique for an object without creating one (§1.6)
BUILT_IN_UNIQUE = {"contacts": {"email"}, "products": {"hs_sku"}}


class BatchRefused(Exception):
    """The whole request is refused with ``rule`` of refusals.py."""

    def __init__(self, rule: str, **values: Any) -> None:
        super().__init__(rule)
        self.rule = rule
        self.values = values


@dataclass
class InputFaults:
    """Inputs that fail the next ``times`` writes naming them (by id or unique value)."""

    failing: dict[str, tuple[int, str, str]] = field(default_factory=dict)

    def fail(self, key: str, *, times: int = 1, status: str = "500") -> None:
        category = "INTERNAL_ERROR" if status.startswith("5") else "VALIDATION_ERROR"
        self.failing[key] = (times, status, category)

    def take(self, key: str) -> tuple[str, str] | None:
        found = self.failing.get(key)
        if found is None:
            return None
        times, status, category = found
        if times <= 1:
            del self.failing[key]
        else:
            self.failing[key] = (times - 1, status, category)
        return status, category


def _error(status: str, category: str, message: str, key: str) -> dict[str, Any]:
    return {
        "status": status,
        "category": category,
        "message": message,
        "context": {"ids": [key]},
        "errors": [],
        "links": {},
    }


def is_unique(store: Store, kind: str, name: str) -> bool:
    defined = store.property_defs[kind].get(name) or {}
    return bool(defined.get("hasUniqueValue")) or name in BUILT_IN_UNIQUE.get(kind, set())


def _clash(store: Store, kind: str, rid: str | None, props: Mapping[str, Any]) -> str | None:
    """The first unique property ``props`` would give a value another record holds."""
    for name, value in props.items():
        if value in ("", None) or not is_unique(store, kind, name):
            continue
        for other in store.live(kind):
            if other.id != rid and other.properties.get(name) == str(value):
                return name
    return None


def answer(results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> tuple[int, Any]:
    now = iso_ms(int(time.time() * 1000))
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if not errors:
        return 200, body
    return 207, {**body, "errors": errors, "numErrors": len(errors)}


@dataclass
class BatchWrites:
    """``batch/update`` and ``batch/upsert`` over one store."""

    store: Store
    faults: InputFaults = field(default_factory=InputFaults)

    def update_inputs(self, kind: str, inputs: list[dict[str, Any]]) -> tuple[int, Any]:
        rows = self.store.records[kind]
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i in inputs:
            rid, props = str(i["id"]), i.get("properties", {})
            failed = self._refused(kind, rid, rid, props)
            if failed is not None:
                errors.append(failed)
                continue
            self.store.update(kind, rid, props)
            results.append(_result(rows[rid], kind, i, new=None))
        return answer(results, errors)

    def upsert(self, kind: str, body: Mapping[str, Any]) -> tuple[int, Any]:
        inputs = list(body.get("inputs") or [])
        if len(inputs) > BATCH_LIMIT:
            raise BatchRefused("batch.too_many")
        keys = [(str(i.get("idProperty") or ""), str(i.get("id"))) for i in inputs]
        for name, _ in keys:
            if not name or not is_unique(self.store, kind, name):
                raise BatchRefused("upsert.not_unique", name=name or "(none)")
        if len(set(keys)) < len(keys):
            raise BatchRefused("upsert.duplicate_input")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for i, (name, value) in zip(inputs, keys, strict=True):
            outcome = self._upsert_one(kind, name, value, i)
            (errors if "category" in outcome else results).append(outcome)
        return answer(results, errors)

    def _upsert_one(self, kind: str, name: str, value: str, i: Mapping[str, Any]) -> dict[str, Any]:
        found = self._holder(kind, name, value)
        props = {**i.get("properties", {}), name: value}
        failed = self._refused(kind, found.id if found else None, value, props)
        if failed is not None:
            return failed
        if found is None:
            rid = self.store.create(kind, props)
            return _result(self.store.records[kind][rid], kind, i, new=True)
        self.store.update(kind, found.id, props)
        return _result(found, kind, i, new=False)

    def _holder(self, kind: str, name: str, value: str) -> Record | None:
        return next((r for r in self.store.live(kind) if r.properties.get(name) == value), None)

    def _refused(
        self, kind: str, rid: str | None, key: str, props: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        fault = self.faults.take(key)
        if fault is not None:
            return _error(*fault, f"the write of {key} failed", key)
        clash = _clash(self.store, kind, rid, props)
        if clash is not None:
            message = f"{clash} must be unique: another record holds that value"
            return _error("400", "VALIDATION_ERROR", message, key)
        return None


def _result(record: Record, kind: str, i: Mapping[str, Any], *, new: bool | None) -> dict[str, Any]:
    body: dict[str, Any] = record.wire(kind, None)
    if new is not None:
        body["new"] = new
    if i.get("objectWriteTraceId"):
        body["objectWriteTraceId"] = i["objectWriteTraceId"]
    return body
