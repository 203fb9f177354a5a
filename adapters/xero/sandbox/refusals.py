"""What the Xero sandbox refuses: one row per rule, with the HTTP status, Xero's error type
(or, for a 429, the ``X-Rate-Limit-Problem``), the message and where the rule is documented.
``errors.py`` shapes the answers. "The spec" is Xero's OpenAPI spec
(``specs/xero_accounting.yaml``, XeroAPI/Xero-OpenAPI v16.1.0 @e952d0b); "ours" marks a
message worded by the sandbox (no public source quotes Xero's) under Xero's status and type.
``EXAMPLES``: a request each rule refuses (paths below ``/api.xro/2.0``; writes with
``summarizeErrors=true``, so an element's refusal is a 400), fired by
``tests/contracts/refusal_examples_section.py``; the set-ups named by ``given`` are
``tests/unit/test_xero_sandbox.py``'s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

OURS = "message: ours"
UNCITED = "message: Xero-like, but no public source quoted"
AUTH = (
    "a problem object with the reason as Detail: xero-node #435, Databricks' Xero "
    "troubleshooting page"
)
LIMITS = (
    "developer.xero.com/faq/limits: X-Rate-Limit-Problem names the limit, Retry-After "
    "(whole seconds) for the minute and day limits; the body is the sandbox's own problem object"
)
BINDING = (
    "a body that does not bind: Xero's PostDataInvalidException (Xero answers quoted in SDK "
    "tests and issue threads)"
)
SCHEMA = f"{BINDING}; checked against the spec's requestBody schema (schema.py)"
REQUEST = f"the operation's request body in the spec; {OURS}"
QUERY = (
    "where / order beyond the grammar the sandbox reads (where.py): Xero's "
    f"QueryParseException; {OURS}"
)
ID_OR_NUMBER = f"a record named by its id (POST updates it, the spec's update-or-create); {OURS}"
STRICT_RATE = (
    "stricter than Xero on purpose, so a rate nobody chose never passes unnoticed: Xero would "
    "use the XE.com day rate (the spec's Invoice.CurrencyRate: \"If no rate is specified, the "
    'XE.com day rate is used"; Payment.CurrencyRate: "Only used for non base currency '
    'invoices and credit notes"; developer.xero.com multicurrency best practice, quoted in '
    "crbnos/carbon PR #1547: never default CurrencyRate to 1)"
)
PAYMENT = f"the spec's Payment: an AUTHORISED Invoice, an Account, an Amount; {OURS}"
DELETE_PAYMENT = f"the spec's deletePayment (POST /Payments/{{PaymentID}}, Status DELETED); {OURS}"
ALLOCATION = (
    "the spec's Allocation (Amount, Invoice and Date required): an AUTHORISED credit note or "
    "overpayment with enough RemainingCredit, to an AUTHORISED invoice of the same contact and "
    f"currency, within its amount due; {OURS}"
)
OVERPAYMENT = (
    'developer.xero.com/documentation/api/overpayments ("Create Overpayments using the '
    'BankTransactions endpoint"): a RECEIVE-OVERPAYMENT holds money for the customer; '
    "other bank transaction types are not modelled"
)
STATUS = (
    "statuses: a new document is DRAFT, SUBMITTED or AUTHORISED; DRAFT / SUBMITTED may become "
    "AUTHORISED or DELETED; AUTHORISED may be edited or VOIDED while nothing is paid or "
    "credited against it; PAID, VOIDED and DELETED are final"
)
LINE = "the spec's LineItem"
ITEM_LINE = (
    "ValidationException as integrations quote it: Fooman's \"Item Code 'X' is not valid\" "
    "article (magento2-support.fooman.co.nz); Digital Zest's Xero errors page (\"ErrorNumber: 10 "
    "ErrorType: ValidationException ... Detail: Item code 'XXXX' is not valid\")"
)


#: a ValidationException (400, ErrorNumber 10) of one element, or of the request
_invalid = answered(400, "ValidationException")
#: a PostDataInvalidException (400, ErrorNumber 14)
_unbound = answered(400, "PostDataInvalidException")


def _query(rule: str, message: str) -> Refusal:
    """A QueryParseException (400, ErrorNumber 16)."""
    return Refusal(rule, 400, "QueryParseException", message, QUERY)


def _limit(problem: str, source: str) -> Refusal:
    detail = f"The {problem} rate limit was exceeded"
    return Refusal(f"limit.{problem}", 429, problem, detail, f"{LIMITS}; {source}")


REFUSALS = RefusalTable(
    "xero",
    # ------------------------------------------------------------ gates
    Refusal("auth.token_rejected", 401, "TokenExpired", "TokenExpired", AUTH),
    Refusal("auth.token_missing", 401, "AuthenticationUnsuccessful", "AuthenticationUnsuccessful",
            AUTH),
    Refusal("auth.tenant_unknown", 403, "AuthorizationUnsuccessful", "AuthorizationUnsuccessful",
            AUTH),
    _limit("concurrent", "5 calls in progress per tenant"),
    _limit("minute", "60 calls per minute per tenant (Xero's windows are fixed, ours slide)"),
    _limit("day", "5,000 calls per day per tenant"),
    _limit("appminute", "10,000 calls per minute per app, across tenants"),
    Refusal("record.not_found", 404, "", "The resource you're looking for cannot be found",
            "Xero's plain-text 404: Xero-OpenAPI #163"),
    # ------------------------------------------------- request, bodies
    _unbound("body.not_json", "The request body is not valid JSON", f"{BINDING}; {OURS}"),
    _unbound("body.format", "Error converting value {value!r} to type '{format}'. Path '{path}'.",
             SCHEMA),
    _unbound("body.enum",
             "Error converting value {value!r}: not one of the accepted values. Path '{path}'.",
             SCHEMA),
    _unbound("body.schema", "Error converting value: {problem}. Path '{path}'.", SCHEMA),
    _unbound("body.date_invalid",
             "The string '{value}' is not a valid AllXsd value. Path '{path}'.",
             "dates in the forms Xero accepts (2019-03-12, 2019-03-12T00:00:00, "
             f"/Date(1552348800000+0000)/); {BINDING}"),
    _invalid("idempotency.key_too_long", "The Idempotency-Key must be at most {limit} characters",
             f"the spec's Idempotency-Key header: 128 characters max; {OURS}"),
    _invalid("idempotency.key_reused",
             "This Idempotency-Key was already used for a different request",
             'developer.xero.com idempotent requests ("keys are stored for 6 minutes from the time '
             'of the first call"); the sandbox refuses a key sent again with a different request '
             f"(method, path, query or body); {OURS}"),
    _invalid("request.elements_missing",
             "The request must hold {collection} with at least one element", REQUEST),
    _invalid("request.one_element", "POST to one {entity} takes exactly one element", REQUEST),
    _invalid("request.element_not_object", "Every element of {collection} must be an object",
             REQUEST),
    _invalid("allocation.none", "Allocations must hold at least one allocation", REQUEST),
    _invalid("request.since_invalid", "If-Modified-Since {header!r} is not a date",
             f"the spec's If-Modified-Since header; {OURS}"),
    _invalid("request.paging_invalid", "{name} must be a whole number of 1 or more, not {value!r}",
             f"the spec's page and pageSize parameters; {OURS}"),
    _query("order.invalid", "cannot order by {text!r}"),
    _query("where.character", "unexpected character at position {position} of the where clause"),
    _query("where.ends_early", "the where clause ends too early"),
    _query("where.expected", "expected {token!r} in the where clause"),
    _query("where.unexpected", "unexpected {token!r} in the where clause"),
    _query("where.comparison_missing", "expected a comparison after {path}"),
    _query("where.method_argument", "{method} takes a string"),
    _query("where.field_missing", "expected a field name, found {token!r}"),
    _query("where.value_missing", "expected a value, found {token!r}"),
    _query("where.not_a_value", "{token!r} is not a value"),
    _query("where.argument_count", "wrong number of arguments"),
    _query("where.datetime_parts", "DateTime takes a year, month and day (and an optional time)"),
    _query("where.datetime_invalid", "DateTime is not a date: {reason}"),
    # ---------------------------------------------------------- records
    _invalid("amount.not_a_number", "{field} must be a number",
             f"the spec's number fields; {OURS}"),
    _invalid("record.id_unknown", "The {entity} with {field} {id} does not exist", ID_OR_NUMBER),
    _invalid("contact.name_empty", "Contact Name cannot be empty.",
             "the spec's Contact (Name required); Xero's answer quoted in"
             " waynerobinson/xeroizer#380"),
    _invalid("contact.name_taken",
             "The contact name {name} is already assigned to another contact. The contact name "
             "must be unique across all active contacts.",
             "unique ignoring case among ACTIVE contacts; message: the spec's Contacts examples"),
    _invalid("contact.number_taken",
             "The contact number {number} is already assigned to another contact.",
             'the spec\'s ContactNumber ("used to identify contacts in external systems");'
             ' a number retrieves "that unique contact" (XeroAPI/xero-php-oauth2#199); ' + OURS),
    _invalid("contact.email_invalid", "Email address must be valid.",
             "the spec's Contact.EmailAddress; message: Xero's, as quoted in SDK threads"),
    _invalid("contact.missing", "A Contact (ContactID, ContactNumber or Name) is required",
             f"the spec's Invoice / CreditNote / BankTransaction: Contact required; {OURS}"),
    _invalid("contact.archived", "The contact {name} is archived and cannot be used",
             f"the sandbox's own check, no documented source; {OURS}"),
    _invalid("contact.id_unknown", "The contact with ContactID {id} does not exist", ID_OR_NUMBER),
    _invalid("contact.number_unknown", "No contact has the ContactNumber {number}",
             f"a document's Contact named by ContactNumber; {OURS}"),
    # -------------------------------------------------------- documents
    _invalid("document.type_unsupported", "The sandbox supports {entity} Type {type} only",
             "ACCREC invoices and ACCRECCREDIT credit notes only: other types are not modelled"),
    _invalid("document.status_new", "A new document cannot have the status {status}",
             f"{STATUS}; {OURS}"),
    _invalid("document.status_change", "Invoice not of valid status for modification",
             f"{STATUS}; {UNCITED}"),
    _invalid("document.settled",
             "This document cannot be edited as it has a payment or credit note allocated to it.",
             f"{STATUS}; {UNCITED}"),
    _invalid("document.number_taken", "Invoice # must be unique.",
             "an InvoiceNumber names one live invoice; message: the spec's Invoices examples"),
    _invalid("document.lines_missing", "One or more line items must be specified",
             f"{LINE}s of a document or an overpayment; {UNCITED}"),
    _invalid("document.total_negative", "The document total cannot be negative",
             f"the sandbox's own check, no documented source; {OURS}"),
    _invalid("document.rate_missing",
             "A {currency} document needs a CurrencyRate: the sandbox never assumes one (Xero "
             "would use the XE.com day rate)", STRICT_RATE),
    _invalid("document.rate_not_positive", "CurrencyRate must be greater than zero",
             f"the spec's CurrencyRate of a document or payment; {OURS}"),
    _invalid("line.not_object", "A line item must be an object", f"{LINE}; {OURS}"),
    _invalid("line.description_empty", "Description needs to be at least 1 char long",
             f"{LINE}.Description, whose description in the spec gives the message"),
    _invalid("line.amount_mismatch",
             "The LineAmount {sent} does not equal Quantity x UnitAmount less discount ({exact})",
             f"{LINE}: LineAmount is Quantity x UnitAmount less the discount, within half a cent; "
             + OURS),
    _invalid("line.discount_on_credit_note", "Discounts are not supported on credit notes",
             f'{LINE}.DiscountRate / DiscountAmount: "ACCPAY invoices and credit notes in Xero do '
             f'not support discounts"; {OURS}'),
    _invalid("line.discount_twice",
             "A line item takes a DiscountRate or a DiscountAmount, not both", f"{LINE}; {OURS}"),
    _invalid("line.discount_too_large",
             "The discount cannot exceed the line's Quantity x UnitAmount", f"{LINE}; {OURS}"),
    _invalid("line.account_invalid", "Account code '{code}' is not a valid code for this document.",
             f"a line of a document other than a DRAFT needs an ACTIVE AccountCode; {UNCITED}"),
    _invalid("tax_type.unknown",
             "The TaxType code '{tax_type}' does not exist or cannot be used with this type of "
             "transaction.",
             f"a line's or an item's TaxType must exist (the spec's TaxType); {UNCITED}"),
    _invalid("line.item_unknown", "Item code '{code}' is not valid", ITEM_LINE),
    # ----------------------------------------------------- e-mailing an invoice
    _invalid("email.status_invalid",
             "Only an ACCREC invoice that is SUBMITTED, AUTHORISED or PAID can be emailed, not"
             " one that is {status}",
             "developer.xero.com invoices#emailing-an-invoice as quoted by dcblogdev/laravel-xero"
             " (Invoices.php canEmail) and Zynk's Xero e-mail docs; " + OURS),
    _invalid("email.no_address",
             "The contact {name} has no email address, nor a contact person included in emails",
             "undocumented: the sandbox's own choice. Xero e-mails the contact's EmailAddress and"
             " its ContactPersons with IncludeInEmails (laravel-xero getEmailRecipients, Zynk);"
             " its answer when there is none is not documented; " + OURS),
    # ------------------------------------------------------------ items
    _invalid("item.code_missing", "Price List Item Code must be supplied",
             "the spec's Item (Code required); message quoted in calcinai/xero-php#528"),
    _invalid("item.code_taken", "Price List Item with Code '{code}' already exists",
             "a Code is unique ignoring case; message: the spec's createItems example and "
             "calcinai/xero-php#528"),
    _invalid("item.account_invalid",
             "Account code '{code}' does not exist or cannot be applied to Items.",
             "the spec's Item SalesDetails / PurchaseDetails AccountCode; message quoted by "
             "FieldInsight's Xero troubleshooting page (help.fieldinsight.com)"),
    # --------------------------------------------------------- payments
    _invalid("payment.unchangeable", "A payment cannot be changed, only deleted", DELETE_PAYMENT),
    _invalid("payment.delete_only", "A payment can only be changed to Status DELETED",
             DELETE_PAYMENT),
    _invalid("payment.already_deleted", "This payment has already been deleted", DELETE_PAYMENT),
    _invalid("payment.one_document", "A payment is made against one document", PAYMENT),
    _invalid("payment.invoice_missing", "A payment needs an Invoice (InvoiceID or InvoiceNumber)",
             PAYMENT),
    _invalid("payment.invoice_unknown", "The invoice this payment is for does not exist", PAYMENT),
    _invalid("payment.credit_unknown", "The {entity} this payment is for does not exist", PAYMENT),
    _invalid("payment.account_missing",
             "A payment needs an Account (AccountID or Code) of the chart", PAYMENT),
    _invalid("payment.account_unusable",
             "Account {code} cannot take payments: use a BANK account or one with payments enabled",
             f"{PAYMENT} (of type BANK or with payments enabled)"),
    _invalid("refund.account_unusable", "Account {code} cannot take payments",
             f"{PAYMENT} (of type BANK or with payments enabled)"),
    _invalid("payment.amount_not_positive", "The payment amount must be greater than zero",
             PAYMENT),
    _invalid("payment.document_not_authorised",
             "Payments can only be applied to AUTHORISED documents", PAYMENT),
    _invalid("payment.exceeds_due",
             "Payment amount exceeds the amount outstanding on this document",
             "within the invoice's AmountDue or the credit's RemainingCredit; message: the spec's "
             "Payments examples"),
    _invalid("payment.rate_missing",
             "A payment of a {currency} document needs a CurrencyRate: the sandbox never lets a "
             "rate be chosen for you (Xero would apply the XE.com day rate)", STRICT_RATE),
    # ---------------------------------------------------------- credits
    _invalid("allocation.invoice_unknown", "The invoice to allocate to does not exist", ALLOCATION),
    _invalid("allocation.amount_not_positive", "The allocation amount must be greater than zero",
             ALLOCATION),
    _invalid("allocation.credit_not_authorised", "Only an AUTHORISED {credit} can be allocated",
             ALLOCATION),
    _invalid("allocation.invoice_not_authorised",
             "{a_credit} can only be allocated to an AUTHORISED invoice", ALLOCATION),
    _invalid("allocation.contacts_differ",
             "The {credit} and the invoice belong to different contacts", ALLOCATION),
    _invalid("allocation.currencies_differ",
             "The {credit} and the invoice are in different currencies", ALLOCATION),
    _invalid("allocation.exceeds_credit",
             "The allocation amount exceeds the {credit}'s remaining credit", ALLOCATION),
    _invalid("allocation.exceeds_due",
             "The allocation amount exceeds the amount due on the invoice", ALLOCATION),
    _invalid("bank_transaction.type_unsupported",
             "The sandbox models BankTransactions of Type RECEIVE-OVERPAYMENT only, not {type}",
             OVERPAYMENT),
    _invalid("bank_transaction.unchangeable",
             "The sandbox does not model changes to bank transactions", OVERPAYMENT),
    _invalid("overpayment.account_not_bank", "Account {code} is not a bank account",
             f"{OVERPAYMENT}; its BankAccount is a BANK account of the chart; {OURS}"),
    _invalid("overpayment.taxed",
             "An overpayment holds money for the customer: LineAmountTypes NoTax",
             f"{OVERPAYMENT}, so the sandbox takes LineAmountTypes NoTax only; {OURS}"),
    _invalid("overpayment.total_not_positive", "The overpayment total must be greater than zero",
             f"{OVERPAYMENT}; {OURS}"),
    _invalid("overpayment.rate_missing", "A {currency} overpayment needs a CurrencyRate above zero",
             f'"Setting currency is only supported on overpayments" (the spec); {STRICT_RATE}'),
)  # fmt: skip


# ------------------------------------------------------------------------ examples

_SUMMARIZE = (("summarizeErrors", "true"),)
_NO_ID = "0d9b1f4e-2c3a-4b5d-8e6f-7a8b9c0d1e2f"


def _write(
    collection: str, element: object, method: str = "PUT", path: str = "", given: str = "book"
) -> Example:
    return Example(
        method, path or f"/{collection}", {collection: [element]}, _SUMMARIZE, given=given
    )


def _line(unit: str = "10.00", **fields: Any) -> dict[str, Any]:
    return {
        "Description": "Service",
        "Quantity": Decimal(1),
        "UnitAmount": Decimal(unit),
        "TaxAmount": Decimal(0),
        "AccountCode": "200",
        "TaxType": "NONE",
        **fields,
    }


def _document(kind: str, **fields: Any) -> dict[str, Any]:
    element = {
        "Type": kind,
        "Contact": {"ContactID": "{contact}"},
        "Date": "2026-03-01",
        "Status": "AUTHORISED",
        "LineItems": [_line()],
        **fields,
    }
    return {k: v for k, v in element.items() if v is not None}


def _invoice(**fields: Any) -> Example:
    return _write("Invoices", _document("ACCREC", **fields))


def _note(**fields: Any) -> Example:
    return _write("CreditNotes", _document("ACCRECCREDIT", **fields))


def _pay(amount: str = "10.00", target: object = None, **fields: Any) -> Example:
    element = {
        "Invoice": {"InvoiceID": "{invoice}"} if target is None else target,
        "Account": {"Code": "090"},
        "Date": "2026-03-15",
        "Amount": Decimal(amount),
        **fields,
    }
    return _write("Payments", {k: v for k, v in element.items() if v is not None})


def _receive(amount: str = "5.00", **fields: Any) -> Example:
    element = {
        "Type": "RECEIVE-OVERPAYMENT",
        "Contact": {"ContactID": "{contact}"},
        "BankAccount": {"Code": "090"},
        "Date": "2026-03-15",
        "LineAmountTypes": "NoTax",
        "LineItems": [{"Description": "Paid twice", "LineAmount": Decimal(amount)}],
        **fields,
    }
    return _write("BankTransactions", element)


def _allocate(parent: str, amount: str, invoice: str = "{invoice}") -> Example:
    element = {"Invoice": {"InvoiceID": invoice}, "Date": "2026-03-10", "Amount": Decimal(amount)}
    return _write("Allocations", element, path=f"{parent}/Allocations")


def _contact(**fields: Any) -> Example:
    return _write("Contacts", {"Name": "Bolt", **fields})


def _item(**fields: Any) -> Example:
    return _write("Items", {"Code": "SVC-2", **fields})


def _where(where: str) -> Example:
    return Example("GET", "/Contacts", params=(("where", where),), given="book")


def _header(name: str, value: str) -> Example:
    return Example("GET", "/Contacts", headers=((name, value),))


_DELETE = {"Status": "DELETED"}
_SCHEMA_FIRST = (
    "not reachable over HTTP: the spec's request schema refuses such a body first (body.schema,"
    " whose examples send it); kept as the rules' own guard"
)
_CREDIT = "/CreditNotes/{note}"

EXAMPLES = Examples(REFUSALS, {
    "auth.token_rejected": (_header("Authorization", "Bearer nope"),
                            Example("GET", "/Contacts", given="expired")),
    "auth.token_missing": _header("Authorization", ""),
    "auth.tenant_unknown": _header("Xero-Tenant-Id", _NO_ID),
    "limit.concurrent": Exempt("needs requests in flight: test_the_concurrent_limit_counts_"
                               "calls_in_flight_and_gives_no_retry_after fires it on XeroLimits"),
    "limit.minute": Example("GET", "/Contacts", given="throttled"),
    "limit.day": Exempt("needs a sandbox whose day window allows n requests: TestXeroDayWindow"),
    "limit.appminute": Exempt("needs a sandbox whose app-wide minute window (all tenants) is"
                              " spent; no test fires it yet"),
    "record.not_found": Example("GET", f"/Invoices/{_NO_ID}"),
    "body.not_json": Example("PUT", "/Contacts", "{not json"),
    "body.format": _invoice(Contact={"ContactID": "987654"}),
    "body.enum": _invoice(Status="APPROVED").saying(value="APPROVED", path="Invoices[0].Status"),
    "body.schema": (_write("Contacts", {"Name": 5}), _write("Contacts", "x"),
                    _invoice(LineItems=["x"]), _pay("1", Amount="ten"),
                    _write("Items", {"Name": "Audit"}), _write("Items", {"Code": "X" * 31})),
    "body.date_invalid": _invoice(Date="yesterday"),
    "idempotency.key_too_long": Example("PUT", "/Contacts", {"Contacts": [{"Name": "A"}]},
                                        headers=(("Idempotency-Key", "k" * 129),)),
    "idempotency.key_reused": Example("PUT", "/Contacts", {"Contacts": [{"Name": "Changed"}]},
                                      headers=(("Idempotency-Key", "{key}"),), given="book"),
    "request.elements_missing": Example("PUT", "/Contacts", {"Contacts": []}),
    "request.one_element": Example("POST", "/Contacts/{contact}", {
        "Contacts": [{"Name": "A"}, {"Name": "B"}]}, given="book"),
    "request.element_not_object": Exempt(_SCHEMA_FIRST),
    "allocation.none": Example("PUT", _CREDIT + "/Allocations", {"Allocations": []},
                               given="book"),
    "request.since_invalid": _header("If-Modified-Since", "yesterday"),
    "request.paging_invalid": Example("GET", "/Contacts", params=(("page", "0"),)),
    "order.invalid": Example("GET", "/Contacts", params=(("order", "Name SIDEWAYS"),)),
    "where.character": _where('Name=="a" $'),
    "where.ends_early": _where("Name=="),
    "where.expected": _where('Name.Contains("a", "b")'),
    "where.unexpected": _where('Name=="a" "b"'),
    "where.comparison_missing": _where('Name AND Name=="a"'),
    "where.method_argument": _where("Name.Contains(5)"),
    "where.field_missing": _where('=="a"'),
    "where.value_missing": _where("Name==)"),
    "where.not_a_value": _where("Name==abc"),
    "where.argument_count": _where('ContactID==Guid("a", "b")'),
    "where.datetime_parts": _where("UpdatedDateUTC>DateTime(2026, 1)"),
    "where.datetime_invalid": _where("UpdatedDateUTC>DateTime(2026, 13, 1)"),
    "amount.not_a_number": Exempt(_SCHEMA_FIRST),
    "record.id_unknown": (_write("Contacts", {"ContactID": _NO_ID, "Name": "X"}),
                          _write("Items", {"ItemID": _NO_ID, "Code": "X"}, method="POST")),
    "contact.name_empty": _contact(Name=""),
    "contact.name_taken": _contact(Name="ACME"),
    "contact.number_taken": _contact(ContactNumber="CUST-1"),
    "contact.email_invalid": _contact(EmailAddress="x"),
    "contact.missing": _invoice(Contact={}),
    "contact.archived": _invoice(Contact={"ContactID": "{archived}"}),
    "contact.id_unknown": _invoice(Contact={"ContactID": _NO_ID}),
    "contact.number_unknown": _invoice(Contact={"ContactNumber": "NOPE"}),
    "document.type_unsupported": _invoice(Type="ACCPAY"),
    "document.status_new": _invoice(Status="VOIDED"),
    "document.status_change": _write("Invoices", {"Status": "VOIDED"}, "POST",
                                     "/Invoices/{voided}"),
    "document.settled": _write("Invoices", {"Status": "VOIDED"}, "POST", "/Invoices/{paid}"),
    "document.number_taken": _invoice(InvoiceNumber="inv-7"),
    "document.lines_missing": (_invoice(LineItems=[]), _receive(LineItems=[])),
    "document.total_negative": _invoice(LineItems=[_line("-10.00")]),
    "document.rate_missing": _invoice(CurrencyCode="EUR"),
    "document.rate_not_positive": (_invoice(CurrencyCode="EUR", CurrencyRate=Decimal(0)),
                                   _pay(target={"InvoiceID": "{euro}"}, CurrencyRate=Decimal(0))),
    "line.not_object": Exempt(_SCHEMA_FIRST),
    # an invoice line with no description but an amount is taken
    "line.description_empty": (
        _invoice(LineItems=[{"Description": "", "Quantity": Decimal(1), "AccountCode": "200"}]),
        _receive(LineItems=[{"Description": "", "LineAmount": Decimal(5)}])),
    "line.amount_mismatch": _invoice(LineItems=[_line(LineAmount=Decimal("11.00"))]),
    "line.discount_on_credit_note": _note(LineItems=[_line("5.00", DiscountRate=Decimal(10))]),
    "line.discount_twice": _invoice(LineItems=[_line(DiscountRate=Decimal(10),
                                                     DiscountAmount=Decimal(1))]),
    "line.discount_too_large": _invoice(LineItems=[_line(DiscountAmount=Decimal(20))]),
    "line.account_invalid": _invoice(LineItems=[_line(AccountCode="999")]),
    "tax_type.unknown": (_invoice(LineItems=[_line(TaxType="VAT9")]),
                         _item(SalesDetails={"UnitPrice": Decimal(1), "AccountCode": "200",
                                             "TaxType": "VAT9"})),
    "line.item_unknown": (_invoice(LineItems=[_line(ItemCode="NOPE"), _line("5.00")]),
                          _note(LineItems=[_line("5.00", ItemCode="NOPE")])),
    "email.status_invalid": Example("POST", "/Invoices/{draft}/Email", {}, given="book"),
    "email.no_address": Example("POST", "/Invoices/{invoice}/Email", {}, given="book"),
    "item.code_missing": Exempt(_SCHEMA_FIRST),
    "item.code_taken": _item(Code="svc-1"),
    "item.account_invalid": _item(SalesDetails={"UnitPrice": Decimal(1), "AccountCode": "999",
                                                "TaxType": "OUTPUT"}),
    "payment.unchangeable": _write("Payments", {"PaymentID": "{payment}",
                                                "Amount": Decimal(5)}),
    "payment.delete_only": _write("Payments", {"Status": "AUTHORISED"}, "POST",
                                  "/Payments/{payment}"),
    "payment.already_deleted": _write("Payments", _DELETE, "POST", "/Payments/{deleted}"),
    "payment.one_document": _pay(target={"InvoiceID": "{invoice}"},
                                 CreditNote={"CreditNoteID": "{note}"}),
    "payment.invoice_missing": _pay(target={}),
    "payment.invoice_unknown": _pay(target={"InvoiceID": _NO_ID}),
    "payment.credit_unknown": _pay(target=None, Invoice=None,
                                   CreditNote={"CreditNoteID": _NO_ID}),
    "payment.account_missing": _pay(Account=None),
    "payment.account_unusable": _pay(Account={"Code": "200"}),
    "refund.account_unusable": _pay(Invoice=None, CreditNote={"CreditNoteID": "{note}"},
                                    Account={"Code": "200"}),
    "payment.amount_not_positive": _pay("0"),
    "payment.document_not_authorised": _pay(target={"InvoiceID": "{draft}"}),
    "payment.exceeds_due": (_pay("100.01"),
                            _pay("150.01", Invoice=None,
                                 Overpayment={"OverpaymentID": "{overpayment}"}),
                            _pay("30.01", Invoice=None, CreditNote={"CreditNoteID": "{note}"})),
    # Payment.CurrencyRate: "Only used for non base currency invoices and credit notes"
    "payment.rate_missing": (_pay(target={"InvoiceID": "{euro}"}),
                             _pay(Invoice=None, CreditNote={"CreditNoteID": "{euro_note}"})),
    "allocation.invoice_unknown": _allocate(_CREDIT, "10", _NO_ID),
    "allocation.amount_not_positive": _allocate(_CREDIT, "0"),
    "allocation.credit_not_authorised": _allocate("/CreditNotes/{draft_note}", "10"),
    "allocation.invoice_not_authorised": _allocate(_CREDIT, "10", "{draft}"),
    "allocation.contacts_differ": _allocate(_CREDIT, "10", "{others}"),
    "allocation.currencies_differ": _allocate(_CREDIT, "10", "{euro}"),
    "allocation.exceeds_credit": _allocate(_CREDIT, "31"),
    "allocation.exceeds_due": _allocate("/Overpayments/{overpayment}", "101"),
    "bank_transaction.type_unsupported": _receive(Type="SPEND-OVERPAYMENT"),
    "bank_transaction.unchangeable": _receive(BankTransactionID="{overpayment}"),
    "overpayment.account_not_bank": _receive(BankAccount={"Code": "200"}),
    "overpayment.taxed": _receive(LineAmountTypes="Exclusive"),
    "overpayment.total_not_positive": _receive("0"),
    "overpayment.rate_missing": _receive(CurrencyCode="EUR"),
})  # fmt: skip
