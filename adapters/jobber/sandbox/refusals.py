"""What the Jobber sandbox refuses, and where each behaviour is documented. ``EXAMPLES``: a
request each rule refuses, fired by ``tests/contracts/refusal_examples_section.py``; the
set-ups named by ``given`` are ``tests/unit/test_jobber_sandbox_refusals.py``'s."""

from __future__ import annotations

from syncledger.adapters.sandbox.examples import Example, Examples, form_post
from syncledger.adapters.sandbox.refusals import Refusal, RefusalTable

_LIMITS = "https://developer.getjobber.com/docs/using_jobbers_api/api_rate_limits/"
_ERRORS = "GitHub file id 67140017033 (Jobber events-and-error-handling notes, verified live)"

REFUSALS = RefusalTable(
    "jobber",
    Refusal(
        "auth.token_not_recognized",
        401,
        "",
        "Token not recognized",
        f"{_ERRORS}: bad bearer token -> {{'message': 'Token not recognized'}}",
    ),
    Refusal(
        "version.unknown",
        404,
        "",
        "GraphQL API version '{version}' does not exist",
        "https://developer.getjobber.com/docs/using_jobbers_api/api_versioning/ (header "
        f"required); {_ERRORS} (message and 404)",
    ),
    Refusal(
        "rate.requests",
        429,
        "",
        "Too Many Requests",
        f"{_LIMITS}: 2500 requests / 300 s per app/account, then 429",
    ),
    Refusal(
        "cost.throttled",
        429,
        "THROTTLED",
        "Throttled",
        f"{_LIMITS} (leaky bucket, extensions.cost); api-evangelist/jobber "
        "rate-limits/jobber-rate-limits.yml (extensions.code THROTTLED); "
        f"{_ERRORS} (HTTP 429). Unverified: some clients see it with HTTP 200",
    ),
    Refusal(
        "oauth.invalid_grant",
        400,
        "invalid_grant",
        "refresh token is invalid, expired or already used",
        "https://developer.getjobber.com/docs/building_your_app/refresh_token_rotation "
        "(an old refresh token must never be reused); status and code per RFC 6749 §5.2 "
        "(Jobber's own refusal body is not documented)",
    ),
    Refusal(
        "oauth.invalid_client",
        401,
        "invalid_client",
        "client authentication failed",
        "RFC 6749 §5.2 (Jobber's own refusal body is not documented)",
    ),
)


_CLIENTS = {"query": "{ clients { nodes { id } } }"}
_SIGNED = (("Authorization", "Bearer {access}"), ("X-JOBBER-GRAPHQL-VERSION", "{version}"))


def _graphql(given: str, *headers: tuple[str, str]) -> Example:
    return Example("POST", "/api/graphql", _CLIENTS, given=given, headers=headers or _SIGNED)


def _token(form: str) -> Example:
    return form_post("/api/oauth/token", form, "signed")


_GRANT = "grant_type=refresh_token&client_id={client_id}&client_secret={secret}"

EXAMPLES = Examples(REFUSALS, {
    "auth.token_not_recognized": _graphql("signed", ("Authorization", "Bearer nope"),
                                          ("X-JOBBER-GRAPHQL-VERSION", "{version}")),
    "version.unknown": _graphql("signed", ("Authorization", "Bearer {access}"),
                                ("X-JOBBER-GRAPHQL-VERSION", "1999-01-01")),
    "rate.requests": _graphql("window_spent"),
    "cost.throttled": _graphql("bucket_empty"),
    "oauth.invalid_grant": _token(_GRANT + "&refresh_token=nope"),
    "oauth.invalid_client": _token("grant_type=refresh_token&client_id=nope&client_secret=x"),
})  # fmt: skip
