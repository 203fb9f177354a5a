"""Every row of adapters/google_contacts/sandbox/refusals.py refused as its example shows
(issue 17), in Google's error model. Every refusal is of a read: the book is not read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from syncledger.adapters.google_contacts.sandbox.refusals import EXAMPLES
from syncledger.adapters.google_contacts.sandbox.server import (
    CLIENT_ID,
    CLIENT_SECRET,
    GoogleSandbox,
    book_of,
    create_app,
)
from tests.contracts.bare_client import BareClient
from tests.contracts.refusal_examples_section import RefusalExamplesSection

Google = BareClient[GoogleSandbox]


class TestGoogleContactsRefusalExamples(RefusalExamplesSection):
    examples = EXAMPLES
    kinds = ()

    @asynccontextmanager
    async def client(self) -> AsyncIterator[Google]:
        app = create_app()
        client = BareClient(app, book_of(app))
        await client.refresh_grant("/token", CLIENT_ID, CLIENT_SECRET, client.sandbox.oauth.grant())
        try:
            yield client
        finally:
            await client.http.aclose()
            client.sandbox.close()

    def error_code(self, answer: httpx.Response) -> str:
        """The google.rpc.ErrorInfo reason, where the error carries one."""
        details = answer.json()["error"].get("details") or [{}]
        return str(details[0].get("reason", ""))

    def check_answer(self, answer: httpx.Response, row: Any, example: Any) -> None:
        """Google's error model: the HTTP status is the error's code too."""
        assert answer.json()["error"]["code"] == answer.status_code

    async def given_expired_sync(self, client: Google) -> dict[str, str]:
        """A sync token issued, then seven days gone by."""
        token = client.sandbox.issue(client.sandbox.head())
        client.sandbox.expire_sync_tokens()
        return {"sync": token}
