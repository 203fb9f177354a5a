"""How NetSuite REST merges the sublists of a request into a record (Oracle help,
"Creating a Sublist", "Updating a Sublist", "Replacing a Sublist").

- Keyed sublists (``apply`` by ``doc``; ``item`` lines that name their ``line``): a line
  whose key matches an existing line updates it, the others are added.
- Non-keyed lines are appended to the lines already there, on create and on update alike.
- ``?replace=<sublist>``: keyed lines not in the request are removed; a non-keyed sublist
  is replaced by the request's lines.

So an update or upsert that resends an invoice's lines *without* ``replace=item`` doubles
them: the adapter names every sublist it sends in ``replace``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

Key = Callable[[Mapping[str, Any]], str | None]


def _line_key(line: Mapping[str, Any]) -> str | None:
    value = line.get("line")
    return None if value is None else str(value)


def _doc_key(line: Mapping[str, Any]) -> str | None:
    doc = line.get("doc")
    return str(doc["id"]) if isinstance(doc, Mapping) and doc.get("id") is not None else None


KEYS: dict[str, Key] = {"item": _line_key, "apply": _doc_key}


def is_sublist(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("items"), list)


def merged(
    existing: Mapping[str, Any], incoming: Mapping[str, Any], replace: Iterable[str]
) -> dict[str, Any]:
    """``existing`` with the request's body fields and sublist lines applied."""
    replaced = set(replace)
    result = {**existing, **{k: v for k, v in incoming.items() if not is_sublist(v)}}
    for name, value in incoming.items():
        if is_sublist(value):
            current = existing.get(name, {}).get("items", []) if name in existing else []
            lines = merge_lines(current, value["items"], name in replaced, KEYS.get(name))
            result[name] = {"items": lines}
    for name in replaced - set(incoming):
        result[name] = {"items": []}
    return result


def merge_lines(
    current: list[dict[str, Any]],
    incoming: list[dict[str, Any]],
    replace: bool,
    key: Key | None,
) -> list[dict[str, Any]]:
    if key is None:
        return [dict(ln) for ln in incoming] if replace else [*current, *map(dict, incoming)]
    by_key = {key(ln): ln for ln in incoming if key(ln) is not None}
    kept = [
        {**ln, **by_key.pop(str(key(ln)))} if key(ln) in by_key else ln
        for ln in current
        if key(ln) in by_key or not replace
    ]
    added = [dict(ln) for ln in incoming if key(ln) is None or key(ln) in by_key]
    return kept + added
