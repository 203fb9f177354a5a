"""Zoho Books v3 refusals as the sandbox answers them: an HTTP status plus
``{"code": <non-zero int>, "message": "..."}`` (zoho.com/books/api/v3/errors).

Codes and where they come from:

====== ====== =========================================================== ==============
status code   message                                                     source
====== ====== =========================================================== ==============
400    4      Invalid value passed for <field>                            sandbox-assigned
400    1001   <Entity> "<number>" already exists.                         sandbox-assigned
400    1001   Item "<name>" already exists. (a taken item name or sku)    sandbox-assigned
400    1002   Invalid value passed for customer_id                        docs (1002 =
                                                                          not found) + 3P
400    1002   Invalid value passed for item_id (a line's unknown item)    as customer_id;
                                                                          3P mocks agree
404    1002   <Entity> does not exist.                                    Zoho errors page
404    5      Invalid URL Passed (an unknown resource)                    sandbox-assigned
405    37     The HTTP method ... is not allowed ...                      sandbox-assigned
400    1038   JSON is not well formed                                     3P
400    3062   The customer "<name>" already exists. ...                   3P (integrators)
400    6041   This user is not associated with the CompanyID/...          3P (integrators)
401    57     You are not authorized to perform this operation            3P (integrators)
429    44     per-minute request limit                                    3P
429    45     daily request limit of the plan                             3P
429    1070   too many concurrent requests                                3P
500    1000   Internal error                                              Zoho errors page
400    9xxx   business rules whose Zoho code we could not find            sandbox-assigned
====== ====== =========================================================== ==============

Items: Zoho's items page lists no error codes. Zoho Billing's (a sibling product) lists
1000 "The item name already exist" and 2006 "Item does not exist", but 1000 is Zoho
Books' "Internal error", so those codes are not Books'. The sandbox therefore refuses a
taken item name as it refuses a taken document number (1001), and a line naming an item
that does not exist as it refuses an unknown customer (1002, "Invalid value passed for
item_id"); both are unverified against the live API.
"""

from __future__ import annotations

from typing import Any

INVALID_VALUE = 4
ALREADY_EXISTS = 1001
NOT_FOUND = 1002
BAD_JSON = 1038
DUPLICATE_CONTACT = 3062
WRONG_ORGANIZATION = 6041
UNAUTHORIZED = 57
MINUTE_LIMIT = 44
DAILY_LIMIT = 45
CONCURRENCY_LIMIT = 1070
INTERNAL = 1000
# sandbox-assigned business-rule codes (Zoho's own code not found in any source)
NOT_DRAFT = 9001
DRAFT_DOCUMENT = 9002
VOID_DOCUMENT = 9003
OVER_BALANCE = 9004
CURRENCY_MISMATCH = 9005
BELOW_PAID = 9006
REFUND_OVER_CREDIT = 9007


class ZohoError(Exception):
    """One refusal: HTTP status, Zoho code and message (and a Retry-After, if any)."""

    def __init__(
        self, status: int, code: int, message: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{code} {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def invalid(field: str, why: str = "") -> ZohoError:
    return ZohoError(400, INVALID_VALUE, f"Invalid value passed for {field}" + why)


def required(field: str) -> ZohoError:
    return invalid(field, f": {field} is required")


def too_long(field: str, limit: int) -> ZohoError:
    return invalid(field, f": it must not be longer than {limit} characters")


def not_found(entity: str) -> ZohoError:
    return ZohoError(404, NOT_FOUND, f"{entity} does not exist.")


def unknown_reference(field: str) -> ZohoError:
    return ZohoError(400, NOT_FOUND, f"Invalid value passed for {field}")


def already_exists(entity: str, number: str) -> ZohoError:
    return ZohoError(400, ALREADY_EXISTS, f'{entity} "{number}" already exists.')


def duplicate_item(field: str, value: str) -> ZohoError:
    """An item ``name`` (or ``sku``) another item of the organisation holds."""
    if field == "name":
        return already_exists("Item", value)
    return ZohoError(400, ALREADY_EXISTS, f'An item with the SKU "{value}" already exists.')


def duplicate_contact(name: str) -> ZohoError:
    return ZohoError(
        400,
        DUPLICATE_CONTACT,
        f'The customer "{name}" already exists. Please specify a different name.',
    )


def bad_json() -> ZohoError:
    return ZohoError(400, BAD_JSON, "JSON is not well formed")


def wrong_organization(organization_id: str) -> ZohoError:
    return ZohoError(
        400,
        WRONG_ORGANIZATION,
        f"This user is not associated with the CompanyID/CompanyName:{organization_id}.",
    )


def unauthorized() -> ZohoError:
    return ZohoError(401, UNAUTHORIZED, "You are not authorized to perform this operation")


def minute_limit(retry_after: float | None = None) -> ZohoError:
    return ZohoError(
        429,
        MINUTE_LIMIT,
        "You have made too many requests in a minute. Please try again after some time.",
        retry_after=retry_after,
    )


def daily_limit() -> ZohoError:
    return ZohoError(
        429,
        DAILY_LIMIT,
        "You have reached the maximum number of API requests allowed per day for your plan.",
    )


def concurrency_limit() -> ZohoError:
    return ZohoError(429, CONCURRENCY_LIMIT, "Too many concurrent requests. Try again shortly.")


def internal(status: int = 500) -> ZohoError:
    return ZohoError(status, INTERNAL, "Internal error")


def business(code: int, message: str) -> ZohoError:
    return ZohoError(400, code, message)
