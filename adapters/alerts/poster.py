"""The one way an HTTP alert channel sends: POST one body, never follow a redirect, give
up after the channel's timeout, and turn a missing answer into ``AlertNotDelivered``.

Facts (SOURCES.md §4.1): only a 2xx is success, a 3xx is a failure and redirects are not
followed, a timeout of 15-30 s (the default ``timeout_s`` is 15). HTTPS only (§4.1
"HTTPS"; §4.3 and §4.4 URLs are HTTPS): a plain ``http://`` URL is refused at open time
except for a loopback host (127.0.0.1, ``localhost``, ``::1``), where nothing crosses a
network (tests and a local relay use it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

import httpx

from syncledger.adapters.alerts.outcome import transport_failure, url_secrets
from syncledger.core.alert_ports import AlertMessage
from syncledger.core.errors import ConfigurationError

#: reads a webhook's answer: returns when it took the alert, else raises AlertNotDelivered
#: (the answer and the URL's secrets, never shown)
Refusal = Callable[[httpx.Response, tuple[str, ...]], None]

LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def checked_url(url: str, channel: str) -> str:
    """``url`` when it is HTTPS (or HTTP to a loopback host); the error never shows it."""
    parts = urlsplit(url.strip())
    if not parts.hostname:
        raise ConfigurationError(f"alert channel {channel}: the URL has no host")
    if parts.scheme == "https":
        return url.strip()
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return url.strip()
    raise ConfigurationError(
        f"alert channel {channel}: the URL must start with https:// "
        f"(got a {parts.scheme or 'schemeless'} URL)"
    )


class Poster:
    """One endpoint, one client; ``aclose`` ends its connections."""

    def __init__(self, url: str, timeout_s: float, who: str) -> None:
        self.url = url
        self.who = who
        self.secrets = url_secrets(url)
        # trust_env stays on: an egress proxy (HTTPS_PROXY, §4.1 SSRF advice) applies
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), follow_redirects=False)

    async def post(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        try:
            return await self._client.post(self.url, content=body, headers=dict(headers))
        except httpx.HTTPError as exc:
            raise transport_failure(exc, self.who) from None

    async def aclose(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True, eq=False)
class JsonWebhookChannel:
    """An ``AlertChannel`` posting each alert as one JSON body to one webhook: ``encode``
    writes the message as the service takes it, ``refusal`` reads its answer. Its repr
    shows the name only (never the URL, which may carry a token)."""

    name: str
    poster: Poster = field(repr=False)
    encode: Callable[[AlertMessage], bytes] = field(repr=False)
    refusal: Refusal = field(repr=False)

    async def deliver(self, message: AlertMessage) -> None:
        headers = {"content-type": "application/json"}
        response = await self.poster.post(self.encode(message), headers)
        self.refusal(response, self.poster.secrets)

    async def aclose(self) -> None:
        await self.poster.aclose()
