"""``POST /webhooks/<source>`` at the ASGI level (core/serve.py): the shapes the httpx tests
in test_source_sync.py never send (a body in chunks, an oversized body, a failure inside),
what the receiver is given (signed URL, lower-case headers, raw body), and the answers of
the paths beside it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from syncledger.adapters.webhooks.platform import TEST_SECRET, WebhookSource, keys_from
from syncledger.adapters.webhooks.sign import sign
from syncledger.core.events import WebhookReceived
from syncledger.core.keystore import MemoryKeyStore
from syncledger.core.metrics import REGISTRY
from syncledger.core.serve import MAX_BODY, Endpoint, serve_app
from syncledger.core.source_ports import WebhookDelivery, WebhookRefused, WebhookRequest
from syncledger.core.source_sync import SourceLog, WebhookDesk
from syncledger.core.store_memory import MemoryEventStore

NOW = datetime.now(UTC)


def body(n: int) -> bytes:
    record = {"id": f"C{n}", "name": f"Chunked {n}", "currency": "USD"}
    record["updated_at"] = "2026-12-01T00:00:00Z"
    envelope = {"type": "customer.updated", "timestamp": "2026-12-01T00:00:00Z", "data": record}
    return json.dumps(envelope).encode()


def desk() -> WebhookDesk:
    log = SourceLog(MemoryEventStore(), MemoryKeyStore(), entity="acme", actor="test")
    return WebhookDesk(log, "webhooks")


def app(endpoint_desk: WebhookDesk, receiver: Any = None, public_url: str | None = None) -> Any:
    source = receiver or WebhookSource(keys_from({}))
    endpoints = {"webhooks": Endpoint(source, endpoint_desk)}
    return serve_app(endpoints, public_url=public_url, clock=lambda: NOW)


async def receipts(endpoint_desk: WebhookDesk) -> list[str]:
    found = []
    async for stored in endpoint_desk.log.store.read():
        payload = stored.envelope().payload()
        if isinstance(payload, WebhookReceived):
            found.append(payload.delivery_id)
    return found


Receive = Callable[[], Awaitable[dict[str, Any]]]


def chunks(*parts: bytes) -> Receive:
    """An ASGI receive giving ``parts`` as one body in pieces."""
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": p, "more_body": i < len(parts) - 1}
        for i, p in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


async def call(
    asgi: Any, headers: dict[str, str], receive: Receive, sent: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The messages ``asgi`` sends for one ``POST /webhooks/webhooks`` (into ``sent``)."""
    sent = [] if sent is None else sent

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/webhooks",
        "raw_path": b"/webhooks/webhooks",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
        "server": ("127.0.0.1", 8089),
        "client": ("127.0.0.1", 50000),
    }
    await asgi(scope, receive, send)
    return sent


def refused(reason: str) -> float:
    labels = {"source": "webhooks", "reason": reason}
    return REGISTRY.get_sample_value("syncledger_webhooks_refused_total", labels) or 0.0


async def test_a_body_in_chunks_is_verified_and_stored_whole() -> None:
    d, raw = desk(), body(1)
    headers = sign(TEST_SECRET, "msg_1", NOW, raw)
    sent = await call(app(d), headers, chunks(raw[:10], raw[10:40], raw[40:]))
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"]) == {"stored": True, "duplicate": False}
    assert dict(sent[0]["headers"])[b"content-type"] == b"application/json"
    assert await receipts(d) == ["msg_1"]


async def test_a_body_over_the_limit_is_refused_413_counted_and_not_stored() -> None:
    d, before = desk(), refused("malformed")
    piece = b"x" * (MAX_BODY // 2 + 1)
    sent = await call(app(d), {}, chunks(piece, piece, b"never read"))
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"] == "malformed"
    assert refused("malformed") == before + 1
    assert await receipts(d) == []


class Broken(WebhookDesk):
    async def receive(self, delivery: WebhookDelivery) -> Any:
        raise RuntimeError("a defect")


async def test_a_failure_inside_is_answered_500_and_raised_to_the_server() -> None:
    d, raw = desk(), body(3)
    broken = Broken(d.log, "webhooks")
    sent: list[dict[str, Any]] = []
    with pytest.raises(RuntimeError, match="a defect"):
        await call(app(broken), sign(TEST_SECRET, "msg_3", NOW, raw), chunks(raw), sent)
    assert [m.get("status") for m in sent] == [500, None]
    assert sent[1]["body"] == b"Internal Server Error"


class Recorder:
    """A receiver that keeps the request it was given and refuses it."""

    system = "webhooks"

    def __init__(self) -> None:
        self.seen: list[WebhookRequest] = []

    def verify(self, request: WebhookRequest) -> WebhookDelivery:
        self.seen.append(request)
        raise WebhookRefused("bad_signature", "recorded")

    async def read_changes(self, cursor: str | None) -> Any:
        raise AssertionError("serve's webhook route never reads changes")

    async def aclose(self) -> None:
        """Nothing to release."""


@pytest.mark.parametrize(
    ("public_url", "expected"),
    [
        (None, "http://hooks.test/webhooks/webhooks?a=1"),
        ("https://public.example.com/", "https://public.example.com/webhooks/webhooks?a=1"),
    ],
)
async def test_the_receiver_gets_the_signed_url_method_lowercase_headers_and_raw_body(
    public_url: str | None, expected: str
) -> None:
    recorder = Recorder()
    transport = httpx.ASGITransport(app=app(desk(), recorder, public_url))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        answer = await http.post(
            "/webhooks/webhooks?a=1", content=b'{"raw": 1}', headers={"X-Sig": "S"}
        )
    assert answer.status_code == 401
    [seen] = recorder.seen
    assert (seen.method, seen.url, seen.body) == ("POST", expected, b'{"raw": 1}')
    assert seen.headers["x-sig"] == "S"
    assert seen.received_at == NOW


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/webhooks/webhooks", 405), ("POST", "/webhooks/", 404), ("POST", "/a/b", 404)],
)
async def test_other_paths_are_still_starlettes(method: str, path: str, status: int) -> None:
    transport = httpx.ASGITransport(app=app(desk()))
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        answer = await http.request(method, path)
    assert answer.status_code == status
    async with httpx.AsyncClient(transport=transport, base_url="http://hooks.test") as http:
        assert (await http.get("/healthz")).text == "ok"


def test_uvicorn_parses_http_with_httptools() -> None:
    """serve's uvicorn.Config leaves ``http`` on "auto": httptools when it is installed
    (a dependency for this: its C parser costs serve about a third of h11's CPU per request,
    bench/ingest.py), h11 otherwise."""
    import uvicorn
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    config = uvicorn.Config(app(desk()), lifespan="off")
    config.load()
    assert config.http_protocol_class is HttpToolsProtocol
