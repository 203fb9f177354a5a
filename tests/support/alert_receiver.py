"""A finance team's alert endpoint for tests: a real HTTP server on 127.0.0.1 (its own
thread, so blocking test code can wait on it) that checks every Standard Webhooks
signature with the reference library and keeps each ``webhook-id`` once, as the spec
tells a receiver to (SOURCES §4.1)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import standardwebhooks


@dataclass
class AlertReceiver:
    secret: str
    #: "up" answers 204, "down" answers 503, "hang" reads the request and never answers
    mode: str = "up"
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # webhook-id → body
    posts: Counter[str] = field(default_factory=Counter)  # webhook-id → requests seen
    forged: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _release: threading.Event = field(default_factory=threading.Event)

    def start(self) -> AlertReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.handle(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/finance-alerts"

    def handle(self, request: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = {k.lower(): v for k, v in request.headers.items()}
        wid = headers.get("webhook-id", "")
        with self._lock:
            self.posts[wid] += 1
            mode = self.mode
        if mode == "hang":
            self._release.wait(30)
            return
        if mode == "down":
            self._answer(request, 503)
            return
        try:
            payload = standardwebhooks.Webhook(self.secret).verify(body, headers)
        except standardwebhooks.WebhookVerificationError:
            with self._lock:
                self.forged += 1
            self._answer(request, 400)
            return
        with self._lock:
            self.accepted.setdefault(wid, payload)  # a retry of one id is the same alert
        self._answer(request, 204)

    @staticmethod
    def _answer(request: BaseHTTPRequestHandler, status: int) -> None:
        request.send_response(status)
        request.send_header("content-length", "0")
        request.end_headers()

    def set_mode(self, mode: str) -> None:
        with self._lock:
            self.mode = mode
        if mode != "hang":
            self._release.set()
            self._release = threading.Event()

    def snapshot(self) -> tuple[dict[str, dict[str, Any]], Counter[str]]:
        with self._lock:
            return dict(self.accepted), Counter(self.posts)

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
