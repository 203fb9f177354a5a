"""Jobber's query cost and its leaky bucket, as documented.

* Every app/account has a bucket of points; a query's cost is subtracted when it has
  resolved and points are restored over time (leaky bucket); the answer carries
  ``extensions.cost{requestedQueryCost, actualQueryCost, throttleStatus{maximumAvailable,
  currentlyAvailable, restoreRate}}``: https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits/
* maximumAvailable 10,000, restoreRate 500 points/s; a field costs 1, ``edges``/``nodes``/
  ``node`` cost 0, a connection multiplies its children by ``first``/``last``, 100 when
  unspecified: api-evangelist/jobber rate-limits/jobber-rate-limits.yml.

Simplification: the actual cost is taken to be the requested cost (Jobber may charge less
for a short page; that only makes this sandbox stricter).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, SelectionSetNode, parse
from graphql.language import DocumentNode, IntValueNode, VariableNode

FREE = frozenset({"edges", "nodes", "node", "pageInfo", "__typename"})
DEFAULT_PAGE = 100
MAXIMUM_AVAILABLE = 10_000.0
RESTORE_RATE = 500.0


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int | None:
    for arg in node.arguments or ():
        if arg.name.value in ("first", "last"):
            if isinstance(arg.value, IntValueNode):
                return int(arg.value.value)
            if isinstance(arg.value, VariableNode):
                return int(variables.get(arg.value.name.value) or DEFAULT_PAGE)
    return None


def _is_connection(node: FieldNode) -> bool:
    names = {s.name.value for s in _fields(node.selection_set)}
    return bool(names & {"nodes", "edges", "pageInfo"})


def _fields(selection: SelectionSetNode | None) -> list[FieldNode]:
    return [s for s in (selection.selections if selection else ()) if isinstance(s, FieldNode)]


def _cost(selection: SelectionSetNode | None, variables: Mapping[str, Any]) -> int:
    total = 0
    for node in _fields(selection):
        children = _cost(node.selection_set, variables)
        if node.name.value in FREE:
            total += children
        elif _is_connection(node):
            total += 1 + (_page_size(node, variables) or DEFAULT_PAGE) * children
        else:
            total += 1 + children
    return total


def query_cost(document: DocumentNode | str, variables: Mapping[str, Any]) -> int:
    doc = parse(document) if isinstance(document, str) else document
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    return sum(_cost(op.selection_set, variables) for op in ops)


@dataclass
class LeakyBucket:
    maximum: float = MAXIMUM_AVAILABLE
    restore_rate: float = RESTORE_RATE
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._level = self.maximum
        self._at = self.clock()

    def available(self) -> float:
        now = self.clock()
        self._level = min(self.maximum, self._level + (now - self._at) * self.restore_rate)
        self._at = now
        return self._level

    def spend(self, cost: int) -> bool:
        """Subtract ``cost`` when the bucket holds it; False (nothing spent) otherwise."""
        if self.available() < cost:
            return False
        self._level -= cost
        return True

    def status(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": self.maximum,
                "currentlyAvailable": int(self.available()),
                "restoreRate": self.restore_rate,
            },
        }
