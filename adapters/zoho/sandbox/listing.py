"""List endpoints of the Zoho Books sandbox: filters, sorting and ``page``/``per_page``
pagination answered with ``page_context`` (zoho.com/books/api/v3, "List contacts").

- Text filters match ignoring case: ``<field>`` exactly, ``<field>_startswith`` and
  ``<field>_contains``; ``search_text`` looks in a record's name / number and notes;
  ``email`` matches any contact person's address.
- ``last_modified_time`` is an exact match, not "since": integrators found that the live
  API treats it so (and ignores ``last_modified_time_start``), although the invoices
  schema describes it as "modified after".
- ``sort_column`` takes only the values each list's ``GET`` parameter documents in Zoho's
  Books v3 OpenAPI documents (``SORT_COLUMNS``; read at
  fordez/zoho-books-mcp-server-openapi@972c369, ``mcp_server/openapi-all/``): only
  contacts may be sorted by ``last_modified_time``; invoices and credit notes are refused
  it like any column their list does not name (``refusals.py``). Customer payments name no
  column; the sandbox takes the one their example shows, ``created_time``. Answers echo
  ``sort_column`` and ``sort_order`` in ``page_context``, as Zoho's list schemas show.
- ``per_page`` is at most 200 (the default); rows are summaries without line items,
  contact persons or notes, as Zoho's list answers are.
- Items: ``name`` (exact, ignoring case, and its variants), ``description``,
  ``search_text`` in name and description; sorted by name by default.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from syncledger.adapters.zoho.sandbox.book import ZOHO_TIME
from syncledger.adapters.zoho.sandbox.errors import refuse

MAX_PER_PAGE = 200

SUMMARY: dict[str, tuple[str, ...]] = {
    "contact": (
        "contact_id", "contact_name", "company_name", "contact_type", "status",
        "currency_id", "currency_code", "email", "outstanding_receivable_amount",
        "unused_credits_receivable_amount", "created_time", "last_modified_time",
    ),
    "item": (
        "item_id", "name", "status", "description", "rate", "sku", "product_type",
        "item_type", "account_id", "account_name", "created_time", "last_modified_time",
    ),
    "invoice": (
        "invoice_id", "invoice_number", "reference_number", "customer_id", "customer_name",
        "status", "date", "due_date", "currency_id", "currency_code", "exchange_rate",
        "total", "balance", "created_time", "last_modified_time",
    ),
    "customerpayment": (
        "payment_id", "payment_number", "reference_number", "customer_id", "customer_name",
        "payment_mode", "date", "amount", "unused_amount", "currency_code", "exchange_rate",
        "description", "created_time", "last_modified_time",
    ),
    "creditnote": (
        "creditnote_id", "creditnote_number", "reference_number", "customer_id",
        "customer_name", "status", "date", "currency_id", "currency_code", "exchange_rate",
        "total", "balance", "created_time", "last_modified_time",
    ),
    # refunds: the fields Zoho's refund lists document (no customer_id, no times)
    "creditnoterefund": (
        "creditnote_refund_id", "creditnote_id", "date", "refund_mode", "reference_number",
        "creditnote_number", "customer_name", "description", "amount_bcy", "amount_fcy",
    ),
    "paymentrefund": (
        "payment_refund_id", "payment_id", "date", "refund_mode", "reference_number",
        "payment_number", "customer_name", "description", "amount_bcy", "amount_fcy",
    ),
}  # fmt: skip
TEXT_FILTERS: dict[str, tuple[str, ...]] = {
    "contact": ("contact_name", "company_name"),
    "item": ("name", "description"),
    "invoice": ("invoice_number", "reference_number", "customer_name"),
    "customerpayment": ("reference_number", "payment_number", "customer_name"),
    "creditnote": ("creditnote_number", "reference_number", "customer_name"),
    "creditnoterefund": (),
    "paymentrefund": (),
}
EXACT_FILTERS = ("customer_id", "status", "last_modified_time", "contact_type")
_TIMES = ("created_time", "last_modified_time")
SORT_COLUMNS: dict[str, tuple[str, ...]] = {
    # contacts.yml GET /contacts sort_column: "contact_name, first_name, last_name, email,
    # outstanding_receivable_amount, created_time and last_modified_time"
    "contact": (
        "contact_name", "first_name", "last_name", "email", "outstanding_receivable_amount",
        *_TIMES,
    ),
    "item": ("name", "rate", "tax_name", *_TIMES),
    # invoices.yml GET /invoices sort_column: "customer_name, invoice_number, date,
    # due_date, total, balance and created_time"
    "invoice": (
        "customer_name", "invoice_number", "date", "due_date", "total", "balance",
        "created_time",
    ),
    # customer-payments.yml GET /customerpayments sort_column: no values, example
    # created_time
    "customerpayment": ("created_time",),
    # credit-notes.yml GET /creditnotes sort_column: "customer_name, creditnote_number,
    # balance, total, date, and created_time"
    "creditnote": (
        "customer_name", "creditnote_number", "balance", "total", "date", "created_time",
    ),
    "creditnoterefund": (
        "refund_mode", "reference_number", "date", "creditnote_number", "customer_name",
        "amount_bcy", "amount_fcy",
    ),
    "paymentrefund": ("refund_mode", "reference_number", "date", "amount_bcy", "amount_fcy"),
}  # fmt: skip
DEFAULT_SORT = {
    "contact": ("contact_name", "A"),
    "item": ("name", "A"),
    "invoice": ("created_time", "D"),
    "customerpayment": ("created_time", "D"),
    "creditnote": ("created_time", "D"),
    "creditnoterefund": ("date", "D"),
    "paymentrefund": ("date", "D"),
}
STATUS_FILTERS = {
    "Status.All": None,
    "Status.Active": "active",
    "Status.Inactive": "inactive",
    "Status.Draft": "draft",
    "Status.Sent": "sent",
    "Status.Paid": "paid",
    "Status.PartiallyPaid": "partially_paid",
    "Status.Void": "void",
    "Status.Open": "open",
    "Status.Closed": "closed",
}


def summary(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in SUMMARY[kind] if k in record}


def listing(
    kind: str, records: list[dict[str, Any]], params: Mapping[str, str]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of ``records`` (oldest modification first) after filters and sorting."""
    page, per_page = _paging(params)
    column, order = _sorting(kind, params)
    kept = [r for r in records if _matches(kind, r, params)]
    kept.sort(key=_sort_key(column))  # stable: ties keep modification order
    if order == "D":
        kept.reverse()
    start = (page - 1) * per_page
    rows = [summary(kind, r) for r in kept[start : start + per_page]]
    context = {
        "page": page,
        "per_page": per_page,
        "has_more_page": len(kept) > start + per_page,
        "applied_filter": params.get("filter_by", "Status.All"),
        "sort_column": column,
        "sort_order": order,
    }
    return rows, context


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    page = _positive(params.get("page", "1"), "page")
    per_page = _positive(params.get("per_page", str(MAX_PER_PAGE)), "per_page")
    if per_page > MAX_PER_PAGE:
        raise refuse("list.per_page_max", limit=MAX_PER_PAGE)
    return page, per_page


def _positive(text: str, field: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise refuse("field.invalid", field=field)
    return int(text)


def _sorting(kind: str, params: Mapping[str, str]) -> tuple[str, str]:
    column, order = DEFAULT_SORT[kind]
    column = params.get("sort_column", column)
    order = params.get("sort_order", order)
    if column not in SORT_COLUMNS[kind]:
        raise refuse("list.sort_column")
    if order not in ("A", "D"):
        raise refuse("field.invalid", field="sort_order")
    return column, order


def _sort_key(column: str) -> Callable[[dict[str, Any]], Any]:
    """Times have one-second resolution: ties keep modification order (the records come
    in it), except on ``created_time``, where the growing ids give creation order."""

    def key(record: dict[str, Any]) -> Any:
        value = record.get(column)
        if column == "created_time" and isinstance(value, str):
            ident = next((str(record[f]) for f in _ID if f in record), "")
            return datetime.strptime(value, ZOHO_TIME), len(ident), ident
        if column.endswith("_time") and isinstance(value, str):
            return datetime.strptime(value, ZOHO_TIME)
        if isinstance(value, Decimal | int):
            return Decimal(value)
        return str(value or "").casefold()

    return key


_ID = ("contact_id", "item_id", "invoice_id", "payment_id", "creditnote_id")


def _matches(kind: str, record: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    checks = [
        _text_filters(kind, record, params),
        _exact_filters(record, params),
        _status_filter(record, params.get("filter_by")),
        _search(SEARCHED.get(kind, SEARCHED[""]), record, params.get("search_text")),
        _email(record, params),
    ]
    return all(checks)


def _text_filters(kind: str, record: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    for field in TEXT_FILTERS[kind]:
        value = str(record.get(field) or "").casefold()
        for suffix, test in _TEXT_TESTS.items():
            wanted = params.get(field + suffix)
            if wanted is not None and not test(value, wanted.casefold()):
                return False
    return True


_TEXT_TESTS: dict[str, Callable[[str, str], bool]] = {
    "": lambda value, wanted: value == wanted,
    "_startswith": lambda value, wanted: value.startswith(wanted),
    "_contains": lambda value, wanted: wanted in value,
}


def _exact_filters(record: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    return all(
        str(record.get(field, "")) == params[field] for field in EXACT_FILTERS if field in params
    )


def _status_filter(record: Mapping[str, Any], filter_by: str | None) -> bool:
    if filter_by is None:
        return True
    if filter_by not in STATUS_FILTERS:
        raise refuse("field.invalid", field="filter_by")
    wanted = STATUS_FILTERS[filter_by]
    return wanted is None or record.get("status") == wanted


#: the fields ``search_text`` looks in, per kind ("": every other kind)
SEARCHED: dict[str, tuple[str, ...]] = {
    "": ("contact_name", "invoice_number", "creditnote_number", "reference_number", "notes"),
    "item": ("name", "description"),
}


def _search(fields: tuple[str, ...], record: Mapping[str, Any], text: str | None) -> bool:
    if text is None:
        return True
    if len(text) > 100:
        raise refuse("list.search_text_too_long", limit=100)
    haystack = "\n".join(str(record.get(f) or "") for f in fields).casefold()
    return text.casefold() in haystack


def _email(record: Mapping[str, Any], params: Mapping[str, str]) -> bool:
    wanted = params.get("email")
    if wanted is None:
        return True
    emails = [str(p.get("email") or "").casefold() for p in record.get("contact_persons") or []]
    return wanted.casefold() in emails
