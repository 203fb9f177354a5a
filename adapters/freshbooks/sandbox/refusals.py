"""Everything the FreshBooks sandbox refuses: one row per rule, with the HTTP status, the
``errno`` of FreshBooks' error object (for OAuth-style answers, the ``error``), its
``message`` (``{obj}``, ``{field}``, ``{value}``: the error object's own) and its source.
The sandbox's checks raise by rule name through ``errors.refuse``.

FreshBooks publishes no list of ``errno`` values. Apart from 1012 (not found) the numbers
are the sandbox's own, one per kind of refusal: 2001 a required field is missing, 2002 a
value is malformed or not supported, 2003 a value that must be unique is taken, 2004 a
business rule refused the write, 400 the request itself is malformed, 403 the account,
429 the rate limit, 500 a server error (only when injected). Sources: FreshBooks' Python
SDK fixtures (amcintosh/freshbooks-python-sdk ``tests/fixtures``: the error envelope,
``1012 Client not found.``, the 401 answer); its official Node SDK
(freshbooks/freshbooks-nodejs-sdk @91cfeeed, ``packages/api/src/models/``);
freshbooks.com/api and support articles. The shared OAuth server's refusals of a used or
unknown refresh token or client (``adapters/sandbox/oauth.py``) are not rows here.
``EXAMPLES``: a request each rule refuses (paths below the account's
``/accounting/account/{account}``), the error's ``object``/``field`` where it names them,
fired by ``tests/contracts/refusal_examples_section.py``; the set-ups named by ``given``
are ``tests/unit/test_freshbooks_sandbox.py``'s.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, form_post
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

FIXTURES = "FreshBooks' Python SDK fixtures"
OWN = "the sandbox's own errno and wording (FreshBooks documents none)"
ASSUMED = f"an assumption: FreshBooks documents no answer; {OWN}"
STRICTER = "stricter than FreshBooks on purpose"
NODE_SDK = "FreshBooks' official Node SDK"

#: the answers several rules share (status, error code)
MALFORMED = answered(422, "2002")
BUSINESS_RULE = answered(422, "2004")
BAD_REQUEST = answered(400, "400")
TAKEN = answered(422, "2003")

REFUSALS = RefusalTable(
    "freshbooks",
    # ------------------------------------------------ gates, limits and the request itself
    Refusal("auth.unauthenticated", 401, "unauthenticated",
            "This action requires authentication to continue.",
            f"{FIXTURES}, auth_me_response__no_auth.json; a missing, unknown or expired token"),
    Refusal("auth.wrong_account", 403, "403",
            "The authenticated user has no access to this account.",
            f"{OWN}; every call names its account_id"),
    Refusal("oauth.redirect_uri_missing", 400, "invalid_request",
            "redirect_uri is required with every grant",
            "both SDKs send the app's redirect_uri with every grant and refuse to refresh"
            " without it (amcintosh/freshbooks-python-sdk freshbooks/client.py _authorize_call,"
            " freshbooks/freshbooks-nodejs-sdk packages/api/src/APIClient.ts authorizeCall;"
            " freshbooks.com/api/authentication names it among what the token request sends);"
            " FreshBooks documents no answer, so the sandbox answers as RFC 6749 section 5.2"
            " does, before the refresh token is spent: an assumption"),
    Refusal("oauth.redirect_uri_mismatch", 400, "invalid_grant",
            "redirect_uri is not the one registered for this app",
            "as oauth.redirect_uri_missing: a redirect_uri that is not the app's"),
    Refusal("limit.throttled", 429, "429", "Too many requests: slow down and retry later.",
            f"{ASSUMED}; with Retry-After (seconds), also an assumption. The limit: per_minute"
            " per account (default 100: the '100/60 s' figure comes only from a secondary"
            " source and is unverified), an optional per_second"),
    Refusal("server.injected", 500, "500", "An unexpected error occurred (injected by the"
            " sandbox).", f"{OWN}; answered to injected write failures (with their status)"),
    BAD_REQUEST("request.not_json", "the request body is not valid JSON", OWN),
    BAD_REQUEST("request.unknown_resource", "/{path} is not a resource of the sandbox", OWN),
    Refusal("record.not_found", 404, "1012", "{label} not found.",
            f"{FIXTURES}, get_client_response__not_found.json (1012 'Client not found.');"
            " deleted records stay readable (FreshBooks 'Active and Deleted Objects')"),
    # ------------------------------------------------------------ list parameters
    BAD_REQUEST("list.page", "page must be a number",
            f"freshbooks.com/api/parameters: a page that is not a positive integer is an"
            f" error (page 0 is page 1, a page past the last an empty list); {OWN}"),
    BAD_REQUEST("list.per_page", "per_page must be a positive number",
            "the sandbox's check (freshbooks.com/api/parameters documents the cap at 100,"
            f" which the sandbox applies silently); {OWN}"),
    BAD_REQUEST("list.search_unknown", "search[{field}] is not a search of {kind}s",
            f"{STRICTER}: a search name the resource's 'Searches / Filters' table does not"
            f" list (query.SEARCHES, query.IN_SEARCHES); FreshBooks is not documented to refuse it;"
            f" {OWN}"),
    BAD_REQUEST("list.search_date", "search[{field}] takes a date written YYYY-MM-DD",
            f"freshbooks.com/api/parameters: updated_min / updated_max take YYYY-MM-DD; {OWN}"),
    # ------------------------------------------------------------ fields of a write
    Refusal("field.required", 422, "2001", "This field is required.", OWN),
    MALFORMED("field.unknown", "{field} is not a field of {obj}.",
            f"{STRICTER}: a write carries only what {NODE_SDK} writes (rules.*_FIELDS, from"
            " its transform*Request functions); FreshBooks is not documented to refuse other"
            " fields; read-only ones are dropped, not refused"),
    MALFORMED("field.not_a_number", "This field must be a number.", OWN),
    MALFORMED("field.not_finite", "This field must be a finite number.", OWN),
    MALFORMED("field.date_format", "Dates must be written YYYY-MM-DD.",
            f"FreshBooks documents create_date as YYYY-MM-DD; {OWN}"),
    MALFORMED("field.currency_code", "This is not an ISO 4217 currency code.",
            f"FreshBooks money is {{'amount': '<decimal string>', 'code': '<ISO 4217>'}}; {OWN}"),
    MALFORMED("field.vis_state", "vis_state is 0 (active), 1 (deleted) or 2.",
            f"FreshBooks 'Active and Deleted Objects' (0 active, 1 deleted, 2 archived); {OWN}"),
    # ---------------------------------------------------------------- clients, items
    Refusal("client.name_missing", 422, "2001", "This field is required.",
            f"a client needs an organization, fname, lname or email; {OWN}"),
    MALFORMED("client.email_invalid", "Email address is invalid.", OWN),
    TAKEN("client.email_taken", "A client with this email already exists.",
            f"a client's email identifies it within the business (FreshBooks' clients"
            f" reference, General Info); compared ignoring case; {OWN}"),
    Refusal("client.unknown", 422, "1012", "Client not found.",
            f"{FIXTURES} (1012 'Client not found.'); a document's customerid / clientid names"
            " no client, or a deleted one; 422 as a refused write"),
    TAKEN("item.name_taken", "An item with this name already exists.",
            "FreshBooks' reference is silent; an integration vendor (OneSaas, 'Troubleshooting"
            " FreshBooks') states 'the item Name field is unique'; compared exactly, among"
            f" items not deleted; unverified, as is the wording; {OWN}"),
    # ------------------------------------------------------ invoices, credit notes
    MALFORMED("line.not_object", "Each line must be an object.", OWN),
    BUSINESS_RULE("line.currency_mismatch", "The line currency {code} is not"
            " {currency}.", f"a line's unit_cost is in its document's currency; {OWN}"),
    MALFORMED("line.tax_percent", "A tax is a percentage with at most {places} decimal places.",
            f"taxAmount1 'up to 3 decimal places' (FreshBooks' credits reference); {OWN}"),
    BUSINESS_RULE("document.below_paid", "The new total {total} is below the {paid}"
            " paid.", OWN),
    TAKEN("invoice.number_taken",
            "This invoice number is already in use (by an active, archived or deleted"
            " invoice).",
            "invoice numbers are unique among all invoices, active, archived or deleted"
            f" (FreshBooks support article 'Can I re-use an old invoice number?'); {OWN}"),
    MALFORMED("invoice.discount_value", "discount_value is not modelled by the sandbox.",
            f"{STRICTER}: a percentage discount is not modelled; syncledger books a fixed"
            " discount as a negative line instead, as FreshBooks' maker recommends (2ndSite"
            " FAQ 'How Do I Apply a Discount to an Invoice?')"),
    # ---------------------------------------------------------------------- payments
    Refusal("invoice.unknown", 422, "1012", "Invoice not found.",
            f"1012 as {FIXTURES}' 'Client not found.'; a payment's invoiceid names no invoice,"
            " or a deleted one; a payment needs one (invoiceid, required in the create example"
            " of freshbooks.com/api/payments)"),
    BUSINESS_RULE("payment.currency_mismatch", "The invoice is in {currency}, not"
            " {code}.", f"a payment takes the currency of its invoice (classic payment.create"
            f" docs, new payments reference); {OWN}"),
    MALFORMED("payment.not_positive", "A payment must be greater than zero.", OWN),
    MALFORMED("payment.type_unknown", "Payment type must be one of {types}.",
            f"the PaymentType values of {NODE_SDK} (Payment.ts): no Refund (FreshBooks"
            " documents no API refund of a client credit; its refunds go through the payment"
            f" gateway); {OWN}"),
    MALFORMED("payment.credit_field_written",
            "{field} cannot be written: a payment of type Credit draws on the client's credit"
            " without naming it.",
            f"{STRICTER}: creditid and from_credit, which FreshBooks answers but {NODE_SDK}"
            " never sends, are refused on a write rather than ignored, so nothing comes to rely"
            " on them (the community PHP and Java SDKs send both; FreshBooks does not say it"
            " honours them)"),
    BUSINESS_RULE("payment.credit_over_outstanding",
            "A credit of {amount} exceeds the {outstanding} outstanding on the invoice.",
            "support article 'How do Credits work?', Apply Credit as Payment: FreshBooks"
            " defaults the amount to the lower of the credit and what the invoice owes;"
            f" {OWN}"),
    BUSINESS_RULE("payment.credit_not_held",
            "The client's credit in {currency} ({held}) holds no {amount} in one credit.",
            f"{STRICTER}: which of several credits a payment of type Credit draws on is not"
            " documented; the sandbox takes the oldest holding the amount and does not model"
            " drawing on several"),
    MALFORMED("payment.change_unsupported", "Changing {field} is not modelled by the sandbox.",
            f"{STRICTER}: a payment update may change only note and vis_state"),
    BUSINESS_RULE("payment.restore_unsupported", "Restoring a payment is not modelled.",
            f"{STRICTER}: restoring a deleted payment is not modelled"),
    BUSINESS_RULE("payment.overpayment_used",
            "The overpayment credit of this payment was applied or refunded: delete those"
            " first.", f"deleting a payment deletes its overpayment credit, which must be"
            f" unused; {OWN}"),
)  # fmt: skip


# ------------------------------------------------------------------------ examples


def _line(cost: str = "10.00", code: str = "USD", **fields: Any) -> dict[str, Any]:
    return {"name": "Work", "qty": "1", "unit_cost": {"amount": cost, "code": code}, **fields}


def _invoice(given: str = "client", **fields: Any) -> Example:
    body = {"customerid": "{client}", "create_date": "2026-03-01", "lines": [_line()], **fields}
    return Example("POST", "/invoices/invoices", {"invoice": body}, given=given)


def _client(**fields: Any) -> Example:
    return Example("POST", "/users/clients", {"client": fields}, given="client")


def _pay(amount: str = "1.00", given: str = "invoice", code: str = "USD", **fields: Any) -> Example:
    body = {
        "invoiceid": "{invoice}",
        "amount": {"amount": amount, "code": code},
        "date": "2026-03-05",
        **fields,
    }
    return Example("POST", "/payments/payments", {"payment": body}, given=given)


def _put(path: str, given: str, single: str, **fields: Any) -> Example:
    return Example("PUT", path, {single: fields}, given=given)


def _list(path: str, name: str, value: str) -> Example:
    return Example("GET", path, params=((name, value),))


def _grant(redirect: str) -> Example:
    """A refresh grant (its form filled by the ``grant`` set-up) with ``redirect``."""
    form = (
        "grant_type=refresh_token&refresh_token={refresh}&client_id={client_id}"
        "&client_secret={secret}" + redirect
    )
    return form_post("/auth/oauth/token", form, "grant")


_CLIENTS = "/users/clients"
_PAYMENT = "/payments/payments/{payment}"

EXAMPLES = Examples(REFUSALS, {
    "auth.unauthenticated": Example("GET", _CLIENTS,
                                    headers=(("Authorization", "Bearer not-a-token"),)),
    "auth.wrong_account": Example("GET", "/accounting/account/other/users/clients")
    .naming(object="account", field="accountid"),
    "oauth.redirect_uri_missing": _grant(""),
    "oauth.redirect_uri_mismatch": _grant("&redirect_uri=https://elsewhere.test/cb"),
    "limit.throttled": Example("GET", _CLIENTS, given="throttled"),
    "server.injected": Example("POST", _CLIENTS, {"client": {"organization": "A"}},
                               given="failing"),
    "request.not_json": Example("POST", _CLIENTS, "{not json"),
    "request.unknown_resource": Example("GET", "/widgets/widgets")
    .saying(path="widgets/widgets"),
    "record.not_found": Example("GET", "/users/clients/987654")
    .naming(object="client", field="id").saying(label="Client"),
    "list.page": _list(_CLIENTS, "page", "x").naming(field="page"),
    "list.per_page": _list(_CLIENTS, "per_page", "0").naming(field="per_page"),
    "list.search_unknown": (_list("/items/items", "search[name]", "x").naming(field="name"),
                            _list(_CLIENTS, "search[notes]", "x").naming(field="notes")),
    "list.search_date": _list(_CLIENTS, "search[updated_min]", "yesterday"),
    "field.required": (
        # a payment needs an invoice (what syncledger used to send for a refund)
        Example("POST", "/payments/payments", {"payment": {
            "type": "Refund", "amount": {"amount": "15.00"}}}).naming(field="invoiceid"),
        _invoice(lines=[_line(taxAmount1="8")]).naming(field="taxName1"),
    ),
    "field.unknown": _client(DisplayName="x").naming(field="DisplayName"),
    "field.not_a_number": _invoice(lines=[_line("ten")]),
    "field.not_finite": _invoice(lines=[_line("Infinity")]),
    "field.date_format": _invoice(create_date="01/03/2026").naming(field="create_date"),
    "field.currency_code": _invoice(currency_code="euros"),
    "field.vis_state": Example("POST", "/items/items", {"item": {"name": "X", "vis_state": 5}})
    .naming(object="item", field="vis_state"),
    "client.name_missing": _client(note="x"),
    "client.email_invalid": _client(organization="B", email="nowhere").naming(field="email"),
    "client.email_taken": _client(organization="B", email="BILLING@acme.example")
    .naming(field="email", object="client"),
    "client.unknown": _invoice(customerid=987654).naming(object="client"),
    "item.name_taken": Example("POST", "/items/items", {"item": {"name": "Consulting"}},
                               given="client").naming(object="item", field="name"),
    "line.not_object": _invoice(lines=["x"]),
    "line.currency_mismatch": _invoice(lines=[_line(code="EUR")]),
    "line.tax_percent": _invoice(lines=[_line(taxName1="Tax", taxAmount1="8.0001")]),
    "document.below_paid": _put("/invoices/invoices/{invoice}", "paid", "invoice",
                                lines=[_line("10.00")]),
    "invoice.number_taken": _invoice("client", invoice_number="INV-7")
    .naming(object="invoice", field="invoice_number", value="INV-7"),
    "invoice.discount_value": _invoice(discount_value="10"),
    "invoice.unknown": _pay(invoiceid=987654),
    "payment.currency_mismatch": _pay(code="EUR"),
    "payment.not_positive": _pay("0.00"),
    # no Refund in the official SDK's PaymentType, nor these
    "payment.type_unknown": tuple(_pay(type=kind).naming(field="type")
                                  for kind in ("Refund", "NOVA", "EUROCARD", "credit")),
    # the body syncledger used to send to apply a credit note: the SDK writes neither
    "payment.credit_field_written": (
        _pay("40.00", "credit", type="Credit", creditid="{credit}").naming(field="creditid"),
        _pay("40.00", "credit", type="Credit", from_credit=True).naming(field="from_credit"),
        *(Example("POST", "/payments/payments", {"payment": {
            "creditid": "{credit}", "type": "Refund", "amount": {"amount": "15.00"}, **more}},
                  given="credit").naming(field="creditid") for more in ({}, {"invoiceid": None})),
    ),
    "payment.credit_over_outstanding": _pay("40.00", "small_invoice", type="Credit"),
    "payment.credit_not_held": _pay("1.00", type="Credit"),
    "payment.change_unsupported": _put(_PAYMENT, "payment", "payment",
                                       amount={"amount": "5.00"}),
    "payment.restore_unsupported": _put(_PAYMENT, "deleted_payment", "payment", vis_state=0),
    "payment.overpayment_used": _put(_PAYMENT, "used_overpayment", "payment", vis_state=1),
})  # fmt: skip
