"""Everything the Zoho Books sandbox refuses: one row per rule, with the HTTP status, the
``code`` and ``message`` of Zoho's error body (``errors.ZohoError``) and where each comes
from. The sandbox's checks raise by rule name through ``errors.refuse``. ``EXAMPLES``: a
request each rule refuses (paths below ``/books/v3``, the organisation added), fired by
``tests/contracts/refusal_examples_section.py``; the set-ups named by ``given`` are
``tests/unit/test_zoho_sandbox.py``'s.

Sources, as they are marked below: Zoho's errors page (zoho.com/books/api/v3/errors);
Zoho's Books v3 OpenAPI documents (``<module>.yml``, see ``schema.py``); 3P, integrators'
code and tests, for what Zoho's reference leaves out; the Databricks and Codat connector
pages for the request limits; sandbox-assigned, a code or wording of ours where no source
gave Zoho's. The token endpoint's refusals (HTTP 200 with ``{"error": ...}``, as Zoho
Accounts answers them) are not rows here: see ``oauth.py``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

ASSIGNED = "sandbox-assigned"
BUSINESS = "sandbox-assigned business-rule code (Zoho's own code not found in any source)"
INTEGRATORS = "3P (integrators)"
LIMITS = (
    "3P; the limits: Databricks and Codat connector pages; Zoho sends no Retry-After on"
    " these, nor does the sandbox (injected 429s do)"
)
STRICTER = "stricter than Zoho on purpose"
NOT_BOOKS = (
    "Zoho's items page lists no error codes; Zoho Billing's (a sibling product: 1000 'The item"
    " name already exist', 2006 'Item does not exist') are not Books' (1000 is Books' Internal"
    " error); unverified against the live API"
)

#: the answers several rules share (status, error code)
INVALID_VALUE = answered(400, "4")
DOES_NOT_EXIST = answered(400, "1002")
ALREADY_EXISTS = answered(400, "1001")
VOIDED = answered(400, "9003")

REFUSALS = RefusalTable(
    "zoho",
    # ------------------------------------------------ gates, limits and the request itself
    Refusal("auth.unauthorized", 401, "57", "You are not authorized to perform this operation",
            f"{INTEGRATORS}; a missing, unknown or expired Zoho-oauthtoken"),
    Refusal("request.wrong_organization", 400, "6041",
            "This user is not associated with the CompanyID/CompanyName:{organization_id}.",
            f"{INTEGRATORS}; every call names its organization_id"),
    Refusal("request.bad_json", 400, "1038", "JSON is not well formed", "3P"),
    Refusal("request.unknown_url", 404, "5", "Invalid URL Passed", ASSIGNED),
    Refusal("request.method_not_allowed", 405, "37",
            "The HTTP method {method} is not allowed for the requested resource", ASSIGNED),
    Refusal("limit.per_minute", 429, "44",
            "You have made too many requests in a minute. Please try again after some time.",
            f"{LIMITS}; 100 a minute"),
    Refusal("limit.daily", 429, "45",
            "You have reached the maximum number of API requests allowed per day for your plan.",
            f"{LIMITS}; 1,000 a day on Free up to 10,000"),
    Refusal("limit.concurrent", 429, "1070", "Too many concurrent requests. Try again shortly.",
            f"{LIMITS}; 5 in flight on Free, 10 paid"),
    Refusal("server.internal", 500, "1000", "Internal error",
            "Zoho errors page; answered to injected write failures (with their status)"),
    Refusal("record.not_found", 404, "1002", "{entity} does not exist.", "Zoho errors page"),
    # ------------------------------------------------------------ fields of a request
    INVALID_VALUE("field.invalid", "Invalid value passed for {field}", ASSIGNED),
    INVALID_VALUE("field.required", "Invalid value passed for {field}: {field} is required",
            f"{ASSIGNED}; which: the request schemas' required lists (schema.py), the operations'"),
    INVALID_VALUE("field.too_long",
            "Invalid value passed for {field}: it must not be longer than {limit} characters",
            f"{ASSIGNED}; the lengths (*_LIMITS) cite no source"),
    INVALID_VALUE("field.date_format", "Invalid value passed for {field}: use yyyy-mm-dd",
            ASSIGNED),
    INVALID_VALUE("schema.unknown_field",
            "Invalid value passed for {field}: the API schema has no such field here",
            f"{STRICTER}: Zoho does not say what the live API does with a field its request"
            " schema does not list; refused so that one Zoho would ignore cannot change a total"
            " silently (the case: discount, discount_type and is_discount_before_tax are in the"
            " invoice schemas and in no credit-note schema)"),
    INVALID_VALUE("schema.discount_type",
            "Invalid value passed for discount_type: use entity_level or item_level",
            "invoices.yml discount_type: 'entity_level ... item_level'"),
    INVALID_VALUE("list.per_page_max", "Invalid value passed for per_page: at most {limit}",
            f"{ASSIGNED}; per_page is at most 200, the default"),
    INVALID_VALUE("list.sort_column", "Invalid value passed for sort_column",
            "the sort_column values each list's GET documents in the OpenAPI documents"
            " (listing.SORT_COLUMNS): invoices and credit notes name no last_modified_time"),
    INVALID_VALUE("list.search_text_too_long",
            "Invalid value passed for search_text: at most {limit} characters", ASSIGNED),
    # ---------------------------------------------------------------- contacts, items
    Refusal("contact.name_taken", 400, "3062",
            'The customer "{name}" already exists. Please specify a different name.',
            f"{INTEGRATORS}; contact names are unique ignoring case"),
    ALREADY_EXISTS("item.name_taken", 'Item "{name}" already exists.',
            f"{ASSIGNED}, as a taken document number (names unique ignoring case); {NOT_BOOKS}"),
    ALREADY_EXISTS("item.sku_taken", 'An item with the SKU "{sku}" already exists.',
            f"{ASSIGNED}, as a taken item name; {NOT_BOOKS}"),
    DOES_NOT_EXIST("item.account_unknown", "Invalid value passed for account_id",
            f"{ASSIGNED}, as an unknown customer_id; an item books to an income account"),
    INVALID_VALUE("item.sales_only",
            "Invalid value passed for item_type: the sandbox models sales items only",
            f"{STRICTER}: Zoho also has purchases, sales_and_purchases and inventory items"),
    # ------------------------------------------------------- documents and payments
    DOES_NOT_EXIST("customer.unknown", "Invalid value passed for customer_id",
            "Zoho's docs (1002 = not found) + 3P"),
    DOES_NOT_EXIST("line.item_unknown", "Invalid value passed for item_id",
            f"as customer_id; 3P mocks agree; {NOT_BOOKS}"),
    ALREADY_EXISTS("document.number_taken", '{entity} "{number}" already exists.', ASSIGNED),
    INVALID_VALUE("document.number_generated",
            "Invalid value passed for {field}: numbers are generated;"
            " pass ignore_auto_number_generation=true",
            f"{ASSIGNED}; Zoho numbers documents itself unless ignore_auto_number_generation"),
    Refusal("document.currency_mismatch", 400, "9005",
            "The transaction currency must be the customer's currency ({currency}).",
            f"{BUSINESS}; a document is in its customer's currency"),
    INVALID_VALUE("document.discount_range",
            "Invalid value passed for discount: it must be between 0 and the sub total", ASSIGNED),
    INVALID_VALUE("exchange_rate.not_one",
            "Invalid value passed for exchange_rate: a {currency} document has the rate 1",
            ASSIGNED),
    INVALID_VALUE("exchange_rate.required",
            "Invalid value passed for exchange_rate: required for a {currency} document"
            " (base currency {base})",
            f"{STRICTER}: Zoho would fill in its own rate; we never want a silent one"),
    Refusal("invoice.not_draft", 400, "9001", "Only a draft invoice can be marked as sent.",
            BUSINESS),
    VOIDED("invoice.void_edit", "A voided invoice cannot be edited.", BUSINESS),
    VOIDED("invoice.already_void", "The invoice is already void.", BUSINESS),
    Refusal("invoice.below_paid", 400, "9006",
            "The invoice total cannot be less than the {paid} already paid or credited.",
            BUSINESS),
    DOES_NOT_EXIST("application.invoice_unknown", "Invalid value passed for invoice_id",
            f"{ASSIGNED}, as an unknown customer_id (or another customer's invoice)"),
    Refusal("application.invoice_draft", 400, "9002",
            "Invoice {number} is a draft: mark it as sent first.",
            f"{BUSINESS}; payments and credits are refused on drafts"),
    VOIDED("application.invoice_void", "Invoice {number} is void.", BUSINESS),
    Refusal("application.over_balance", 400, "9004",
            "The amount applied to invoice {number} is more than its balance due.", BUSINESS),
    Refusal("application.over_available", 400, "9004",
            "The amount applied is more than the amount available.",
            f"{BUSINESS}; a payment's amount or a credit note's balance"),
    INVALID_VALUE("refund.not_refundable",
            "Invalid value passed for URL: only credit notes and customer payments are refunded",
            ASSIGNED),
    Refusal("refund.over_credit", 400, "9007",
            "The amount to be refunded is more than the available credit ({available}).",
            BUSINESS),
)  # fmt: skip


# ------------------------------------------------------------------------ examples


def _line(rate: str = "10.00", **fields: Any) -> dict[str, Any]:
    """A line booked to the set-up's item."""
    return {
        "item_id": "{item}",
        "name": "Service",
        "rate": Decimal(rate),
        "quantity": Decimal(1),
        **fields,
    }


def _invoice(given: str = "customer", **fields: Any) -> Example:
    body = {"customer_id": "{customer}", "line_items": [_line()], **fields}
    return Example("POST", "/invoices", body, given=given)


def _note(**fields: Any) -> Example:
    body = {"customer_id": "{customer}", "date": "2026-03-10", "line_items": [_line("40.00")]}
    return Example("POST", "/creditnotes", body | fields, given="customer")


def _pay(
    amount: str, applied: str, invoice: str = "{invoice}", given: str = "invoice", **fields: Any
) -> Example:
    body = {
        "customer_id": "{customer}",
        "payment_mode": "cash",
        "amount": Decimal(amount),
        "date": "2026-03-15",
        "invoices": [{"invoice_id": invoice, "amount_applied": Decimal(applied)}],
    }
    return Example("POST", "/customerpayments", body | fields, given=given)


def _refund(parent: str, amount: str, account: str = "{account}") -> Example:
    body = {
        "date": "2026-03-20",
        "amount": Decimal(amount),
        "from_account_id": account,
        "refund_mode": "cash",
        "reference_number": "RF-1",
    }
    return Example("POST", f"/{parent}/refunds", body, given="credits")


def _item(**fields: Any) -> Example:
    body = {"name": "Consulting", "rate": Decimal(90), **fields}
    return Example(
        "POST", "/items", {k: v for k, v in body.items() if v is not None}, given="customer"
    )


def _list(path: str, **params: str) -> Example:
    return Example("GET", path, params=tuple(params.items()))


def _auth(header: str) -> Example:
    return Example("GET", "/contacts", headers=(("Authorization", header),), given="access")


_APPLY = "/creditnotes/{note}/invoices"
_SORT = "last_modified_time"

EXAMPLES = Examples(REFUSALS, {
    "auth.unauthorized": (_auth(" "), _auth("Bearer {access}"),
                          _auth("Zoho-oauthtoken 1000.forged"),
                          Example("GET", "/contacts", given="expired")),
    "request.wrong_organization": (_list("/contacts", organization_id=""),
                                   _list("/contacts", organization_id="999")),
    "request.bad_json": (Example("POST", "/contacts", "{not json"),
                         Example("POST", "/contacts", "[1]")),
    "request.unknown_url": _list("/estimates"),
    "request.method_not_allowed": Example("PUT", "/items/{item}", {"rate": Decimal(1)},
                                          given="customer"),
    "limit.per_minute": Example("GET", "/contacts", given="throttled"),
    "limit.daily": Exempt("needs a sandbox built with a daily cap (create_app(daily_limit=)):"
                          " test_the_daily_cap_answers_429_code_45_and_counts_down"),
    "limit.concurrent": Exempt("needs a request in flight while another comes: "
                               "test_requests_beyond_the_concurrency_limit_answer_code_1070"),
    "server.internal": Example("POST", "/contacts", {"contact_name": "Acme"}, given="failing"),
    "record.not_found": _list("/items/460000000999999").saying(entity="Item"),
    "field.invalid": (_invoice(line_items=[_line(tax_id="123")]),
                      _refund("customerpayments/{payment}", "1", "460000000000001")),
    "field.required": (
        Example("POST", "/contacts", {"company_name": "no name"}),
        _item(name=None),
        _invoice(line_items=[]),
        _invoice(line_items=[{"name": "no item", "rate": Decimal(1)}]).saying(field="item_id"),
        Example("PUT", "/invoices/{invoice}", {"line_items": [
            {"name": "Service", "rate": Decimal(80), "quantity": Decimal(1)}]},
                      given="invoice").saying(field="item_id"),
        Example("POST", "/creditnotes", {"customer_id": "{customer}", "line_items": [
            _line()]}, given="customer").saying(field="date"),
        _pay("5.00", "5.00", invoices=None),
        _refund("customerpayments/{payment}", "1", ""),
    ),
    "field.too_long": (_invoice(reference_number="x" * 101), _item(name="x" * 101)),
    "field.date_format": _note(date="10/03/2026"),
    "schema.unknown_field": (
        _note(discount="10.00").saying(field="discount"),
        _note(discount_type="entity_level").saying(field="discount_type"),
        _note(is_discount_before_tax=False).saying(field="is_discount_before_tax"),
        Example("POST", "/contacts", {"contact_name": "Acme", "nickname": "A"})
        .saying(field="nickname"),
        _item(colour="red").saying(field="colour"),
        Example("POST", "/customerpayments", {"customer_id": "1", "surcharge": Decimal(1)})
        .saying(field="surcharge"),
    ),
    "schema.discount_type": _invoice(discount="10.00", discount_type="whole"),
    "list.per_page_max": _list("/contacts", per_page="201"),
    "list.sort_column": tuple(_list(path, sort_column=column, sort_order="D") for path, column in (
        ("/invoices", _SORT), ("/creditnotes", _SORT), ("/customerpayments", _SORT),
        ("/contacts", "notes"))),
    # looked for per record: a list with a record in it
    "list.search_text_too_long": Example("GET", "/contacts", params=(("search_text", "x" * 101),),
                                         given="customer"),
    "contact.name_taken": (
        Example("POST", "/contacts", {"contact_name": "ACME"}, given="customer")
        .saying(name="ACME"),
        Example("PUT", "/contacts/{other}", {"contact_name": "acme"}, given="customer")),
    "item.name_taken": _item(name="SERVICE").saying(name="SERVICE"),
    "item.sku_taken": _item(sku="SKU-1").saying(sku="SKU-1"),
    "item.account_unknown": _item(account_id="9"),
    "item.sales_only": _item(item_type="purchases"),
    "customer.unknown": _invoice(customer_id="987654"),
    "line.item_unknown": (
        _invoice(line_items=[_line(item_id="4609")], date="2026-03-01"),
        _note(line_items=[_line(item_id="4609")]),
        Example("PUT", "/invoices/{invoice}", {"line_items": [_line(item_id="4609")]},
                given="invoice"),
    ),
    "document.number_taken": Example(
        "POST", "/invoices", {"customer_id": "{customer}", "line_items": [_line()],
                              "invoice_number": "a-1"},
        params=(("ignore_auto_number_generation", "true"),), given="numbered")
        .saying(entity="Invoice", number="a-1"),
    "document.number_generated": _invoice(invoice_number="A-1"),
    "document.currency_mismatch": _invoice("euro_customer", currency_id="{usd}"),
    "document.discount_range": _invoice(discount="500"),
    "exchange_rate.not_one": _invoice(exchange_rate=Decimal(2)),
    "exchange_rate.required": _invoice("euro_customer"),
    "invoice.not_draft": Example("POST", "/invoices/{invoice}/status/sent", given="invoice"),
    "invoice.void_edit": Example("PUT", "/invoices/{invoice}", {"notes": "edit"},
                                 given="voided"),
    "invoice.already_void": Example("POST", "/invoices/{invoice}/status/void", given="voided"),
    "invoice.below_paid": Example("PUT", "/invoices/{invoice}", {"line_items": [_line("40.00")]},
                                  given="half_paid"),
    "application.invoice_unknown": _pay("10.00", "10.00", invoice="999"),
    "application.invoice_draft": _pay("10.00", "10.00", given="draft"),
    "application.invoice_void": _pay("10.00", "10.00", given="voided"),
    "application.over_balance": _pay("100.01", "100.01"),
    "application.over_available": (
        _pay("10.00", "20.00"),
        Example("POST", _APPLY, {"invoices": [{"invoice_id": "{invoice}",
                                               "amount_applied": Decimal(41)}]},
                given="credits"),
    ),
    "refund.not_refundable": _refund("invoices/{invoice}", "1"),
    "refund.over_credit": (_refund("customerpayments/{payment}", "30.01"),
                           _refund("creditnotes/{note}", "40.01")),
})  # fmt: skip
