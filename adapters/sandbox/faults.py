"""Faults a sandbox ledger injects on request: tests set them through the constructor or
``Faults`` methods, people through ``POST /_sandbox/faults`` with the same field names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any


@dataclass
class Faults:
    """Counters of faults still to inject; each injection uses one up.

    - ``fail_writes``: the next N writes answer ``fail_status`` (5xx) without committing;
    - ``throttle``: the next N API requests answer 429 with ``Retry-After: retry_after``;
    - ``commit_then_timeout``: the next N writes commit, then stall ``stall_seconds``
      before answering, so the client times out not knowing the write landed (a replay
      of the same idempotency key counts as a write too).
    """

    fail_writes: int = 0
    fail_status: int = 500
    throttle: int = 0
    retry_after: float = 1.0
    commit_then_timeout: int = 0
    stall_seconds: float = 30.0

    def take(self, name: str) -> bool:
        """Use one injection of counter ``name`` if any is left."""
        left = int(getattr(self, name))
        if left <= 0:
            return False
        setattr(self, name, left - 1)
        return True

    def update(self, changes: Mapping[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        for name, value in changes.items():
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def reset(self) -> None:
        self.update(asdict(Faults()))

    def as_dict(self) -> dict[str, Any]:
        """The settings, seconds as ``Decimal`` (our JSON encoder refuses floats)."""
        return {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in asdict(self).items()}


class FaultInjection:
    """Shortcuts tests use on a sandbox handle to set its ``faults``."""

    faults: Faults

    def fail_next_writes(self, n: int = 1, status: int = 500) -> None:
        self.faults.update({"fail_writes": n, "fail_status": status})

    def throttle_next(self, n: int = 1, retry_after: float = 1.0) -> None:
        self.faults.update({"throttle": n, "retry_after": retry_after})

    def commit_then_timeout_next(self, n: int = 1, stall_seconds: float | None = None) -> None:
        changes: dict[str, Any] = {"commit_then_timeout": n}
        if stall_seconds is not None:
            changes["stall_seconds"] = stall_seconds
        self.faults.update(changes)
