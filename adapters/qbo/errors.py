"""QuickBooks Online refusals → ``syncledger.core.errors``.

QBO answers ``{"Fault": {"Error": [{"Message", "Detail", "code", "element"}], "type"}}``
(the throttle answer is sometimes XML, and some gateways spell the keys in lower case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from syncledger.adapters.http import retry_after
from syncledger.adapters.jsonwire import decode_json
from syncledger.core.errors import (
    AuthExpiredError,
    LedgerError,
    PermanentLedgerError,
    StaleVersionError,
    TransientLedgerError,
)

THROTTLE_CODE = "003001"
THROTTLE_WAIT = 60.0  # "On 429, wait 60 s" (Intuit limits and throttles page)
STALE_CODE = "5010"
NOT_FOUND_CODE = "610"
DUPLICATE_NAME_CODE = "6240"
INVALID_REFERENCE_CODE = "2500"  # "Invalid Reference Id": e.g. a line's ItemRef names no item
_XML_CODE = re.compile(r'<Error code="(\d+)"')


@dataclass(frozen=True, slots=True)
class QboFault:
    code: str
    message: str
    detail: str
    type: str

    def text(self) -> str:
        return f"{self.code} {self.message}" + (f": {self.detail}" if self.detail else "")


def parse_fault(body: Any) -> QboFault | None:
    """The first error of a ``Fault`` object (or of a body holding one), if any."""
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault") or body
    errors = fault.get("Error") or fault.get("error") if isinstance(fault, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    if not isinstance(first, dict):  # no QBO fault: e.g. a gateway's {"error": "..."}
        return None
    return QboFault(
        code=str(first.get("code", "")),
        message=str(first.get("Message") or first.get("message") or ""),
        detail=str(first.get("Detail") or first.get("detail") or ""),
        type=str(fault.get("type", "")),
    )


def translate_qbo(response: httpx.Response) -> LedgerError:
    """``ErrorTranslator`` for ``LedgerHttp``: one QBO HTTP refusal → a typed error."""
    fault = _response_fault(response)
    where = f"QuickBooks Online {response.request.method} {response.request.url.path}"
    return fault_error(fault, status=response.status_code, where=where, wait=retry_after(response))


def fault_error(
    fault: QboFault, *, status: int, where: str = "QuickBooks Online", wait: float | None = None
) -> LedgerError:
    """One QBO fault (of a response or of a batch item) → a typed error."""
    if status == 429 or _is_throttle(fault):
        return TransientLedgerError(
            f"{where}: throttled ({fault.text()}); QBO asks to wait {THROTTLE_WAIT:.0f}s",
            code=THROTTLE_CODE,
            retry_after=wait if wait is not None else THROTTLE_WAIT,
        )
    if status == 401 or fault.type == "AuthenticationFault":
        return AuthExpiredError(f"{where}: {fault.text()}", code=fault.code or "401")
    if fault.code == STALE_CODE:
        return StaleVersionError(
            f"{where}: the record changed in QuickBooks since it was read (SyncToken is "
            f"stale): read it again and retry ({fault.text()})",
            code=fault.code,
        )
    if status >= 500:
        return TransientLedgerError(
            f"{where}: server error {status} ({fault.text()})",
            code=fault.code or str(status),
            retry_after=wait,
        )
    return PermanentLedgerError(f"{where}: refused: {fault.text()}", code=fault.code or str(status))


def _is_throttle(fault: QboFault) -> bool:
    return fault.code in ("3001", THROTTLE_CODE) or "ThrottleExceeded" in fault.message


def _response_fault(response: httpx.Response) -> QboFault:
    try:
        fault = parse_fault(decode_json(response.content))
    except ValueError:
        fault = _xml_fault(response.text)
    return fault or QboFault(str(response.status_code), response.reason_phrase, "", "")


def _xml_fault(text: str) -> QboFault | None:
    match = _XML_CODE.search(text)
    if match is None:
        return None
    message = "ThrottleExceeded" if "ThrottleExceeded" in text else "fault"
    return QboFault(match.group(1), message, "", "")
