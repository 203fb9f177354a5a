"""``syncledger serve``: the HTTP endpoints senders post to (Starlette, run by uvicorn).

- ``POST /webhooks/<source>``: the source verifies the delivery (signature, freshness:
  ``WebhookReceiver.verify``); a refused one is answered 401 with its reason and counted
  (``syncledger_webhooks_refused_total``), and nothing of it reaches the log. A verified
  one is stored (``core.source_sync.WebhookDesk``) *before* the answer: 200 once it is in
  the log (``duplicate`` when an earlier try already stored it), 503 when the log cannot
  take it now (the sender retries; nothing is half-stored).
- ``GET /metrics``: the process's Prometheus metrics; ``GET /healthz``: 200 while the
  process answers; ``GET /readyz``: 200 only when the log (NATS) and the projections
  database answer, else 503 with one line saying which does not.
- The web console's pages (``core/console.py``) when :func:`serve_app` is given them;
  with no webhook endpoint at all, ``serve`` is the console, /metrics, /healthz, /readyz.

The URL a signature covers is the one the sender posted to: behind a proxy set
``SYNCLEDGER_SERVE_PUBLIC_URL`` (e.g. ``https://hooks.example.com``) so the path is
joined to it instead of to the address uvicorn listens on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from prometheus_client import Counter
from starlette.applications import Starlette
from starlette.datastructures import URL
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message, Receive, Scope, Send

from syncledger.core.errors import EventStoreError
from syncledger.core.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REFUSED, exposition
from syncledger.core.source_ports import WebhookReceiver, WebhookRefused, WebhookRequest
from syncledger.core.source_sync import WebhookDesk

log = logging.getLogger(__name__)

#: the largest body taken; Standard Webhooks recommends payloads under ~20 KB
MAX_BODY = 1_000_000


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One source's webhook endpoint: who verifies, and where deliveries are stored."""

    receiver: WebhookReceiver
    desk: WebhookDesk


#: None when ready, else one line saying what does not answer
Readiness = Callable[[], Awaitable[str | None]]


def webhook_app(
    endpoints: Mapping[str, Endpoint],
    *,
    public_url: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The webhook endpoints with /metrics and /healthz (no console, no readiness)."""
    return serve_app(endpoints, public_url=public_url, clock=clock)


def serve_app(
    endpoints: Mapping[str, Endpoint],
    *,
    console: Sequence[BaseRoute] = (),
    unready: Readiness | None = None,
    public_url: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """Everything ``syncledger serve`` answers on one port (module docstring)."""
    hooks = WebhookRoute(endpoints, public_url, clock)
    routes: list[BaseRoute] = [
        Route("/webhooks/{source}", hooks, methods=["POST"]),  # its 405 for other methods
        Route("/metrics", _metrics),
        Route("/healthz", _healthz),
    ]
    if unready is not None:
        routes.append(Route("/readyz", _readyz(unready)))
    return ServeApp(hooks, [*routes, *console])


async def _metrics(_: Request) -> Response:
    return Response(exposition(), media_type="text/plain; version=0.0.4")


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


def _readyz(unready: Readiness) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(_: Request) -> Response:
        reason = await unready()
        if reason is None:
            return PlainTextResponse("ready")
        log.info("not ready: %s", reason)
        return PlainTextResponse(f"not ready: {reason}", status_code=503)

    return readyz


# ---------------------------------------------------------------------- webhooks


class ServeApp(Starlette):
    """Starlette for every page but ``POST /webhooks/<source>``, which :class:`WebhookRoute`
    answers straight from the ASGI scope: no routing, middleware, ``Request`` or
    ``Response`` objects on the path every delivery takes (bench/ingest.py)."""

    def __init__(self, hooks: WebhookRoute, routes: Sequence[BaseRoute]) -> None:
        super().__init__(routes=list(routes))
        self.hooks = hooks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = _webhook_source(scope)
        if source is None:
            await super().__call__(scope, receive, send)
        else:
            await self.hooks.answer(source, scope, receive, send)


_PREFIX: Final = "/webhooks/"


def _webhook_source(scope: Scope) -> str | None:
    """The ``<source>`` of a ``POST /webhooks/<source>``, else None (Starlette answers:
    404, 405, or a redirect for a trailing slash, as the route ``/webhooks/{source}``)."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    source = path[len(_PREFIX) :]
    if not path.startswith(_PREFIX) or not source or "/" in source:
        return None
    return source


def _json(content: Mapping[str, object]) -> bytes:
    """A body as Starlette's ``JSONResponse`` renders it."""
    text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


_STORED: Final = _json({"stored": True, "duplicate": False})
_DUPLICATE: Final = _json({"stored": True, "duplicate": True})
_UNAVAILABLE: Final = _json({"error": "unavailable"})
Answer = tuple[int, bytes]


def _refused(source: str, status: int, reason: str, message: str) -> Answer:
    WEBHOOKS_REFUSED.labels(source=source, reason=reason).inc()
    log.warning("webhook for %s refused (%s): %s", source, reason, message)
    return status, _json({"error": reason, "message": message})


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """``POST /webhooks/<source>`` (module docstring): verified, stored, then answered."""

    endpoints: Mapping[str, Endpoint]
    public_url: str | None
    clock: Callable[[], datetime]
    _counted: dict[tuple[str, bool], Counter] = field(default_factory=dict)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As a Starlette route's app (what :class:`ServeApp` does not take first)."""
        await self.answer(scope["path_params"]["source"], scope, receive, send)

    async def answer(self, source: str, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, body = await self._answer(source, scope, receive)
        except ClientDisconnect:
            return  # the sender left before its body arrived: nothing stored, no one to tell
        except Exception:
            await _send(send, 500, b"Internal Server Error", b"text/plain; charset=utf-8")
            raise  # logged by the server, as Starlette's ServerErrorMiddleware does
        await _send(send, status, body, b"application/json")

    async def _answer(self, source: str, scope: Scope, receive: Receive) -> Answer:
        endpoint = self.endpoints.get(source)
        if endpoint is None:
            return _refused(source, 404, "unknown_sender", f"no source {source!r} is served")
        body = await _body(receive)
        if body is None:
            return _refused(source, 413, "malformed", f"body over {MAX_BODY} bytes")
        try:
            delivery = endpoint.receiver.verify(self._request(scope, body))
        except WebhookRefused as exc:
            return _refused(source, 401, exc.reason, str(exc))
        try:
            receipt = await endpoint.desk.receive(delivery)
        except EventStoreError as exc:
            log.warning("webhook for %s not stored (the log: %s); the sender retries", source, exc)
            return 503, _UNAVAILABLE
        self._counter(source, receipt.duplicate).inc()
        return 200, _DUPLICATE if receipt.duplicate else _STORED

    def _request(self, scope: Scope, body: bytes) -> WebhookRequest:
        return WebhookRequest(
            method=scope["method"],
            url=_signed_url(scope, self.public_url),
            headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            body=body,
            received_at=self.clock(),
        )

    def _counter(self, source: str, duplicate: bool) -> Counter:
        """The received counter's child (a served source: a bounded set)."""
        child = self._counted.get((source, duplicate))
        if child is None:
            outcome = "duplicate" if duplicate else "stored"
            child = self._counted[source, duplicate] = WEBHOOKS_RECEIVED.labels(source, outcome)
        return child


async def _body(receive: Receive) -> bytes | None:
    """The whole body; None as soon as it is over :data:`MAX_BODY`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _send(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _signed_url(scope: Scope, public_url: str | None) -> str:
    url = URL(scope=scope)
    if public_url is None:
        return str(url)
    query = f"?{url.query}" if url.query else ""
    return public_url.rstrip("/") + url.path + query
