"""Everything the Zoho Books sandbox refuses: one row per rule, with the HTTP status, the
``code`` and ``message`` of Zoho's error body (``errors.ZohoError``) and where each comes
from. The sandbox's checks raise by rule name through ``errors.refuse``.

Sources, as they are marked below: Zoho's errors page (zoho.com/books/api/v3/errors);
Zoho's Books v3 OpenAPI documents (``<module>.yml``, see ``schema.py``); 3P, integrators'
code and tests, for what Zoho's reference leaves out; the Databricks and Codat connector
pages for the request limits; sandbox-assigned, a code or wording of ours where no source
gave Zoho's. The token endpoint's refusals (HTTP 200 with ``{"error": ...}``, as Zoho
Accounts answers them) are not rows here: see ``oauth.py``.
"""

from __future__ import annotations

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
