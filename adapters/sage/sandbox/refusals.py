"""What the Sage sandbox refuses: one row per rule, with the HTTP status, Sage's ``$dataCode``
(none: the one-field ``{"error": ...}`` answer), the ``$message`` and where the rule is
documented. ``errors.py`` shapes the answers; the call site names the ``$source`` (the
field, ``base`` or a header). Statuses follow developer.sage.com "Response Codes" (404 no
such path, 405 wrong verb, 422 invalid data, 429 too many requests); the diagnosis array
and ``RecordInvalid`` naming the field in ``$source`` follow its "Frequently Raised
Errors". "The models" are Sage's OpenAPI request models (via the generated SDKs); "the
swagger" is its published ``swagger.full.json`` (see ``schema.py``). "Ours" marks a
``$dataCode`` or ``$message`` Sage documents none for, worded by the sandbox.
``EXAMPLES``: a request each rule refuses (paths below ``/v3.1``), the ``$source``
it names as ``source``, fired by ``tests/contracts/refusal_examples_section.py``; the
set-ups named by ``given`` are ``tests/unit/test_sage_sandbox.py``'s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncledger.adapters.sage.sandbox.seed import (
    BANK_ACCOUNT_ID,
    PURCHASE_LEDGER_ACCOUNT_ID,
    SALES_LEDGER_ACCOUNT_ID,
)
from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
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


# ------------------------------------------------------------------------ examples


def _kept(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


def _contact(**fields: Any) -> Example:
    body = {"name": "Acme", "contact_type_ids": ["CUSTOMER"], **fields}
    return Example("POST", "/contacts", {"contact": _kept(body)})


def _line(price: str = "10", **extra: Any) -> dict[str, Any]:
    return _kept(
        {
            "description": "Service",
            "ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
            "quantity": Decimal(1),
            "unit_price": Decimal(price),
            "tax_rate_id": "GB_NO_TAX",
            **extra,
        }
    )


def _invoice(given: str = "contact", *lines: dict[str, Any], **fields: Any) -> Example:
    body = {
        "contact_id": "{contact}",
        "date": "2026-03-01",
        "invoice_lines": list(lines or [_line()]),
        **fields,
    }
    return Example("POST", "/sales_invoices", {"sales_invoice": _kept(body)}, given=given)


def _put(given: str, **fields: Any) -> Example:
    return Example("PUT", "/sales_invoices/{invoice}", {"sales_invoice": fields}, given=given)


def _paying(
    total: str,
    *artefacts: tuple[str, str],
    given: str = "credits",
    kind: str = "CUSTOMER_RECEIPT",
    **fields: Any,
) -> Example:
    body = {
        "transaction_type_id": kind,
        "contact_id": "{contact}",
        "bank_account_id": BANK_ACCOUNT_ID,
        "date": "2026-03-02",
        "total_amount": Decimal(total),
        "allocated_artefacts": [{"artefact_id": a, "amount": Decimal(v)} for a, v in artefacts],
        **fields,
    }
    return Example("POST", "/contact_payments", {"contact_payment": _kept(body)}, given=given)


def _refund(total: str, *artefacts: tuple[str, str], given: str = "credits") -> Example:
    return _paying(total, *artefacts, given=given, kind="CUSTOMER_REFUND")


def _allocation(*artefacts: tuple[str, str]) -> Example:
    body = {
        "transaction_type_id": "CUSTOMER_ALLOCATION",
        "contact_id": "{contact}",
        "allocated_artefacts": [{"artefact_id": a, "amount": Decimal(v)} for a, v in artefacts],
    }
    return Example("POST", "/contact_allocations", {"contact_allocation": body}, given="credits")


def _item(resource: str, given: str = "", **fields: Any) -> Example:
    body = {
        "item_code": "X",
        "description": "X",
        "sales_ledger_account_id": SALES_LEDGER_ACCOUNT_ID,
        "purchase_ledger_account_id": PURCHASE_LEDGER_ACCOUNT_ID,
        **fields,
    }
    return Example("POST", f"/{resource}s", {resource: _kept(body)}, given=given)


def _header(name: str, value: str) -> Example:
    return Example("GET", "/contacts", headers=((name, value),))


def _list(path: str, name: str, value: str) -> Example:
    """A list read (of a book holding a contact) with one parameter."""
    return Example("GET", path, params=((name, value),), given="contact").naming(source=name)


#: swagger.full.json maxLength (definitions Contact, Address, ContactPerson); the first two:
#: what the adapter used to send (a 15-character token, the whole address in line 1)
_CONTACT_LENGTHS = (
    ({"reference": "SL-67B3B5095F8C"}, "reference", 10),
    (
        {
            "main_address": {
                "address_line_1": "1 Long Street, Building 4, Suite 200, Springfield, IL 62704"
            }
        },
        "main_address.address_line_1",
        50,
    ),
    ({"main_address": {"city": "C" * 51}}, "main_address.city", 50),
    ({"main_address": {"postal_code": "12345-67890"}}, "main_address.postal_code", 10),
    ({"main_contact_person": {"name": "N" * 51}}, "main_contact_person.name", 50),
    ({"main_contact_person": {"telephone": "1" * 51}}, "main_contact_person.telephone", 50),
    ({"name": "N" * 101}, "name", 100),
    ({"notes": "n" * 4001}, "notes", 4000),
)
_ON_ACCOUNT = "{on_account}"
_TAXED = "GB_STANDARD"
_NO_ID = "f" * 32

EXAMPLES = Examples(REFUSALS, {
    "auth.missing": _header("Authorization", ""),
    "auth.token_invalid": _header("Authorization", "Bearer not-a-token")
    .naming(source="Authorization"),
    "auth.business_denied": _header("X-Business", _NO_ID).naming(source="X-Business"),
    "limit.calls": Exempt("needs a sandbox whose window allows n requests: the"
                          " RequestWindowSection (TestSageRequestWindow) fires it"),
    "limit.volume": Exempt("needs a sandbox built with a megabytes-per-hour cap:"
                           " test_the_hourly_volume_limit_answers_429"),
    "limit.injected": Example("GET", "/contacts", given="throttled"),
    "request.not_json": Example("POST", "/contacts", "{not json"),
    "resource.unknown": Example("GET", "/widgets").saying(resource="widgets"),
    "resource.read_only": Example("POST", "/tax_rates", {"tax_rate": {"name": "X"}}),
    "method.put": Example("PUT", "/services/{service}", {"service": {"description": "Y"}},
                          given="item"),
    "method.delete": Example("DELETE", "/contacts/{contact}", given="contact"),
    "record.not_found": Example("GET", f"/contacts/{_NO_ID}").naming(source=""),
    "reference.not_found": (
        _invoice("contact", contact_id="nope").naming(source=""),
        _invoice("item", _line(service_id=_NO_ID)).naming(source=""),
        # a service is no product
        _invoice("item", _line(product_id="{service}")).naming(source=""),
        _invoice("contact", _line(ledger_account_id=_NO_ID))
        .naming(source="invoice_lines.ledger_account_id"),
        _refund("5", (_NO_ID, "5")).naming(source="allocated_artefacts.artefact_id"),
    ),
    "idempotency.id_invalid": _contact(idempotency_id="not-a-guid")
    .naming(source="idempotency_id"),
    "list.since_invalid": _list("/contacts", "updated_or_created_since", "yesterday"),
    "list.sort_invalid": _list("/sales_invoices", "sort", "amount"),
    "list.not_positive": _list("/contacts", "items_per_page", "0"),
    "field.required": (
        _contact(name=None).naming(source="name"),
        _contact(contact_type_ids=None).naming(source="contact_type_ids"),
        _invoice("contact", _line(tax_rate_id=_TAXED)).naming(source="invoice_lines.tax_amount"),
        _invoice("contact", _line(tax_rate_id=None)).naming(source="invoice_lines.tax_rate_id"),
        Example("DELETE", "/sales_invoices/{invoice}", given="invoice")
        .naming(source="void_reason"),
        _item("service", description=None).naming(source="description"),
        _item("service", sales_ledger_account_id=None).naming(source="sales_ledger_account_id"),
        _item("product", purchase_ledger_account_id=None)
        .naming(source="purchase_ledger_account_id"),
    ),
    "field.unknown": (
        _contact(nickname="Ace").naming(source="nickname"),
        _contact(main_address={"line1": "1 Main St"}).naming(source="main_address.line1"),
        # putSalesInvoices lines carry neither id nor _destroy (swagger.full.json)
        _put("invoice", invoice_lines=[{"id": "{line}", "_destroy": True}, _line("1")])
        .naming(source="invoice_lines.id"),
        _put("invoice", invoice_lines=[{"id": "{line}", "unit_price": Decimal(15)}, _line()])
        .naming(source="invoice_lines.id"),
        _put("invoice", invoice_lines=[{"_destroy": True}])
        .naming(source="invoice_lines._destroy"),
    ),
    "field.type": (
        _contact(credit_limit="100.00").naming(source="credit_limit"),
        _contact(contact_type_ids="CUSTOMER").naming(source="contact_type_ids"),
        _invoice("contact", _line(unit_price="ten")).naming(source="invoice_lines.unit_price"),
        _invoice("contact", invoice_lines=["x"]).naming(source="invoice_lines"),
    ),
    "field.too_long": (
        *(_contact(**fields).naming(source=source).saying(limit=str(limit))
          for fields, source, limit in _CONTACT_LENGTHS),
        _invoice("contact", reference="x" * 26).naming(source="reference"),
        _invoice("contact", notes="x" * 2001).naming(source="notes"),
        _paying("10.00", ("{invoice}", "10.00"), reference="r" * 26).naming(source="reference"),
    ),
    "field.not_a_date": _invoice("contact", date="01/03/2026").naming(source="date"),
    "field.not_positive": _paying("0").naming(source="total_amount"),
    "contact.type_unknown": _contact(contact_type_ids=["PARTNER"])
    .naming(source="contact_type_ids"),
    "contact.currency_invalid": _contact(currency_id="euro").naming(source="currency_id"),
    "contact.reference_taken": Example("POST", "/contacts", {"contact": {
        "name": "Other", "contact_type_ids": ["CUSTOMER"], "reference": "acme01"}},
        given="contact").naming(source="reference"),
    "contact.email_invalid": _contact(main_contact_person={"email": "x"})
    .naming(source="main_contact_person.email"),
    "contact.not_customer": _invoice("contact", contact_id="{vendor}").naming(source="contact_id"),
    "document.line_not_object": Exempt(
        "not reachable over HTTP: schema.py refuses a line that is not an object first"
        " (field.type, 'is not a list of objects'); kept as the rules' own guard"),
    "document.amount_mismatch": _invoice("contact", _line(net_amount=Decimal(99)))
    .naming(source="invoice_lines.net_amount"),
    "document.below_settled": _put("paid", invoice_lines=[_line("50")])
    .naming(source="total_amount"),
    "document.voided": _put("voided", notes="late").naming(source="base"),
    "document.already_voided": Example("DELETE", "/sales_invoices/{invoice}", given="voided",
                                       params=(("void_reason", "again"),)).naming(source="base"),
    "line.discount_invalid": _invoice("contact", _line(discount_amount=Decimal(20)))
    .naming(source="invoice_lines.discount_amount"),
    "line.item_twice": _invoice("item", _line(service_id="{service}", product_id="{service}"))
    .naming(source="invoice_lines.service_id"),
    "currency.not_contacts": _invoice("euro", currency_id="GBP").naming(source="currency_id"),
    "rate.not_inverse": _invoice("euro", exchange_rate=Decimal("0.8"),
                                 inverse_exchange_rate=Decimal(2))
    .naming(source="inverse_exchange_rate"),
    "rate.missing": (_invoice("euro").naming(source="exchange_rate"),
                     _paying("25", given="euro").naming(source="exchange_rate")),
    "item.code_taken": (_item("service", "item", item_code="svc-1").naming(source="item_code"),
                        _item("product", "item", item_code="svc-1").naming(source="item_code")),
    "payment.transaction_type": _paying("10", kind="VENDOR_PAYMENT")
    .naming(source="transaction_type_id"),
    "payment.over_allocated": _paying("10", ("{invoice}", "20"))
    .naming(source="allocated_artefacts"),
    "refund.unallocated": _refund("5", ("{note}", "4")).naming(source="total_amount"),
    "refund.not_a_credit": _refund("5", ("{invoice}", "5"))
    .naming(source="allocated_artefacts.artefact_id"),
    "refund.nothing_outstanding": _refund("1", (_ON_ACCOUNT, "1"), given="refunded")
    .naming(source="base"),
    "artefact.other_contact": _refund("5", ("{other_note}", "5"))
    .naming(source="allocated_artefacts.artefact_id"),
    "artefact.void": _paying("10", ("{invoice}", "10"), given="voided")
    .naming(source="allocated_artefacts.artefact_id"),
    "artefact.amount_misfit": tuple(
        example.naming(source="allocated_artefacts.amount") for example in (
        _paying("500", ("{invoice}", "150")),
        _refund("40", (_ON_ACCOUNT, "40")),
        _refund("31", ("{note}", "31")),
    )),
    "allocation.too_few": _allocation(("{invoice}", "30")).naming(source="allocated_artefacts"),
    "allocation.not_net_zero": _allocation(("{invoice}", "30"), ("{note}", "-20"))
    .naming(source="allocated_artefacts"),
})  # fmt: skip
