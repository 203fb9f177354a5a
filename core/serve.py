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
from dataclasses import dataclass
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from syncledger.core.errors import EventStoreError
from syncledger.core.metrics import WEBHOOKS_RECEIVED, WEBHOOKS_REFUSED, exposition
from syncledger.core.source_ports import WebhookReceiver, WebhookRefused, WebhookRequest
from syncledger.core.source_sync import WebhookDesk

log = logging.getLogger(__name__)

#: the largest body taken; Standard Webhooks recommends payloads under ~20 KB
MAX_BODY = 1_000_000


#: the answer to a stored delivery (rendered once: JSON encoding per request is serve CPU)
_STORED = {
    duplicate: json.dumps({"stored": True, "duplicate": duplicate}, separators=(",", ":")).encode()
    for duplicate in (False, True)
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One source's webhook endpoint: who verifies, and where deliveries are stored."""

    receiver: WebhookReceiver
    desk: WebhookDesk


def _refused(source: str, status: int, reason: str, message: str) -> JSONResponse:
    WEBHOOKS_REFUSED.labels(source=source, reason=reason).inc()
    log.warning("webhook for %s refused (%s): %s", source, reason, message)
    return JSONResponse({"error": reason, "message": message}, status_code=status)


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
    routes: list[BaseRoute] = [
        Route("/webhooks/{source}", _receiver(endpoints, public_url, clock), methods=["POST"]),
        Route("/metrics", _metrics),
        Route("/healthz", _healthz),
    ]
    if unready is not None:
        routes.append(Route("/readyz", _readyz(unready)))
    return Starlette(routes=[*routes, *console])


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


def _receiver(
    endpoints: Mapping[str, Endpoint], public_url: str | None, clock: Callable[[], datetime]
) -> Callable[[Request], Awaitable[Response]]:
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
            if exc.reason == "bad_signature":
                _say_signed_url(source, signed.url, public_url)
            return _refused(source, 401, exc.reason, str(exc))
        try:
            receipt = await endpoint.desk.receive(delivery)
        except EventStoreError as exc:
            log.warning("webhook for %s not stored (the log: %s); the sender retries", source, exc)
            return JSONResponse({"error": "unavailable"}, status_code=503)
        outcome = "duplicate" if receipt.duplicate else "stored"
        WEBHOOKS_RECEIVED.labels(source=source, outcome=outcome).inc()
        return Response(_STORED[receipt.duplicate], media_type="application/json")

    return receive


def _signed_url(request: Request, public_url: str | None) -> str:
    if public_url is None:
        return str(request.url)
    query = f"?{request.url.query}" if request.url.query else ""
    return public_url.rstrip("/") + request.url.path + query


def _say_signed_url(source: str, url: str, public_url: str | None) -> None:
    """The operator's clue for a bad signature: the URL it was checked against (query
    left out: it may carry a token), and whether the public URL setting is used."""
    checked = url.split("?", 1)[0]
    how = (
        "SYNCLEDGER_SERVE_PUBLIC_URL + the request path"
        if public_url is not None
        else "SYNCLEDGER_SERVE_PUBLIC_URL is unset: behind a proxy or tunnel, set it to the "
        "public base URL senders post to"
    )
    log.warning(
        "webhook for %s: a sender that signs the URL (HubSpot) is checked against %s (%s)",
        source,
        checked,
        how,
    )
