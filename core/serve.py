"""``syncledger serve``: the HTTP endpoints senders post to (Starlette, run by uvicorn).

- ``POST /webhooks/<source>``: the source verifies the delivery (signature, freshness:
  ``WebhookReceiver.verify``); a refused one is answered 401 with its reason and counted
  (``syncledger_webhooks_refused_total``), and nothing of it reaches the log. A verified
  one is stored (``core.source_sync.WebhookDesk``) *before* the answer: 200 once it is in
  the log (``duplicate`` when an earlier try already stored it), 503 when the log cannot
  take it now (the sender retries; nothing is half-stored).
- ``GET /metrics``: the process's Prometheus metrics; ``GET /healthz``: 200.

The URL a signature covers is the one the sender posted to: behind a proxy set
``SYNCLEDGER_SERVE_PUBLIC_URL`` (e.g. ``https://hooks.example.com``) so the path is
joined to it instead of to the address uvicorn listens on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

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


def _refused(source: str, status: int, reason: str, message: str) -> JSONResponse:
    WEBHOOKS_REFUSED.labels(source=source, reason=reason).inc()
    log.warning("webhook for %s refused (%s): %s", source, reason, message)
    return JSONResponse({"error": reason, "message": message}, status_code=status)


def webhook_app(
    endpoints: Mapping[str, Endpoint],
    *,
    public_url: str | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    async def receive(request: Request) -> Response:
        source = request.path_params["source"]
        endpoint = endpoints.get(source)
        if endpoint is None:
            return _refused(source, 404, "unknown_sender", f"no source {source!r} is served")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _refused(source, 413, "malformed", f"body over {MAX_BODY} bytes")
        signed = WebhookRequest(
            method=request.method,
            url=_signed_url(request, public_url),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            received_at=clock(),
        )
        try:
            delivery = endpoint.receiver.verify(signed)
        except WebhookRefused as exc:
            return _refused(source, 401, exc.reason, str(exc))
        try:
            receipt = await endpoint.desk.receive(delivery)
        except EventStoreError as exc:
            log.warning("webhook for %s not stored (the log: %s); the sender retries", source, exc)
            return JSONResponse({"error": "unavailable"}, status_code=503)
        outcome = "duplicate" if receipt.duplicate else "stored"
        WEBHOOKS_RECEIVED.labels(source=source, outcome=outcome).inc()
        return JSONResponse({"stored": True, "duplicate": receipt.duplicate})

    async def metrics(_: Request) -> Response:
        return Response(exposition(), media_type="text/plain; version=0.0.4")

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/webhooks/{source}", receive, methods=["POST"]),
            Route("/metrics", metrics),
            Route("/healthz", healthz),
        ]
    )


def _signed_url(request: Request, public_url: str | None) -> str:
    if public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_url.rstrip("/") + request.url.path + query
