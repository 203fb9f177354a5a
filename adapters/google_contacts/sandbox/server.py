"""The People API sandbox: ``GET /v1/people/me/connections``, ``GET /v1/contactGroups`` and
``POST /token``.

Faithful to (citations as in ``adapters/google_contacts/people.py``):

* ``personFields`` required; ``pageSize`` 1-1000, unset or 0 means 100; ``pageToken``
  from ``nextPageToken``; ``requestSyncToken=true`` puts ``nextSyncToken`` on the last
  page; ``syncToken`` returns changes since, deleted people as ``metadata.deleted``
  true; with a page token the other parameters must match the first call [P]
  developers.google.cn/people/api/rest/v1/people.connections/list;
* an expired sync token: an error whose details hold a ``google.rpc.ErrorInfo`` with
  reason ``EXPIRED_SYNC_TOKEN`` [P] same page; its HTTP status is undocumented and
  observed as **400** with "Sync token is expired. Clear local cache and retry call
  without the sync token." [S] garrytan/gbrain issue 5127: the sandbox answers that;
* ``GET /v1/contactGroups``: ``pageSize`` 1-1000, unset or 0 means 30; ``pageToken`` from
  ``nextPageToken``; the answer ``{contactGroups[{resourceName, name}], totalItems,
  nextPageToken}``, members not populated [P]
  https://developers.google.com/people/api/rest/v1/contactGroups/list (the sandbox's page
  token is its own; Google's is opaque);
* errors are ``{"error": {"code", "message", "details"}}`` (Google's error model [P]
  https://cloud.google.com/apis/design/errors#error_info). The ``status`` name of each
  error is not documented for this method, so the sandbox leaves it out.

Every refusal (status, ErrorInfo reason, message, source) is a row of ``refusals.py``.

Tests act as a person in Google Contacts through ``ContactBook.put/delete`` and expire
tokens with ``ContactBook.expire_sync_tokens`` (``server.book_of(app)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syncledger.adapters.google_contacts.sandbox.book import ContactBook
from syncledger.adapters.google_contacts.sandbox.refusals import REFUSALS
from syncledger.adapters.sandbox.common import (
    form_of,
    handle_of,
    plain_json,
    refresh_grant,
    sandbox_app,
)
from syncledger.adapters.sandbox.errors import SandboxError
from syncledger.adapters.sandbox.scaffold import SandboxLogin, bearer_ok, oauth_server

#: the sandbox's public test credentials (not secrets)
LOGIN = SandboxLogin("sandbox-google-client", "sandbox-google-secret", "sandbox-google-refresh")
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = LOGIN.credentials()


class Refused(SandboxError):
    """A refusal by its row in ``REFUSALS``; ``values`` fill the row's message."""

    def __init__(self, rule: str, **values: object) -> None:
        self.row = REFUSALS[rule]
        self.message = self.row.text(**values)
        super().__init__(self.row.status, self.message)

    def payload(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.row.status, "message": self.message}
        if self.row.code:
            error["details"] = [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": self.row.code,
                    "domain": "people.googleapis.com",
                }
            ]
        return {"error": error}


class GoogleSandbox(ContactBook):
    """The contacts plus the token server."""

    def __init__(self, path: Path | None) -> None:
        super().__init__(path)
        self.oauth = oauth_server(self.db, LOGIN)


def book_of(app: Starlette) -> GoogleSandbox:
    return handle_of(app, GoogleSandbox)


# --------------------------------------------------------------------------- listing


@dataclass(frozen=True, slots=True)
class Listing:
    """One listing as its first call set it up: from which seq (exclusive), to which
    (inclusive), whether deleted people are included, and a digest of its parameters."""

    after: int
    upto: int
    delta: bool
    digest: str

    def page_token(self, last: int) -> str:
        return f"pt.{last}.{self.upto}.{int(self.delta)}.{self.digest}"


def _digest(params: Mapping[str, str]) -> str:
    kept = sorted((k, v) for k, v in params.items() if k != "pageToken")
    return hashlib.sha256(repr(kept).encode()).hexdigest()[:12]


def _page_size(params: Mapping[str, str]) -> int:
    raw = params.get("pageSize", "0") or "0"
    if not raw.isdigit() or int(raw) > 1000:
        raise Refused("list.page_size_invalid", value=raw)
    return int(raw) or 100


def _from_page_token(token: str, digest: str) -> Listing:
    parts = token.split(".")
    if len(parts) != 5 or parts[0] != "pt" or parts[4] != digest:
        raise Refused("list.page_token_invalid")
    return Listing(int(parts[1]), int(parts[2]), parts[3] == "1", digest)


def _listing(book: GoogleSandbox, params: Mapping[str, str]) -> Listing:
    digest = _digest(params)
    if params.get("pageToken"):
        return _from_page_token(params["pageToken"], digest)
    sync = params.get("syncToken")
    if not sync:
        return Listing(0, book.head(), False, digest)
    seq, expired = book.token_seq(sync)
    if seq is None:
        raise Refused("sync.token_invalid")
    if expired:
        raise Refused("sync.token_expired")
    return Listing(seq, book.head(), True, digest)


def connections(book: GoogleSandbox, params: Mapping[str, str]) -> dict[str, Any]:
    if not params.get("personFields"):
        raise Refused("list.person_fields_missing")
    size = _page_size(params)
    listing = _listing(book, params)
    page = book.page(listing.after, listing.upto, size, with_deleted=listing.delta)
    body: dict[str, Any] = {"connections": page.people}
    if page.last_seq is not None:
        body["nextPageToken"] = listing.page_token(page.last_seq)
    elif params.get("requestSyncToken") == "true":
        body["nextSyncToken"] = book.issue(listing.upto)
    return body


def contact_groups(book: GoogleSandbox, params: Mapping[str, str]) -> dict[str, Any]:
    raw = params.get("pageSize", "0") or "0"
    if not raw.isdigit() or int(raw) > 1000:
        raise Refused("list.page_size_invalid", value=raw)
    token = params.get("pageToken", "")
    if token and not (token.startswith("gp.") and token[3:].isdigit()):
        raise Refused("list.page_token_invalid")
    offset, size = int(token[3:] or 0), int(raw) or 30
    groups, total = book.groups(offset, size)
    body: dict[str, Any] = {"contactGroups": groups, "totalItems": total}
    if offset + len(groups) < total:
        body["nextPageToken"] = f"gp.{offset + len(groups)}"
    return body


# --------------------------------------------------------------------------- routes


Listed = Callable[[GoogleSandbox, Mapping[str, str]], dict[str, Any]]


def _api(listed: Listed) -> Callable[[Request], Awaitable[Response]]:
    """An API endpoint answering ``listed`` for a request with a valid bearer token, or
    the refusal in Google's shape."""

    async def endpoint(request: Request) -> Response:
        book = book_of(request.app)
        try:
            if not bearer_ok(book.oauth, request.headers.get("authorization")):
                raise Refused("auth.credentials_invalid")
            return plain_json(200, listed(book, dict(request.query_params)))
        except Refused as refused:
            return refused.answer()

    return endpoint


async def token(request: Request) -> Response:
    book = book_of(request.app)
    return refresh_grant(book.oauth, request.headers.get("authorization"), await form_of(request))


def create_app(book: Path | None = None, *, rate_scale: float = 1.0) -> Starlette:
    """The sandbox with its contacts in ``book`` (memory when None). No throttle: the
    People API publishes no per-minute figure to imitate."""
    routes = [
        Route("/v1/people/me/connections", _api(connections), methods=["GET"]),
        Route("/v1/contactGroups", _api(contact_groups), methods=["GET"]),
        Route("/token", token, methods=["POST"]),
    ]
    return sandbox_app(GoogleSandbox(book), routes)
