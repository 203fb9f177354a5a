"""Everything the NetSuite sandbox refuses: one row per rule, with the HTTP status, the
``o:errorCode`` and the ``detail`` of NetSuite's error body (``errors.NsError``; the
``o:errorPath`` is given where each refusal is raised) and where each comes from. The
sandbox's checks raise by rule name through ``errors.refuse``.

Sources, as marked below: Oracle's NetSuite help pages by title; "third-party captures",
live answers integrators published; "SOAP code", the code NetSuite's SOAP web services
document where the REST one is unverified; "the sandbox's check", a refusal whose code or
wording no source was recorded for; "stricter than NetSuite", what NetSuite would take and
the sandbox refuses. ``EXAMPLES``: a request each rule refuses (paths below
``/services/rest/record/v1`` unless they start ``/services/``), the ``o:errorPath`` (and
title) it names, fired by ``tests/contracts/refusal_examples_section.py``; the set-ups
named by ``given`` are ``tests/unit/test_netsuite_sandbox.py``'s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

#: NetSuite's ``title`` where it is not the status's reason phrase
TITLES = {"async.key_used": "Conflict"}

E = "Error while accessing a resource. "
SEARCH = "Invalid search query. Detailed unprocessed description follows. Search error occurred: "
CHECK = "the sandbox's check (no source recorded for NetSuite's code or wording)"
RULES = (
    "NetSuite behaviour as the sandbox's record rules give it (rules.py); shape: Oracle help,"
    " 'Error Handling in REST Web Services'; the detail's wording is the sandbox's"
)
TBA = (
    "every failed TBA check (tba.py: RFC 5849, Oracle's TBA help); why it failed goes to the"
    " Login Audit Trail (GET /_sandbox/login-audit), whose details are those of Oracle help,"
    " 'Error Messages for RESTlets, SOAP Web Services, and REST Web Services'"
)
LIMITS = (
    "third-party captures of live answers: NetSuite sends no Retry-After (injected 429s add"
    " one) and keeps the title 'Bad Request'"
)

#: the answers several rules share (status, error code)
USER_ERROR = answered(400, "USER_ERROR")
INVALID_REQUEST = answered(400, "INVALID_REQUEST")
INVALID_CONTENT = answered(400, "INVALID_CONTENT")
INVALID_PARAMETER = answered(400, "INVALID_PARAMETER")

REFUSALS = RefusalTable(
    "netsuite",
    # ------------------------------------------------------------ login and limits
    Refusal("login.invalid", 401, "INVALID_LOGIN",
            "Invalid login attempt. For more details, see the Login Audit Trail in the NetSuite"
            " UI at Setup > Users/Roles > User Management > View Login Audit Trail.", TBA),
    Refusal("limit.concurrency", 429, "CONCURRENCY_LIMIT_EXCEEDED",
            "Concurrent request limit exceeded. Request blocked.",
            f"more requests in flight than the account's limit (NetSuite: 15, or 5 on shared"
            f" service, + 10 per SuiteCloud Plus licence); {LIMITS}"),
    Refusal("limit.frequency", 429, "USER_ERROR", "Request limit exceeded. Request blocked.",
            f"more requests than per_minute in a 60-second window (NetSuite publishes no number"
            f" for its frequency limits); the code and the answer: {LIMITS}"),
    Refusal("server.unexpected", 500, "UNEXPECTED_ERROR",
            "An unexpected error occurred. Error ID: sandbox-injected",
            "injected write failures only, with the fault's own 5xx status; the code NetSuite's"
            " 5xx answers carry (as the adapter's errors module reads them)"),
    # --------------------------------------------------------- the request itself
    INVALID_REQUEST("request.not_json", "The request body is not valid JSON.", CHECK),
    INVALID_REQUEST("request.not_object", "The request body must be a JSON object.", CHECK),
    Refusal("record.type_unknown", 404, "NONEXISTENT_ID",
            "Record type '{record}' does not exist or is not supported.",
            f"{CHECK}; the record types modelled are server.py's"),
    Refusal("record.not_found", 404, "NONEXISTENT_ID",
            "The record instance does not exist. Provide a valid record instance ID"
            " ({record} {ident}).", CHECK),
    INVALID_REQUEST("record.read_only", "The sandbox's currency records are read-only.",
            "the sandbox's limit: currency and discountItem records are read-only here"),
    INVALID_REQUEST("record.not_written", "The sandbox does not write {record} records.",
            "the sandbox's limit: currency and discountItem records are read-only here"),
    USER_ERROR("record.id_on_create", E + "You cannot set the internal ID of a new record.", CHECK),
    Refusal("record.external_id_taken", 400, "DUP_RCRD",
            "This record already exists (a record with external ID {external_id}).",
            "externalIds are unique per record type (Oracle help, 'Using the Upsert"
            " Operation'); NetSuite's exact REST code for this is unverified, SOAP code"),
    INVALID_REQUEST("upsert.not_external_id",
            "PUT upserts by external ID: write the id as eid:<externalId>.",
            f"Oracle help, 'Using the Upsert Operation' (PUT /{{record}}/eid:{{externalId}});"
            f" {CHECK}"),
    USER_ERROR("upsert.id_in_body", E + "You cannot set the internal ID with an upsert.", CHECK),
    USER_ERROR("upsert.external_id_differs",
            E + "The externalId in the body differs from the one in the URL.", CHECK),
    USER_ERROR("transaction.voided", E + "A voided transaction cannot be changed.",
            f"{CHECK}; the sandbox voids nothing (NetSuite's REST web services offer no void)"),
    # ------------------------------------------------------ collections and queries
    INVALID_PARAMETER("page.not_integer", "limit and offset must be integers.", CHECK),
    INVALID_PARAMETER("page.out_of_range", "limit must be 1 to {most} and offset at least 0.",
            f"{CHECK}; a page holds 1 to 1000 (the default)"),
    INVALID_REQUEST("filter.unreadable", "Invalid query: {problem}",
            f"what the q filter understands: Oracle help, 'Record Collection Filtering', in the"
            f" subset query.py reads; {CHECK}"),
    INVALID_REQUEST("suiteql.not_transient",
            "SuiteQL requests must send the header Prefer: transient.",
            f"SuiteQL requests carry Prefer: transient; {CHECK}"),
    INVALID_REQUEST("suiteql.no_statement",
            'The request body must be {{"q": "<SuiteQL statement>"}}.', CHECK),
    INVALID_PARAMETER("suiteql.table_unknown", SEARCH + "Record '{table}' was not found.",
            f"{CHECK}; the tables modelled: customer, transaction, item"),
    INVALID_PARAMETER("suiteql.column_unknown", SEARCH + "Unknown identifier '{name}'", CHECK),
    INVALID_PARAMETER("suiteql.unreadable", SEARCH + "{problem}",
            f"beyond the SuiteQL subset query.py reads; {CHECK}"),
    # --------------------------------------------------------- asynchronous requests
    INVALID_REQUEST("async.key_not_uuid", "X-NetSuite-Idempotency-Key must be a UUID (RFC 4122).",
            "the key is a UUID: Oracle help, 'Sending an Asynchronous Request Using an"
            f" Idempotency Key'; {CHECK}"),
    Refusal("async.key_used", 400, "IDEMPOTENCY_ERROR",
            'A request with the same idempotency key is already submitted. See the "Location"'
            " header for a link to the previously submitted job",
            "Oracle help, 'Sending an Asynchronous Request Using an Idempotency Key': the first"
            " job's Location comes with it (and Preference-Applied: respond-async); title"
            " 'Conflict' (TITLES)"),
    Refusal("async.job_not_found", 404, "NONEXISTENT_ID", "Job {job} does not exist.", CHECK),
    # --------------------------------------------------------------- field values
    USER_ERROR("field.missing", E + "Please enter value(s) for: {field}.",
            "the fields a record needs: customer companyName (or firstName and lastName when"
            " isPerson) and, on a OneWorld account, subsidiary; taxRegistration lines a"
            " nexusCountry and a taxRegistrationNumber; invoice and credit memo entity, an item"
            " line, each line's amount or rate, a discountRate with a discountItem, and under"
            " taxDetailsOverride every taxDetails field (schema.py [taxdetails]: 'All tax"
            " information fields are mandatory'); payment customer and payment; refund"
            " customer, account and paymentMethod (mandatory in the record metadata, issue 10);"
            " service item itemId, taxSchedule (issue 10), subsidiary and incomeAccount"
            " (stricter than NetSuite, which may default it from the accounting preferences)."
            " Stricter than NetSuite: a foreign-currency invoice or credit memo must carry"
            " exchangeRate (NetSuite would take the day's rate from its currency table; we never"
            f" want a silent rate). {RULES}"),
    INVALID_CONTENT("field.invalid_reference",
            E + "You have entered an Invalid Field Value {value} for the following field:"
            " {field}",
            "a reference to nothing the account holds: subsidiary, currency, nexusCountry (not"
            " an ISO code), entity/customer, a line's item (an active sale item, at"
            " item.items[n].item: the shape third-party captures of REST answers show),"
            " discountItem, taxDetailsReference (an item line's), taxType, taxCode, an applied"
            " doc, a refund's account and paymentMethod, an item's incomeAccount and"
            f" taxSchedule. {RULES}"),
    INVALID_CONTENT("field.not_a_number", E + "{value!r} is not a number", CHECK),
    INVALID_CONTENT("field.not_finite", E + "the number is not finite", CHECK),
    INVALID_CONTENT("schema.number_as_text", E + "{value!r} is not a number: send a JSON number",
            "amounts are numbers in the REST record metadata (schema.py [metadata]); the"
            " code NetSuite gives an invalid field value, its exact text for a type mismatch is"
            " not documented"),
    # ---------------------------------------------------------- customers and items
    INVALID_CONTENT("customer.email_invalid", E + "{email!r} is not an email address", CHECK),
    Refusal("customer.entity_id_taken", 400, "DUP_ENTITY", "This entity already exists.",
            "entityId (defaulting to the name) is unique ignoring case; SOAP code, the REST"
            " code is unverified"),
    Refusal("item.name_taken", 400, "DUP_ITEM",
            E + "There is already an item with that name.",
            "itemId is unique among items of one type ('There is already an item with that"
            " name.', NetSuite's knowledge base; compared as written, whether NetSuite ignores"
            " case is unverified); SOAP code, the REST code is unverified"),
    # ----------------------------------------------------------- documents, amounts
    INVALID_CONTENT("line.amount_not_quantity_times_rate",
            E + "amount {amount} is not quantity x rate ({product})",
            f"amount = quantity x rate to the cent (a half cent either way); {RULES}"),
    USER_ERROR("document.total_negative", E + "the total {total} is negative", RULES),
    USER_ERROR("document.currency_not_customers",
            E + "the transaction currency {currency} is not the customer's currency {own}", RULES),
    INVALID_CONTENT("document.exchange_rate_not_positive",
            E + "the exchange rate must be greater than zero", RULES),
    USER_ERROR("tax.code_of_another_type", E + "tax code {code} is not of tax type {tax_type}",
            "a taxDetails line's taxCode is a code of its taxType (schema.py"
            f" [taxdetails]); {RULES}"),
    INVALID_CONTENT("payment.negative", E + "the payment amount cannot be negative", RULES),
    USER_ERROR("apply.another_customer", E + "invoice {doc} belongs to another customer",
            f"each applied doc is an invoice of the same customer; {RULES}"),
    USER_ERROR("apply.beyond_due", E + "{amount} cannot be applied to invoice {doc}: {left} is due",
            f"an applied amount is above zero and within the invoice's amount remaining; {RULES}"),
    USER_ERROR("apply.beyond_available",
            E + "{applied} is applied, more than the {available} available",
            f"a payment or credit memo applies (and is refunded) at most its amount; {RULES}"),
    USER_ERROR("invoice.total_below_applied",
            E + "the total {total} is less than the {applied} already applied", RULES),
    USER_ERROR("refund.applies_nothing",
            E + "A customer refund must apply a credit memo or a payment.",
            "stricter than NetSuite (or unverified): a refund must apply at least one credit"),
    USER_ERROR("refund.another_customer", E + "credit {doc} belongs to another customer",
            "a refund draws on credit memos and payments of its customer (Oracle help,"
            f" 'Customer Refund' in REST); {RULES}"),
    USER_ERROR("refund.another_currency", E + "credit {doc} is in another currency than the refund",
            f"a refund draws on credits in its own currency; {RULES}"),
    USER_ERROR("refund.beyond_credit", E + "{amount} cannot be refunded from {doc}: {left} is left",
            "each line above zero and within what the credit has neither applied nor had"
            f" refunded; {RULES}"),
)  # fmt: skip


# ------------------------------------------------------------------------ examples


def _line(rate: str = "10.00", quantity: str = "1", **extra: Any) -> dict[str, Any]:
    return {"item": {"id": "1"}, "quantity": Decimal(quantity), "rate": Decimal(rate), **extra}


def _customer(**fields: Any) -> Example:
    body = {"companyName": "Bolt", "subsidiary": {"id": "1"}, **fields}
    return Example(
        "POST", "/customer", {k: v for k, v in body.items() if v is not None}, given="customer"
    )


def _document(
    record: str = "invoice", given: str = "customer", *lines: dict[str, Any], **fields: Any
) -> Example:
    body = {"entity": {"id": "{customer}"}, "item": {"items": list(lines or [_line()])}, **fields}
    return Example("POST", f"/{record}", body, given=given)


def _applying(doc: str, amount: str) -> dict[str, Any]:
    return {"items": [{"doc": {"id": doc}, "apply": True, "amount": Decimal(amount)}]}


def _payment(amount: str, doc: str = "{invoice}", applied: str = "", **fields: Any) -> Example:
    body = {
        "customer": {"id": "{customer}"},
        "payment": Decimal(amount),
        "apply": _applying(doc, applied or amount),
        **fields,
    }
    return Example("POST", "/customerPayment", body, given="credits")


def _refund(*draws: tuple[str, str], **fields: Any) -> Example:
    lines = [
        {"doc": {"id": doc}, "apply": True, "amount": Decimal(amount)} for doc, amount in draws
    ]
    body = {
        "customer": {"id": "{customer}"},
        "tranDate": "2026-03-20",
        "account": {"id": "1"},
        "paymentMethod": {"id": "1"},
        "apply": {"items": lines},
        **fields,
    }
    return Example("POST", "/customerRefund", body, given="credits")


def _item(**fields: Any) -> Example:
    body = {
        "itemId": "SVC-2",
        "incomeAccount": {"id": "54"},
        "taxSchedule": {"id": "1"},
        "subsidiary": {"items": [{"id": "1"}]},
        **fields,
    }
    return Example(
        "POST",
        "/serviceSaleItem",
        {k: v for k, v in body.items() if v is not None},
        given="customer",
    )


def _suiteql(q: object, transient: bool = True) -> Example:
    """A SuiteQL query of a book holding a customer (columns are read row by row)."""
    headers = (("Prefer", "transient"),) if transient else ()
    body = {"q": q} if isinstance(q, str) else q
    return Example(
        "POST", "/services/rest/query/v1/suiteql", body, headers=headers, given="customer"
    )


def _get(path: str, **params: str) -> Example:
    return Example("GET", path, params=tuple(params.items()))


_ASYNC = (("Prefer", "respond-async"),)
_NEW = {"companyName": "Acme", "subsidiary": {"id": "1"}}
_AT_LINE = "item.items[0]"
_AT_APPLY = "apply.items[0]"

EXAMPLES = Examples(REFUSALS, {
    "login.invalid": Example("GET", "/customer", headers=(("Authorization", "OAuth none"),))
    .naming(title="Unauthorized"),
    "limit.concurrency": Example("GET", "/customer", given="throttled"),
    "limit.frequency": Exempt("needs a sandbox whose window allows n requests: the"
                              " RequestWindowSection (TestNetSuiteRequestWindow) fires it"),
    "server.unexpected": Example("POST", "/customer", _NEW, given="failing"),
    "request.not_json": Example("POST", "/customer", "{not json"),
    "request.not_object": Example("POST", "/customer", ["a list"]),
    "record.type_unknown": _get("/salesThing/1"),
    "record.not_found": (_get("/invoice/987654"), _get("/invoice/eid:nope")),
    "record.read_only": Example("POST", "/currency", {"name": "Euro"}),
    "record.not_written": Example("POST", "/discountItem", {"itemId": "Other discount"}),
    "record.id_on_create": _customer(id="5").naming(path="id"),
    "record.external_id_taken": _customer(companyName="Other", externalId="X-1")
    .naming(path="externalId"),
    "upsert.not_external_id": Example("PUT", "/customer/12", {"companyName": "A"}),
    "upsert.id_in_body": Example("PUT", "/customer/eid:C-1", {
        "id": "5", "companyName": "A", "subsidiary": {"id": "1"}}).naming(path="id"),
    "upsert.external_id_differs": Example("PUT", "/customer/eid:C-1", {
        "externalId": "C-2", "companyName": "A", "subsidiary": {"id": "1"}}),
    "transaction.voided": Exempt("not reachable over the API: NetSuite's REST web services"
                                 " offer no void, so no request makes a voided transaction"),
    "page.not_integer": _get("/customer", limit="x"),
    "page.out_of_range": (_get("/customer", limit="0"), _get("/customer", limit="1001")),
    "filter.unreadable": _get("/customer", q="companyName LIKE x"),
    "suiteql.not_transient": _suiteql("SELECT id FROM customer", transient=False),
    "suiteql.no_statement": _suiteql({"query": "SELECT id FROM customer"}),
    "suiteql.table_unknown": _suiteql("SELECT id FROM vendor"),
    "suiteql.column_unknown": _suiteql("SELECT nope FROM customer"),
    "suiteql.unreadable": (_suiteql("DELETE FROM customer"),
                           _suiteql("SELECT id FROM customer WHERE UPPER(companyname, 'x') = 'A'")),
    "async.key_not_uuid": Example("POST", "/customer", {},
                                  headers=(*_ASYNC, ("X-NetSuite-Idempotency-Key", "k-1"))),
    "async.key_used": Example("POST", "/customer", _NEW, given="async_job",
                              headers=(*_ASYNC, ("X-NetSuite-Idempotency-Key", "{key}")))
    .naming(title="Conflict"),
    "async.job_not_found": _get("/services/rest/async/v1/job/999"),
    "field.missing": (
        _customer(companyName=None).naming(path="companyName"),
        _customer(subsidiary=None).naming(path="subsidiary"),
        _document("invoice", "customer", item={"items": []}).naming(path="item"),
        _item(itemId="").naming(path="itemId"),
        _item(incomeAccount=None, taxSchedule=None).naming(path="incomeAccount"),
        _item(subsidiary={"items": []}).naming(path="subsidiary"),
        _document("invoice", "euro_customer").naming(path="exchangeRate"),
    ),
    "field.invalid_reference": (
        _document(entity={"id": "987654"}).naming(path="entity"),
        _document("invoice", "customer", _line(item={"id": "99"}))
        .naming(path="item.items[0].item").saying(value="99", field="item"),
        _document("invoice", "customer", _line(), _line("5.00", item={"id": "{inactive}"}))
        .naming(path="item.items[1].item"),
        # a discount item is no sale item
        _document("creditMemo", "customer", _line("1", item={"id": "2"}))
        .naming(path="item.items[0].item"),
        _document(discountItem={"id": "1"}, discountRate=Decimal(-1)).naming(path="discountItem"),
        _item(incomeAccount={"id": "999"}).naming(path="incomeAccount"),
        _refund(("{invoice}", "1.00")).naming(path="apply.items[0].doc"),
    ),
    # what the schema types is refused first as schema.number_as_text; a discountRate may be
    # a percentage, so it is read as a number only then
    "field.not_a_number": _document(discountItem={"id": "2"}, discountRate="ten")
    .naming(path="discountRate"),
    "field.not_finite": _document(discountItem={"id": "2"}, discountRate="Infinity")
    .naming(path="discountRate"),
    "schema.number_as_text": (
        _document("invoice", "customer", _line() | {"rate": "10.00"})
        .naming(path="item.items[0].rate"),
        _document("invoice", "customer", _line() | {"rate": True})
        .naming(path="item.items[0].rate"),
    ),
    "customer.email_invalid": _customer(email="nowhere").naming(path="email"),
    "customer.entity_id_taken": _customer(companyName="ACME").naming(path="entityId"),
    "item.name_taken": _item(itemId="SVC-1").naming(path="itemId"),
    "line.amount_not_quantity_times_rate": _document(
        "invoice", "customer", _line("0.335", "3", amount=Decimal("1.02"))).naming(path=_AT_LINE),
    "document.total_negative": _document("invoice", "customer", _line("-10.00"))
    .naming(path="total"),
    "document.currency_not_customers": _document("invoice", "euro_customer", currency={"id": "1"})
    .naming(path="currency"),
    "document.exchange_rate_not_positive": _document("invoice", "euro_customer",
                                                     exchangeRate=Decimal(0))
    .naming(path="exchangeRate"),
    "tax.code_of_another_type": Exempt("the account models one tax type (rules.TAX_TYPES), so"
                                       " every tax code is of it; kept as a guard"),
    "payment.negative": _payment("-1.00", applied="1.00").naming(path="payment"),
    "apply.another_customer": Example("POST", "/customerPayment", {
        "customer": {"id": "{other}"}, "payment": Decimal(30),
        "apply": _applying("{invoice}", "30")}, given="credits")
    .naming(path="apply.items[0].doc"),
    "apply.beyond_due": (_payment("500", applied="100.01").naming(path=_AT_APPLY),
                         _payment("130", "{paid_invoice}", "1.00").naming(path=_AT_APPLY)),
    "apply.beyond_available": (
        _payment("10", applied="20").naming(path="apply"),
        # 60 applied and 40 refunded: the payment cannot shrink to 90
        Example("PATCH", "/customerPayment/{payment}", {"payment": Decimal(90)},
                given="refunded").naming(path="apply"),
    ),
    "invoice.total_below_applied": Example(
        "PATCH", "/invoice/{invoice}", {"item": {"items": [_line("30.00")]}},
        params=(("replace", "item"),), given="credited").naming(path="total"),
    "refund.applies_nothing": _refund().naming(path="apply"),
    "refund.another_customer": Example("POST", "/customerRefund", {
        "customer": {"id": "{other}"}, "tranDate": "2026-03-20", "account": {"id": "1"},
        "paymentMethod": {"id": "1"}, "apply": _applying("{memo}", "1.00")}, given="credits")
    .naming(path="apply.items[0].doc"),
    "refund.another_currency": _refund(("{memo}", "1.00"), currency={"id": "4"},
                                       exchangeRate=Decimal("1.1"))
    .naming(path="apply.items[0].doc"),
    "refund.beyond_credit": (_refund(("{memo}", "40.01")).naming(path=_AT_APPLY),
                             _refund(("{payment}", "40.01")).naming(path=_AT_APPLY),
                             _refund(("{memo}", "0")).naming(path=_AT_APPLY)),
})  # fmt: skip
