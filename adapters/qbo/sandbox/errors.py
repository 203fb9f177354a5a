"""QBO v3 refusals as the sandbox answers them: ``{"Fault": {"Error": [...], "type"}}``
with the codes Intuit documents (developer.intuit.com "Handling common errors")."""

from __future__ import annotations

from typing import Any

SERVICE = "SERVICE"
VALIDATION = "ValidationFault"


class QboFault(Exception):
    """One refusal: HTTP status, QBO error code, Message, Detail and fault type."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        detail: str,
        fault_type: str = VALIDATION,
        *,
        retry_after: float | None = None,
        element: str = "",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.status = status
        self.code = code
        self.message = message
        self.detail = detail
        self.fault_type = fault_type
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


def required(param: str) -> QboFault:
    return QboFault(
        400,
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {param} is missing in the request",
    )


def business(detail: str) -> QboFault:
    return QboFault(
        400,
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def invalid_string(value: str) -> QboFault:
    """A name holding a character QBO refuses (':' separates parent and sub-customer
    names), as QBO answers it: code 2040 "Invalid String" (stackoverflow.com/q/24529982,
    the fault a Java SDK user got for ``Rob:Barnett:Company``)."""
    return QboFault(
        400,
        "2040",
        "Invalid String. The String may contain unsupported or illegal chars",
        f"Element contains invalid characters. {value}",
    )


def amount_calculation(supplied: object) -> QboFault:
    """A sales line whose Amount is not Qty × UnitPrice: code 6070 "Amount calculation
    incorrect in the request" (Intuit's IPP error code list, validation codes 6000-6999;
    copied at insighthk.com/service/quickbooksrepair/IPP-Error-Codes.html)."""
    return QboFault(
        400,
        "6070",
        "Amount calculation incorrect in the request",
        f"Amount is not equal to Qty * UnitPrice. Supplied value:{supplied}",
    )


def invalid_line_tax_code(supplied: object) -> QboFault:
    """A US company's sales line whose TaxCodeRef is not one of the pseudo codes TAX / NON:
    code 6100 (Intuit's IPP error code list, as ``amount_calculation``)."""
    return QboFault(
        400,
        "6100",
        "Invalid Line TaxCode in the request",
        f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{supplied}",
    )


def invalid_enumeration(value: object) -> QboFault:
    """A value outside a field's enumeration: code 2170 "Invalid Enumeration" (Intuit's
    "Top QuickBooks Online API errors", developer.intuit.com/hub/blog/2017/06/08)."""
    return QboFault(400, "2170", "Invalid Enumeration", f"Invalid Enumeration : {value}")


def too_long(field: str, limit: int, length: int) -> QboFault:
    return QboFault(
        400,
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"{field} is {length} characters long; the maximum is {limit}",
    )


def invalid_reference(what: str, ident: object) -> QboFault:
    return QboFault(
        400, "2500", "Invalid Reference Id", f"Invalid Reference Id : {what} {ident} not found"
    )


def invalid_item_reference() -> QboFault:
    """A sales line whose ``ItemRef`` names no item of the company, as QBO answers it
    (intuit/QuickBooks-V3-PHP-SDK#102, ruckus/quickbooks-ruby#251): the element, not the
    id, is named."""
    element = "Line.SalesItemLineDetail.ItemRef"
    return QboFault(
        400, "2500", "Invalid Reference Id", f"Invalid Reference Id : {element}", element=element
    )


def inactive_reference() -> QboFault:
    """A reference to an entity made inactive (intuit/QuickBooks-V3-PHP-SDK#110)."""
    return QboFault(
        400,
        "2500",
        "Invalid Reference Id",
        "Invalid Reference Id : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def not_found(entity: str, ident: object) -> QboFault:
    return QboFault(
        400,
        "610",
        "Object Not Found",
        f"Object Not Found : Something you're trying to use has been made inactive or "
        f"deleted ({entity} {ident})",
    )


def stale_object() -> QboFault:
    return QboFault(
        400,
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and sandbox were working on this at the same time. "
        "sandbox finished before you did, so your work was not saved.",
    )


def duplicate_name() -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is "
        "already using this name. Please use a different name.",
    )


def duplicate_item_name() -> QboFault:
    return QboFault(
        400,
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another product or service is already using "
        "this name. Please use a different name.",
        element="Name",
    )


def throttled(retry_after: float | None = None) -> QboFault:
    return QboFault(
        429,
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        SERVICE,
        retry_after=retry_after,
    )


def unauthenticated() -> QboFault:
    return QboFault(
        401,
        "3200",
        "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "Token invalid or expired: refresh the access token",
        "AuthenticationFault",
    )


def unauthorized_realm(realm: str) -> QboFault:
    return QboFault(
        403,
        "120",
        "Authorization Failure",
        f"AuthorizationFailure: this token has no access to company {realm}",
        "AuthorizationFault",
    )


def server_error(status: int = 500) -> QboFault:
    return QboFault(
        status,
        "10000",
        "An application error has occurred while processing your request",
        "System Failure Error: injected by the sandbox",
        "SystemFault",
    )


def unsupported(operation: str) -> QboFault:
    return QboFault(400, "500", "Unsupported Operation", f"Operation {operation} is not supported.")


def bad_request(detail: str) -> QboFault:
    return QboFault(400, "2010", "Request has invalid or unsupported property", detail)


def query_error(detail: str) -> QboFault:
    return QboFault(400, "4000", "Error parsing query", f"QueryParserError: {detail}")


def batch_too_big(size: int, limit: int) -> QboFault:
    return QboFault(
        400,
        "1040",
        "Batch size exceeds allowed limit",
        f"The batch holds {size} items; the limit is {limit}",
    )
