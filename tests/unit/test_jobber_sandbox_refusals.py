"""Every row of adapters/jobber/sandbox/refusals.py refused as its example shows (issue 17).
Jobber's refusals all come before a GraphQL document runs, so no record is written: the
section's book is not read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from syncledger.adapters.jobber.sandbox.cost import LeakyBucket
from syncledger.adapters.jobber.sandbox.refusals import EXAMPLES
from syncledger.adapters.jobber.sandbox.server import (
    ACCOUNT_ID,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    VERSIONS,
    JobberSandbox,
    create_app,
    sandbox_of,
)
from syncledger.adapters.ratelimit import Rate
from syncledger.adapters.sandbox.throttle import WindowThrottle
from tests.contracts.bare_client import BareClient
from tests.contracts.refusal_examples_section import RefusalExamplesSection

Jobber = BareClient[JobberSandbox]


class TestJobberRefusalExamples(RefusalExamplesSection):
    examples = EXAMPLES
    kinds = ()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Jobber]:
        app = create_app()
        client = BareClient(app, sandbox_of(app))
        refresh = client.sandbox.oauth.grant()
        await client.refresh_grant(
            "/api/oauth/token", DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, refresh
        )
        try:
            yield client
        finally:
            await client.http.aclose()

    def error_code(self, answer: httpx.Response) -> str:
        """The OAuth error, a GraphQL error's extensions code, or none (a bare message)."""
        body = answer.json()
        errors = body.get("errors") or [{}]
        return str(body.get("error") or errors[0].get("extensions", {}).get("code", ""))

    async def given_signed(self, client: Jobber) -> dict[str, str]:
        [version] = VERSIONS
        return {
            "access": client.access,
            "version": version,
            "client_id": DEFAULT_CLIENT_ID,
            "secret": DEFAULT_CLIENT_SECRET,
        }

    async def given_window_spent(self, client: Jobber) -> dict[str, str]:
        client.sandbox.window = WindowThrottle(Rate(1, 3600.0))
        client.sandbox.window.admit(ACCOUNT_ID)
        return await self.given_signed(client)

    async def given_bucket_empty(self, client: Jobber) -> dict[str, str]:
        client.sandbox.bucket = LeakyBucket(0.5, 0.0)
        return await self.given_signed(client)
