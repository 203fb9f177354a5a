"""What the HubSpot sandbox refuses: one row per rule, with the HTTP status, HubSpot's error
``category`` (``errorType`` for a 429, the ``status`` field for the token endpoint), the
message and where the rule is documented. ``server.py`` shapes the answers: the spec's
``Error`` body (``status, message, correlationId, category``), the 429 body of SOURCES.md
§1.3, and the token endpoint's ``{"status", "message"}``.

"SOURCES" is /work/shared/SOURCES.md; "ours" marks a message or status worded or chosen
by the sandbox (undocumented: listed in docs/sources/hubspot.md's support matrix notes).
Its ``EXAMPLES``' set-ups are ``tests/unit/test_hubspot_sandbox_upsert.py``'s.
"""

from __future__ import annotations

from typing import Any

from syncledger.adapters.sandbox.examples import Example, Examples, form_post
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

OURS = "message: ours"
ERRORS = (
    "developers.hubspot.com/docs/api-reference/error-handling and /docs/faq/api-error-"
    "responses (status, message, correlationId, category; category VALIDATION_ERROR); the "
    "2026-03 specs' Error schema (SOURCES §1.1)"
)
VALIDATION = f"{ERRORS}; HubSpot documents no message for this check, {OURS}"
NOT_FOUND = (
    "category OBJECT_NOT_FOUND as HubSpot answers it for a record that does not exist "
    "(quoted answers: GitHub file ids 62460492922, 7783566840); status 404 and "
    "message: undocumented, the sandbox's own choice"
)
EXISTS = (
    "undocumented: sandbox's own choice (SOURCES §1.6: HubSpot documents no 409 for a "
    "name that exists; the adapter reads first). Status 409 and category OBJECT_ALREADY_EXISTS "
    "as HubSpot's 409 bodies carry them (community.hubspot.com APIs-Integrations "
    f"'Updated 409 Conflict responses', m-p/951534); {OURS}"
)
RATE = (
    "SOURCES §1.3: a 429 body carries errorType RATE_LIMIT (and policyName); the 429 "
    f"category is undocumented, so none is sent (docs/sources/hubspot.md); {OURS}"
)
JOURNAL = (
    "HubSpot's 2026-03 webhooksJournal spec (paths, count minimum 1, the Error body) and "
    "SOURCES §1.7"
)
GRANT = (
    "POST /oauth/v3/token refresh grant, client id and secret in the form (SOURCES §1.2); "
    "HubSpot's refusals are 400 with the reason in a status field"
)

#: the answers several rules share (status, error code)
INVALID = answered(400, "VALIDATION_ERROR")
MISSING = answered(404, "OBJECT_NOT_FOUND")
RATE_LIMITED = answered(429, "RATE_LIMIT")

REFUSALS = RefusalTable(
    "hubspot",
    # ------------------------------------------------------------ gates
    Refusal("auth.credentials_missing", 401, "INVALID_AUTHENTICATION",
            "Authentication credentials not found.",
            "developers.hubspot.com/docs/api-reference/error-handling (401 for invalid "
            "authentication); category and message as HubSpot answers them "
            "(HubSpot/hubspot-api-nodejs#148, #432; the sandbox keeps the first sentence)"),
    RATE_LIMITED("rate.search", "You have reached your rate limit.",
            f"{RATE}; CRM search: 5 requests/s per account, no policyName quoted"),
    RATE_LIMITED("rate.burst", "You have reached your rate limit.",
            f"{RATE}; 100 requests / 10 s (lowest tier), policyName TEN_SECONDLY_ROLLING"),
    RATE_LIMITED("rate.daily", "You have reached your daily limit.",
            f"{RATE}; 250,000 requests a day per account (lowest tier), policyName DAILY; "
            "the message text is the sandbox's own [unverified]"),
    INVALID("request.object_type_unknown", "unknown object type",
            "undocumented: sandbox's own choice (it serves the object types the adapter "
            f"reads, SOURCES §1.1/§1.5); category per {ERRORS}"),
    # ----------------------------------------------------------- search
    INVALID("search.operator_unknown", "unknown operator {operator}",
            f"the 2026-03 spec's Filter.operator enum (SOURCES §1.4; the sandbox does not "
            f"model CONTAINS_TOKEN / NOT_CONTAINS_TOKEN); {VALIDATION}"),
    INVALID("search.limit_too_large", "limit {limit} is over the maximum of {maximum}",
            f"SOURCES §1.4: at most 200 results per page; {VALIDATION}"),
    INVALID("search.past_cap", "paging past the first {cap} results of a search",
            f"SOURCES §1.4: 10,000 results per query, paging past it returns 400; {VALIDATION}"),
    # ------------------------------------------------------------ batch
    INVALID("batch.too_many", "at most 100 inputs per batch",
            f"SOURCES §1.3: batch endpoints take up to 100 inputs per call; {VALIDATION}"),
    MISSING("batch.object_not_found", "no {kind} with id(s) {ids}",
            "batch/update by id (SOURCES §1.6) naming a record that does not exist or is "
            "deleted (archived): the whole request is refused, the sandbox's own choice (the "
            "2026-03 deals spec gives 200, 207 multi-status and a default Error for "
            "batch/update and does not say which answers a missing id; the adapter bisects "
            f"a whole-request 404 down to the gone deal); {NOT_FOUND}"),
    INVALID("batch.property_unknown", "Property values were not valid: {names}",
            "a syncledger_* property written before it is created (SOURCES §1.6: create the "
            "custom property first); message prefix: HubSpot's as a third-party error guide "
            f"quotes it (skills.sh hubspot-common-errors), unverified; {ERRORS}"),
    INVALID("upsert.not_unique", "idProperty {name} is not a unique-value property",
            "batch/upsert keys on a property 'whose values are unique for the object' (the "
            "2026-03 deals spec); hs_object_id fails with VALIDATION_ERROR (SOURCES §1.6, "
            f"segmentio/action-destinations#3957); {VALIDATION}"),
    INVALID("upsert.duplicate_input", "two inputs name the same record",
            "SOURCES §1.6: two inputs of one upsert that resolve to the same record are "
            f"rejected as non-retryable (segmentio/action-destinations#3969); {VALIDATION}"),
    # ------------------------------------------------------- currencies
    INVALID("currencies.after_unknown", "after {after} is not a cursor this list gave",
            "undocumented: sandbox's own choice (get-exchange-rates, 2026-03: `after` is the "
            f"paging.next.after of a previous page); {VALIDATION}"),
    # ------------------------------------------------------- properties
    MISSING("group.not_found", "group {name} does not exist",
            f"GET /crm/properties/2026-03/{{type}}/groups/{{name}} (the spec); {NOT_FOUND}"),
    INVALID("group.fields_missing", "a group needs name and label",
            f"the 2026-03 properties spec's PropertyGroupCreate (name, label required); "
            f"{VALIDATION}"),
    Refusal("group.exists", 409, "OBJECT_ALREADY_EXISTS", "group {name} already exists", EXISTS),
    MISSING("property.not_found", "property {name} does not exist",
            f"SOURCES §1.6: GET .../{{name}} answers 200 when it exists; {NOT_FOUND}"),
    INVALID("property.fields_missing", "missing {fields}",
            f"SOURCES §1.6: groupName, name, label, type, fieldType are required; {VALIDATION}"),
    INVALID("property.group_unknown", "group {group} does not exist",
            f"the spec's PropertyCreate.groupName names an existing group; {VALIDATION}"),
    INVALID("property.unique_limit", "{kind} already has 10 unique-value properties",
            "SOURCES §1.6: at most 10 unique ID properties per object (properties guide); "
            f"{VALIDATION}"),
    Refusal("property.exists", 409, "OBJECT_ALREADY_EXISTS", "property {name} already exists",
            EXISTS),
    # ---------------------------------------------------------- journal
    Refusal("journal.oauth_only", 403, "MISSING_SCOPES",
            "the webhooks journal is only available to OAuth apps",
            f"SOURCES §1.7: the journal is not available to static/private-token apps, only "
            f"OAuth (the spec's only scheme on its paths is oauth2, scope "
            f"webhooks-journal-data-access); status and category undocumented for a static "
            f"token: the sandbox's own choice; {OURS}"),
    INVALID("journal.count_invalid", "count must be at least 1",
            f"{JOURNAL}: count is an integer, minimum 1; {VALIDATION}"),
    MISSING("journal.offset_unknown", "offset {offset} is not in the journal",
            "HubSpot's 2027-03-beta journal reference: 'Fails with a 404 if the offset has "
            f"expired or doesn't exist' (assumed for 2026-03; the journal keeps 3 days, "
            f"journal-entries guide); category {NOT_FOUND}"),
    MISSING("journal.empty", "the journal holds no entry",
            f"{JOURNAL}: earliest/latest document no answer for an empty journal; status "
            f"404 is the sandbox's own choice; {OURS}"),
    Refusal("journal.file_unknown", 403, "", "this journal file link is not valid",
            "an entry's url is a temporary pre-signed link fetched without Authorization "
            "(journal-entries guide); what a bad or expired link answers is undocumented: "
            f"the sandbox's own choice; {OURS}"),
    MISSING("journal.status_unknown", "no snapshot status {status}",
            f"{JOURNAL}: /status/{{statusId}} is a snapshot's status; the sandbox takes no "
            f"snapshots; {NOT_FOUND}"),
    # ------------------------------------------------------------ OAuth
    Refusal("oauth.bad_client_id", 400, "BAD_CLIENT_ID", "invalid client",
            f"{GRANT}; the status value as clients match it (GitHub file id "
            f"51821040849); {OURS}"),
    Refusal("oauth.grant_unsupported", 400, "unsupported_grant_type", "grant type",
            f"undocumented: sandbox's own choice (it serves the refresh grant only, "
            f"SOURCES §1.2); code per RFC 6749 §5.2; {OURS}"),
    Refusal("oauth.bad_refresh_token", 400, "BAD_REFRESH_TOKEN", "refresh token refused",
            f"{GRANT}; 400 BAD_REFRESH_TOKEN as HubSpot answers a bad refresh token "
            f"(HGData/mk-node-hubspot#64, airbytehq/airbyte#79592); {OURS}"),
)  # fmt: skip


# ------------------------------------------------------------------------ examples

_DEALS = "/crm/objects/2026-03/deals"
_PROPS = "/crm/properties/2026-03/deals"
_JOURNAL = "/webhooks-journal/journal/2026-03"
_KEY = "syncledger_deal_ref"  # the unique-value property the ``props`` set-up defines
_OAUTH = (("Authorization", "Bearer {oauth}"),)


def _post(path: str, body: object, given: str = "props") -> Example:
    return Example("POST", path, body, given=given)


def _search(**body: Any) -> Example:
    return _post(_DEALS + "/search", body, "")


def _upsert(*inputs: dict[str, Any]) -> Example:
    return _post(_DEALS + "/batch/upsert", {"inputs": list(inputs)})


def _input(ref: str, key: str = _KEY, **properties: str) -> dict[str, Any]:
    return {"idProperty": key, "id": ref, "properties": {"syncledger_note": "x", **properties}}


def _property(**fields: Any) -> Example:
    definition = {
        "name": "other",
        "label": "other",
        "type": "string",
        "fieldType": "text",
        "groupName": "g",
        **fields,
    }
    return _post(_PROPS, {k: v for k, v in definition.items() if v is not None})


def _journal(path: str, given: str = "oauth") -> Example:
    return Example("GET", _JOURNAL + path, given=given, headers=_OAUTH)


def _token(form: str) -> Example:
    return form_post("/oauth/v3/token", form, "client")


_GRANT = "grant_type=refresh_token&client_id={client_id}&client_secret={secret}"

EXAMPLES = Examples(REFUSALS, {
    "auth.credentials_missing": (Example("GET", _DEALS, headers=(("Authorization", ""),)),
                                 Example("GET", _JOURNAL + "/earliest",
                                         headers=(("Authorization", ""),))),
    "rate.search": Example("POST", _DEALS + "/search", {}, given="searches_spent"),
    "rate.burst": Example("GET", _DEALS, given="burst_spent"),
    "rate.daily": Example("GET", _DEALS, given="day_spent"),
    "request.object_type_unknown": Example("GET", "/crm/objects/2026-03/widgets"),
    # filters are read against the deals there are
    "search.operator_unknown": Example("POST", _DEALS + "/search", {"filterGroups": [{"filters": [
        {"propertyName": "dealname", "operator": "LIKE", "value": "x"}]}]}, given="capped"),
    "search.limit_too_large": _search(limit=201),
    "search.past_cap": Example("POST", _DEALS + "/search", {"after": "1"}, given="capped"),
    "batch.too_many": (_post(_DEALS + "/batch/update", {"inputs": [
        {"id": str(n), "properties": {"dealname": "x"}} for n in range(101)]}),
                       _upsert(*(_input(f"r{n}") for n in range(101)))),
    "batch.object_not_found": _post(_DEALS + "/batch/update", {"inputs": [
        {"id": "999", "properties": {"dealname": "x"}}]}).saying(kind="deals", ids="['999']"),
    # only our own properties (syncledger_*) are checked
    "batch.property_unknown": _upsert(_input("ref-a", syncledger_nickname="x")),
    "upsert.not_unique": tuple(_upsert(_input("x", key=key))
                               for key in ("syncledger_note", "hs_object_id", "")),
    "upsert.duplicate_input": _upsert(_input("r1"), _input("r1", syncledger_note="y")),
    "currencies.after_unknown": Example(
        "GET", "/settings/currencies/2026-03/exchange-rates", params=(("after", "zzz"),)),
    "group.not_found": Example("GET", _PROPS + "/groups/nope"),
    "group.fields_missing": _post(_PROPS + "/groups", {"name": "x"}),
    "group.exists": _post(_PROPS + "/groups", {"name": "g", "label": "g"}),
    "property.not_found": Example("GET", _PROPS + "/nope"),
    "property.fields_missing": _post(_PROPS, {"name": "x"}),
    "property.group_unknown": _property(groupName="nope"),
    "property.unique_limit": _post(_PROPS, {
        "name": "eleventh", "label": "eleventh", "type": "string", "fieldType": "text",
        "groupName": "g", "hasUniqueValue": True}, "ten_unique"),
    "property.exists": _property(name=_KEY, label=_KEY),
    "journal.oauth_only": Example("GET", _JOURNAL + "/earliest"),
    "journal.count_invalid": _journal("/batch/earliest/0"),
    "journal.offset_unknown": _journal("/offset/nope/next"),
    "journal.empty": _journal("/earliest"),
    "journal.file_unknown": Example("GET", "/_journal-files/nope", params=(("signature", "x"),)),
    "journal.status_unknown": _journal("/status/nope"),
    "oauth.bad_client_id": _token("grant_type=refresh_token&client_id=wrong&client_secret=x"),
    "oauth.grant_unsupported": _token(_GRANT.replace("refresh_token", "password", 1)),
    "oauth.bad_refresh_token": _token(_GRANT + "&refresh_token=nope"),
})  # fmt: skip
