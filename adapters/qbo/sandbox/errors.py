"""QBO v3 refusals on the wire: ``{"Fault": {"Error": [{"Message", "Detail", "code",
"element"}], "type"}}``. What is refused, with which code and text and on what authority,
is the table in ``refusals.py``; ``refuse`` builds its rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from syncledger.adapters.qbo.sandbox.refusals import (
    ELEMENTS,
    FAULT_TYPES,
    MESSAGES,
    REFUSALS,
    VALIDATION,
)
from syncledger.adapters.sandbox.errors import SandboxError


class QboFault(SandboxError):
    """One refusal: its HTTP status, its ``Fault`` object and the wait it asks for (if any),
    answered as QBO's ``{"Fault", "time"}``."""

    def __init__(
        self, status: int, fault: dict[str, Any], *, retry_after: float | None = None
    ) -> None:
        super().__init__(status, str(fault), retry_after=retry_after)
        self.fault = fault

    def payload(self) -> dict[str, Any]:
        return {"Fault": self.fault, "time": datetime.now(UTC).isoformat(timespec="milliseconds")}


def refuse(
    rule: str, *, status: int | None = None, retry_after: float | None = None, **values: object
) -> QboFault:
    """The fault of ``REFUSALS[rule]``, its Detail filled in with ``values``; ``status``
    replaces the row's (an injected failure's own status)."""
    row = REFUSALS[rule]
    error = {
        "Message": MESSAGES[row.code],
        "Detail": row.text(**values),
        "code": row.code,
        "element": ELEMENTS.get(rule, ""),
    }
    fault = {"Error": [error], "type": FAULT_TYPES.get(row.code, VALIDATION)}
    return QboFault(status or row.status, fault, retry_after=retry_after)
