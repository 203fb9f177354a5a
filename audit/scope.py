"""Scopes: ``customer:<id>``, ``entity:<id>``, ``period:<yyyy[-mm]>``, ``case:<id>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from syncledger.core.errors import ConfigurationError

ScopeKind = Literal["customer", "entity", "period", "case"]
_KINDS = ("customer", "entity", "period", "case")
_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str, allowed: tuple[str, ...] = _KINDS) -> Scope:
        kind, sep, value = text.partition(":")
        if not sep or kind not in allowed or not value:
            raise ConfigurationError(
                f"scope {text!r} is not one of " + ", ".join(f"{k}:<id>" for k in allowed)
            )
        if kind == "period" and not _PERIOD.match(value):
            raise ConfigurationError(f"period {value!r} must be yyyy or yyyy-mm, e.g. 2024-03")
        return cls(cast(ScopeKind, kind), value)


def period_contains(period: str, moment: datetime) -> bool:
    """``2024`` holds every moment of calendar 2024 (UTC); ``2024-03`` every one of March."""
    match = _PERIOD.match(period)
    if match is None:
        return False
    year, month = int(match.group(1)), match.group(2)
    return moment.year == year and (month is None or moment.month == int(month))
