"""The Jobber sandbox as a Starlette app: ``POST /api/graphql`` and ``POST /api/oauth/token``.

Facts (each also cited where used):

* endpoint ``POST https://api.getjobber.com/api/graphql`` with ``Authorization: Bearer``,
  JSON only: https://developer.getjobber.com/docs/using_jobbers_api/api_queries_and_mutations
* ``X-JOBBER-GRAPHQL-VERSION: YYYY-MM-DD`` required:
  https://developer.getjobber.com/docs/using_jobbers_api/api_versioning/ ; ``2025-04-16`` in
  use (api-evangelist/jobber; GitHub file ids 67140017033, 67521459086)
* token endpoint ``https://api.getjobber.com/api/oauth/token`` (tainora/jobber-python-client
  OAUTH_TOKEN_GUIDE.md and other Jobber clients); refresh tokens rotate and an old one must
  never be reused: https://developer.getjobber.com/docs/building_your_app/refresh_token_rotation
* 2,500 requests / 300 s then 429, and the query-cost leaky bucket: ``cost.py``, ``refusals.py``
* webhooks: ``X-Jobber-Hmac-SHA256`` = base64 HMAC-SHA256 of the raw body keyed with the
  app's client secret (nango.dev/docs/api-integrations/jobber/webhooks; GitHub file id
  61469768048); the body carries topic, app id, account id, item id and occurred-at
  (same sources; key casing unverified: this sandbox sends
  ``{"data": {"webHookEvent": {"topic", "appId", "accountId", "itemId", "occurredAt"}}}``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from graphql import GraphQLSchema, build_schema, graphql_sync, parse
from graphql.error import GraphQLSyntaxError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from syncledger.adapters.jobber.sandbox import client_edit, views
from syncledger.adapters.jobber.sandbox.cost import (
    MAXIMUM_AVAILABLE,
    RESTORE_RATE,
    LeakyBucket,
    query_cost,
)
from syncledger.adapters.jobber.sandbox.refusals import REFUSALS
from syncledger.adapters.jobber.sandbox.schema import SDL
from syncledger.adapters.jobber.sandbox.store import Store
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.scaffold import SandboxLogin, oauth_server
from syncledger.adapters.sandbox.throttle import WindowThrottle
from syncledger.core.source_ports import WebhookRequest

#: the sandbox's public test credentials (not secrets)
LOGIN = SandboxLogin("jobber-sandbox-client", "jobber-sandbox-secret", "jobber-sandbox-refresh")
DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_REFRESH_TOKEN = LOGIN.credentials()
VERSIONS = frozenset({"2025-04-16"})
REQUESTS = Rate(2500, 300.0)
APP_ID = "sandbox-app"
ACCOUNT_ID = "sandbox-account"


def _schema() -> GraphQLSchema:
    schema = build_schema(SDL + client_edit.SDL)
    assert schema.query_type is not None and schema.mutation_type is not None
    for kind, plural in (("Client", "clients"), ("Invoice", "invoices"), ("Payment", "payments")):
        schema.query_type.fields[plural].resolve = views.lister(kind)
        schema.query_type.fields[kind.lower()].resolve = views.finder(kind)
    schema.query_type.fields["property"].resolve = views.find_property
    schema.mutation_type.fields["invoiceCreatePaymentRecord"].resolve = views.create_payment_record
    client_edit.install(schema)
    return schema


def _refused(rule: str, **values: object) -> JSONResponse:
    row = REFUSALS[rule]
    if row.code and rule.startswith("oauth."):
        return JSONResponse({"error": row.code, "error_description": row.text()}, row.status)
    return JSONResponse({"message": row.text(**values)}, row.status)


class JobberSandbox:
    """One Jobber account, its app's OAuth server and its limits."""

    def __init__(
        self,
        *,
        rate_scale: float = 1.0,
        maximum_available: float = MAXIMUM_AVAILABLE,
        restore_rate: float = RESTORE_RATE,
    ) -> None:
        self.store = Store()
        self.schema = _schema()
        self.client_secret = DEFAULT_CLIENT_SECRET
        self.oauth = oauth_server(sqlite3.connect(":memory:", check_same_thread=False), LOGIN)
        self.window = WindowThrottle(REQUESTS.scaled(rate_scale))
        self.bucket = LeakyBucket(maximum_available * rate_scale, restore_rate * rate_scale)
        self.throttled = 0  # THROTTLED answers given
        self.too_many = 0  # 429 answers of the request window

    # ------------------------------------------------------------------ http

    async def token(self, request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        if not self.oauth.client_ok(request.headers.get("authorization"), form):
            return _refused("oauth.invalid_client")
        granted = self.oauth.exchange(form.get("refresh_token", ""))
        if form.get("grant_type") != "refresh_token" or granted is None:
            return _refused("oauth.invalid_grant")
        return JSONResponse(granted)

    async def graphql(self, request: Request) -> JSONResponse:
        if self.window.admit(ACCOUNT_ID) is not None:
            self.too_many += 1
            return _refused("rate.requests")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not self.oauth.access_ok(bearer):
            return _refused("auth.token_not_recognized")
        version = request.headers.get("x-jobber-graphql-version", "")
        if version not in VERSIONS:
            return _refused("version.unknown", version=version)
        return self._answer(json.loads(await request.body()))

    def _answer(self, body: dict[str, Any]) -> JSONResponse:
        variables = body.get("variables") or {}
        try:
            document = parse(body["query"])
        except GraphQLSyntaxError as exc:
            return JSONResponse({"errors": [{"message": exc.message}]}, 200)
        cost = query_cost(document, variables)
        if not self.bucket.spend(cost):
            self.throttled += 1
            row = REFUSALS["cost.throttled"]
            error = {"message": row.message, "extensions": {"code": row.code}}
            extensions = {"cost": self.bucket.status(cost, None)}
            return JSONResponse({"errors": [error], "extensions": extensions}, row.status)
        result = graphql_sync(
            self.schema, body["query"], variable_values=variables, context_value=self.store
        )
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["extensions"] = {"cost": self.bucket.status(cost, cost)}
        return JSONResponse(answer)

    # ------------------------------------------------------------------ webhooks

    def signed_webhook(self, topic: str, item_id: str) -> WebhookRequest:
        """The delivery Jobber would POST about ``item_id``, signed with the app's secret."""
        now = datetime.now(UTC)
        event = {
            "topic": topic,
            "appId": APP_ID,
            "accountId": ACCOUNT_ID,
            "itemId": item_id,
            "occurredAt": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = json.dumps({"data": {"webHookEvent": event}}).encode()
        digest = hmac.new(self.client_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "content-type": "application/json",
            "x-jobber-hmac-sha256": base64.b64encode(digest).decode(),
        }
        return WebhookRequest("POST", "https://app.example/jobber/webhooks", headers, body, now)

    def property_webhooks(self) -> list[WebhookRequest]:
        """The ``PROPERTY_CREATE/_UPDATE/_DESTROY`` deliveries for the property changes made
        since the last call, one event per delivery, oldest first."""
        announced, self.store.announced[:] = list(self.store.announced), []
        return [self.signed_webhook(topic, pid) for topic, pid in announced]


def create_app(
    book: Path | None = None,
    *,
    rate_scale: float = 1.0,
    maximum_available: float = MAXIMUM_AVAILABLE,
    restore_rate: float = RESTORE_RATE,
) -> Starlette:
    """The sandbox app; ``book`` is ignored (records live in memory)."""
    sandbox = JobberSandbox(
        rate_scale=rate_scale, maximum_available=maximum_available, restore_rate=restore_rate
    )
    app = Starlette(
        routes=[
            Route("/api/graphql", sandbox.graphql, methods=["POST"]),
            Route("/api/oauth/token", sandbox.token, methods=["POST"]),
        ]
    )
    app.state.sandbox = sandbox
    return app


def sandbox_of(app: Starlette) -> JobberSandbox:
    found: JobberSandbox = app.state.sandbox
    return found
