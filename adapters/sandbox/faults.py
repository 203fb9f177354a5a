"""Faults a sandbox ledger injects on request: tests set them through the constructor or
``Faults`` methods, people through ``POST /_sandbox/faults`` with the same field names.

Besides the platform-aware counters each sandbox checks itself, ``TargetedFaults`` (ASGI
middleware every sandbox app runs) breaks only the requests matching a pattern — e.g. the
second write of a multi-write operation — so a test can fail, hold or lose the answer to
exactly that write while the first one goes through.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


@dataclass
class Faults:
    """Counters of faults still to inject; each injection uses one up.

    - ``fail_writes``: the next N writes answer ``fail_status`` (5xx) without committing;
    - ``throttle``: the next N API requests answer 429 with ``Retry-After: retry_after``;
    - ``commit_then_timeout``: the next N writes commit, then stall ``stall_seconds``
      before answering, so the client times out not knowing the write landed (a replay
      of the same idempotency key counts as a write too).
    """

    fail_writes: int = 0
    fail_status: int = 500
    throttle: int = 0
    retry_after: float = 1.0
    commit_then_timeout: int = 0
    stall_seconds: float = 30.0
    #: ``TargetedFaults``: a regular expression searched in ``"METHOD /path?query body"``
    #: (the body's first 4 KiB); only matching requests use the ``match_*`` counters
    match: str = ""
    match_fail: int = 0  # answer ``fail_status`` without reaching the sandbox
    match_hold: int = 0  # hold ``stall_seconds`` (nothing committed), then ``fail_status``
    match_commit_then_timeout: int = 0  # commit, then stall ``stall_seconds`` before answering
    matched: int = 0  # requests that matched ``match`` so far (read-only counter)
    held: int = 0  # holds begun so far (read-only counter)

    def take(self, name: str) -> bool:
        """Use one injection of counter ``name`` if any is left."""
        left = int(getattr(self, name))
        if left <= 0:
            return False
        setattr(self, name, left - 1)
        return True

    def update(self, changes: Mapping[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        unknown = set(changes) - set(known)
        if unknown:
            raise ValueError(f"unknown fault settings {sorted(unknown)}; known: {sorted(known)}")
        for name, value in changes.items():
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def reset(self) -> None:
        self.update(asdict(Faults()))

    def as_dict(self) -> dict[str, Any]:
        """The settings, seconds as ``Decimal`` (our JSON encoder refuses floats)."""
        return {k: Decimal(str(v)) if isinstance(v, float) else v for k, v in asdict(self).items()}


class FaultInjection:
    """Shortcuts tests use on a sandbox handle to set its ``faults``."""

    faults: Faults

    def fail_next_writes(self, n: int = 1, status: int = 500) -> None:
        self.faults.update({"fail_writes": n, "fail_status": status})

    def throttle_next(self, n: int = 1, retry_after: float = 1.0) -> None:
        self.faults.update({"throttle": n, "retry_after": retry_after})

    def commit_then_timeout_next(self, n: int = 1, stall_seconds: float | None = None) -> None:
        changes: dict[str, Any] = {"commit_then_timeout": n}
        if stall_seconds is not None:
            changes["stall_seconds"] = stall_seconds
        self.faults.update(changes)


class TargetedFaults:
    """ASGI middleware applying ``Faults.match_*`` to the requests matching ``match``."""

    def __init__(self, app: ASGIApp, faults: Faults | None = None) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.faults
        if (
            faults is None
            or not faults.match
            or scope["type"] != "http"
            or str(scope.get("path", "")).startswith("/_sandbox/")
        ):
            await self.app(scope, receive, send)
            return
        body = await _body(receive)
        if not re.search(faults.match, _described(scope, body)):
            await self.app(scope, _replay(body), send)
            return
        faults.matched += 1
        await self._broken(faults, scope, body, send)

    async def _broken(self, faults: Faults, scope: Scope, body: bytes, send: Send) -> None:
        if faults.take("match_fail"):
            await _answer(send, faults.fail_status)
            return
        if faults.take("match_hold"):
            faults.held += 1
            await asyncio.sleep(faults.stall_seconds)
            await _answer(send, faults.fail_status)
            return
        if faults.take("match_commit_then_timeout"):
            answer: list[Message] = []

            async def keep(message: Message) -> None:
                answer.append(message)

            await self.app(scope, _replay(body), keep)
            await asyncio.sleep(faults.stall_seconds)
            for message in answer:
                await send(message)
            return
        await self.app(scope, _replay(body), send)


def _described(scope: Scope, body: bytes) -> str:
    query = scope.get("query_string", b"").decode("latin-1")
    text = body[:4096].decode("utf-8", "replace")
    return f"{scope.get('method', '')} {scope.get('path', '')}?{query} {text}"


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a client that sends nothing more
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _answer(send: Send, status: int) -> None:
    payload = b'{"error": "injected fault"}'
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(payload))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
