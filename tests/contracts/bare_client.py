"""A bare HTTP client of a sandbox app in-process, as a platform's sandbox tests
(``tests/unit/test_<platform>_sandbox.py``) drive it: the sandbox's handle, an httpx
client on the app, the access token it signed in with, JSON bodies sent with Decimals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import httpx
from starlette.applications import Starlette

from syncledger.adapters.jsonwire import encode_json

Handle = TypeVar("Handle")


class BareClient(Generic[Handle]):
    def __init__(self, app: Starlette, sandbox: Handle) -> None:
        self.app = app
        self.sandbox = sandbox
        transport = httpx.ASGITransport(app=app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://sandbox.test")
        self.access = ""

    async def refresh_grant(self, path: str, client_id: str, secret: str, refresh: str) -> str:
        """Signed in: ``refresh`` exchanged at the token endpoint ``path``; the access token."""
        form = {
            "grant_type": "refresh_token",
            "client_id": client_id,
            "client_secret": secret,
            "refresh_token": refresh,
        }
        self.access = str((await self.http.post(path, data=form)).json()["access_token"])
        return self.access

    async def send_json(
        self,
        method: str,
        url: str,
        body: Any = None,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """``body`` as JSON to ``url``, signed with the bearer token (``headers`` added)."""
        return await self.http.request(
            method,
            url,
            params=params,
            content=None if body is None else encode_json(body),
            headers={"Authorization": f"Bearer {self.access}", **(headers or {})},
        )
