"""What the Sage sandbox refuses: one row per rule, with the HTTP status, Sage's ``$dataCode``
(none: the one-field ``{"error": ...}`` answer), the ``$message`` and where the rule is
documented. ``errors.py`` shapes the answers; the call site names the ``$source`` (the
field, ``base`` or a header). Statuses follow developer.sage.com "Response Codes" (404 no
such path, 405 wrong verb, 422 invalid data, 429 too many requests); the diagnosis array
and ``RecordInvalid`` naming the field in ``$source`` follow its "Frequently Raised
Errors". "The models" are Sage's OpenAPI request models (via the generated SDKs); "the
swagger" is its published ``swagger.full.json`` (see ``schema.py``). "Ours" marks a
``$dataCode`` or ``$message`` Sage documents none for, worded by the sandbox.
"""

from __future__ import annotations

from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

OURS = "message: ours"
UNCITED = "message: no cited source"
LIVE = "as the live API answers it (no published source)"
UNDOCUMENTED = "Sage documents no 403/429 body: the shape and wording are ours"
LIMITS = "developer.sage.com, Making an API request"
STRICT = "stricter than Sage, on purpose"
DOCUMENT = "the models PostSalesInvoicesSalesInvoice / PostSalesCreditNotesSalesCreditNote"
PAYMENT = "the model PostContactPaymentsContactPayment"
ALLOCATION = (
    "the model PostContactAllocationsContactAllocation: a credit note is allocated to an "
    "invoice, the invoice's amount positive, the credit note's negative"
)
REFUND = (
    '"can be allocated only to sales_credit_notes and payments on account with an '
    "outstanding amount\" (Sage's answer in developer-community.sage.com topic 281)"
)
SWAGGER = "Sage's swagger (schema.py): the request definition's fields and JSON types"
NOT_FOUND = (
    "Sage's answer for an unknown contact_id, ledger_account_id or product_id "
    "(Sage/sageone_api_php_sample#32)"
)

#: the answers several rules share (status, error code)
INVALID = answered(422, "RecordInvalid")
TOO_MANY = answered(429, "TooManyRequests")
NOT_ALLOWED = answered(405, "MethodNotAllowed")

REFUSALS = RefusalTable(
    "sage",
    # ---------------------------------------------------------- gates and limits
    Refusal("auth.missing", 401, "", "Authorization missing. Please, add an authorization token"
            " at the 'Authorization' HTTP header.", f"a request without Authorization; {LIVE}"),
    Refusal("auth.token_invalid", 401, "AccessTokenVerificationError",
            "Access token is invalid (JWT malformed or missing).",
            f"a bad or expired bearer token, $source Authorization; {LIVE}"),
    Refusal("auth.business_denied", 403, "MultiUserAccessDenied",
            "The current user has no access to business {business}.",
            "X-Business selects the business (developer.sage.com Best Practices, Multi"
            " Business); here absent means the lead business and another id is refused,"
            f" $source X-Business; {UNDOCUMENTED}"),
    TOO_MANY("limit.calls",
            "Rate limit exceeded: too many requests for this business in the window",
            f"{LIMITS}: 200 calls in any 60 seconds per business; Retry-After in seconds;"
            f" {UNDOCUMENTED}"),
    TOO_MANY("limit.volume",
            "Data volume limit exceeded: too many megabytes for this business this hour",
            f"{LIMITS}: 100 MB in any 60 minutes per business; {UNDOCUMENTED}"),
    TOO_MANY("limit.injected", "Too many requests (injected)",
            f"a 429 injected by a test (Faults), not a Sage rule; {UNDOCUMENTED}"),
    # ------------------------------------------------------------ the request
    Refusal("request.not_json", 400, "BadRequest", "The request body is not valid JSON.",
            f"a body that is not JSON; status, $dataCode and {OURS}"),
    Refusal("resource.unknown", 404, "NotFound", "Unknown resource {resource}",
            f"a path the sandbox does not serve (404: no such path); $dataCode and {OURS}"),
    NOT_ALLOWED("resource.read_only", "{resource} is read-only",
            f"ledger_accounts, bank_accounts, tax_rates are read here only; {OURS}"),
    NOT_ALLOWED("method.put", "PUT is not supported on {resource}",
            f"PUT is modelled on contacts and sales documents only; {OURS}"),
    NOT_ALLOWED("method.delete", "DELETE is not supported on {resource}",
            f"DELETE voids a sales invoice (the OpenAPI operation \"Voids a Sales Invoice\");"
            f" {OURS}"),
    Refusal("record.not_found", 404, "RecordNotFound", "Couldn't find record.",
            f"an id in the path naming no record, $source empty; {NOT_FOUND}"),
    Refusal("reference.not_found", 404, "RecordNotFound", "Couldn't find record.",
            f"an id in the body naming no record; {NOT_FOUND} (its $source empty; a tax rate,"
            " ledger, bank account or allocated artefact names its field)"),
    INVALID("idempotency.id_invalid", "must be a 32 character hyphenless GUID",
            f"developer.sage.com, Idempotency: idempotency_id is a 32-character GUID; {OURS}"),
    INVALID("list.since_invalid", "is not a date or date-time",
            f"updated_or_created_since takes a date or a date-time; {OURS}"),
    INVALID("list.sort_invalid",
            "{sort} is not one of {sortable} with :asc or :desc", f"sort; {OURS}"),
    INVALID("list.not_positive", "must be 1 or more", f"page and items_per_page; {OURS}"),
    # ------------------------------------------------------------- any field
    INVALID("field.required", "This field is required.",
            "the models' required fields (contacts: name, contact_type_ids; sales documents:"
            " contact_id, date, lines with description, ledger_account_id, unit_price,"
            " tax_rate_id and tax_amount, \"required in v3.1, unless the tax rate is of a zero,"
            " exempt or no_tax type\"; payments: transaction_type_id, contact_id,"
            " bank_account_id, date, total_amount; services: description,"
            " sales_ledger_account_id, products also purchase_ledger_account_id), a body's"
            f" resource key, void_reason on a void; {UNCITED}"),
    INVALID("field.unknown", "is not an attribute of this resource in Sage Accounting v3.1",
            f"{STRICT}: a field the request definition does not list (a line's id or _destroy,"
            f" a misspelt name); what Sage does with one is not documented; {SWAGGER}; {OURS}"),
    INVALID("field.type", "is not {kind}",
            f"{SWAGGER}: a number must be a JSON number; rules' own type checks alike;"
            f" {UNCITED}"),
    INVALID("field.too_long", "is too long (maximum is {limit} characters)",
            "the swagger's read models' maxLength (schema.py); the wording is Rails' default"),
    INVALID("field.not_a_date", "is not a valid date (YYYY-MM-DD)",
            f"dates are ISO 8601 days; {OURS}"),
    INVALID("field.not_positive", "must be greater than 0",
            f"a payment's total_amount, an exchange_rate or inverse_exchange_rate; {OURS}"),
    # ---------------------------------------------------------------- contacts
    INVALID("contact.type_unknown", "{type} is not a contact type",
            f"PostContactsContact: contact_type_ids CUSTOMER or VENDOR; {OURS}"),
    INVALID("contact.currency_invalid", "{code!r} is not a currency",
            f"currency_id is an ISO 4217 code; {OURS}"),
    INVALID("contact.reference_taken", "has already been taken",
            "PostContactsContact: \"Unique reference for the contact\", per business, ignoring"
            " case; the wording is Rails' default for a taken unique value"),
    INVALID("contact.email_invalid", "is invalid",
            f"the main contact person's email must look like one; {UNCITED}"),
    INVALID("contact.not_customer", "Couldn't find Customer.",
            f"a sales document or payment names a CUSTOMER contact; {UNCITED}"),
    # -------------------------------------------------------- sales documents
    INVALID("document.line_not_object", "each line must be an object",
            f"{DOCUMENT}: lines are objects; {OURS}"),
    INVALID("document.amount_mismatch", "does not match the derived amount {derived}",
            f"{STRICT}: an amount sent alongside (net_amount, total_amount, ...) must equal"
            f" what the sandbox derives; {OURS}"),
    INVALID("document.below_settled", "is below the {settled} already paid or allocated",
            f"a document's total cannot drop below what settles it; {OURS}"),
    INVALID("document.voided", "A voided artefact cannot be edited.",
            f"$source base; a VOID document is final; {UNCITED}"),
    INVALID("document.already_voided",
            "The invoice has already been voided.", f"$source base; {UNCITED}"),
    INVALID("line.discount_invalid", "must be between 0 and the line's amount",
            f"{DOCUMENT}: discount_amount or discount_percentage reduce the line's net; {OURS}"),
    INVALID("line.item_twice", "cannot be given together with product_id",
            f"{STRICT}: a line naming both a product and a service; {OURS}"),
    INVALID("currency.not_contacts", "must be the contact's currency {code}",
            f"a document or payment is in its contact's currency; {OURS}"),
    INVALID("rate.not_inverse", "is not the inverse of exchange_rate",
            f"exchange_rate and inverse_exchange_rate must agree (within 0.0001); {OURS}"),
    INVALID("rate.missing", "This field is required.",
            f"{STRICT}: a foreign-currency document (or a payment with no document to take a"
            " rate from) must carry its exchange_rate; Sage would apply its own rate and a"
            " silent one is never wanted"),
    # ----------------------------------------------------------------- items
    INVALID("item.code_taken", "has already been taken",
            "item codes are unique per business across products and services (one \"Products &"
            " Services\" list), ignoring case; Sage publishes no text for this refusal, the shape"
            " is its usual one for a taken unique field"),
    # ------------------------------------------------ payments and allocations
    INVALID("payment.transaction_type", "{given} is not supported here; use {expected}",
            f"{PAYMENT} / allocations: CUSTOMER_RECEIPT, CUSTOMER_REFUND, CUSTOMER_ALLOCATION"
            f" only; {OURS}"),
    INVALID("payment.over_allocated", "allocate {allocated}, more than"
            " {total}", f"{PAYMENT}: a receipt's artefacts take at most its total; {OURS}"),
    INVALID("refund.unallocated", "is {total} but {allocated} is allocated"
            " to credit notes and payments on account",
            f"{STRICT}: a refund's allocations add up to its total_amount (a refund paying out"
            f" of no credit is not modelled); {OURS}"),
    INVALID("refund.not_a_credit",
            "a refund is allocated to credit notes and payments on account", f"{REFUND}; {OURS}"),
    INVALID("refund.nothing_outstanding", "You can only pay unpaid or part-paid invoices.",
            f"{REFUND}; $source base; the message is Sage's there"),
    INVALID("artefact.other_contact", "belongs to another contact",
            f"an allocated artefact is the payment's or allocation's contact's; {OURS}"),
    INVALID("artefact.void", "is void", f"an allocated artefact is open; {OURS}"),
    INVALID("artefact.amount_misfit", "{amount} does not fit the outstanding {outstanding}",
            f"an artefact's amount is positive (as in that thread: {REFUND}) and within what it"
            f" has outstanding; {OURS}"),
    INVALID("allocation.too_few",
            "an allocation needs at least two artefacts", f"{ALLOCATION}; {OURS}"),
    INVALID("allocation.not_net_zero",
            "the allocated amounts net to {net}, not 0", f"{ALLOCATION}; {OURS}"),
)  # fmt: skip
