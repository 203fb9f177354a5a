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
"""

from __future__ import annotations

from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable

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
    Refusal("request.not_json", 400, BAD_REQUEST, "expected Content-Type: application/json",
            f"{JSON2}: Content-Type application/json is required; {WORDING}"),
    Refusal("request.bad_json", 400, BAD_REQUEST, "could not parse the body as json: {error}",
            f"{JSON2}; {WORDING}"),
    Refusal("request.not_object", 400, BAD_REQUEST,
            "could not parse the body, expecting a json object", f"{JSON2}; {WORDING}"),
    Refusal("request.context_not_object", 422, UNPROCESSABLE, "context must be an object",
            f"{JSON2}; {WORDING}"),
    Refusal("request.not_xmlrpc", 400, BAD_REQUEST, "not an XML-RPC payload: {error}",
            "the body is no XML-RPC methodCall (sandbox/wire.py); fault 1 with a traceback, as"
            " Odoo answers an exception in xmlrpc.client.loads; " + WORDING),
    Refusal("request.no_method_name", 400, BAD_REQUEST, "an XML-RPC methodCall needs a methodName",
            "the XML-RPC specification: a methodCall holds a methodName; " + WORDING),
    Refusal("request.execute_kw_shape", 422, UNPROCESSABLE,
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
    Refusal("call.ids_to_model_method", 422, UNPROCESSABLE, "cannot call {model}.{method} with ids",
            f"{JSON2}: ids given to an @api.model method are a 422; {WORDING}"),
    Refusal("call.unexpected_keyword", 422, UNPROCESSABLE,
            "{method}() got an unexpected keyword argument {name!r}",
            f"{JSON2}: arguments that do not bind to the method's signature are a 422 (Python's"
            " TypeError wording)"),
    Refusal("call.missing_argument", 422, UNPROCESSABLE, "missing a required argument: {name!r}",
            f"{JSON2}: as above (inspect.Signature.bind's wording)"),
    Refusal("call.too_many_positional", 422, UNPROCESSABLE,
            "{method}() takes {count} positional arguments",
            "execute_kw's positional args that do not bind, as over JSON-2; " + WORDING),
    Refusal("call.not_singleton", 500, VALUE, "Expected singleton: {model}{ids}",
            "odoo/models.py ensure_one() (fault 1)"),
    Refusal("call.ids_not_integers", 500, VALUE, "record ids must be integers, not {value!r}", ORM),
    Refusal("call.fields_not_list", 500, VALUE, "fields must be a list of field names", ORM),
    Refusal("call.vals_list_not_list", 500, VALUE, "vals_list must be a list of objects", ORM),
    Refusal("record.missing", 404, "odoo.exceptions.MissingError",
            "Record does not exist or has been deleted.\n(Record: {model}({ids}), User: 2)",
            "odoo/orm/fields.py Field.__get__ reading a record that does not exist (fault 2); also"
            " an invoice line's product_id naming no product (its precomputed fields read it:"
            " _compute_product_uom_id…); the whole call is rolled back"),
    # ------------------------------------------------------------ values and searches
    Refusal("values.not_object", 500, VALUE, "values for {model} must be an object", ORM),
    Refusal("values.invalid_field", 500, VALUE, "Invalid field {name!r} on model {model!r}",
            "odoo/models.py in create, write, read and domains (fault 1); also a field the release"
            " played does not have (versions.py: OpenUpgrade 18.0.1.3 account analysis)"),
    Refusal("values.wrong_value", 500, VALUE, "Wrong value for {field}: {value!r}",
            "Odoo's fields: 'Wrong value for %s: %r' converting a selection or many2one value"
            " (fault 1)"),
    Refusal("values.not_a_number", 500, VALUE, "{name}: {value!r} is not a number", ORM),
    Refusal("values.not_a_date", 500, VALUE, "{name}: {value!r} is not a date (YYYY-MM-DD)", ORM),
    Refusal("values.line_not_object", 500, VALUE,
            "invoice line values must be an object, not {vals!r}", ORM),
    Refusal("values.x2many_commands", 500, VALUE, "Invalid x2many commands {value!r}", ORM),
    Refusal("values.x2many_command", 500, VALUE,
            "Invalid x2many command {command!r} for invoice_line_ids",
            f"{ORM}; the sandbox takes [0, 0, vals], [1, id, vals], [2, id] and [5]"),
    Refusal("values.many2many_command", 500, VALUE,
            "Invalid many2many command {item!r} for tax_ids",
            f"{ORM}; the sandbox takes ids, [6, 0, ids] and [4, id]"),
    Refusal("domain.not_list", 500, VALUE, "Invalid domain {domain!r}: expected a list",
            f"ORM reference 'Search domains'; {ORM}"),
    Refusal("domain.invalid_leaf", 500, VALUE, "Invalid leaf {leaf!r}", ORM),
    Refusal("domain.invalid_operator", 500, VALUE, "Invalid operator {operator!r} in leaf {leaf!r}",
            f"ORM reference 'Search domains' lists the operators; {ORM}"),
    Refusal("domain.invalid_datetime", 500, VALUE,
            "Invalid datetime {text!r}: use 'YYYY-MM-DD HH:MM:SS'",
            f"datetimes compare as UTC 'YYYY-MM-DD HH:MM:SS' strings, as Odoo's; {ORM}"),
    Refusal("domain.incomparable", 500, VALUE, "cannot compare {actual!r} {operator} {wanted!r}",
            ORM),
    Refusal("search.invalid_order", 500, VALUE, "Invalid order {order!r}", ORM),
    Refusal("search.bad_count", 500, VALUE, "{name} must be a non-negative integer, not {value!r}",
            f"offset and limit; {ORM}"),
    # ------------------------------------------------------------- partners, products
    Refusal("partner.name_required", 422, VALIDATION, "Contacts require a name",
            "addons/base/models/res_partner.py check_name constraint (fault 2)"),
    Refusal("product.name_required", 422, VALIDATION,
            "Missing required value for the field 'Name' (name)",
            "Odoo's ORM message for an empty required field (fault 2)"),
    # ------------------------------------------------------- invoices and credit notes
    Refusal("move.type_unsupported", 422, USER,
            "the sandbox books customer invoices and credit notes, not {move_type!r}",
            f"{STRICTER} entries, bills and receipts"),
    Refusal("move.readonly_fields", 422, USER,
            "You cannot modify the following readonly fields on a {state} move: {fields}",
            f"{MOVE} write (18+: a posted move's lines and customer are read-only); the sandbox"
            " names the state where Odoo names the move"),
    Refusal("move.already_posted", 422, USER, "The entry {name} (id {id}) is already posted.",
            f"{MOVE} _post"),
    Refusal("move.post_not_draft", 422, USER, "Only draft journal entries can be posted.",
            f"{MOVE} _post; {WORDING}"),
    Refusal("move.customer_required", 422, USER,
            "The field 'Customer' is required, please complete it to validate the Customer"
            " Invoice.", f"{MOVE} _post"),
    Refusal("move.no_lines", 422, USER, "You need to add a line before posting.", f"{MOVE} _post"),
    Refusal("move.negative_total", 422, USER,
            "You cannot validate an invoice with a negative total amount. You should create a"
            " credit note instead.",
            f"{MOVE} _post (later releases add 'Use the action menu to transform it into a credit"
            " note or refund.')"),
    Refusal("move.rate_not_positive", 422, USER, "The currency rate must be strictly positive.",
            f"invoice_currency_rate (18+); {WORDING}"),
    Refusal("move.rate_missing", 422, USER,
            "No exchange rate for {currency} on {date}: set invoice_currency_rate (the sandbox"
            " keeps no currency rate table)",
            f"{STRICTER} a rate table in 18+: a foreign-currency invoice needs"
            " invoice_currency_rate"),
    Refusal("move.draft_not_posted", 422, USER,
            "Only posted/cancelled journal entries can be reset to draft.", f"{MOVE} button_draft"),
    Refusal("move.cancel_not_draft", 422, USER, "Only draft journal entries can be cancelled.",
            f"{MOVE} button_cancel"),
    Refusal("reconcile.not_posted", 422, USER, "Only posted entries can be reconciled.",
            f"js_assign_outstanding_line; {WORDING}"),
    Refusal("reconcile.not_outstanding", 422, USER,
            "This line is not an outstanding credit of the invoice's customer.",
            f"js_assign_outstanding_line; {WORDING}"),
    Refusal("reconcile.nothing_left", 422, USER,
            "There is nothing left to reconcile between these journal items.", WORDING),
    # ---------------------------------------------------------------------- payments
    Refusal("register.wrong_model", 422, USER,
            "The register payment wizard should only be called on account.move or"
            " account.move.line records.", REGISTER),
    Refusal("register.several_records", 422, USER,
            "the sandbox registers a payment for one record at a time",
            f"{STRICTER} batch payments"),
    Refusal("register.not_posted", 422, USER,
            "You can only register payment for posted journal entries.", REGISTER),
    Refusal("register.nothing_to_pay", 422, USER,
            "You can't register a payment because there is nothing left to pay on the selected"
            " journal items.", REGISTER),
    Refusal("register.other_currency", 422, USER,
            "the sandbox does not convert a payment into another currency",
            f"{STRICTER} payments across currencies"),
    Refusal("register.amount_not_positive", 422, USER,
            "The payment amount must be strictly positive.",
            "Odoo's account payment amount check (a ValidationError in older releases)"),
    Refusal("register.write_off", 422, USER,
            "the sandbox keeps a payment difference open; writing it off"
            " (payment_difference_handling 'reconcile') needs a write-off account it does not"
            " model", f"{STRICTER} write-off accounts"),
    Refusal("payment.negative_amount", 422, VALIDATION, "The payment amount cannot be negative.",
            "addons/account/models/account_payment.py CHECK(amount >= 0.0) constraint"),
    Refusal("payment.post_not_draft", 422, USER, "Only a draft payment can be posted.",
            "account.payment action_post (older releases' wording)"),
    Refusal("payment.journal_not_bank", 422, USER,
            "The journal {name} is not a bank or cash journal.", WORDING),
    # ---------------------------------------------------------------------- API keys
    Refusal("apikey.unknown_method", 422, USER,
            "The method {method!r} does not exist on the model 'res.users.apikeys'",
            f"{KEYS}: generate and revoke only; {WORDING}"),
    Refusal("apikey.too_long", 422, USER, "The API key must expire within {days} days.",
            f"{KEYS}: 'it is not possible to create keys that last for more than three months';"
            f" {WORDING}"),
    Refusal("apikey.bad_expiration", 422, USER,
            "expiration_date {value!r} is not an ISO 8601 date", f"{KEYS}; {WORDING}"),
    Refusal("apikey.too_many", 422, UNPROCESSABLE, "You cannot have more than {count} API keys.",
            f"{KEYS}: 10 keys (base.programmatic_api_keys_limit), 422 beyond; {WORDING}"),
    Refusal("apikey.revoke_invalid", 403, "odoo.exceptions.AccessError",
            "The API key is not valid.", f"{KEYS}: 403 revoking an invalid key; {WORDING}"),
    # ------------------------------------------------------------------ sandbox setup
    Refusal("setup.unknown_currency", 500, VALUE, "company currency {code} is not in the database",
            "a test asked for a currency the sandbox database does not hold"),
)  # fmt: skip
