"""Everything the Odoo sandbox refuses: one row per rule, with the HTTP status JSON-2
answers, the exception name Odoo reports (``code``: the JSON-2 body's ``name``; over
XML-RPC it picks the ``faultCode``, see ``errors.py``), the message and where each comes
from. The sandbox's checks raise by rule name through ``errors.refuse``.

Sources, as marked below: Odoo 19's ``external_api.rst`` ("Response": 4xx/5xx with
``{"name", "message", "arguments", "context", "debug"}``) and ``addons/rpc/controllers/
json2.py`` (the status is the exception's: werkzeug ``HTTPException.code``, ``UserError``
and its subclasses 422, ``MissingError`` 404, ``AccessError``/``AccessDenied`` 403, anything
else 500); Odoo's own modules where the message is quoted from them; "sandbox wording"
where the status and exception are Odoo's but the message was not checked against Odoo's
source; "stricter than Odoo" where Odoo accepts what the sandbox does not model.

``EXAMPLES``: a JSON-2 call each rule refuses (``/json/2/<model>/<method>`` with its named
arguments), fired by ``tests/contracts/refusal_examples_section.py``; the set-ups named by
``given`` are ``tests/unit/test_odoo_sandbox.py``'s.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, Exempt
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

JSON2 = "external_api.rst 'Response'; addons/rpc/controllers/json2.py"
WORDING = "sandbox wording"
STRICTER = "stricter than Odoo on purpose: the sandbox does not model"
ORM = "Odoo's ORM raises ValueError (HTTP 500, fault 1 with a traceback); " + WORDING
MOVE = "addons/account/models/account_move.py"
REGISTER = "addons/account/wizard/account_payment_register.py"
KEYS = "external_api.rst 'Programmatic Key Management'"

BAD_REQUEST = "werkzeug.exceptions.BadRequest"
NOT_FOUND = "werkzeug.exceptions.NotFound"
UNPROCESSABLE = "werkzeug.exceptions.UnprocessableEntity"
USER = "odoo.exceptions.UserError"
VALIDATION = "odoo.exceptions.ValidationError"
VALUE = "builtins.ValueError"

#: the answers several rules share (status, error code)
USER_ERROR = answered(422, USER)
VALUE_ERROR = answered(500, VALUE)
UNPROCESSABLE_ENTITY = answered(422, UNPROCESSABLE)
MALFORMED_REQUEST = answered(400, BAD_REQUEST)

REFUSALS = RefusalTable(
    "odoo",
    # ------------------------------------------------------ gates and the request itself
    Refusal("auth.invalid_apikey", 401, "werkzeug.exceptions.Unauthorized", "Invalid apikey",
            f"{JSON2}: a missing, unknown or expired bearer API key"),
    Refusal("auth.access_denied", 403, "odoo.exceptions.AccessDenied", "Access Denied",
            "addons/rpc/controllers/xmlrpc.py: fault 3; XML-RPC execute_kw with a uid and API key"
            " that do not match, res.users.apikeys generate without a valid key"),
    Refusal("limit.requests", 429, "werkzeug.exceptions.TooManyRequests",
            "429 Too Many Requests: the sandbox's request limit was reached",
            "Odoo publishes no request limit: the sandbox answers per_second/per_minute per"
            " database with Retry-After, as a proxy in front of Odoo would (HTTP-level on XML-RPC"
            " too)"),
    Refusal("server.injected", 500, "werkzeug.exceptions.InternalServerError",
            "internal server error (injected by the sandbox)",
            "an injected failure in front of Odoo, with the injected status; HTTP-level on both"
            " transports"),
    Refusal("request.no_json2", 404, NOT_FOUND, "Odoo {serie} has no /json/2 route (new in 19.0)",
            "external_api.rst 'new JSON-2 API' (odoo/documentation c5c1004): 17 and 18 answer 404"
            " as for any unknown route; " + WORDING),
    Refusal("request.unknown_database", 404, NOT_FOUND, "database {name!r} not found",
            f"{JSON2}: X-Odoo-Database (and XML-RPC's db argument); {WORDING}"),
    MALFORMED_REQUEST("request.not_json", "expected Content-Type: application/json",
            f"{JSON2}: Content-Type application/json is required; {WORDING}"),
    MALFORMED_REQUEST("request.bad_json", "could not parse the body as json: {error}",
            f"{JSON2}; {WORDING}"),
    MALFORMED_REQUEST("request.not_object",
            "could not parse the body, expecting a json object", f"{JSON2}; {WORDING}"),
    UNPROCESSABLE_ENTITY("request.context_not_object", "context must be an object",
            f"{JSON2}; {WORDING}"),
    MALFORMED_REQUEST("request.not_xmlrpc", "not an XML-RPC payload: {error}",
            "the body is no XML-RPC methodCall (sandbox/wire.py); fault 1 with a traceback, as"
            " Odoo answers an exception in xmlrpc.client.loads; " + WORDING),
    MALFORMED_REQUEST("request.no_method_name", "an XML-RPC methodCall needs a methodName",
            "the XML-RPC specification: a methodCall holds a methodName; " + WORDING),
    UNPROCESSABLE_ENTITY("request.execute_kw_shape",
            "execute_kw takes a list of arguments and a dict of keywords",
            "external_rpc_api.rst: execute_kw(db, uid, password, model, method, args, kwargs);"
            " " + WORDING),
    Refusal("rpc.unknown_service_method", 500, "builtins.KeyError",
            "No such method {method!r} on {service}",
            "/xmlrpc/2/common and /object dispatch by method name (fault 1); " + WORDING),
    Refusal("rpc.unmarshallable_result", 500, "builtins.TypeError", "{error}",
            "addons/rpc/controllers/xmlrpc.py dumps with allow_none=False: a method returning"
            " None (account.payment.action_post) ran and committed, but its answer is fault 1"
            " 'TypeError: cannot marshal None unless allow_none is enabled'"),
    # ---------------------------------------------------------- calling a model method
    Refusal("call.unknown_model", 404, NOT_FOUND, "the model {model!r} does not exist",
            f"{JSON2}: an unknown model is a 404; {WORDING}"),
    Refusal("call.unknown_method", 404, NOT_FOUND,
            "The method {method!r} does not exist on the model {model!r}",
            f"{JSON2}: an unknown method is a 404"),
    UNPROCESSABLE_ENTITY("call.ids_to_model_method", "cannot call {model}.{method} with ids",
            f"{JSON2}: ids given to an @api.model method are a 422; {WORDING}"),
    UNPROCESSABLE_ENTITY("call.unexpected_keyword",
            "{method}() got an unexpected keyword argument {name!r}",
            f"{JSON2}: arguments that do not bind to the method's signature are a 422 (Python's"
            " TypeError wording)"),
    UNPROCESSABLE_ENTITY("call.missing_argument", "missing a required argument: {name!r}",
            f"{JSON2}: as above (inspect.Signature.bind's wording)"),
    UNPROCESSABLE_ENTITY("call.too_many_positional",
            "{method}() takes {count} positional arguments",
            "execute_kw's positional args that do not bind, as over JSON-2; " + WORDING),
    VALUE_ERROR("call.not_singleton", "Expected singleton: {model}{ids}",
            "odoo/models.py ensure_one() (fault 1)"),
    VALUE_ERROR("call.ids_not_integers", "record ids must be integers, not {value!r}", ORM),
    VALUE_ERROR("call.fields_not_list", "fields must be a list of field names", ORM),
    VALUE_ERROR("call.vals_list_not_list", "vals_list must be a list of objects", ORM),
    Refusal("record.missing", 404, "odoo.exceptions.MissingError",
            "Record does not exist or has been deleted.\n(Record: {model}({ids}), User: 2)",
            "odoo/orm/fields.py Field.__get__ reading a record that does not exist (fault 2); also"
            " an invoice line's product_id naming no product (its precomputed fields read it:"
            " _compute_product_uom_id…); the whole call is rolled back"),
    # ------------------------------------------------------------ values and searches
    VALUE_ERROR("values.not_object", "values for {model} must be an object", ORM),
    VALUE_ERROR("values.invalid_field", "Invalid field {name!r} on model {model!r}",
            "odoo/models.py in create, write, read and domains (fault 1); also a field the release"
            " played does not have (versions.py: OpenUpgrade 18.0.1.3 account analysis)"),
    VALUE_ERROR("values.wrong_value", "Wrong value for {field}: {value!r}",
            "Odoo's fields: 'Wrong value for %s: %r' converting a selection or many2one value"
            " (fault 1)"),
    VALUE_ERROR("values.not_a_number", "{name}: {value!r} is not a number", ORM),
    VALUE_ERROR("values.not_a_date", "{name}: {value!r} is not a date (YYYY-MM-DD)", ORM),
    VALUE_ERROR("values.line_not_object",
            "invoice line values must be an object, not {vals!r}", ORM),
    VALUE_ERROR("values.x2many_commands", "Invalid x2many commands {value!r}", ORM),
    VALUE_ERROR("values.x2many_command", "Invalid x2many command {command!r} for invoice_line_ids",
            f"{ORM}; the sandbox takes [0, 0, vals], [1, id, vals], [2, id] and [5]"),
    VALUE_ERROR("values.many2many_command", "Invalid many2many command {item!r} for tax_ids",
            f"{ORM}; the sandbox takes ids, [6, 0, ids] and [4, id]"),
    VALUE_ERROR("domain.not_list", "Invalid domain {domain!r}: expected a list",
            f"ORM reference 'Search domains'; {ORM}"),
    VALUE_ERROR("domain.invalid_leaf", "Invalid leaf {leaf!r}", ORM),
    VALUE_ERROR("domain.invalid_operator", "Invalid operator {operator!r} in leaf {leaf!r}",
            f"ORM reference 'Search domains' lists the operators; {ORM}"),
    VALUE_ERROR("domain.invalid_datetime", "Invalid datetime {text!r}: use 'YYYY-MM-DD HH:MM:SS'",
            f"datetimes compare as UTC 'YYYY-MM-DD HH:MM:SS' strings, as Odoo's; {ORM}"),
    VALUE_ERROR("domain.incomparable", "cannot compare {actual!r} {operator} {wanted!r}", ORM),
    VALUE_ERROR("search.invalid_order", "Invalid order {order!r}", ORM),
    VALUE_ERROR("search.bad_count", "{name} must be a non-negative integer, not {value!r}",
            f"offset and limit; {ORM}"),
    # ------------------------------------------------------------- partners, products
    Refusal("partner.name_required", 422, VALIDATION, "Contacts require a name",
            "addons/base/models/res_partner.py check_name constraint (fault 2)"),
    Refusal("product.name_required", 422, VALIDATION,
            "Missing required value for the field 'Name' (name)",
            "Odoo's ORM message for an empty required field (fault 2)"),
    # ------------------------------------------------------- invoices and credit notes
    USER_ERROR("move.type_unsupported",
            "the sandbox books customer invoices and credit notes, not {move_type!r}",
            f"{STRICTER} entries, bills and receipts"),
    USER_ERROR("move.readonly_fields",
            "You cannot modify the following readonly fields on a {state} move: {fields}",
            f"{MOVE} write (18+: a posted move's lines and customer are read-only); the sandbox"
            " names the state where Odoo names the move"),
    USER_ERROR("move.already_posted", "The entry {name} (id {id}) is already posted.",
            f"{MOVE} _post"),
    USER_ERROR("move.post_not_draft", "Only draft journal entries can be posted.",
            f"{MOVE} _post; {WORDING}"),
    USER_ERROR("move.customer_required",
            "The field 'Customer' is required, please complete it to validate the Customer"
            " Invoice.", f"{MOVE} _post"),
    USER_ERROR("move.no_lines", "You need to add a line before posting.", f"{MOVE} _post"),
    USER_ERROR("move.negative_total",
            "You cannot validate an invoice with a negative total amount. You should create a"
            " credit note instead.",
            f"{MOVE} _post (later releases add 'Use the action menu to transform it into a credit"
            " note or refund.')"),
    USER_ERROR("move.rate_not_positive", "The currency rate must be strictly positive.",
            f"invoice_currency_rate (18+); {WORDING}"),
    USER_ERROR("move.rate_missing",
            "No exchange rate for {currency} on {date}: set invoice_currency_rate (the sandbox"
            " keeps no currency rate table)",
            f"{STRICTER} a rate table in 18+: a foreign-currency invoice needs"
            " invoice_currency_rate"),
    USER_ERROR("move.draft_not_posted",
            "Only posted/cancelled journal entries can be reset to draft.", f"{MOVE} button_draft"),
    USER_ERROR("move.cancel_not_draft", "Only draft journal entries can be cancelled.",
            f"{MOVE} button_cancel"),
    USER_ERROR("reconcile.not_posted", "Only posted entries can be reconciled.",
            f"js_assign_outstanding_line; {WORDING}"),
    USER_ERROR("reconcile.not_outstanding",
            "This line is not an outstanding credit of the invoice's customer.",
            f"js_assign_outstanding_line; {WORDING}"),
    USER_ERROR("reconcile.nothing_left",
            "There is nothing left to reconcile between these journal items.", WORDING),
    # ---------------------------------------------------------------------- payments
    USER_ERROR("register.wrong_model",
            "The register payment wizard should only be called on account.move or"
            " account.move.line records.", REGISTER),
    USER_ERROR("register.several_records",
            "the sandbox registers a payment for one record at a time",
            f"{STRICTER} batch payments"),
    USER_ERROR("register.not_posted",
            "You can only register payment for posted journal entries.", REGISTER),
    USER_ERROR("register.nothing_to_pay",
            "You can't register a payment because there is nothing left to pay on the selected"
            " journal items.", REGISTER),
    USER_ERROR("register.other_currency",
            "the sandbox does not convert a payment into another currency",
            f"{STRICTER} payments across currencies"),
    USER_ERROR("register.amount_not_positive", "The payment amount must be strictly positive.",
            "Odoo's account payment amount check (a ValidationError in older releases)"),
    USER_ERROR("register.write_off", "the sandbox keeps a payment difference open; writing it off"
            " (payment_difference_handling 'reconcile') needs a write-off account it does not"
            " model", f"{STRICTER} write-off accounts"),
    Refusal("payment.negative_amount", 422, VALIDATION, "The payment amount cannot be negative.",
            "addons/account/models/account_payment.py CHECK(amount >= 0.0) constraint"),
    USER_ERROR("payment.post_not_draft", "Only a draft payment can be posted.",
            "account.payment action_post (older releases' wording)"),
    USER_ERROR("payment.journal_not_bank",
            "The journal {name} is not a bank or cash journal.", WORDING),
    # ---------------------------------------------------------------------- API keys
    USER_ERROR("apikey.unknown_method",
            "The method {method!r} does not exist on the model 'res.users.apikeys'",
            f"{KEYS}: generate and revoke only; {WORDING}"),
    USER_ERROR("apikey.too_long", "The API key must expire within {days} days.",
            f"{KEYS}: 'it is not possible to create keys that last for more than three months';"
            f" {WORDING}"),
    USER_ERROR("apikey.bad_expiration",
            "expiration_date {value!r} is not an ISO 8601 date", f"{KEYS}; {WORDING}"),
    UNPROCESSABLE_ENTITY("apikey.too_many", "You cannot have more than {count} API keys.",
            f"{KEYS}: 10 keys (base.programmatic_api_keys_limit), 422 beyond; {WORDING}"),
    Refusal("apikey.revoke_invalid", 403, "odoo.exceptions.AccessError",
            "The API key is not valid.", f"{KEYS}: 403 revoking an invalid key; {WORDING}"),
    # ------------------------------------------------------------------ sandbox setup
    VALUE_ERROR("setup.unknown_currency", "company currency {code} is not in the database",
            "a test asked for a currency the sandbox database does not hold"),
)  # fmt: skip


# ------------------------------------------------------------------------ examples


def _call(model: str, method: str, given: str = "", **kwargs: Any) -> Example:
    return Example("POST", f"/json/2/{model}/{method}", kwargs, given=given)


def _line(price: object = Decimal("10.00"), **vals: Any) -> dict[str, Any]:
    return {
        "name": "x",
        "quantity": Decimal(1),
        "price_unit": price,
        "tax_ids": [[6, 0, []]],
        **vals,
    }


def _invoice(*lines: object, **vals: Any) -> Example:
    """An invoice of the set-up's partner (one line of 10.00 unless ``lines``)."""
    values = {
        "move_type": "out_invoice",
        "partner_id": "{partner}",
        "invoice_date": "2026-03-01",
        "invoice_line_ids": [[0, 0, line] for line in lines or (_line(),)],
        **vals,
    }
    return _call("account.move", "create", "partner", vals_list=[values])


def _move(method: str, given: str, **kwargs: Any) -> Example:
    return _call("account.move", method, given, ids=["{move}"], **kwargs)


def _register(model: str, ids: object, given: str, **vals: Any) -> Example:
    context = {"active_model": model, "active_ids": ids}
    return _call("account.payment.register", "create", given, vals_list=[vals], context=context)


def _partners(**kwargs: Any) -> Example:
    return _call("res.partner", "search_read", "partner", **kwargs)


_XMLRPC = "answered over XML-RPC, as a fault the section (which speaks JSON-2) does not read"
_APIKEY = "sandbox-odoo-api-key"
_SOON = "{soon}"  # a date within the keys' lifetime, from the set-up

EXAMPLES = Examples(REFUSALS, {
    "auth.invalid_apikey": Example("POST", "/json/2/res.partner/search_read", {},
                                   headers=(("Authorization", "bearer nope"),)),
    "auth.access_denied": _call("res.users.apikeys", "generate", key="nope", scope="rpc",
                                name="x", expiration_date="2026-01-01"),
    "limit.requests": _call("res.partner", "search_count", "throttled", domain=[]),
    "server.injected": _call("res.partner", "create", "failing", vals_list=[{"name": "X"}]),
    "request.no_json2": Exempt("refused only by a sandbox told it is Odoo 17 or 18"
                               " (test_json2_is_a_19_route)"),
    "request.unknown_database": Example("POST", "/json/2/res.partner/search_count",
                                        {"domain": []}, headers=(("X-Odoo-Database", "nope"),)),
    "request.not_json": Example("POST", "/json/2/res.partner/search_count", {"domain": []},
                                headers=(("Content-Type", "text/plain"),)),
    "request.bad_json": Example("POST", "/json/2/res.partner/search_count", "{not json"),
    "request.not_object": Example("POST", "/json/2/res.partner/search_count", "[1]"),
    "request.context_not_object": _call("res.partner", "search_count", domain=[], context=5),
    "request.not_xmlrpc": Exempt(_XMLRPC),
    "request.no_method_name": Exempt(_XMLRPC),
    "request.execute_kw_shape": Exempt(_XMLRPC),
    "rpc.unknown_service_method": Exempt(_XMLRPC),
    "rpc.unmarshallable_result": Exempt(f"{_XMLRPC}; test_over_xmlrpc_a_none_result_is_a_fault_"
                                        "after_the_commit fires it"),
    "call.unknown_model": _call("no.such.model", "read"),
    "call.unknown_method": _call("res.partner", "no_such_method"),
    "call.ids_to_model_method": _call("res.partner", "create", ids=[1], vals_list=[{"name": "X"}]),
    "call.unexpected_keyword": _call("res.partner", "search_count", bogus_kwarg=1),
    "call.missing_argument": _call("res.partner", "create"),
    "call.too_many_positional": Exempt(f"{_XMLRPC}: JSON-2 passes no positional arguments"),
    "call.not_singleton": _call("account.move", "js_assign_outstanding_line", "two_posted",
                                ids=["{move}", "{other}"], line_id=1),
    "call.ids_not_integers": _call("res.partner", "read", ids=["a"], fields=["name"]),
    "call.fields_not_list": _call("res.partner", "read", "partner", ids=["{partner}"],
                                  fields="name"),
    "call.vals_list_not_list": _call("res.partner", "create", vals_list="X"),
    "record.missing": (
        _call("res.partner", "read", ids=[999], fields=["name"]),
        # a line naming no product: Odoo's MissingError
        _invoice(_line(product_id=999)).saying(model="product.product", ids="999,"),
        _call("product.product", "create", vals_list=[
            {"name": "X", "property_account_income_id": 999}]),
    ),
    "values.not_object": _call("res.partner", "create", vals_list=["x"]),
    "values.invalid_field": _call("res.partner", "create",
                                  vals_list=[{"name": "X", "no_field": 1}]),
    # type 'product' is gone in Odoo 18
    "values.wrong_value": _call("product.product", "create", vals_list=[
        {"name": "X", "type": "product"}]),
    "values.not_a_number": _invoice(_line("ten")),
    "values.not_a_date": _invoice(invoice_date="01/03/2026"),
    "values.line_not_object": _invoice("x"),
    "values.x2many_commands": _invoice(invoice_line_ids="x"),
    "values.x2many_command": _invoice(invoice_line_ids=[[9, 0, 0]]),
    "values.many2many_command": _invoice(_line(tax_ids=[[9]])),
    "domain.not_list": _partners(domain="x"),
    "domain.invalid_leaf": _partners(domain=[["name"]]),
    "domain.invalid_operator": _partners(domain=[["name", "~", "x"]]),
    "domain.invalid_datetime": _partners(domain=[["write_date", ">", "yesterday"]]),
    "domain.incomparable": _partners(domain=[["name", ">", 5]]),
    "search.invalid_order": _partners(domain=[], order="name sideways"),
    "search.bad_count": _partners(domain=[], limit=-1),
    "partner.name_required": (_call("res.partner", "create", vals_list=[{"name": ""}]),
                              # a call is one transaction: the first partner is not kept
                              _call("res.partner", "create", vals_list=[{"name": "Kept?"},
                                                                        {"name": ""}])),
    "product.name_required": _call("product.product", "create", vals_list=[{"default_code": "X"}]),
    "move.type_unsupported": _invoice(move_type="entry"),
    "move.readonly_fields": _call("account.move", "write", "posted", ids=["{move}"],
                                  vals={"invoice_line_ids": [[5, 0, 0]]}),
    "move.already_posted": _move("action_post", "posted"),
    "move.post_not_draft": _move("action_post", "cancelled"),
    "move.customer_required": _move("action_post", "no_partner"),
    "move.no_lines": _move("action_post", "no_lines"),
    "move.negative_total": _move("action_post", "negative"),
    "move.rate_not_positive": _invoice(currency_id=2, invoice_currency_rate=Decimal(0)),
    "move.rate_missing": _move("action_post", "foreign"),
    "move.draft_not_posted": _move("button_draft", "draft"),
    "move.cancel_not_draft": _move("button_cancel", "cancelled"),
    "reconcile.not_posted": _move("js_assign_outstanding_line", "draft_with_credit",
                                  line_id="{credit}"),
    "reconcile.not_outstanding": _move("js_assign_outstanding_line", "posted_with_credit",
                                       line_id="{others}"),
    "reconcile.nothing_left": _move("js_assign_outstanding_line", "posted_with_credit",
                                    line_id="{own}"),
    "register.wrong_model": _register("res.partner", ["{partner}"], "partner"),
    "register.several_records": _register("account.move", ["{move}", "{other}"], "two_posted"),
    "register.not_posted": _register("account.move", ["{move}"], "draft"),
    "register.nothing_to_pay": _register("account.move.line", ["{credit}"], "refunded_credit"),
    "register.other_currency": _register("account.move", ["{move}"], "posted", currency_id=2),
    "register.amount_not_positive": _register("account.move", ["{move}"], "posted",
                                              amount=Decimal(0)),
    # a write-off account is not modelled
    "register.write_off": _register("account.move", ["{move}"], "posted", amount=Decimal(5),
                                    payment_difference_handling="reconcile"),
    "payment.negative_amount": _call("account.payment", "create", "partner", vals_list=[
        {"partner_id": "{partner}", "amount": -1}]),
    "payment.post_not_draft": _call("account.payment", "action_post", "posted_payment",
                                    ids=["{payment}"]),
    "payment.journal_not_bank": _call("account.payment", "create", "partner", vals_list=[
        {"partner_id": "{partner}", "amount": 5, "journal_id": 1}]),
    "apikey.unknown_method": _call("res.users.apikeys", "rotate", key=_APIKEY),
    "apikey.too_long": _call("res.users.apikeys", "generate", key=_APIKEY, scope="rpc",
                             name="x", expiration_date="2999-01-01"),
    "apikey.bad_expiration": _call("res.users.apikeys", "generate", key=_APIKEY, scope="rpc",
                                   name="x", expiration_date="soon"),
    "apikey.too_many": _call("res.users.apikeys", "generate", "many_keys", key=_APIKEY,
                             scope="rpc", name="x", expiration_date=_SOON),
    "apikey.revoke_invalid": _call("res.users.apikeys", "revoke", key="nope"),
    "setup.unknown_currency": Exempt("refused when a sandbox is built with a company currency"
                                     " the database lacks, not by a request"),
})  # fmt: skip
