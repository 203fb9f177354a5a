"""What the Google Contacts (People API) sandbox refuses: one row per rule, with the HTTP
status, the ``google.rpc.ErrorInfo`` reason where Google sends one (empty otherwise), the
message and where the rule is documented. ``server.py`` shapes the answers as Google's error
model, ``{"error": {"code", "message", "details"}}`` ([P] cloud.google.com/apis/design/errors).

[P] is developers.google.cn/people/api/rest/v1/people.connections/list (SOURCES.md §3.1).
"ours" marks a message worded by the sandbox. The token endpoint's refusals (an unknown
client, another grant, a used or unknown refresh token) are the shared token server's
(``adapters/sandbox/common.py refresh_grant``), not rows here.
Its ``EXAMPLES``' set-ups are ``tests/unit/test_google_contacts_sandbox_refusals.py``'s.
"""

from __future__ import annotations

from syncledger.adapters.sandbox.examples import Example, Examples
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable, answered

LIST = "[P] people.connections.list"
INVALID_ARGUMENT = (
    "400 'Request contains an invalid argument.' is Google's INVALID_ARGUMENT answer "
    "(googleapis/google-api-dotnet-client#1113); the parameter named in brackets is ours"
)

#: the answers several rules share (status, error code)
BAD_REQUEST = answered(400, "")

REFUSALS = RefusalTable(
    "google_contacts",
    Refusal("auth.credentials_invalid", 401, "",
            "Request had invalid authentication credentials.",
            "Google's 401 UNAUTHENTICATED answer to a bad or expired access token "
            "(dacastro4/laravel-gmail#273, mxrch/GHunt#513); the sandbox keeps the first "
            "sentence of the message"),
    BAD_REQUEST("list.person_fields_missing", "personFields mask is required.",
            f"{LIST}: personFields is required; message: the first sentence of Google's "
            "answer (googleapis/google-api-php-client-services#129)"),
    BAD_REQUEST("list.page_size_invalid", "pageSize {value!r}: valid values are 1 to 1000",
            f"{LIST}: pageSize 1-1000 (0 or unset: 100); message: ours"),
    BAD_REQUEST("list.page_token_invalid", "Request contains an invalid argument (pageToken).",
            f"{LIST}: a pageToken comes from nextPageToken and the other parameters must match "
            f"the first call; {INVALID_ARGUMENT}"),
    BAD_REQUEST("sync.token_invalid", "Request contains an invalid argument (syncToken).",
            f"{LIST}: a syncToken comes from nextSyncToken; {INVALID_ARGUMENT}"),
    Refusal("sync.token_expired", 400, "EXPIRED_SYNC_TOKEN",
            "Sync token is expired. Clear local cache and retry call without the sync token.",
            f"{LIST}: sync tokens expire 7 days after the full sync, the error's details hold "
            "a google.rpc.ErrorInfo with reason EXPIRED_SYNC_TOKEN; its HTTP status is "
            "undocumented: 400 and the message as observed ([S] garrytan/gbrain issue 5127)"),
)  # fmt: skip


_PEOPLE = "/v1/people/me/connections"
_FIELDS = ("personFields", "names,emailAddresses")


def _people(*params: tuple[str, str], given: str = "") -> Example:
    return Example("GET", _PEOPLE, params=(_FIELDS, *params), given=given)


EXAMPLES = Examples(REFUSALS, {
    "auth.credentials_invalid": Example("GET", _PEOPLE, params=(_FIELDS,),
                                        headers=(("Authorization", "Bearer nope"),)),
    "list.person_fields_missing": Example("GET", _PEOPLE),
    "list.page_size_invalid": (_people(("pageSize", "2000")),
                               Example("GET", "/v1/contactGroups", params=(("pageSize", "x"),))),
    "list.page_token_invalid": (_people(("pageToken", "nope")),
                                Example("GET", "/v1/contactGroups",
                                        params=(("pageToken", "nope"),))),
    "sync.token_invalid": _people(("syncToken", "nope")),
    "sync.token_expired": _people(("syncToken", "{sync}"), given="expired_sync"),
})  # fmt: skip
