"""QBO v3 refusals on the wire: ``{"Fault": {"Error": [{"Message", "Detail", "code",
"element"}], "type"}}``. What is refused, with which code and text and on what authority,
is the table in ``refusals.py``; ``refuse`` builds its rows."""

from __future__ import annotations

from typing import Any

from syncledger.adapters.qbo.sandbox.refusals import (
    ELEMENTS,
    FAULT_TYPES,
    MESSAGES,
    REFUSALS,
    VALIDATION,
)


class QboFault(Exception):
    """One refusal: HTTP status, QBO error code, Message, Detail and fault type."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        retry_after: float | None = None,
        element: str = "",
    ) -> None:
        self.message = MESSAGES[code]
        super().__init__(f"{code} {self.message}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail
        self.fault_type = FAULT_TYPES.get(code, VALIDATION)
        self.retry_after = retry_after
        self.element = element

    def fault(self) -> dict[str, Any]:
        error = {
            "Message": self.message,
            "Detail": self.detail,
            "code": self.code,
            "element": self.element,
        }
        return {"Error": [error], "type": self.fault_type}


def refuse(
    rule: str, *, status: int | None = None, retry_after: float | None = None, **values: object
) -> QboFault:
    """The fault of ``REFUSALS[rule]``, its Detail filled in with ``values``; ``status``
    replaces the row's (an injected failure's own status)."""
    row = REFUSALS[rule]
    return QboFault(
        status or row.status,
        row.code,
        row.text(**values),
        retry_after=retry_after,
        element=ELEMENTS.get(rule, ""),
    )
